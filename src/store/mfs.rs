//! MFS, the node's own mutable file tree (`leither files ...`): one root directory CID in
//! the `meta` table under [`MFS_ROOT_KEY`], changed through [`super::tree::Tree`].
//!
//! A fresh store's MFS is the empty directory (`QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn`).
//! The root is not pinned: `repo gc` takes it as an extra root ([`gc_roots`]), so keeping it
//! costs nothing per change (a recursive pin would walk the whole tree on every edit) and
//! `pin ls` shows only what users pinned, as in kubo. Each change writes the new root in its
//! own transaction after the new blocks are committed, so a crash leaves the old root or the
//! new one, both complete.

use super::tree::{Tree, TreeError};
use super::{META, Store, StoreError};
use crate::ipfs::cid::{Cid, Version};
use crate::store::blocks::Blocks;

/// The `meta` key holding the MFS root CID (binary).
pub const MFS_ROOT_KEY: &str = "mfs_root";

/// The MFS root: the stored one, or the empty directory (stored on first use).
pub fn root(store: &Store) -> Result<Cid, TreeError> {
    match store.meta_get(MFS_ROOT_KEY)? {
        Some(bytes) => Cid::from_bytes(&bytes).map_err(|e| {
            TreeError::Store(StoreError::Damaged {
                path: store.path().to_path_buf(),
                detail: format!("meta {MFS_ROOT_KEY} is not a CID ({e})"),
            })
        }),
        None => Tree::new(Blocks::new(store)).empty(Version::V0),
    }
}

/// Records `cid` as the MFS root.
pub fn set_root(store: &Store, cid: &Cid) -> Result<(), StoreError> {
    let err = |e: redb::Error| StoreError::Io {
        path: store.path().to_path_buf(),
        detail: e.to_string(),
    };
    let tx = store.db().begin_write().map_err(|e| err(e.into()))?;
    {
        let mut t = tx.open_table(META).map_err(|e| err(e.into()))?;
        t.insert(MFS_ROOT_KEY, cid.to_bytes().as_slice())
            .map_err(|e| err(e.into()))?;
    }
    tx.commit().map_err(|e| err(e.into()))
}

/// The roots `repo gc` must keep besides the pins: the MFS root, when one was recorded.
pub fn gc_roots(store: &Store) -> Result<Vec<Cid>, StoreError> {
    match root(store) {
        Ok(c) => Ok(vec![c]),
        Err(TreeError::Store(e)) => Err(e),
        Err(e) => Err(StoreError::Damaged {
            path: store.path().to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// Applies `change` to the MFS root and records the result; returns the new root.
pub fn update(
    store: &Store,
    change: impl FnOnce(&Tree<'_>, Cid) -> Result<Cid, TreeError>,
) -> Result<Cid, TreeError> {
    let tree = Tree::new(Blocks::new(store));
    let old = root(store)?;
    let new = change(&tree, old)?;
    if new != old {
        set_root(store, &new)?;
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_empty_survives_gc_and_reopens() {
        let home = std::env::temp_dir().join(format!("leither-mfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        {
            let s = Store::open(&home, 1 << 20, "id").unwrap();
            assert_eq!(
                root(&s).unwrap().to_string(),
                "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
            );
            let r = update(&s, |t, r| {
                let r = t.mkdir(r, "/a", false)?;
                t.write(r, "/a/f", 0, b"kept by gc", true, Tree::options_for(&r))
            })
            .unwrap();
            let roots = gc_roots(&s).unwrap();
            assert_eq!(roots, [r]);
            let report = Blocks::new(&s).gc(&roots).unwrap();
            assert!(report.swept, "{report:?}");
            assert_eq!(
                Tree::new(Blocks::new(&s)).read(r, "/a/f", 0, 99).unwrap(),
                b"kept by gc"
            );
        }
        let s = Store::open(&home, 1 << 20, "id").unwrap();
        let t = Tree::new(Blocks::new(&s));
        assert_eq!(
            t.read(root(&s).unwrap(), "a/f", 0, 99).unwrap(),
            b"kept by gc"
        );
        drop(s);
        std::fs::remove_dir_all(&home).unwrap();
    }
}
