//! The writable `cur` state of every database Mimei: one redb table, `db_cur`, keyed by
//! Mimei ID (20 bytes) + the engine's key, under a memtable that group-commits.
//!
//! **Durability.** Writes land in the memtable and in the pending part of the write-ahead
//! log (`wal.rs`), and are acknowledged; [`CurStore::flush`] appends the pending records to
//! the log file with one `fdatasync`. In the default *group* mode the node flushes every
//! [`GROUP_COMMIT_MS`] ms, so everything acknowledged more than a second before a `kill -9`
//! survives. In *full* mode the front doors flush after every batch of writes, before they
//! answer, so every acknowledged write survives (`DbDurability` in SystemVars.json).
//! [`CurStore::checkpoint`] writes the memtable into redb in one durable transaction and
//! empties the log: when the memtable passes [`MAX_MEM_BYTES`], after [`IDLE_CHECKPOINT_MS`]
//! without writes, before a version is made, and at shutdown. A failed flush or checkpoint
//! keeps everything: nothing acknowledged is dropped, the next one retries.
//!
//! **Conflicts.** Every write bumps a sequence number; while a transaction or a `WATCH` is
//! open the store remembers, per Redis key, the sequence of its last change, so `Commit`
//! and `EXEC` can tell whether a key they used changed since they began.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound::{Excluded, Included};

use redb::{ReadableDatabase, TableDefinition, TableError};

use super::DbError;
use super::kv::{Kv, Overlay, Visit, merge};
use crate::mimei::MimeiId;
use crate::store::blocks::db_err;
use crate::store::{Store, StoreError};

/// `db_cur`: Mimei ID (20 bytes) + engine key -> value.
pub const DB_CUR: TableDefinition<&[u8], &[u8]> = TableDefinition::new("db_cur");

/// How often the group commit flushes.
pub const GROUP_COMMIT_MS: u64 = 500;
/// The memtable is checkpointed into redb once it holds this much.
pub const MAX_MEM_BYTES: usize = 1 << 20;
/// The memtable is checkpointed after this long without writes.
pub const IDLE_CHECKPOINT_MS: u64 = 5_000;
/// Most open transactions (`Begin` without `Commit`/`Rollback`).
pub const MAX_TXNS: usize = 256;

/// When acknowledged writes reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Flushed every [`GROUP_COMMIT_MS`] ms: what was acknowledged a second before a crash
    /// survives it.
    Group,
    /// Flushed before each answer: every acknowledged write survives a crash.
    Full,
}

impl Durability {
    /// Parses `"group"` or `"full"` (SystemVars.json `DbDurability`).
    pub fn parse(s: &str) -> Option<Durability> {
        match s {
            "group" => Some(Durability::Group),
            "full" => Some(Durability::Full),
            _ => None,
        }
    }
}

type Reader = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// A pending entry as the merge sees it: key, and the value (`None`: deleted).
type Pending<'m> = (&'m [u8], Option<&'m [u8]>);

/// One Mimei's pending writes: slots by key for O(1) lookups (a B-tree of heap keys costs a
/// cache miss per level, which halved redis-benchmark's rate once it held 100k entries), and
/// the keys in order for scans.
#[derive(Default)]
struct Mem {
    slots: HashMap<Vec<u8>, Slot>,
    order: BTreeSet<Vec<u8>>,
}

impl Mem {
    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn get(&self, key: &[u8]) -> Option<&Slot> {
        self.slots.get(key)
    }

    fn get_mut(&mut self, key: &[u8]) -> Option<&mut Slot> {
        self.slots.get_mut(key)
    }

    fn insert(&mut self, key: &[u8], slot: Slot) {
        self.order.insert(key.to_vec());
        self.slots.insert(key.to_vec(), slot);
    }

    /// Entries in key order.
    fn sorted(&self) -> impl DoubleEndedIterator<Item = (&[u8], &Slot)> {
        self.order
            .iter()
            .filter_map(|k| Some((k.as_slice(), self.slots.get(k)?)))
    }

    /// Entries with keys in `[from, to)`, in key order.
    fn range<'m>(
        &'m self,
        from: &[u8],
        to: &[u8],
    ) -> impl DoubleEndedIterator<Item = (&'m [u8], &'m Slot)> {
        self.order
            .range::<[u8], _>((Included(from), Excluded(to)))
            .filter_map(|k| Some((k.as_slice(), self.slots.get(k)?)))
    }
}

/// A pending write: the value (`None` is a delete), and whether it changed since the last
/// flush. A flush logs only changed slots, each once, with its value at that moment: a key
/// written a thousand times in half a second costs one log record, as a redb commit would.
#[derive(Debug)]
struct Slot {
    value: Option<Vec<u8>>,
    unsynced: bool,
}

/// An open optimistic transaction.
pub struct Txn {
    /// The Mimei it writes.
    pub mid: MimeiId,
    /// Its writes and the keys it used.
    pub overlay: Overlay,
    /// The store's sequence when it began.
    pub start: u64,
    /// When it is rolled back if not committed (ms since the epoch; 0 = never).
    pub deadline: u64,
}

impl Txn {
    /// Whether it outlived its deadline at `now_ms`.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.deadline != 0 && now_ms >= self.deadline
    }
}

/// What a call on a handle whose transaction timed out is told.
pub fn timed_out() -> DbError {
    DbError::Other(
        "the transaction on this handle timed out and was rolled back (nothing was applied); \
         call Begin again, with a longer timeout if needed"
            .into(),
    )
}

/// The memtable, the cached reader and the conflict bookkeeping.
pub struct CurStore {
    /// Pending writes per Mimei (keys without the Mimei prefix: shorter compares).
    mem: BTreeMap<[u8; 20], Mem>,
    mem_bytes: usize,
    reader: Option<Option<Reader>>,
    /// When acknowledged writes reach the disk.
    pub durability: Durability,
    seq: u64,
    watchers: usize,
    mods: HashMap<Vec<u8>, u64>,
    /// Open transactions by handle (mmsid).
    pub txns: HashMap<String, Txn>,
    /// Handles whose transaction timed out, with when: their calls fail (rather than
    /// write outside the transaction the client thinks is open) until it calls Commit,
    /// Rollback or Begin.
    timed_out: HashMap<String, u64>,
    /// Mimeis (ID bytes) that set an expiry since start: the sweeper's round.
    expiring: BTreeSet<[u8; 20]>,
    /// A reused buffer for the full key of a read.
    scratch: Vec<u8>,
    /// The write-ahead log, once [`CurStore::recover`] opened it (without one, every flush
    /// is a checkpoint).
    wal: Option<super::wal::Wal>,
    /// Group-commit ticks since the last write (for the idle checkpoint).
    idle_ticks: u64,
    /// Slots changed since the last flush.
    unsynced: usize,
    /// The node's settings commands run under (`CONFIG SET`, the read bound from the
    /// memory budget): every door runs its commands with them.
    pub tune: super::engine::Tune,
}

impl CurStore {
    /// An empty memtable over the store's `db_cur`.
    pub fn new(durability: Durability) -> CurStore {
        CurStore {
            mem: BTreeMap::new(),
            mem_bytes: 0,
            reader: None,
            durability,
            seq: 0,
            watchers: 0,
            mods: HashMap::new(),
            txns: HashMap::new(),
            timed_out: HashMap::new(),
            expiring: BTreeSet::new(),
            scratch: Vec::new(),
            wal: None,
            idle_ticks: 0,
            unsynced: 0,
            tune: super::engine::Tune::default(),
        }
    }

    /// Opens the write-ahead log beside the store's file, replays what a crash left in it
    /// into the memtable, and checkpoints. Returns how many writes were replayed.
    pub fn recover(&mut self, store: &Store) -> Result<usize, StoreError> {
        let path = store.path().with_file_name("db_cur.wal");
        let io = |e: std::io::Error| StoreError::Io {
            path: path.clone(),
            detail: e.to_string(),
        };
        let (mut wal, old) = super::wal::Wal::open(&path).map_err(io)?;
        let (records, good) = super::wal::parse(&old);
        let n = records.len();
        for r in records {
            let mut v = CurView {
                cur: self,
                store,
                prefix: r.mid,
            };
            v.record_slot(r.key, r.value.map(<[u8]>::to_vec), false);
        }
        if good < old.len() {
            wal.truncate(good as u64).map_err(io)?;
        }
        self.wal = Some(wal);
        self.checkpoint(store)?;
        Ok(n)
    }

    /// The `cur` map of Mimei `mid`.
    pub fn view<'a>(&'a mut self, store: &'a Store, mid: &MimeiId) -> CurView<'a> {
        CurView {
            cur: self,
            store,
            prefix: *mid.as_bytes(),
        }
    }

    /// Whether there are writes not yet on disk (in the log, or in redb without one).
    pub fn dirty(&self) -> bool {
        match &self.wal {
            Some(_) => self.unsynced > 0,
            None => self.has_mem(),
        }
    }

    fn has_mem(&self) -> bool {
        self.mem.values().any(|m| !m.is_empty())
    }

    /// One group-commit tick: flushes, and checkpoints a memtable that has been idle for
    /// [`IDLE_CHECKPOINT_MS`].
    pub fn tick(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.dirty() {
            self.idle_ticks = 0;
            self.flush(store)?;
        } else {
            self.idle_ticks += 1;
            if self.idle_ticks * GROUP_COMMIT_MS >= IDLE_CHECKPOINT_MS && self.has_mem() {
                self.checkpoint(store)?;
            }
        }
        Ok(())
    }

    /// Whether the memtable should be flushed now, whatever the timer says.
    pub fn full(&self) -> bool {
        self.mem_bytes > MAX_MEM_BYTES
    }

    /// Puts every acknowledged write on disk: appends the pending log records with one
    /// `fdatasync` (and checkpoints when the memtable is full), or, without a log,
    /// checkpoints. On failure everything is kept for the next try.
    pub fn flush(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.wal.is_none() {
            return self.checkpoint(store).map(|_| ());
        }
        self.sync_log()?;
        if self.full() {
            self.checkpoint(store)?;
        }
        Ok(())
    }

    /// Appends every slot changed since the last flush to the log, with one `fdatasync`;
    /// the slots count as synced only once that succeeded.
    fn sync_log(&mut self) -> Result<(), StoreError> {
        let Some(w) = self.wal.as_mut() else {
            return Ok(());
        };
        if self.unsynced > 0 {
            for (mid, mem) in &self.mem {
                for (k, slot) in mem.slots.iter().filter(|(_, s)| s.unsynced) {
                    w.log(mid, k, slot.value.as_deref());
                }
            }
        }
        let path = w.path().to_path_buf();
        if let Err(e) = w.sync() {
            w.discard();
            return Err(StoreError::Io {
                path,
                detail: e.to_string(),
            });
        }
        if self.unsynced > 0 {
            for slot in self.mem.values_mut().flat_map(|m| m.slots.values_mut()) {
                slot.unsynced = false;
            }
            self.unsynced = 0;
        }
        Ok(())
    }

    /// Writes the memtable to redb in one durable transaction, then empties the log;
    /// returns how many entries. On failure the memtable is kept whole.
    pub fn checkpoint(&mut self, store: &Store) -> Result<usize, StoreError> {
        self.reader = None;
        // The log first: should the redb commit fail, nothing acknowledged is lost.
        self.sync_log()?;
        if !self.has_mem() {
            return Ok(0);
        }
        let path = store.path();
        let tx = store.db().begin_write().map_err(|e| db_err(path, e))?;
        let mut n = 0;
        {
            let mut t = tx.open_table(DB_CUR).map_err(|e| db_err(path, e))?;
            let mut full = Vec::new();
            for (mid, mem) in &self.mem {
                for (k, slot) in mem.sorted() {
                    full.clear();
                    full.extend_from_slice(mid);
                    full.extend_from_slice(k);
                    match &slot.value {
                        Some(v) => t.insert(full.as_slice(), v.as_slice()).map(|_| ()),
                        None => t.remove(full.as_slice()).map(|_| ()),
                    }
                    .map_err(|e| db_err(path, e))?;
                    n += 1;
                }
            }
        }
        tx.commit().map_err(|e| db_err(path, e))?;
        if let Some(w) = self.wal.as_mut() {
            // Everything in the log is in redb now. Should emptying it fail, a replay
            // re-applies writes redb already has, in order: the same result.
            if let Err(e) = w.reset() {
                crate::log_warn!("emptying {}: {e}", w.path().display());
            }
        }
        self.mem.clear();
        self.mem_bytes = 0;
        self.unsynced = 0;
        Ok(n)
    }

    /// Removes due keys of the Mimeis that set expiries since start (at most `limit` each);
    /// keys of the others expire when they are next read. Returns how many went.
    pub fn sweep_expired(
        &mut self,
        store: &Store,
        now_ms: u64,
        limit: usize,
    ) -> Result<usize, DbError> {
        let mids: Vec<[u8; 20]> = self.expiring.iter().copied().collect();
        let mut n = 0;
        for prefix in mids {
            let mut v = CurView {
                cur: self,
                store,
                prefix,
            };
            n += super::engine::sweep(&mut v, now_ms, limit)?;
        }
        Ok(n)
    }

    /// Drops the cached read snapshot (so redb can reuse pages freed since).
    pub fn release_reader(&mut self) {
        self.reader = None;
    }

    /// Starts watching for changes; returns the sequence to compare against.
    pub fn watch(&mut self) -> u64 {
        self.watchers += 1;
        self.seq
    }

    /// Ends one watch started by [`CurStore::watch`].
    pub fn unwatch(&mut self) {
        self.watchers = self.watchers.saturating_sub(1);
        if self.watchers == 0 {
            self.mods.clear();
        }
    }

    /// Whether Redis key `key` of `mid` changed after sequence `since`.
    pub fn changed_since(&self, mid: &MimeiId, key: &[u8], since: u64) -> bool {
        let mut k = mid.as_bytes().to_vec();
        k.extend_from_slice(key);
        self.mods.get(&k).is_some_and(|&s| s > since)
    }

    /// Rolls back every transaction past its deadline at `now_ms`, marking its handle
    /// (see [`CurStore::take_timed_out`]); forgets marks older than an hour.
    pub fn expire_txns(&mut self, now_ms: u64) {
        if !self.txns.is_empty() {
            let stale: Vec<String> = self
                .txns
                .iter()
                .filter(|(_, t)| t.expired(now_ms))
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                self.rollback(&k);
                self.timed_out.insert(k, now_ms);
            }
        }
        if !self.timed_out.is_empty() {
            self.timed_out
                .retain(|_, at| now_ms.saturating_sub(*at) < 3_600_000);
        }
    }

    /// Whether the transaction of handle `id` timed out and was rolled back; `clear` ends
    /// that state (Commit, Rollback and Begin do).
    pub fn take_timed_out(&mut self, id: &str, clear: bool) -> bool {
        if clear {
            self.timed_out.remove(id).is_some()
        } else {
            self.timed_out.contains_key(id)
        }
    }

    /// Begins a transaction for handle `id` on `mid`, rolled back if not committed by
    /// `deadline` (ms since the epoch, 0 = never). Transactions past their deadline at
    /// `now_ms` are rolled back first, so abandoned ones do not hold slots.
    pub fn begin(
        &mut self,
        id: &str,
        mid: MimeiId,
        now_ms: u64,
        deadline: u64,
    ) -> Result<(), DbError> {
        self.expire_txns(now_ms);
        self.timed_out.remove(id);
        if self.txns.contains_key(id) {
            return Err(DbError::Other(
                "a transaction is already open on this handle; Commit or Rollback it first".into(),
            ));
        }
        if self.txns.len() >= MAX_TXNS {
            return Err(DbError::Other(format!(
                "{MAX_TXNS} transactions are open on this node; commit or roll some back"
            )));
        }
        let start = self.watch();
        self.txns.insert(
            id.to_string(),
            Txn {
                mid,
                overlay: Overlay::default(),
                start,
                deadline,
            },
        );
        Ok(())
    }

    /// Ends the transaction of `id` without applying it; whether there was one.
    pub fn rollback(&mut self, id: &str) -> bool {
        let had = self.txns.remove(id).is_some();
        if had {
            self.unwatch();
        }
        had
    }

    /// Applies the transaction of `id` if no key it used changed since it began; else
    /// drops it and says which key.
    pub fn commit(&mut self, store: &Store, id: &str) -> Result<(), DbError> {
        let txn = self.txns.remove(id).ok_or_else(|| {
            DbError::Other("no transaction is open on this handle; call Begin first".into())
        })?;
        self.unwatch_after(|s| {
            if let Some(k) = txn
                .overlay
                .keys
                .iter()
                .find(|k| s.changed_since(&txn.mid, k, txn.start))
            {
                return Err(DbError::Conflict(format!(
                    "key {:?} was changed by another writer after Begin; nothing was applied, \
                     run the transaction again",
                    String::from_utf8_lossy(k)
                )));
            }
            let mid = txn.mid;
            txn.overlay.apply(&mut s.view(store, &mid))
        })
    }

    fn unwatch_after<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let r = f(self);
        self.unwatch();
        r
    }

    fn reader(&mut self, store: &Store) -> Result<Option<&Reader>, DbError> {
        if self.reader.is_none() {
            let path = store.path();
            let tx = store.db().begin_read().map_err(|e| db_err(path, e))?;
            let t = match tx.open_table(DB_CUR) {
                Ok(t) => Some(t),
                Err(TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(db_err(path, e).into()),
            };
            self.reader = Some(t);
        }
        Ok(self.reader.as_ref().and_then(Option::as_ref))
    }
}

/// One Mimei's `cur` as a [`Kv`].
pub struct CurView<'a> {
    cur: &'a mut CurStore,
    store: &'a Store,
    prefix: [u8; 20],
}

impl CurView<'_> {
    fn lookup(&mut self, k: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let path = self.store.path();
        match self.cur.reader(self.store)? {
            None => Ok(None),
            Some(t) => Ok(t
                .get(k)
                .map_err(|e| db_err(path, e))?
                .map(|g| g.value().to_vec())),
        }
    }

    fn full_key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + key.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(key);
        k
    }

    fn record(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.record_owned(key, value.map(<[u8]>::to_vec));
    }

    fn record_owned(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        self.record_slot(key, value, true);
    }

    fn record_slot(&mut self, key: &[u8], value: Option<Vec<u8>>, unsynced: bool) {
        if key.first() == Some(&super::keys::EXPIRY)
            && value.is_some()
            && !self.cur.expiring.contains(&self.prefix)
        {
            self.cur.expiring.insert(self.prefix);
        }
        let vlen = value.as_ref().map_or(0, Vec::len);
        let mem = self.cur.mem.entry(self.prefix).or_default();
        // Replacing an entry reuses its key allocation and counts only what it grew by.
        let (grew, was) = match mem.get_mut(key) {
            Some(slot) => {
                let old = slot.value.as_ref().map_or(0, Vec::len);
                slot.value = value;
                let was = slot.unsynced;
                slot.unsynced |= unsynced;
                (vlen.saturating_sub(old), was)
            }
            None => {
                mem.insert(key, Slot { value, unsynced });
                (key.len() + vlen + 48, false)
            }
        };
        if unsynced && !was {
            self.cur.unsynced += 1;
        }
        self.cur.mem_bytes += grew;
    }
}

impl Kv for CurView<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        if let Some(slot) = self.cur.mem.get(&self.prefix).and_then(|m| m.get(key)) {
            return Ok(slot.value.clone());
        }
        let mut k = std::mem::take(&mut self.cur.scratch);
        k.clear();
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(key);
        let r = self.lookup(&k);
        self.cur.scratch = k;
        r
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.record(key, Some(value));
        Ok(())
    }

    fn put_owned(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), DbError> {
        self.record_owned(key, Some(value));
        Ok(())
    }

    fn del(&mut self, key: &[u8]) -> Result<(), DbError> {
        self.record(key, None);
        Ok(())
    }

    fn scan(
        &mut self,
        from: &[u8],
        to: &[u8],
        rev: bool,
        f: &mut Visit<'_>,
    ) -> Result<(), DbError> {
        if from >= to {
            return Ok(());
        }
        let (lo, hi) = (self.full_key(from), self.full_key(to));
        let n = self.prefix.len();
        let path = self.store.path();
        self.cur.reader(self.store)?;
        let cur: &CurStore = self.cur;
        // Lazy, so a scan the visitor stops early costs only what it visited.
        let it = cur
            .mem
            .get(&self.prefix)
            .into_iter()
            .flat_map(|m| m.range(from, to))
            .map(|(k, slot)| (k, slot.value.as_deref()));
        let mem: Box<dyn Iterator<Item = Pending<'_>>> = if rev {
            Box::new(it.rev())
        } else {
            Box::new(it)
        };
        let Some(Some(t)) = cur.reader.as_ref() else {
            merge(std::iter::empty(), mem, rev, f);
            return Ok(());
        };
        let range = t
            .range::<&[u8]>(lo.as_slice()..hi.as_slice())
            .map_err(|e| db_err(path, e))?;
        let mut failed = None;
        let base = BaseIter {
            range,
            rev,
            failed: &mut failed,
        };
        merge_owned(base, mem, rev, n, f);
        if let Some(e) = failed {
            return Err(db_err(path, e).into());
        }
        Ok(())
    }

    fn note(&mut self, key: &[u8], write: bool) {
        if write {
            self.cur.seq += 1;
            if self.cur.watchers > 0 {
                let k = self.full_key(key);
                self.cur.mods.insert(k, self.cur.seq);
            }
        }
    }
}

type Guard = (
    redb::AccessGuard<'static, &'static [u8]>,
    redb::AccessGuard<'static, &'static [u8]>,
);

/// redb's range as a stream of owned guards; an error stops it and is kept.
struct BaseIter<'x> {
    range: redb::Range<'static, &'static [u8], &'static [u8]>,
    rev: bool,
    failed: &'x mut Option<redb::StorageError>,
}

impl Iterator for BaseIter<'_> {
    type Item = Guard;
    fn next(&mut self) -> Option<Guard> {
        let r = if self.rev {
            self.range.next_back()
        } else {
            self.range.next()
        };
        match r? {
            Ok(g) => Some(g),
            Err(e) => {
                *self.failed = Some(e);
                None
            }
        }
    }
}

/// [`merge`] over redb guards (full keys: the first `n` bytes are the Mimei prefix).
fn merge_owned<'m>(
    base: impl Iterator<Item = Guard>,
    top: impl Iterator<Item = (&'m [u8], Option<&'m [u8]>)>,
    rev: bool,
    n: usize,
    f: &mut Visit<'_>,
) {
    let mut a = base.peekable();
    let mut b = top.peekable();
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => return,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => {
                let o = ka.value()[n..].cmp(kb);
                if rev { o.reverse() } else { o }
            }
        };
        let go = match order {
            std::cmp::Ordering::Less => match a.next() {
                Some((k, v)) => f(&k.value()[n..], v.value()),
                None => return,
            },
            std::cmp::Ordering::Equal => {
                a.next();
                match b.next() {
                    Some((k, Some(v))) => f(k, v),
                    Some((_, None)) => true,
                    None => return,
                }
            }
            std::cmp::Ordering::Greater => match b.next() {
                Some((k, Some(v))) => f(k, v),
                Some((_, None)) => true,
                None => return,
            },
        };
        if !go {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::engine::exec;
    use crate::db::{Reply, kv::Kv};

    fn test_dir(what: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("leither-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn run(db: &mut CurStore, store: &Store, mid: &MimeiId, line: &str) -> Reply {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        exec(&mut db.view(store, mid), 1000, &args).unwrap()
    }

    #[test]
    fn reads_merge_the_memtable_over_redb_and_mimeis_stay_apart() {
        let dir = test_dir("cur");
        let store = Store::open(&dir, 1 << 20, "test").unwrap();
        let (a, b) = (MimeiId::from_bytes([1; 20]), MimeiId::from_bytes([2; 20]));
        let mut db = CurStore::new(Durability::Group);
        // 200 elements: two chunks of a list (128 + 72), its meta entry, one string.
        for i in 0..200 {
            run(&mut db, &store, &a, &format!("RPUSH l {i}"));
        }
        run(&mut db, &store, &b, "SET k other");
        assert_eq!(db.checkpoint(&store).unwrap(), 2 + 1 + 1);
        assert!(!db.dirty());
        // Now change some on top of what is on disk: pops delete a flushed entry (the
        // first chunk) and rewrite another.
        run(&mut db, &store, &a, "LPOP l 130");
        run(&mut db, &store, &a, "RPUSH l x");
        assert_eq!(run(&mut db, &store, &a, "LLEN l"), Reply::Int(71));
        let Reply::Array(items) = run(&mut db, &store, &a, "LRANGE l 0 2") else {
            panic!()
        };
        assert_eq!(items[0], Reply::Bulk(b"130".to_vec()));
        let Reply::Array(items) = run(&mut db, &store, &a, "LRANGE l -2 -1") else {
            panic!()
        };
        assert_eq!(
            items,
            vec![Reply::Bulk(b"199".to_vec()), Reply::Bulk(b"x".to_vec())]
        );
        assert_eq!(run(&mut db, &store, &a, "GET k"), Reply::Nil);
        assert_eq!(run(&mut db, &store, &b, "DBSIZE"), Reply::Int(1));
        // A reverse scan sees the merged state too.
        let mut seen = 0;
        db.view(&store, &a)
            .scan(&[], &[0xff], true, &mut |_, _| {
                seen += 1;
                true
            })
            .unwrap();
        assert_eq!(seen, 1 + 1);
        db.checkpoint(&store).unwrap();
        assert_eq!(run(&mut db, &store, &a, "LLEN l"), Reply::Int(71));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_log_brings_back_flushed_writes_after_a_crash() {
        let dir = test_dir("cur-wal");
        let mid = MimeiId::from_bytes([9; 20]);
        {
            let store = Store::open(&dir, 1 << 20, "test").unwrap();
            let mut db = CurStore::new(Durability::Group);
            assert_eq!(db.recover(&store).unwrap(), 0);
            run(&mut db, &store, &mid, "SET a 1");
            run(&mut db, &store, &mid, "RPUSH l x y");
            db.flush(&store).unwrap();
            run(&mut db, &store, &mid, "SET unflushed 1");
            // A crash: the memtable is gone, nothing was checkpointed.
            std::mem::forget(db);
        }
        // A torn batch at the end (a crash mid-append) is dropped, the rest replayed.
        let wal = dir.join("db").join("db_cur.wal");
        let mut f = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
        std::io::Write::write_all(&mut f, b"W\x10\x00\x00\x00half").unwrap();
        drop(f);
        let store = Store::open(&dir, 1 << 20, "test").unwrap();
        let mut db = CurStore::new(Durability::Group);
        assert_eq!(db.recover(&store).unwrap(), 1 + 2); // a, l's meta and its chunk
        assert_eq!(
            run(&mut db, &store, &mid, "GET a"),
            Reply::Bulk(b"1".to_vec())
        );
        assert_eq!(run(&mut db, &store, &mid, "LLEN l"), Reply::Int(2));
        assert_eq!(run(&mut db, &store, &mid, "GET unflushed"), Reply::Nil);
        // The replay was checkpointed: the log is empty, redb has it all.
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        assert!(!db.has_mem());
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_transaction_past_its_deadline_is_rolled_back_and_its_handle_told() {
        let mid = MimeiId::from_bytes([8; 20]);
        let mut db = CurStore::new(Durability::Group);
        db.begin("h", mid, 1_000, 2_000).unwrap();
        db.begin("forever", mid, 1_000, 0).unwrap();
        db.expire_txns(1_999);
        assert!(db.txns.contains_key("h") && !db.take_timed_out("h", false));
        db.expire_txns(2_000);
        assert!(!db.txns.contains_key("h"));
        assert!(db.txns.contains_key("forever"), "no deadline, no timeout");
        // The mark stays until the handle ends it, and is forgotten after an hour.
        assert!(db.take_timed_out("h", false));
        assert!(db.take_timed_out("h", true));
        assert!(!db.take_timed_out("h", false));
        db.begin("g", mid, 3_000, 4_000).unwrap();
        db.expire_txns(5_000);
        assert!(db.take_timed_out("g", false));
        db.expire_txns(5_000 + 3_600_000);
        assert!(!db.take_timed_out("g", false));
        // A new Begin on the handle clears the mark too.
        db.begin("g", mid, 0, 0).unwrap();
        assert!(db.rollback("g") && db.rollback("forever"));
        assert!(db.mods.is_empty() && db.watchers == 0);
    }

    #[test]
    fn a_commit_after_a_concurrent_change_fails_and_applies_nothing() {
        let dir = test_dir("cur-txn");
        let store = Store::open(&dir, 1 << 20, "test").unwrap();
        let mid = MimeiId::from_bytes([7; 20]);
        let mut db = CurStore::new(Durability::Group);
        run(&mut db, &store, &mid, "SET n 1");
        db.begin("h", mid, 0, 0).unwrap();
        let mut txn = db.txns.remove("h").unwrap();
        exec(
            &mut txn.overlay.over(&mut db.view(&store, &mid)),
            0,
            &[b"INCR", b"n"],
        )
        .unwrap();
        db.txns.insert("h".into(), txn);
        run(&mut db, &store, &mid, "SET n 5");
        assert!(matches!(db.commit(&store, "h"), Err(DbError::Conflict(_))));
        assert_eq!(
            run(&mut db, &store, &mid, "GET n"),
            Reply::Bulk(b"5".to_vec())
        );
        assert!(
            db.mods.is_empty(),
            "change tracking outlived the last transaction"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
