//! Mimeis in the node's redb file: signed headers, signed numbered version records, the
//! writable `cur` root, the `release` marker, and the roots `repo gc` must keep.
//!
//! This is the one file of `mimei/` that does I/O; the rest stays sans-io. Every header and
//! version record is verified each time it is read (signature, derived ID, the signer's
//! write right): a record that fails is refused with [`MimeiStoreError::Corrupt`], never
//! returned. The local state (`cur`, `release`, the next version number) is not signed: it
//! never leaves the node. Tables and value layouts: docs/storage.md.

use std::fmt;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{MimeiError, MimeiHeader, MimeiId, VersionName, VersionRecord};
use crate::ipfs::Cid;
use crate::store::blocks::db_err;
use crate::store::tags::{TagError, Tags, Verdict};
use crate::store::{Store, StoreError};

/// What a change of a Mimei's content does with a block of other Mimeis that is not public:
/// asked by the tag walk (`store::tags`) with that block's tags. The doors build it from
/// who is writing (`ops::blocks::verdict`).
pub type Verdicts<'v> = &'v mut dyn FnMut(&Tags) -> Verdict;

/// `mimei_headers`: Mimei ID (20 bytes) -> the signed header (docs/mimei.md).
pub const HEADERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("mimei_headers");
/// `mimei_versions`: Mimei ID (20 bytes) + version (u64 BE) -> the signed version record.
pub const VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("mimei_versions");
/// `mimei_state`: Mimei ID (20 bytes) -> release (u64 BE, 0 = none), next version number
/// (u64 BE), then the binary `cur` root CID (empty while `cur` has none).
pub const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("mimei_state");

/// What went wrong storing or reading a Mimei.
#[derive(Debug)]
#[non_exhaustive]
pub enum MimeiStoreError {
    /// The database failed.
    Store(StoreError),
    /// The request breaks a rule of the model (bad name, missing right, ...).
    Model(MimeiError),
    /// The Mimei or the version is not on this node.
    NotFound(String),
    /// A stored header or version record failed verification: the store is corrupt (or was
    /// tampered with). It was not used.
    Corrupt {
        /// The Mimei.
        mid: MimeiId,
        /// What failed: "header" or "version N".
        what: String,
        /// Why.
        detail: MimeiError,
    },
    /// The operation needs a state the Mimei is not in (an empty `cur`, ...).
    Conflict(String),
    /// The new content links a block of another Mimei that the writer may not read
    /// (`store::tags`, docs/security.md "Blocks by CID"); nothing was changed.
    Foreign {
        /// The block.
        cid: Cid,
    },
}

impl MimeiStoreError {
    /// The HTTP status for the front doors.
    pub fn http_status(&self) -> u16 {
        match self {
            MimeiStoreError::Store(_) | MimeiStoreError::Corrupt { .. } => 500,
            MimeiStoreError::Model(e) => e.http_status(),
            MimeiStoreError::NotFound(_) => 404,
            MimeiStoreError::Conflict(_) => 409,
            MimeiStoreError::Foreign { .. } => 403,
        }
    }
}

impl fmt::Display for MimeiStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MimeiStoreError::Store(e) => write!(f, "{e}"),
            MimeiStoreError::Model(e) => write!(f, "{e}"),
            MimeiStoreError::NotFound(m) | MimeiStoreError::Conflict(m) => f.write_str(m),
            MimeiStoreError::Corrupt { mid, what, detail } => write!(
                f,
                "the stored {what} of Mimei {mid} failed verification ({detail}); it was refused \
                 and not served: the database is damaged or was changed outside leither"
            ),
            MimeiStoreError::Foreign { cid } => write!(
                f,
                "block {cid} belongs to a Mimei you may not read, so no Mimei of yours may take \
                 it: a Mimei holds only content its writer may read (add the bytes yourself; \
                 docs/security.md, \"Blocks by CID\")"
            ),
        }
    }
}

impl std::error::Error for MimeiStoreError {}

impl From<StoreError> for MimeiStoreError {
    fn from(e: StoreError) -> Self {
        MimeiStoreError::Store(e)
    }
}

impl From<TagError> for MimeiStoreError {
    fn from(e: TagError) -> Self {
        match e {
            TagError::Store(e) => MimeiStoreError::Store(e),
            TagError::Foreign { cid } => MimeiStoreError::Foreign { cid },
            other => MimeiStoreError::Conflict(other.to_string()),
        }
    }
}

impl From<MimeiError> for MimeiStoreError {
    fn from(e: MimeiError) -> Self {
        MimeiStoreError::Model(e)
    }
}

/// The local, unsigned state of a Mimei.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalState {
    /// The version named `release`, 0 for none.
    pub release: u64,
    /// The number the next version gets; numbers are never reused, even after `delver`.
    pub next: u64,
    /// The writable root, if `cur` has one.
    pub cur: Option<Cid>,
}

impl LocalState {
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16 + 40);
        v.extend_from_slice(&self.release.to_be_bytes());
        v.extend_from_slice(&self.next.to_be_bytes());
        if let Some(c) = &self.cur {
            v.extend_from_slice(&c.to_bytes());
        }
        v
    }

    fn from_bytes(b: &[u8]) -> Option<LocalState> {
        if b.len() < 16 {
            return None;
        }
        let release = u64::from_be_bytes(b[..8].try_into().ok()?);
        let next = u64::from_be_bytes(b[8..16].try_into().ok()?);
        let cur = if b.len() == 16 {
            None
        } else {
            Some(Cid::from_bytes(&b[16..]).ok()?)
        };
        Some(LocalState { release, next, cur })
    }
}

fn version_key(mid: &MimeiId, version: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..20].copy_from_slice(mid.as_bytes());
    k[20..].copy_from_slice(&version.to_be_bytes());
    k
}

/// The Mimei tables of one [`Store`].
pub struct Mimeis<'s> {
    store: &'s Store,
}

impl<'s> Mimeis<'s> {
    /// The Mimei tables of `store`.
    pub fn new(store: &'s Store) -> Self {
        Mimeis { store }
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        db_err(self.store.path(), e)
    }

    fn get_raw(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let v = t.get(key).map_err(|e| self.err(e))?;
        Ok(v.map(|g| g.value().to_vec()))
    }

    /// Stores a new Mimei: its header (verified first) and an empty local state. An existing
    /// Mimei of the same ID is left as it is and reported as [`MimeiStoreError::Conflict`].
    pub fn create(&self, header: &MimeiHeader) -> Result<(), MimeiStoreError> {
        header.verify()?;
        let mid = header.mid();
        if self.get_raw(HEADERS, mid.as_bytes())?.is_some() {
            return Err(MimeiStoreError::Conflict(format!(
                "Mimei {mid} already exists on this node"
            )));
        }
        let state = LocalState {
            release: 0,
            next: 1,
            cur: None,
        };
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut h = tx.open_table(HEADERS).map_err(|e| self.err(e))?;
            h.insert(mid.as_bytes().as_slice(), header.to_bytes().as_slice())
                .map_err(|e| self.err(e))?;
            let mut s = tx.open_table(STATE).map_err(|e| self.err(e))?;
            s.insert(mid.as_bytes().as_slice(), state.to_bytes().as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Replaces the header by a newer revision of the same Mimei (`MMSetRight`).
    pub fn put_header(&self, header: &MimeiHeader) -> Result<(), MimeiStoreError> {
        header.verify()?;
        let old = self.header(header.mid())?;
        if header.fields().revision <= old.fields().revision {
            return Err(MimeiStoreError::Conflict(format!(
                "header revision {} of Mimei {} is not newer than the stored {}",
                header.fields().revision,
                header.mid(),
                old.fields().revision
            )));
        }
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut h = tx.open_table(HEADERS).map_err(|e| self.err(e))?;
            h.insert(
                header.mid().as_bytes().as_slice(),
                header.to_bytes().as_slice(),
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The verified header of `mid`.
    pub fn header(&self, mid: &MimeiId) -> Result<MimeiHeader, MimeiStoreError> {
        let bytes = self
            .get_raw(HEADERS, mid.as_bytes())?
            .ok_or_else(|| MimeiStoreError::NotFound(format!("Mimei {mid} is not on this node")))?;
        let corrupt = |detail| MimeiStoreError::Corrupt {
            mid: *mid,
            what: "header".into(),
            detail,
        };
        let h = MimeiHeader::from_bytes(&bytes).map_err(corrupt)?;
        h.verify().map_err(corrupt)?;
        if h.mid() != mid {
            return Err(corrupt(MimeiError::WrongMimei {
                expected: *mid,
                found: *h.mid(),
            }));
        }
        Ok(h)
    }

    /// The ID of every Mimei whose header is here, in byte order.
    pub fn ids(&self) -> Result<Vec<MimeiId>, MimeiStoreError> {
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(HEADERS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e).into()),
        };
        let mut out = Vec::new();
        for item in t.iter().map_err(|e| self.err(e))? {
            let (k, _) = item.map_err(|e| self.err(e))?;
            if let Ok(a) = <[u8; 20]>::try_from(k.value()) {
                out.push(MimeiId::from_bytes(a));
            }
        }
        Ok(out)
    }

    /// The local state of `mid`.
    pub fn state(&self, mid: &MimeiId) -> Result<LocalState, MimeiStoreError> {
        let b = self
            .get_raw(STATE, mid.as_bytes())?
            .ok_or_else(|| MimeiStoreError::NotFound(format!("Mimei {mid} is not on this node")))?;
        LocalState::from_bytes(&b).ok_or_else(|| {
            MimeiStoreError::Store(StoreError::Damaged {
                path: self.store.path().to_path_buf(),
                detail: format!("the local state of Mimei {mid} is malformed"),
            })
        })
    }

    fn put_state(&self, mid: &MimeiId, s: &LocalState) -> Result<(), StoreError> {
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(STATE).map_err(|e| self.err(e))?;
            t.insert(mid.as_bytes().as_slice(), s.to_bytes().as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Sets the `cur` root (`MFSetCid`, `MMRestore`, writes through `MF*`), and tags the
    /// blocks under it as the Mimei's in the block index in the same transaction, asking
    /// `verdict` about blocks of other Mimeis (a refusal changes nothing).
    pub fn set_cur(
        &self,
        mid: &MimeiId,
        root: Option<Cid>,
        verdict: Verdicts<'_>,
    ) -> Result<(), MimeiStoreError> {
        let mut s = self.state(mid)?;
        s.cur = root;
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        if let Some(r) = &root {
            crate::store::tags::tag_in(&tx, self.store.path(), r, mid.as_bytes(), verdict)?;
        }
        {
            let mut t = tx.open_table(STATE).map_err(|e| self.err(e))?;
            t.insert(mid.as_bytes().as_slice(), s.to_bytes().as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Names version `version` (which must exist) `release`.
    pub fn set_release(&self, mid: &MimeiId, version: u64) -> Result<(), MimeiStoreError> {
        self.version(mid, version)?;
        let mut s = self.state(mid)?;
        s.release = version;
        Ok(self.put_state(mid, &s)?)
    }

    /// Version `version` of `mid`, verified against the stored header.
    pub fn version(&self, mid: &MimeiId, version: u64) -> Result<VersionRecord, MimeiStoreError> {
        let header = self.header(mid)?;
        self.version_for(&header, version)
    }

    fn version_for(
        &self,
        header: &MimeiHeader,
        version: u64,
    ) -> Result<VersionRecord, MimeiStoreError> {
        let mid = header.mid();
        let bytes = self
            .get_raw(VERSIONS, &version_key(mid, version))?
            .ok_or_else(|| {
                MimeiStoreError::NotFound(format!(
                    "Mimei {mid} has no version {version} on this node"
                ))
            })?;
        check_record(header, version, &bytes)
    }

    /// Every version of `mid`, oldest first, each verified; the first that fails is refused.
    pub fn versions(&self, mid: &MimeiId) -> Result<Vec<VersionRecord>, MimeiStoreError> {
        let header = self.header(mid)?;
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(VERSIONS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e).into()),
        };
        let lo = version_key(mid, 0);
        let hi = version_key(mid, u64::MAX);
        let mut out = Vec::new();
        for item in t
            .range(lo.as_slice()..=hi.as_slice())
            .map_err(|e| self.err(e))?
        {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let n = u64::from_be_bytes(k.value()[20..28].try_into().unwrap_or([0; 8]));
            out.push(check_record(&header, n, v.value())?);
        }
        Ok(out)
    }

    /// The number of the newest stored version of `mid`, read from the table's key alone (no
    /// record is verified: for hints such as the DNN reports, not for serving).
    pub fn last_number(&self, mid: &MimeiId) -> Result<Option<u64>, MimeiStoreError> {
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(VERSIONS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e).into()),
        };
        let lo = version_key(mid, 0);
        let hi = version_key(mid, u64::MAX);
        let mut range = t
            .range(lo.as_slice()..=hi.as_slice())
            .map_err(|e| self.err(e))?;
        match range.next_back() {
            Some(item) => {
                let (k, _) = item.map_err(|e| self.err(e))?;
                Ok(k.value()
                    .get(20..28)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes))
            }
            None => Ok(None),
        }
    }

    /// The number `name` stands for: `last` the newest, `release` the released one. `cur`
    /// has no number (`None`).
    pub fn resolve(
        &self,
        mid: &MimeiId,
        name: VersionName,
    ) -> Result<Option<u64>, MimeiStoreError> {
        match name {
            VersionName::Cur => Ok(None),
            VersionName::Number(n) => Ok(Some(n)),
            VersionName::Last => {
                let v = self.versions(mid)?;
                v.last().map(|r| Some(r.version())).ok_or_else(|| {
                    MimeiStoreError::NotFound(format!(
                        "Mimei {mid} has no versions yet; make one with `mimei backup` (MMBackup)"
                    ))
                })
            }
            VersionName::Release => match self.state(mid)?.release {
                0 => Err(MimeiStoreError::NotFound(format!(
                    "Mimei {mid} has no released version; name one with `mimei release`"
                ))),
                n => Ok(Some(n)),
            },
        }
    }

    /// The root CID `name` stands for, with the version number (none for `cur`).
    pub fn root(
        &self,
        mid: &MimeiId,
        name: VersionName,
    ) -> Result<(Cid, Option<u64>), MimeiStoreError> {
        match self.resolve(mid, name)? {
            None => match self.state(mid)?.cur {
                Some(c) => Ok((c, None)),
                None => Err(MimeiStoreError::NotFound(format!(
                    "Mimei {mid} has nothing in cur yet; set it with `mimei setcid` or `mimei add`"
                ))),
            },
            Some(n) => {
                let rec = self.version(mid, n)?;
                let cid =
                    Cid::from_bytes(rec.root_cid()).map_err(|e| MimeiStoreError::Corrupt {
                        mid: *mid,
                        what: format!("version {n}"),
                        detail: MimeiError::InvalidRecord {
                            what: "version record",
                            reason: format!("its root is not a CID: {e}"),
                        },
                    })?;
                Ok((cid, Some(n)))
            }
        }
    }

    /// Stores a signed record as the next version (its number must be the state's `next`).
    /// The record is verified against the header first. Its blocks are tagged as the
    /// Mimei's ([`Mimeis::set_cur`]).
    pub fn add_version(
        &self,
        rec: &VersionRecord,
        verdict: Verdicts<'_>,
    ) -> Result<(), MimeiStoreError> {
        let mid = rec.mid();
        let header = self.header(mid)?;
        rec.verify_for(&header)?;
        let mut s = self.state(mid)?;
        if rec.version() != s.next {
            return Err(MimeiStoreError::Conflict(format!(
                "version {} of Mimei {mid} is not the next one ({})",
                rec.version(),
                s.next
            )));
        }
        s.next = rec.version() + 1;
        self.write_version(rec, &s, verdict)?;
        Ok(())
    }

    /// Writes a version record and the new local state in one transaction, with the tags of
    /// its blocks.
    fn write_version(
        &self,
        rec: &VersionRecord,
        s: &LocalState,
        verdict: Verdicts<'_>,
    ) -> Result<(), MimeiStoreError> {
        let mid = rec.mid();
        let root = Cid::from_bytes(rec.root_cid()).map_err(|e| MimeiStoreError::Corrupt {
            mid: *mid,
            what: format!("version {}", rec.version()),
            detail: MimeiError::InvalidRecord {
                what: "version record",
                reason: format!("its root is not a CID: {e}"),
            },
        })?;
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        crate::store::tags::tag_in(&tx, self.store.path(), &root, mid.as_bytes(), verdict)?;
        {
            let mut t = tx.open_table(VERSIONS).map_err(|e| self.err(e))?;
            t.insert(
                version_key(mid, rec.version()).as_slice(),
                rec.to_bytes().as_slice(),
            )
            .map_err(|e| self.err(e))?;
            let mut st = tx.open_table(STATE).map_err(|e| self.err(e))?;
            st.insert(mid.as_bytes().as_slice(), s.to_bytes().as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Takes the header of a Mimei that came from the network (already verified by the
    /// caller's bundle check, verified again here): creates the Mimei if it is new here, or
    /// keeps the higher revision. Returns whether anything changed.
    pub fn adopt_header(&self, header: &MimeiHeader) -> Result<bool, MimeiStoreError> {
        header.verify()?;
        match self.header(header.mid()) {
            Err(MimeiStoreError::NotFound(_)) => self.create(header).map(|()| true),
            Ok(old) if old.fields().revision < header.fields().revision => {
                self.put_header(header).map(|()| true)
            }
            Ok(_) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stores a version record that came from the network under its own number (a follower
    /// may skip versions); `next` moves past it. The same record already stored is fine
    /// (`Ok(false)`); a different one under that number is a [`MimeiStoreError::Conflict`],
    /// and nothing is changed. Its blocks are tagged as the Mimei's ([`Mimeis::set_cur`]).
    pub fn put_synced_version(
        &self,
        rec: &VersionRecord,
        verdict: Verdicts<'_>,
    ) -> Result<bool, MimeiStoreError> {
        let mid = rec.mid();
        let header = self.header(mid)?;
        rec.verify_for(&header)?;
        if let Some(old) = self.get_raw(VERSIONS, &version_key(mid, rec.version()))? {
            if old == rec.to_bytes() {
                return Ok(false);
            }
            let old = check_record(&header, rec.version(), &old)?;
            if old.root_cid() == rec.root_cid() {
                return Ok(false);
            }
            return Err(MimeiStoreError::Conflict(format!(
                "version {} of Mimei {mid} here has another root than the one from the network",
                rec.version()
            )));
        }
        let mut s = self.state(mid)?;
        s.next = s.next.max(rec.version() + 1);
        self.write_version(rec, &s, verdict)?;
        Ok(true)
    }

    /// Deletes versions; a missing one is an error and nothing is deleted. Deleting the
    /// released version clears `release`.
    pub fn delete_versions(&self, mid: &MimeiId, vers: &[u64]) -> Result<(), MimeiStoreError> {
        for v in vers {
            if self.get_raw(VERSIONS, &version_key(mid, *v))?.is_none() {
                return Err(MimeiStoreError::NotFound(format!(
                    "Mimei {mid} has no version {v}; nothing was deleted"
                )));
            }
        }
        let mut s = self.state(mid)?;
        if vers.contains(&s.release) {
            s.release = 0;
        }
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(VERSIONS).map_err(|e| self.err(e))?;
            for v in vers {
                t.remove(version_key(mid, *v).as_slice())
                    .map_err(|e| self.err(e))?;
            }
            let mut st = tx.open_table(STATE).map_err(|e| self.err(e))?;
            st.insert(mid.as_bytes().as_slice(), s.to_bytes().as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }
}

fn check_record(
    header: &MimeiHeader,
    version: u64,
    bytes: &[u8],
) -> Result<VersionRecord, MimeiStoreError> {
    let corrupt = |detail| MimeiStoreError::Corrupt {
        mid: *header.mid(),
        what: format!("version {version}"),
        detail,
    };
    let rec = VersionRecord::from_bytes(bytes).map_err(corrupt)?;
    rec.verify_for(header).map_err(corrupt)?;
    if rec.version() != version {
        return Err(corrupt(MimeiError::InvalidRecord {
            what: "version record",
            reason: format!(
                "it says version {} but is stored as {version}",
                rec.version()
            ),
        }));
    }
    Ok(rec)
}

/// Every root a Mimei refers to (each `cur` and each stored version's root): what `repo gc`
/// keeps besides the pins. Records are read for their CID only, unverified: a damaged record
/// must not make gc delete what it may still point to.
pub fn mimei_roots(store: &Store) -> Result<Vec<Cid>, StoreError> {
    let err = |e: redb::Error| db_err(store.path(), e);
    let tx = store.db().begin_read().map_err(|e| err(e.into()))?;
    let mut out = Vec::new();
    match tx.open_table(STATE) {
        Ok(t) => {
            for item in t.iter().map_err(|e| err(e.into()))? {
                let (_, v) = item.map_err(|e| err(e.into()))?;
                if let Some(LocalState { cur: Some(c), .. }) = LocalState::from_bytes(v.value()) {
                    out.push(c);
                }
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(err(e.into())),
    }
    match tx.open_table(VERSIONS) {
        Ok(t) => {
            for item in t.iter().map_err(|e| err(e.into()))? {
                let (_, v) = item.map_err(|e| err(e.into()))?;
                if let Ok(rec) = VersionRecord::from_bytes(v.value())
                    && let Ok(c) = Cid::from_bytes(rec.root_cid())
                {
                    out.push(c);
                }
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(err(e.into())),
    }
    out.sort_by_key(|c| c.to_bytes());
    out.dedup();
    Ok(out)
}

/// The roots of each Mimei (its `cur`, its versions'), read like [`mimei_roots`]: records
/// unverified, for their CID only. For building the block index of an older store
/// (`mimei::content`).
pub fn roots_by_mimei(
    store: &Store,
) -> Result<std::collections::BTreeMap<MimeiId, Vec<Cid>>, StoreError> {
    let err = |e: redb::Error| db_err(store.path(), e);
    let tx = store.db().begin_read().map_err(|e| err(e.into()))?;
    let mut out: std::collections::BTreeMap<MimeiId, Vec<Cid>> = Default::default();
    let mid_of = |k: &[u8]| {
        k.get(..20)
            .and_then(|b| <[u8; 20]>::try_from(b).ok())
            .map(MimeiId::from_bytes)
    };
    match tx.open_table(STATE) {
        Ok(t) => {
            for item in t.iter().map_err(|e| err(e.into()))? {
                let (k, v) = item.map_err(|e| err(e.into()))?;
                if let (Some(mid), Some(LocalState { cur: Some(c), .. })) =
                    (mid_of(k.value()), LocalState::from_bytes(v.value()))
                {
                    out.entry(mid).or_default().push(c);
                }
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(err(e.into())),
    }
    match tx.open_table(VERSIONS) {
        Ok(t) => {
            for item in t.iter().map_err(|e| err(e.into()))? {
                let (k, v) = item.map_err(|e| err(e.into()))?;
                if let (Some(mid), Ok(rec)) =
                    (mid_of(k.value()), VersionRecord::from_bytes(v.value()))
                    && let Ok(c) = Cid::from_bytes(rec.root_cid())
                {
                    out.entry(mid).or_default().push(c);
                }
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(err(e.into())),
    }
    Ok(out)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
