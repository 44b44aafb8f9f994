//! Tests of the block store: round trips, checks on read, atomic batches, disk full (a quota
//! backend and a real file size limit), and the layout benchmark (`benches/blockstore.sh`).

use super::*;
use crate::ipfs::{Cid, Codec, PbLink, PbNode, Version};
use redb::backends::InMemoryBackend;
use redb::{ReadableDatabase, StorageBackend};
use std::path::PathBuf;
use std::sync::Arc;

/// A database in memory, with a path to name it in errors.
pub(crate) struct MemDb {
    pub(crate) db: Database,
    pub(crate) path: PathBuf,
}

impl MemDb {
    pub(crate) fn blocks(&self) -> Blocks<'_> {
        Blocks::over(&self.db, &self.path)
    }
}

pub(crate) fn mem_db() -> MemDb {
    MemDb {
        db: Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap(),
        path: PathBuf::from("memory.redb"),
    }
}

/// Deterministic bytes that differ per `seed`.
pub(crate) fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub(crate) fn raw(data: &[u8]) -> Cid {
    Cid::of_block(Version::V1, Codec::Raw, data)
}

/// Writes `f(value)` over the stored value of piece `n` of `cid`, straight into the table.
pub(crate) fn tamper_piece(db: &Database, cid: &Cid, n: u16, f: impl FnOnce(&mut Vec<u8>)) {
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table(BLOCK_PIECES).unwrap();
        let k = piece_key(&block_key(cid), n);
        let mut v = t.get(k.as_slice()).unwrap().unwrap().value().to_vec();
        f(&mut v);
        t.insert(k.as_slice(), v.as_slice()).unwrap();
    }
    tx.commit().unwrap();
}

fn tamper_record(db: &Database, cid: &Cid, f: impl FnOnce(&mut Vec<u8>)) {
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table(BLOCKS).unwrap();
        let k = block_key(cid);
        let mut v = t.get(k.as_slice()).unwrap().unwrap().value().to_vec();
        f(&mut v);
        t.insert(k.as_slice(), v.as_slice()).unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn round_trips_at_piece_boundaries() {
    let m = mem_db();
    let b = m.blocks();
    let sizes = [
        0,
        1,
        100,
        PIECE_LEN - 1,
        PIECE_LEN,
        PIECE_LEN + 1,
        262_144,
        262_158,
        3 * PIECE_LEN,
        MAX_BLOCK_LEN,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let data = bytes(i as u64, len);
        let cid = raw(&data);
        assert!(!b.has(&cid).unwrap());
        assert_eq!(b.get(&cid).unwrap(), None);
        assert!(b.put(&cid, &data).unwrap(), "new at {len}");
        assert!(!b.put(&cid, &data).unwrap(), "dedup at {len}");
        assert!(b.has(&cid).unwrap());
        assert_eq!(b.size(&cid).unwrap(), Some(len as u64));
        assert_eq!(
            b.get(&cid).unwrap().as_deref(),
            Some(data.as_slice()),
            "{len}"
        );
    }
    assert_eq!(b.count().unwrap(), sizes.len() as u64);
}

#[test]
fn pieces_fill_pages_without_rounding_waste() {
    // The layout's reason to exist: 256 KiB chunks (raw, and v0 with their dag-pb framing)
    // must not land in 512 KiB pages. Checked against redb's own page accounting.
    let m = mem_db();
    let b = m.blocks();
    let data: Vec<Vec<u8>> = (0..32)
        .map(|i| bytes(i, if i % 2 == 0 { 262_144 } else { 262_158 }))
        .collect();
    let cids: Vec<Cid> = data.iter().map(|d| raw(d)).collect();
    b.put_many(cids.iter().zip(data.iter().map(Vec::as_slice)))
        .unwrap();
    let tx = m.db.begin_write().unwrap();
    let st = tx.stats().unwrap();
    let used = st.allocated_pages() * st.page_size() as u64;
    let total: u64 = data.iter().map(|d| d.len() as u64).sum();
    assert!(
        used < total + total / 20,
        "{used} bytes of pages for {total}"
    );
}

#[test]
fn ranges_read_only_what_is_asked() {
    let m = mem_db();
    let b = m.blocks();
    let data = bytes(7, 2 * PIECE_LEN + 300);
    let cid = raw(&data);
    b.put(&cid, &data).unwrap();
    let n = data.len() as u64;
    let p = PIECE_LEN as u64;
    for (start, len) in [
        (0, 0),
        (0, 10),
        (p - 5, 10),
        (p, p),
        (p - 1, p + 2),
        (2 * p, 1000),
        (n - 1, 5),
        (n, 5),
        (n + 100, 5),
        (0, u64::MAX),
        (5, u64::MAX),
    ] {
        let s = start.min(n) as usize;
        let e = start.saturating_add(len).min(n) as usize;
        let got = b.get_range(&cid, start, len).unwrap().unwrap();
        assert_eq!(got, data[s..e], "{start} {len}");
    }
    // A damaged piece fails only the reads that touch it.
    tamper_piece(&m.db, &cid, 2, |v| v[20] ^= 1);
    assert_eq!(b.get_range(&cid, 0, p).unwrap().unwrap(), data[..PIECE_LEN]);
    assert!(matches!(
        b.get_range(&cid, 2 * p, 1),
        Err(StoreError::BlockDamaged { .. })
    ));
}

#[test]
fn v0_and_v1_of_one_block_are_one_entry() {
    let m = mem_db();
    let b = m.blocks();
    let node = PbNode {
        links: vec![PbLink::unnamed(raw(b"x"), 1)],
        data: Some(b"\x08\x02".to_vec()),
    }
    .encode();
    let v0 = Cid::of_block(Version::V0, Codec::DagPb, &node);
    assert!(b.put(&v0, &node).unwrap());
    assert!(!b.put(&v0.to_v1(), &node).unwrap());
    assert_eq!(b.get(&v0.to_v1()).unwrap().unwrap(), node);
    // The listing gives the CID as first stored.
    assert_eq!(b.list(None, 10).unwrap(), vec![v0]);
    assert_eq!(b.count().unwrap(), 1);
}

#[test]
fn identity_cids_are_inline() {
    let m = mem_db();
    let b = m.blocks();
    let mh = crate::ipfs::Multihash::identity(b"hello").unwrap();
    let cid = Cid::new_v1(Codec::Raw, mh);
    assert!(b.has(&cid).unwrap());
    assert_eq!(b.get(&cid).unwrap().unwrap(), b"hello");
    assert_eq!(b.get_range(&cid, 1, 3).unwrap().unwrap(), b"ell");
    assert_eq!(b.size(&cid).unwrap(), Some(5));
    assert!(!b.put_verified(&cid, b"hello").unwrap());
    assert!(matches!(
        b.put_verified(&cid, b"other"),
        Err(StoreError::HashMismatch { .. })
    ));
    assert_eq!(b.count().unwrap(), 0);
}

#[test]
fn verified_put_refuses_wrong_bytes() {
    let m = mem_db();
    let b = m.blocks();
    let cid = raw(b"right");
    let e = b.put_verified(&cid, b"wrong").unwrap_err();
    assert!(e.to_string().contains(&cid.to_string()), "{e}");
    assert!(!b.has(&cid).unwrap());
    assert!(b.put_verified(&cid, b"right").unwrap());
}

#[test]
fn oversized_block_is_refused_and_batches_are_atomic() {
    let m = mem_db();
    let b = m.blocks();
    let small = bytes(1, 1000);
    let big = vec![0u8; MAX_BLOCK_LEN + 1];
    let (cs, cb) = (raw(&small), raw(&big));
    let e = b
        .put_many([(&cs, small.as_slice()), (&cb, big.as_slice())])
        .unwrap_err();
    assert!(matches!(e, StoreError::BlockTooLarge { len, .. } if len == MAX_BLOCK_LEN + 1));
    // The first block of the failed batch is not there either.
    assert!(!b.has(&cs).unwrap());
    assert_eq!(b.count().unwrap(), 0);
}

#[test]
fn a_transaction_dropped_uncommitted_leaves_nothing() {
    let m = mem_db();
    let b = m.blocks();
    let data = bytes(3, 300_000);
    let cid = raw(&data);
    {
        let tx = m.db.begin_write().unwrap();
        let mut index = tx.open_table(BLOCKS).unwrap();
        let mut pieces = tx.open_table(BLOCK_PIECES).unwrap();
        assert!(write_block(&mut index, &mut pieces, &cid, &data, &m.path).unwrap());
        // Dropped here: the crash or error of an add halfway through a batch.
    }
    assert!(!b.has(&cid).unwrap());
    assert_eq!(b.list(None, 10).unwrap(), vec![]);
    let tx = m.db.begin_read().unwrap();
    assert_eq!(tx.open_table(BLOCK_PIECES).map(|_| ()).ok(), None);
}

#[test]
fn a_damaged_piece_is_an_error_naming_the_cid() {
    let m = mem_db();
    let b = m.blocks();
    let data = bytes(9, 262_144);
    let cid = raw(&data);
    b.put(&cid, &data).unwrap();
    tamper_piece(&m.db, &cid, 1, |v| v[1000] ^= 0x40);
    let e = b.get(&cid).unwrap_err();
    match &e {
        StoreError::BlockDamaged { cid: c, detail, .. } => {
            assert_eq!(c, &cid);
            assert!(detail.contains("piece 1"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains(&cid.to_string()) && msg.contains("memory.redb"),
        "{msg}"
    );
    // has and size read only the record, so they still answer.
    assert!(b.has(&cid).unwrap());
    // Repair: delete the damaged copy, put the good bytes again.
    assert!(b.delete(&cid).unwrap());
    assert!(b.put(&cid, &data).unwrap());
    assert_eq!(b.get(&cid).unwrap().unwrap(), data);
}

#[test]
fn short_missing_and_moved_pieces_are_errors() {
    let m = mem_db();
    let b = m.blocks();
    let a = bytes(1, PIECE_LEN + 10);
    let c = bytes(2, PIECE_LEN + 10);
    let (ca, cc) = (raw(&a), raw(&c));
    b.put(&ca, &a).unwrap();
    b.put(&cc, &c).unwrap();
    // Truncated piece.
    tamper_piece(&m.db, &ca, 1, |v| {
        v.pop();
    });
    assert!(matches!(b.get(&ca), Err(StoreError::BlockDamaged { .. })));
    // A piece of another block with a valid check of its own: the key is in the check.
    let tx = m.db.begin_write().unwrap();
    {
        let mut t = tx.open_table(BLOCK_PIECES).unwrap();
        let from = piece_key(&block_key(&ca), 0);
        let v = t.get(from.as_slice()).unwrap().unwrap().value().to_vec();
        t.insert(piece_key(&block_key(&cc), 0).as_slice(), v.as_slice())
            .unwrap();
    }
    tx.commit().unwrap();
    assert!(matches!(b.get(&cc), Err(StoreError::BlockDamaged { .. })));
    // A missing piece.
    let tx = m.db.begin_write().unwrap();
    tx.open_table(BLOCK_PIECES)
        .unwrap()
        .remove(piece_key(&block_key(&cc), 1).as_slice())
        .unwrap();
    tx.commit().unwrap();
    let e = b.get_range(&cc, PIECE_LEN as u64, 5).unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
}

/// Stores `data` as a binary before format 2 did: a format-1 record, BLAKE3 piece checks.
fn put_format1(db: &Database, cid: &Cid, data: &[u8]) {
    let key = block_key(cid);
    let rec = Record {
        check: Check::Blake3,
        ..Record::new(cid, data)
    };
    let tx = db.begin_write().unwrap();
    {
        let mut pieces = tx.open_table(BLOCK_PIECES).unwrap();
        for (n, chunk) in chunks(data).enumerate() {
            let k = piece_key(&key, u16::try_from(n).unwrap());
            let mut v = piece_sum(Check::Blake3, &k, chunk).to_vec();
            v.extend_from_slice(chunk);
            pieces.insert(k.as_slice(), v.as_slice()).unwrap();
        }
        let mut index = tx.open_table(BLOCKS).unwrap();
        index
            .insert(key.as_slice(), rec.encode(&key).as_slice())
            .unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn new_blocks_are_format_2_and_format_1_blocks_still_read() {
    let m = mem_db();
    let b = m.blocks();
    let new = bytes(21, PIECE_LEN + 77);
    let old = bytes(22, PIECE_LEN + 77);
    let (cn, co) = (raw(&new), raw(&old));
    b.put(&cn, &new).unwrap();
    put_format1(&m.db, &co, &old);
    let first_byte = |cid: &Cid| {
        let tx = m.db.begin_read().unwrap();
        let t = tx.open_table(BLOCKS).unwrap();
        t.get(block_key(cid).as_slice()).unwrap().unwrap().value()[0]
    };
    assert_eq!((first_byte(&cn), first_byte(&co)), (2, 1));
    assert_eq!(b.get(&cn).unwrap().unwrap(), new);
    assert_eq!(b.get(&co).unwrap().unwrap(), old);
    assert_eq!(
        b.get_range(&co, PIECE_LEN as u64 - 3, 10).unwrap().unwrap(),
        old[PIECE_LEN - 3..PIECE_LEN + 7]
    );
    // Putting the same bytes again leaves the old copy as it is (its record is read, no more).
    assert!(!b.put(&co, &old).unwrap());
    assert_eq!(first_byte(&co), 1);
    // A format-1 piece is still checked with BLAKE3: damage is an error, not bytes.
    tamper_piece(&m.db, &co, 1, |v| v[40] ^= 1);
    assert!(matches!(b.get(&co), Err(StoreError::BlockDamaged { .. })));
    // A format-2 piece whose check was made with the other function fails too: the format
    // byte, not a guess, picks the check.
    tamper_piece(&m.db, &cn, 0, |v| {
        let k = piece_key(&block_key(&cn), 0);
        let sum = piece_sum(Check::Blake3, &k, &v[PIECE_SUM..]);
        v[..PIECE_SUM].copy_from_slice(&sum);
    });
    assert!(matches!(b.get(&cn), Err(StoreError::BlockDamaged { .. })));
}

/// The attack of a store file edited to claim a format this binary does not know: refused as
/// damage, never read with a guessed check.
#[test]
fn an_unknown_record_format_is_damage() {
    let m = mem_db();
    let b = m.blocks();
    let data = bytes(23, 100);
    let cid = raw(&data);
    b.put(&cid, &data).unwrap();
    tamper_record(&m.db, &cid, |v| {
        v[0] = 3;
        let key = block_key(&cid);
        let sum = record_sum(&key, &v[..16]);
        v[16..].copy_from_slice(&sum);
    });
    let e = b.get(&cid).unwrap_err();
    assert!(e.to_string().contains("format"), "{e}");
}

#[test]
fn a_damaged_record_is_an_error() {
    let m = mem_db();
    let b = m.blocks();
    let data = bytes(4, 5000);
    let cid = raw(&data);
    b.put(&cid, &data).unwrap();
    // The size field: the record's own check catches it before any piece is read.
    tamper_record(&m.db, &cid, |v| v[15] ^= 1);
    for r in [
        b.get(&cid).map(|_| ()),
        b.size(&cid).map(|_| ()),
        b.has(&cid).map(|_| ()),
        b.list(None, 5).map(|_| ()),
    ] {
        match r {
            Err(StoreError::BlockDamaged { cid: c, detail, .. }) => {
                assert_eq!(c.hash(), cid.hash());
                assert!(detail.contains("record"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
    // Deleting works on a damaged record and takes the pieces with it.
    assert!(b.delete(&cid).unwrap());
    let tx = m.db.begin_read().unwrap();
    let t = tx.open_table(BLOCK_PIECES).unwrap();
    assert_eq!(redb::ReadableTableMetadata::len(&t).unwrap(), 0);
}

#[test]
fn listing_pages_through_everything_once() {
    let m = mem_db();
    let b = m.blocks();
    let data: Vec<Vec<u8>> = (0..50).map(|i| bytes(i, 10 + i as usize)).collect();
    let cids: Vec<Cid> = data.iter().map(|d| raw(d)).collect();
    b.put_many(cids.iter().zip(data.iter().map(Vec::as_slice)))
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = b.list(after.as_ref(), 7).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        after = page.last().copied();
        seen.extend(page);
    }
    let mut want = cids.clone();
    want.sort_by_key(|c| c.hash().to_bytes());
    assert_eq!(seen, want);
}

#[test]
fn links_flag_is_set_only_when_sure() {
    let leaf = PbNode {
        links: vec![],
        data: Some(vec![1; 300]),
    }
    .encode();
    let with_links = PbNode {
        links: vec![PbLink::unnamed(raw(b"a"), 1)],
        data: None,
    }
    .encode();
    assert!(dagpb_without_links(&leaf));
    assert!(dagpb_without_links(&[]));
    assert!(!dagpb_without_links(&with_links));
    // Data first, then links (allowed by the decoder).
    let mut data_first = vec![0x0a, 0x01, 0x00];
    data_first.extend_from_slice(&with_links);
    assert!(!dagpb_without_links(&data_first));
    // Garbage: unsure, so not flagged.
    assert!(!dagpb_without_links(&[0xff, 0xff, 0xff]));
    assert!(!dagpb_without_links(&[0x0a, 0x09, 0x00]));
}

/// A backend that refuses to grow past `limit` bytes, as a full disk does.
#[derive(Debug)]
struct Quota {
    inner: Arc<InMemoryBackend>,
    limit: u64,
}

impl StorageBackend for Quota {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        if len > self.limit {
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        if offset + data.len() as u64 > self.limit {
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        self.inner.write(offset, data)
    }
}

/// Block `i` of the disk-full tests: 100 KB, distinct.
fn fill_block(i: u64) -> (Cid, Vec<u8>) {
    let d = bytes(1000 + i, 100_000);
    (raw(&d), d)
}

/// Adds batches of 8 blocks until the store refuses; returns how many blocks were
/// committed and the error.
fn fill_until_full(b: &Blocks<'_>) -> (u64, StoreError) {
    let mut next = 0u64;
    loop {
        let batch: Vec<(Cid, Vec<u8>)> = (next..next + 8).map(fill_block).collect();
        match b.put_many(batch.iter().map(|(c, d)| (c, d.as_slice()))) {
            Ok(n) => {
                assert_eq!(n, 8);
                next += 8;
            }
            Err(e) => return (next, e),
        }
        assert!(next < 10_000, "never filled up");
    }
}

/// What must hold after a failed add, once the store is open again: the committed batches
/// are intact and unpinned, nothing of the failed batch is there, gc removes the rest.
fn check_after_full(b: &Blocks<'_>, committed: u64) {
    for i in 0..committed {
        let (c, d) = fill_block(i);
        assert_eq!(b.get(&c).unwrap().unwrap(), d, "committed block {i}");
    }
    for i in committed..committed + 8 {
        assert!(
            !b.has(&fill_block(i).0).unwrap(),
            "block {i} of the failed batch"
        );
    }
    assert_eq!(b.count().unwrap(), committed);
    assert_eq!(b.pins().unwrap(), vec![]);
    let r = b.gc(&[]).unwrap();
    assert!(r.swept);
    assert_eq!((r.removed, r.kept), (committed, 0));
    assert_eq!(r.bytes_freed, committed * 100_000);
}

#[test]
fn disk_full_fails_cleanly_and_leaves_only_garbage() {
    let mem = Arc::new(InMemoryBackend::new());
    let path = PathBuf::from("quota.redb");
    let committed = {
        let db = Database::builder()
            .create_with_backend(Quota {
                inner: mem.clone(),
                limit: 6 << 20,
            })
            .unwrap();
        let b = Blocks::over(&db, &path);
        let (committed, e) = fill_until_full(&b);
        assert!(committed > 0);
        assert!(matches!(e, StoreError::Full { .. }), "{e:?}");
        assert!(e.to_string().contains("quota.redb"), "{e}");
        // redb latches the failure: the handle must be reopened.
        let again = b.put(&raw(b"x"), b"x").unwrap_err();
        assert!(matches!(again, StoreError::NeedsReopen { .. }), "{again:?}");
        committed
    };
    let db = Database::builder()
        .create_with_backend(Quota {
            inner: mem,
            limit: u64::MAX,
        })
        .unwrap();
    check_after_full(&Blocks::over(&db, &path), committed);
}

/// Env var that turns [`file_size_limit_child`] on and names its home.
const FSIZE_HOME: &str = "LEITHER_TEST_FSIZE_HOME";

#[test]
fn a_real_file_size_limit_fails_cleanly() {
    let home = std::env::temp_dir().join(format!("leither-blocks-fsize-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    // A child with RLIMIT_FSIZE at 8 MiB (dash counts 512-byte blocks; the child checks) and
    // SIGXFSZ ignored, so writes past it fail with EFBIG instead of killing the process.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 16384 && trap '' XFSZ && exec \"$0\" \"$@\"")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::blocks::tests::file_size_limit_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FSIZE_HOME, &home)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("committed "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("child said: {stdout}"));
    assert!(committed > 0);
    let store = Store::open(&home, 1 << 20, "id").unwrap();
    assert!(store.file_size() <= 8 << 20);
    check_after_full(&Blocks::new(&store), committed);
    drop(store);
    std::fs::remove_dir_all(&home).unwrap();
}

/// The child of [`a_real_file_size_limit_fails_cleanly`]; does nothing unless run by it.
#[test]
#[ignore = "run by a_real_file_size_limit_fails_cleanly in a child process"]
fn file_size_limit_child() {
    let Some(home) = std::env::var_os(FSIZE_HOME) else {
        return;
    };
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max file size"))
        .unwrap();
    assert!(line.contains("8388608"), "{line}");
    let store = Store::open(std::path::Path::new(&home), 1 << 20, "id").unwrap();
    let b = Blocks::new(&store);
    let (committed, e) = fill_until_full(&b);
    assert!(matches!(e, StoreError::Full { .. }), "{e:?}");
    println!("error {e}");
    println!("committed {committed}");
}

/// The layout measurement behind docs/storage.md, run by `benches/blockstore.sh` in a
/// release build, one layout per process (so each peak RSS is its own).
mod bench {
    use super::*;
    use redb::TableDefinition;
    use std::io::Write;
    use std::time::Instant;

    const BLOCK: usize = 262_144;
    const BATCH: usize = 16;

    fn env(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    /// Block `i`: one random 256 KiB buffer with `i` in its first bytes.
    fn block(base: &[u8], i: usize, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(base);
        out[..8].copy_from_slice(&(i as u64).to_le_bytes());
    }

    fn status(key: &str, file: &str) -> u64 {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Disk blocks and apparent bytes of everything under `dir`.
    fn usage(dir: &std::path::Path) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        let mut disk = 0;
        let mut len = 0;
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                if m.is_dir() {
                    todo.push(e.path());
                } else {
                    disk += m.blocks() * 512;
                    len += m.len();
                }
            }
        }
        (disk, len)
    }

    fn mib_s(bytes: usize, secs: f64) -> f64 {
        bytes as f64 / (1 << 20) as f64 / secs
    }

    const WHOLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("whole");
    const FILES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("files_index");

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn file_of(dir: &std::path::Path, cid: &Cid) -> PathBuf {
        let h = hex(cid.hash().digest());
        dir.join("blocks").join(&h[..2]).join(h)
    }

    #[test]
    #[ignore = "benchmark: run by benches/blockstore.sh"]
    fn layout_bench() {
        let (Some(dir), Some(layout)) = (env("LEITHER_BENCH_DIR"), env("LEITHER_BENCH_LAYOUT"))
        else {
            return;
        };
        let dir = PathBuf::from(dir);
        let mib: usize = env("LEITHER_BENCH_MIB").map_or(256, |v| v.parse().unwrap());
        let n = mib * (1 << 20) / BLOCK;
        let base = bytes(42, BLOCK);
        let mut buf = Vec::with_capacity(BLOCK);
        if layout == "hash" {
            // The piece checks as the store computes them: over one piece, keyed.
            let key = piece_key(&block_key(&raw(&base)), 0);
            let mut check_speed = |check| {
                let t = Instant::now();
                for i in 0..n {
                    block(&base, i, &mut buf);
                    for p in buf.chunks(PIECE_LEN) {
                        std::hint::black_box(piece_sum(check, &key, p));
                    }
                }
                mib_s(n * BLOCK, t.elapsed().as_secs_f64())
            };
            let b3 = check_speed(Check::Blake3);
            let xx = check_speed(Check::Xxh3);
            let t = Instant::now();
            for i in 0..n {
                block(&base, i, &mut buf);
                std::hint::black_box(crate::ipfs::Multihash::sha2_256(&buf));
            }
            let sha = mib_s(n * BLOCK, t.elapsed().as_secs_f64());
            println!(
                "RESULT hash piece check blake3 {b3:.0} MiB/s, xxh3-128 {xx:.0} MiB/s, sha2-256 {sha:.0} MiB/s"
            );
            return;
        }
        let cids: Vec<Cid> = (0..n)
            .map(|i| {
                block(&base, i, &mut buf);
                raw(&buf)
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let io_before = status("write_bytes:", "/proc/self/io");
        let store = Store::open(&dir, 4 << 20, "bench").unwrap();
        let b = Blocks::new(&store);
        let db = store.db();
        let t = Instant::now();
        match layout.as_str() {
            "pieces" => {
                let mut batch: Vec<Vec<u8>> = Vec::new();
                for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
                    batch.clear();
                    for &i in chunk {
                        let mut d = Vec::new();
                        block(&base, i, &mut d);
                        batch.push(d);
                    }
                    b.put_many(
                        chunk
                            .iter()
                            .zip(&batch)
                            .map(|(&i, d)| (&cids[i], d.as_slice())),
                    )
                    .unwrap();
                }
            }
            "pieces-single" => {
                for (i, cid) in cids.iter().enumerate() {
                    block(&base, i, &mut buf);
                    b.put(cid, &buf).unwrap();
                }
            }
            "whole" => {
                for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
                    let tx = db.begin_write().unwrap();
                    {
                        let mut t = tx.open_table(WHOLE).unwrap();
                        for &i in chunk {
                            block(&base, i, &mut buf);
                            let k = block_key(&cids[i]);
                            let mut slot = t.insert_reserve(k.as_slice(), 16 + BLOCK).unwrap();
                            let out = slot.as_mut();
                            out[..16].copy_from_slice(&piece_sum(Check::Xxh3, &k, &buf));
                            out[16..].copy_from_slice(&buf);
                        }
                    }
                    tx.commit().unwrap();
                }
            }
            "files" | "files-fsync" => {
                let sync = layout == "files-fsync";
                for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
                    let mut dirs = Vec::new();
                    let tx = db.begin_write().unwrap();
                    {
                        let mut t = tx.open_table(FILES).unwrap();
                        for &i in chunk {
                            block(&base, i, &mut buf);
                            let p = file_of(&dir, &cids[i]);
                            let parent = p.parent().unwrap().to_path_buf();
                            std::fs::create_dir_all(&parent).unwrap();
                            let tmp = p.with_extension("tmp");
                            let mut f = std::fs::File::create(&tmp).unwrap();
                            f.write_all(&buf).unwrap();
                            if sync {
                                f.sync_all().unwrap();
                            }
                            std::fs::rename(&tmp, &p).unwrap();
                            dirs.push(parent);
                            let k = block_key(&cids[i]);
                            let mut rec = (BLOCK as u64).to_be_bytes().to_vec();
                            rec.extend_from_slice(&piece_sum(Check::Xxh3, &k, &buf));
                            t.insert(k.as_slice(), rec.as_slice()).unwrap();
                        }
                    }
                    if sync {
                        // The names must be durable before the index that points at them.
                        dirs.sort();
                        dirs.dedup();
                        for d in dirs {
                            std::fs::File::open(d).unwrap().sync_all().unwrap();
                        }
                    }
                    tx.commit().unwrap();
                }
            }
            other => panic!("unknown layout {other}"),
        }
        let write = mib_s(n * BLOCK, t.elapsed().as_secs_f64());
        let written = status("write_bytes:", "/proc/self/io") - io_before;

        let t = Instant::now();
        let mut total = 0usize;
        for (i, cid) in cids.iter().enumerate() {
            let data = match layout.as_str() {
                "pieces" | "pieces-single" => b.get(cid).unwrap().unwrap(),
                "whole" => {
                    let tx = db.begin_read().unwrap();
                    let t = tx.open_table(WHOLE).unwrap();
                    let k = block_key(cid);
                    let g = t.get(k.as_slice()).unwrap().unwrap();
                    let (sum, d) = g.value().split_at(16);
                    assert_eq!(sum, piece_sum(Check::Xxh3, &k, d));
                    d.to_vec()
                }
                _ => {
                    let tx = db.begin_read().unwrap();
                    let t = tx.open_table(FILES).unwrap();
                    let k = block_key(cid);
                    let g = t.get(k.as_slice()).unwrap().unwrap();
                    let d = std::fs::read(file_of(&dir, cid)).unwrap();
                    assert_eq!(&g.value()[8..], piece_sum(Check::Xxh3, &k, &d));
                    d
                }
            };
            assert_eq!(data.len(), BLOCK, "{i}");
            total += data.len();
        }
        let read = mib_s(total, t.elapsed().as_secs_f64());
        drop(store);
        let (disk, len) = usage(&dir);
        let files = if layout.starts_with("files") {
            n + 1
        } else {
            1
        };
        println!(
            "RESULT {layout}: {mib} MiB in {n} blocks of 256 KiB, batches of {batch}: write {write:.0} MiB/s, read {read:.0} MiB/s (warm cache, checked), disk {:.1} MiB, apparent {:.1} MiB, {files} files, written {:.1} MiB, peak RSS {:.1} MiB",
            disk as f64 / (1 << 20) as f64,
            len as f64 / (1 << 20) as f64,
            written as f64 / (1 << 20) as f64,
            status("VmHWM:", "/proc/self/status") as f64 / 1024.0,
            batch = if layout == "pieces-single" { 1 } else { BATCH },
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
