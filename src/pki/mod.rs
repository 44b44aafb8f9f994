//! Identity: ed25519 keys, Leither IDs, libp2p PeerIds and signed passes (PPT).
//!
//! # Layout
//!
//! - [`encoding`]: base64url (no padding) and base58btc, strict decoders.
//! - [`id`]: [`LeitherId`], the 27-character node/user/Mimei ID (162 bits); Leither's
//!   derivation from a key, and the legacy hash160 one of earlier versions.
//! - [`leither_files`]: Leither's `pk=`/`sk=` key files, the gob `CertPK`, flat JSON.
//! - [`peerid`]: the libp2p PeerId (`12D3KooW...`) of the same ed25519 key, both directions.
//! - [`key`]: [`NodeKey`], the keypair, and its key file (`hostkey.cfg`, `lpki genkey -o FILE`):
//!   crash-safe save with mode 0600, load that refuses files readable by group or others.
//! - [`ppt`]: [`Pass`], a signed, time-limited key=value statement carried as one line of text
//!   (`ppt1.` + base64url) or as Leither's JSON pass (`ppt_json.rs`), plus the `-p` period and `-m` data parsers of `lpki signppt`.
//!
//! Everything except [`NodeKey::save`], [`NodeKey::load`] and [`NodeKey::generate`] is sans-io:
//! no clock (callers pass unix seconds), no files, no randomness. The formats are specified in
//! `docs/identity.md`. Secrets (the seed) never appear in `Debug`, `Display` or an error.

pub mod cert;
pub mod encoding;
pub mod id;
pub mod key;
pub mod leither_files;
pub mod peerid;
pub mod ppt;

pub use cert::Cert;
pub use encoding::EncodingError;
pub use id::LeitherId;
pub use key::{NodeKey, Overwrite, verify};
pub use peerid::{parse_peer_id, to_peer_id};
pub use ppt::{Pass, parse_data, parse_period};

use core::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in the identity layer.
///
/// The `Display` text is written for the person at the terminal: what went wrong, and what to
/// do about it. It never contains secret key material.
#[non_exhaustive]
#[derive(Debug)]
pub enum PkiError {
    /// The operating system refused an operation on a key file (open, read, write, sync, rename).
    Io {
        /// The file (or its directory) the operation was on.
        path: PathBuf,
        /// What we were doing, e.g. "read" or "create a temporary file beside".
        action: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file already exists where a new key was to be saved, and overwriting was not asked
    /// for (replacing a key replaces an identity).
    KeyFileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A key file can be read or written by group or others (`st_mode & 0o077 != 0`), so the key
    /// may already be known to someone else; it is refused, like ssh refuses such keys.
    KeyFileTooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits (`st_mode & 0o7777`).
        mode: u32,
    },
    /// A key file's content is not a key file of ours.
    MalformedKeyFile {
        /// The key file.
        path: PathBuf,
        /// 1-based line of the problem, or 0 when it concerns the whole file.
        line: usize,
        /// What is wrong (never quotes the secret).
        reason: &'static str,
    },
    /// The operating system's random source failed while generating a key.
    Random(getrandom::Error),
    /// A string that should be a 27-character Leither ID is not one.
    InvalidId {
        /// The input, shortened and escaped for display.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A string that should be the PeerId of an ed25519 key is not one.
    InvalidPeerId {
        /// The input, shortened and escaped for display.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A pass's text or binary layout is broken: not `ppt1.` + base64url, truncated, extra
    /// bytes, bad lengths, data that breaks the rules, or longer than the limit.
    PassMalformed {
        /// What is wrong.
        reason: String,
    },
    /// A certificate (`lpki gencert`/`genpkcert` file) is not one: broken JSON, members
    /// missing, a key that is not the certified one.
    CertMalformed {
        /// What is wrong.
        reason: String,
    },
    /// A pass's signature does not verify with the public key it carries: it was altered after
    /// signing, or was never signed by that key.
    PassBadSignature,
    /// A pass whose validity period has ended.
    PassExpired {
        /// When it stopped being valid (unix seconds).
        end_time: u64,
        /// The time it was checked at (unix seconds).
        now: u64,
    },
    /// A pass signed more than [`ppt::MAX_CLOCK_SKEW_SECS`] in the future of the checker.
    PassNotYetValid {
        /// Its sign time (unix seconds).
        sign_time: u64,
        /// The time it was checked at (unix seconds).
        now: u64,
    },
    /// Data for a pass (`-m "k=v,k2=v2"` or an API list) breaks a rule: duplicate key, bad key
    /// characters, too many entries, too long.
    InvalidPassData {
        /// What is wrong.
        reason: String,
    },
    /// A validity period (`-p 30s|10m|24h|7d|1y`) that cannot be understood.
    InvalidPeriod {
        /// The input, shortened and escaped for display.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl PkiError {
    /// The HTTP status an API front door should answer with for this error: 500 for failures of
    /// this machine, 401 for passes that do not authenticate, 400 for malformed input.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Io { .. } | Self::Random(_) => 500,
            Self::KeyFileExists { .. } => 409,
            Self::KeyFileTooOpen { .. } | Self::MalformedKeyFile { .. } => 500,
            Self::PassBadSignature | Self::PassExpired { .. } | Self::PassNotYetValid { .. } => 401,
            Self::InvalidId { .. }
            | Self::InvalidPeerId { .. }
            | Self::PassMalformed { .. }
            | Self::CertMalformed { .. }
            | Self::InvalidPassData { .. }
            | Self::InvalidPeriod { .. } => 400,
        }
    }
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io {
                path,
                action,
                source,
            } => write!(f, "could not {action} {}: {source}", path.display()),
            Self::KeyFileExists { path } => write!(
                f,
                "{} already exists; refusing to replace a key (that would change this \
                 identity). Move it away first, or choose another file name",
                path.display()
            ),
            Self::KeyFileTooOpen { path, mode } => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                write!(
                    f,
                    "{name} is readable by group or others (mode {mode:04o}); run: chmod 600 {}",
                    path.display()
                )
            }
            Self::MalformedKeyFile { path, line, reason } => {
                write!(f, "{}", path.display())?;
                if *line > 0 {
                    write!(f, " line {line}")?;
                }
                write!(
                    f,
                    ": not a valid Leither key file: {reason}. Restore it from a backup, or \
                     create a new key with `lpki genkey -o FILE` (a new key is a new ID)"
                )
            }
            Self::Random(e) => write!(
                f,
                "the system random source failed ({e}); cannot generate a key safely. Check \
                 that /dev/urandom is available and try again"
            ),
            Self::InvalidId { input, reason } => write!(
                f,
                "{input} is not a Leither ID: {reason}. An ID is 27 characters of A-Z a-z 0-9 - _"
            ),
            Self::InvalidPeerId { input, reason } => write!(
                f,
                "{input} is not the PeerId of an ed25519 key: {reason}. Expected a base58 \
                 string starting with 12D3KooW"
            ),
            Self::PassMalformed { reason } => write!(
                f,
                "malformed pass: {reason}. Copy the whole `ppt1.` line again, or ask its signer \
                 for a new one (`lpki signppt`)"
            ),
            Self::CertMalformed { reason } => write!(
                f,
                "not a certificate: {reason}. Make one with `lpki gencert -k KEY -m \"name=...\" \
                 -o FILE`, or ask its owner for it again"
            ),
            Self::PassBadSignature => f.write_str(
                "pass signature is invalid: the pass was changed after signing or was not signed \
                 by the key it names. Ask its signer for a new one",
            ),
            Self::PassExpired { end_time, now } => write!(
                f,
                "pass expired at {} ({} ago); ask its signer for a new one",
                ppt::fmt_utc(*end_time),
                ppt::fmt_duration(now.saturating_sub(*end_time)),
            ),
            Self::PassNotYetValid { sign_time, now } => write!(
                f,
                "pass is signed for {}, {} in the future of this machine's clock; check the \
                 clocks of the signer and of this machine",
                ppt::fmt_utc(*sign_time),
                ppt::fmt_duration(sign_time.saturating_sub(*now)),
            ),
            Self::InvalidPassData { reason } => write!(
                f,
                "invalid pass data: {reason}. Write it as key=value pairs separated by commas, \
                 e.g. -m \"role=admin,app=blog\""
            ),
            Self::InvalidPeriod { input, reason } => write!(
                f,
                "invalid period {input}: {reason}. Write a number and a unit: 30s, 10m, 24h, \
                 7d, 2w or 1y"
            ),
        }
    }
}

impl std::error::Error for PkiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Quotes untrusted input for an error message: escaped, and cut to 64 characters.
pub(crate) fn quote_input(s: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

/// Bytes from a hex literal, for test vectors.
#[cfg(test)]
pub(crate) fn test_hex<const N: usize>(s: &str) -> [u8; N] {
    assert_eq!(s.len(), 2 * N, "hex literal length");
    core::array::from_fn(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_open_message_says_what_to_run() {
        let e = PkiError::KeyFileTooOpen {
            path: PathBuf::from("/etc/leither/hostkey.cfg"),
            mode: 0o644,
        };
        assert_eq!(
            e.to_string(),
            "hostkey.cfg is readable by group or others (mode 0644); run: chmod 600 \
             /etc/leither/hostkey.cfg"
        );
    }

    #[test]
    fn quote_input_escapes_and_truncates() {
        assert_eq!(quote_input("a\"b\n"), "\"a\\\"b\\n\"");
        let long = "x".repeat(100);
        let q = quote_input(&long);
        assert_eq!(q.len(), 64 + 2 + 3);
        assert!(q.ends_with("...\""));
    }

    #[test]
    fn statuses() {
        assert_eq!(PkiError::PassBadSignature.http_status(), 401);
        let malformed = PkiError::PassMalformed { reason: "x".into() };
        assert_eq!(malformed.http_status(), 400);
    }
}
