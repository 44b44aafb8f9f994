//! Tests of the block index: tags at write, the walk and where it stops, tags ahead of
//! blocks, verdicts, the bound per block, and gc.

use super::*;
use crate::ipfs::Version;
use crate::ipfs::dir::{DirEntry, build};
use crate::ipfs::importer::{ImportOptions, Imported, import_bytes};
use crate::store::blocks::Blocks;
use crate::store::blocks::tests::{bytes, mem_db, raw};

const A: Mid = [1; 20];
const B: Mid = [2; 20];

/// A file of 20 chunks, at most 4 links per node (three levels under the root).
fn file(seed: u64) -> Imported {
    let opts = ImportOptions {
        chunk_size: 64,
        max_links: 4,
        cid_version: Version::V0,
        ..ImportOptions::default()
    };
    import_bytes(opts, &bytes(seed, 64 * 20)).unwrap()
}

fn put(b: &Blocks<'_>, t: &Imported, tag: Option<Tag>) {
    b.put_many_tagged(
        t.blocks.iter().map(|x| (&x.cid, x.data.as_slice())),
        true,
        tag,
    )
    .unwrap();
}

/// A folder holding `f` as "f": its blocks (one) and its CID.
fn folder(f: &Imported) -> (Cid, Vec<u8>) {
    let built = build(
        vec![DirEntry {
            name: "f".into(),
            cid: f.root,
            tsize: 1,
        }],
        Version::V0,
    )
    .unwrap();
    assert_eq!(built.blocks.len(), 1);
    (built.cid, built.blocks[0].data.clone())
}

fn take(_: &Tags) -> Verdict {
    Verdict::Take
}

fn all_tagged(b: &Blocks<'_>, t: &Imported, mid: &Mid) -> bool {
    t.blocks.iter().all(|x| b.tags(&x.cid).unwrap().has(mid))
}

#[test]
fn a_plain_add_is_public_and_a_mimei_write_is_the_mimeis() {
    let m = mem_db();
    let b = m.blocks();
    let plain = file(1);
    put(&b, &plain, Some(Tag::Public));
    assert!(plain.blocks.iter().all(|x| {
        let t = b.tags(&x.cid).unwrap();
        t.public && t.mimeis.is_empty() && t.open()
    }));
    let mine = file(2);
    put(&b, &mine, Some(Tag::Mimei(A)));
    assert!(all_tagged(&b, &mine, &A));
    assert!(!b.tags(&mine.root).unwrap().open());
    // Untagged blocks are open; identity CIDs have no tags.
    let loose = bytes(3, 100);
    b.put(&raw(&loose), &loose).unwrap();
    assert!(b.tags(&raw(&loose)).unwrap().open());
}

#[test]
fn a_walk_tags_the_whole_dag_once_and_then_stops_at_the_root() {
    let m = mem_db();
    let b = m.blocks();
    let f = file(4);
    put(&b, &f, None);
    let (dir, dir_block) = folder(&f);
    b.put(&dir, &dir_block).unwrap();
    let r = b.tag(&[dir], &A, &mut take).unwrap();
    assert_eq!(r.tagged as usize, f.blocks.len() + 1, "{r:?}");
    assert!(all_tagged(&b, &f, &A));
    assert!(b.tags(&dir).unwrap().has(&A));
    // Everything below a tagged block is tagged: a second walk reads one set of tags.
    let again = b.tag(&[dir], &A, &mut take).unwrap();
    assert_eq!(again, WalkReport::default());
    // Another Mimei's walk meets blocks of A: it asks the verdict of each.
    let mut asked = 0;
    let r = b
        .tag(&[dir], &B, &mut |t: &Tags| {
            asked += 1;
            assert!(t.has(&A));
            Verdict::Take
        })
        .unwrap();
    assert_eq!(r.tagged as usize, f.blocks.len() + 1);
    assert_eq!(asked as usize, f.blocks.len() + 1);
    assert!(all_tagged(&b, &f, &B));
}

#[test]
fn a_refused_block_refuses_the_whole_walk_and_a_skipped_one_is_left() {
    let m = mem_db();
    let b = m.blocks();
    let f = file(5);
    put(&b, &f, Some(Tag::Mimei(A)));
    let (dir, dir_block) = folder(&f);
    b.put(&dir, &dir_block).unwrap();
    match b.tag(&[dir], &B, &mut |_| Verdict::Refuse) {
        Err(TagError::Foreign { cid }) => assert_eq!(cid, f.root),
        other => panic!("{other:?}"),
    }
    // Nothing of the refused walk was kept, not even the folder's own tag.
    assert!(!b.tags(&dir).unwrap().has(&B));
    let r = b.tag(&[dir], &B, &mut |_| Verdict::Skip).unwrap();
    assert_eq!((r.tagged, r.skipped), (1, 1), "{r:?}");
    assert!(b.tags(&dir).unwrap().has(&B));
    assert!(!b.tags(&f.root).unwrap().has(&B));
    // A public block is taken without asking, whatever Mimeis hold it.
    let p = file(6);
    put(&b, &p, Some(Tag::Mimei(A)));
    put(&b, &p, Some(Tag::Public));
    b.tag(&[p.root], &B, &mut |_| Verdict::Refuse).unwrap();
    assert!(all_tagged(&b, &p, &B));
}

#[test]
fn tags_come_before_the_blocks_and_follow_them_in() {
    let m = mem_db();
    let b = m.blocks();
    let f = file(7);
    let (dir, dir_block) = folder(&f);
    // Nothing stored: the root is tagged ahead (a sync about to fetch it).
    let r = b.tag(&[dir], &A, &mut take).unwrap();
    assert_eq!((r.tagged, r.pending), (1, 1));
    // The blocks arrive untagged, root first as a sync fetches them; each new block carries
    // its tags to its links.
    b.put(&dir, &dir_block).unwrap();
    for x in f.blocks.iter().rev() {
        b.put(&x.cid, &x.data).unwrap();
    }
    assert!(all_tagged(&b, &f, &A));
    // In the importer's order too (leaves first, in one batch).
    let g = file(8);
    b.tag(&[g.root], &B, &mut take).unwrap();
    put(&b, &g, None);
    assert!(all_tagged(&b, &g, &B));
}

#[test]
fn arrival_does_not_carry_tags_into_other_mimeis_blocks() {
    let m = mem_db();
    let b = m.blocks();
    let f = file(9);
    put(&b, &f, Some(Tag::Mimei(A)));
    let (dir, dir_block) = folder(&f);
    b.tag(&[dir], &B, &mut take).unwrap();
    b.put(&dir, &dir_block).unwrap();
    assert!(b.tags(&dir).unwrap().has(&B));
    assert!(
        !b.tags(&f.root).unwrap().has(&B),
        "A's file is not B's by a link"
    );
}

#[test]
fn a_block_records_at_most_max_mimeis() {
    let m = mem_db();
    let b = m.blocks();
    let data = bytes(10, 50);
    let cid = raw(&data);
    for i in 0..MAX_MIMEIS + 5 {
        let mid = [i as u8 + 10; 20];
        b.put_many_tagged([(&cid, data.as_slice())], true, Some(Tag::Mimei(mid)))
            .unwrap();
    }
    let t = b.tags(&cid).unwrap();
    assert_eq!(t.mimeis.len(), MAX_MIMEIS);
    assert!(t.full());
    let r = b.tag(&[cid], &A, &mut take).unwrap();
    assert_eq!((r.tagged, r.full), (0, 1));
}

#[test]
fn gc_drops_the_tags_of_blocks_it_removes_and_of_blocks_never_stored() {
    let m = mem_db();
    let b = m.blocks();
    let kept = file(11);
    let gone = file(12);
    put(&b, &kept, Some(Tag::Mimei(A)));
    put(&b, &gone, Some(Tag::Public));
    let never = raw(&bytes(13, 10));
    b.tag(&[never], &A, &mut take).unwrap();
    assert!(b.tags(&never).unwrap().has(&A));
    let r = b.gc(&[kept.root]).unwrap();
    assert!(r.swept);
    assert!(all_tagged(&b, &kept, &A));
    assert!(
        gone.blocks
            .iter()
            .all(|x| b.tags(&x.cid).unwrap() == Tags::default())
    );
    assert_eq!(b.tags(&never).unwrap(), Tags::default());
}
