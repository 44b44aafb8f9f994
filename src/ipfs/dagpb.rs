//! dag-pb: the [`PbNode`]/[`PbLink`] protobuf that carries every UnixFS node.
//!
//! Encoding follows the dag-pb spec byte for byte, because the CID is the hash of these bytes:
//! all `Links` (field 2) first, then `Data` (field 1) if present (even when empty); inside a
//! link `Hash` (1), `Name` (2) if present (kubo writes `""` for file chunks), `Tsize` (3) if
//! present. Links are written in the order given: sorting directory entries is `dir.rs`'s job.
//!
//! Decoding is strict as the spec asks: link fields only in order 1, 2, 3 and `Hash` required;
//! `Data` and `Links` in either order but neither split nor repeated; unknown field numbers,
//! wrong wire types, duplicates, non-UTF-8 names, padded varints and `Hash` bytes that are not
//! a CID are all refused. The decoder is a loop over a flat buffer: nothing recursive, and it
//! allocates no more than the input holds.

use super::cid::Cid;
use super::proto::{self, LEN, PbError, Reader, VARINT};

const NODE: &str = "PBNode";
const LINK: &str = "PBLink";

/// A link from one dag-pb node to another block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbLink {
    /// The target block.
    pub hash: Cid,
    /// The entry name (directories) or `Some("")` (file chunks, as kubo writes them).
    pub name: Option<String>,
    /// Cumulative size of the target: its block plus everything it links to.
    pub tsize: Option<u64>,
}

/// A dag-pb node: links and optional opaque data (for UnixFS, an encoded `Data` message).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PbNode {
    /// The links, in block order.
    pub links: Vec<PbLink>,
    /// The data, if present (absent and empty are different blocks).
    pub data: Option<Vec<u8>>,
}

impl PbLink {
    /// A link as kubo writes it for a file chunk: empty name, with size.
    pub fn unnamed(hash: Cid, tsize: u64) -> Self {
        Self {
            hash,
            name: Some(String::new()),
            tsize: Some(tsize),
        }
    }

    fn body_len(&self) -> usize {
        let mut n = proto::bytes_field_len(1, self.hash.encoded_len());
        if let Some(name) = &self.name {
            n += proto::bytes_field_len(2, name.len());
        }
        if let Some(t) = self.tsize {
            n += proto::varint_field_len(3, t);
        }
        n
    }

    fn write(&self, out: &mut Vec<u8>) {
        proto::write_len_prefix(2, self.body_len(), out);
        proto::write_len_prefix(1, self.hash.encoded_len(), out);
        self.hash.write_bytes(out);
        if let Some(name) = &self.name {
            proto::write_bytes_field(2, name.as_bytes(), out);
        }
        if let Some(t) = self.tsize {
            proto::write_varint_field(3, t, out);
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self, PbError> {
        let mut r = Reader::new(bytes, LINK);
        let mut hash = None;
        let mut name = None;
        let mut tsize = None;
        // Highest field number seen so far: fields must come in strictly increasing order.
        let mut last = 0u64;
        while !r.is_empty() {
            let (field, wt) = r.key()?;
            let fname = match field {
                1 => "Hash",
                2 => "Name",
                3 => "Tsize",
                _ => {
                    return Err(PbError::UnknownField {
                        message: LINK,
                        field,
                    });
                }
            };
            if field == last {
                return Err(PbError::Duplicate {
                    message: LINK,
                    field: fname,
                });
            }
            if field < last {
                return Err(PbError::OutOfOrder {
                    message: LINK,
                    field: fname,
                });
            }
            last = field;
            match field {
                1 => {
                    r.expect(field, wt, LEN)?;
                    hash = Some(Cid::from_bytes(r.bytes()?)?);
                }
                2 => {
                    r.expect(field, wt, LEN)?;
                    let s = core::str::from_utf8(r.bytes()?).map_err(|_| PbError::Invalid {
                        message: LINK,
                        field: "Name",
                        reason: "not UTF-8",
                    })?;
                    name = Some(s.to_owned());
                }
                _ => {
                    r.expect(field, wt, VARINT)?;
                    tsize = Some(r.varint()?);
                }
            }
        }
        let hash = hash.ok_or(PbError::Missing {
            message: LINK,
            field: "Hash",
        })?;
        Ok(Self { hash, name, tsize })
    }
}

impl PbNode {
    /// Length of the encoded node.
    pub fn encoded_len(&self) -> usize {
        let links: usize = self
            .links
            .iter()
            .map(|l| proto::bytes_field_len(2, l.body_len()))
            .sum();
        links
            + self
                .data
                .as_ref()
                .map_or(0, |d| proto::bytes_field_len(1, d.len()))
    }

    /// Appends the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for link in &self.links {
            link.write(out);
        }
        if let Some(data) = &self.data {
            proto::write_bytes_field(1, data, out);
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Decodes a block strictly (see the module doc).
    pub fn decode(bytes: &[u8]) -> Result<Self, PbError> {
        let (links, data) = Self::decode_borrowed(bytes)?;
        Ok(Self {
            links,
            data: data.map(<[u8]>::to_vec),
        })
    }

    /// [`PbNode::decode`] that leaves the data inside `bytes`: the links and the `Data` field
    /// as a slice of the block, so a file's leaf is read without copying its bytes.
    pub fn decode_borrowed(bytes: &[u8]) -> Result<(Vec<PbLink>, Option<&[u8]>), PbError> {
        let mut r = Reader::new(bytes, NODE);
        let mut links = Vec::new();
        let mut data = None;
        // Links may come before or after Data, but as one run.
        let mut links_done = false;
        while !r.is_empty() {
            let (field, wt) = r.key()?;
            match field {
                1 => {
                    r.expect(field, wt, LEN)?;
                    if data.is_some() {
                        return Err(PbError::Duplicate {
                            message: NODE,
                            field: "Data",
                        });
                    }
                    data = Some(r.bytes()?);
                    links_done = !links.is_empty();
                }
                2 => {
                    r.expect(field, wt, LEN)?;
                    if links_done {
                        return Err(PbError::OutOfOrder {
                            message: NODE,
                            field: "Links",
                        });
                    }
                    links.push(PbLink::decode(r.bytes()?)?);
                }
                _ => {
                    return Err(PbError::UnknownField {
                        message: NODE,
                        field,
                    });
                }
            }
        }
        Ok((links, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::cid::{Codec, Version};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn sample() -> PbNode {
        let a = Cid::of_block(Version::V0, Codec::DagPb, b"a");
        let b = Cid::of_block(Version::V1, Codec::Raw, b"b");
        PbNode {
            links: vec![
                PbLink::unnamed(a, 10),
                PbLink {
                    hash: b,
                    name: Some("b.txt".into()),
                    tsize: None,
                },
                PbLink {
                    hash: a,
                    name: None,
                    tsize: Some(u64::MAX),
                },
            ],
            data: Some(vec![8, 2]),
        }
    }

    #[test]
    fn spec_fixtures() {
        // From the dag-pb spec's cross-codec fixtures.
        assert_eq!(PbNode::decode(&[]), Ok(PbNode::default()));
        assert_eq!(PbNode::default().encode(), Vec::<u8>::new());
        let empty_data = PbNode {
            links: vec![],
            data: Some(vec![]),
        };
        assert_eq!(hex(&empty_data.encode()), "0a00");
        assert_eq!(PbNode::decode(&unhex("0a00")), Ok(empty_data));
        let fixture = unhex(
            "122a0a2212205822d187bd40b04cc8ae7437888ebf844efac1729e098c8816d585d0fcc42b5b1200188e8010",
        );
        let node = PbNode::decode(&fixture).unwrap();
        assert_eq!(node.links.len(), 1);
        assert_eq!(node.links[0].name.as_deref(), Some(""));
        assert_eq!(node.links[0].tsize, Some(262158));
        assert_eq!(node.encode(), fixture);
    }

    #[test]
    fn round_trip_and_order() {
        let node = sample();
        let bytes = node.encode();
        assert_eq!(bytes.len(), node.encoded_len());
        assert_eq!(PbNode::decode(&bytes), Ok(node.clone()));
        // Links are written before Data.
        assert_eq!(bytes[0], 0x12);
        assert_eq!(&bytes[bytes.len() - 4..], &[0x0a, 0x02, 8, 2]);
        // Data first is accepted (legacy blocks exist), and re-encodes canonically.
        let mut data_first = vec![0x0a, 0x02, 8, 2];
        data_first.extend_from_slice(&bytes[..bytes.len() - 4]);
        assert_eq!(PbNode::decode(&data_first), Ok(node));
    }

    #[test]
    fn strictness() {
        let node = sample();
        let bytes = node.encode();
        let link_len = bytes[1] as usize + 2;
        // Links, Data, Links: a split Links run.
        let mut split = bytes.clone();
        split.extend_from_slice(&bytes[..link_len]);
        assert!(matches!(
            PbNode::decode(&split),
            Err(PbError::OutOfOrder { .. })
        ));
        // Data twice.
        assert!(matches!(
            PbNode::decode(&[0x0a, 0, 0x0a, 0]),
            Err(PbError::Duplicate { field: "Data", .. })
        ));
        // Unknown field, wrong wire type.
        assert!(matches!(
            PbNode::decode(&[0x18, 1]),
            Err(PbError::UnknownField { field: 3, .. })
        ));
        assert!(matches!(
            PbNode::decode(&[0x08, 1]),
            Err(PbError::WrongWireType { .. })
        ));
        let cid = Cid::of_block(Version::V0, Codec::DagPb, b"x").to_bytes();
        let link = |body: &[u8]| {
            let mut v = vec![0x12, body.len() as u8];
            v.extend_from_slice(body);
            v
        };
        let mut hash_field = vec![0x0a, cid.len() as u8];
        hash_field.extend_from_slice(&cid);
        // Name before Hash; Hash missing; Hash twice; bad CID; non-UTF-8 name; padded Tsize.
        let mut name_first = vec![0x12, 0];
        name_first.extend_from_slice(&hash_field);
        assert!(matches!(
            PbNode::decode(&link(&name_first)),
            Err(PbError::OutOfOrder { .. })
        ));
        assert!(matches!(
            PbNode::decode(&link(&[0x18, 1])),
            Err(PbError::Missing { .. })
        ));
        let twice = [hash_field.clone(), hash_field.clone()].concat();
        assert!(matches!(
            PbNode::decode(&link(&twice)),
            Err(PbError::Duplicate { .. })
        ));
        assert!(matches!(
            PbNode::decode(&link(&[0x0a, 2, 1, 2])),
            Err(PbError::BadCid(_))
        ));
        let bad_name = [hash_field.clone(), vec![0x12, 1, 0xff]].concat();
        assert!(matches!(
            PbNode::decode(&link(&bad_name)),
            Err(PbError::Invalid { .. })
        ));
        let padded = [hash_field.clone(), vec![0x18, 0x81, 0x00]].concat();
        assert!(matches!(
            PbNode::decode(&link(&padded)),
            Err(PbError::Varint { .. })
        ));
        assert!(PbNode::decode(&link(&[hash_field, vec![0x18, 1]].concat())).is_ok());
    }

    #[test]
    fn every_prefix_and_mutation_is_an_error_not_a_panic() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            // A prefix may happen to be valid only at a field boundary; it must never panic.
            let _ = PbNode::decode(&bytes[..cut]);
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut b = bytes.clone();
            let i = (state % b.len() as u64) as usize;
            b[i] = (state >> 32) as u8;
            if let Ok(node) = PbNode::decode(&b) {
                // Whatever decodes and is in canonical order must re-encode to itself.
                if b.first() != Some(&0x0a) {
                    assert_eq!(node.encode(), b);
                }
            }
        }
    }
}
