//! A store from before the block index (`store::tags`): its Mimeis' blocks were never
//! tagged, so each would be served by CID to anyone. [`build_index_once`] tags them at the
//! node's start, once: every Mimei's `cur` and version roots are walked (each walk bounded by
//! `tags::MAX_WALK` blocks; blocks already tagged end it early), then `meta` says it is done.
//! Every later change of a Mimei's roots tags its own blocks (`Mimeis::set_cur`,
//! `add_version`, `put_synced_version`), so this never runs again.
//!
//! Everything the Mimeis hold is taken (what a Mimei links was put there before the rule
//! existed). A block that was also added plainly before the index is not known as such: it
//! becomes as private as the Mimeis holding it (adding it again gives back its public mark).

use std::time::Instant;

use super::store::{MimeiStoreError, roots_by_mimei};
use crate::store::blocks::db_err;
use crate::store::tags::{BUILT_KEY, TagError, Verdict, WalkReport, tag_in};
use crate::store::{META, Store, StoreError};

/// What [`build_index_once`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexBuilt {
    /// Mimeis walked.
    pub mimeis: u64,
    /// Roots walked.
    pub roots: u64,
    /// Roots left partly untagged because their DAG passed a bound of the walk.
    pub too_large: u64,
    /// What the walks tagged.
    pub report: WalkReport,
    /// How long it took.
    pub millis: u64,
}

/// Whether the index covers the store's Mimeis already.
pub fn index_built(store: &Store) -> Result<bool, StoreError> {
    Ok(store.meta_get(BUILT_KEY)?.is_some())
}

/// Tags the blocks of every Mimei in `store` unless `meta` says it was done (see the module
/// doc); `None` when there was nothing to do.
pub fn build_index_once(store: &Store) -> Result<Option<IndexBuilt>, MimeiStoreError> {
    if index_built(store)? {
        return Ok(None);
    }
    let started = Instant::now();
    let path = store.path();
    let err = |e: redb::Error| MimeiStoreError::Store(db_err(path, e));
    let mut built = IndexBuilt::default();
    for (mid, roots) in roots_by_mimei(store)? {
        built.mimeis += 1;
        // One transaction per Mimei: a crash midway leaves whole Mimeis tagged, and the
        // marker below unset, so the next start goes on (tagged blocks end walks early).
        let tx = store.db().begin_write().map_err(|e| err(e.into()))?;
        for root in &roots {
            built.roots += 1;
            match tag_in(&tx, path, root, mid.as_bytes(), &mut |_| Verdict::Take) {
                Ok(r) => built.report.add(&r),
                Err(TagError::TooLarge { what }) => {
                    built.too_large += 1;
                    crate::log_warn!(
                        "block index: root {root} of Mimei {mid} is too large to index ({what}); \
                         blocks past the bound stay untagged (public)"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().map_err(|e| err(e.into()))?;
    }
    let tx = store.db().begin_write().map_err(|e| err(e.into()))?;
    {
        let mut t = tx.open_table(META).map_err(|e| err(e.into()))?;
        t.insert(BUILT_KEY, [1u8].as_slice())
            .map_err(|e| err(e.into()))?;
    }
    tx.commit().map_err(|e| err(e.into()))?;
    built.millis = started.elapsed().as_millis() as u64;
    Ok(Some(built))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::Cid;
    use crate::ipfs::cid::{Codec, Version};
    use crate::mimei::store::Mimeis;
    use crate::mimei::{HeaderFields, MimeiHeader, MimeiType, Rights};
    use crate::pki::NodeKey;
    use crate::store::blocks::Blocks;
    use crate::store::tags::BLOCK_TAGS;

    #[test]
    fn an_older_store_gets_its_mimeis_blocks_tagged_once() {
        let h = std::env::temp_dir().join(format!("leither-content-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&h);
        std::fs::create_dir_all(&h).unwrap();
        let s = Store::open(&h, 1 << 20, "id").unwrap();
        let key = NodeKey::from_seed(&[7; 32]).unwrap();
        let header = MimeiHeader::sign(
            &key,
            HeaderFields {
                app: None,
                kind: MimeiType::File,
                mark: "old".into(),
                nonce: None,
                ext: String::new(),
                created: 1,
                revision: 0,
                rights: Rights::new(key.id()),
            },
        )
        .unwrap();
        let mid = *header.mid();
        let m = Mimeis::new(&s);
        m.create(&header).unwrap();
        let data = b"written before the index".to_vec();
        let cid = Cid::of_block(Version::V1, Codec::Raw, &data);
        let b = Blocks::new(&s);
        b.put(&cid, &data).unwrap();
        m.set_cur(&mid, Some(cid), &mut |_| Verdict::Take).unwrap();
        // What an older node left: the Mimei and its block, no index and no marker.
        let tx = s.db().begin_write().unwrap();
        tx.delete_table(BLOCK_TAGS).unwrap();
        tx.commit().unwrap();
        assert!(b.tags(&cid).unwrap().open());
        let built = build_index_once(&s).unwrap().expect("it runs once");
        assert_eq!((built.mimeis, built.roots, built.report.tagged), (1, 1, 1));
        assert!(b.tags(&cid).unwrap().has(mid.as_bytes()));
        assert!(index_built(&s).unwrap());
        assert_eq!(build_index_once(&s).unwrap(), None, "and only once");
        drop(s);
        std::fs::remove_dir_all(&h).unwrap();
    }
}
