//! [`Pass`] (PPT): a signed, time-limited key=value statement, carried as one line of text.
//!
//! A pass says "the holder of this ed25519 key states these key=value pairs, from `sign_time`
//! until `end_time`". It is what `lpki signppt` writes, `lpki verifyppt` checks and `Login`
//! accepts. The text form is `ppt1.` followed by the base64url (no padding) of this layout:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `P` `P` `T` `0x01` (format version 1) |
//! | 4 | 32 | signer's ed25519 public key |
//! | 36 | 8 | sign time, unix seconds, u64 big-endian |
//! | 44 | 8 | end time, unix seconds, u64 big-endian, greater than the sign time |
//! | 52 | 2 | number of entries n, u16 big-endian, at most [`MAX_ENTRIES`] |
//! | 54 | ... | n times: key length u16 BE, key, value length u16 BE, value |
//! | end - 64 | 64 | ed25519 signature of every byte before it |
//!
//! The signer ID is not stored: it is the [`LeitherId`] of the public key. Keys are 1 to
//! [`MAX_KEY_LEN`] bytes of `A-Z a-z 0-9 . _ -`, unique within a pass; values are 0 to
//! [`MAX_VALUE_LEN`] bytes of UTF-8 without control characters (so a pass printed on a terminal
//! cannot inject escape sequences). The whole text is at most [`MAX_TEXT_LEN`] bytes.
//!
//! Every pass has exactly one text: base64url is decoded strictly, lengths must match exactly and
//! nothing may follow the data, so `parse(t).to_text() == t` (up to surrounding whitespace).
//!
//! This module is sans-io: the caller passes the time, in unix seconds.

use core::fmt;
use core::str::FromStr;

use super::encoding::{EncodingError, base64url_decode, base64url_encode};
use super::id::LeitherId;
use super::key::{NodeKey, verify};
use super::{PkiError, quote_input};

/// Prefix of the text form; the digit is the format version.
pub const TEXT_PREFIX: &str = "ppt1.";
/// First bytes of the binary layout: "PPT" and the format version.
pub const MAGIC: [u8; 4] = *b"PPT\x01";
/// Longest pass text accepted or produced, in bytes (surrounding whitespace excluded).
pub const MAX_TEXT_LEN: usize = 4096;
/// Most key=value entries in one pass.
pub const MAX_ENTRIES: usize = 32;
/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest value, in bytes.
pub const MAX_VALUE_LEN: usize = 1024;
/// How far in the future a sign time may be before the pass is "not yet valid" (clock skew).
pub const MAX_CLOCK_SKEW_SECS: u64 = 5 * 60;
/// Longest validity period [`parse_period`] and [`Pass::sign`] accept: 100 years of 365 days.
pub const MAX_PERIOD_SECS: u64 = 100 * YEAR;

const HEADER_LEN: usize = 4 + 32 + 8 + 8 + 2;
const SIG_LEN: usize = 64;
const YEAR: u64 = 365 * 86_400;

/// A signed pass. Construct with [`Pass::sign`] or [`Pass::parse`]; check with
/// [`Pass::verify`] before trusting anything in it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pass {
    public_key: [u8; 32],
    signer_id: LeitherId,
    sign_time: u64,
    end_time: u64,
    data: Vec<(String, String)>,
    signature: [u8; 64],
    /// Set for a pass in Leither's JSON form: what its signature covers and its text.
    json: Option<json::JsonForm>,
}

#[path = "ppt_json.rs"]
mod json;

impl fmt::Debug for Pass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pass")
            .field("signer_id", &self.signer_id)
            .field("sign_time", &self.sign_time)
            .field("end_time", &self.end_time)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// Checks the data rules (count, key characters and length, value length and characters,
/// unique keys); the error is the reason, for the caller to wrap.
fn check_data(data: &[(String, String)]) -> Result<(), String> {
    if data.len() > MAX_ENTRIES {
        return Err(format!(
            "{} entries, more than the limit of {MAX_ENTRIES}",
            data.len()
        ));
    }
    for (i, (k, v)) in data.iter().enumerate() {
        if k.is_empty() {
            return Err("a key is empty".into());
        }
        if k.len() > MAX_KEY_LEN {
            return Err(format!(
                "key {} is longer than {MAX_KEY_LEN} bytes",
                quote_input(k)
            ));
        }
        if !k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(format!(
                "key {} may only use A-Z a-z 0-9 . _ -",
                quote_input(k)
            ));
        }
        if v.len() > MAX_VALUE_LEN {
            return Err(format!(
                "the value of {} is longer than {MAX_VALUE_LEN} bytes",
                quote_input(k)
            ));
        }
        if v.chars().any(char::is_control) {
            return Err(format!(
                "the value of {} contains a control character",
                quote_input(k)
            ));
        }
        if data[..i].iter().any(|(prev, _)| prev == k) {
            return Err(format!("key {} appears twice", quote_input(k)));
        }
    }
    Ok(())
}

fn text_len_of(binary_len: usize) -> usize {
    TEXT_PREFIX.len() + binary_len.saturating_mul(4).div_ceil(3)
}

/// Bytes of an untrusted binary pass, read front to back.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err(format!("cut short in {what}"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_be_bytes(a))
    }

    fn string(&mut self, max: usize, what: &str) -> Result<String, String> {
        let len = usize::from(self.u16(what)?);
        if len > max {
            return Err(format!("{what} is {len} bytes, over the limit of {max}"));
        }
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}

impl Pass {
    /// Signs `data` with `key`, valid from `sign_time` for `period_secs` seconds (1 second to
    /// [`MAX_PERIOD_SECS`]). Fails if the data breaks the rules in the module doc or the pass
    /// would exceed [`MAX_TEXT_LEN`].
    pub fn sign(
        key: &NodeKey,
        data: Vec<(String, String)>,
        sign_time: u64,
        period_secs: u64,
    ) -> Result<Pass, PkiError> {
        check_data(&data).map_err(|reason| PkiError::InvalidPassData { reason })?;
        let bad_period = |reason| PkiError::InvalidPeriod {
            input: format!("{period_secs}s"),
            reason,
        };
        if period_secs == 0 {
            return Err(bad_period("a pass must be valid for at least one second"));
        }
        if period_secs > MAX_PERIOD_SECS {
            return Err(bad_period("longer than 100 years"));
        }
        let end_time = sign_time
            .checked_add(period_secs)
            .ok_or_else(|| bad_period("the pass would end past the largest time there is"))?;
        let public_key = key.public_key();
        let mut pass = Pass {
            public_key,
            signer_id: key.id(),
            sign_time,
            end_time,
            data,
            signature: [0u8; 64],
            json: None,
        };
        let body = pass.body();
        let text_len = text_len_of(body.len() + SIG_LEN);
        if text_len > MAX_TEXT_LEN {
            return Err(PkiError::InvalidPassData {
                reason: format!(
                    "the pass would be {text_len} characters, over the limit of {MAX_TEXT_LEN}"
                ),
            });
        }
        pass.signature = key.sign(&body);
        Ok(pass)
    }

    /// The signed part of the binary layout: everything but the signature.
    fn body(&self) -> Vec<u8> {
        let entries: usize = self.data.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
        let mut out = Vec::with_capacity(HEADER_LEN + entries + SIG_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.public_key);
        out.extend_from_slice(&self.sign_time.to_be_bytes());
        out.extend_from_slice(&self.end_time.to_be_bytes());
        // Lengths were bounded by `check_data` when this pass was signed or parsed.
        out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
        for (k, v) in &self.data {
            out.extend_from_slice(&(k.len() as u16).to_be_bytes());
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&(v.len() as u16).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    /// The binary layout (see the module doc), signature included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.signature);
        out
    }

    /// The text form: `ppt1.` + base64url of [`Pass::to_bytes`], or the JSON text of a pass in
    /// Leither's form.
    pub fn to_text(&self) -> String {
        if let Some(j) = &self.json {
            return j.text.clone();
        }
        let mut out = String::from(TEXT_PREFIX);
        out.push_str(&base64url_encode(&self.to_bytes()));
        out
    }

    /// Parses either text form, `ppt1.` or Leither's JSON (`{...}`, see [`Pass::parse_json`]);
    /// surrounding whitespace (a trailing newline) is ignored. Checks the
    /// layout and the data rules, not the signature or the times: call [`Pass::verify`].
    pub fn parse(text: &str) -> Result<Pass, PkiError> {
        let malformed = |reason: String| PkiError::PassMalformed { reason };
        let t = text.trim_ascii();
        if t.is_empty() {
            return Err(malformed("the text is empty".into()));
        }
        if t.starts_with('{') {
            return Pass::parse_json(t);
        }
        if t.len() > MAX_TEXT_LEN {
            return Err(malformed(format!(
                "{} bytes long, over the limit of {MAX_TEXT_LEN}",
                t.len()
            )));
        }
        let Some(b64) = t.strip_prefix(TEXT_PREFIX) else {
            let reason = if t.starts_with("ppt") && t.contains('.') {
                "unsupported pass version (this build reads ppt1.)"
            } else {
                "it does not start with `ppt1.`"
            };
            return Err(malformed(reason.into()));
        };
        let bytes = base64url_decode(b64).map_err(|e| {
            let e = match e {
                EncodingError::InvalidChar { pos, ch } => EncodingError::InvalidChar {
                    pos: pos + TEXT_PREFIX.len(),
                    ch,
                },
                e => e,
            };
            malformed(format!("not base64url after `ppt1.`: {e}"))
        })?;
        Pass::from_bytes(&bytes)
    }

    /// Parses the binary layout (see the module doc), with the same checks as [`Pass::parse`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Pass, PkiError> {
        Pass::read(bytes).map_err(|reason| PkiError::PassMalformed { reason })
    }

    fn read(bytes: &[u8]) -> Result<Pass, String> {
        if text_len_of(bytes.len()) > MAX_TEXT_LEN {
            return Err(format!("over the limit of {MAX_TEXT_LEN} characters"));
        }
        if bytes.len() < HEADER_LEN + SIG_LEN {
            return Err(format!("only {} bytes, cut short", bytes.len()));
        }
        let (body, sig) = bytes.split_at(bytes.len() - SIG_LEN);
        let mut r = Reader { buf: body };
        let magic = r.take(4, "the header")?;
        if magic[..3] != MAGIC[..3] {
            return Err("not a pass (wrong magic bytes)".into());
        }
        if magic[3] != MAGIC[3] {
            return Err(format!("unsupported pass format version {}", magic[3]));
        }
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(r.take(32, "the public key")?);
        let sign_time = r.u64("the sign time")?;
        let end_time = r.u64("the end time")?;
        if end_time <= sign_time {
            return Err("its end time is not after its sign time".into());
        }
        let count = usize::from(r.u16("the entry count")?);
        if count > MAX_ENTRIES {
            return Err(format!(
                "{count} entries, more than the limit of {MAX_ENTRIES}"
            ));
        }
        let mut data = Vec::with_capacity(count);
        for _ in 0..count {
            let k = r.string(MAX_KEY_LEN, "a key")?;
            let v = r.string(MAX_VALUE_LEN, "a value")?;
            data.push((k, v));
        }
        if !r.buf.is_empty() {
            return Err(format!("{} unexpected bytes after the data", r.buf.len()));
        }
        check_data(&data)?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(sig);
        Ok(Pass {
            public_key,
            signer_id: LeitherId::from_public_key(&public_key),
            sign_time,
            end_time,
            data,
            signature,
            json: None,
        })
    }

    /// Checks the pass at time `now_unix`: the signature must verify with the pass's own public
    /// key, the sign time may be at most [`MAX_CLOCK_SKEW_SECS`] ahead of `now_unix`, and
    /// `now_unix` must be before the end time. Whether the signer may do what the data asks is
    /// the caller's decision.
    pub fn verify(&self, now_unix: u64) -> Result<(), PkiError> {
        let signed = match &self.json {
            Some(j) => j.signed.clone(),
            None => self.body(),
        };
        if !verify(&self.public_key, &signed, &self.signature) {
            return Err(PkiError::PassBadSignature);
        }
        if self.sign_time > now_unix.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(PkiError::PassNotYetValid {
                sign_time: self.sign_time,
                now: now_unix,
            });
        }
        if now_unix >= self.end_time {
            return Err(PkiError::PassExpired {
                end_time: self.end_time,
                now: now_unix,
            });
        }
        Ok(())
    }

    /// The signer's ID (derived from [`Pass::public_key`]).
    pub fn signer_id(&self) -> LeitherId {
        self.signer_id
    }

    /// The signer's raw ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The key=value entries, in signed order.
    pub fn data(&self) -> &[(String, String)] {
        &self.data
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// When the pass was signed (unix seconds).
    pub fn sign_time(&self) -> u64 {
        self.sign_time
    }

    /// When the pass stops being valid (unix seconds, exclusive).
    pub fn end_time(&self) -> u64 {
        self.end_time
    }

    /// The 64-byte ed25519 signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}

impl fmt::Display for Pass {
    /// The text form, as [`Pass::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl FromStr for Pass {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pass::parse(s)
    }
}

/// Parses a validity period such as `30s`, `10m`, `24h`, `7d`, `2w` or `1y` (365 days) into
/// seconds: a whole number from 1, one unit letter, at most [`MAX_PERIOD_SECS`].
pub fn parse_period(s: &str) -> Result<u64, PkiError> {
    let bad = |reason| PkiError::InvalidPeriod {
        input: quote_input(s),
        reason,
    };
    let t = s.trim_ascii();
    let digits_end = t
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(t.len());
    let (digits, unit) = t.split_at(digits_end);
    if digits.is_empty() {
        return Err(bad("it does not start with a whole number"));
    }
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => YEAR,
        "" => return Err(bad("the unit is missing")),
        _ => return Err(bad("unknown unit")),
    };
    // More than 10 digits is more than 100 years in any unit.
    let n: u64 = if digits.len() > 10 {
        u64::MAX
    } else {
        digits.parse().map_err(|_| bad("the number is too large"))?
    };
    if n == 0 {
        return Err(bad("a pass must be valid for at least one second"));
    }
    match n.checked_mul(unit_secs) {
        Some(secs) if secs <= MAX_PERIOD_SECS => Ok(secs),
        _ => Err(bad("longer than 100 years")),
    }
}

/// Parses `-m` data: `key=value` pairs separated by commas, e.g. `role=admin,app=blog`. Spaces
/// around keys and values are dropped; a value may contain `=` but not `,`. The empty string is
/// no data. The result obeys the rules [`Pass::sign`] checks.
pub fn parse_data(s: &str) -> Result<Vec<(String, String)>, PkiError> {
    let bad = |reason: String| PkiError::InvalidPassData { reason };
    if s.len() > MAX_TEXT_LEN {
        return Err(bad(format!("longer than {MAX_TEXT_LEN} bytes")));
    }
    let t = s.trim_ascii();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    let mut data = Vec::new();
    for item in t.split(',') {
        let item = item.trim_ascii();
        if item.is_empty() {
            return Err(bad(
                "an empty item (two commas in a row, or a comma at the end)".into(),
            ));
        }
        if data.len() == MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let Some((k, v)) = item.split_once('=') else {
            return Err(bad(format!("{} has no `=`", quote_input(item))));
        };
        data.push((k.trim_ascii().to_string(), v.trim_ascii().to_string()));
    }
    check_data(&data).map_err(bad)?;
    Ok(data)
}

/// A unix time as `YYYY-MM-DD hh:mm:ss UTC` (proleptic Gregorian), for messages.
pub fn fmt_utc(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = crate::clock::civil(secs.min(i64::MAX as u64) as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// A duration in its two largest units, e.g. `3h 20m`, `45s`, `2d 4h`, for messages.
pub fn fmt_duration(secs: u64) -> String {
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in units {
        if rest >= size || (parts.is_empty() && size == 1) {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
#[path = "ppt_tests.rs"]
mod tests;
