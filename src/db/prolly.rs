//! Content-addressed versions of a Mimei database: a prolly tree (a B-tree whose node
//! boundaries are chosen by hashes of the keys) stored as dag-cbor blocks.
//!
//! A database is an ordered map of byte-string keys to byte-string values. [`build`] turns
//! its entries, in key order, into blocks and returns the root CID; [`Tree`] reads a version
//! back (point lookups and range walks) fetching only the blocks on its path; [`links`] tells
//! the block store's gc what a node points to. Sans-io: blocks go out through a `put`
//! closure and come in through a `fetch` closure.
//!
//! # Why a prolly tree
//!
//! Two versions that differ in a few keys share almost all their blocks, so a peer that has
//! one fetches only what changed. That works because a node boundary falls after an entry
//! when a hash of its **key** is small ([`LEAF_FANOUT`], [`BRANCH_FANOUT`]): the same keys
//! give the same boundaries whatever the values and whatever was inserted far away, so an
//! edit rewrites one leaf and the nodes above it. The one exception is the size cut
//! ([`CUT_BYTES`]): a node also ends once its items reach 64 KiB, so no node passes
//! [`MAX_NODE_LEN`]. Such a cut depends on value sizes and moves the boundaries after it up to
//! the next hash boundary; it happens only to nodes with large values or keys.
//!
//! # Layout
//!
//! - this file: chunking, [`build`], [`Tree`], [`links`] and their errors;
//! - `prolly_node.rs`: the node format, [`Node`] encode and strict decode, [`DecodeError`].
//!
//! The format, byte by byte, and measurements: docs/db-versions.md.

use core::fmt;

use crate::ipfs::{Cid, Codec};

#[path = "prolly_node.rs"]
mod node;

pub use node::{
    Body, Child, DecodeError, MAX_KEY_LEN, MAX_LEVEL, MAX_NODE_LEN, MAX_VALUE_LEN, Node, node_cid,
};

/// A leaf ends after an entry whose key's boundary hash is below `2^32 / LEAF_FANOUT`, so
/// leaves hold 4 entries on average. Small leaves keep an edit's rewrite small: with 1% of
/// 100,000 values changed, 95% of the blocks are shared (docs/db-versions.md).
pub const LEAF_FANOUT: u64 = 4;
/// An internal node ends after a child whose first key's boundary hash (salted with the
/// level) is below `2^32 / BRANCH_FANOUT`: 64 children on average.
pub const BRANCH_FANOUT: u64 = 64;
/// A node also ends after the item that takes its encoded items to this many bytes. With keys
/// of at most [`MAX_KEY_LEN`] and values of at most [`MAX_VALUE_LEN`] no node can exceed
/// `CUT_BYTES + 262 KiB`, well under [`MAX_NODE_LEN`].
pub const CUT_BYTES: usize = 64 * 1024;

/// Whether a node at `level` ends after the item whose (first) key is `key`: the first four
/// bytes of BLAKE3(level byte || key), little-endian, below `2^32 / fanout`.
pub fn is_boundary(level: u8, key: &[u8]) -> bool {
    let mut h = blake3::Hasher::new();
    h.update(&[level]);
    h.update(key);
    let d = h.finalize();
    let b = d.as_bytes();
    let x = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let fanout = if level == 0 {
        LEAF_FANOUT
    } else {
        BRANCH_FANOUT
    };
    x * fanout < 1 << 32
}

/// Why [`build`] stopped.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError<E> {
    /// The entries iterator or the `put` closure failed.
    Io(E),
    /// Entry `index` (from 0) has a key not above the one before: entries must come strictly
    /// increasing (bytewise), with no duplicates.
    OutOfOrder {
        /// The entry.
        index: u64,
    },
    /// Entry `index` has a key longer than [`MAX_KEY_LEN`].
    KeyTooLong {
        /// The entry.
        index: u64,
        /// Its key's length.
        len: usize,
    },
    /// Entry `index` has a value longer than [`MAX_VALUE_LEN`].
    ValueTooLong {
        /// The entry.
        index: u64,
        /// Its value's length.
        len: usize,
    },
    /// The tree would need more than [`MAX_LEVEL`] levels above the leaves (keys chosen to
    /// be boundaries at every level; not reachable by chance).
    TooDeep,
}

impl<E: fmt::Display> fmt::Display for BuildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "building the version failed: {e}"),
            Self::OutOfOrder { index } => write!(
                f,
                "entry {index} is not after the one before (keys must be strictly increasing)"
            ),
            Self::KeyTooLong { index, len } => {
                write!(
                    f,
                    "key of entry {index} has {len} bytes, over {MAX_KEY_LEN}"
                )
            }
            Self::ValueTooLong { index, len } => write!(
                f,
                "value of entry {index} has {len} bytes, over {MAX_VALUE_LEN}"
            ),
            Self::TooDeep => write!(f, "tree would be deeper than {MAX_LEVEL} levels"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for BuildError<E> {}

/// The node being filled at one level of the builder.
#[derive(Default)]
struct Level {
    /// Encoded items so far.
    items: Vec<u8>,
    /// Entries (leaf) or children (internal) so far.
    n: u64,
    /// The first key of the node.
    first_key: Vec<u8>,
    /// Entries under the node.
    total: u64,
    /// Nodes this level has finished.
    emitted: u64,
    /// The last item was a boundary: the node ends before the next item comes. Finishing
    /// lazily means a level never writes a node that would be the root's only child.
    cut: bool,
}

/// An item for a level: a leaf's value or an internal node's child.
enum Item<'a> {
    Value(&'a [u8]),
    Child(&'a Cid, u64),
}

/// A block sink for [`build`]: stores the bytes under the CID.
pub type Put<'p, E> = dyn FnMut(&Cid, &[u8]) -> Result<(), E> + 'p;

/// One entry of a map: key and value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The streaming builder: one open node per level.
struct Builder<'p, 'q, E> {
    levels: Vec<Level>,
    put: &'p mut Put<'q, E>,
}

impl<E> Builder<'_, '_, E> {
    /// Adds an item to level `i`, first finishing the node there if the last item was a
    /// boundary.
    fn add(&mut self, i: usize, key: &[u8], item: Item<'_>) -> Result<(), BuildError<E>> {
        if i > usize::from(MAX_LEVEL) {
            return Err(BuildError::TooDeep);
        }
        if i == self.levels.len() {
            self.levels.push(Level::default());
        }
        if self.levels[i].cut {
            self.finish_node(i)?;
        }
        let lv = &mut self.levels[i];
        if lv.n == 0 {
            lv.first_key.clear();
            lv.first_key.extend_from_slice(key);
        }
        match item {
            Item::Value(v) => {
                node::write_bytes(&mut lv.items, key);
                node::write_bytes(&mut lv.items, v);
                lv.total += 1;
            }
            Item::Child(cid, count) => {
                node::write_child(&mut lv.items, key, cid, count);
                lv.total += count;
            }
        }
        lv.n += 1;
        // i <= MAX_LEVEL was checked above.
        lv.cut = is_boundary(i as u8, key) || lv.items.len() >= CUT_BYTES;
        Ok(())
    }

    /// Writes the node open at level `i` and hands it to level `i + 1` as a child.
    fn finish_node(&mut self, i: usize) -> Result<(), BuildError<E>> {
        let (cid, first_key, total) = {
            let lv = &mut self.levels[i];
            let per = if i == 0 { 2 } else { 3 };
            let bytes = node::node_bytes(i as u8, lv.n * per, &lv.items);
            let cid = node_cid(&bytes);
            (self.put)(&cid, &bytes).map_err(BuildError::Io)?;
            lv.items.clear();
            lv.n = 0;
            lv.cut = false;
            lv.emitted += 1;
            let total = core::mem::take(&mut lv.total);
            (cid, core::mem::take(&mut lv.first_key), total)
        };
        self.add(i + 1, &first_key, Item::Child(&cid, total))?;
        // Give the buffer back for the next node's first key.
        self.levels[i].first_key = first_key;
        Ok(())
    }

    /// Finishes every level; returns the root.
    fn finish(mut self) -> Result<Cid, BuildError<E>> {
        if self.levels.is_empty() {
            self.levels.push(Level::default());
        }
        let mut i = 0;
        loop {
            let lv = &self.levels[i];
            if lv.emitted == 0 {
                // The only node of this level: the root.
                let per = if i == 0 { 2 } else { 3 };
                let bytes = node::node_bytes(i as u8, lv.n * per, &lv.items);
                let cid = node_cid(&bytes);
                (self.put)(&cid, &bytes).map_err(BuildError::Io)?;
                return Ok(cid);
            }
            // Non-empty: a level's node is finished only when the next item arrives.
            self.finish_node(i)?;
            i += 1;
        }
    }
}

/// Stores a version of a map and returns its root CID.
///
/// `entries` must come with keys strictly increasing (bytewise). Every node goes to `put`
/// (children before parents; a block may be put again if the map repeats a subtree, which a
/// content-addressed store ignores). Memory is one open node per level, not the map's size.
/// An empty map makes the empty leaf `[0, []]` (3 bytes, [`empty_root`]), so every version has
/// a root.
pub fn build<E>(
    entries: impl Iterator<Item = Result<Entry, E>>,
    put: &mut Put<'_, E>,
) -> Result<Cid, BuildError<E>> {
    let mut b = Builder {
        levels: Vec::new(),
        put,
    };
    let mut prev: Option<Vec<u8>> = None;
    for (index, entry) in (0u64..).zip(entries) {
        let (key, value) = entry.map_err(BuildError::Io)?;
        if key.len() > MAX_KEY_LEN {
            return Err(BuildError::KeyTooLong {
                index,
                len: key.len(),
            });
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(BuildError::ValueTooLong {
                index,
                len: value.len(),
            });
        }
        if prev.as_ref().is_some_and(|p| *p >= key) {
            return Err(BuildError::OutOfOrder { index });
        }
        b.add(0, &key, Item::Value(&value))?;
        prev = Some(key);
    }
    b.finish()
}

/// The bytes and CID of the empty map's version: the leaf `[0, []]`.
pub fn empty_root() -> (Cid, Vec<u8>) {
    let bytes = node::node_bytes(0, 0, &[]);
    (node_cid(&bytes), bytes)
}

/// The CIDs a node links to (none for a leaf), for DAG walks such as gc.
pub fn links(block: &[u8]) -> Result<Vec<Cid>, DecodeError> {
    Ok(match Node::decode(block)?.body {
        Body::Leaf(_) => Vec::new(),
        Body::Internal(cs) => cs.iter().map(|c| c.cid).collect(),
    })
}

/// Why reading a version failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError<E> {
    /// The `fetch` closure failed.
    Fetch(E),
    /// The block is not available: fetch it from a peer, or the version is incomplete.
    Missing(Cid),
    /// The block's bytes do not hash to its CID.
    Corrupt(Cid),
    /// The CID is not of a dag-cbor block, so not a prolly node.
    NotDagCbor(Cid),
    /// The block is not a valid node.
    Decode {
        /// The block.
        cid: Cid,
        /// What is wrong.
        err: DecodeError,
    },
    /// A node disagrees with what its parent says of it (level, first key or entry count),
    /// or is empty below the root.
    Inconsistent {
        /// The node.
        cid: Cid,
        /// Which fact.
        what: &'static str,
    },
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fetch(e) => write!(f, "reading a block failed: {e}"),
            Self::Missing(c) => write!(f, "block {c} of the database version is not here"),
            Self::Corrupt(c) => write!(f, "block {c} does not match its CID (corrupt)"),
            Self::NotDagCbor(c) => write!(f, "{c} is not a dag-cbor block, not a database node"),
            Self::Decode { cid, err } => write!(f, "block {cid} is not a database node: {err}"),
            Self::Inconsistent { cid, what } => {
                write!(f, "node {cid} disagrees with its parent: {what}")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ReadError<E> {}

/// A block source for [`Tree`]: `Ok(None)` when the block is not there.
pub type Fetch<'f, E> = dyn FnMut(&Cid) -> Result<Option<Vec<u8>>, E> + 'f;

/// What a parent says about a child, checked when the child is read.
#[derive(Clone, Copy)]
struct Expect<'k> {
    level: u8,
    key: &'k [u8],
    count: u64,
}

/// One version of a database, read through a block source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tree {
    root: Cid,
}

impl Tree {
    /// The version whose root is `root`.
    pub fn new(root: Cid) -> Self {
        Tree { root }
    }

    /// The root CID.
    pub fn root(&self) -> Cid {
        self.root
    }

    /// The value of `key`, fetching one node per level.
    pub fn get<E>(
        &self,
        fetch: &mut Fetch<'_, E>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, ReadError<E>> {
        let mut cid = self.root;
        let mut expect: Option<(u8, Vec<u8>, u64)> = None;
        loop {
            let block = load(fetch, &cid)?;
            let node = decode(&cid, &block)?;
            if let Some((level, k, count)) = &expect {
                check(
                    &cid,
                    &node,
                    Expect {
                        level: *level,
                        key: k,
                        count: *count,
                    },
                )?;
            }
            match node.body {
                Body::Leaf(es) => {
                    return Ok(es
                        .binary_search_by(|(k, _)| (*k).cmp(key))
                        .ok()
                        .map(|i| es[i].1.to_vec()));
                }
                Body::Internal(cs) => {
                    let i = cs.partition_point(|c| c.key <= key);
                    let Some(c) = i.checked_sub(1).map(|i| cs[i]) else {
                        return Ok(None);
                    };
                    expect = Some((node.level - 1, c.key.to_vec(), c.count));
                    cid = c.cid;
                }
            }
        }
    }

    /// How many entries the version holds (one fetch: the root's counts).
    pub fn len<E>(&self, fetch: &mut Fetch<'_, E>) -> Result<u64, ReadError<E>> {
        let block = load(fetch, &self.root)?;
        Ok(decode(&self.root, &block)?.total())
    }

    /// Whether the version holds no entries.
    pub fn is_empty<E>(&self, fetch: &mut Fetch<'_, E>) -> Result<bool, ReadError<E>> {
        Ok(self.len(fetch)? == 0)
    }

    /// Visits the entries with `from <= key < to` (no upper bound when `to` is `None`) in key
    /// order, or in reverse order when `reverse`, until `visit` returns `false`. Fetches only
    /// the nodes that hold keys in the range (and stops fetching when `visit` stops).
    pub fn range<E>(
        &self,
        fetch: &mut Fetch<'_, E>,
        from: &[u8],
        to: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), ReadError<E>> {
        if to.is_some_and(|t| t <= from) {
            return Ok(());
        }
        let mut w = Walk {
            fetch,
            from,
            to,
            reverse,
            visit,
        };
        w.node(&self.root, None).map(|_| ())
    }
}

/// A range walk in progress.
struct Walk<'w, 'f, 'v, E> {
    fetch: &'w mut Fetch<'f, E>,
    from: &'w [u8],
    to: Option<&'w [u8]>,
    reverse: bool,
    visit: &'w mut (dyn FnMut(&[u8], &[u8]) -> bool + 'v),
}

impl<E> Walk<'_, '_, '_, E> {
    /// Walks the subtree at `cid`; returns `false` once `visit` asked to stop. Recursion is
    /// at most [`MAX_LEVEL`] + 1 deep: each child's level is checked to be one less.
    fn node(&mut self, cid: &Cid, expect: Option<Expect<'_>>) -> Result<bool, ReadError<E>> {
        let block = load(self.fetch, cid)?;
        let node = decode(cid, &block)?;
        if let Some(e) = expect {
            check(cid, &node, e)?;
        }
        let below_to = |k: &[u8]| self.to.is_none_or(|t| k < t);
        match node.body {
            Body::Leaf(es) => {
                let lo = es.partition_point(|(k, _)| *k < self.from);
                let hi = es.partition_point(|(k, _)| below_to(k));
                let Some(es) = es.get(lo..hi) else {
                    return Ok(true);
                };
                if self.reverse {
                    Ok(es.iter().rev().all(|(k, v)| (self.visit)(k, v)))
                } else {
                    Ok(es.iter().all(|(k, v)| (self.visit)(k, v)))
                }
            }
            Body::Internal(cs) => {
                // Child j holds the keys in [cs[j].key, cs[j + 1].key).
                let lo = cs.partition_point(|c| c.key <= self.from).saturating_sub(1);
                let hi = cs.partition_point(|c| below_to(c.key));
                let Some(cs) = cs.get(lo..hi) else {
                    return Ok(true);
                };
                let level = node.level - 1;
                let reverse = self.reverse;
                let mut one = |c: &Child<'_>| {
                    let e = Expect {
                        level,
                        key: c.key,
                        count: c.count,
                    };
                    self.node(&c.cid, Some(e))
                };
                if reverse {
                    for c in cs.iter().rev() {
                        if !one(c)? {
                            return Ok(false);
                        }
                    }
                } else {
                    for c in cs {
                        if !one(c)? {
                            return Ok(false);
                        }
                    }
                }
                Ok(true)
            }
        }
    }
}

/// Fetches a node's block and checks it against its CID.
fn load<E>(fetch: &mut Fetch<'_, E>, cid: &Cid) -> Result<Vec<u8>, ReadError<E>> {
    if cid.codec() != Codec::DagCbor {
        return Err(ReadError::NotDagCbor(*cid));
    }
    let block = fetch(cid)
        .map_err(ReadError::Fetch)?
        .ok_or(ReadError::Missing(*cid))?;
    if block.len() > MAX_NODE_LEN {
        return Err(ReadError::Decode {
            cid: *cid,
            err: DecodeError::TooLarge { len: block.len() },
        });
    }
    cid.verify(&block).map_err(|_| ReadError::Corrupt(*cid))?;
    Ok(block)
}

fn decode<'b, E>(cid: &Cid, block: &'b [u8]) -> Result<Node<'b>, ReadError<E>> {
    Node::decode(block).map_err(|err| ReadError::Decode { cid: *cid, err })
}

/// Checks a child against what its parent says of it.
fn check<E>(cid: &Cid, node: &Node<'_>, e: Expect<'_>) -> Result<(), ReadError<E>> {
    let what = if node.level != e.level {
        "level is not one below its parent's"
    } else if node.first_key() != Some(e.key) {
        "first key is not the one its parent names (or the node is empty)"
    } else if node.total() != e.count {
        "entry count is not the one its parent records"
    } else {
        return Ok(());
    };
    Err(ReadError::Inconsistent { cid: *cid, what })
}

#[cfg(test)]
#[path = "prolly_tests.rs"]
mod tests;
