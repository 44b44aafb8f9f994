//! Leither's text formats beside ours: `pk=`/`sk=` key files, the gob-encoded `CertPK`, and a
//! small reader and writer for the flat JSON objects its certificates and passes are made of.
//!
//! Everything here is sans-io and bounded: inputs longer than [`MAX_JSON_LEN`] are refused,
//! nested JSON values are refused, and base64 is read in either alphabet, padded or not.

use super::encoding::base64url_encode;
use super::id::LeitherId;
use super::key::NodeKey;

/// Longest JSON object (a pass or a certificate) read, in bytes.
pub const MAX_JSON_LEN: usize = 8192;
/// Most members in one JSON object.
pub const MAX_MEMBERS: usize = 64;

/// The gob stream Go writes for an interface value holding a `SodiumKeyPair{Sk, Pk []byte}`
/// registered as "sodium", up to the value: the type name, then the struct's wire type. It is
/// a fixed description of the type, so every `CertPK` begins with these bytes.
const GOB_SODIUM_PREFIX: &[u8] = b"\x09\x0c\x00\x06sodium\x29\xff\x81\x03\x01\x01\x0dSodiumKeyPair\
\x01\xff\x82\x00\x01\x02\x01\x02Sk\x01\x0a\x00\x01\x02Pk\x01\x0a\x00\x00\x00";

/// base64 in the standard or the URL alphabet, with or without `=` padding, at most `max`
/// decoded bytes. `None` for anything else.
pub fn base64_lenient(text: &str, max: usize) -> Option<Vec<u8>> {
    let t = text.trim_ascii().trim_end_matches('=');
    if t.len() / 4 * 3 > max + 3 {
        return None;
    }
    let mut out = Vec::with_capacity(t.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0u32);
    for c in t.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    (n < 6 && out.len() <= max).then_some(out)
}

/// Standard base64 with padding, as Go's `encoding/json` writes a `[]byte`.
pub fn base64_std(bytes: &[u8]) -> String {
    let url = base64url_encode(bytes);
    let mut s: String = url
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// base64url with padding, as Leither prints keys (`pk=...=`).
pub fn base64url_padded(bytes: &[u8]) -> String {
    let mut s = base64url_encode(bytes);
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// `CertPK`: the gob encoding of a `SodiumKeyPair` holding only the public key.
pub fn gob_cert_pk(pk: &[u8; 32]) -> Vec<u8> {
    let mut out = GOB_SODIUM_PREFIX.to_vec();
    // The value: its length, the type id (-65 as a gob int: ff 82), field 2 (delta 2) = Pk,
    // a 32-byte slice, then the end of the struct.
    out.extend_from_slice(&[37, 0xff, 0x82, 0x02, 0x20]);
    out.extend_from_slice(pk);
    out.push(0);
    out
}

/// The public key in a `CertPK` gob (with or without the secret half present).
pub fn parse_gob_cert_pk(bytes: &[u8]) -> Option<[u8; 32]> {
    let rest = bytes.strip_prefix(GOB_SODIUM_PREFIX)?;
    let (&len, rest) = rest.split_first()?;
    if usize::from(len) != rest.len() {
        return None;
    }
    let mut rest = rest.strip_prefix(&[0xff, 0x82])?;
    // An optional Sk (field 1, 64 bytes), then Pk (delta 1 after Sk, 2 without it).
    if let Some(r) = rest.strip_prefix(&[0x01, 0x40]) {
        rest = r.get(64..)?.strip_prefix(&[0x01])?;
    } else {
        rest = rest.strip_prefix(&[0x02])?;
    }
    let rest = rest.strip_prefix(&[0x20])?;
    let pk: [u8; 32] = rest.get(..32)?.try_into().ok()?;
    (rest.get(32..)? == [0]).then_some(pk)
}

/// A JSON value as this module reads it: flat objects only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flat {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// An array of integers (how Go prints a `[]byte` with `%v`; accepted for signatures).
    Ints(Vec<i64>),
    /// `true`, `false` or `null`, which no field we read uses.
    Other,
}

/// Parses a JSON object whose values are strings, integers, integer arrays or literals.
/// `Err` says what is wrong.
pub fn parse_flat_object(text: &str) -> Result<Vec<(String, Flat)>, String> {
    if text.len() > MAX_JSON_LEN {
        return Err(format!("longer than {MAX_JSON_LEN} bytes"));
    }
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
    };
    p.ws();
    p.eat(b'{')?;
    let mut out = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            if out.len() >= MAX_MEMBERS {
                return Err(format!("more than {MAX_MEMBERS} members"));
            }
            p.ws();
            let k = p.string()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            let v = p.value()?;
            out.push((k, v));
            p.ws();
            match p.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(format!("expected , or }} at byte {}", p.i)),
            }
        }
    }
    p.ws();
    if p.i != p.b.len() {
        return Err(format!("unexpected text after the object at byte {}", p.i));
    }
    Ok(out)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", c as char, self.i - 1))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.next() {
                None => return Err("a string is not closed".into()),
                Some(b'"') => break,
                Some(b'\\') => match self.next() {
                    Some(b'"') => out.push(b'"'),
                    Some(b'\\') => out.push(b'\\'),
                    Some(b'/') => out.push(b'/'),
                    Some(b'n') => out.push(b'\n'),
                    Some(b't') => out.push(b'\t'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b'b') => out.push(8),
                    Some(b'f') => out.push(12),
                    Some(b'u') => {
                        let hex = self
                            .b
                            .get(self.i..self.i + 4)
                            .ok_or("a \\u escape is cut")?;
                        self.i += 4;
                        let code = core::str::from_utf8(hex)
                            .ok()
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .ok_or("a \\u escape is not hex")?;
                        // Surrogate pairs are not needed by any field we read.
                        let c = char::from_u32(code).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => return Err(format!("a bad escape at byte {}", self.i)),
                },
                Some(c) if c < 0x20 => return Err("a control character in a string".into()),
                Some(c) => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| "a string is not UTF-8".into())
    }
    fn int(&mut self) -> Result<i64, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        core::str::from_utf8(&self.b[start..self.i])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("a number that is not an integer at byte {start}"))
    }
    fn value(&mut self) -> Result<Flat, String> {
        match self.peek() {
            Some(b'"') => self.string().map(Flat::Str),
            Some(b'-' | b'0'..=b'9') => self.int().map(Flat::Int),
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Flat::Ints(v));
                }
                loop {
                    if v.len() >= 256 {
                        return Err("an array longer than 256".into());
                    }
                    self.ws();
                    v.push(self.int()?);
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b']') => return Ok(Flat::Ints(v)),
                        _ => return Err(format!("expected , or ] at byte {}", self.i)),
                    }
                }
            }
            _ => {
                for lit in [&b"true"[..], b"false", b"null"] {
                    if self.b[self.i..].starts_with(lit) {
                        self.i += lit.len();
                        return Ok(Flat::Other);
                    }
                }
                Err(format!(
                    "an unsupported value at byte {} (nested objects are not read)",
                    self.i
                ))
            }
        }
    }
}

/// Writes `s` as a JSON string.
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether key file text is in Leither's `pk=`/`sk=` form rather than ours.
pub fn looks_like_leither_key(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_ascii();
        let l = l.strip_prefix("Key=").map(str::trim_ascii).unwrap_or(l);
        l.starts_with("sk=")
    })
}

/// Leither's key file: `id= ID`, `pk=...`, `sk=...` (base64url with padding, sk = seed + pk).
pub fn key_file_text(key: &NodeKey) -> String {
    let mut sk = key.sodium_secret();
    let text = format!(
        "id= {}\npk={}\nsk={}\n",
        key.id(),
        base64url_padded(&key.public_key()),
        base64url_padded(&sk)
    );
    sk.fill(0);
    text
}

/// Reads Leither's key file (see [`key_file_text`]); lenient: `Key=` before `pk=`, either
/// base64 alphabet, padding optional, other lines ignored. `Err((line, reason))`.
pub fn parse_key_file(text: &str) -> Result<NodeKey, (usize, &'static str)> {
    let (mut pk, mut sk, mut id) = (None, None, None);
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim_ascii();
        let l = l.strip_prefix("Key=").map(str::trim_ascii).unwrap_or(l);
        if let Some(v) = l.strip_prefix("pk=") {
            let b = base64_lenient(v, 32).ok_or((i + 1, "the pk= line is not base64"))?;
            pk = Some(<[u8; 32]>::try_from(b).map_err(|_| (i + 1, "pk= is not 32 bytes"))?);
        } else if let Some(v) = l.strip_prefix("sk=") {
            let b = base64_lenient(v, 64).ok_or((i + 1, "the sk= line is not base64"))?;
            if b.len() != 64 {
                return Err((i + 1, "sk= is not 64 bytes (seed and public key)"));
            }
            sk = Some((i + 1, b));
        } else if let Some(v) = l.strip_prefix("id=") {
            id = Some((i + 1, v.trim_ascii().to_string()));
        }
    }
    let (line, mut sk) = sk.ok_or((0, "there is no sk= line"))?;
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&sk[..32]);
    let key = NodeKey::from_seed(&seed);
    seed.fill(0);
    let half = sk[32..] == key.as_ref().map(|k| k.public_key()).unwrap_or_default();
    sk.fill(0);
    let key = key.ok_or((line, "the seed is all zeros"))?;
    if !half {
        return Err((line, "the second half of sk= is not the key's public key"));
    }
    if pk.is_some_and(|pk| pk != key.public_key()) {
        return Err((0, "pk= is not the public key of sk="));
    }
    if let Some((line, id)) = id {
        let ok = id
            .parse::<LeitherId>()
            .is_ok_and(|id| id.is_id_of(&key.public_key()));
        if !ok {
            return Err((line, "id= is not the ID of this key"));
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT_PK: &str = "CQwABnNvZGl1bSn_gQMBAQ1Tb2RpdW1LZXlQYWlyAf-CAAECAQJTawEKAAECUGsBCgAAACX_\
                           ggIg2T1U4-IUMfYpppIcPi8ITJazt8I2PpOI8W1jctmm1HsA";

    #[test]
    fn cert_pk_of_lpki_md_round_trips() {
        let bytes = base64_lenient(CERT_PK, 256).unwrap();
        let pk = parse_gob_cert_pk(&bytes).unwrap();
        assert_eq!(
            base64url_padded(&pk),
            "2T1U4-IUMfYpppIcPi8ITJazt8I2PpOI8W1jctmm1Hs="
        );
        assert_eq!(gob_cert_pk(&pk), bytes);
        assert_eq!(
            LeitherId::from_public_key(&pk).to_string(),
            "h3PPmr6HVHrmaV_WAbnEP6t3x87"
        );
        assert_eq!(parse_gob_cert_pk(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn leither_key_file_from_lpki_md() {
        let text = "id= h3PPmr6HVHrmaV_WAbnEP6t3x87\n\
                    pk=2T1U4-IUMfYpppIcPi8ITJazt8I2PpOI8W1jctmm1Hs=\n\
                    sk=eoddzYXYh2XTDp_aIGUxUey0XSDotYyCRl4oIQ9KodDZPVTj4hQx9immkhw-LwhMlrO3wjY-k4jxbWNy2abUew==\n";
        assert!(looks_like_leither_key(text));
        let key = parse_key_file(text).unwrap();
        assert_eq!(key.id().to_string(), "h3PPmr6HVHrmaV_WAbnEP6t3x87");
        assert!(!key.is_legacy());
        assert_eq!(key_file_text(&key), text);
        let wrong_id = text.replace("x87", "x86");
        assert_eq!(
            parse_key_file(&wrong_id).unwrap_err().1,
            "id= is not the ID of this key"
        );
        assert!(parse_key_file("sk=AAAA\n").is_err());
    }

    #[test]
    fn flat_json() {
        let v = parse_flat_object(r#" {"a":"x\"y","n":-3,"s":[1, 2],"t":true} "#).unwrap();
        assert_eq!(v[0], ("a".into(), Flat::Str("x\"y".into())));
        assert_eq!(v[1].1, Flat::Int(-3));
        assert_eq!(v[2].1, Flat::Ints(vec![1, 2]));
        for bad in [
            "",
            "{",
            "{\"a\":{}}",
            "{\"a\":1}x",
            "[1]",
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(parse_flat_object(bad).is_err(), "{bad}");
        }
        let mut s = String::new();
        json_string("a\"\\\n\u{1}", &mut s);
        assert_eq!(s, r#""a\"\\\n\u0001""#);
    }

    #[test]
    fn base64_both_alphabets() {
        assert_eq!(base64_lenient("+/8=", 8).unwrap(), [0xfb, 0xff]);
        assert_eq!(base64_lenient("-_8", 8).unwrap(), [0xfb, 0xff]);
        assert_eq!(base64_std(&[0xfb, 0xff]), "+/8=");
        assert_eq!(base64_lenient("a", 8), None);
        assert_eq!(base64_lenient("a*==", 8), None);
        assert_eq!(base64_lenient("AAAAAAAA", 3), None);
    }
}
