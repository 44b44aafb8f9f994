//! RFC 4648 base32 without padding, the text form of CIDv1 (multibase prefix `b`, lower case).
//!
//! The decoder is strict: only one case per call, no padding, no whitespace, no impossible
//! lengths and no stray bits in the last character, so each byte string has exactly one
//! spelling and a parsed CID prints back to the text it came from.

const LOWER: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Why a text is not canonical base32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base32Error {
    /// A character outside the alphabet (or of the other case), at this byte position.
    InvalidChar(usize),
    /// A length that no byte string encodes to (length % 8 in {1, 3, 6}).
    InvalidLength,
    /// The last character carries bits that no byte uses.
    NonCanonical,
}

/// Encodes `bytes` as lower-case base32 without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(LOWER[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(LOWER[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes unpadded base32 in lower case (`upper = false`) or upper case (`upper = true`).
pub fn decode(text: &str, upper: bool) -> Result<Vec<u8>, Base32Error> {
    let input = text.as_bytes();
    if matches!(input.len() % 8, 1 | 3 | 6) {
        return Err(Base32Error::InvalidLength);
    }
    let mut out = Vec::with_capacity(input.len() * 5 / 8);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for (i, &c) in input.iter().enumerate() {
        let v = match c {
            b'a'..=b'z' if !upper => c - b'a',
            b'A'..=b'Z' if upper => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return Err(Base32Error::InvalidChar(i)),
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err(Base32Error::NonCanonical);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(encode(plain.as_bytes()), enc);
            assert_eq!(decode(enc, false).unwrap(), plain.as_bytes());
            assert_eq!(decode(&enc.to_uppercase(), true).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn strict() {
        assert_eq!(decode("m", false), Err(Base32Error::InvalidLength));
        assert_eq!(decode("mz", false), Err(Base32Error::NonCanonical));
        assert_eq!(decode("MY", false), Err(Base32Error::InvalidChar(0)));
        assert_eq!(decode("my", true), Err(Base32Error::InvalidChar(0)));
        assert_eq!(decode("my==", false), Err(Base32Error::InvalidChar(2)));
        assert_eq!(decode("m1", false), Err(Base32Error::InvalidChar(1)));
        let all: Vec<u8> = (0..=255).collect();
        for n in 0..all.len() {
            assert_eq!(decode(&encode(&all[..n]), false).unwrap(), &all[..n]);
        }
    }
}
