//! The node's redb database under `<home>/db/`: opening it with a small cache, the schema
//! version, and the table definitions every layer above stores into.
//!
//! docs/storage.md describes every table. A new table is added here, with its line there.
//! redb calls are short and run inline on the node's one thread (see docs/architecture.md).

use std::fmt;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, TableDefinition};

use crate::ipfs::Cid;

pub mod blocks;
pub mod gc;
pub mod mfs;
pub mod pins;
pub mod tags;
pub mod tree;
mod tree_file;

pub use blocks::{Blocks, MAX_BLOCK_LEN};
pub use gc::GcReport;
pub use pins::{PinAdded, PinKind};

/// The schema this binary writes. A database with a newer schema is refused, an older one is
/// migrated forward in [`Store::open`].
pub const SCHEMA_VERSION: u32 = 1;

/// `meta`: node-wide facts. Keys: `schema_version` (u32 BE), `created` (unix secs, u64 BE),
/// `node_id` (the 27-character ID of the key that created the store, UTF-8).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// `blocks`: one 24-byte record per stored block, keyed by the block's multihash (binary):
/// format, the CID version and codec it was first stored under, flags, size and a BLAKE3
/// check of the record. The bytes are in [`BLOCK_PIECES`]. Layout in [`blocks`] and
/// docs/storage.md. The record's format byte versions the block layout on its own, so a
/// change there does not need a new [`SCHEMA_VERSION`].
pub const BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blocks");

/// `block_pieces`: a block's bytes in pieces of at most [`blocks::PIECE_LEN`] bytes, keyed by
/// multihash + piece number (u16 BE); each value is a 16-byte check (xxh3-128, or BLAKE3 for
/// blocks of record format 1), then the bytes.
pub const BLOCK_PIECES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("block_pieces");

/// `pins`: CID (binary, as pinned) to its kind: 1 direct, 2 recursive ([`PinKind`]).
pub const PINS: TableDefinition<&[u8], u8> = TableDefinition::new("pins");

/// File name of the database inside `<home>/db/`.
pub const DB_FILE: &str = "leither.redb";

/// What went wrong with the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process has the database open (another node on the same home).
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The file is damaged or not a Leither database. It is left as it is.
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What redb found.
        detail: String,
    },
    /// The database was written by a newer Leither.
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
    },
    /// Reading or writing failed.
    Io {
        /// The database file.
        path: PathBuf,
        /// What the system or redb said.
        detail: String,
    },
    /// A stored block failed its checksum or its record does not add up: its bytes were not
    /// returned. The damaged copy stays until it is deleted ([`Blocks::delete`]).
    BlockDamaged {
        /// The block.
        cid: Cid,
        /// The database file.
        path: PathBuf,
        /// Which check failed.
        detail: String,
    },
    /// Bytes offered for a CID (from a peer or a file) do not hash to it; nothing was stored.
    HashMismatch {
        /// The CID the bytes claimed to be.
        cid: Cid,
    },
    /// A block longer than [`MAX_BLOCK_LEN`] was offered; nothing was stored.
    BlockTooLarge {
        /// The block.
        cid: Cid,
        /// Its length in bytes.
        len: usize,
    },
    /// The operation needs a block that is not in the store.
    BlockMissing {
        /// The block.
        cid: Cid,
    },
    /// The disk, a quota or the file size limit is full: the write was not committed and
    /// nothing of it is visible. redb refuses further writes through this handle until the
    /// database is reopened ([`StoreError::NeedsReopen`]).
    Full {
        /// The database file.
        path: PathBuf,
        /// What the system said.
        detail: String,
    },
    /// An earlier write failed (for example the disk filled up); redb refuses to go on with
    /// this handle. Everything committed before the failure is intact.
    NeedsReopen {
        /// The database file.
        path: PathBuf,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::InUse { path } => write!(
                f,
                "the database {} is in use by another process; stop the other node first (`leither stop`)",
                path.display()
            ),
            StoreError::Damaged { path, detail } => write!(
                f,
                "the database {} is damaged ({detail}); it was left untouched: restore it from a backup, or move it away to start with an empty store",
                path.display()
            ),
            StoreError::TooNew { path, found } => write!(
                f,
                "the database {} has schema version {found}, newer than this leither understands ({SCHEMA_VERSION}); upgrade leither",
                path.display()
            ),
            StoreError::Io { path, detail } => {
                write!(f, "the database {}: {detail}", path.display())
            }
            StoreError::BlockDamaged { cid, path, detail } => write!(
                f,
                "block {cid} is damaged in the database {} ({detail}); it was not served: delete it and add or fetch it again",
                path.display()
            ),
            StoreError::HashMismatch { cid } => write!(
                f,
                "the data given for {cid} does not hash to that CID; it was not stored (a peer that sent it should be dropped)"
            ),
            StoreError::BlockTooLarge { cid, len } => write!(
                f,
                "block {cid} is {len} bytes, more than the {MAX_BLOCK_LEN} a block may have; it was not stored (use a smaller chunker)"
            ),
            StoreError::BlockMissing { cid } => {
                write!(f, "block {cid} is not in the store; add or fetch it first")
            }
            StoreError::Full { path, detail } => write!(
                f,
                "no room to write the database {} ({detail}); nothing of this write was kept: free space (`leither repo gc`, or delete files on that disk) and restart the node",
                path.display()
            ),
            StoreError::NeedsReopen { path } => write!(
                f,
                "an earlier write to the database {} failed (disk full?); what was committed is intact, but the node must be restarted to use it again",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StoreError {}

/// The open database.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) `<home>/db/leither.redb` with a page cache of `cache_bytes`, checks
    /// the schema version and records it in a new database.
    pub fn open(home: &Path, cache_bytes: usize, node_id: &str) -> Result<Store, StoreError> {
        let dir = home.join("db");
        let path = dir.join(DB_FILE);
        let io = |detail: String| StoreError::Io {
            path: path.clone(),
            detail,
        };
        std::fs::create_dir_all(&dir).map_err(|e| io(e.to_string()))?;
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    StoreError::InUse { path: path.clone() }
                }
                redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
                    StoreError::Damaged {
                        path: path.clone(),
                        detail,
                    }
                }
                redb::DatabaseError::Storage(redb::StorageError::Io(e))
                    if e.kind() == std::io::ErrorKind::InvalidData =>
                {
                    StoreError::Damaged {
                        path: path.clone(),
                        detail: e.to_string(),
                    }
                }
                other => io(other.to_string()),
            })?;
        let store = Store { db, path };
        store.check_schema(node_id)?;
        Ok(store)
    }

    fn err(&self, e: impl fmt::Display) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn check_schema(&self, node_id: &str) -> Result<(), StoreError> {
        let found = self.meta_get("schema_version")?;
        match found {
            Some(bytes) => {
                let v = <[u8; 4]>::try_from(bytes.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Damaged {
                        path: self.path.clone(),
                        detail: "schema_version is not 4 bytes".to_string(),
                    })?;
                if v > SCHEMA_VERSION {
                    return Err(StoreError::TooNew {
                        path: self.path.clone(),
                        found: v,
                    });
                }
                Ok(())
            }
            None => {
                let now = crate::clock::unix_now();
                let tx = self.db.begin_write().map_err(|e| self.err(e))?;
                {
                    let mut t = tx.open_table(META).map_err(|e| self.err(e))?;
                    t.insert("schema_version", SCHEMA_VERSION.to_be_bytes().as_slice())
                        .map_err(|e| self.err(e))?;
                    t.insert("created", now.to_be_bytes().as_slice())
                        .map_err(|e| self.err(e))?;
                    t.insert("node_id", node_id.as_bytes())
                        .map_err(|e| self.err(e))?;
                }
                tx.commit().map_err(|e| self.err(e))
            }
        }
    }

    /// Reads a `meta` entry.
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = match tx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let v = table.get(key).map_err(|e| self.err(e))?;
        Ok(v.map(|g| g.value().to_vec()))
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .meta_get("schema_version")?
            .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0))
    }

    /// Size of the database file in bytes.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// The redb handle, for the layers that own tables.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every row of a table with byte values, its key made owned by `key` (a table that does
    /// not exist yet has no rows). For the small tables that are read whole.
    pub fn rows<K: redb::Key + 'static, T>(
        &self,
        table: TableDefinition<K, &[u8]>,
        key: impl Fn(K::SelfType<'_>) -> T,
    ) -> Result<Vec<(T, Vec<u8>)>, StoreError> {
        let err = |e: redb::Error| blocks::db_err(&self.path, e);
        let tx = self.db.begin_read().map_err(|e| err(e.into()))?;
        let t = match tx.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(err(e.into())),
        };
        let mut out = Vec::new();
        for row in redb::ReadableTable::iter(&t).map_err(|e| err(e.into()))? {
            let (k, v) = row.map_err(|e| err(e.into()))?;
            out.push((key(k.value()), v.value().to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("leither-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn records_schema_and_reopens() {
        let h = home("schema");
        {
            let s = Store::open(&h, 1 << 20, "id").unwrap();
            assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
            assert_eq!(s.meta_get("node_id").unwrap().unwrap(), b"id");
        }
        let s = Store::open(&h, 1 << 20, "other").unwrap();
        assert_eq!(s.meta_get("node_id").unwrap().unwrap(), b"id");
        drop(s);
        std::fs::remove_dir_all(&h).unwrap();
    }

    #[test]
    fn garbage_file_is_refused_and_left_alone() {
        let h = home("garbage");
        std::fs::create_dir_all(h.join("db")).unwrap();
        let p = h.join("db").join(DB_FILE);
        let junk = vec![0x5au8; 8192];
        std::fs::write(&p, &junk).unwrap();
        let e = Store::open(&h, 1 << 20, "id").err().expect("must fail");
        let msg = e.to_string();
        assert!(msg.contains("leither.redb"), "{msg}");
        assert_eq!(std::fs::read(&p).unwrap(), junk, "file untouched");
        std::fs::remove_dir_all(&h).unwrap();
    }

    #[test]
    fn newer_schema_is_refused() {
        let h = home("newer");
        {
            let s = Store::open(&h, 1 << 20, "id").unwrap();
            let tx = s.db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 99u32.to_be_bytes().as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        let e = Store::open(&h, 1 << 20, "id").err().expect("must fail");
        assert!(matches!(e, StoreError::TooNew { found: 99, .. }));
        std::fs::remove_dir_all(&h).unwrap();
    }
}
