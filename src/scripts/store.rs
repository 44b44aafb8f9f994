//! Registered scripts (`RegisterScript`, `RunByScriptID`) and the scripts' own small state,
//! kept in the node's store.
//!
//! Tables: `script_meta` (ID → a JSON record: author, name, memo, at, size), `script_src`
//! (ID → the Lua text), `script_state` (a name → bytes: the hash of the `_Install.lua` that
//! last ran, see [`super::install`]). Counting reads `script_meta` only.
//!
//! Bounds (docs/scripts.md): a script is at most [`super::MAX_SCRIPT_BYTES`] bytes; a user keeps at
//! most [`MAX_PER_USER`] scripts and the node at most [`MAX_SCRIPTS`] of its users'; the
//! owner is exempt from both counts, as from the other per-user quotas (docs/security.md).
//! The bytes stored are charged to the user's `QuotaAddMBPerDay` by the caller.

use redb::{ReadableDatabase, TableDefinition};

use crate::api::json::{JsonLimits, decode, encode};
use crate::api::{ApiError, Value};
use crate::store::Store;
use crate::store::blocks::db_err;

/// `script_meta`: ID → JSON record.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("script_meta");
/// `script_src`: ID → Lua text.
pub const SRC: TableDefinition<&str, &[u8]> = TableDefinition::new("script_src");
/// `script_state`: name → bytes.
pub const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("script_state");

/// Most scripts one user registers (the owner is not counted).
pub const MAX_PER_USER: usize = 32;
/// Most scripts the node keeps for its users (the owner's are not counted).
pub const MAX_SCRIPTS: usize = 1024;
/// Longest name or memo kept, in bytes.
pub const MAX_LABEL: usize = 256;

/// A registered script's record.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptMeta {
    /// Its ID.
    pub id: String,
    /// Who registered it (user ID; the node's ID for the owner).
    pub author: String,
    /// Leither's `ScriptInfo.Name`.
    pub name: String,
    /// Leither's `ScriptInfo.Memo`.
    pub memo: String,
    /// When it was registered (unix seconds).
    pub at: u64,
    /// Its size in bytes.
    pub size: usize,
}

impl ScriptMeta {
    fn encode(&self) -> Vec<u8> {
        let v = Value::map([
            ("author", Value::from(self.author.as_str())),
            ("name", Value::from(self.name.as_str())),
            ("memo", Value::from(self.memo.as_str())),
            ("at", Value::Int(self.at as i64)),
            ("size", Value::Int(self.size as i64)),
        ]);
        let mut s = String::new();
        encode(&v, &mut s);
        s.into_bytes()
    }

    fn decode(id: &str, b: &[u8]) -> Option<ScriptMeta> {
        let v = decode(b, &JsonLimits::DEFAULT).ok()?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let num = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0).max(0) as u64;
        Some(ScriptMeta {
            id: id.to_string(),
            author: text("author"),
            name: text("name"),
            memo: text("memo"),
            at: num("at"),
            size: num("size") as usize,
        })
    }

    /// Leither's `ScriptInfo` with ours beside it.
    pub fn to_value(&self) -> Value {
        Value::map([
            ("ID", Value::from(self.id.as_str())),
            ("Name", Value::from(self.name.as_str())),
            ("Memo", Value::from(self.memo.as_str())),
            ("author", Value::from(self.author.as_str())),
            ("at", Value::Int(self.at as i64)),
            ("size", Value::Int(self.size as i64)),
        ])
    }
}

fn err(store: &Store, e: impl Into<redb::Error>) -> ApiError {
    ApiError::Store(db_err(store.path(), e))
}

/// Every record.
pub fn list(store: &Store) -> Result<Vec<ScriptMeta>, ApiError> {
    let rows = store.rows(META, |k: &str| k.to_string())?;
    Ok(rows
        .iter()
        .filter_map(|(id, b)| ScriptMeta::decode(id, b))
        .collect())
}

/// A script's record and text.
pub fn get(store: &Store, id: &str) -> Result<Option<(ScriptMeta, String)>, ApiError> {
    let tx = store.db().begin_read().map_err(|e| err(store, e))?;
    let (meta, src) = match (tx.open_table(META), tx.open_table(SRC)) {
        (Ok(m), Ok(s)) => (m, s),
        (Err(redb::TableError::TableDoesNotExist(_)), _)
        | (_, Err(redb::TableError::TableDoesNotExist(_))) => return Ok(None),
        (Err(e), _) | (_, Err(e)) => return Err(err(store, e)),
    };
    let Some(m) = meta.get(id).map_err(|e| err(store, e))? else {
        return Ok(None);
    };
    let Some(m) = ScriptMeta::decode(id, m.value()) else {
        return Err(ApiError::Internal(format!(
            "the record of script {id} is damaged"
        )));
    };
    let Some(s) = src.get(id).map_err(|e| err(store, e))? else {
        return Ok(None);
    };
    Ok(Some((m, String::from_utf8_lossy(s.value()).into_owned())))
}

fn fresh_id() -> Result<String, ApiError> {
    let mut raw = [0u8; 12];
    getrandom::getrandom(&mut raw)
        .map_err(|e| ApiError::Internal(format!("no randomness for a script ID: {e}")))?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// Registers `source` for `author` (the node's owner, `owner_id`, is exempt from the counts).
/// `replace`: an ID of the author's own script to replace (Leither's `ScriptInfo.ID`); an
/// ID of someone else's, or unknown, gets a fresh ID instead. Answers the ID.
#[allow(clippy::too_many_arguments)]
pub fn register(
    store: &Store,
    author: &str,
    owner_id: &str,
    name: &str,
    memo: &str,
    replace: Option<&str>,
    source: &str,
    now: u64,
) -> Result<String, ApiError> {
    let all = list(store)?;
    let replaced = replace.and_then(|id| all.iter().find(|m| m.id == id && m.author == author));
    if replaced.is_none() && author != owner_id {
        let mine = all.iter().filter(|m| m.author == author).count();
        if mine >= MAX_PER_USER {
            return Err(ApiError::Busy(format!(
                "you have {mine} scripts registered here, the most a user may keep ({MAX_PER_USER}); \
                 replace one (ScriptInfo.ID) or ask the owner"
            )));
        }
        let users = all.iter().filter(|m| m.author != owner_id).count();
        if users >= MAX_SCRIPTS {
            return Err(ApiError::Busy(format!(
                "this node keeps {MAX_SCRIPTS} scripts of its users, the most it keeps"
            )));
        }
    }
    super::engine::check_source("RegisterScript", source)?;
    let id = match replaced {
        Some(m) => m.id.clone(),
        None => fresh_id()?,
    };
    let meta = ScriptMeta {
        id: id.clone(),
        author: author.to_string(),
        name: crate::api::truncate(name, MAX_LABEL),
        memo: crate::api::truncate(memo, MAX_LABEL),
        at: now,
        size: source.len(),
    };
    let tx = store.db().begin_write().map_err(|e| err(store, e))?;
    {
        let mut m = tx.open_table(META).map_err(|e| err(store, e))?;
        m.insert(id.as_str(), meta.encode().as_slice())
            .map_err(|e| err(store, e))?;
        let mut s = tx.open_table(SRC).map_err(|e| err(store, e))?;
        s.insert(id.as_str(), source.as_bytes())
            .map_err(|e| err(store, e))?;
    }
    tx.commit().map_err(|e| err(store, e))?;
    Ok(id)
}

/// Removes script `id`; answers whether it was there.
pub fn remove(store: &Store, id: &str) -> Result<bool, ApiError> {
    let tx = store.db().begin_write().map_err(|e| err(store, e))?;
    let removed = {
        let mut m = tx.open_table(META).map_err(|e| err(store, e))?;
        let was = m.remove(id).map_err(|e| err(store, e))?.is_some();
        let mut s = tx.open_table(SRC).map_err(|e| err(store, e))?;
        s.remove(id).map_err(|e| err(store, e))?;
        was
    };
    tx.commit().map_err(|e| err(store, e))?;
    Ok(removed)
}

/// A value of `script_state`.
pub fn state_get(store: &Store, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let tx = store.db().begin_read().map_err(|e| err(store, e))?;
    let t = match tx.open_table(STATE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(err(store, e)),
    };
    Ok(t.get(key)
        .map_err(|e| err(store, e))?
        .map(|v| v.value().to_vec()))
}

/// Sets a value of `script_state`.
pub fn state_set(store: &Store, key: &str, value: &[u8]) -> Result<(), ApiError> {
    let tx = store.db().begin_write().map_err(|e| err(store, e))?;
    {
        let mut t = tx.open_table(STATE).map_err(|e| err(store, e))?;
        t.insert(key, value).map_err(|e| err(store, e))?;
    }
    tx.commit().map_err(|e| err(store, e))
}
