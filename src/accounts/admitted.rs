//! Users the owner admitted: Leither's `lpki addkey` / `lpki delkey`, the `AddUser` /
//! `DelUser` / `ListUsers` API functions, and `RequestService` for a service the owner grants
//! to everyone (`GrantServices` in SystemVars.json).
//!
//! Admission is what turns a key that signed a pass into a user of the node's shared resources
//! (blocks, Mimeis, services, temporary files, DHT values, domains); see docs/security.md,
//! "Who may do what". A key that is neither the node key, nor admitted here, nor an account
//! registered on this node ([`super::Accounts`]) is a visitor: known by its ID (so rights
//! granted to that ID on a Mimei still hold), but it stores nothing of its own.
//!
//! One redb table, `admitted`: user ID (27 characters) → record `1` (format) ‖ admitted at
//! (u64 BE, unix seconds) ‖ how (UTF-8, at most [`MAX_HOW`] bytes: `addkey`, `service:NAME`).
//! At most [`MAX_ADMITTED`] rows.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::AccountError;
use crate::pki::LeitherId;
use crate::store::Store;
use crate::store::blocks::db_err;

/// `admitted`: user ID to its record (module doc).
pub const ADMITTED: TableDefinition<&str, &[u8]> = TableDefinition::new("admitted");

/// Most users a node admits (accounts are counted apart, [`super::MAX_ACCOUNTS`]).
pub const MAX_ADMITTED: u64 = 10_000;
/// Longest "how" note of a record, in bytes.
pub const MAX_HOW: usize = 80;

const FORMAT: u8 = 1;

/// One admitted user.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Admitted {
    /// The user ID.
    pub uid: String,
    /// Unix seconds of the admission.
    pub at: u64,
    /// How: `addkey`, `service:NAME` for a `RequestService` grant, `invite:NONCE credit=C` for
    /// a node that used this node's invitation, `accepted:NONCE credit=C` for the node whose
    /// invitation this node accepted.
    pub how: String,
}

impl Admitted {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(9 + self.how.len());
        v.push(FORMAT);
        v.extend_from_slice(&self.at.to_be_bytes());
        v.extend_from_slice(crate::api::truncate(&self.how, MAX_HOW).as_bytes());
        v
    }

    fn decode(uid: &str, b: &[u8]) -> Result<Admitted, AccountError> {
        let damaged = || AccountError::Damaged(format!("admitted user {uid}: unknown format"));
        if b.len() < 9 || b[0] != FORMAT {
            return Err(damaged());
        }
        let at = u64::from_be_bytes(b[1..9].try_into().map_err(|_| damaged())?);
        let how = String::from_utf8_lossy(&b[9..]).into_owned();
        Ok(Admitted {
            uid: uid.to_string(),
            at,
            how,
        })
    }
}

/// The admitted users of one node's store.
pub struct AdmittedUsers<'a> {
    store: &'a Store,
}

impl<'a> AdmittedUsers<'a> {
    /// The admitted users kept in `store`.
    pub fn new(store: &'a Store) -> AdmittedUsers<'a> {
        AdmittedUsers { store }
    }

    /// Admits `uid` (`how` says why). Admitting someone already admitted keeps the first
    /// record and answers `false`.
    pub fn add(&self, uid: &LeitherId, how: &str, now: u64) -> Result<bool, AccountError> {
        let key = uid.to_string();
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        let added = {
            let mut t = tx.open_table(ADMITTED).map_err(|e| self.err(e))?;
            if t.get(key.as_str()).map_err(|e| self.err(e))?.is_some() {
                false
            } else {
                if t.len().map_err(|e| self.err(e))? >= MAX_ADMITTED {
                    return Err(AccountError::TooManyAdmitted);
                }
                let rec = Admitted {
                    uid: key.clone(),
                    at: now,
                    how: how.to_string(),
                };
                t.insert(key.as_str(), rec.encode().as_slice())
                    .map_err(|e| self.err(e))?;
                true
            }
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(added)
    }

    /// Removes `uid`; answers whether it was admitted.
    pub fn remove(&self, uid: &LeitherId) -> Result<bool, AccountError> {
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        let removed = {
            let mut t = tx.open_table(ADMITTED).map_err(|e| self.err(e))?;
            t.remove(uid.to_string().as_str())
                .map_err(|e| self.err(e))?
                .is_some()
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(removed)
    }

    /// Whether `uid` is admitted.
    pub fn contains(&self, uid: &str) -> Result<bool, AccountError> {
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(ADMITTED) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
            Err(e) => return Err(self.err(e)),
        };
        Ok(t.get(uid).map_err(|e| self.err(e))?.is_some())
    }

    /// The record of `uid`, if admitted.
    pub fn get(&self, uid: &str) -> Result<Option<Admitted>, AccountError> {
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(ADMITTED) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let rec = t.get(uid).map_err(|e| self.err(e))?;
        rec.map(|v| Admitted::decode(uid, v.value())).transpose()
    }

    /// Every admitted user, by ID.
    pub fn list(&self) -> Result<Vec<Admitted>, AccountError> {
        let rows = self.store.rows(ADMITTED, |k: &str| k.to_string())?;
        rows.iter()
            .map(|(uid, rec)| Admitted::decode(uid, rec))
            .collect()
    }

    fn err(&self, e: impl Into<redb::Error>) -> AccountError {
        AccountError::Store(db_err(self.store.path(), e.into()))
    }
}

/// Whether `uid` is a user of this node: admitted, or an account registered here.
pub fn is_member(store: &Store, uid: &str) -> Result<bool, AccountError> {
    if AdmittedUsers::new(store).contains(uid)? {
        return Ok(true);
    }
    match uid.parse::<LeitherId>() {
        Ok(id) => Ok(super::Accounts::new(store).by_uid(&id)?.is_some()),
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_remove() {
        let d = std::env::temp_dir().join(format!("leither-admitted-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let store = Store::open(&d, 1 << 20, "node").unwrap();
        let a = AdmittedUsers::new(&store);
        let id = crate::pki::NodeKey::generate().unwrap().id();
        assert!(!a.contains(&id.to_string()).unwrap());
        assert!(a.add(&id, "addkey", 5).unwrap());
        assert!(!a.add(&id, "again", 6).unwrap(), "the first record stays");
        assert!(is_member(&store, &id.to_string()).unwrap());
        let l = a.list().unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].at, l[0].how.as_str()), (5, "addkey"));
        assert!(a.remove(&id).unwrap());
        assert!(!a.remove(&id).unwrap());
        assert!(!is_member(&store, &id.to_string()).unwrap());
        drop(store);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
