//! Tests of pins: kinds, upgrades, removal, and what a recursive pin reports.

use super::*;
use crate::ipfs::importer::{ImportOptions, import_bytes};
use crate::ipfs::{Codec, Multihash, PbLink, PbNode, Version};
use crate::store::blocks::tests::{bytes, mem_db, raw};

#[test]
fn pinning_needs_the_root() {
    let m = mem_db();
    let b = m.blocks();
    let cid = raw(b"absent");
    let e = b.pin_add(&cid, true).unwrap_err();
    assert!(matches!(e, StoreError::BlockMissing { cid: c } if c == cid));
    assert!(e.to_string().contains(&cid.to_string()));
    assert_eq!(b.pins().unwrap(), vec![]);
    // An identity CID needs no block.
    let id = Cid::new_v1(Codec::Raw, Multihash::identity(b"tiny").unwrap());
    assert_eq!(b.pin_add(&id, false).unwrap().kind, PinKind::Direct);
}

#[test]
fn kinds_upgrade_but_never_downgrade() {
    let m = mem_db();
    let b = m.blocks();
    let d = bytes(1, 500);
    let cid = raw(&d);
    b.put(&cid, &d).unwrap();
    assert_eq!(b.pin_get(&cid).unwrap(), None);
    let p = b.pin_add(&cid, false).unwrap();
    assert_eq!(p.kind, PinKind::Direct);
    assert_eq!((p.dag.blocks, p.dag.bytes), (1, 500));
    assert_eq!(b.pin_add(&cid, true).unwrap().kind, PinKind::Recursive);
    assert_eq!(b.pin_add(&cid, false).unwrap().kind, PinKind::Recursive);
    assert_eq!(b.pins().unwrap(), vec![(cid, PinKind::Recursive)]);
    assert_eq!(b.pin_rm(&cid).unwrap(), Some(PinKind::Recursive));
    assert_eq!(b.pin_rm(&cid).unwrap(), None);
    assert_eq!(b.pins().unwrap(), vec![]);
    // Unpinning keeps the block until gc.
    assert!(b.has(&cid).unwrap());
}

#[test]
fn a_recursive_pin_counts_the_file_it_keeps() {
    let m = mem_db();
    let b = m.blocks();
    let opts = ImportOptions {
        chunk_size: 64,
        max_links: 4,
        ..ImportOptions::default()
    };
    let file = bytes(5, 64 * 20 + 3);
    let imp = import_bytes(opts, &file).unwrap();
    b.put_many(imp.blocks.iter().map(|x| (&x.cid, x.data.as_slice())))
        .unwrap();
    let p = b.pin_add(&imp.root, true).unwrap();
    assert_eq!(p.kind, PinKind::Recursive);
    assert_eq!(p.dag.blocks, imp.blocks.len() as u64);
    assert_eq!(p.dag.bytes, imp.dag_size);
    assert!(p.dag.complete());
    // Pinned under its v1 spelling too: two pins, one DAG.
    b.pin_add(&imp.root.to_v1(), true).unwrap();
    assert_eq!(b.pins().unwrap().len(), 2);
}

#[test]
fn a_recursive_pin_reports_missing_children_and_is_kept() {
    let m = mem_db();
    let b = m.blocks();
    let present = bytes(1, 100);
    let children: Vec<Cid> = (0..20).map(|i| raw(&bytes(100 + i, 50))).collect();
    let mut links: Vec<PbLink> = children.iter().map(|c| PbLink::unnamed(*c, 50)).collect();
    links.push(PbLink::unnamed(raw(&present), 100));
    let root_bytes = PbNode { links, data: None }.encode();
    let root = Cid::of_block(Version::V0, Codec::DagPb, &root_bytes);
    b.put(&root, &root_bytes).unwrap();
    b.put(&raw(&present), &present).unwrap();
    let p = b.pin_add(&root, true).unwrap();
    assert_eq!(p.dag.blocks, 2);
    assert_eq!(p.dag.missing_total, 20);
    assert_eq!(p.dag.missing.len(), crate::store::gc::MAX_LISTED);
    assert!(p.dag.missing.iter().all(|c| children.contains(c)));
    assert_eq!(b.pin_get(&root).unwrap(), Some(PinKind::Recursive));
}

#[test]
fn a_damaged_pin_entry_is_an_error() {
    let m = mem_db();
    let b = m.blocks();
    let tx = m.db.begin_write().unwrap();
    tx.open_table(PINS)
        .unwrap()
        .insert(b"not a cid".as_slice(), 2)
        .unwrap();
    tx.commit().unwrap();
    let e = b.pins().unwrap_err();
    assert!(matches!(e, StoreError::Damaged { .. }), "{e:?}");
    assert!(matches!(b.gc(&[]), Err(StoreError::Damaged { .. })));
}
