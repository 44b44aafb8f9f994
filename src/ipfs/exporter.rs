//! Reading UnixFS back: byte ranges of a file and the entries of a directory.
//!
//! [`FileReader`] is a state machine, so the node can drive it from async code (the block
//! store, bitswap) while this file stays sans-io: it says which block it needs
//! ([`Step::Need`] from [`FileReader::step`]), the caller hands the block to [`FileReader::provide`], and it yields the
//! file's bytes in order ([`Step::Data`]). For a range `[start, end)` it uses each node's
//! `blocksizes` to skip whole subtrees outside the range, so only the blocks on the path to
//! the range and inside it are ever asked for. [`read_range`] and [`cat`] drive it with a
//! fetch closure. [`list_directory`] reads one directory block (plain or HAMT shard) and
//! [`list_all`] walks a sharded directory.
//!
//! Every block is checked against its CID before it is decoded; sizes must agree between a
//! parent's `blocksizes`, the child's `filesize` and its actual bytes; depth is limited to
//! [`MAX_DEPTH`] and blocks to [`MAX_BLOCK_SIZE`]. Held memory is one decoded block's link
//! list per tree level. Work is bounded by the range: every block fetched holds at least one
//! byte of it (zero-size children are skipped), so a DAG that links one subtree many times
//! costs no more than the bytes it yields.

use super::cid::{Cid, CidError, Codec};
use super::dagpb::PbNode;
use super::dir::DirEntry;
use super::proto::PbError;
use super::unixfs::{DataType, UnixFs};
use core::fmt;

/// Deepest tree accepted (kubo's deepest real trees are under 30 levels, trickle included).
pub const MAX_DEPTH: usize = 64;
/// Largest block accepted (bitswap's limit).
pub const MAX_BLOCK_SIZE: usize = 2 << 20;

/// Why a file or directory cannot be read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The block does not match its CID (or the CID is unusable).
    Cid(CidError),
    /// The block is not valid dag-pb or UnixFS.
    Pb(PbError),
    /// A dag-pb node without UnixFS data.
    NotUnixFs,
    /// The node is not a file (a directory, symlink, HAMT shard...).
    NotAFile(DataType),
    /// The node is not a plain directory.
    NotADirectory,
    /// A HAMT shard that is not as UnixFS says (the reason names what).
    BadShard(&'static str),
    /// A directory with more entries than the caller allows.
    TooManyEntries(usize),
    /// A directory link without a name.
    UnnamedEntry,
    /// Sizes in the DAG disagree (the reason names which).
    Inconsistent(&'static str),
    /// Deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A block larger than [`MAX_BLOCK_SIZE`].
    BlockTooLarge(usize),
    /// `provide` was called when no block was asked for.
    NotWaiting,
    /// The caller's store does not have this block.
    Missing(Cid),
    /// A block whose codec is neither dag-pb nor raw (a dag-cbor database node): not UnixFS.
    NotUnixFsCodec(Cid),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cid(e) => write!(f, "bad block: {e}"),
            Self::Pb(e) => write!(f, "bad node: {e}"),
            Self::NotUnixFs => f.write_str("dag-pb node carries no UnixFS data"),
            Self::NotAFile(t) => write!(f, "not a file but {t:?}"),
            Self::NotADirectory => f.write_str("not a directory"),
            Self::BadShard(why) => write!(f, "bad HAMT shard: {why}"),
            Self::TooManyEntries(n) => write!(f, "directory has more than {n} entries"),
            Self::UnnamedEntry => f.write_str("directory entry without a name"),
            Self::Inconsistent(why) => write!(f, "inconsistent file DAG: {why}"),
            Self::TooDeep => write!(f, "file DAG deeper than {MAX_DEPTH}"),
            Self::BlockTooLarge(n) => write!(f, "block of {n} bytes exceeds {MAX_BLOCK_SIZE}"),
            Self::NotWaiting => f.write_str("a block was provided but none was asked for"),
            Self::Missing(c) => write!(f, "block {c} not found"),
            Self::NotUnixFsCodec(c) => {
                write!(f, "block {c} is not dag-pb or raw, so not part of a file")
            }
        }
    }
}

impl std::error::Error for ExportError {}

impl From<CidError> for ExportError {
    fn from(e: CidError) -> Self {
        Self::Cid(e)
    }
}

impl From<PbError> for ExportError {
    fn from(e: PbError) -> Self {
        Self::Pb(e)
    }
}

/// What the reader wants or has.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Provide this block next.
    Need(Cid),
    /// The next bytes of the range.
    Data(&'a [u8]),
    /// The range is complete.
    Done,
}

/// A block asked for, with where its bytes sit in the file.
#[derive(Debug, Clone, Copy)]
struct Pending {
    cid: Cid,
    offset: u64,
    expect: Option<u64>,
    depth: usize,
}

/// The children of one decoded node still to visit.
#[derive(Debug)]
struct Frame {
    children: Vec<(Cid, u64)>,
    next: usize,
    offset: u64,
    depth: usize,
}

/// Reads `[start, end)` of a UnixFS file (see the module doc).
#[derive(Debug)]
pub struct FileReader {
    start: u64,
    end: u64,
    size: Option<u64>,
    need: Option<Pending>,
    stack: Vec<Frame>,
    out: Vec<u8>,
    out_range: (usize, usize),
    emitted: bool,
}

impl FileReader {
    /// A reader of bytes `[start, end)` of the file `root` (`end` is clamped to the size).
    pub fn new(root: Cid, start: u64, end: u64) -> Self {
        Self {
            start,
            end,
            size: None,
            need: Some(Pending {
                cid: root,
                offset: 0,
                expect: None,
                depth: 0,
            }),
            stack: Vec::new(),
            out: Vec::new(),
            out_range: (0, 0),
            emitted: true,
        }
    }

    /// The file's size, known once the root block has been provided.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The next thing to do.
    pub fn step(&mut self) -> Result<Step<'_>, ExportError> {
        if !self.emitted {
            self.emitted = true;
            return Ok(Step::Data(&self.out[self.out_range.0..self.out_range.1]));
        }
        loop {
            if let Some(p) = self.need {
                if p.cid.hash().is_identity() {
                    // The block is inside the CID: no fetch.
                    let block = p.cid.hash().digest().to_vec();
                    self.provide(&block)?;
                    if !self.emitted {
                        self.emitted = true;
                        return Ok(Step::Data(&self.out[self.out_range.0..self.out_range.1]));
                    }
                    continue;
                }
                return Ok(Step::Need(p.cid));
            }
            let Some(frame) = self.stack.last_mut() else {
                return Ok(Step::Done);
            };
            let Some(&(cid, size)) = frame.children.get(frame.next) else {
                self.stack.pop();
                continue;
            };
            frame.next += 1;
            let offset = frame.offset;
            frame.offset = offset.saturating_add(size);
            if offset >= self.end {
                // Everything after this is past the range too.
                self.stack.clear();
                return Ok(Step::Done);
            }
            // Zero-size children carry no bytes; skipping them also keeps a DAG that links
            // one empty node many times over from costing more than its output.
            if size == 0 || offset.saturating_add(size) <= self.start {
                continue;
            }
            let depth = frame.depth;
            self.need = Some(Pending {
                cid,
                offset,
                expect: Some(size),
                depth,
            });
        }
    }

    /// Hands over the block the last [`Step::Need`] asked for.
    pub fn provide(&mut self, block: &[u8]) -> Result<(), ExportError> {
        let p = self.need.ok_or(ExportError::NotWaiting)?;
        if block.len() > MAX_BLOCK_SIZE {
            return Err(ExportError::BlockTooLarge(block.len()));
        }
        // A wrong block leaves the request standing; a right one settles it.
        p.cid.verify(block)?;
        self.provide_checked(block.to_vec())
    }

    /// [`FileReader::provide`] for a block the caller has already checked against the CID it
    /// asked for: the node's block store, which verified the block's hash when it stored it and
    /// checks its own checksum on every read, so hashing it again with SHA-256 would only cost
    /// time (a third of the gateway's CPU). Takes the bytes by value: a raw leaf is passed on
    /// without a copy.
    pub fn provide_checked(&mut self, block: Vec<u8>) -> Result<(), ExportError> {
        let p = self.need.ok_or(ExportError::NotWaiting)?;
        if block.len() > MAX_BLOCK_SIZE {
            return Err(ExportError::BlockTooLarge(block.len()));
        }
        self.need = None;
        // The node's own bytes stay in `block`, at `inline`: a dag-pb leaf is decoded where
        // it lies, not copied out of its two envelopes (PBNode, then UnixFS Data).
        let (inline, children, total) = match p.cid.codec() {
            Codec::Raw => {
                let len = block.len();
                (0..len, Vec::new(), len as u64)
            }
            Codec::DagCbor => return Err(ExportError::NotUnixFsCodec(p.cid)),
            Codec::DagPb => {
                let (links, data) = PbNode::decode_borrowed(&block)?;
                let (fs, fs_data) = UnixFs::decode_borrowed(data.ok_or(ExportError::NotUnixFs)?)?;
                if !matches!(fs.kind, DataType::File | DataType::Raw) {
                    return Err(ExportError::NotAFile(fs.kind));
                }
                if links.len() != fs.blocksizes.len() {
                    return Err(ExportError::Inconsistent(
                        "links and blocksizes differ in number",
                    ));
                }
                let children: Vec<(Cid, u64)> = links
                    .iter()
                    .map(|l| l.hash)
                    .zip(fs.blocksizes.iter().copied())
                    .collect();
                let inline = fs_data.map_or(0..0, |d| range_in(&block, d));
                let total = children
                    .iter()
                    .try_fold(inline.len() as u64, |acc, &(_, s)| acc.checked_add(s))
                    .ok_or(ExportError::Inconsistent("sizes overflow"))?;
                if fs.filesize.is_some_and(|f| f != total) {
                    return Err(ExportError::Inconsistent(
                        "filesize is not the sum of its parts",
                    ));
                }
                (inline, children, total)
            }
        };
        if p.offset.checked_add(total).is_none() {
            return Err(ExportError::Inconsistent("sizes overflow"));
        }
        match p.expect {
            Some(e) if e != total => {
                return Err(ExportError::Inconsistent(
                    "child size differs from parent's blocksizes",
                ));
            }
            None => {
                self.size = Some(total);
                self.end = self.end.min(total);
            }
            _ => {}
        }
        // The inline bytes that fall in the range.
        let inline_len = inline.len() as u64;
        let lo = self.start.max(p.offset);
        let hi = self.end.min(p.offset + inline_len);
        if lo < hi {
            self.out = block;
            let at = inline.start;
            self.out_range = (at + (lo - p.offset) as usize, at + (hi - p.offset) as usize);
            self.emitted = false;
        }
        if !children.is_empty() {
            if p.depth >= MAX_DEPTH {
                return Err(ExportError::TooDeep);
            }
            self.stack.push(Frame {
                // No overflow: offset + total was checked above and inline <= total.
                offset: p.offset + inline_len,
                children,
                next: 0,
                depth: p.depth + 1,
            });
        }
        Ok(())
    }
}

/// Where `part`, a slice taken out of `whole`, lies in it.
fn range_in(whole: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let at = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    at..at + part.len()
}

/// Reads `[start, end)` of the file `root`, fetching blocks with `fetch` and handing the bytes,
/// in order, to `sink`. Returns the file's size.
pub fn read_range<E: From<ExportError>>(
    root: Cid,
    start: u64,
    end: u64,
    mut fetch: impl FnMut(&Cid) -> Result<Vec<u8>, E>,
    mut sink: impl FnMut(&[u8]),
) -> Result<u64, E> {
    let mut r = FileReader::new(root, start, end);
    loop {
        match r.step()? {
            Step::Need(cid) => {
                let block = fetch(&cid)?;
                r.provide(&block)?;
            }
            Step::Data(d) => sink(d),
            Step::Done => return Ok(r.size().unwrap_or(0)),
        }
    }
}

/// The whole file in memory.
pub fn cat<E: From<ExportError>>(
    root: Cid,
    fetch: impl FnMut(&Cid) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::new();
    read_range(root, 0, u64::MAX, fetch, |d| out.extend_from_slice(d))?;
    Ok(out)
}

/// What one directory block holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// Entries in block order (for a HAMT shard, with the slot prefix taken off the names).
    pub entries: Vec<DirEntry>,
    /// HAMT sub-shards whose entries also belong to the directory: list them too.
    pub shards: Vec<Cid>,
}

/// Lists one directory block (already verified against its CID): a plain directory, or one
/// shard of a HAMT-sharded directory.
pub fn list_directory(block: &[u8]) -> Result<Listing, ExportError> {
    let node = PbNode::decode(block)?;
    let fs = UnixFs::decode(node.data.as_deref().ok_or(ExportError::NotUnixFs)?)?;
    let mut listing = Listing::default();
    let prefix = match fs.kind {
        DataType::Directory => 0,
        DataType::HamtShard => {
            if fs.hash_type != Some(super::hamt::HASH_MURMUR3) {
                return Err(ExportError::BadShard("hash type is not murmur3-x64-64"));
            }
            match fs.fanout {
                // Slot prefixes are as many hex digits as fanout - 1 has.
                Some(f) if f.is_power_of_two() && (2..=4096).contains(&f) => {
                    format!("{:X}", f - 1).len()
                }
                _ => {
                    return Err(ExportError::BadShard(
                        "fanout is not a power of two up to 4096",
                    ));
                }
            }
        }
        _ => return Err(ExportError::NotADirectory),
    };
    for l in node.links {
        let name = l.name.unwrap_or_default();
        if prefix == 0 {
            if name.is_empty() {
                return Err(ExportError::UnnamedEntry);
            }
            listing.entries.push(DirEntry {
                name,
                cid: l.hash,
                tsize: l.tsize.unwrap_or(0),
            });
            continue;
        }
        let slot = name
            .get(..prefix)
            .filter(|p| p.bytes().all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'F')));
        if slot.is_none() {
            return Err(ExportError::BadShard("link name lacks its slot prefix"));
        }
        match name.get(prefix..) {
            Some("") => listing.shards.push(l.hash),
            Some(rest) => listing.entries.push(DirEntry {
                name: rest.to_owned(),
                cid: l.hash,
                tsize: l.tsize.unwrap_or(0),
            }),
            None => return Err(ExportError::BadShard("link name lacks its slot prefix")),
        }
    }
    Ok(listing)
}

/// The entry `name` of a directory whose first block `listing` lists: one step of a path
/// walk, the one lookup both the gateway's walk (`http/gateway.rs`) and the store's trees
/// (`store::tree`) take. A HAMT-sharded directory's sub-shards are read with `fetch` only
/// until the name is found, at most `max_shards` of them (`too_many` is the refusal past
/// that: a DAG that reuses a shard cannot make the search explode). `Ok(None)`: no entry of
/// that name. `fetch` decides whether blocks are verified against their CIDs.
pub fn find_in<E: From<ExportError>>(
    listing: Listing,
    name: &str,
    max_shards: usize,
    mut fetch: impl FnMut(&Cid) -> Result<Vec<u8>, E>,
    too_many: impl FnOnce() -> E,
) -> Result<Option<DirEntry>, E> {
    if let Some(e) = listing.entries.into_iter().find(|e| e.name == name) {
        return Ok(Some(e));
    }
    let mut queue = listing.shards;
    let mut seen = 0usize;
    while let Some(shard) = queue.pop() {
        seen += 1;
        if seen > max_shards {
            return Err(too_many());
        }
        let l = list_directory(&fetch(&shard)?)?;
        if let Some(e) = l.entries.into_iter().find(|e| e.name == name) {
            return Ok(Some(e));
        }
        queue.extend(l.shards);
    }
    Ok(None)
}

/// Every entry of the directory `root`, walking HAMT shards with `fetch`; refuses directories
/// of more than `max_entries` entries and shards (so a DAG that reuses a shard cannot make the
/// walk explode). Entries come in block order, shard by shard.
pub fn list_all<E: From<ExportError>>(
    root: Cid,
    max_entries: usize,
    mut fetch: impl FnMut(&Cid) -> Result<Vec<u8>, E>,
) -> Result<Vec<DirEntry>, E> {
    let mut out = Vec::new();
    let mut todo = vec![root];
    let mut visited = 0usize;
    while let Some(cid) = todo.pop() {
        visited += 1;
        let block = fetch(&cid)?;
        cid.verify(&block).map_err(ExportError::from)?;
        let listing = list_directory(&block)?;
        if visited + todo.len() + listing.shards.len() + out.len() + listing.entries.len()
            > max_entries
        {
            return Err(ExportError::TooManyEntries(max_entries).into());
        }
        out.extend(listing.entries);
        // Depth-first, in link order.
        todo.extend(listing.shards.into_iter().rev());
    }
    Ok(out)
}
