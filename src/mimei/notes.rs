//! Notes kept beside a Mimei's versions: the memo of `MMBackup` and the references
//! (`MMAddRef`, `MMDelRef`, `MMGetRef`, `MMGetRefs`), for `cur` and for each version.
//!
//! **Why beside, not inside, the version record.** A version record is signed and travels to
//! other nodes; its layout is fixed by docs/mimei.md and verified everywhere. The memo and the
//! references are local bookkeeping in Leither too (its memo is "reserved, not yet used"), so
//! they live in their own table and a node that lacks them still verifies every record.
//!
//! **References.** A reference says that a version of this Mimei uses another object: a Mimei
//! (by its 27-character ID) or an IPFS object (by CID). Each is counted: adding the same ID
//! twice counts 2, removing it once leaves 1, and at 0 it is gone. References are edited on
//! `cur`; `MMBackup` copies them into the new version (and with `delref=` clears `cur`'s),
//! `MMRestore` copies a version's back into `cur`, and deleting a version deletes its notes.
//!
//! Table `mimei_notes`: Mimei ID (20 bytes) + version (u64 BE; 0 is `cur`) -> postcard
//! `(memo: String, refs: Vec<(String, u64)>)`, refs sorted by ID, no zero counts.

use std::collections::BTreeMap;

use redb::{ReadableDatabase, TableDefinition};

use super::MimeiId;
use super::wire::{Reader, Writer};
use crate::store::blocks::db_err;
use crate::store::{Store, StoreError};

/// `mimei_notes`: see the module doc.
pub const NOTES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("mimei_notes");

/// Longest memo kept, in bytes (a longer one is refused).
pub const MAX_MEMO: usize = 4096;
/// Most distinct references one version (or `cur`) holds.
pub const MAX_REFS: usize = 10_000;
/// Longest reference ID, in bytes (a CIDv1 in base32 with sha2-512 fits).
pub const MAX_REF_ID: usize = 128;

/// The notes of `cur` (version 0) or of one version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// The memo given to `MMBackup` ("" for none and for `cur`).
    pub memo: String,
    /// Reference ID -> count (never 0).
    pub refs: BTreeMap<String, u64>,
}

impl Notes {
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(self.memo.as_bytes());
        w.varint(self.refs.len() as u64);
        for (id, n) in &self.refs {
            w.bytes(id.as_bytes());
            w.varint(*n);
        }
        w.into_vec()
    }

    /// Parses [`Notes::to_bytes`]; a damaged row reads as no notes rather than failing the
    /// version it sits beside (it is unsigned bookkeeping).
    fn from_bytes(b: &[u8]) -> Option<Notes> {
        let mut r = Reader::new(b);
        let memo = r.str("memo", MAX_MEMO).ok()?.to_string();
        let count = r.length("refs", MAX_REFS).ok()?;
        let mut refs = BTreeMap::new();
        for _ in 0..count {
            let id = r.str("ref", MAX_REF_ID).ok()?.to_string();
            let n = r.varint("count").ok()?;
            if n == 0 {
                return None;
            }
            refs.insert(id, n);
        }
        r.finish().ok()?;
        Some(Notes { memo, refs })
    }
}

fn key(mid: &MimeiId, version: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..20].copy_from_slice(mid.as_bytes());
    k[20..].copy_from_slice(&version.to_be_bytes());
    k
}

/// Reads the notes of `mid` at `version` (0 = `cur`); none stored reads as empty.
pub fn get(store: &Store, mid: &MimeiId, version: u64) -> Result<Notes, StoreError> {
    let err = |e: redb::Error| db_err(store.path(), e);
    let tx = store.db().begin_read().map_err(|e| err(e.into()))?;
    let t = match tx.open_table(NOTES) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Notes::default()),
        Err(e) => return Err(err(e.into())),
    };
    let v = t
        .get(key(mid, version).as_slice())
        .map_err(|e| err(e.into()))?;
    Ok(v.and_then(|g| Notes::from_bytes(g.value()))
        .unwrap_or_default())
}

/// Stores the notes of `mid` at `version` (0 = `cur`); empty notes remove the row.
pub fn put(store: &Store, mid: &MimeiId, version: u64, notes: &Notes) -> Result<(), StoreError> {
    let err = |e: redb::Error| db_err(store.path(), e);
    let tx = store.db().begin_write().map_err(|e| err(e.into()))?;
    {
        let mut t = tx.open_table(NOTES).map_err(|e| err(e.into()))?;
        let k = key(mid, version);
        if notes.memo.is_empty() && notes.refs.is_empty() {
            t.remove(k.as_slice()).map_err(|e| err(e.into()))?;
        } else {
            t.insert(k.as_slice(), notes.to_bytes().as_slice())
                .map_err(|e| err(e.into()))?;
        }
    }
    tx.commit().map_err(|e| err(e.into()))
}

/// Removes the notes of the given versions (after `MMDelVers`).
pub fn remove(store: &Store, mid: &MimeiId, versions: &[u64]) -> Result<(), StoreError> {
    for v in versions {
        put(store, mid, *v, &Notes::default())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_and_damage_reads_as_empty() {
        let mut n = Notes {
            memo: "first".into(),
            refs: BTreeMap::new(),
        };
        n.refs.insert("QmA".into(), 2);
        n.refs.insert("QmB".into(), 1);
        assert_eq!(Notes::from_bytes(&n.to_bytes()), Some(n.clone()));
        let b = n.to_bytes();
        assert_eq!(Notes::from_bytes(&b[..b.len() - 1]), None);
        // A count claiming more refs than the input holds does not allocate or panic.
        assert_eq!(Notes::from_bytes(&[0, 0xff, 0xff, 0x03]), None);
    }
}
