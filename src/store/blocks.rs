//! The IPFS block store: blocks in two redb tables, every read checked.
//!
//! # Layout (docs/storage.md has the measurements behind it)
//!
//! - [`BLOCKS`]: one 24-byte record per block, keyed by the block's **multihash**, so a block
//!   stored as `Qm...` is found as `bafy...` too (bitswap peers ask in either form, as kubo
//!   keys its blockstore). The record keeps the CID version and codec the block was first
//!   stored under (listings give that CID back), a `NO_LINKS` flag, the size and an 8-byte
//!   BLAKE3 check of key and record.
//! - [`BLOCK_PIECES`]: the bytes, in pieces of at most [`PIECE_LEN`] bytes keyed by multihash
//!   and piece number (u16 BE). Each value is a 16-byte check of (key, bytes), then the bytes:
//!   xxh3-128 in records of format 2 (written now), BLAKE3 in format 1 (older stores, still
//!   read). A piece fits one 128 KiB redb page: a whole 256 KiB block in one value
//!   would take a 512 KiB page (redb rounds a leaf up to a power of two), doubling the disk
//!   used and the bytes written.
//!
//! Every read checks the record and each piece it touches, so a damaged store answers
//! [`StoreError::BlockDamaged`] naming the CID, never wrong bytes. SHA-256 is computed only
//! where a CID is made (the importer) or a block comes from outside ([`Blocks::put_verified`]).
//!
//! Identity CIDs hold their bytes inline: they are never stored, always "present".
//!
//! Pins are in `pins.rs`, the DAG walk and `gc` in `gc.rs`; all three are methods of
//! [`Blocks`]. Each call is one redb transaction, run inline (the node has one thread).

use std::io;
use std::ops::Bound;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, TableError};

use super::tags::{BLOCK_TAGS, Tag, Tags};
use super::{BLOCK_PIECES, BLOCKS, Store, StoreError};
use crate::ipfs::multihash::IDENTITY;
use crate::ipfs::proto::{FIXED32, LEN, Reader, VARINT};
use crate::ipfs::{Cid, Codec, Multihash, Version};

/// Bytes of a block per piece: a piece's value (check + bytes), redb's 12-byte leaf header
/// and a key of up to 116 bytes (36 for sha2-256) fit one 128 KiB page. redb rounds a leaf
/// up to a power of two, so a piece that did not fit would take 256 KiB.
pub const PIECE_LEN: usize = 128 * 1024 - 128 - PIECE_SUM;

/// The largest block stored, 2 MiB: twice kubo's largest chunk (1 MiB), so any chunk with its
/// dag-pb framing fits. Larger blocks are refused with [`StoreError::BlockTooLarge`].
pub const MAX_BLOCK_LEN: usize = 2 * 1024 * 1024;

/// How many bytes of blocks a writer (`ipfs add`, CAR import, sync, database versions) puts in
/// one transaction: well under redb's cache (an eighth of `MaxMemoryMB`, 4 MiB by default), so
/// a batch's pages are not written out and read back before it commits, and short enough that
/// a sync goes back to reading the network soon. The batches before the last are committed
/// without a flush ([`Blocks::put_many_with`]); the last one, durable, flushes them all.
pub const BATCH_BYTES: usize = 1 << 20;

/// Length of the check in front of each piece.
const PIECE_SUM: usize = 16;
/// Length of a record in [`BLOCKS`].
const RECORD_LEN: usize = 24;
/// The record format this file writes: pieces of [`PIECE_LEN`] bytes, each behind its
/// xxh3-128 check ([`Check::Xxh3`]).
const FORMAT: u8 = 2;
/// The first format: the same pieces behind a BLAKE3 check ([`Check::Blake3`]); read, no
/// longer written.
const FORMAT_BLAKE3: u8 = 1;

/// Which check guards a block's pieces, fixed by its record's format byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Format 1: the first 16 bytes of BLAKE3(piece key, bytes).
    Blake3,
    /// Format 2: xxh3-128 of the bytes seeded with xxh3-64 of the piece key, big-endian. It
    /// finds damage (bit rot, a torn or misplaced write) as BLAKE3 did, 5-10 times faster;
    /// neither defends against someone who can write the file (they could rewrite checks).
    Xxh3,
}
/// Record flag: the bytes parse as a dag-pb node without links, so a DAG walk that reaches
/// the block as dag-pb need not read it. Unset when unsure.
const FLAG_NO_LINKS: u8 = 1;

/// The parts of redb's errors a caller can act on; everything else is [`StoreError::Io`].
pub(crate) fn db_err(path: &Path, e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(e) if is_full(&e) => StoreError::Full {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        redb::Error::PreviousIo => StoreError::NeedsReopen {
            path: path.to_path_buf(),
        },
        redb::Error::Corrupted(detail) => StoreError::Damaged {
            path: path.to_path_buf(),
            detail,
        },
        other => StoreError::Io {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

fn is_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge | io::ErrorKind::QuotaExceeded
    ) || matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EFBIG | libc::EDQUOT)
    )
}

/// What [`BLOCKS`] says about one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    /// The CID the block was first stored under.
    pub(crate) cid: Cid,
    /// Its length in bytes.
    pub(crate) size: u64,
    /// The bytes are a dag-pb node without links.
    pub(crate) no_links: bool,
    /// The check of its pieces.
    pub(crate) check: Check,
}

impl Record {
    fn new(cid: &Cid, data: &[u8]) -> Self {
        Record {
            cid: *cid,
            size: data.len() as u64,
            no_links: dagpb_without_links(data),
            check: Check::Xxh3,
        }
    }

    fn encode(&self, key: &[u8]) -> [u8; RECORD_LEN] {
        let mut r = [0u8; RECORD_LEN];
        r[0] = match self.check {
            Check::Blake3 => FORMAT_BLAKE3,
            Check::Xxh3 => FORMAT,
        };
        r[1] = match self.cid.version() {
            Version::V0 => 0,
            Version::V1 => 1,
        };
        let codec = u32::try_from(self.cid.codec().code()).unwrap_or(u32::MAX);
        r[2..6].copy_from_slice(&codec.to_be_bytes());
        r[6] = if self.no_links { FLAG_NO_LINKS } else { 0 };
        r[8..16].copy_from_slice(&self.size.to_be_bytes());
        let sum = record_sum(key, &r[..16]);
        r[16..].copy_from_slice(&sum);
        r
    }

    /// Checks and decodes the record stored under `key`.
    pub(crate) fn decode(key: &[u8], value: &[u8], path: &Path) -> Result<Record, StoreError> {
        let mh = Multihash::from_bytes(key).map_err(|e| StoreError::Damaged {
            path: path.to_path_buf(),
            detail: format!("a key of the blocks table is not a multihash ({e})"),
        })?;
        // Until the record is trusted, name the block by its multihash as a raw CIDv1: any
        // CID of the same content finds it.
        let named = Cid::new_v1(Codec::Raw, mh);
        let damaged = |detail: &str| StoreError::BlockDamaged {
            cid: named,
            path: path.to_path_buf(),
            detail: detail.to_string(),
        };
        let r: &[u8; RECORD_LEN] = value
            .try_into()
            .map_err(|_| damaged("block record of the wrong length"))?;
        let check = match r[0] {
            FORMAT => Check::Xxh3,
            FORMAT_BLAKE3 => Check::Blake3,
            _ => return Err(damaged("unknown block record format")),
        };
        if r[16..] != record_sum(key, &r[..16]) {
            return Err(damaged("block record checksum mismatch"));
        }
        let codec = u32::from_be_bytes([r[2], r[3], r[4], r[5]]);
        let codec = Codec::from_code(codec.into()).map_err(|_| damaged("unknown codec"))?;
        let cid = match r[1] {
            0 => Cid::new_v0(mh).map_err(|_| damaged("a CIDv0 record for a non-v0 hash"))?,
            1 => Cid::new_v1(codec, mh),
            _ => return Err(damaged("unknown CID version")),
        };
        let size = u64::from_be_bytes([r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]]);
        if size > MAX_BLOCK_LEN as u64 {
            return Err(damaged("block record size out of range"));
        }
        Ok(Record {
            cid,
            size,
            no_links: r[6] & FLAG_NO_LINKS != 0,
            check,
        })
    }
}

fn record_sum(key: &[u8], fields: &[u8]) -> [u8; 8] {
    let mut h = blake3::Hasher::new();
    h.update(key);
    h.update(fields);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize().as_bytes()[..8]);
    out
}

/// The check of one piece: `key` is the piece's key, so a piece moved under another block or
/// number fails it.
pub(crate) fn piece_sum(check: Check, key: &[u8], bytes: &[u8]) -> [u8; PIECE_SUM] {
    match check {
        Check::Blake3 => {
            let mut h = blake3::Hasher::new();
            h.update(key);
            h.update(bytes);
            let mut out = [0u8; PIECE_SUM];
            out.copy_from_slice(&h.finalize().as_bytes()[..PIECE_SUM]);
            out
        }
        Check::Xxh3 => {
            let seed = xxhash_rust::xxh3::xxh3_64(key);
            xxhash_rust::xxh3::xxh3_128_with_seed(bytes, seed).to_be_bytes()
        }
    }
}

/// Whether `data` is certainly a dag-pb node without links: a scan of the top-level fields
/// that finds no field 2 (`Links`). Anything it cannot parse counts as "may have links", so
/// the flag can only ever save a read, never hide a link from a DAG walk.
pub(crate) fn dagpb_without_links(data: &[u8]) -> bool {
    let mut r = Reader::new(data, "PBNode");
    while !r.is_empty() {
        let Ok((field, wt)) = r.key() else {
            return false;
        };
        if field != 1 {
            return false;
        }
        let ok = match wt {
            LEN => r.bytes().is_ok(),
            VARINT => r.varint().is_ok(),
            FIXED32 => r.fixed32().is_ok(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The key of a block in [`BLOCKS`]: its multihash.
pub(crate) fn block_key(cid: &Cid) -> Vec<u8> {
    cid.hash().to_bytes()
}

fn piece_key(block_key: &[u8], n: u16) -> Vec<u8> {
    let mut k = Vec::with_capacity(block_key.len() + 2);
    k.extend_from_slice(block_key);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// How many pieces a block of `size` bytes has (an empty block has one, empty).
fn piece_count(size: u64) -> u64 {
    size.div_ceil(PIECE_LEN as u64).max(1)
}

/// A table type of ours: byte-string keys and values.
pub(crate) type BytesTable<'t> = Table<'t, &'static [u8], &'static [u8]>;

/// The same, read-only.
type BytesReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// Reads the record of the block under `key`, checked.
pub(crate) fn read_record(
    blocks: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
    path: &Path,
) -> Result<Option<Record>, StoreError> {
    let Some(guard) = blocks.get(key).map_err(|e| db_err(path, e))? else {
        return Ok(None);
    };
    Record::decode(key, guard.value(), path).map(Some)
}

/// Reads bytes `start..end` of a block whose record is `rec`, checking every piece touched.
/// `start <= end <= rec.size`.
pub(crate) fn read_bytes(
    pieces: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
    rec: &Record,
    start: u64,
    end: u64,
    path: &Path,
) -> Result<Vec<u8>, StoreError> {
    let damaged = |detail: String| StoreError::BlockDamaged {
        cid: rec.cid,
        path: path.to_path_buf(),
        detail,
    };
    let piece = PIECE_LEN as u64;
    let count = piece_count(rec.size);
    let first = start / piece;
    let last = if end > start {
        (end - 1) / piece
    } else {
        first
    };
    // Bounded by MAX_BLOCK_LEN, which Record::decode checked.
    let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
    for n in first..=last.min(count - 1) {
        let at = n * piece;
        let want = (rec.size - at).min(piece);
        let n16 = u16::try_from(n).map_err(|_| damaged("too many pieces".into()))?;
        let pkey = piece_key(key, n16);
        let guard = pieces
            .get(pkey.as_slice())
            .map_err(|e| db_err(path, e))?
            .ok_or_else(|| damaged(format!("piece {n} is missing")))?;
        let v = guard.value();
        if v.len() as u64 != PIECE_SUM as u64 + want {
            return Err(damaged(format!("piece {n} has the wrong length")));
        }
        let (sum, bytes) = v.split_at(PIECE_SUM);
        if sum != piece_sum(rec.check, &pkey, bytes) {
            return Err(damaged(format!("checksum mismatch in piece {n}")));
        }
        // The part of this piece inside start..end.
        let from = start.saturating_sub(at).min(want) as usize;
        let to = (end - at).min(want) as usize;
        out.extend_from_slice(&bytes[from..to]);
    }
    Ok(out)
}

/// Writes one block unless its multihash is already stored; returns whether it was new.
/// The caller has checked the length.
pub(crate) fn write_block(
    blocks: &mut BytesTable<'_>,
    pieces: &mut BytesTable<'_>,
    cid: &Cid,
    data: &[u8],
    path: &Path,
) -> Result<bool, StoreError> {
    if cid.hash().code() == IDENTITY {
        return Ok(false);
    }
    let key = block_key(cid);
    if blocks
        .get(key.as_slice())
        .map_err(|e| db_err(path, e))?
        .is_some()
    {
        return Ok(false);
    }
    let rec = Record::new(cid, data);
    for (n, chunk) in chunks(data).enumerate() {
        let n16 = u16::try_from(n).map_err(|_| StoreError::BlockTooLarge {
            cid: *cid,
            len: data.len(),
        })?;
        let pkey = piece_key(&key, n16);
        // Written in place: no copy of the bytes besides the one into the page.
        let mut slot = pieces
            .insert_reserve(pkey.as_slice(), PIECE_SUM + chunk.len())
            .map_err(|e| db_err(path, e))?;
        let out = slot.as_mut();
        out[..PIECE_SUM].copy_from_slice(&piece_sum(rec.check, &pkey, chunk));
        out[PIECE_SUM..].copy_from_slice(chunk);
    }
    blocks
        .insert(key.as_slice(), rec.encode(&key).as_slice())
        .map_err(|e| db_err(path, e))?;
    Ok(true)
}

/// The pieces of `data`; an empty block is one empty piece.
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let empty: &[u8] = &[];
    let first = data.is_empty().then_some(empty);
    first.into_iter().chain(data.chunks(PIECE_LEN))
}

/// Removes a block's record and all its pieces (found by key range, so a damaged record does
/// not leave pieces behind). Returns the record's size if it was readable, 0 if not, `None`
/// when the block was not there.
pub(crate) fn remove_block(
    blocks: &mut BytesTable<'_>,
    pieces: &mut BytesTable<'_>,
    key: &[u8],
    path: &Path,
) -> Result<Option<u64>, StoreError> {
    let size = {
        let Some(old) = blocks.remove(key).map_err(|e| db_err(path, e))? else {
            return Ok(None);
        };
        Record::decode(key, old.value(), path).map_or(0, |r| r.size)
    };
    remove_pieces(pieces, key, path)?;
    Ok(Some(size))
}

/// Removes every piece of the block under `key`.
pub(crate) fn remove_pieces(
    pieces: &mut BytesTable<'_>,
    key: &[u8],
    path: &Path,
) -> Result<(), StoreError> {
    let lo = piece_key(key, 0);
    let hi = piece_key(key, u16::MAX);
    pieces
        .retain_in::<&[u8], _>(lo.as_slice()..=hi.as_slice(), |_, _| false)
        .map_err(|e| db_err(path, e))
}

/// Opens a table for reading; a table never written yet reads as absent.
pub(crate) fn open_read(
    tx: &redb::ReadTransaction,
    def: redb::TableDefinition<&'static [u8], &'static [u8]>,
    path: &Path,
) -> Result<Option<BytesReadTable>, StoreError> {
    match tx.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(db_err(path, e)),
    }
}

/// The block store of one database. Cheap to make: it borrows the database.
#[derive(Clone, Copy)]
pub struct Blocks<'s> {
    pub(crate) db: &'s Database,
    pub(crate) path: &'s Path,
}

impl<'s> Blocks<'s> {
    /// The block store in `store`.
    pub fn new(store: &'s Store) -> Self {
        Blocks {
            db: store.db(),
            path: store.path(),
        }
    }

    /// The block store in any redb database (tests, tools); `path` names it in errors.
    pub fn over(db: &'s Database, path: &'s Path) -> Self {
        Blocks { db, path }
    }

    pub(crate) fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        db_err(self.path, e)
    }

    /// Stores a block whose CID the caller computed from these bytes (the importer). Returns
    /// whether it was new; a block already there is left as it is, unread.
    pub fn put(&self, cid: &Cid, data: &[u8]) -> Result<bool, StoreError> {
        Ok(self.put_many([(cid, data)])? == 1)
    }

    /// Stores a block that came from outside (a peer, a CAR file) after checking that the
    /// bytes hash to `cid` ([`StoreError::HashMismatch`] if not).
    pub fn put_verified(&self, cid: &Cid, data: &[u8]) -> Result<bool, StoreError> {
        cid.verify(data)
            .map_err(|_| StoreError::HashMismatch { cid: *cid })?;
        self.put(cid, data)
    }

    /// Stores a batch in one transaction: all of it or, on any error, none of it. Returns how
    /// many blocks were new. An importer calls this per batch of a few MiB and pins the root
    /// last, so an add that fails halfway leaves only unpinned blocks that the next
    /// [`Blocks::gc`] removes.
    pub fn put_many<'b>(
        &self,
        blocks: impl IntoIterator<Item = (&'b Cid, &'b [u8])>,
    ) -> Result<usize, StoreError> {
        self.put_many_with(blocks, true)
    }

    /// [`Blocks::put_many`] whose commit is not flushed to disk when `durable` is false: redb
    /// persists it only with the next durable commit, so an importer writes its batches this
    /// way and makes the last batch (or the pin) durable. A crash before that loses the
    /// unflushed batches, which were unpinned garbage anyway. Saves an fsync per batch and
    /// lets small batches stay in redb's cache.
    pub fn put_many_with<'b>(
        &self,
        blocks: impl IntoIterator<Item = (&'b Cid, &'b [u8])>,
        durable: bool,
    ) -> Result<usize, StoreError> {
        self.put_many_tagged(blocks, durable, None)
    }

    /// [`Blocks::put_many_with`] that also records `tag` for every block of the batch, new or
    /// already stored (the caller had the bytes): [`Tag::Public`] for a plain add,
    /// [`Tag::Mimei`] for content written for a Mimei. Either way, the Mimei tags of each new
    /// block are carried to its links in the same transaction (`tags::propagate`).
    pub fn put_many_tagged<'b>(
        &self,
        blocks: impl IntoIterator<Item = (&'b Cid, &'b [u8])>,
        durable: bool,
        tag: Option<Tag>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.db.begin_write().map_err(|e| self.err(e))?;
        if !durable {
            tx.set_durability(redb::Durability::None)
                .map_err(|e| self.err(e))?;
        }
        let mut new = 0;
        {
            let mut index = tx.open_table(BLOCKS).map_err(|e| self.err(e))?;
            let mut pieces = tx.open_table(BLOCK_PIECES).map_err(|e| self.err(e))?;
            let mut tags = tx.open_table(BLOCK_TAGS).map_err(|e| self.err(e))?;
            let mut changed: Vec<(&Cid, &[u8])> = Vec::new();
            for (cid, data) in blocks {
                if data.len() > MAX_BLOCK_LEN {
                    return Err(StoreError::BlockTooLarge {
                        cid: *cid,
                        len: data.len(),
                    });
                }
                let fresh = write_block(&mut index, &mut pieces, cid, data, self.path)?;
                let retagged = match tag {
                    Some(t) if cid.hash().code() != IDENTITY => {
                        super::tags::insert(&mut tags, &block_key(cid), t, self.path)?
                            && matches!(t, Tag::Mimei(_))
                    }
                    _ => false,
                };
                if fresh {
                    new += 1;
                }
                if fresh || retagged {
                    changed.push((cid, data));
                }
            }
            let mut t = super::tags::Tagger {
                tags: &mut tags,
                index: &index,
                pieces: &pieces,
                path: self.path,
            };
            super::tags::propagate(&mut t, &changed)?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(new)
    }

    /// What the block index says about a block (`store::tags`): its public mark and the
    /// Mimeis it is content of. Identity CIDs and blocks never tagged have none.
    pub fn tags(&self, cid: &Cid) -> Result<Tags, StoreError> {
        if cid.hash().code() == IDENTITY {
            return Ok(Tags::default());
        }
        let tx = self.read_tx()?;
        let table = match tx.open_table(BLOCK_TAGS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Tags::default()),
            Err(e) => return Err(self.err(e)),
        };
        super::tags::read_tags(&table, &block_key(cid), self.path)
    }

    fn read_tx(&self) -> Result<redb::ReadTransaction, StoreError> {
        self.db.begin_read().map_err(|e| self.err(e))
    }

    /// The record of a stored block (`None` for identity CIDs and absent blocks).
    fn record(&self, cid: &Cid) -> Result<Option<Record>, StoreError> {
        let tx = self.read_tx()?;
        let Some(index) = open_read(&tx, BLOCKS, self.path)? else {
            return Ok(None);
        };
        read_record(&index, &block_key(cid), self.path)
    }

    /// The block's bytes, checked; `None` if it is not stored.
    pub fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_range(cid, 0, MAX_BLOCK_LEN as u64)
    }

    /// Up to `len` bytes of the block from `start` (fewer at its end, none past it), reading
    /// and checking only the pieces they lie in; `None` if the block is not stored.
    pub fn get_range(
        &self,
        cid: &Cid,
        start: u64,
        len: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if cid.hash().code() == IDENTITY {
            let d = cid.hash().digest();
            let s = usize::try_from(start).unwrap_or(usize::MAX).min(d.len());
            let e = s
                .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                .min(d.len());
            return Ok(Some(d[s..e].to_vec()));
        }
        let tx = self.read_tx()?;
        let Some(index) = open_read(&tx, BLOCKS, self.path)? else {
            return Ok(None);
        };
        let key = block_key(cid);
        let Some(rec) = read_record(&index, &key, self.path)? else {
            return Ok(None);
        };
        let pieces =
            open_read(&tx, BLOCK_PIECES, self.path)?.ok_or_else(|| StoreError::BlockDamaged {
                cid: *cid,
                path: self.path.to_path_buf(),
                detail: "the pieces table is missing".into(),
            })?;
        let s = start.min(rec.size);
        let e = s.saturating_add(len).min(rec.size);
        read_bytes(&pieces, &key, &rec, s, e, self.path).map(Some)
    }

    /// Whether the block is stored (identity CIDs always are). Reads only its record.
    pub fn has(&self, cid: &Cid) -> Result<bool, StoreError> {
        Ok(cid.hash().code() == IDENTITY || self.record(cid)?.is_some())
    }

    /// The links of a stored block: `None` if it is not stored, none for raw blocks and for
    /// dag-pb blocks whose record says they have none (a file's leaves: not read), else
    /// those its dag-pb or database dag-cbor node names (sync walks DAGs with this).
    pub fn links(&self, cid: &Cid) -> Result<Option<Vec<Cid>>, StoreError> {
        if cid.hash().code() == IDENTITY {
            return Ok(Some(Vec::new()));
        }
        let Some(rec) = self.record(cid)? else {
            return Ok(None);
        };
        if cid.codec() == Codec::Raw || (cid.codec() == Codec::DagPb && rec.no_links) {
            return Ok(Some(Vec::new()));
        }
        let Some(bytes) = self.get(cid)? else {
            return Ok(None);
        };
        Ok(Some(
            super::gc::links(cid.codec(), &bytes).unwrap_or_default(),
        ))
    }

    /// The block's length, from its record; `None` if it is not stored.
    pub fn size(&self, cid: &Cid) -> Result<Option<u64>, StoreError> {
        if cid.hash().code() == IDENTITY {
            return Ok(Some(cid.hash().digest().len() as u64));
        }
        Ok(self.record(cid)?.map(|r| r.size))
    }

    /// Deletes a block, damaged or not, whatever pins say (pins name roots, not blocks; use
    /// [`Blocks::gc`] to remove what nothing needs). Returns whether it was there.
    pub fn delete(&self, cid: &Cid) -> Result<bool, StoreError> {
        if cid.hash().code() == IDENTITY {
            return Ok(false);
        }
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let gone = {
            let mut index = tx.open_table(BLOCKS).map_err(|e| self.err(e))?;
            let mut pieces = tx.open_table(BLOCK_PIECES).map_err(|e| self.err(e))?;
            // Its tags stay (a damaged block deleted to be fetched again comes back as private
            // as it was); `gc` removes the tags of blocks no longer stored.
            remove_block(&mut index, &mut pieces, &block_key(cid), self.path)?.is_some()
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(gone)
    }

    /// Number of stored blocks.
    pub fn count(&self) -> Result<u64, StoreError> {
        let tx = self.read_tx()?;
        match open_read(&tx, BLOCKS, self.path)? {
            Some(t) => t.len().map_err(|e| self.err(e)),
            None => Ok(0),
        }
    }

    /// One page of the stored blocks, in multihash order: up to `limit` CIDs (each as it was
    /// first stored) after `after` (`None` to start). Pass the last CID of a page to get the
    /// next; an empty page is the end.
    pub fn list(&self, after: Option<&Cid>, limit: usize) -> Result<Vec<Cid>, StoreError> {
        let tx = self.read_tx()?;
        let Some(index) = open_read(&tx, BLOCKS, self.path)? else {
            return Ok(Vec::new());
        };
        let from = after.map(block_key);
        let lower = match &from {
            Some(k) => Bound::Excluded(k.as_slice()),
            None => Bound::Unbounded,
        };
        let range = index
            .range::<&[u8]>((lower, Bound::Unbounded))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for entry in range.take(limit) {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            out.push(Record::decode(k.value(), v.value(), self.path)?.cid);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
pub(crate) mod tests;
