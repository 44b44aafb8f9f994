//! Tests of gc: what pins and extra roots keep, what goes, what stops a sweep, and the
//! bounded walk.

use super::*;
use crate::ipfs::importer::{ImportOptions, Imported, import_bytes};
use crate::ipfs::{PbLink, Version};
use crate::store::blocks::tests::{bytes, mem_db, raw, tamper_piece};
use redb::ReadableDatabase;

/// A file of 20 chunks with at most 4 links per node: leaves, two levels of nodes and a
/// root (v0: dag-pb leaves; v1: raw leaves).
fn tree(seed: u64, version: Version) -> Imported {
    let opts = ImportOptions {
        chunk_size: 64,
        max_links: 4,
        cid_version: version,
        ..ImportOptions::default()
    };
    let imp = import_bytes(opts, &bytes(seed, 64 * 20)).unwrap();
    assert!(imp.blocks.len() > 20 + 5 + 2, "three levels under the root");
    imp
}

fn put_tree(b: &Blocks<'_>, t: &Imported) {
    b.put_many(t.blocks.iter().map(|x| (&x.cid, x.data.as_slice())))
        .unwrap();
}

fn all_there(b: &Blocks<'_>, t: &Imported) -> bool {
    t.blocks.iter().all(|x| b.has(&x.cid).unwrap())
}

fn none_there(b: &Blocks<'_>, t: &Imported) -> bool {
    t.blocks.iter().all(|x| !b.has(&x.cid).unwrap())
}

#[test]
fn pins_and_roots_keep_their_trees_and_the_rest_goes() {
    let m = mem_db();
    let b = m.blocks();
    let pinned = tree(1, Version::V0);
    let rooted = tree(2, Version::V1);
    let garbage = tree(3, Version::V0);
    let direct = tree(4, Version::V1);
    for t in [&pinned, &rooted, &garbage, &direct] {
        put_tree(&b, t);
    }
    b.pin_add(&pinned.root, true).unwrap();
    b.pin_add(&direct.root, false).unwrap();
    let loose = bytes(9, 1000);
    b.put(&raw(&loose), &loose).unwrap();

    let r = b.gc(&[rooted.root]).unwrap();
    assert!(r.swept && r.live.complete(), "{r:?}");
    assert!(all_there(&b, &pinned));
    assert!(all_there(&b, &rooted));
    assert!(none_there(&b, &garbage));
    assert!(!b.has(&raw(&loose)).unwrap());
    // A direct pin keeps its block only.
    assert!(b.has(&direct.root).unwrap());
    assert_eq!(
        direct
            .blocks
            .iter()
            .filter(|x| b.has(&x.cid).unwrap())
            .count(),
        1
    );
    let kept = pinned.blocks.len() + rooted.blocks.len() + 1;
    assert_eq!(r.kept, kept as u64);
    assert_eq!(
        r.removed,
        (garbage.blocks.len() + direct.blocks.len() - 1 + 1) as u64
    );
    let garbage_bytes: u64 = garbage.blocks.iter().map(|x| x.data.len() as u64).sum();
    let direct_bytes: u64 = direct
        .blocks
        .iter()
        .map(|x| x.data.len() as u64)
        .sum::<u64>()
        - direct.blocks.last().unwrap().data.len() as u64;
    assert_eq!(r.bytes_freed, garbage_bytes + direct_bytes + 1000);
    assert_eq!(b.count().unwrap(), kept as u64);

    // Once the root is no longer named and the pin is gone, the trees go too.
    b.pin_rm(&pinned.root).unwrap();
    b.pin_rm(&direct.root).unwrap();
    let r = b.gc(&[]).unwrap();
    assert_eq!(r.kept, 0);
    assert_eq!(b.count().unwrap(), 0);
    // The scratch tables never reach the file.
    let tx = m.db.begin_read().unwrap();
    let names: Vec<String> = tx
        .list_tables()
        .unwrap()
        .map(|h| redb::TableHandle::name(&h).to_string())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("gc_")), "{names:?}");
}

#[test]
fn a_missing_or_damaged_block_under_a_root_stops_the_sweep() {
    let m = mem_db();
    let b = m.blocks();
    let t = tree(1, Version::V0);
    put_tree(&b, &t);
    let loose = bytes(9, 1000);
    b.put(&raw(&loose), &loose).unwrap();
    b.pin_add(&t.root, true).unwrap();
    // An interior node (it has links, so the walk must read it).
    let inner = t
        .blocks
        .iter()
        .find(|x| x.cid != t.root && x.data.len() > 100 && x.data[0] == 0x12)
        .unwrap();
    tamper_piece(&m.db, &inner.cid, 0, |v| v[30] ^= 1);
    let r = b.gc(&[]).unwrap();
    assert!(!r.swept);
    assert_eq!(r.removed, 0);
    assert_eq!(
        (r.live.damaged_total, r.live.damaged.clone()),
        (1, vec![inner.cid])
    );
    assert!(b.has(&raw(&loose)).unwrap(), "nothing removed");

    // Deleted instead of damaged: reported missing, still nothing removed.
    b.delete(&inner.cid).unwrap();
    let r = b.gc(&[]).unwrap();
    assert!(!r.swept);
    assert_eq!(r.live.missing, vec![inner.cid]);
    assert!(b.has(&raw(&loose)).unwrap());

    // Put back: the sweep runs.
    b.put(&inner.cid, &inner.data).unwrap();
    let r = b.gc(&[]).unwrap();
    assert!(r.swept);
    assert_eq!(r.removed, 1);
    assert!(all_there(&b, &t));
}

#[test]
fn leaves_without_links_are_not_read() {
    // A v0 file's leaves are dag-pb without links: their records say so, and a damaged leaf
    // does not stop gc (gc is not fsck: reads of it still fail).
    let m = mem_db();
    let b = m.blocks();
    let t = tree(1, Version::V0);
    put_tree(&b, &t);
    b.pin_add(&t.root, true).unwrap();
    let leaf = &t.blocks[0];
    tamper_piece(&m.db, &leaf.cid, 0, |v| v[20] ^= 1);
    let r = b.gc(&[]).unwrap();
    assert!(r.swept && r.live.complete());
    assert_eq!(r.live.blocks, t.blocks.len() as u64);
    assert!(b.get(&leaf.cid).is_err());
}

#[test]
fn a_block_reached_as_raw_and_as_dag_pb_has_its_links_followed() {
    let m = mem_db();
    let b = m.blocks();
    let child = bytes(1, 10);
    let node = PbNode {
        links: vec![PbLink::unnamed(raw(&child), 10)],
        data: None,
    }
    .encode();
    let as_pb = Cid::of_block(Version::V1, Codec::DagPb, &node);
    let as_raw = Cid::of_block(Version::V1, Codec::Raw, &node);
    b.put(&as_pb, &node).unwrap();
    b.put(&raw(&child), &child).unwrap();
    // The raw spelling sorts or walks first; the dag-pb one must still follow the link.
    let r = b.gc(&[as_raw, as_pb]).unwrap();
    assert_eq!(r.removed, 0);
    assert!(b.has(&raw(&child)).unwrap());
    // As raw only: the link is not a link.
    let r = b.gc(&[as_raw]).unwrap();
    assert_eq!(r.removed, 1);
    assert!(!b.has(&raw(&child)).unwrap());
}

#[test]
fn shared_subtrees_and_identity_links_are_walked_once() {
    let m = mem_db();
    let b = m.blocks();
    let leaf = bytes(1, 10);
    let lc = raw(&leaf);
    b.put(&lc, &leaf).unwrap();
    // An identity-hashed dag-pb node that links to a stored block.
    let inline = PbNode {
        links: vec![PbLink::unnamed(lc, 10)],
        data: None,
    }
    .encode();
    let ic = Cid::new_v1(
        Codec::DagPb,
        crate::ipfs::Multihash::identity(&inline).unwrap(),
    );
    let top = PbNode {
        links: vec![
            PbLink::unnamed(lc, 10),
            PbLink::unnamed(lc, 10),
            PbLink::unnamed(ic, 10),
        ],
        data: None,
    }
    .encode();
    let tc = Cid::of_block(Version::V0, Codec::DagPb, &top);
    b.put(&tc, &top).unwrap();
    let p = b.pin_add(&tc, true).unwrap();
    assert_eq!((p.dag.blocks, p.dag.missing_total), (2, 0));
    b.pin_rm(&tc).unwrap();
    let r = b.gc(&[ic]).unwrap();
    assert_eq!((r.kept, r.removed), (1, 1));
    assert!(b.has(&lc).unwrap());
}

#[test]
fn the_walk_is_bounded_on_a_large_wide_set() {
    // 5000 leaves under 50 nodes under one root, walked with a stack of 8 CIDs: the rest
    // spills to the scratch table, and everything is still found.
    let m = mem_db();
    let b = m.blocks();
    let mut mids = Vec::new();
    for n in 0..50u64 {
        let leaves: Vec<(Cid, Vec<u8>)> = (0..100)
            .map(|i| {
                let d = bytes(n * 1000 + i, 8);
                (raw(&d), d)
            })
            .collect();
        b.put_many(leaves.iter().map(|(c, d)| (c, d.as_slice())))
            .unwrap();
        let node = PbNode {
            links: leaves.iter().map(|(c, _)| PbLink::unnamed(*c, 8)).collect(),
            data: None,
        }
        .encode();
        let nc = Cid::of_block(Version::V0, Codec::DagPb, &node);
        b.put(&nc, &node).unwrap();
        mids.push(nc);
    }
    let root = PbNode {
        links: mids.iter().map(|c| PbLink::unnamed(*c, 0)).collect(),
        data: None,
    }
    .encode();
    let rc = Cid::of_block(Version::V0, Codec::DagPb, &root);
    b.put(&rc, &root).unwrap();
    let junk: Vec<(Cid, Vec<u8>)> = (0..500)
        .map(|i| {
            let d = bytes(1_000_000 + i, 8);
            (raw(&d), d)
        })
        .collect();
    b.put_many(junk.iter().map(|(c, d)| (c, d.as_slice())))
        .unwrap();
    b.pin_add(&rc, true).unwrap();

    let r = b.gc_with_stack(&[], 8).unwrap();
    assert!(r.swept, "{r:?}");
    assert_eq!(r.live.blocks, 5000 + 50 + 1);
    assert!(r.live.peak_stack <= 8, "{}", r.live.peak_stack);
    assert!(r.live.spilled > 4000, "{}", r.live.spilled);
    assert_eq!((r.kept, r.removed), (5051, 500));
    assert!(junk.iter().all(|(c, _)| !b.has(c).unwrap()));
    // The default bound holds the widest node here without spilling.
    let r = b.gc(&[]).unwrap();
    assert_eq!((r.live.spilled, r.kept, r.removed), (0, 5051, 0));
}

/// A database version is a prolly tree of dag-cbor blocks: everything under a version root
/// survives gc, even walked with a stack of 4 CIDs; the blocks only an older version or an
/// unrelated tree had are collected.
#[cfg(feature = "files")]
#[test]
fn database_versions_keep_their_dag_cbor_blocks() {
    use crate::db::prolly::{Tree, build};
    use std::collections::HashSet;

    let m = mem_db();
    let b = m.blocks();
    let version = |prefix: &str, n: u64, seed: u64, changed: u64| {
        let mut cids = HashSet::new();
        let entries = (0..n).map(|i| {
            let s = if i % 50 == 0 { seed + changed } else { seed };
            let k = format!("{prefix}{i:06}").into_bytes();
            Ok::<_, StoreError>((k, bytes(s * 1_000_000 + i, 24)))
        });
        let root = build(entries, &mut |c: &Cid, d: &[u8]| {
            cids.insert(*c);
            b.put(c, d).map(|_| ())
        })
        .unwrap();
        (root, cids)
    };
    let (_, old) = version("k", 2000, 1, 0);
    let (new_root, new) = version("k", 2000, 1, 7);
    let (_, other) = version("x", 300, 2, 0);
    assert!(new.len() > 400 && new.iter().all(|c| c.codec() == Codec::DagCbor));
    let only_old = old.difference(&new).count();
    assert!(only_old > 0 && only_old < old.len() / 2, "{only_old}");

    let r = b.gc_with_stack(&[new_root], 4).unwrap();
    assert!(r.swept && r.live.complete(), "{r:?}");
    assert_eq!(r.live.undecodable, 0);
    assert_eq!(r.live.blocks, new.len() as u64);
    assert!(r.live.spilled > 0);
    assert_eq!(r.removed, (only_old + other.len()) as u64);
    assert!(new.iter().all(|c| b.has(c).unwrap()));
    assert!(old.difference(&new).all(|c| !b.has(c).unwrap()));
    assert!(other.iter().all(|c| !b.has(c).unwrap()));
    // The kept version still reads in full.
    let mut n = 0;
    Tree::new(new_root)
        .range(&mut |c: &Cid| b.get(c), b"", None, false, &mut |_, _| {
            n += 1;
            true
        })
        .unwrap();
    assert_eq!(n, 2000);
}
