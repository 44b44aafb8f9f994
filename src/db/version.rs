//! Numbered versions of a database Mimei: made from `cur` as a prolly tree in the block
//! store (`MMBackup`), read through that tree (`MMOpen` with a number, `last`, `release`),
//! and copied back into `cur` (`MMRestore`).
//!
//! A version costs the blocks that differ from the versions already stored: unchanged
//! leaves hash to blocks the store has (docs/db-versions.md). Making one reads all of `cur`
//! once (a streaming build, memory bounded by the tree's depth).

use redb::{ReadableDatabase, TableError};

use super::cur::{CurStore, DB_CUR};
use super::kv::{Kv, Visit};
use super::prolly::{self, Tree};
use super::{DbError, Reply, engine};
use crate::ipfs::Cid;
use crate::mimei::MimeiId;
use crate::store::blocks::{BATCH_BYTES, Blocks, db_err};
use crate::store::{Store, StoreError};

/// Checkpoints `cur` and stores Mimei `mid`'s `cur` as a version tree; returns its root.
pub fn snapshot(db: &mut CurStore, store: &Store, mid: &MimeiId) -> Result<Cid, DbError> {
    db.checkpoint(store)?;
    let path = store.path();
    let tx = store.db().begin_read().map_err(|e| db_err(path, e))?;
    let blocks = Blocks::new(store);
    let mut batch: Vec<(Cid, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0usize;
    // The tree is the Mimei's content: tagged as such when written (store::tags), so the
    // version's walk (Mimeis::add_version) stops at its root.
    let tag = Some(crate::store::tags::Tag::Mimei(*mid.as_bytes()));
    let write = |batch: &mut Vec<(Cid, Vec<u8>)>| -> Result<(), StoreError> {
        blocks.put_many_tagged(batch.iter().map(|(c, b)| (c, b.as_slice())), true, tag)?;
        batch.clear();
        Ok(())
    };
    let mut put = |cid: &Cid, bytes: &[u8]| -> Result<(), StoreError> {
        batch.push((*cid, bytes.to_vec()));
        batch_bytes += bytes.len();
        if batch_bytes >= BATCH_BYTES {
            batch_bytes = 0;
            write(&mut batch)?;
        }
        Ok(())
    };
    let lo = mid.as_bytes().to_vec();
    let hi = super::keys::prefix_end(&lo);
    let n = lo.len();
    let root = match tx.open_table(DB_CUR) {
        Err(TableError::TableDoesNotExist(_)) => {
            prolly::build(std::iter::empty(), &mut put).map_err(build_err)?
        }
        Err(e) => return Err(db_err(path, e).into()),
        Ok(t) => {
            let range = t
                .range::<&[u8]>(lo.as_slice()..hi.as_slice())
                .map_err(|e| db_err(path, e))?;
            let entries = range.map(|r| {
                r.map(|(k, v)| (k.value()[n..].to_vec(), v.value().to_vec()))
                    .map_err(|e| db_err(path, e))
            });
            prolly::build(entries, &mut put).map_err(build_err)?
        }
    };
    write(&mut batch)?;
    Ok(root)
}

fn build_err(e: prolly::BuildError<StoreError>) -> DbError {
    match e {
        prolly::BuildError::Io(s) => DbError::Store(s),
        other => DbError::Other(format!("cannot make the version: {other}")),
    }
}

fn read_err(e: prolly::ReadError<StoreError>) -> DbError {
    match e {
        prolly::ReadError::Fetch(s) => DbError::Store(s),
        other => DbError::Other(format!("cannot read the version: {other}")),
    }
}

/// A version as a read-only [`Kv`].
pub struct VersionKv<'a> {
    tree: Tree,
    blocks: Blocks<'a>,
    label: String,
}

impl<'a> VersionKv<'a> {
    /// The version whose tree has `root`; `label` names it in refusals of writes.
    pub fn new(store: &'a Store, root: Cid, label: String) -> Self {
        VersionKv {
            tree: Tree::new(root),
            blocks: Blocks::new(store),
            label,
        }
    }
}

impl Kv for VersionKv<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let b = self.blocks;
        self.tree.get(&mut |c| b.get(c), key).map_err(read_err)
    }

    fn put(&mut self, _key: &[u8], _value: &[u8]) -> Result<(), DbError> {
        Err(DbError::ReadOnly(self.label.clone()))
    }

    fn del(&mut self, _key: &[u8]) -> Result<(), DbError> {
        Err(DbError::ReadOnly(self.label.clone()))
    }

    fn scan(
        &mut self,
        from: &[u8],
        to: &[u8],
        rev: bool,
        f: &mut Visit<'_>,
    ) -> Result<(), DbError> {
        let b = self.blocks;
        self.tree
            .range(&mut |c| b.get(c), from, Some(to), rev, f)
            .map_err(read_err)
    }

    fn read_only(&self) -> Option<String> {
        Some(self.label.clone())
    }
}

/// The root of version `n` of `mid`.
pub fn root_of(store: &Store, mid: &MimeiId, n: u64) -> Result<Cid, DbError> {
    let m = crate::mimei::store::Mimeis::new(store);
    let (root, _) = m
        .root(mid, crate::mimei::VersionName::Number(n))
        .map_err(|e| DbError::Other(e.to_string()))?;
    Ok(root)
}

/// Runs a (read) command on version `n` of `mid`, values in the form `values` says.
pub fn exec_at(
    store: &Store,
    mid: &MimeiId,
    n: u64,
    now_ms: u64,
    args: &[&[u8]],
    values: super::typed::Values,
) -> Result<Reply, DbError> {
    let root = root_of(store, mid, n)?;
    let label = format!("version {n} of Mimei {mid} is read-only; open cur to write");
    engine::exec_values(
        &mut VersionKv::new(store, root, label),
        now_ms,
        args,
        values,
    )
}

/// `cur` of `mid` := the contents of the version tree `root`.
pub fn restore(db: &mut CurStore, store: &Store, mid: &MimeiId, root: Cid) -> Result<(), DbError> {
    let mut old = Vec::new();
    let mut view = db.view(store, mid);
    view.scan(&[], &[0xff], false, &mut |k, _| {
        old.push(k.to_vec());
        true
    })?;
    for k in old {
        view.del(&k)?;
    }
    let mut src = VersionKv::new(store, root, String::new());
    let mut entries = Vec::new();
    src.scan(&[], &[0xff], false, &mut |k, v| {
        entries.push((k.to_vec(), v.to_vec()));
        true
    })?;
    for (k, v) in entries {
        view.put(&k, &v)?;
    }
    db.flush(store)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::db::cur::Durability;

    fn blocks_of(store: &Store, root: Cid) -> HashSet<Cid> {
        let b = Blocks::new(store);
        let mut seen = HashSet::new();
        let mut todo = vec![root];
        while let Some(c) = todo.pop() {
            if seen.insert(c) {
                let bytes = b
                    .get(&c)
                    .unwrap()
                    .expect("a block of the version is missing");
                todo.extend(prolly::links(&bytes).unwrap());
            }
        }
        seen
    }

    /// The bar through the real engine and store: 100k string keys, then 1% of
    /// them changed, and the second version shares at least 90% of its blocks.
    #[test]
    fn a_version_after_one_percent_of_changes_shares_most_blocks() {
        let dir = std::env::temp_dir().join(format!("leither-version-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir, 8 << 20, "test").unwrap();
        let mid = MimeiId::from_bytes([5; 20]);
        let mut db = CurStore::new(Durability::Group);
        let set = |db: &mut CurStore, k: u64, v: &str| {
            let key = format!("user:{k:06}");
            engine::exec(
                &mut db.view(&store, &mid),
                0,
                &[b"SET", key.as_bytes(), v.as_bytes()],
            )
            .unwrap();
        };
        for k in 0..100_000 {
            set(&mut db, k, &format!("value-{k}-of-the-first-version"));
        }
        let v1 = snapshot(&mut db, &store, &mid).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            set(&mut db, x % 100_000, "changed");
        }
        let v2 = snapshot(&mut db, &store, &mid).unwrap();
        let (b1, b2) = (blocks_of(&store, v1), blocks_of(&store, v2));
        let shared = b2.intersection(&b1).count();
        let ratio = shared as f64 / b2.len() as f64;
        eprintln!(
            "v1 {} blocks, v2 {} blocks, shared {shared} = {ratio:.4}",
            b1.len(),
            b2.len()
        );
        assert!(
            ratio >= 0.90,
            "only {ratio:.4} of version 2's blocks are shared"
        );
        // And version 1 still reads as it was.
        let mut kv = VersionKv::new(&store, v1, String::new());
        let r = engine::exec(&mut kv, 0, &[b"GET", b"user:000042"]).unwrap();
        assert_eq!(r, Reply::Bulk(b"value-42-of-the-first-version".to_vec()));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
