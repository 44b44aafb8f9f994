//! The file importer: bytes in, UnixFS blocks out, with the same CIDs as kubo's `ipfs add`.
//!
//! Push-style and sans-io: [`FileImporter::push`] takes any slice of the file and returns the
//! blocks it completed; [`FileImporter::finish`] returns the root. Memory stays bounded
//! whatever the file size: the current chunk, plus the pending links of each tree level
//! (balanced: at most `max_links` per level, one level per factor of `max_links` in the chunk
//! count; trickle: one frame per depth). Blocks come out children before parents.
//!
//! Each byte of the file is copied once, into the leaf block that goes out: a leaf is filled
//! in place behind its dag-pb and UnixFS framing (written first for a full chunk, and moved
//! up the few bytes it shrinks by when the file ends mid-chunk), and handed out as it is.
//!
//! kubo's behaviour, reproduced exactly (see `docs/ipfs-formats.md` and the vectors in the
//! tests):
//!
//! - fixed-size chunks of `chunk_size` bytes (default 262144; a file that is an exact multiple
//!   gets no empty trailing chunk);
//! - balanced layout (go-unixfs `balanced.Layout`): leaves are UnixFS `File` nodes, or raw
//!   blocks with raw leaves; a node holds at most `max_links` (174) children; a file of one
//!   chunk is that chunk's block (reduce-single-leaf-to-self), so with raw leaves its CID is
//!   the raw leaf's; an empty file is one empty leaf;
//! - trickle layout (`trickle.Layout`, layer repeat 4): leaves are UnixFS `Raw` nodes (or raw
//!   blocks), and the root is always an internal node, even over one chunk or none;
//! - `cid_version` 1 turns raw leaves on unless `raw_leaves` says otherwise; raw leaves under
//!   CIDv0 get CIDv1 `raw` CIDs while the dag-pb nodes keep v0.

use super::cid::{Cid, Codec, Version};
use super::dagpb::{PbLink, PbNode};
use super::dir::HamtRule;
use super::unixfs::{self, DataType, UnixFs};
use core::fmt;

/// kubo's default chunk size.
pub const DEFAULT_CHUNK_SIZE: usize = 262_144;
/// Largest chunk kubo accepts (`size-N` with N above this is refused).
pub const MAX_CHUNK_SIZE: usize = 1 << 20;
/// kubo's default (and go-unixfs's `DefaultLinksPerBlock`) children per node.
pub const DEFAULT_MAX_LINKS: usize = 174;
/// Upper bound on `max_links`, so an internal node stays far below the 1 MiB block limit.
pub const MAX_LINKS_LIMIT: usize = 8192;
/// go-unixfs trickle `layerRepeat`.
const LAYER_REPEAT: u32 = 4;

/// How the chunks are arranged in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// kubo's default: full subtrees left to right, depth grows as needed.
    Balanced,
    /// `ipfs add --trickle`: suited to streaming reads and appends.
    Trickle,
}

/// Importer settings; [`ImportOptions::default`] is `ipfs add` with no flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Bytes per chunk (`--chunker=size-N`), 1..=[`MAX_CHUNK_SIZE`].
    pub chunk_size: usize,
    /// Tree shape (`--trickle`).
    pub layout: Layout,
    /// Children per internal node (balanced) or leaves per layer (trickle), 2..=[`MAX_LINKS_LIMIT`].
    pub max_links: usize,
    /// CID version of the dag-pb nodes (`--cid-version`).
    pub cid_version: Version,
    /// Raw leaves (`--raw-leaves`); `None` follows kubo: on for CIDv1, off for CIDv0.
    pub raw_leaves: Option<bool>,
    /// When a directory built with these options is sharded (`--hamt-threshold-rule`).
    pub hamt_rule: HamtRule,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            layout: Layout::Balanced,
            max_links: DEFAULT_MAX_LINKS,
            cid_version: Version::V0,
            raw_leaves: None,
            hamt_rule: HamtRule::Above,
        }
    }
}

impl ImportOptions {
    /// `ipfs add --cid-version=1`: CIDv1, raw leaves.
    pub fn v1() -> Self {
        Self {
            cid_version: Version::V1,
            ..Self::default()
        }
    }

    /// Whether leaves will be raw blocks.
    pub fn uses_raw_leaves(&self) -> bool {
        self.raw_leaves.unwrap_or(self.cid_version == Version::V1)
    }
}

/// Options the importer refuses.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// `chunk_size` is 0 or above [`MAX_CHUNK_SIZE`].
    ChunkSize(usize),
    /// `max_links` is below 2 or above [`MAX_LINKS_LIMIT`].
    MaxLinks(usize),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChunkSize(n) => write!(f, "chunk size {n} is outside 1..={MAX_CHUNK_SIZE}"),
            Self::MaxLinks(n) => write!(f, "max links {n} is outside 2..={MAX_LINKS_LIMIT}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// A block and its CID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block's CID.
    pub cid: Cid,
    /// The block's bytes.
    pub data: Vec<u8>,
}

/// What [`FileImporter::finish`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The file's CID.
    pub root: Cid,
    /// The blocks not yet returned by `push`, the root last.
    pub blocks: Vec<Block>,
    /// The file's length in bytes.
    pub size: u64,
    /// Cumulative size of the DAG (the `Tsize` a directory link to this file carries).
    pub dag_size: u64,
}

/// A finished child waiting for its parent.
#[derive(Debug, Clone, Copy)]
struct Link {
    cid: Cid,
    /// Cumulative DAG size (the link's `Tsize`).
    tsize: u64,
    /// File bytes under it (the parent's `blocksizes` entry).
    filesize: u64,
}

/// A trickle subtree under construction.
#[derive(Debug)]
struct Frame {
    /// Depth limit (`None` for the root, which has none).
    max_depth: Option<u32>,
    /// 0 while filling leaves, then the depth of the subtrees being added.
    depth: u32,
    /// Subtrees added at `depth` so far.
    repeat: u32,
    links: Vec<Link>,
}

impl Frame {
    fn new(max_depth: Option<u32>) -> Self {
        Self {
            max_depth,
            depth: 0,
            repeat: 0,
            links: Vec::new(),
        }
    }
}

/// A streaming UnixFS file importer (see the module doc).
#[derive(Debug)]
pub struct FileImporter {
    opts: ImportOptions,
    raw: bool,
    /// The open leaf: its framing (`head` bytes; none for raw leaves), then the chunk's bytes
    /// so far. Empty when no leaf is open.
    chunk: Vec<u8>,
    /// Length of the framing in front of an open leaf's bytes.
    head: usize,
    size: u64,
    leaves: u64,
    /// Balanced: pending links per level, level 0 holding leaves.
    levels: Vec<Vec<Link>>,
    /// Trickle: the open subtrees, root first.
    frames: Vec<Frame>,
}

impl FileImporter {
    /// An importer for one file.
    pub fn new(opts: ImportOptions) -> Result<Self, ImportError> {
        if opts.chunk_size == 0 || opts.chunk_size > MAX_CHUNK_SIZE {
            return Err(ImportError::ChunkSize(opts.chunk_size));
        }
        if opts.max_links < 2 || opts.max_links > MAX_LINKS_LIMIT {
            return Err(ImportError::MaxLinks(opts.max_links));
        }
        Ok(Self {
            opts,
            raw: opts.uses_raw_leaves(),
            chunk: Vec::new(),
            head: 0,
            size: 0,
            leaves: 0,
            levels: Vec::new(),
            frames: vec![Frame::new(None)],
        })
    }

    /// Feeds the next bytes of the file; returns the blocks this completed (possibly none).
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Block> {
        let mut out = Vec::new();
        let cs = self.opts.chunk_size;
        self.size += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.chunk.is_empty() && bytes.len() >= cs {
                // A whole chunk straight from the input into its block.
                let (whole, tail) = bytes.split_at(cs);
                let mut block = self.open(cs);
                block.extend_from_slice(whole);
                self.close(block, cs, &mut out);
                bytes = tail;
                continue;
            }
            if self.chunk.is_empty() {
                self.chunk = self.open(cs);
                self.head = self.chunk.len();
            }
            let have = self.chunk.len() - self.head;
            let take = (cs - have).min(bytes.len());
            self.chunk.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if have + take == cs {
                let block = core::mem::take(&mut self.chunk);
                self.close(block, cs, &mut out);
            }
        }
        out
    }

    /// Ends the file: flushes the last chunk and closes the tree.
    pub fn finish(mut self) -> Imported {
        let mut out = Vec::new();
        if !self.chunk.is_empty() {
            let mut block = core::mem::take(&mut self.chunk);
            let len = block.len() - self.head;
            // The framing was written for a full chunk; a shorter one has a shorter framing
            // (its lengths are varints), so write that and move the bytes up behind it.
            let head = self.open(len);
            if head.len() != self.head {
                block.drain(..self.head - head.len());
            }
            block[..head.len()].copy_from_slice(&head);
            self.close(block, len, &mut out);
        } else if self.leaves == 0 && self.opts.layout == Layout::Balanced {
            // go-unixfs makes one empty leaf for an empty file in the balanced layout only.
            let block = self.open(0);
            self.close(block, 0, &mut out);
        }
        let root = match self.opts.layout {
            Layout::Balanced => self.finish_balanced(&mut out),
            Layout::Trickle => self.finish_trickle(&mut out),
        };
        Imported {
            root: root.cid,
            blocks: out,
            size: self.size,
            dag_size: root.tsize,
        }
    }

    /// A new leaf block of `len` bytes, room reserved for all of it: the framing in front of
    /// the bytes (none for a raw leaf). [`FileImporter::close`] writes the framing behind them.
    fn open(&self, len: usize) -> Vec<u8> {
        if self.raw {
            return Vec::with_capacity(len);
        }
        let kind = match self.opts.layout {
            Layout::Balanced => DataType::File,
            Layout::Trickle => DataType::Raw,
        };
        // PBNode { Data: unixfs } with no links: one length-prefixed field 1.
        let ulen = unixfs::leaf_data_len(len);
        let mut block = Vec::with_capacity(super::proto::bytes_field_len(1, ulen));
        super::proto::write_len_prefix(1, ulen, &mut block);
        unixfs::write_leaf_head(kind, len, &mut block);
        block
    }

    /// Ends a leaf from [`FileImporter::open`] whose `len` bytes are in `block`; hashes it and
    /// hands it out.
    fn close(&mut self, mut block: Vec<u8>, len: usize, out: &mut Vec<Block>) {
        self.leaves += 1;
        let cid = if self.raw {
            Cid::of_block(Version::V1, Codec::Raw, &block)
        } else {
            unixfs::write_leaf_tail(len, &mut block);
            Cid::of_block(self.opts.cid_version, Codec::DagPb, &block)
        };
        let link = Link {
            cid,
            tsize: block.len() as u64,
            filesize: len as u64,
        };
        out.push(Block { cid, data: block });
        match self.opts.layout {
            Layout::Balanced => self.add_balanced(link, out),
            Layout::Trickle => self.add_trickle(link, out),
        }
    }

    /// An internal UnixFS `File` node over `links`.
    fn parent(&self, links: &[Link], out: &mut Vec<Block>) -> Link {
        let mut fs = UnixFs::new(DataType::File);
        fs.blocksizes = links.iter().map(|l| l.filesize).collect();
        let filesize = fs.blocksizes.iter().sum();
        fs.filesize = Some(filesize);
        let node = PbNode {
            links: links
                .iter()
                .map(|l| PbLink::unnamed(l.cid, l.tsize))
                .collect(),
            data: Some(fs.encode()),
        };
        let data = node.encode();
        let cid = Cid::of_block(self.opts.cid_version, Codec::DagPb, &data);
        let tsize = data.len() as u64 + links.iter().map(|l| l.tsize).sum::<u64>();
        out.push(Block { cid, data });
        Link {
            cid,
            tsize,
            filesize,
        }
    }

    fn add_balanced(&mut self, link: Link, out: &mut Vec<Block>) {
        let mut link = link;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::with_capacity(self.opts.max_links));
            }
            self.levels[level].push(link);
            if self.levels[level].len() < self.opts.max_links {
                return;
            }
            // A full node is the same whatever comes next: seal it now.
            let full = core::mem::take(&mut self.levels[level]);
            link = self.parent(&full, out);
            self.levels[level] = full;
            self.levels[level].clear();
            level += 1;
        }
    }

    fn finish_balanced(&mut self, out: &mut Vec<Block>) -> Link {
        let mut level = 0;
        while level < self.levels.len() {
            let above = self.levels[level + 1..].iter().any(|l| !l.is_empty());
            let links = core::mem::take(&mut self.levels[level]);
            match (links.len(), above) {
                (0, _) => {}
                // The top: one link is the root (a single chunk is its own root).
                (1, false) => return links[0],
                // Anything below the top, even a lone link, gets its own node, as
                // go-unixfs's fillNodeRec builds every level of the last subtree.
                _ => {
                    let up = self.parent(&links, out);
                    if self.levels.len() == level + 1 {
                        self.levels.push(Vec::new());
                    }
                    self.levels[level + 1].push(up);
                }
            }
            level += 1;
        }
        // Unreachable: the highest level always holds a link (`finish` makes at least one
        // leaf). Kept total rather than panicking.
        self.parent(&[], out)
    }

    fn add_trickle(&mut self, leaf: Link, out: &mut Vec<Block>) {
        loop {
            let Some(f) = self.frames.last_mut() else {
                return;
            };
            if f.depth == 0 {
                if f.links.len() < self.opts.max_links {
                    f.links.push(leaf);
                    return;
                }
                f.depth = 1;
                f.repeat = 0;
            }
            if f.repeat == LAYER_REPEAT {
                f.depth += 1;
                f.repeat = 0;
            }
            if f.max_depth.is_some_and(|m| f.depth >= m) {
                // This subtree is complete: close it into its parent (the root never is).
                let done = self.frames.pop().map(|f| f.links).unwrap_or_default();
                let link = self.parent(&done, out);
                if let Some(p) = self.frames.last_mut() {
                    p.links.push(link);
                    p.repeat += 1;
                }
                continue;
            }
            let d = f.depth;
            self.frames.push(Frame::new(Some(d)));
        }
    }

    fn finish_trickle(&mut self, out: &mut Vec<Block>) -> Link {
        while self.frames.len() > 1 {
            let done = self.frames.pop().map(|f| f.links).unwrap_or_default();
            let link = self.parent(&done, out);
            if let Some(p) = self.frames.last_mut() {
                p.links.push(link);
            }
        }
        let root = self.frames.pop().map(|f| f.links).unwrap_or_default();
        self.parent(&root, out)
    }
}

/// Imports a whole in-memory file; returns the root and every block, children first.
pub fn import_bytes(opts: ImportOptions, bytes: &[u8]) -> Result<Imported, ImportError> {
    let mut imp = FileImporter::new(opts)?;
    let mut blocks = imp.push(bytes);
    let mut done = imp.finish();
    blocks.append(&mut done.blocks);
    done.blocks = blocks;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the importer holds between pushes: the chunk buffer and the pending links.
    fn held(imp: &FileImporter) -> (usize, usize) {
        let links = imp.levels.iter().map(Vec::len).sum::<usize>()
            + imp.frames.iter().map(|f| f.links.len()).sum::<usize>();
        (imp.chunk.capacity(), links)
    }

    #[test]
    fn memory_stays_bounded() {
        let piece = vec![7u8; 100_003];
        for layout in [Layout::Balanced, Layout::Trickle] {
            let opts = ImportOptions {
                chunk_size: 256,
                layout,
                ..ImportOptions::default()
            };
            let mut imp = FileImporter::new(opts).unwrap();
            let mut max_links = 0;
            // 10 MB in 256-byte chunks: 39063 leaves, three levels above them.
            for _ in 0..100 {
                let out = imp.push(&piece);
                assert!(out.len() <= piece.len() / 256 + 8);
                let (chunk, links) = held(&imp);
                // One chunk and its framing.
                assert!(chunk <= 256 + 16, "{chunk}");
                max_links = max_links.max(links);
            }
            let bound = match layout {
                Layout::Balanced => 174 * 3,
                // One frame per depth, each with 174 leaves and 4 subtrees per depth below it.
                Layout::Trickle => 174 * 8 + 4 * 8 * 8,
            };
            assert!(max_links <= bound, "{layout:?} held {max_links} links");
            assert_eq!(imp.finish().size, 100 * 100_003);
        }
    }
}
