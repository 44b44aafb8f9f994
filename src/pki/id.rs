//! [`LeitherId`]: the 27-character ID of a node or user.
//!
//! An ID is `base64url-no-pad(RIPEMD-160(SHA-256(ed25519 public key)))`, Bitcoin's hash160 of
//! the raw 32-byte key. 20 bytes are 160 bits; 27 base64url characters carry 162, so the last
//! character always has its two low bits zero, and parsing rejects one that does not (each ID has
//! exactly one spelling). Mimei IDs share this 27-character form but are derived elsewhere
//! (`mimei/`), through [`LeitherId::from_bytes`].

use core::fmt;
use core::str::FromStr;

use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

use super::encoding::{EncodingError, base64url_decode, base64url_encode};
use super::{PkiError, quote_input};

/// A node, user or Mimei ID: 20 bytes, shown as 27 base64url characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeitherId([u8; 20]);

impl LeitherId {
    /// Length of the text form in characters.
    pub const TEXT_LEN: usize = 27;
    /// Length of the binary form in bytes.
    pub const BYTES: usize = 20;

    /// The ID of an ed25519 public key: RIPEMD-160(SHA-256(pk)).
    pub fn from_public_key(pk: &[u8; 32]) -> LeitherId {
        let sha = Sha256::digest(pk);
        let h160 = Ripemd160::digest(sha);
        LeitherId(h160.into())
    }

    /// An ID from its 20 raw bytes (for IDs derived by other rules, such as Mimei IDs).
    pub const fn from_bytes(bytes: [u8; 20]) -> LeitherId {
        LeitherId(bytes)
    }

    /// The 20 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for LeitherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64url_encode(&self.0))
    }
}

impl fmt::Debug for LeitherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeitherId({self})")
    }
}

impl FromStr for LeitherId {
    type Err = PkiError;

    /// Parses exactly 27 base64url characters (no padding, no surrounding spaces).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| PkiError::InvalidId {
            input: quote_input(s),
            reason,
        };
        if s.len() != Self::TEXT_LEN {
            let n = s.chars().count();
            return Err(invalid(format!(
                "it is {n} characters long, not {}",
                Self::TEXT_LEN
            )));
        }
        let bytes = base64url_decode(s).map_err(|e| match e {
            EncodingError::NonCanonical => invalid(
                "its last character is not one an ID can end with (A, E, I, M, Q, U, Y, c, g, k, \
                 o, s, w, 0, 4 or 8): a typo?"
                    .to_string(),
            ),
            e => invalid(e.to_string()),
        })?;
        let arr: [u8; 20] = bytes
            .try_into()
            .map_err(|_| invalid("wrong decoded length".to_string()))?;
        Ok(LeitherId(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_hex;

    // hash160 cross-checked with Node.js `crypto` (OpenSSL) and Python `hashlib`:
    // ripemd160(sha256(pk)) for the public key of the seed 00 01 02 .. 1f (see peerid.rs for
    // where the public key itself comes from).
    const PK_SEED_0_TO_31: &str =
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const ID_SEED_0_TO_31: &str = "4wy6cA-uv_nPSC01ib0cvMkD0oA";

    #[test]
    fn id_of_known_key() {
        let id = LeitherId::from_public_key(&test_hex(PK_SEED_0_TO_31));
        let expected_hex = "e30cba700faebff9cf482d3589bd1cbcc903d280";
        let got_hex: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got_hex, expected_hex);
        assert_eq!(id.to_string(), ID_SEED_0_TO_31);
        assert_eq!(id.to_string().len(), LeitherId::TEXT_LEN);
    }

    #[test]
    fn id_of_rfc8032_test_1_key() {
        // RFC 8032 §7.1 TEST 1 public key (secret key 9d61b19d...); hash160 from Node.js crypto.
        let pk = test_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let id = LeitherId::from_public_key(&pk);
        assert_eq!(id.to_string(), "l2a8alCzdr1vsl7MW9MoimY7vsk");
    }

    #[test]
    fn parse_round_trip() {
        let id: LeitherId = ID_SEED_0_TO_31.parse().unwrap();
        assert_eq!(id, LeitherId::from_public_key(&test_hex(PK_SEED_0_TO_31)));
        assert_eq!(format!("{id:?}"), format!("LeitherId({ID_SEED_0_TO_31})"));
        for bytes in [[0u8; 20], [0xff; 20]] {
            let id = LeitherId::from_bytes(bytes);
            assert_eq!(id.to_string().parse::<LeitherId>().unwrap(), id);
        }
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

    #[test]
    fn parse_rejects_non_canonical_last_char() {
        // 'B' sets one of the two unused low bits of the final character.
        let e = "4wy6cA-uv_nPSC01ib0cvMkD0oB"
            .parse::<LeitherId>()
            .unwrap_err();
        assert!(e.to_string().contains("last character"), "{e}");
    }
}
