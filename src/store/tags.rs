//! The block index: which Mimeis each block is content of, and which blocks were added as
//! public. `ops::blocks` reads it to decide who may read a block by its CID (`/ipfs/`,
//! bitswap, `IpfsCat`, ...; docs/security.md, "Blocks by CID").
//!
//! # Table
//!
//! [`BLOCK_TAGS`]: key = the block's multihash (the key of `blocks`) + a tag, value `()`:
//!
//! - `0`, the **public mark**: the block was added plainly (`IpfsAdd`, `POST /ipfs/add`,
//!   `POST /ipfs/car`, `MFTemp2Ipfs` without a Mimei), so it is served to anyone, whatever
//!   Mimeis also hold it;
//! - `1` + a Mimei ID (20 bytes): the block is content of that Mimei (`cur` or a version).
//!
//! Multihashes are prefix-free (their code and length come first), so a block's tags are one
//! short range scan. A block records at most [`MAX_MIMEIS`] Mimeis: past that it is *full*,
//! further Mimeis are not recorded, and it is readable by CID only through the ones recorded
//! (fail closed; a Mimei's own doors, `/mm/`, still serve it). Tags may name blocks not
//! stored yet (a sync under way), so a block arrives already tagged.
//!
//! # The invariant, and the walk
//!
//! A block tagged with Mimei M has its links tagged M too, except links that are full, links
//! the walk was not allowed to take ([`Verdict::Skip`]: a block of another Mimei the writer
//! may not read), and links not stored yet, whose links are tagged when they arrive: a put
//! carries the Mimei tags of each new block to its links ([`propagate`]). So a walk that tags
//! a new root for M ([`Tagger::walk`]) stops at the first block already tagged M, and a change
//! to a Mimei costs only its new blocks: an edit of one file in a big tree walks the changed
//! path, not the tree. Memory: the walk holds the interior nodes still to read (at most
//! [`MAX_PENDING`]); leaves are tagged from their records without being read.
//!
//! `gc` removes the tags of blocks that are not stored (swept, deleted, or never fetched). A stale tag (content that left a Mimei) only narrows who may read the block.

use std::fmt;
use std::path::Path;

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use super::StoreError;
use super::blocks::{Record, block_key, db_err, read_bytes, read_record};
use crate::ipfs::multihash::IDENTITY;
use crate::ipfs::{Cid, Codec, Multihash};

/// `block_tags`: multihash + tag -> `()`; see the module doc.
pub const BLOCK_TAGS: TableDefinition<&[u8], ()> = TableDefinition::new("block_tags");

/// Most Mimeis recorded per block. Past it a block is full (see the module doc). Bounds the
/// table at this many entries per stored block, whatever users link.
pub const MAX_MIMEIS: usize = 64;

/// Most blocks one walk tags (a sync takes at most 4,000,000 blocks per version too).
pub const MAX_WALK: u64 = 4_000_000;

/// Most interior nodes a walk holds to read (~70 bytes each).
pub const MAX_PENDING: usize = 1 << 16;

/// The tag byte of the public mark.
const PUBLIC: u8 = 0;
/// The tag byte of a Mimei tag, followed by the Mimei ID.
const MIMEI: u8 = 1;

/// A Mimei ID's 20 bytes (the store does not know the Mimei layer's type).
pub type Mid = [u8; 20];

/// The table type.
pub(crate) type TagTable<'t> = Table<'t, &'static [u8], ()>;

/// One tag to record for a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// Added plainly: served to anyone.
    Public,
    /// Content of this Mimei.
    Mimei(Mid),
}

/// What the index says about one block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    /// The public mark is set.
    pub public: bool,
    /// The Mimeis recorded (at most [`MAX_MIMEIS`]), in byte order.
    pub mimeis: Vec<Mid>,
}

impl Tags {
    /// Anyone may read the block: it carries the public mark or belongs to no Mimei.
    pub fn open(&self) -> bool {
        self.public || self.mimeis.is_empty()
    }

    /// No further Mimei can be recorded.
    pub fn full(&self) -> bool {
        self.mimeis.len() >= MAX_MIMEIS
    }

    /// Whether Mimei `mid` is recorded.
    pub fn has(&self, mid: &Mid) -> bool {
        self.mimeis.binary_search(mid).is_ok()
    }
}

/// What a walk does with a block that belongs to other Mimeis and is not public, asked of the
/// caller (who knows who the writer is and what they may read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Tag it and go on below it: the writer may read it.
    Take,
    /// Leave it and what is below it untagged for this Mimei.
    Skip,
    /// Stop: the whole change is refused ([`TagError::Foreign`]).
    Refuse,
}

/// What went wrong tagging.
#[derive(Debug)]
#[non_exhaustive]
pub enum TagError {
    /// The database failed.
    Store(StoreError),
    /// The walk reached a block of other Mimeis the writer may not read, and was told to
    /// refuse such a block.
    Foreign {
        /// The block.
        cid: Cid,
    },
    /// The DAG is larger than one walk takes ([`MAX_WALK`] blocks, [`MAX_PENDING`] interior
    /// nodes at once).
    TooLarge {
        /// Which bound.
        what: &'static str,
    },
}

impl fmt::Display for TagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagError::Store(e) => write!(f, "{e}"),
            TagError::Foreign { cid } => write!(
                f,
                "block {cid} belongs to a Mimei you may not read; a Mimei takes only content its \
                 writer may read (docs/security.md, \"Blocks by CID\")"
            ),
            TagError::TooLarge { what } => write!(
                f,
                "the DAG is too large to index ({what}); split it over several Mimeis"
            ),
        }
    }
}

impl std::error::Error for TagError {}

impl From<StoreError> for TagError {
    fn from(e: StoreError) -> Self {
        TagError::Store(e)
    }
}

/// What walks did, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkReport {
    /// Tags recorded.
    pub tagged: u64,
    /// Of those, on blocks not stored yet.
    pub pending: u64,
    /// Blocks of other Mimeis left untagged ([`Verdict::Skip`]).
    pub skipped: u64,
    /// Full blocks reached (not recorded).
    pub full: u64,
}

impl WalkReport {
    /// Adds another walk's counts.
    pub fn add(&mut self, o: &WalkReport) {
        self.tagged += o.tagged;
        self.pending += o.pending;
        self.skipped += o.skipped;
        self.full += o.full;
    }
}

fn tag_key(mh: &[u8], tag: Tag) -> Vec<u8> {
    let mut k = Vec::with_capacity(mh.len() + 21);
    k.extend_from_slice(mh);
    match tag {
        Tag::Public => k.push(PUBLIC),
        Tag::Mimei(m) => {
            k.push(MIMEI);
            k.extend_from_slice(&m);
        }
    }
    k
}

/// The tags of the block whose multihash is `mh`.
pub(crate) fn read_tags(
    table: &impl ReadableTable<&'static [u8], ()>,
    mh: &[u8],
    path: &Path,
) -> Result<Tags, StoreError> {
    let mut out = Tags::default();
    for row in table
        .range::<&[u8]>(mh..)
        .map_err(|e| db_err(path, e))?
        .take(MAX_MIMEIS + 2)
    {
        let (k, _) = row.map_err(|e| db_err(path, e))?;
        let Some(rest) = k.value().strip_prefix(mh) else {
            break;
        };
        match rest {
            [PUBLIC] => out.public = true,
            [MIMEI, m @ ..] => {
                if let Ok(m) = Mid::try_from(m) {
                    out.mimeis.push(m);
                }
            }
            // A key of another layout: not ours to read; it grants nothing.
            _ => {}
        }
    }
    out.mimeis.truncate(MAX_MIMEIS);
    Ok(out)
}

/// Records `tag` for the block `mh` unless it is there or the block is full; returns whether
/// a tag was added.
pub(crate) fn insert(
    table: &mut TagTable<'_>,
    mh: &[u8],
    tag: Tag,
    path: &Path,
) -> Result<bool, StoreError> {
    if let Tag::Mimei(m) = &tag {
        let t = read_tags(&*table, mh, path)?;
        if t.has(m) || t.full() {
            return Ok(false);
        }
    }
    let prev = table
        .insert(tag_key(mh, tag).as_slice(), ())
        .map_err(|e| db_err(path, e))?;
    Ok(prev.is_none())
}

/// Removes the tags of blocks that are not stored (tags recorded ahead of a sync that never
/// brought the block). Run by `gc` after its sweep; returns how many went.
pub(crate) fn remove_orphans(
    table: &mut TagTable<'_>,
    index: &impl ReadableTable<&'static [u8], &'static [u8]>,
    path: &Path,
) -> Result<u64, StoreError> {
    let mut failed = None;
    let mut removed = 0u64;
    table
        .retain(|k, _| {
            let Ok((_, used)) = Multihash::read_bytes(k) else {
                removed += 1;
                return false;
            };
            match index.get(&k[..used]) {
                Ok(Some(_)) => true,
                Ok(None) => {
                    removed += 1;
                    false
                }
                Err(e) => {
                    failed.get_or_insert(e);
                    true
                }
            }
        })
        .map_err(|e| db_err(path, e))?;
    if let Some(e) = failed {
        return Err(db_err(path, e));
    }
    Ok(removed)
}

/// The links to follow under a stored block, from its record and bytes: none for raw blocks
/// and dag-pb blocks recorded without links.
fn descends(cid: &Cid, rec: &Record) -> bool {
    match cid.codec() {
        Codec::Raw => false,
        Codec::DagPb => !rec.no_links,
        Codec::DagCbor => true,
    }
}

/// Walks inside one write transaction, over tables the caller opened.
pub(crate) struct Tagger<'a, 't, I, P> {
    /// The index.
    pub(crate) tags: &'a mut TagTable<'t>,
    /// `blocks`, for records.
    pub(crate) index: &'a I,
    /// `block_pieces`, to read interior nodes.
    pub(crate) pieces: &'a P,
    /// The database file, for errors.
    pub(crate) path: &'a Path,
}

impl<I, P> Tagger<'_, '_, I, P>
where
    I: ReadableTable<&'static [u8], &'static [u8]>,
    P: ReadableTable<&'static [u8], &'static [u8]>,
{
    /// Tags `start` and what lies below for Mimei `mid` (see the module doc), asking
    /// `verdict` about blocks of other Mimeis that are not public.
    pub(crate) fn walk(
        &mut self,
        start: &[Cid],
        mid: &Mid,
        verdict: &mut dyn FnMut(&Tags) -> Verdict,
        report: &mut WalkReport,
    ) -> Result<(), TagError> {
        let mut pending: Vec<Cid> = Vec::new();
        let mut seen = 0u64;
        for cid in start {
            if self.visit(cid, mid, verdict, report, &mut seen)? {
                push(&mut pending, *cid)?;
            }
        }
        while let Some(cid) = pending.pop() {
            let Some(bytes) = self.bytes(&cid)? else {
                continue;
            };
            let Some(links) = super::gc::links(cid.codec(), &bytes) else {
                continue;
            };
            for l in links {
                if self.visit(&l, mid, verdict, report, &mut seen)? {
                    push(&mut pending, l)?;
                }
            }
        }
        Ok(())
    }

    /// One block: tags it for `mid` if it may; returns whether its links are to be read.
    fn visit(
        &mut self,
        cid: &Cid,
        mid: &Mid,
        verdict: &mut dyn FnMut(&Tags) -> Verdict,
        report: &mut WalkReport,
        seen: &mut u64,
    ) -> Result<bool, TagError> {
        if cid.hash().code() == IDENTITY {
            // Inline bytes: nothing stored to tag, but a node may link to stored blocks.
            return Ok(cid.codec() != Codec::Raw);
        }
        let key = block_key(cid);
        let tags = read_tags(&*self.tags, &key, self.path)?;
        if tags.has(mid) {
            return Ok(false);
        }
        if !tags.open() {
            match verdict(&tags) {
                Verdict::Take => {}
                Verdict::Skip => {
                    report.skipped += 1;
                    return Ok(false);
                }
                Verdict::Refuse => return Err(TagError::Foreign { cid: *cid }),
            }
        }
        if tags.full() {
            report.full += 1;
            return Ok(false);
        }
        *seen += 1;
        if *seen > MAX_WALK {
            return Err(TagError::TooLarge {
                what: "more than 4,000,000 blocks",
            });
        }
        self.tags
            .insert(tag_key(&key, Tag::Mimei(*mid)).as_slice(), ())
            .map_err(|e| db_err(self.path, e))?;
        report.tagged += 1;
        match read_record(self.index, &key, self.path) {
            Ok(Some(rec)) => Ok(descends(cid, &rec)),
            Ok(None) => {
                report.pending += 1;
                Ok(false)
            }
            // A damaged block's links cannot be known; it stays tagged, a leaf.
            Err(StoreError::BlockDamaged { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes of an interior node (inline for identity CIDs); `None` if unreadable.
    fn bytes(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        if cid.hash().code() == IDENTITY {
            return Ok(Some(cid.hash().digest().to_vec()));
        }
        let key = block_key(cid);
        let rec = match read_record(self.index, &key, self.path) {
            Ok(Some(r)) => Record { cid: *cid, ..r },
            Ok(None) | Err(StoreError::BlockDamaged { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        match read_bytes(self.pieces, &key, &rec, 0, rec.size, self.path) {
            Ok(b) => Ok(Some(b)),
            Err(StoreError::BlockDamaged { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn push(pending: &mut Vec<Cid>, cid: Cid) -> Result<(), TagError> {
    if pending.len() >= MAX_PENDING {
        return Err(TagError::TooLarge {
            what: "more than 65,536 interior nodes to read at once",
        });
    }
    pending.push(cid);
    Ok(())
}

/// Carries the Mimei tags of the blocks just written to their links (the invariant of the
/// module doc): `written` are the blocks of one put that are new or got a Mimei tag. Links that
/// belong to other Mimeis and are not public are skipped: whoever wrote the block proved
/// nothing about them. A walk that hits a bound is logged and left there.
pub(crate) fn propagate<I, P>(
    t: &mut Tagger<'_, '_, I, P>,
    written: &[(&Cid, &[u8])],
) -> Result<WalkReport, StoreError>
where
    I: ReadableTable<&'static [u8], &'static [u8]>,
    P: ReadableTable<&'static [u8], &'static [u8]>,
{
    let mut report = WalkReport::default();
    for (cid, data) in written {
        // Leaves have no links: most blocks of a file end here, unread by the index.
        let leaf = match cid.codec() {
            Codec::Raw => true,
            Codec::DagPb => super::blocks::dagpb_without_links(data),
            Codec::DagCbor => false,
        };
        if leaf || cid.hash().code() == IDENTITY {
            continue;
        }
        let tags = read_tags(&*t.tags, &block_key(cid), t.path)?;
        if tags.mimeis.is_empty() {
            continue;
        }
        let Some(links) = super::gc::links(cid.codec(), data) else {
            continue;
        };
        for mid in &tags.mimeis {
            let mut r = WalkReport::default();
            match t.walk(&links, mid, &mut |_| Verdict::Skip, &mut r) {
                Ok(()) => {}
                Err(TagError::Store(e)) => return Err(e),
                Err(e) => crate::log_warn!("block index: links of {cid} left untagged: {e}"),
            }
            report.add(&r);
        }
    }
    Ok(report)
}

/// Tags `root` and what lies below for Mimei `mid` in `tx` (the Mimei layer's transaction
/// that changes the Mimei's roots, so the change and its tags commit together).
pub fn tag_in(
    tx: &WriteTransaction,
    path: &Path,
    root: &Cid,
    mid: &Mid,
    verdict: &mut dyn FnMut(&Tags) -> Verdict,
) -> Result<WalkReport, TagError> {
    let mut tags = tx.open_table(BLOCK_TAGS).map_err(|e| db_err(path, e))?;
    let index = tx.open_table(super::BLOCKS).map_err(|e| db_err(path, e))?;
    let pieces = tx
        .open_table(super::BLOCK_PIECES)
        .map_err(|e| db_err(path, e))?;
    let mut t = Tagger {
        tags: &mut tags,
        index: &index,
        pieces: &pieces,
        path,
    };
    let mut report = WalkReport::default();
    t.walk(std::slice::from_ref(root), mid, verdict, &mut report)?;
    Ok(report)
}

impl super::Blocks<'_> {
    /// Tags `roots` and what lies below for Mimei `mid` in one transaction, asking `verdict`
    /// about blocks of other Mimeis (a refusal commits nothing).
    pub fn tag(
        &self,
        roots: &[Cid],
        mid: &Mid,
        verdict: &mut dyn FnMut(&Tags) -> Verdict,
    ) -> Result<WalkReport, TagError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut report = WalkReport::default();
        for root in roots {
            report.add(&tag_in(&tx, self.path, root, mid, verdict)?);
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(report)
    }
}

/// The meta key that says the index covers every Mimei stored (`mimei::content`).
pub const BUILT_KEY: &str = "block_tags_built";

#[cfg(test)]
#[path = "tags_tests.rs"]
mod tests;
