//! Who made each Mimei on this node. Every Mimei here is signed by the node key, so its header
//! names the node as author whoever asked for it; this table remembers the user whose
//! `MMCreate` made it, so that a fixed mark is never adopted by someone else
//! (docs/security.md, "Names that cannot be squatted").
//!
//! One redb table, `mimei_creators`: Mimei ID (text) → the creator's user ID (text). Written
//! in the same call that creates the Mimei; Mimeis made before this table existed, or by the
//! node itself, have no row.

use redb::{ReadableDatabase, TableDefinition};

use crate::api::ApiError;
use crate::store::Store;
use crate::store::blocks::db_err;

/// `mimei_creators`: Mimei ID to its creator's user ID.
pub const MIMEI_CREATORS: TableDefinition<&str, &str> = TableDefinition::new("mimei_creators");

fn err(store: &Store, e: impl Into<redb::Error>) -> ApiError {
    ApiError::Store(db_err(store.path(), e.into()))
}

/// Records `uid` as the creator of `mid`.
pub fn record(store: &Store, mid: &str, uid: &str) -> Result<(), ApiError> {
    let tx = store.db().begin_write().map_err(|e| err(store, e))?;
    {
        let mut t = tx.open_table(MIMEI_CREATORS).map_err(|e| err(store, e))?;
        t.insert(mid, uid).map_err(|e| err(store, e))?;
    }
    tx.commit().map_err(|e| err(store, e))
}

/// The creator of `mid`, when it was recorded.
pub fn creator(store: &Store, mid: &str) -> Result<Option<String>, ApiError> {
    let tx = store.db().begin_read().map_err(|e| err(store, e))?;
    let t = match tx.open_table(MIMEI_CREATORS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(err(store, e)),
    };
    Ok(t.get(mid)
        .map_err(|e| err(store, e))?
        .map(|v| v.value().to_string()))
}
