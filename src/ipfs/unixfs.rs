//! UnixFS: the `Data` protobuf inside a dag-pb node that says what the node is (file,
//! directory, symlink, HAMT shard...) and how big its parts are.
//!
//! ```text
//! message Data {
//!   required DataType Type = 1;      // Raw 0, Directory 1, File 2, Metadata 3, Symlink 4, HAMTShard 5
//!   optional bytes    Data = 2;      // file bytes in this node, symlink target, HAMT bitfield
//!   optional uint64   filesize = 3;
//!   repeated uint64   blocksizes = 4;  // file bytes under each link, unpacked
//!   optional uint64   hashType = 5;  // HAMT
//!   optional uint64   fanout = 6;    // HAMT
//!   optional uint32   mode = 7;
//!   optional UnixTime mtime = 8;     // { required int64 Seconds = 1; optional fixed32 FractionalNanoseconds = 2; }
//! }
//! ```
//!
//! Encoding is in field-number order with unpacked `blocksizes`, as go-unixfs and js-ipfs-unixfs
//! both write it. Decoding is as strict as `dagpb.rs`: fields in increasing order (only
//! `blocksizes` may repeat), known fields only, right wire types, minimal varints, values in
//! range. `UnixTime` is the only nested message, read with a second flat loop.

use super::proto::{self, FIXED32, LEN, PbError, Reader, VARINT};

const DATA: &str = "Data";
const TIME: &str = "UnixTime";

/// What a UnixFS node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// A file chunk (what kubo's trickle layout uses for its leaves).
    Raw = 0,
    /// A directory whose entries are the node's named links.
    Directory = 1,
    /// A file or part of one: bytes in `data`, then the bytes under each link.
    File = 2,
    /// Metadata (unused by kubo).
    Metadata = 3,
    /// A symbolic link; `data` is the target.
    Symlink = 4,
    /// A HAMT-sharded directory node.
    HamtShard = 5,
}

impl DataType {
    fn from_u64(v: u64) -> Option<Self> {
        Some(match v {
            0 => Self::Raw,
            1 => Self::Directory,
            2 => Self::File,
            3 => Self::Metadata,
            4 => Self::Symlink,
            5 => Self::HamtShard,
            _ => return None,
        })
    }
}

/// A modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnixTime {
    /// Seconds since the Unix epoch (may be negative).
    pub seconds: i64,
    /// Nanoseconds, 1..=999_999_999 when present (the spec forbids 0: omit it instead).
    pub nanos: Option<u32>,
}

/// The UnixFS `Data` message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnixFs {
    /// The node type.
    pub kind: DataType,
    /// Inline bytes (absent and empty encode differently).
    pub data: Option<Vec<u8>>,
    /// Total file bytes under this node.
    pub filesize: Option<u64>,
    /// File bytes under each link, in link order.
    pub blocksizes: Vec<u64>,
    /// HAMT hash function (0x22 murmur3-x64-64).
    pub hash_type: Option<u64>,
    /// HAMT fanout.
    pub fanout: Option<u64>,
    /// Unix permission bits.
    pub mode: Option<u32>,
    /// Modification time.
    pub mtime: Option<UnixTime>,
}

impl UnixFs {
    /// A node of `kind` with every optional field absent.
    pub fn new(kind: DataType) -> Self {
        Self {
            kind,
            data: None,
            filesize: None,
            blocksizes: Vec::new(),
            hash_type: None,
            fanout: None,
            mode: None,
            mtime: None,
        }
    }

    /// A plain directory node (what kubo writes: type only).
    pub fn directory() -> Self {
        Self::new(DataType::Directory)
    }

    fn mtime_len(t: &UnixTime) -> usize {
        proto::varint_field_len(1, t.seconds as u64) + t.nanos.map_or(0, |_| 5)
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        let mut n = proto::varint_field_len(1, self.kind as u64);
        n += self
            .data
            .as_ref()
            .map_or(0, |d| proto::bytes_field_len(2, d.len()));
        n += self.filesize.map_or(0, |v| proto::varint_field_len(3, v));
        n += self
            .blocksizes
            .iter()
            .map(|&b| proto::varint_field_len(4, b))
            .sum::<usize>();
        n += self.hash_type.map_or(0, |v| proto::varint_field_len(5, v));
        n += self.fanout.map_or(0, |v| proto::varint_field_len(6, v));
        n += self
            .mode
            .map_or(0, |v| proto::varint_field_len(7, u64::from(v)));
        n += self
            .mtime
            .as_ref()
            .map_or(0, |t| proto::bytes_field_len(8, Self::mtime_len(t)));
        n
    }

    /// Appends the encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        proto::write_varint_field(1, self.kind as u64, out);
        if let Some(d) = &self.data {
            proto::write_bytes_field(2, d, out);
        }
        if let Some(v) = self.filesize {
            proto::write_varint_field(3, v, out);
        }
        for &b in &self.blocksizes {
            proto::write_varint_field(4, b, out);
        }
        if let Some(v) = self.hash_type {
            proto::write_varint_field(5, v, out);
        }
        if let Some(v) = self.fanout {
            proto::write_varint_field(6, v, out);
        }
        if let Some(v) = self.mode {
            proto::write_varint_field(7, u64::from(v), out);
        }
        if let Some(t) = &self.mtime {
            proto::write_len_prefix(8, Self::mtime_len(t), out);
            // int64 is a 10-byte varint when negative, as protobuf says.
            proto::write_varint_field(1, t.seconds as u64, out);
            if let Some(ns) = t.nanos {
                proto::write_key(2, FIXED32, out);
                out.extend_from_slice(&ns.to_le_bytes());
            }
        }
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Decodes strictly (see the module doc).
    pub fn decode(bytes: &[u8]) -> Result<Self, PbError> {
        let (mut node, data) = Self::decode_borrowed(bytes)?;
        node.data = data.map(<[u8]>::to_vec);
        Ok(node)
    }

    /// [`UnixFs::decode`] that leaves the `Data` field inside `bytes`: the node without it
    /// (`data` is `None`) and the field as a slice, so a leaf's bytes are not copied.
    pub fn decode_borrowed(bytes: &[u8]) -> Result<(Self, Option<&[u8]>), PbError> {
        let mut r = Reader::new(bytes, DATA);
        let mut node = Self::new(DataType::Raw);
        let mut data = None;
        let mut seen_type = false;
        let mut last = 0u64;
        while !r.is_empty() {
            let (field, wt) = r.key()?;
            let name = match field {
                1 => "Type",
                2 => "Data",
                3 => "filesize",
                4 => "blocksizes",
                5 => "hashType",
                6 => "fanout",
                7 => "mode",
                8 => "mtime",
                _ => {
                    return Err(PbError::UnknownField {
                        message: DATA,
                        field,
                    });
                }
            };
            if field == last && field != 4 {
                return Err(PbError::Duplicate {
                    message: DATA,
                    field: name,
                });
            }
            if field < last {
                return Err(PbError::OutOfOrder {
                    message: DATA,
                    field: name,
                });
            }
            last = field;
            let expected = match field {
                2 | 8 => LEN,
                _ => VARINT,
            };
            r.expect(field, wt, expected)?;
            match field {
                1 => {
                    let v = r.varint()?;
                    node.kind = DataType::from_u64(v).ok_or(PbError::Invalid {
                        message: DATA,
                        field: name,
                        reason: "unknown node type",
                    })?;
                    seen_type = true;
                }
                2 => data = Some(r.bytes()?),
                3 => node.filesize = Some(r.varint()?),
                4 => node.blocksizes.push(r.varint()?),
                5 => node.hash_type = Some(r.varint()?),
                6 => node.fanout = Some(r.varint()?),
                7 => {
                    let v = r.varint()?;
                    node.mode = Some(u32::try_from(v).map_err(|_| PbError::Invalid {
                        message: DATA,
                        field: name,
                        reason: "more than 32 bits",
                    })?);
                }
                _ => node.mtime = Some(decode_time(r.bytes()?)?),
            }
        }
        if !seen_type {
            return Err(PbError::Missing {
                message: DATA,
                field: "Type",
            });
        }
        Ok((node, data))
    }
}

fn decode_time(bytes: &[u8]) -> Result<UnixTime, PbError> {
    let mut r = Reader::new(bytes, TIME);
    let mut seconds = None;
    let mut nanos = None;
    let mut last = 0u64;
    while !r.is_empty() {
        let (field, wt) = r.key()?;
        let name = match field {
            1 => "Seconds",
            2 => "FractionalNanoseconds",
            _ => {
                return Err(PbError::UnknownField {
                    message: TIME,
                    field,
                });
            }
        };
        if field == last {
            return Err(PbError::Duplicate {
                message: TIME,
                field: name,
            });
        }
        if field < last {
            return Err(PbError::OutOfOrder {
                message: TIME,
                field: name,
            });
        }
        last = field;
        if field == 1 {
            r.expect(field, wt, VARINT)?;
            seconds = Some(r.varint()? as i64);
        } else {
            r.expect(field, wt, FIXED32)?;
            let ns = r.fixed32()?;
            if ns == 0 || ns > 999_999_999 {
                return Err(PbError::Invalid {
                    message: TIME,
                    field: name,
                    reason: "must be 1..=999999999",
                });
            }
            nanos = Some(ns);
        }
    }
    let seconds = seconds.ok_or(PbError::Missing {
        message: TIME,
        field: "Seconds",
    })?;
    Ok(UnixTime { seconds, nanos })
}

/// Encoded length of the `Data` of a file leaf holding `len` bytes of `kind` (File or Raw).
pub fn leaf_data_len(len: usize) -> usize {
    proto::varint_field_len(1, 0)
        + if len == 0 {
            0
        } else {
            proto::bytes_field_len(2, len)
        }
        + proto::varint_field_len(3, len as u64)
}

/// Appends the `Data` of a file leaf: `Type`, the bytes (omitted when empty, as go-unixfs does
/// for the empty file) and `filesize`. Same bytes as [`UnixFs::encode_into`] on such a node,
/// without copying the chunk twice.
pub fn write_leaf_data(kind: DataType, chunk: &[u8], out: &mut Vec<u8>) {
    write_leaf_head(kind, chunk.len(), out);
    out.extend_from_slice(chunk);
    write_leaf_tail(chunk.len(), out);
}

/// Appends what comes before the bytes in the `Data` of a file leaf of `len` bytes (see
/// [`write_leaf_data`]), so the bytes can be appended straight after it.
pub fn write_leaf_head(kind: DataType, len: usize, out: &mut Vec<u8>) {
    proto::write_varint_field(1, kind as u64, out);
    if len > 0 {
        proto::write_len_prefix(2, len, out);
    }
}

/// Appends what comes after the bytes in the `Data` of a file leaf of `len` bytes.
pub fn write_leaf_tail(len: usize, out: &mut Vec<u8>) {
    proto::write_varint_field(3, len as u64, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> UnixFs {
        UnixFs {
            kind: DataType::HamtShard,
            data: Some(vec![1, 2, 3]),
            filesize: Some(1 << 40),
            blocksizes: vec![262144, 262144, 17],
            hash_type: Some(0x22),
            fanout: Some(256),
            mode: Some(0o755),
            mtime: Some(UnixTime {
                seconds: -5,
                nanos: Some(999_999_999),
            }),
        }
    }

    #[test]
    fn known_encodings() {
        // go-unixfs: the empty file, "hello world\n" leaf, an empty directory.
        let mut empty = UnixFs::new(DataType::File);
        empty.filesize = Some(0);
        assert_eq!(empty.encode(), [0x08, 0x02, 0x18, 0x00]);
        assert_eq!(UnixFs::directory().encode(), [0x08, 0x01]);
        let mut out = Vec::new();
        write_leaf_data(DataType::File, b"hi", &mut out);
        assert_eq!(out, [0x08, 0x02, 0x12, 0x02, b'h', b'i', 0x18, 0x02]);
        assert_eq!(out.len(), leaf_data_len(2));
        let mut leaf = UnixFs::new(DataType::File);
        leaf.data = Some(b"hi".to_vec());
        leaf.filesize = Some(2);
        assert_eq!(leaf.encode(), out);
        let mut e = Vec::new();
        write_leaf_data(DataType::File, b"", &mut e);
        assert_eq!(e, empty.encode());
        assert_eq!(e.len(), leaf_data_len(0));
    }

    #[test]
    fn round_trip() {
        let n = full();
        let b = n.encode();
        assert_eq!(b.len(), n.encoded_len());
        assert_eq!(UnixFs::decode(&b), Ok(n));
        let mut t = UnixFs::new(DataType::Symlink);
        t.mtime = Some(UnixTime {
            seconds: 1_700_000_000,
            nanos: None,
        });
        assert_eq!(UnixFs::decode(&t.encode()), Ok(t));
    }

    #[test]
    fn strictness() {
        assert!(matches!(UnixFs::decode(&[]), Err(PbError::Missing { .. })));
        assert!(matches!(
            UnixFs::decode(&[0x08, 0x06]),
            Err(PbError::Invalid { .. })
        ));
        assert!(matches!(
            UnixFs::decode(&[0x08, 2, 0x08, 2]),
            Err(PbError::Duplicate { .. })
        ));
        assert!(matches!(
            UnixFs::decode(&[0x18, 0, 0x08, 2]),
            Err(PbError::OutOfOrder { .. })
        ));
        assert!(matches!(
            UnixFs::decode(&[0x08, 2, 0x48, 0]),
            Err(PbError::UnknownField { .. })
        ));
        // Packed blocksizes (wire type 2) are not what kubo writes.
        assert!(matches!(
            UnixFs::decode(&[0x08, 2, 0x22, 1, 5]),
            Err(PbError::WrongWireType { .. })
        ));
        assert!(UnixFs::decode(&[0x08, 2, 0x20, 1, 0x20, 2]).is_ok());
        assert!(matches!(
            UnixFs::decode(&[0x08, 2, 0x38, 0x80, 0x80, 0x80, 0x80, 0x10]),
            Err(PbError::Invalid { .. })
        ));
        // Zero nanoseconds must be omitted, not written.
        assert!(matches!(
            UnixFs::decode(&[0x08, 2, 0x42, 7, 0x08, 1, 0x15, 0, 0, 0, 0]),
            Err(PbError::Invalid { .. })
        ));
        assert!(matches!(
            UnixFs::decode(&[0x08, 2, 0x42, 0]),
            Err(PbError::Missing { .. })
        ));
    }

    #[test]
    fn prefixes_and_mutations_never_panic() {
        let b = full().encode();
        for cut in 0..b.len() {
            let _ = UnixFs::decode(&b[..cut]);
        }
        let mut s = 0x1234_5678_9abc_def1u64;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let mut m = b.clone();
            let i = (s % m.len() as u64) as usize;
            m[i] = (s >> 40) as u8;
            if let Ok(n) = UnixFs::decode(&m) {
                assert_eq!(n.encode(), m, "strict decode must mean canonical bytes");
            }
        }
    }
}
