//! Multihash: a self-describing digest, `varint(code) varint(len) digest`.
//!
//! Only the two functions IPFS files use are accepted: sha2-256 (code `0x12`, 32-byte digest),
//! which names every block kubo writes, and identity (code `0x00`), whose "digest" is the data
//! itself (kubo's `--inline`). Identity digests are limited to [`MAX_DIGEST_LEN`] bytes so that a
//! [`Multihash`] is a small `Copy` value with no heap.

use super::cid::CidError;
use super::varint;
use sha2::{Digest, Sha256};

/// Multicodec code of sha2-256.
pub const SHA2_256: u64 = 0x12;
/// Multicodec code of the identity "hash".
pub const IDENTITY: u64 = 0x00;
/// Length of a sha2-256 digest.
pub const SHA2_256_LEN: usize = 32;
/// Longest digest stored (and so longest identity-hashed block accepted).
pub const MAX_DIGEST_LEN: usize = 64;

/// A hash function code with its digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Multihash {
    code: u8,
    len: u8,
    digest: [u8; MAX_DIGEST_LEN],
}

impl Multihash {
    /// The sha2-256 multihash of `data`.
    pub fn sha2_256(data: &[u8]) -> Self {
        let mut digest = [0u8; MAX_DIGEST_LEN];
        digest[..SHA2_256_LEN].copy_from_slice(&Sha256::digest(data));
        Self {
            code: SHA2_256 as u8,
            len: SHA2_256_LEN as u8,
            digest,
        }
    }

    /// The identity multihash of `data` (the data inline), if it is short enough.
    pub fn identity(data: &[u8]) -> Result<Self, CidError> {
        if data.len() > MAX_DIGEST_LEN {
            return Err(CidError::DigestTooLong { len: data.len() });
        }
        let mut digest = [0u8; MAX_DIGEST_LEN];
        digest[..data.len()].copy_from_slice(data);
        Ok(Self {
            code: IDENTITY as u8,
            len: data.len() as u8,
            digest,
        })
    }

    /// Wraps an existing digest after checking the code and length.
    pub fn from_digest(code: u64, digest: &[u8]) -> Result<Self, CidError> {
        match code {
            SHA2_256 if digest.len() != SHA2_256_LEN => Err(CidError::DigestLength {
                code,
                expected: SHA2_256_LEN,
                got: digest.len(),
            }),
            SHA2_256 => {
                let mut d = [0u8; MAX_DIGEST_LEN];
                d[..SHA2_256_LEN].copy_from_slice(digest);
                Ok(Self {
                    code: SHA2_256 as u8,
                    len: SHA2_256_LEN as u8,
                    digest: d,
                })
            }
            IDENTITY => Self::identity(digest),
            other => Err(CidError::UnsupportedHash(other)),
        }
    }

    /// The hash function's multicodec code.
    pub fn code(&self) -> u64 {
        u64::from(self.code)
    }

    /// The digest bytes (for identity, the data itself).
    pub fn digest(&self) -> &[u8] {
        &self.digest[..usize::from(self.len)]
    }

    /// Whether this is an identity multihash (the block is inside the hash).
    pub fn is_identity(&self) -> bool {
        u64::from(self.code) == IDENTITY
    }

    /// Length of the binary form.
    pub fn encoded_len(&self) -> usize {
        varint::encoded_len(self.code())
            + varint::encoded_len(u64::from(self.len))
            + self.digest().len()
    }

    /// Appends the binary form to `out`.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        varint::write(self.code(), out);
        varint::write(u64::from(self.len), out);
        out.extend_from_slice(self.digest());
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_bytes(&mut out);
        out
    }

    /// Reads a multihash from the start of `bytes`; returns it and the bytes it took.
    pub fn read_bytes(bytes: &[u8]) -> Result<(Self, usize), CidError> {
        let (code, n) = varint::decode(bytes).map_err(|err| CidError::Varint {
            what: "multihash code",
            err,
        })?;
        let rest = &bytes[n..];
        let (len, m) = varint::decode(rest).map_err(|err| CidError::Varint {
            what: "multihash length",
            err,
        })?;
        if code != SHA2_256 && code != IDENTITY {
            return Err(CidError::UnsupportedHash(code));
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > MAX_DIGEST_LEN {
            return Err(CidError::DigestTooLong { len });
        }
        let digest = rest[m..].get(..len).ok_or(CidError::Truncated)?;
        Ok((Self::from_digest(code, digest)?, n + m + len))
    }

    /// Parses a multihash that must fill `bytes` exactly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
        let (mh, used) = Self::read_bytes(bytes)?;
        if used != bytes.len() {
            return Err(CidError::TrailingBytes {
                extra: bytes.len() - used,
            });
        }
        Ok(mh)
    }

    /// Checks that `data` hashes to this multihash.
    pub fn verify(&self, data: &[u8]) -> Result<(), CidError> {
        let ok = match self.code() {
            SHA2_256 => Sha256::digest(data).as_slice() == self.digest(),
            _ => data == self.digest(),
        };
        if ok {
            Ok(())
        } else {
            Err(CidError::HashMismatch)
        }
    }
}

impl core::fmt::Debug for Multihash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Multihash(0x{:02x}, ", self.code)?;
        for b in self.digest() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha2_256_of_empty_and_known_text() {
        let mh = Multihash::sha2_256(b"");
        let hex: String = mh.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "1220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Multihash::from_bytes(&mh.to_bytes()), Ok(mh));
        assert!(mh.verify(b"").is_ok());
        assert_eq!(mh.verify(b"x"), Err(CidError::HashMismatch));
    }

    #[test]
    fn identity_round_trip_and_limit() {
        let mh = Multihash::identity(b"hi").unwrap();
        assert_eq!(mh.to_bytes(), [0x00, 0x02, b'h', b'i']);
        assert_eq!(Multihash::from_bytes(&mh.to_bytes()), Ok(mh));
        assert!(mh.verify(b"hi").is_ok());
        assert!(Multihash::identity(&[0; MAX_DIGEST_LEN + 1]).is_err());
    }

    #[test]
    fn rejects_unknown_wrong_length_truncated() {
        assert_eq!(
            Multihash::from_bytes(&[0x13, 0x40]),
            Err(CidError::UnsupportedHash(0x13))
        );
        let mut short = vec![0x12, 0x1f];
        short.extend_from_slice(&[0; 31]);
        assert!(matches!(
            Multihash::from_bytes(&short),
            Err(CidError::DigestLength { .. })
        ));
        let full = Multihash::sha2_256(b"a").to_bytes();
        for cut in 0..full.len() {
            assert!(Multihash::from_bytes(&full[..cut]).is_err());
        }
        let mut long = full.clone();
        long.push(0);
        assert_eq!(
            Multihash::from_bytes(&long),
            Err(CidError::TrailingBytes { extra: 1 })
        );
        assert!(matches!(
            Multihash::from_bytes(&[0x00, 0xff, 0x7f]),
            Err(CidError::DigestTooLong { .. })
        ));
    }
}
