//! Text encodings of identity bytes: base64url without padding (Leither IDs, key seeds, passes)
//! and base58btc (libp2p PeerIds).
//!
//! Both decoders are strict so that every accepted string has exactly one byte value and every
//! byte value exactly one string: base64url rejects padding, characters outside its alphabet and
//! a final character whose unused low bits are not zero; base58btc is canonical by construction.
//! Base58 is quadratic in its length, so both of its directions refuse inputs longer than
//! [`BASE58_MAX_BYTES`] bytes (about [`BASE58_MAX_CHARS`] characters): a PeerId is 38 bytes.

use core::fmt;

const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Longest byte string that [`base58_encode`] accepts and [`base58_decode`] returns.
pub const BASE58_MAX_BYTES: usize = 64;
/// Longest text [`base58_decode`] looks at: 64 bytes need at most 88 base58 digits.
pub const BASE58_MAX_CHARS: usize = 88;

/// Why a string is not a valid encoding (or a value is too long to encode).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingError {
    /// A character outside the alphabet, at this character position (0-based).
    InvalidChar {
        /// Position of the character, counted in characters from 0.
        pos: usize,
        /// The offending character.
        ch: char,
    },
    /// A base64url text whose length leaves a lone 6-bit group (length % 4 == 1).
    InvalidLength {
        /// The length of the text in characters.
        len: usize,
    },
    /// The last base64url character carries non-zero bits that no byte uses, so the text is not
    /// the canonical encoding of any value.
    NonCanonical,
    /// The input is longer than the limit for this encoding.
    TooLong {
        /// The limit that was exceeded (characters for decoding, bytes for encoding).
        max: usize,
    },
}

impl fmt::Display for EncodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidChar { pos, ch } => {
                write!(f, "invalid character {:?} at position {pos}", ch)
            }
            Self::InvalidLength { len } => {
                write!(
                    f,
                    "length {len} is impossible for this encoding (text cut short?)"
                )
            }
            Self::NonCanonical => f.write_str("last character has stray low bits (not canonical)"),
            Self::TooLong { max } => write!(f, "longer than the limit of {max}"),
        }
    }
}

impl std::error::Error for EncodingError {}

/// Encodes `bytes` as base64url (RFC 4648 §5) without `=` padding.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // A chunk of k bytes yields k + 1 characters; the rest would be padding, which we omit.
        for i in 0..=chunk.len() {
            let sextet = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(B64_ALPHABET[sextet as usize]));
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Position and character of the first invalid byte of `s` at byte index `i`, for errors.
fn invalid_char_at(s: &str, i: usize) -> EncodingError {
    let pos = s.get(..i).map_or(i, |p| p.chars().count());
    let ch = s
        .get(i..)
        .and_then(|r| r.chars().next())
        .unwrap_or('\u{fffd}');
    EncodingError::InvalidChar { pos, ch }
}

/// Decodes unpadded base64url, strictly: no padding, no whitespace, only `A-Z a-z 0-9 - _`, and
/// the final character's unused bits must be zero.
pub fn base64url_decode(s: &str) -> Result<Vec<u8>, EncodingError> {
    let bytes = s.as_bytes();
    if let Some(i) = bytes.iter().position(|&c| b64_value(c).is_none()) {
        return Err(invalid_char_at(s, i));
    }
    if bytes.len() % 4 == 1 {
        return Err(EncodingError::InvalidLength { len: bytes.len() });
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (j, &c) in chunk.iter().enumerate() {
            // Every byte was checked above; 0 is never reached.
            let v = b64_value(c).unwrap_or(0);
            n |= v << (18 - 6 * j);
        }
        // A chunk of k characters carries k - 1 whole bytes.
        let full = chunk.len() - 1;
        let value = n.to_be_bytes();
        out.extend_from_slice(&value[1..1 + full]);
        let unused_mask = match full {
            1 => 0xffff,
            2 => 0xff,
            _ => 0,
        };
        if n & unused_mask != 0 {
            return Err(EncodingError::NonCanonical);
        }
    }
    Ok(out)
}

/// Encodes `bytes` (at most [`BASE58_MAX_BYTES`]) in base58 with the bitcoin alphabet: each
/// leading zero byte becomes a `1`, the rest is the big-endian number in base 58.
pub fn base58_encode(bytes: &[u8]) -> Result<String, EncodingError> {
    if bytes.len() > BASE58_MAX_BYTES {
        return Err(EncodingError::TooLong {
            max: BASE58_MAX_BYTES,
        });
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    // Little-endian base-58 digits of the number, grown as needed; at most 88 of them.
    let mut digits = [0u8; BASE58_MAX_CHARS];
    let mut used = 0usize;
    for &b in &bytes[zeros..] {
        let mut carry = u32::from(b);
        for d in digits.iter_mut().take(used) {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits[used] = (carry % 58) as u8;
            used += 1;
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + used);
    out.extend(core::iter::repeat_n('1', zeros));
    out.extend(
        digits[..used]
            .iter()
            .rev()
            .map(|&d| char::from(B58_ALPHABET[d as usize])),
    );
    Ok(out)
}

fn b58_value(c: u8) -> Option<u32> {
    B58_ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Decodes bitcoin-alphabet base58 (at most [`BASE58_MAX_CHARS`] characters, decoding to at most
/// [`BASE58_MAX_BYTES`] bytes). The empty string decodes to no bytes.
pub fn base58_decode(s: &str) -> Result<Vec<u8>, EncodingError> {
    let input = s.as_bytes();
    if input.len() > BASE58_MAX_CHARS {
        return Err(EncodingError::TooLong {
            max: BASE58_MAX_CHARS,
        });
    }
    let ones = input.iter().take_while(|&&c| c == b'1').count();
    // Little-endian base-256 bytes of the number.
    let mut num = [0u8; BASE58_MAX_CHARS];
    let mut used = 0usize;
    for (i, &c) in input.iter().enumerate().skip(ones) {
        let mut carry = b58_value(c).ok_or_else(|| invalid_char_at(s, i))?;
        for byte in num.iter_mut().take(used) {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            // 88 base58 digits never exceed 88 bytes, so `used` stays in bounds.
            num[used] = (carry & 0xff) as u8;
            used += 1;
            carry >>= 8;
        }
    }
    if ones + used > BASE58_MAX_BYTES {
        return Err(EncodingError::TooLong {
            max: BASE58_MAX_CHARS,
        });
    }
    let mut out = vec![0u8; ones];
    out.extend(num[..used].iter().rev());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_rfc4648_vectors() {
        // RFC 4648 §10 vectors with the padding removed.
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(base64url_encode(plain.as_bytes()), enc);
            assert_eq!(base64url_decode(enc).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn base64url_uses_url_alphabet() {
        assert_eq!(base64url_encode(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(base64url_decode("-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn base64url_rejects_standard_alphabet_padding_and_spaces() {
        for (bad, pos, ch) in [
            ("+w", 0, '+'),
            ("a/", 1, '/'),
            ("Zg==", 2, '='),
            ("Zm 9", 2, ' '),
        ] {
            assert_eq!(
                base64url_decode(bad),
                Err(EncodingError::InvalidChar { pos, ch }),
                "{bad}"
            );
        }
        assert_eq!(
            base64url_decode("Zé"),
            Err(EncodingError::InvalidChar { pos: 1, ch: 'é' })
        );
    }

    #[test]
    fn base64url_rejects_impossible_length() {
        assert_eq!(
            base64url_decode("Z"),
            Err(EncodingError::InvalidLength { len: 1 })
        );
        assert_eq!(
            base64url_decode("Zm9vY"),
            Err(EncodingError::InvalidLength { len: 5 })
        );
    }

    #[test]
    fn base64url_rejects_non_canonical_tail() {
        // "Zg" is 'f'; "Zh" sets an unused bit in the last character.
        assert_eq!(base64url_decode("Zh"), Err(EncodingError::NonCanonical));
        assert_eq!(base64url_decode("Zm9"), Err(EncodingError::NonCanonical));
        assert!(base64url_decode("Zm8").is_ok());
    }

    #[test]
    fn base64url_round_trips_all_lengths() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..data.len() {
            let enc = base64url_encode(&data[..n]);
            assert_eq!(base64url_decode(&enc).unwrap(), &data[..n]);
        }
    }

    #[test]
    fn base58_known_vectors() {
        // From the base58 IETF draft (draft-msporny-base58) and bitcoin's base58 test data.
        let cases: [(&[u8], &str); 6] = [
            (b"", ""),
            (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
            (
                b"The quick brown fox jumps over the lazy dog.",
                "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
            ),
            (&[0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd], "11233QC4"),
            (&[0x00], "1"),
            (&[0x61], "2g"),
        ];
        for (bytes, text) in cases {
            assert_eq!(base58_encode(bytes).unwrap(), text);
            assert_eq!(base58_decode(text).unwrap(), bytes);
        }
    }

    #[test]
    fn base58_rejects_bad_chars() {
        for (bad, pos, ch) in [
            ("0", 0, '0'),
            ("1O", 1, 'O'),
            ("2I", 1, 'I'),
            ("2l", 1, 'l'),
        ] {
            assert_eq!(
                base58_decode(bad),
                Err(EncodingError::InvalidChar { pos, ch }),
                "{bad}"
            );
        }
        assert_eq!(
            base58_decode("2€"),
            Err(EncodingError::InvalidChar { pos: 1, ch: '€' })
        );
    }

    #[test]
    fn base58_bounds() {
        let max = [0xffu8; BASE58_MAX_BYTES];
        let enc = base58_encode(&max).unwrap();
        assert!(enc.len() <= BASE58_MAX_CHARS);
        assert_eq!(base58_decode(&enc).unwrap(), max);
        assert!(matches!(
            base58_encode(&[1u8; 65]),
            Err(EncodingError::TooLong { .. })
        ));
        assert!(matches!(
            base58_decode(&"z".repeat(89)),
            Err(EncodingError::TooLong { .. })
        ));
        // 88 digits can exceed 64 bytes of value, and 65 leading '1's are 65 zero bytes.
        assert!(matches!(
            base58_decode(&"z".repeat(88)),
            Err(EncodingError::TooLong { .. })
        ));
        assert!(matches!(
            base58_decode(&"1".repeat(65)),
            Err(EncodingError::TooLong { .. })
        ));
    }

    #[test]
    fn base58_round_trips_with_leading_zeros() {
        for zeros in 0..4 {
            for tail in [&[][..], &[1], &[0xff, 0x00, 0x01], &[0x80; 40]] {
                let mut v = vec![0u8; zeros];
                v.extend_from_slice(tail);
                let enc = base58_encode(&v).unwrap();
                assert_eq!(base58_decode(&enc).unwrap(), v);
            }
        }
    }
}
