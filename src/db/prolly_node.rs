//! One prolly-tree node as canonical DAG-CBOR: the hand-written encoder, and the strict,
//! bounded decoder that untrusted blocks go through.
//!
//! A node is a CBOR array of two items, `[level, items]`:
//!
//! - leaf (`level` 0): `items` is the flat array `[key1, value1, key2, value2, ...]`;
//! - internal (`level` 1..=[`MAX_LEVEL`]): `[key1, link1, count1, key2, link2, count2, ...]`,
//!   where `key` is the child's first key, `link` is CBOR tag 42 over the byte string
//!   `0x00 || binary CIDv1` (dag-cbor, sha2-256) of the child and `count` is the number of
//!   entries under the child.
//!
//! Keys and values are CBOR byte strings, keys strictly increasing (bytewise) in a node.
//! Only what this layout needs is accepted: unsigned integers, byte strings, definite arrays
//! and tag 42, every head in its shortest form (as DAG-CBOR requires), no bytes after the
//! node. So a block that decodes re-encodes to exactly itself, and the same entries always
//! make the same bytes. The format is in docs/db-versions.md.

use core::fmt;

use crate::ipfs::multihash::SHA2_256;
use crate::ipfs::{Cid, CidError, Codec, Version};

/// Largest node accepted, in bytes. The builder's cut at [`super::CUT_BYTES`] and the limits
/// on keys and values keep every node it makes well under this.
pub const MAX_NODE_LEN: usize = 1 << 20;
/// Highest level of a node (a leaf is 0), so no tree is deeper than `MAX_LEVEL + 1` nodes.
pub const MAX_LEVEL: u8 = 32;
/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 4096;
/// Longest value, in bytes. Bigger values belong in their own blocks (an IPFS file).
pub const MAX_VALUE_LEN: usize = 256 * 1024;

/// Most entries reserved up front when decoding; more grow the vector as they decode.
const PREALLOC: usize = 1024;

const MAJOR_UINT: u8 = 0;
const MAJOR_BYTES: u8 = 2;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_TAG: u8 = 6;
/// The CBOR tag of a CID in DAG-CBOR.
const TAG_CID: u64 = 42;

/// What is wrong with bytes that should be a prolly node.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The block is longer than [`MAX_NODE_LEN`].
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The bytes end inside an item that starts or whose length is declared at this offset.
    Truncated {
        /// Byte offset.
        at: usize,
    },
    /// Bytes left over after the node.
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// A CBOR head that is not in its shortest form, or an indefinite length (DAG-CBOR
    /// forbids both).
    NonCanonical {
        /// Byte offset of the head.
        at: usize,
    },
    /// An item of the wrong kind for its place in the layout.
    Unexpected {
        /// Byte offset of the item.
        at: usize,
        /// What the layout wants there.
        expected: &'static str,
    },
    /// A level above [`MAX_LEVEL`].
    BadLevel(u64),
    /// The items array does not hold whole entries (pairs in a leaf, triples in an internal
    /// node), or an internal node has none.
    BadItemCount {
        /// The node's level.
        level: u8,
        /// How many items the array holds.
        items: u64,
    },
    /// A key longer than [`MAX_KEY_LEN`].
    KeyTooLong {
        /// Its length.
        len: usize,
    },
    /// A value longer than [`MAX_VALUE_LEN`].
    ValueTooLong {
        /// Its length.
        len: usize,
    },
    /// Entry `index` (from 0) has a key not above the previous one.
    KeysOutOfOrder {
        /// The entry.
        index: usize,
    },
    /// A link that is not a CIDv1 of a dag-cbor sha2-256 block behind a 0x00 byte.
    BadLink {
        /// Byte offset of the link's byte string.
        at: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// The binary CID inside a link does not parse.
    Cid {
        /// Byte offset of the link's byte string.
        at: usize,
        /// Why.
        err: CidError,
    },
    /// Child `index` claims no entries, or the counts add up past `u64::MAX`.
    BadCount {
        /// The child.
        index: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len } => {
                write!(f, "node of {len} bytes exceeds {MAX_NODE_LEN}")
            }
            Self::Truncated { at } => write!(f, "node cut short in the item at byte {at}"),
            Self::TrailingBytes { extra } => write!(f, "{extra} bytes after the node"),
            Self::NonCanonical { at } => {
                write!(
                    f,
                    "CBOR head at byte {at} is not in DAG-CBOR's shortest form"
                )
            }
            Self::Unexpected { at, expected } => write!(f, "expected {expected} at byte {at}"),
            Self::BadLevel(l) => write!(f, "node level {l} is above {MAX_LEVEL}"),
            Self::BadItemCount { level, items } => write!(
                f,
                "a level-{level} node cannot have {items} items (leaves hold key/value pairs, \
                 internal nodes at least one key/link/count triple)"
            ),
            Self::KeyTooLong { len } => write!(f, "key of {len} bytes exceeds {MAX_KEY_LEN}"),
            Self::ValueTooLong { len } => {
                write!(f, "value of {len} bytes exceeds {MAX_VALUE_LEN}")
            }
            Self::KeysOutOfOrder { index } => {
                write!(f, "key of entry {index} is not above the one before")
            }
            Self::BadLink { at, why } => write!(f, "bad link at byte {at}: {why}"),
            Self::Cid { at, err } => write!(f, "bad CID in the link at byte {at}: {err}"),
            Self::BadCount { index } => {
                write!(f, "child {index} has a zero or overflowing entry count")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// A link to a child node, as an internal node holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child<'a> {
    /// The first key under the child.
    pub key: &'a [u8],
    /// The child node's CID (v1, dag-cbor, sha2-256).
    pub cid: Cid,
    /// How many entries are under the child (at least 1).
    pub count: u64,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// Key/value entries, keys strictly increasing.
    Leaf(Vec<(&'a [u8], &'a [u8])>),
    /// Children, first keys strictly increasing; never empty.
    Internal(Vec<Child<'a>>),
}

/// A decoded node, borrowing its keys and values from the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node<'a> {
    /// 0 for a leaf, one more than its children's level for an internal node.
    pub level: u8,
    /// The entries or children.
    pub body: Body<'a>,
}

impl<'a> Node<'a> {
    /// Decodes a node, checking everything the layout says (module doc).
    pub fn decode(block: &'a [u8]) -> Result<Node<'a>, DecodeError> {
        if block.len() > MAX_NODE_LEN {
            return Err(DecodeError::TooLarge { len: block.len() });
        }
        let mut c = Cursor { buf: block, pos: 0 };
        let at = c.pos;
        if c.expect(MAJOR_ARRAY, "the node array [level, items]")? != 2 {
            return Err(DecodeError::Unexpected {
                at,
                expected: "an array of two items",
            });
        }
        let level = c.expect(MAJOR_UINT, "the level")?;
        let level = u8::try_from(level)
            .ok()
            .filter(|l| *l <= MAX_LEVEL)
            .ok_or(DecodeError::BadLevel(level))?;
        let items = c.array_len("the items array")?;
        let body = if level == 0 {
            if items % 2 != 0 {
                return Err(DecodeError::BadItemCount { level, items });
            }
            let n = usize::try_from(items / 2).unwrap_or(usize::MAX);
            // Grown as entries decode: a declared count costs nothing until it is real.
            let mut out: Vec<(&[u8], &[u8])> = Vec::with_capacity(n.min(PREALLOC));
            for index in 0..n {
                let key = c.key()?;
                if out.last().is_some_and(|(prev, _)| *prev >= key) {
                    return Err(DecodeError::KeysOutOfOrder { index });
                }
                let value = c.bytes("a value")?;
                if value.len() > MAX_VALUE_LEN {
                    return Err(DecodeError::ValueTooLong { len: value.len() });
                }
                out.push((key, value));
            }
            Body::Leaf(out)
        } else {
            if items % 3 != 0 || items == 0 {
                return Err(DecodeError::BadItemCount { level, items });
            }
            let n = usize::try_from(items / 3).unwrap_or(usize::MAX);
            let mut out: Vec<Child<'_>> = Vec::with_capacity(n.min(PREALLOC));
            let mut total = 0u64;
            for index in 0..n {
                let key = c.key()?;
                if out.last().is_some_and(|prev| prev.key >= key) {
                    return Err(DecodeError::KeysOutOfOrder { index });
                }
                let cid = c.link()?;
                let count = c.expect(MAJOR_UINT, "a child's entry count")?;
                total = total
                    .checked_add(count)
                    .filter(|_| count > 0)
                    .ok_or(DecodeError::BadCount { index })?;
                out.push(Child { key, cid, count });
            }
            Body::Internal(out)
        };
        if c.pos != block.len() {
            return Err(DecodeError::TrailingBytes {
                extra: block.len() - c.pos,
            });
        }
        Ok(Node { level, body })
    }

    /// The canonical bytes of this node (those [`Node::decode`] read it from).
    pub fn encode(&self) -> Vec<u8> {
        let mut items = Vec::new();
        let n = match &self.body {
            Body::Leaf(es) => {
                for (k, v) in es {
                    write_bytes(&mut items, k);
                    write_bytes(&mut items, v);
                }
                es.len() * 2
            }
            Body::Internal(cs) => {
                for c in cs {
                    write_child(&mut items, c.key, &c.cid, c.count);
                }
                cs.len() * 3
            }
        };
        node_bytes(self.level, n as u64, &items)
    }

    /// How many entries are in this node's subtree.
    pub fn total(&self) -> u64 {
        match &self.body {
            Body::Leaf(es) => es.len() as u64,
            // decode checked that the sum does not overflow.
            Body::Internal(cs) => cs.iter().fold(0u64, |t, c| t.saturating_add(c.count)),
        }
    }

    /// The first key in the node, if it has any (only the empty tree's leaf has none).
    pub fn first_key(&self) -> Option<&'a [u8]> {
        match &self.body {
            Body::Leaf(es) => es.first().map(|(k, _)| *k),
            Body::Internal(cs) => cs.first().map(|c| c.key),
        }
    }

    /// Whether the node holds nothing (the empty tree).
    pub fn is_empty(&self) -> bool {
        self.first_key().is_none()
    }
}

/// The CID of a node's bytes: v1, dag-cbor, sha2-256.
pub fn node_cid(bytes: &[u8]) -> Cid {
    Cid::of_block(Version::V1, Codec::DagCbor, bytes)
}

/// A whole node: the array head, the level, the items array's head for `items` items, then
/// `encoded_items` (made with [`write_bytes`] and [`write_child`]).
pub(crate) fn node_bytes(level: u8, items: u64, encoded_items: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_items.len() + 12);
    write_head(&mut out, MAJOR_ARRAY, 2);
    write_head(&mut out, MAJOR_UINT, u64::from(level));
    write_head(&mut out, MAJOR_ARRAY, items);
    out.extend_from_slice(encoded_items);
    out
}

/// Appends a CBOR head: major type and argument, in the shortest form.
fn write_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends a CBOR byte string.
pub(crate) fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_head(out, MAJOR_BYTES, b.len() as u64);
    out.extend_from_slice(b);
}

/// Appends an internal node's triple: first key, tag-42 link, entry count.
pub(crate) fn write_child(out: &mut Vec<u8>, key: &[u8], cid: &Cid, count: u64) {
    write_bytes(out, key);
    write_head(out, MAJOR_TAG, TAG_CID);
    write_head(out, MAJOR_BYTES, 1 + cid.encoded_len() as u64);
    out.push(0);
    cid.write_bytes(out);
    write_head(out, MAJOR_UINT, count);
}

/// A strict reader over one node's bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Reads a head; returns its major type and argument. Refuses indefinite lengths,
    /// reserved values and arguments not in their shortest form.
    fn head(&mut self) -> Result<(u8, u64), DecodeError> {
        let at = self.pos;
        let first = *self.buf.get(at).ok_or(DecodeError::Truncated { at })?;
        let (major, info) = (first >> 5, first & 0x1f);
        let width = match info {
            0..=23 => {
                self.pos += 1;
                return Ok((major, u64::from(info)));
            }
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(DecodeError::NonCanonical { at }),
        };
        let arg = self
            .buf
            .get(at + 1..at + 1 + width)
            .ok_or(DecodeError::Truncated { at })?;
        let n = arg.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        let min = match width {
            1 => 24,
            2 => 0x100,
            4 => 0x1_0000,
            _ => 0x1_0000_0000,
        };
        if n < min {
            return Err(DecodeError::NonCanonical { at });
        }
        self.pos = at + 1 + width;
        Ok((major, n))
    }

    /// Reads a head of major type `major`; returns its argument.
    fn expect(&mut self, major: u8, expected: &'static str) -> Result<u64, DecodeError> {
        let at = self.pos;
        match self.head()? {
            (m, n) if m == major => Ok(n),
            _ => Err(DecodeError::Unexpected { at, expected }),
        }
    }

    /// Reads an array head whose length can fit in what is left (every item takes a byte).
    fn array_len(&mut self, expected: &'static str) -> Result<u64, DecodeError> {
        let at = self.pos;
        let n = self.expect(MAJOR_ARRAY, expected)?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(DecodeError::Truncated { at });
        }
        Ok(n)
    }

    /// Reads a byte string.
    fn bytes(&mut self, expected: &'static str) -> Result<&'a [u8], DecodeError> {
        let at = self.pos;
        let n = self.expect(MAJOR_BYTES, expected)?;
        let left = self.buf.len() - self.pos;
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= left)
            .ok_or(DecodeError::Truncated { at })?;
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    /// Reads a key (a byte string of at most [`MAX_KEY_LEN`]).
    fn key(&mut self) -> Result<&'a [u8], DecodeError> {
        let k = self.bytes("a key (byte string)")?;
        if k.len() > MAX_KEY_LEN {
            return Err(DecodeError::KeyTooLong { len: k.len() });
        }
        Ok(k)
    }

    /// Reads a link: tag 42 over `0x00 || CIDv1(dag-cbor, sha2-256)`.
    fn link(&mut self) -> Result<Cid, DecodeError> {
        let at = self.pos;
        if self.head()? != (MAJOR_TAG, TAG_CID) {
            return Err(DecodeError::Unexpected {
                at,
                expected: "a link (CBOR tag 42)",
            });
        }
        let at = self.pos;
        let b = self.bytes("the byte string of a link")?;
        let Some((&0, cid)) = b.split_first() else {
            return Err(DecodeError::BadLink {
                at,
                why: "does not start with the 0x00 multibase byte",
            });
        };
        let cid = Cid::from_bytes(cid).map_err(|err| DecodeError::Cid { at, err })?;
        if cid.version() != Version::V1
            || cid.codec() != Codec::DagCbor
            || cid.hash().code() != SHA2_256
        {
            return Err(DecodeError::BadLink {
                at,
                why: "a child must be a CIDv1 of a dag-cbor sha2-256 block",
            });
        }
        Ok(cid)
    }
}
