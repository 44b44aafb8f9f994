//! Unsigned LEB128 varints, the integer encoding under every IPFS format.
//!
//! Two readers with different rules, because the specs differ:
//!
//! - [`decode`]: the multiformats `unsigned-varint` used by CIDs, multihashes and CAR section
//!   lengths. At most [`MAX_LEN`] (9) bytes, so values stay below 2^63, and only the minimal
//!   encoding is accepted (the spec requires it, so that every number has one spelling).
//! - [`decode_protobuf`]: protobuf `uint64`/`int64` fields of dag-pb and UnixFS. Up to
//!   [`MAX_PROTOBUF_LEN`] (10) bytes for the full `u64` range (negative `int64`s take all ten).
//!   Protobuf itself tolerates padded varints; we reject them too so that a decoded block
//!   re-encodes to the same bytes (and so the same CID).
//!
//! One writer serves both: [`write()`] always produces the minimal encoding.

use core::fmt;

/// Longest multiformats varint: 9 bytes, 63 bits of value.
pub const MAX_LEN: usize = 9;
/// Longest protobuf varint: 10 bytes, the whole `u64` range.
pub const MAX_PROTOBUF_LEN: usize = 10;

/// Why bytes are not a valid varint.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended while the last byte read still had its continuation bit set.
    Truncated,
    /// More bytes than the format allows, or a value that does not fit in 64 bits.
    Overflow,
    /// A padded encoding (a final `0x00` byte after other bytes): the same number has a shorter
    /// spelling, which is the only one accepted.
    NotMinimal,
}

impl fmt::Display for VarintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "varint cut short",
            Self::Overflow => "varint too long or too large",
            Self::NotMinimal => "varint not minimally encoded",
        })
    }
}

impl std::error::Error for VarintError {}

/// Number of bytes [`write()`] uses for `value` (1 to 10).
pub const fn encoded_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Encodes `value` into `buf` and returns the used prefix.
pub fn encode(value: u64, buf: &mut [u8; MAX_PROTOBUF_LEN]) -> &[u8] {
    let mut v = value;
    let mut i = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf[i] = byte;
            return &buf[..=i];
        }
        buf[i] = byte | 0x80;
        i += 1;
    }
}

/// Appends the minimal encoding of `value` to `out`.
pub fn write(value: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; MAX_PROTOBUF_LEN];
    out.extend_from_slice(encode(value, &mut buf));
}

fn decode_bounded(bytes: &[u8], max_len: usize) -> Result<(u64, usize), VarintError> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        if i == max_len {
            return Err(VarintError::Overflow);
        }
        let part = u64::from(b & 0x7f);
        // The 10th byte of a protobuf varint may only carry bit 63.
        if i == 9 && part > 1 {
            return Err(VarintError::Overflow);
        }
        value |= part << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(VarintError::NotMinimal);
            }
            return Ok((value, i + 1));
        }
    }
    if bytes.len() >= max_len {
        Err(VarintError::Overflow)
    } else {
        Err(VarintError::Truncated)
    }
}

/// Reads a multiformats unsigned varint from the start of `bytes`: at most 9 bytes, minimal.
/// Returns the value and the number of bytes it took.
pub fn decode(bytes: &[u8]) -> Result<(u64, usize), VarintError> {
    decode_bounded(bytes, MAX_LEN)
}

/// Reads a protobuf varint from the start of `bytes`: at most 10 bytes, fits in `u64`, minimal.
/// Returns the value and the number of bytes it took.
pub fn decode_protobuf(bytes: &[u8]) -> Result<(u64, usize), VarintError> {
    decode_bounded(bytes, MAX_PROTOBUF_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write(v, &mut out);
        out
    }

    #[test]
    fn spec_vectors() {
        // From the multiformats unsigned-varint README.
        let cases: [(u64, &[u8]); 8] = [
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (255, &[0xff, 0x01]),
            (300, &[0xac, 0x02]),
            (16384, &[0x80, 0x80, 0x01]),
            (0, &[0x00]),
            (0x12, &[0x12]),
        ];
        for (v, bytes) in cases {
            assert_eq!(enc(v), bytes);
            assert_eq!(decode(bytes), Ok((v, bytes.len())));
            assert_eq!(encoded_len(v), bytes.len());
        }
    }

    #[test]
    fn round_trips_at_every_width() {
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, (1u64 << shift) + 1] {
                let bytes = enc(v);
                assert_eq!(bytes.len(), encoded_len(v));
                assert_eq!(decode_protobuf(&bytes), Ok((v, bytes.len())));
                if bytes.len() <= MAX_LEN {
                    assert_eq!(decode(&bytes), Ok((v, bytes.len())));
                } else {
                    assert_eq!(decode(&bytes), Err(VarintError::Overflow));
                }
            }
        }
        let max = enc(u64::MAX);
        assert_eq!(max.len(), 10);
        assert_eq!(decode_protobuf(&max), Ok((u64::MAX, 10)));
    }

    #[test]
    fn rejects_bad_encodings() {
        assert_eq!(decode(&[]), Err(VarintError::Truncated));
        assert_eq!(decode(&[0x80]), Err(VarintError::Truncated));
        assert_eq!(decode(&[0x81, 0x00]), Err(VarintError::NotMinimal));
        assert_eq!(decode(&[0x80, 0x80, 0x00]), Err(VarintError::NotMinimal));
        assert_eq!(decode(&[0xff; 9]), Err(VarintError::Overflow));
        assert_eq!(decode(&[0xff; 12]), Err(VarintError::Overflow));
        let mut ten = vec![0xffu8; 9];
        ten.push(0x02);
        assert_eq!(decode_protobuf(&ten), Err(VarintError::Overflow));
        assert_eq!(decode_protobuf(&[0xff; 11]), Err(VarintError::Overflow));
        assert_eq!(decode_protobuf(&[0xff; 10]), Err(VarintError::Overflow));
        assert_eq!(decode_protobuf(&[0xff; 5]), Err(VarintError::Truncated));
    }

    #[test]
    fn trailing_bytes_are_left_alone() {
        assert_eq!(decode(&[0xac, 0x02, 0xff]), Ok((300, 2)));
    }
}
