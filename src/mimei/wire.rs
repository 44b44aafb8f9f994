//! The part of the postcard wire format that Mimei records use, written by hand.
//!
//! Postcard (postcard.jamesmunns.com/wire-format) serializes a struct as its fields in order,
//! with nothing between them. The field kinds used here:
//!
//! | kind | bytes |
//! |---|---|
//! | `u8` | the byte itself |
//! | `u64` | unsigned LEB128 varint: 7 bits per byte, low group first, high bit = more follows; 1 to 10 bytes |
//! | `[u8; N]` | the N bytes, no length (serde treats arrays as tuples) |
//! | `Vec<u8>`, `String` | varint length, then the bytes (UTF-8 for a string) |
//! | `Option<T>` | `00` for `None`, `01` then `T` for `Some` |
//! | enum | varint variant index (0, 1, ...), then the variant's fields |
//! | `Vec<T>` | varint count, then each `T` |
//!
//! **Why by hand.** The records are signed, so the exact bytes matter more than convenience:
//! the reader here refuses what postcard's own decoder would let through (padded varints,
//! a 10th varint byte above 1, lengths beyond a field's limit), so every accepted record has
//! exactly one encoding and re-encodes to the bytes that were signed. Every length is checked
//! against its limit before anything is allocated. And it saves the node serde and
//! serde_derive (a proc-macro build) for three small structs. Everything [`Writer`] produces
//! is what `postcard::to_allocvec` produces for the same struct, so other software can read
//! our records with stock postcard.

use core::fmt;

/// Longest LEB128 encoding of a `u64`.
const MAX_VARINT_LEN: usize = 10;

/// Why bytes are not a valid record encoding. `field` names what was being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    /// The input ended inside this field.
    Truncated { field: &'static str },
    /// A varint with a redundant final zero group, or whose value does not fit in 64 bits.
    BadVarint { field: &'static str },
    /// A length (or count) above the field's limit.
    TooLong { field: &'static str, max: usize },
    /// A string field that is not UTF-8.
    NotUtf8 { field: &'static str },
    /// An option or enum tag outside the values it may take.
    BadTag { field: &'static str, tag: u64 },
    /// Bytes left over after the last field.
    TrailingBytes { count: usize },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field } => write!(f, "cut short in the {field}"),
            Self::BadVarint { field } => {
                write!(f, "the {field} is not a minimal varint of at most 64 bits")
            }
            Self::TooLong { field, max } => {
                write!(f, "the {field} is longer than the limit of {max}")
            }
            Self::NotUtf8 { field } => write!(f, "the {field} is not UTF-8"),
            Self::BadTag { field, tag } => write!(f, "the {field} has an unknown tag {tag}"),
            Self::TrailingBytes { count } => {
                write!(f, "{count} unexpected bytes after the last field")
            }
        }
    }
}

/// Appends postcard fields to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer::default()
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// An unsigned LEB128 varint, always minimal.
    pub(crate) fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// A fixed-size array: the bytes alone.
    pub(crate) fn array(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A byte string or string: varint length, then the bytes.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    /// An `Option<[u8; N]>`.
    pub(crate) fn option_array(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            None => self.u8(0),
            Some(b) => {
                self.u8(1);
                self.array(b);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads postcard fields from untrusted bytes. Never panics and never allocates on the
/// strength of a length it has not checked against the input and the field's limit.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        let rest = &self.buf[self.pos..];
        if rest.len() < n {
            return Err(WireError::Truncated { field });
        }
        self.pos += n;
        Ok(&rest[..n])
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, field)?[0])
    }

    /// A minimal LEB128 varint of at most 64 bits.
    pub(crate) fn varint(&mut self, field: &'static str) -> Result<u64, WireError> {
        let mut value = 0u64;
        for i in 0..MAX_VARINT_LEN {
            let b = self.u8(field)?;
            let group = u64::from(b & 0x7f);
            // The 10th byte holds bit 63 only.
            if i == MAX_VARINT_LEN - 1 && b > 1 {
                return Err(WireError::BadVarint { field });
            }
            value |= group << (7 * i);
            if b & 0x80 == 0 {
                // A final zero group after others would be a second spelling of a smaller value.
                if b == 0 && i > 0 {
                    return Err(WireError::BadVarint { field });
                }
                return Ok(value);
            }
        }
        Err(WireError::BadVarint { field })
    }

    /// A fixed-size array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], WireError> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// A length-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], WireError> {
        let len = self.length(field, max)?;
        self.take(len, field)
    }

    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub(crate) fn str(&mut self, field: &'static str, max: usize) -> Result<&'a str, WireError> {
        let bytes = self.bytes(field, max)?;
        core::str::from_utf8(bytes).map_err(|_| WireError::NotUtf8 { field })
    }

    /// A varint length or count, checked against `max`.
    pub(crate) fn length(&mut self, field: &'static str, max: usize) -> Result<usize, WireError> {
        let len = self.varint(field)?;
        if len > max as u64 {
            return Err(WireError::TooLong { field, max });
        }
        Ok(len as usize)
    }

    /// An `Option<[u8; N]>`.
    pub(crate) fn option_array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<Option<[u8; N]>, WireError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => Ok(Some(self.array(field)?)),
            tag => Err(WireError::BadTag {
                field,
                tag: u64::from(tag),
            }),
        }
    }

    /// Succeeds only if every byte has been read.
    pub(crate) fn finish(&self) -> Result<(), WireError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            count => Err(WireError::TrailingBytes { count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: u64) -> Vec<u8> {
        let mut w = Writer::new();
        w.varint(v);
        w.into_vec()
    }

    #[test]
    fn varints_match_postcard() {
        // Values from the postcard wire-format document and LEB128 boundaries.
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(16_383), [0xff, 0x7f]);
        assert_eq!(enc(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(
            enc(u64::MAX),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX - 1, u64::MAX] {
            let bytes = enc(v);
            let mut r = Reader::new(&bytes);
            assert_eq!(r.varint("v"), Ok(v));
            assert_eq!(r.finish(), Ok(()));
        }
    }

    #[test]
    fn varints_refuse_second_spellings_and_overflow() {
        let field = "n";
        for bad in [
            &[0x80, 0x00][..],                                             // padded 0
            &[0x81, 0x80, 0x00],                                           // padded 1
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], // 2^64
            &[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1,
            ], // 11 bytes
        ] {
            assert_eq!(
                Reader::new(bad).varint(field),
                Err(WireError::BadVarint { field }),
                "{bad:02x?}"
            );
        }
        assert_eq!(
            Reader::new(&[0x80]).varint(field),
            Err(WireError::Truncated { field })
        );
    }

    #[test]
    fn lengths_are_bounded_before_reading() {
        // Claims 2^63 bytes: refused by the limit, not by trying to take them.
        let mut w = Writer::new();
        w.varint(1 << 63);
        let bytes = w.into_vec();
        assert_eq!(
            Reader::new(&bytes).bytes("cid", 128),
            Err(WireError::TooLong {
                field: "cid",
                max: 128
            })
        );
        assert_eq!(
            Reader::new(&[3, b'a']).str("mark", 8),
            Err(WireError::Truncated { field: "mark" })
        );
        assert_eq!(
            Reader::new(&[1, 0xff]).str("mark", 8),
            Err(WireError::NotUtf8 { field: "mark" })
        );
        assert_eq!(
            Reader::new(&[2]).option_array::<4>("app"),
            Err(WireError::BadTag {
                field: "app",
                tag: 2
            })
        );
    }
}
