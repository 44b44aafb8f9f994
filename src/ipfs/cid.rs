//! Content identifiers: [`Cid`] v0 and v1 over dag-pb, raw and dag-cbor blocks, in binary and
//! text.
//!
//! - CIDv0 is a bare sha2-256 multihash of a dag-pb block: 34 bytes, written in base58btc
//!   (`Qm...`, 46 characters).
//! - CIDv1 is `varint(1) varint(codec) multihash`, written in multibase: we print base32 lower
//!   case (`b...`, kubo's default) and parse `b`/`B` base32 and `z` base58btc.
//!
//! Only the codecs UnixFS uses ([`Codec::DagPb`] `0x70`, [`Codec::Raw`] `0x55`) and the one
//! database versions use ([`Codec::DagCbor`] `0x71`, the nodes of `db::prolly`) are modelled,
//! and only the hashes in [`super::multihash`]. Everything else is refused with a
//! [`CidError`] naming what was wrong, never a panic.

use super::base32::{self, Base32Error};
use super::multihash::{Multihash, SHA2_256, SHA2_256_LEN};
use super::varint::{self, VarintError};
use crate::pki::encoding::{EncodingError, base58_decode, base58_encode};
use core::fmt;
use core::str::FromStr;

/// Longest CID text accepted by [`Cid::from_str`]; real ones are at most about 120.
pub const MAX_TEXT_LEN: usize = 256;

/// Everything that can be wrong with a CID or multihash, in text or binary.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidError {
    /// The text or byte string is empty.
    Empty,
    /// The text is longer than [`MAX_TEXT_LEN`].
    TooLong,
    /// The multibase prefix is not one we read (`Qm` for v0, `b`, `B` or `z` for v1).
    UnknownMultibase(char),
    /// A character outside the base's alphabet, at this character position.
    InvalidChar {
        /// Position in the text, in characters from 0.
        pos: usize,
    },
    /// Base32 text of an impossible length or with stray bits: not the canonical spelling.
    NonCanonicalText,
    /// A varint field is malformed.
    Varint {
        /// Which field.
        what: &'static str,
        /// What is wrong with it.
        err: VarintError,
    },
    /// A CID version other than 0 or 1 (or a v1 prefix with version 0).
    UnsupportedVersion(u64),
    /// A content codec other than dag-pb (0x70), raw (0x55) or dag-cbor (0x71).
    UnsupportedCodec(u64),
    /// A hash function other than sha2-256 (0x12) or identity (0x00).
    UnsupportedHash(u64),
    /// A digest whose length does not match its hash function.
    DigestLength {
        /// The hash function code.
        code: u64,
        /// The length the function produces.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// An identity digest longer than [`super::multihash::MAX_DIGEST_LEN`].
    DigestTooLong {
        /// The declared length.
        len: usize,
    },
    /// A CIDv0 must be a 34-byte sha2-256 multihash of a dag-pb block, `Qm` + 44 characters.
    InvalidV0,
    /// The bytes end inside the CID.
    Truncated,
    /// Bytes left over after a complete CID or multihash.
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The data does not hash to the digest.
    HashMismatch,
}

impl fmt::Display for CidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty CID"),
            Self::TooLong => write!(f, "CID text longer than {MAX_TEXT_LEN} characters"),
            Self::UnknownMultibase(c) => write!(
                f,
                "unknown multibase prefix {c:?} (expected Qm..., b..., B... or z...)"
            ),
            Self::InvalidChar { pos } => write!(f, "invalid character at position {pos}"),
            Self::NonCanonicalText => f.write_str("CID text is not canonical base32"),
            Self::Varint { what, err } => write!(f, "bad {what}: {err}"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported CID version {v}"),
            Self::UnsupportedCodec(c) => {
                write!(
                    f,
                    "unsupported codec 0x{c:x} (only dag-pb 0x70, raw 0x55 and dag-cbor 0x71)"
                )
            }
            Self::UnsupportedHash(c) => {
                write!(
                    f,
                    "unsupported hash 0x{c:x} (only sha2-256 0x12 and identity 0x00)"
                )
            }
            Self::DigestLength {
                code,
                expected,
                got,
            } => write!(
                f,
                "digest of hash 0x{code:x} must be {expected} bytes, got {got}"
            ),
            Self::DigestTooLong { len } => write!(f, "identity digest of {len} bytes is too long"),
            Self::InvalidV0 => f.write_str("not a CIDv0 (sha2-256 dag-pb, Qm + 44 characters)"),
            Self::Truncated => f.write_str("CID cut short"),
            Self::TrailingBytes { extra } => write!(f, "{extra} bytes after the CID"),
            Self::HashMismatch => f.write_str("block does not match its CID's hash"),
        }
    }
}

impl std::error::Error for CidError {}

/// CID version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// A bare sha2-256 multihash of a dag-pb block (`Qm...`).
    V0,
    /// Versioned, with a codec, printed in multibase (`bafy...`, `bafk...`).
    V1,
}

/// The content type of the block a CID names.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Codec {
    /// dag-pb (`0x70`): UnixFS nodes.
    DagPb,
    /// raw (`0x55`): the block is the bytes (raw leaves).
    Raw,
    /// dag-cbor (`0x71`): canonical CBOR with tag-42 links (the nodes of database versions).
    DagCbor,
}

impl Codec {
    /// Multicodec code of dag-pb.
    pub const DAG_PB: u64 = 0x70;
    /// Multicodec code of raw.
    pub const RAW: u64 = 0x55;
    /// Multicodec code of dag-cbor.
    pub const DAG_CBOR: u64 = 0x71;

    /// The multicodec code.
    pub fn code(self) -> u64 {
        match self {
            Self::DagPb => Self::DAG_PB,
            Self::Raw => Self::RAW,
            Self::DagCbor => Self::DAG_CBOR,
        }
    }

    /// The codec with this multicodec code.
    pub fn from_code(code: u64) -> Result<Self, CidError> {
        match code {
            Self::DAG_PB => Ok(Self::DagPb),
            Self::RAW => Ok(Self::Raw),
            Self::DAG_CBOR => Ok(Self::DagCbor),
            other => Err(CidError::UnsupportedCodec(other)),
        }
    }
}

/// A content identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid {
    version: Version,
    codec: Codec,
    hash: Multihash,
}

impl Cid {
    /// A CIDv0: only a sha2-256 multihash of a dag-pb block qualifies.
    pub fn new_v0(hash: Multihash) -> Result<Self, CidError> {
        if hash.code() != SHA2_256 || hash.digest().len() != SHA2_256_LEN {
            return Err(CidError::InvalidV0);
        }
        Ok(Self {
            version: Version::V0,
            codec: Codec::DagPb,
            hash,
        })
    }

    /// A CIDv1 of any supported codec and hash.
    pub fn new_v1(codec: Codec, hash: Multihash) -> Self {
        Self {
            version: Version::V1,
            codec,
            hash,
        }
    }

    /// The sha2-256 CID of `block`: v0 for dag-pb when `version` is V0, else v1. A raw block
    /// always gets a v1 CID, since v0 cannot name raw blocks (kubo does the same with
    /// `--raw-leaves` under CIDv0).
    pub fn of_block(version: Version, codec: Codec, block: &[u8]) -> Self {
        let hash = Multihash::sha2_256(block);
        match (version, codec) {
            (Version::V0, Codec::DagPb) => Self {
                version: Version::V0,
                codec,
                hash,
            },
            _ => Self::new_v1(codec, hash),
        }
    }

    /// The version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The codec (always dag-pb for v0).
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The multihash.
    pub fn hash(&self) -> &Multihash {
        &self.hash
    }

    /// The same content named by a CIDv1.
    pub fn to_v1(&self) -> Self {
        Self::new_v1(self.codec, self.hash)
    }

    /// Length of the binary form.
    pub fn encoded_len(&self) -> usize {
        match self.version {
            Version::V0 => self.hash.encoded_len(),
            Version::V1 => 1 + varint::encoded_len(self.codec.code()) + self.hash.encoded_len(),
        }
    }

    /// Appends the binary form (no multibase prefix) to `out`.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        if self.version == Version::V1 {
            out.push(1);
            varint::write(self.codec.code(), out);
        }
        self.hash.write_bytes(out);
    }

    /// The binary form (no multibase prefix).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_bytes(&mut out);
        out
    }

    /// Reads a binary CID from the start of `bytes`; returns it and the bytes it took. A v0 is
    /// recognised by its `0x12 0x20` start, as the CID spec says.
    pub fn read_bytes(bytes: &[u8]) -> Result<(Self, usize), CidError> {
        match bytes {
            [] => Err(CidError::Empty),
            [0x12, 0x20, ..] => {
                let (hash, used) = Multihash::read_bytes(bytes)?;
                Ok((Self::new_v0(hash)?, used))
            }
            _ => {
                let (version, n) = varint::decode(bytes).map_err(|err| CidError::Varint {
                    what: "CID version",
                    err,
                })?;
                if version != 1 {
                    return Err(CidError::UnsupportedVersion(version));
                }
                let (code, m) = varint::decode(&bytes[n..]).map_err(|err| CidError::Varint {
                    what: "CID codec",
                    err,
                })?;
                let codec = Codec::from_code(code)?;
                let (hash, used) = Multihash::read_bytes(&bytes[n + m..])?;
                Ok((Self::new_v1(codec, hash), n + m + used))
            }
        }
    }

    /// Parses a binary CID that fills `bytes` exactly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
        let (cid, used) = Self::read_bytes(bytes)?;
        if used != bytes.len() {
            return Err(CidError::TrailingBytes {
                extra: bytes.len() - used,
            });
        }
        Ok(cid)
    }

    /// Checks that `block` is the content this CID names (hash only; the codec is the
    /// decoder's business).
    pub fn verify(&self, block: &[u8]) -> Result<(), CidError> {
        self.hash.verify(block)
    }
}

fn base58_error(e: EncodingError) -> CidError {
    match e {
        EncodingError::InvalidChar { pos, .. } => CidError::InvalidChar { pos },
        EncodingError::TooLong { .. } => CidError::TooLong,
        _ => CidError::NonCanonicalText,
    }
}

impl FromStr for Cid {
    type Err = CidError;

    fn from_str(s: &str) -> Result<Self, CidError> {
        if s.len() > MAX_TEXT_LEN {
            return Err(CidError::TooLong);
        }
        let first = s.chars().next().ok_or(CidError::Empty)?;
        if s.len() == 46 && s.starts_with("Qm") {
            let bytes = base58_decode(s).map_err(base58_error)?;
            let (hash, used) = Multihash::read_bytes(&bytes)?;
            if used != bytes.len() {
                return Err(CidError::InvalidV0);
            }
            return Self::new_v0(hash);
        }
        // `first` is ASCII in every accepted case, so slicing after it is safe.
        let shift_pos = |e: CidError| match e {
            CidError::InvalidChar { pos } => CidError::InvalidChar { pos: pos + 1 },
            other => other,
        };
        let bytes = match first {
            'b' | 'B' => base32::decode(&s[1..], first == 'B').map_err(|e| match e {
                Base32Error::InvalidChar(pos) => CidError::InvalidChar {
                    pos: s[1..].get(..pos).map_or(pos, |p| p.chars().count()) + 1,
                },
                _ => CidError::NonCanonicalText,
            })?,
            'z' => base58_decode(&s[1..]).map_err(|e| shift_pos(base58_error(e)))?,
            'Q' => return Err(CidError::InvalidV0),
            other => return Err(CidError::UnknownMultibase(other)),
        };
        let cid = Self::from_bytes(&bytes)?;
        if cid.version == Version::V0 {
            // A v0 multihash dressed in a multibase prefix is not a CID.
            return Err(CidError::UnsupportedVersion(0));
        }
        Ok(cid)
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Version::V0 => {
                // 34 bytes is well under base58_encode's 64-byte limit.
                let text = base58_encode(&self.to_bytes()).map_err(|_| fmt::Error)?;
                f.write_str(&text)
            }
            Version::V1 => {
                f.write_str("b")?;
                f.write_str(&base32::encode(&self.to_bytes()))
            }
        }
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V0: &str = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
    const V1_RAW: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

    #[test]
    fn text_round_trips() {
        for text in [
            V0,
            V1_RAW,
            "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        ] {
            let cid: Cid = text.parse().unwrap();
            assert_eq!(cid.to_string(), text);
            assert_eq!(Cid::from_bytes(&cid.to_bytes()), Ok(cid));
            assert_eq!(cid.to_bytes().len(), cid.encoded_len());
        }
        let v0: Cid = V0.parse().unwrap();
        assert_eq!(v0.version(), Version::V0);
        assert_eq!(v0.codec(), Codec::DagPb);
        assert_eq!(v0.to_bytes().len(), 34);
        // The same content as v1 is bafybei...; base58btc and upper base32 spellings parse too.
        let v1 = v0.to_v1();
        let z = format!("z{}", base58_encode(&v1.to_bytes()).unwrap());
        assert_eq!(z.parse::<Cid>(), Ok(v1));
        let upper = format!("B{}", base32::encode(&v1.to_bytes()).to_uppercase());
        assert_eq!(upper.parse::<Cid>(), Ok(v1));
    }

    #[test]
    fn of_block_matches_kubo() {
        // `printf 'hello world\n' | ipfs add --cid-version=1` is a single raw leaf.
        let cid = Cid::of_block(Version::V1, Codec::Raw, b"hello world\n");
        assert_eq!(cid.to_string(), V1_RAW);
        // A raw block asked for as v0 still gets v1.
        assert_eq!(
            Cid::of_block(Version::V0, Codec::Raw, b"hello world\n"),
            cid
        );
        // The empty dag-pb block (dag-pb spec).
        assert_eq!(
            Cid::of_block(Version::V0, Codec::DagPb, b"").to_string(),
            "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
        );
        assert!(cid.verify(b"hello world\n").is_ok());
        assert_eq!(cid.verify(b"hello world"), Err(CidError::HashMismatch));
    }

    #[test]
    fn text_errors_name_the_problem() {
        assert_eq!("".parse::<Cid>(), Err(CidError::Empty));
        assert_eq!(
            "mAXASIA".parse::<Cid>(),
            Err(CidError::UnknownMultibase('m'))
        );
        assert_eq!("QmT78".parse::<Cid>(), Err(CidError::InvalidV0));
        assert_eq!(
            "bafk0eifj".parse::<Cid>(),
            Err(CidError::InvalidChar { pos: 4 })
        );
        assert_eq!(
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5O".parse::<Cid>(),
            Err(CidError::InvalidChar { pos: 45 })
        );
        assert!("x".repeat(300).parse::<Cid>().is_err());
        // Stray bits in the last base32 character.
        let mut bad = V1_RAW.to_string();
        bad.pop();
        bad.push('5');
        assert_eq!(bad.parse::<Cid>(), Err(CidError::NonCanonicalText));
        // A v1 prefix with a dag-json codec.
        let json = format!("b{}", base32::encode(&[1, 0xa9, 0x02, 0x12, 0x20]));
        assert_eq!(json.parse::<Cid>(), Err(CidError::UnsupportedCodec(0x0129)));
        // A v0 wrapped in multibase is refused.
        let v0: Cid = V0.parse().unwrap();
        let wrapped = format!("b{}", base32::encode(&v0.to_bytes()));
        assert_eq!(wrapped.parse::<Cid>(), Err(CidError::UnsupportedVersion(0)));
    }

    #[test]
    fn binary_errors() {
        assert_eq!(Cid::from_bytes(&[]), Err(CidError::Empty));
        assert_eq!(
            Cid::from_bytes(&[2, 0x70]),
            Err(CidError::UnsupportedVersion(2))
        );
        assert_eq!(
            Cid::from_bytes(&[0, 0x70]),
            Err(CidError::UnsupportedVersion(0))
        );
        let cid: Cid = V1_RAW.parse().unwrap();
        let bytes = cid.to_bytes();
        for cut in 0..bytes.len() {
            assert!(Cid::from_bytes(&bytes[..cut]).is_err(), "prefix {cut}");
        }
        let mut long = bytes.clone();
        long.push(7);
        assert_eq!(Cid::read_bytes(&long), Ok((cid, bytes.len())));
        assert_eq!(
            Cid::from_bytes(&long),
            Err(CidError::TrailingBytes { extra: 1 })
        );
    }

    #[test]
    fn mutations_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for text in [V0, V1_RAW] {
            for _ in 0..2000 {
                let mut t = text.as_bytes().to_vec();
                let i = (next() % t.len() as u64) as usize;
                t[i] = (next() & 0xff) as u8;
                if let Ok(s) = std::str::from_utf8(&t)
                    && let Ok(cid) = s.parse::<Cid>()
                    && !s.starts_with(['z', 'B'])
                {
                    assert_eq!(cid.to_string(), s);
                }
                let mut b = text.parse::<Cid>().unwrap().to_bytes();
                let j = (next() % b.len() as u64) as usize;
                b[j] = (next() & 0xff) as u8;
                if let Ok(cid) = Cid::from_bytes(&b) {
                    assert_eq!(cid.to_bytes(), b);
                }
            }
        }
    }
}
