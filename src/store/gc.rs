//! The DAG walk under recursive pins, and `repo gc`: remove every block that no pin and no
//! root the caller names (the Mimei layer's version roots) reaches.
//!
//! # The walk, in bounded memory
//!
//! A DAG can be any size, so nothing here holds a set of all its blocks in memory. Visited
//! blocks are marked in a scratch table (`gc_marks`, multihash -> how far it was followed);
//! the blocks still to visit are an explicit stack of at most [`WALK_STACK`] CIDs, and what
//! does not fit spills to a second scratch table (`gc_todo`). Both tables live only inside
//! the walk's write transaction and are deleted before it commits, so they are never seen on
//! disk. redb spills dirty pages past its cache, so the marks cost disk, not memory.
//!
//! Only blocks reached as dag-pb or dag-cbor are read (raw blocks have no links), and of the
//! dag-pb ones only those whose record does not say "no links" (a v0 file's 256 KiB leaves
//! are dag-pb without links: their records are enough). dag-cbor blocks are the nodes of
//! database versions (`db::prolly`), whose links `db::prolly::links` reads. A block the walk
//! needs but the store lacks, or cannot read, is reported, never a panic; while any such block
//! exists under a root, `gc` removes nothing, because what lies below it cannot be known
//! (kubo's gc stops for the same reason). A dag-pb or dag-cbor block that does not decode
//! is counted and treated as a leaf: its content is what its CID says, so no
//! fetch could ever give it links.
//!
//! # Sweep
//!
//! In the same transaction as the walk: every block record not marked goes, with its pieces.
//! The walk and sweep see one snapshot and commit at once, so gc never races an add.

use std::path::Path;

use redb::{ReadableTable, ReadableTableMetadata, Table, TableDefinition, WriteTransaction};

use super::blocks::{Blocks, Record, block_key, db_err, read_bytes, read_record, remove_pieces};
use super::pins::PinKind;
use super::{BLOCK_PIECES, BLOCKS, PINS, StoreError};
use crate::ipfs::multihash::IDENTITY;
use crate::ipfs::{Cid, Codec, PbNode};

/// Most CIDs the walk holds in memory; more spill to the `gc_todo` scratch table. 4096 CIDs
/// are about 300 KiB.
pub const WALK_STACK: usize = 4096;

/// Most CIDs listed in [`DagStats::missing`] and [`DagStats::damaged`]; the totals count all.
pub const MAX_LISTED: usize = 16;

/// Scratch: multihash of each visited block -> 1 kept, 2 kept and its links followed.
const MARKS: TableDefinition<&[u8], u8> = TableDefinition::new("gc_marks");
/// Scratch: CIDs (binary) waiting to be visited that did not fit the in-memory stack.
const TODO: TableDefinition<&[u8], ()> = TableDefinition::new("gc_todo");

const KEPT: u8 = 1;
const FOLLOWED: u8 = 2;

/// What a walk found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DagStats {
    /// Stored blocks reached.
    pub blocks: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The first [`MAX_LISTED`] blocks reached but not stored.
    pub missing: Vec<Cid>,
    /// How many blocks were reached but not stored.
    pub missing_total: u64,
    /// The first [`MAX_LISTED`] blocks reached whose record or bytes failed their check.
    pub damaged: Vec<Cid>,
    /// How many such blocks.
    pub damaged_total: u64,
    /// dag-pb or dag-cbor blocks that do not decode, treated as leaves.
    pub undecodable: u64,
    /// CIDs that went to the scratch table because the stack was full.
    pub spilled: u64,
    /// Most CIDs the in-memory stack held at once (at most [`WALK_STACK`]).
    pub peak_stack: usize,
}

impl DagStats {
    /// Whether every block reached is stored and readable.
    pub fn complete(&self) -> bool {
        self.missing_total == 0 && self.damaged_total == 0
    }
}

/// What [`Blocks::gc`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blocks removed.
    pub removed: u64,
    /// Blocks left in the store.
    pub kept: u64,
    /// Bytes of the blocks removed.
    pub bytes_freed: u64,
    /// Whether the sweep ran: `false` when a block under a root is missing or damaged (see
    /// `live`), in which case nothing was removed.
    pub swept: bool,
    /// What the walk from pins and extra roots found.
    pub live: DagStats,
}

/// A walk over DAGs inside one write transaction; see the module doc.
pub(crate) struct Walker<'t> {
    marks: Table<'t, &'static [u8], u8>,
    todo: Table<'t, &'static [u8], ()>,
    stack: Vec<Cid>,
    cap: usize,
    path: &'t Path,
    stats: DagStats,
}

impl<'t> Walker<'t> {
    /// A walker with fresh scratch tables and a stack of at most `cap` CIDs.
    pub(crate) fn new(
        tx: &'t WriteTransaction,
        cap: usize,
        path: &'t Path,
    ) -> Result<Walker<'t>, StoreError> {
        Self::drop_tables(tx, path)?;
        Ok(Walker {
            marks: tx.open_table(MARKS).map_err(|e| db_err(path, e))?,
            todo: tx.open_table(TODO).map_err(|e| db_err(path, e))?,
            stack: Vec::new(),
            cap: cap.max(1),
            path,
            stats: DagStats::default(),
        })
    }

    /// Deletes the scratch tables; called before the transaction commits, after the walker
    /// is finished.
    pub(crate) fn drop_tables(tx: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
        tx.delete_table(MARKS).map_err(|e| db_err(path, e))?;
        tx.delete_table(TODO).map_err(|e| db_err(path, e))?;
        Ok(())
    }

    /// What the walks so far found; closes the scratch tables.
    pub(crate) fn finish(self) -> DagStats {
        self.stats
    }

    fn push(&mut self, cid: Cid) -> Result<(), StoreError> {
        if self.stack.len() < self.cap {
            self.stack.push(cid);
            self.stats.peak_stack = self.stats.peak_stack.max(self.stack.len());
        } else {
            self.todo
                .insert(cid.to_bytes().as_slice(), ())
                .map_err(|e| db_err(self.path, e))?;
            self.stats.spilled += 1;
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<Option<Cid>, StoreError> {
        if let Some(c) = self.stack.pop() {
            return Ok(Some(c));
        }
        let Some((k, _)) = self.todo.pop_first().map_err(|e| db_err(self.path, e))? else {
            return Ok(None);
        };
        // Written by push from a valid CID in this same transaction.
        Cid::from_bytes(k.value())
            .map(Some)
            .map_err(|e| StoreError::Damaged {
                path: self.path.to_path_buf(),
                detail: format!("gc scratch table holds a bad CID ({e})"),
            })
    }

    /// Raises the mark of `key` to `mode`; returns the mark it had (0 for none).
    fn mark(&mut self, key: &[u8], mode: u8) -> Result<u8, StoreError> {
        let prev = self
            .marks
            .get(key)
            .map_err(|e| db_err(self.path, e))?
            .map_or(0, |g| g.value());
        if prev < mode {
            self.marks
                .insert(key, mode)
                .map_err(|e| db_err(self.path, e))?;
        }
        Ok(prev)
    }

    /// Keeps the block `cid` without following its links (a direct pin).
    pub(crate) fn mark_direct(&mut self, cid: &Cid) -> Result<(), StoreError> {
        if cid.hash().code() != IDENTITY {
            self.mark(&block_key(cid), KEPT)?;
        }
        Ok(())
    }

    fn note_missing(&mut self, cid: Cid) {
        self.stats.missing_total += 1;
        if self.stats.missing.len() < MAX_LISTED {
            self.stats.missing.push(cid);
        }
    }

    fn note_damaged(&mut self, cid: Cid) {
        self.stats.damaged_total += 1;
        if self.stats.damaged.len() < MAX_LISTED {
            self.stats.damaged.push(cid);
        }
    }

    /// Keeps `root` and everything its dag-pb and dag-cbor links reach.
    pub(crate) fn walk(
        &mut self,
        root: &Cid,
        index: &impl ReadableTable<&'static [u8], &'static [u8]>,
        pieces: &impl ReadableTable<&'static [u8], &'static [u8]>,
    ) -> Result<(), StoreError> {
        self.push(*root)?;
        while let Some(cid) = self.pop()? {
            // dag-pb and dag-cbor (database version nodes) have links; raw blocks do not.
            let follow = cid.codec() != Codec::Raw;
            let bytes = if cid.hash().code() == IDENTITY {
                // Inline bytes: nothing stored, nothing to mark, but a dag-pb node can still
                // link to stored blocks. It cannot contain itself, so this ends.
                if !follow {
                    continue;
                }
                cid.hash().digest().to_vec()
            } else {
                let key = block_key(&cid);
                let mode = if follow { FOLLOWED } else { KEPT };
                let prev = self.mark(&key, mode)?;
                if prev >= mode {
                    continue;
                }
                let rec = match read_record(index, &key, self.path) {
                    Ok(Some(r)) => r,
                    Ok(None) => {
                        if prev == 0 {
                            self.note_missing(cid);
                        }
                        continue;
                    }
                    Err(StoreError::BlockDamaged { .. }) => {
                        if prev == 0 {
                            self.note_damaged(cid);
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if prev == 0 {
                    self.stats.blocks += 1;
                    self.stats.bytes += rec.size;
                }
                // The flag is about dag-pb; a dag-cbor block is always read.
                if !follow || (rec.no_links && cid.codec() == Codec::DagPb) {
                    continue;
                }
                let rec = Record { cid, ..rec };
                match read_bytes(pieces, &key, &rec, 0, rec.size, self.path) {
                    Ok(b) => b,
                    Err(StoreError::BlockDamaged { .. }) => {
                        self.note_damaged(cid);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            };
            match links(cid.codec(), &bytes) {
                Some(links) => {
                    for link in links {
                        self.push(link)?;
                    }
                }
                None => self.stats.undecodable += 1,
            }
        }
        Ok(())
    }
}

/// The links of a dag-pb node or a dag-cbor database node (`db::prolly`); `None` when the
/// block does not decode as one. Other dag-cbor blocks (not made by this node) count as
/// undecodable leaves, and so do all dag-cbor blocks in a build without the `files` feature,
/// which has no databases.
pub(crate) fn links(codec: Codec, bytes: &[u8]) -> Option<Vec<Cid>> {
    match codec {
        Codec::DagPb => PbNode::decode(bytes)
            .ok()
            .map(|n| n.links.into_iter().map(|l| l.hash).collect()),
        #[cfg(feature = "files")]
        Codec::DagCbor => crate::db::prolly::links(bytes).ok(),
        _ => None,
    }
}

impl Blocks<'_> {
    /// Removes every block that no pin and none of `extra_roots` (walked like recursive pins:
    /// the roots of Mimei versions) reaches. Nothing is removed while a block under a root is
    /// missing or damaged; the report lists them.
    pub fn gc(&self, extra_roots: &[Cid]) -> Result<GcReport, StoreError> {
        self.gc_with_stack(extra_roots, WALK_STACK)
    }

    /// [`Blocks::gc`] with a chosen stack bound (tests use a tiny one to exercise spilling).
    pub(crate) fn gc_with_stack(
        &self,
        extra_roots: &[Cid],
        cap: usize,
    ) -> Result<GcReport, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let report = {
            let mut index = tx.open_table(BLOCKS).map_err(|e| self.err(e))?;
            let mut pieces = tx.open_table(BLOCK_PIECES).map_err(|e| self.err(e))?;
            let pins = tx.open_table(PINS).map_err(|e| self.err(e))?;
            let mut walk = Walker::new(&tx, cap, self.path)?;
            for entry in pins.iter().map_err(|e| self.err(e))? {
                let (k, v) = entry.map_err(|e| self.err(e))?;
                let (cid, kind) = self.decode_pin(k.value(), v.value())?;
                match kind {
                    PinKind::Direct => walk.mark_direct(&cid)?,
                    PinKind::Recursive => walk.walk(&cid, &index, &pieces)?,
                }
            }
            for root in extra_roots {
                walk.walk(root, &index, &pieces)?;
            }
            if !walk.stats.complete() {
                let kept = index.len().map_err(|e| self.err(e))?;
                // Dropping the transaction unwritten leaves the store as it was.
                return Ok(GcReport {
                    removed: 0,
                    kept,
                    bytes_freed: 0,
                    swept: false,
                    live: walk.finish(),
                });
            }
            let (removed, bytes_freed) = sweep(&mut index, &mut pieces, &walk.marks, self.path)?;
            // The block index keeps tags only for stored blocks.
            let mut tags = tx
                .open_table(super::tags::BLOCK_TAGS)
                .map_err(|e| self.err(e))?;
            super::tags::remove_orphans(&mut tags, &index, self.path)?;
            GcReport {
                removed,
                kept: index.len().map_err(|e| self.err(e))?,
                bytes_freed,
                swept: true,
                live: walk.finish(),
            }
        };
        Walker::drop_tables(&tx, self.path)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(report)
    }
}

/// Removes every block whose multihash is not in `marks`; returns how many and their bytes.
fn sweep(
    index: &mut Table<'_, &'static [u8], &'static [u8]>,
    pieces: &mut Table<'_, &'static [u8], &'static [u8]>,
    marks: &Table<'_, &'static [u8], u8>,
    path: &Path,
) -> Result<(u64, u64), StoreError> {
    let mut failed = None;
    let mut removed = 0u64;
    let mut bytes = 0u64;
    let garbage = index
        .extract_if(|k, _| match marks.get(k) {
            Ok(m) => m.is_none(),
            Err(e) => {
                // Keep the block; the error aborts the transaction below.
                failed.get_or_insert(e);
                false
            }
        })
        .map_err(|e| db_err(path, e))?;
    for entry in garbage {
        let (k, v) = entry.map_err(|e| db_err(path, e))?;
        // An unreachable block with a damaged record goes too; its size is then unknown.
        bytes += Record::decode(k.value(), v.value(), path).map_or(0, |r| r.size);
        remove_pieces(pieces, k.value(), path)?;
        removed += 1;
    }
    if let Some(e) = failed {
        return Err(db_err(path, e));
    }
    Ok((removed, bytes))
}

#[cfg(test)]
#[path = "gc_tests.rs"]
mod tests;
