//! The protobuf wire format, as much of it as dag-pb and UnixFS use, and [`PbError`].
//!
//! A cursor over untrusted bytes ([`Reader`]) that hands out one field at a time with checked
//! lengths and minimal varints, and the few writers the encoders need. Strictness that is
//! per-message (field order, duplicates, which fields exist) lives in `dagpb.rs` and
//! `unixfs.rs`; this file only knows tags, varints and lengths.

use super::cid::CidError;
use super::varint::{self, VarintError};
use core::fmt;

/// Wire type of a varint field.
pub const VARINT: u8 = 0;
/// Wire type of a length-delimited field (bytes, strings, embedded messages).
pub const LEN: u8 = 2;
/// Wire type of a 32-bit fixed-width field.
pub const FIXED32: u8 = 5;

/// Why a dag-pb or UnixFS block does not decode (or a value cannot be encoded).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbError {
    /// The bytes end inside a field of this message.
    Truncated {
        /// The message being read (`PBNode`, `PBLink`, `Data`, `UnixTime`).
        message: &'static str,
    },
    /// A field key or value varint is malformed.
    Varint {
        /// The message being read.
        message: &'static str,
        /// What is wrong with it.
        err: VarintError,
    },
    /// A field number the message does not define.
    UnknownField {
        /// The message being read.
        message: &'static str,
        /// The field number found.
        field: u64,
    },
    /// A defined field with the wrong wire type.
    WrongWireType {
        /// The message being read.
        message: &'static str,
        /// The field number.
        field: u64,
        /// The wire type found.
        wire_type: u8,
    },
    /// A non-repeated field given twice.
    Duplicate {
        /// The message being read.
        message: &'static str,
        /// The field's name.
        field: &'static str,
    },
    /// Fields out of the canonical order.
    OutOfOrder {
        /// The message being read.
        message: &'static str,
        /// The field found too late.
        field: &'static str,
    },
    /// A required field is absent.
    Missing {
        /// The message being read.
        message: &'static str,
        /// The field's name.
        field: &'static str,
    },
    /// A field whose value is not allowed.
    Invalid {
        /// The message being read.
        message: &'static str,
        /// The field's name.
        field: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// A link's `Hash` is not a CID this node understands.
    BadCid(CidError),
}

impl fmt::Display for PbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { message } => write!(f, "{message}: cut short"),
            Self::Varint { message, err } => write!(f, "{message}: {err}"),
            Self::UnknownField { message, field } => {
                write!(f, "{message}: unknown field number {field}")
            }
            Self::WrongWireType {
                message,
                field,
                wire_type,
            } => write!(
                f,
                "{message}: field {field} has wrong wire type {wire_type}"
            ),
            Self::Duplicate { message, field } => write!(f, "{message}: duplicate {field}"),
            Self::OutOfOrder { message, field } => write!(f, "{message}: {field} out of order"),
            Self::Missing { message, field } => write!(f, "{message}: missing {field}"),
            Self::Invalid {
                message,
                field,
                reason,
            } => write!(f, "{message}: invalid {field}: {reason}"),
            Self::BadCid(e) => write!(f, "PBLink: bad Hash: {e}"),
        }
    }
}

impl std::error::Error for PbError {}

impl From<CidError> for PbError {
    fn from(e: CidError) -> Self {
        Self::BadCid(e)
    }
}

/// A cursor over one protobuf message.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, which holds one `message` (named in errors).
    pub fn new(buf: &'a [u8], message: &'static str) -> Self {
        Self {
            buf,
            pos: 0,
            message,
        }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn raw_varint(&mut self) -> Result<u64, PbError> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        let (v, n) = varint::decode_protobuf(rest).map_err(|err| match err {
            VarintError::Truncated => PbError::Truncated {
                message: self.message,
            },
            err => PbError::Varint {
                message: self.message,
                err,
            },
        })?;
        self.pos += n;
        Ok(v)
    }

    /// The next field's number and wire type. Field number 0 and numbers past `u32` are
    /// reported as unknown fields.
    pub fn key(&mut self) -> Result<(u64, u8), PbError> {
        let key = self.raw_varint()?;
        let field = key >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(PbError::UnknownField {
                message: self.message,
                field,
            });
        }
        Ok((field, (key & 7) as u8))
    }

    /// Checks that `field` came with `expected` wire type.
    pub fn expect(&self, field: u64, wire_type: u8, expected: u8) -> Result<(), PbError> {
        if wire_type == expected {
            Ok(())
        } else {
            Err(PbError::WrongWireType {
                message: self.message,
                field,
                wire_type,
            })
        }
    }

    /// A varint field's value.
    pub fn varint(&mut self) -> Result<u64, PbError> {
        self.raw_varint()
    }

    /// A length-delimited field's bytes, borrowed from the input.
    pub fn bytes(&mut self) -> Result<&'a [u8], PbError> {
        let len = self.raw_varint()?;
        let truncated = PbError::Truncated {
            message: self.message,
        };
        let len = usize::try_from(len).map_err(|_| truncated.clone())?;
        let end = self.pos.checked_add(len).ok_or(truncated.clone())?;
        let bytes = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    /// A fixed32 field's value.
    pub fn fixed32(&mut self) -> Result<u32, PbError> {
        let b = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or(PbError::Truncated {
                message: self.message,
            })?;
        self.pos += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Appends a field key.
pub fn write_key(field: u32, wire_type: u8, out: &mut Vec<u8>) {
    varint::write(u64::from(field) << 3 | u64::from(wire_type), out);
}

/// Appends a varint field.
pub fn write_varint_field(field: u32, value: u64, out: &mut Vec<u8>) {
    write_key(field, VARINT, out);
    varint::write(value, out);
}

/// Appends the key and length of a length-delimited field; the caller appends the body.
pub fn write_len_prefix(field: u32, len: usize, out: &mut Vec<u8>) {
    write_key(field, LEN, out);
    varint::write(len as u64, out);
}

/// Appends a length-delimited field.
pub fn write_bytes_field(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    write_len_prefix(field, bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// Encoded size of a varint field.
pub fn varint_field_len(field: u32, value: u64) -> usize {
    varint::encoded_len(u64::from(field) << 3) + varint::encoded_len(value)
}

/// Encoded size of a length-delimited field with a body of `len` bytes.
pub fn bytes_field_len(field: u32, len: usize) -> usize {
    varint::encoded_len(u64::from(field) << 3) + varint::encoded_len(len as u64) + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_writers_write() {
        let mut out = Vec::new();
        write_varint_field(3, 300, &mut out);
        write_bytes_field(2, b"abc", &mut out);
        out.extend_from_slice(&[0x15, 1, 0, 0, 0]); // field 2, fixed32
        assert_eq!(
            out.len(),
            varint_field_len(3, 300) + bytes_field_len(2, 3) + 5
        );
        let mut r = Reader::new(&out, "T");
        assert_eq!(r.key(), Ok((3, VARINT)));
        assert_eq!(r.varint(), Ok(300));
        assert_eq!(r.key(), Ok((2, LEN)));
        assert_eq!(r.bytes(), Ok(&b"abc"[..]));
        assert_eq!(r.key(), Ok((2, FIXED32)));
        assert_eq!(r.fixed32(), Ok(1));
        assert!(r.is_empty());
    }

    #[test]
    fn bounds_are_checked() {
        let mut r = Reader::new(&[0x0a, 0x05, 1, 2], "T");
        r.key().unwrap();
        assert_eq!(r.bytes(), Err(PbError::Truncated { message: "T" }));
        let mut r = Reader::new(
            &[
                0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            "T",
        );
        r.key().unwrap();
        assert!(r.bytes().is_err());
        let mut r = Reader::new(&[0x00], "T");
        assert_eq!(
            r.key(),
            Err(PbError::UnknownField {
                message: "T",
                field: 0
            })
        );
        let mut r = Reader::new(&[0x15, 1, 2], "T");
        r.key().unwrap();
        assert!(r.fixed32().is_err());
    }
}
