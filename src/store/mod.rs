//! The node's redb database under `<home>/db/`: opening it with a small cache, the schema
//! version, and the table definitions every layer above stores into.
//!
//! docs/storage.md describes every table. A new table is added here, with its line there.
//! redb calls are short and run inline on the node's one thread (see docs/architecture.md).

use std::fmt;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, TableDefinition};

/// The schema this binary writes. A database with a newer schema is refused, an older one is
/// migrated forward in [`Store::open`].
pub const SCHEMA_VERSION: u32 = 1;

/// `meta`: node-wide facts. Keys: `schema_version` (u32 BE), `created` (unix secs, u64 BE),
/// `node_id` (the 27-character ID of the key that created the store, UTF-8).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

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
