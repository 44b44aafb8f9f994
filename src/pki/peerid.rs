//! The libp2p PeerId of an ed25519 key, as text (`12D3KooW...`) and back.
//!
//! Per the libp2p peer-ids spec: the key is wrapped in the protobuf `PublicKey { Type = Ed25519
//! (1), Data = 32 bytes }`, which serializes to the 36 bytes `08 01 12 20 <pk>`. That is at most
//! 42 bytes, so the PeerId is the *identity* multihash of it (`00 24` + the 36 bytes, 38 bytes in
//! all), shown in base58btc. The fixed prefix is why every ed25519 PeerId starts `12D3KooW`.
//! Only this legacy base58btc text form is produced and accepted; hashed PeerIds (`Qm...`, RSA
//! keys) and the CIDv1 form are refused with a message saying so.

use super::encoding::{base58_decode, base58_encode};
use super::{PkiError, quote_input};

/// Multihash code 0x00 (identity), length 36, then protobuf field 1 (Type) = 1 (Ed25519) and
/// field 2 (Data) of length 32.
const PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/// Length of the PeerId multihash of an ed25519 key.
pub const MULTIHASH_LEN: usize = PREFIX.len() + 32;

/// The PeerId multihash bytes of an ed25519 public key (what libp2p puts on the wire).
pub fn peer_id_multihash(pk: &[u8; 32]) -> [u8; MULTIHASH_LEN] {
    let mut out = [0u8; MULTIHASH_LEN];
    out[..PREFIX.len()].copy_from_slice(&PREFIX);
    out[PREFIX.len()..].copy_from_slice(pk);
    out
}

/// The PeerId text (`12D3KooW...`, 52 characters) of an ed25519 public key.
pub fn to_peer_id(pk: &[u8; 32]) -> String {
    // 38 bytes is within the base58 limit of 64, so this cannot fail.
    base58_encode(&peer_id_multihash(pk)).unwrap_or_default()
}

/// The ed25519 public key inside a PeerId text. Fails for anything else, including PeerIds of
/// other key types and keys that are not valid ed25519 points.
pub fn parse_peer_id(s: &str) -> Result<[u8; 32], PkiError> {
    let invalid = |reason: String| PkiError::InvalidPeerId {
        input: quote_input(s),
        reason,
    };
    if s.starts_with("Qm") {
        return Err(invalid(
            "it is a hashed PeerId (an RSA or other large key); only ed25519 keys are supported"
                .into(),
        ));
    }
    if s.starts_with(['b', 'k', 'f']) {
        // A multibase prefix (bafz..., k51..., f01...): the CIDv1 form of a PeerId.
        return Err(invalid(
            "it looks like the CIDv1 form; give the base58 form (12D3KooW...)".into(),
        ));
    }
    let bytes = base58_decode(s).map_err(|e| invalid(e.to_string()))?;
    if bytes.len() != MULTIHASH_LEN || bytes[..PREFIX.len()] != PREFIX {
        return Err(invalid(
            "it does not hold an ed25519 public key (wrong key type or length)".into(),
        ));
    }
    let mut pk = [0u8; 32];
    pk.copy_from_slice(&bytes[PREFIX.len()..]);
    if ed25519_compact::PublicKey::new(pk).validate().is_err() {
        return Err(invalid(
            "its 32 key bytes are not a usable ed25519 public key".into(),
        ));
    }
    Ok(pk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_hex;

    // Produced by npm `@libp2p/peer-id` 6.0.15 with `@libp2p/crypto` 5.1.23 (Node.js 20):
    // `generateKeyPairFromSeed('Ed25519', seed)` with seed = bytes 0x00, 0x01, ..., 0x1f, then
    // `peerIdFromPublicKey(key.publicKey).toString()`; the multihash is
    // `peerId.toMultihash().bytes`.
    const V1_PK: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const V1_PEER_ID: &str = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB";
    const V1_MULTIHASH: &str =
        "00240801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";

    // libp2p/specs peer-ids/peer-ids.md "Test vectors": the ED25519 public key protobuf
    // `080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e`. The spec gives
    // no PeerId text; this one is what the same npm packages derive from that protobuf
    // (`peerIdFromPublicKey(publicKeyFromProtobuf(bytes))`).
    const SPEC_PK: &str = "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    const SPEC_PEER_ID: &str = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";

    #[test]
    fn js_libp2p_vector() {
        let pk = test_hex(V1_PK);
        assert_eq!(to_peer_id(&pk), V1_PEER_ID);
        let mh: String = peer_id_multihash(&pk)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(mh, V1_MULTIHASH);
        assert_eq!(parse_peer_id(V1_PEER_ID).unwrap(), pk);
    }

    #[test]
    fn spec_vector() {
        let pk = test_hex(SPEC_PK);
        // The spec's protobuf is our multihash minus the 2-byte identity-multihash header.
        let mh = peer_id_multihash(&pk);
        let proto: String = mh[2..].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            proto,
            "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
        );
        assert_eq!(to_peer_id(&pk), SPEC_PEER_ID);
        assert_eq!(parse_peer_id(SPEC_PEER_ID).unwrap(), pk);
    }

    #[test]
    fn every_ed25519_peer_id_starts_12d3koow() {
        for pk in [[0u8; 32], [0xff; 32], test_hex(V1_PK)] {
            let s = to_peer_id(&pk);
            assert!(s.starts_with("12D3KooW"), "{s}");
            assert_eq!(s.len(), 52);
        }
    }

    #[test]
    fn rejects_other_forms() {
        let cases = [
            (
                "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
                "hashed PeerId",
            ),
            (
                "bafzaajaiaejcbzdibmxyzdjbmxv3jq3c6ynymoshrdycxqkgyvhpqqdunm7z7ptt",
                "CIDv1",
            ),
            ("12D3KooW0", "invalid character"),
            ("", "wrong key type or length"),
            (
                "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeS",
                "wrong key type",
            ),
        ];
        for (bad, needle) in cases {
            let e = parse_peer_id(bad).unwrap_err();
            assert!(matches!(e, PkiError::InvalidPeerId { .. }));
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
        assert!(parse_peer_id(&"z".repeat(200)).is_err());
    }

    #[test]
    fn rejects_invalid_point() {
        // The all-zero key has small order; ed25519 verification could never succeed with it.
        let s = to_peer_id(&[0u8; 32]);
        let e = parse_peer_id(&s).unwrap_err();
        assert!(e.to_string().contains("not a usable ed25519"), "{e}");
    }
}
