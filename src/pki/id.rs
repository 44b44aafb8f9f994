//! [`LeitherId`]: the 27-character ID of a node, user or Mimei.
//!
//! 27 base64url characters carry 162 bits. An ID holds all of them: 20 bytes (the first 160
//! bits, in text order) and a 2-bit tail (the low bits of the 27th character), so every
//! well-formed 27-character ID, ours or Leither's, parses and prints back the same.
//!
//! Two derivations from an ed25519 public key exist (docs/identity.md):
//!
//! - [`LeitherId::from_public_key`], Leither's rule and ours for new keys: take the first 20
//!   bytes of SHA-256(pk), write them as base64url (27 characters, the last one ending in two
//!   zero bits), then swap the first and last characters and set the lowest bit of the new
//!   first one. The result's tail is the low two bits of the digest's first character.
//! - [`LeitherId::legacy_from_public_key`], what versions before this one used:
//!   base64url(RIPEMD-160(SHA-256(pk))), tail always 0. Keys in `leither-ed25519-v1` files
//!   (homes made by those versions) keep this ID so that what they stored stays theirs.
//!
//! [`LeitherId::is_id_of`] accepts either, which is how signed records made before the switch
//! still verify. Mimei IDs share the form and are derived in `mimei/` through
//! [`LeitherId::from_bytes`] (tail 0).

use core::fmt;
use core::str::FromStr;

use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

use super::{PkiError, quote_input};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// A node, user or Mimei ID: 162 bits, shown as 27 base64url characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeitherId {
    bytes: [u8; 20],
    /// The two bits after the 20 bytes (0..=3).
    tail: u8,
}

impl LeitherId {
    /// Length of the text form in characters.
    pub const TEXT_LEN: usize = 27;
    /// Length of the binary form in bytes (the tail is kept beside it).
    pub const BYTES: usize = 20;

    /// The ID of an ed25519 public key, as Leither derives it (see the module doc).
    pub fn from_public_key(pk: &[u8; 32]) -> LeitherId {
        let digest = Sha256::digest(pk);
        let mut first = [0u8; 20];
        first.copy_from_slice(&digest[..20]);
        let mut s = sextets_of(&LeitherId {
            bytes: first,
            tail: 0,
        });
        // s[26] ends in two zero bits (20 bytes = 160 bits); the swap moves it to the front
        // and the set bit marks the text as a key ID.
        s.swap(0, 26);
        s[0] |= 1;
        from_sextets(&s)
    }

    /// The ID versions before this one gave a key: base64url(RIPEMD-160(SHA-256(pk))).
    pub fn legacy_from_public_key(pk: &[u8; 32]) -> LeitherId {
        let h160 = Ripemd160::digest(Sha256::digest(pk));
        LeitherId::from_bytes(h160.into())
    }

    /// Whether this is the ID of `pk` under either derivation.
    pub fn is_id_of(&self, pk: &[u8; 32]) -> bool {
        *self == LeitherId::from_public_key(pk) || *self == LeitherId::legacy_from_public_key(pk)
    }

    /// The ID of `pk` whose first 20 bytes are `bytes`, for records that store an ID as 20
    /// bytes beside its key (the tail is recovered from the key); `None` if neither
    /// derivation of `pk` starts with these bytes.
    pub fn of_key_with_bytes(pk: &[u8; 32], bytes: &[u8; 20]) -> Option<LeitherId> {
        [
            LeitherId::from_public_key(pk),
            LeitherId::legacy_from_public_key(pk),
        ]
        .into_iter()
        .find(|id| id.bytes == *bytes)
    }

    /// An ID from its 20 raw bytes with a zero tail (IDs derived by our own rules: Mimei IDs,
    /// legacy key IDs).
    pub const fn from_bytes(bytes: [u8; 20]) -> LeitherId {
        LeitherId { bytes, tail: 0 }
    }

    /// An ID from its 20 bytes and its 2-bit tail; `None` if `tail > 3`.
    pub const fn from_parts(bytes: [u8; 20], tail: u8) -> Option<LeitherId> {
        if tail > 3 {
            None
        } else {
            Some(LeitherId { bytes, tail })
        }
    }

    /// The first 160 bits. Formats that store 20 bytes must also keep [`LeitherId::tail`]
    /// when it is not 0, or store the key the ID can be re-derived from.
    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.bytes
    }

    /// The last two bits (0 for every ID of our own derivations except key IDs).
    pub const fn tail(&self) -> u8 {
        self.tail
    }
}

/// The 27 six-bit groups of an ID's text.
fn sextets_of(id: &LeitherId) -> [u8; 27] {
    let mut bits = [0u8; 21];
    bits[..20].copy_from_slice(&id.bytes);
    bits[20] = id.tail << 6;
    core::array::from_fn(|i| {
        let bit = i * 6;
        let (byte, shift) = (bit / 8, bit % 8);
        let two =
            (u16::from(bits[byte]) << 8) | u16::from(bits.get(byte + 1).copied().unwrap_or(0));
        ((two >> (10 - shift)) & 0x3f) as u8
    })
}

fn from_sextets(s: &[u8; 27]) -> LeitherId {
    let mut bits = [0u8; 21];
    for (i, v) in s.iter().enumerate() {
        let bit = i * 6;
        let (byte, shift) = (bit / 8, bit % 8);
        let two = u16::from(*v & 0x3f) << (10 - shift);
        bits[byte] |= (two >> 8) as u8;
        if let Some(b) = bits.get_mut(byte + 1) {
            *b |= two as u8;
        }
    }
    let mut bytes = [0u8; 20];
    bytes.copy_from_slice(&bits[..20]);
    LeitherId {
        bytes,
        tail: bits[20] >> 6,
    }
}

impl fmt::Display for LeitherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: [u8; 27] = sextets_of(self).map(|v| ALPHABET[usize::from(v)]);
        // Every byte comes from ALPHABET, so this is ASCII.
        f.write_str(core::str::from_utf8(&text).unwrap_or(""))
    }
}

impl fmt::Debug for LeitherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeitherId({self})")
    }
}

impl FromStr for LeitherId {
    type Err = PkiError;

    /// Parses exactly 27 base64url characters (no padding, no surrounding spaces). Every such
    /// text is an ID; whether anything is known under it is for the caller to say.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| PkiError::InvalidId {
            input: quote_input(s),
            reason,
        };
        // A bad character is named when the length is right in bytes or characters, so that
        // "27 characters, one of them é" says which one.
        let len_ok = s.chars().count() == Self::TEXT_LEN || s.len() == Self::TEXT_LEN;
        if let Some((pos, ch)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii() || sextet(*c as u8).is_none())
            && len_ok
        {
            return Err(invalid(format!(
                "invalid character {ch:?} at position {pos}"
            )));
        }
        if s.len() != Self::TEXT_LEN {
            let n = s.chars().count();
            return Err(invalid(format!(
                "it is {n} characters long, not {}",
                Self::TEXT_LEN
            )));
        }
        let mut v = [0u8; 27];
        for (i, c) in s.bytes().enumerate() {
            v[i] =
                sextet(c).ok_or_else(|| invalid(format!("invalid character at position {i}")))?;
        }
        Ok(from_sextets(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::encoding::base64url_decode;
    use crate::pki::test_hex;

    // hash160 cross-checked with Node.js `crypto` (OpenSSL) and Python `hashlib`:
    // ripemd160(sha256(pk)) for the public key of the seed 00 01 02 .. 1f (see peerid.rs for
    // where the public key itself comes from).
    const PK_SEED_0_TO_31: &str =
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const LEGACY_ID_SEED_0_TO_31: &str = "4wy6cA-uv_nPSC01ib0cvMkD0oA";

    /// The key/ID pairs Leither printed in reference/leither/api/LPki.md (genkey, gencert and
    /// show), as (pk in base64url with padding, ID).
    pub(crate) const LPKI_PAIRS: [(&str, &str); 3] = [
        (
            "kVIfR1dAIypas6nPhDPwiKKY54Xco7NK80f9pUfePJY=",
            "xTTk7gZTywmHiR_y54TIpxQWRaa",
        ),
        (
            "2T1U4-IUMfYpppIcPi8ITJazt8I2PpOI8W1jctmm1Hs=",
            "h3PPmr6HVHrmaV_WAbnEP6t3x87",
        ),
        (
            "yPrZX6l9AWNwNVwpOh10a1Mdas56i6nEmV3LUNOjFZg=",
            "h7Nkwe4rfb1d15En8yQ65Lhhq9b",
        ),
    ];

    /// Every 27-character ID in the Leither reference (users, nodes, Mimeis, a file digest).
    pub(crate) const REFERENCE_IDS: [&str; 16] = [
        "RXN74QNeiY08LRSaoeQhx3nOLTC",
        "htpoEXiE6IlCAqVbCvjvkY_XNfu",
        "h7Nkwe4rfb1d15En8yQ65Lhhq9b",
        "h3PPmr6HVHrmaV_WAbnEP6t3x87",
        "Ngacq50-IRX_DfcndFwZ0c9S0Nh",
        "siNKzYDh_WWhR1_NOuw3Myp5SCS",
        "Fc1BRTFafOGzq5P8KmkVJqwS2v2",
        "tNP93yuZhNXd-om4izWQkYHfS50",
        "l86HuY4FuRDezLEPHOHBjnaQczp",
        "Z5ZbV2tKVzl441nDUbinBITdzCZ",
        "Wg5Bgcs3B3j_kWtz1rJF3XvP24N",
        "FGPaNfKA-RwvJ-_hGN0JDWMbm9R",
        "9OCLYP-SXzen3e171-Ei_6N3Gwl",
        "9I6JPEqsxWHN7dr2WG9C0CJ-VnN",
        "1ZLw8a9HvMnlnDzvo9JtktjW_3j",
        "xTTk7gZTywmHiR_y54TIpxQWRaa",
    ];

    fn pk_of(text: &str) -> [u8; 32] {
        let raw = base64url_decode(text.trim_end_matches('=')).unwrap();
        raw.try_into().unwrap()
    }

    #[test]
    fn leither_derivation_matches_lpki_md() {
        for (pk, want) in LPKI_PAIRS {
            let pk = pk_of(pk);
            let id = LeitherId::from_public_key(&pk);
            assert_eq!(id.to_string(), want);
            assert!(id.is_id_of(&pk));
            assert_eq!(LeitherId::of_key_with_bytes(&pk, id.as_bytes()), Some(id));
        }
    }

    #[test]
    fn legacy_derivation_is_hash160() {
        let pk = test_hex(PK_SEED_0_TO_31);
        let id = LeitherId::legacy_from_public_key(&pk);
        let expected_hex = "e30cba700faebff9cf482d3589bd1cbcc903d280";
        let got_hex: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got_hex, expected_hex);
        assert_eq!(id.to_string(), LEGACY_ID_SEED_0_TO_31);
        assert_eq!(id.tail(), 0);
        assert!(id.is_id_of(&pk));
        assert_eq!(LeitherId::of_key_with_bytes(&pk, id.as_bytes()), Some(id));
        // RFC 8032 §7.1 TEST 1 public key; hash160 from Node.js crypto.
        let pk = test_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let legacy = LeitherId::legacy_from_public_key(&pk);
        assert_eq!(legacy.to_string(), "l2a8alCzdr1vsl7MW9MoimY7vsk");
        assert_ne!(LeitherId::from_public_key(&pk), legacy);
        let other = LeitherId::from_public_key(&test_hex(PK_SEED_0_TO_31));
        assert!(!other.is_id_of(&pk));
        assert_eq!(LeitherId::of_key_with_bytes(&pk, other.as_bytes()), None);
    }

    #[test]
    fn every_reference_id_parses_and_prints_back() {
        for text in REFERENCE_IDS {
            let id: LeitherId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
            assert!(id.tail() <= 3);
        }
    }

    #[test]
    fn parse_round_trip() {
        let id: LeitherId = LEGACY_ID_SEED_0_TO_31.parse().unwrap();
        assert_eq!(
            id,
            LeitherId::legacy_from_public_key(&test_hex(PK_SEED_0_TO_31))
        );
        assert_eq!(
            format!("{id:?}"),
            format!("LeitherId({LEGACY_ID_SEED_0_TO_31})")
        );
        for bytes in [[0u8; 20], [0xff; 20]] {
            for tail in 0..4 {
                let id = LeitherId::from_parts(bytes, tail).unwrap();
                assert_eq!(id.to_string().parse::<LeitherId>().unwrap(), id);
            }
        }
        assert_eq!(LeitherId::from_parts([0; 20], 4), None);
        // The tail is part of the ID: same 20 bytes, different IDs.
        let a: LeitherId = "4wy6cA-uv_nPSC01ib0cvMkD0oA".parse().unwrap();
        let b: LeitherId = "4wy6cA-uv_nPSC01ib0cvMkD0oB".parse().unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_ne!(a, b);
        assert_eq!(b.tail(), 1);
    }

    #[test]
    fn parse_rejects_wrong_length() {
        for bad in [
            "",
            "4wy6cA-uv_nPSC01ib0cvMkD0o",
            "4wy6cA-uv_nPSC01ib0cvMkD0oAA",
        ] {
            let e = bad.parse::<LeitherId>().unwrap_err();
            assert!(matches!(e, PkiError::InvalidId { .. }), "{bad}");
            assert!(e.to_string().contains("characters long"), "{e}");
        }
        // 27 bytes but 14 characters: rejected for its characters, without panicking.
        let e = format!("{}a", "é".repeat(13))
            .parse::<LeitherId>()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("invalid character 'é' at position 0"),
            "{e}"
        );
    }

    #[test]
    fn parse_rejects_bad_chars_and_padding() {
        for bad in [
            "4wy6cA+uv_nPSC01ib0cvMkD0oA",
            "4wy6cA-uv_nPSC01ib0cvMkD0o=",
            " wy6cA-uv_nPSC01ib0cvMkD0oA",
        ] {
            let e = bad.parse::<LeitherId>().unwrap_err();
            assert!(e.to_string().contains("invalid character"), "{e}");
        }
    }
}
