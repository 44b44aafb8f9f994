//! Mimei IDs: the 27-character name of a Mimei, derived from who made it and what for.
//!
//! A Mimei ID has the form of a Leither ID (base64url without padding of 20 bytes, see
//! [`LeitherId`]), but it is the hash160 of a small description of the Mimei instead of a
//! public key:
//!
//! ```text
//! msg = postcard of (magic, author, app, type, mark, nonce):
//!       4C 4D 49 01                 magic "LMI" + derivation version 1
//!       <20 bytes>                  author ID (raw bytes of the 27-character ID)
//!       00 | 01 <20 bytes>          app ID: none, or the app's Mimei ID
//!       01 | 02                     type: 1 = file, 2 = db
//!       <varint n> <n bytes>        mark, UTF-8, 0..=256 bytes
//!       00 | 01 <16 bytes>          nonce: none for a fixed mark, 16 random bytes for {{auto}}
//! mid = base64url_no_pad(RIPEMD-160(SHA-256(msg)))
//! ```
//!
//! A fixed mark gives the same ID every time: an author can find "my blog" again without a
//! directory. The mark [`AUTO_MARK`] (`{{auto}}`) mixes in 16 fresh random bytes, so each
//! creation is a new Mimei. Either way the inputs, nonce included, go into the signed header
//! (`record.rs`), and every node recomputes the ID from them: nobody can sign a header that
//! names themselves the author of someone else's ID without a second preimage of hash160.
//!
//! The magic separates these messages from every other input we hash. (A 32-byte message, one
//! with a 4-byte mark, could also be read as an ed25519 key whose user ID would equal the Mimei
//! ID; nobody knows a secret key for it, so that "user" can sign nothing.)
//! The ext (`-e`) is not part of the ID: it describes the content, not the identity.

use core::fmt;
use core::str::FromStr;

use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

use super::MimeiError;
use super::wire::Writer;
use crate::pki::{LeitherId, quote_input};

/// A Mimei ID. Same 20 bytes and 27-character text as a [`LeitherId`], derived by [`derive()`].
pub type MimeiId = LeitherId;

/// The mark that asks for a fresh ID each time (16 random bytes are mixed in).
pub const AUTO_MARK: &str = "{{auto}}";
/// Longest mark, in bytes of UTF-8.
pub const MAX_MARK_LEN: usize = 256;
/// First bytes of the derivation message: "LMI" and the derivation version.
pub const ID_MAGIC: [u8; 4] = *b"LMI\x01";
/// Length of the random nonce mixed into an `{{auto}}` ID.
pub const NONCE_LEN: usize = 16;

/// What a Mimei holds. The number is the `tp` byte of Leither's `MMCreate` and the type byte
/// in IDs and headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum MimeiType {
    /// A file tree (UnixFS), versions are root CIDs.
    File = 1,
    /// A Redis-like database.
    Db = 2,
}

impl MimeiType {
    /// The type byte: 1 for file, 2 for db.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The type of a type byte, `None` for any other value.
    pub const fn from_code(code: u8) -> Option<MimeiType> {
        match code {
            1 => Some(MimeiType::File),
            2 => Some(MimeiType::Db),
            _ => None,
        }
    }

    /// The name used by the CLI (`-t file|db`) and `mimei show` (`AppType`).
    pub const fn name(self) -> &'static str {
        match self {
            MimeiType::File => "file",
            MimeiType::Db => "db",
        }
    }
}

impl fmt::Display for MimeiType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MimeiType {
    type Err = MimeiError;

    /// `file` or `db` (the `-t` flag); `1` and `2` too, as Leither's API passes them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "file" | "1" => Ok(MimeiType::File),
            "db" | "2" => Ok(MimeiType::Db),
            _ => Err(MimeiError::InvalidType {
                input: quote_input(s),
            }),
        }
    }
}

/// Checks a mark: at most [`MAX_MARK_LEN`] bytes, no control characters (marks are printed by
/// `mimei show`). The empty mark is allowed: it names the one Mimei of an author, app and type.
pub fn check_mark(mark: &str) -> Result<(), MimeiError> {
    let invalid = |reason: String| Err(MimeiError::InvalidMark { reason });
    if mark.len() > MAX_MARK_LEN {
        return invalid(format!(
            "it is {} bytes long, the limit is {MAX_MARK_LEN}",
            mark.len()
        ));
    }
    if let Some(c) = mark.chars().find(|c| c.is_control()) {
        return invalid(format!("it contains the control character {c:?}"));
    }
    Ok(())
}

/// The ID of a Mimei, from its inputs. Pure: no randomness here.
///
/// `nonce` must be `Some` exactly when `mark` is [`AUTO_MARK`]; [`new_mid`] draws it.
pub fn derive(
    author: &LeitherId,
    app: Option<&MimeiId>,
    kind: MimeiType,
    mark: &str,
    nonce: Option<&[u8; NONCE_LEN]>,
) -> Result<MimeiId, MimeiError> {
    check_mark(mark)?;
    match (mark == AUTO_MARK, nonce.is_some()) {
        (true, false) => {
            return Err(MimeiError::InvalidMark {
                reason: format!("{AUTO_MARK} needs its random nonce to derive the ID"),
            });
        }
        (false, true) => {
            return Err(MimeiError::InvalidMark {
                reason: format!("only the mark {AUTO_MARK} takes a random nonce"),
            });
        }
        _ => {}
    }
    let mut w = Writer::new();
    w.array(&ID_MAGIC);
    w.array(author.as_bytes());
    w.option_array(app.map(|a| &a.as_bytes()[..]));
    w.u8(kind.code());
    w.bytes(mark.as_bytes());
    w.option_array(nonce.map(|n| &n[..]));
    let h160 = Ripemd160::digest(Sha256::digest(w.into_vec()));
    Ok(LeitherId::from_bytes(h160.into()))
}

/// The ID for a new Mimei, as `mimei create` / `MMCreate` make it: for [`AUTO_MARK`] a fresh
/// nonce is drawn from the operating system, returned so that the header can record it.
pub fn new_mid(
    author: &LeitherId,
    app: Option<&MimeiId>,
    kind: MimeiType,
    mark: &str,
) -> Result<(MimeiId, Option<[u8; NONCE_LEN]>), MimeiError> {
    let nonce = if mark == AUTO_MARK {
        let mut n = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut n).map_err(MimeiError::Random)?;
        Some(n)
    } else {
        None
    };
    let mid = derive(author, app, kind, mark, nonce.as_ref())?;
    Ok((mid, nonce))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The author is the ID of the seed 00..1f key (docs/identity.md), the app the RFC 8032
    // TEST 1 key's ID. Expected IDs computed independently with Python hashlib and Node.js
    // crypto from the message bytes written out by hand in docs/mimei.md.
    fn author() -> LeitherId {
        "4wy6cA-uv_nPSC01ib0cvMkD0oA".parse().unwrap()
    }
    fn app() -> LeitherId {
        "l2a8alCzdr1vsl7MW9MoimY7vsk".parse().unwrap()
    }

    #[test]
    fn derivation_vectors() {
        let nonce: [u8; 16] = core::array::from_fn(|i| i as u8);
        // (app, type, mark, nonce, expected ID)
        type Case<'a> = (
            Option<LeitherId>,
            MimeiType,
            &'a str,
            Option<&'a [u8; 16]>,
            &'a str,
        );
        let cases: [Case; 5] = [
            (
                None,
                MimeiType::File,
                "",
                None,
                "Pc8D0uJFpRAoWgGq0vmaSSKQbHc",
            ),
            (
                None,
                MimeiType::File,
                "blog",
                None,
                "st2iBD1Pvfwkvm2auQceHgAdiXI",
            ),
            (
                None,
                MimeiType::Db,
                "blog",
                None,
                "VI1qeTWhYL6lsjkNwMWEziMUvkE",
            ),
            (
                Some(app()),
                MimeiType::File,
                "blog",
                None,
                "oO5MD7ojOYagR17jwcNCyr6GP3M",
            ),
            (
                Some(app()),
                MimeiType::Db,
                AUTO_MARK,
                Some(&nonce),
                "V4mL2GMS8ZoGIkzOPxoV_42tj7c",
            ),
        ];
        for (app, kind, mark, nonce, want) in cases {
            let got = derive(&author(), app.as_ref(), kind, mark, nonce).unwrap();
            assert_eq!(got.to_string(), want, "{app:?} {kind} {mark:?}");
        }
    }

    #[test]
    fn fixed_marks_are_stable_and_every_input_counts() {
        let a = derive(&author(), None, MimeiType::File, "blog", None).unwrap();
        assert_eq!(
            a,
            new_mid(&author(), None, MimeiType::File, "blog").unwrap().0
        );
        assert_eq!(
            new_mid(&author(), None, MimeiType::File, "blog").unwrap().1,
            None
        );
        let others = [
            derive(&app(), None, MimeiType::File, "blog", None),
            derive(&author(), Some(&app()), MimeiType::File, "blog", None),
            derive(&author(), None, MimeiType::Db, "blog", None),
            derive(&author(), None, MimeiType::File, "blog2", None),
        ];
        for other in others {
            assert_ne!(other.unwrap(), a);
        }
    }

    #[test]
    fn auto_mark_differs_each_time_and_rederives_from_its_nonce() {
        let (a, na) = new_mid(&author(), None, MimeiType::File, AUTO_MARK).unwrap();
        let (b, nb) = new_mid(&author(), None, MimeiType::File, AUTO_MARK).unwrap();
        assert_ne!(a, b);
        assert_ne!(na, nb);
        let again = derive(&author(), None, MimeiType::File, AUTO_MARK, na.as_ref()).unwrap();
        assert_eq!(again, a);
    }

    #[test]
    fn nonce_only_with_auto_mark() {
        let n = [7u8; 16];
        let e = derive(&author(), None, MimeiType::File, AUTO_MARK, None).unwrap_err();
        assert!(e.to_string().contains("nonce"), "{e}");
        let e = derive(&author(), None, MimeiType::File, "blog", Some(&n)).unwrap_err();
        assert!(matches!(e, MimeiError::InvalidMark { .. }), "{e}");
    }

    #[test]
    fn marks_are_checked() {
        assert!(check_mark("").is_ok());
        assert!(check_mark("我的博客 2024").is_ok());
        assert!(check_mark(&"x".repeat(MAX_MARK_LEN)).is_ok());
        let e = check_mark(&"x".repeat(MAX_MARK_LEN + 1)).unwrap_err();
        assert!(e.to_string().contains("limit is 256"), "{e}");
        let e = check_mark("a\x1b[2Jb").unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn types() {
        for t in [MimeiType::File, MimeiType::Db] {
            assert_eq!(MimeiType::from_code(t.code()), Some(t));
            assert_eq!(t.name().parse::<MimeiType>().unwrap(), t);
        }
        assert_eq!("2".parse::<MimeiType>().unwrap(), MimeiType::Db);
        assert_eq!(MimeiType::from_code(0), None);
        assert_eq!(MimeiType::from_code(3), None);
        let e = "FILE".parse::<MimeiType>().unwrap_err();
        assert!(e.to_string().contains("\"FILE\""), "{e}");
    }
}
