//! Tests of the mutable tree: each operation against a tree built bottom-up with
//! `dir::build` (so the CIDs are kubo's), path rules, and file edits.

use super::*;
use crate::ipfs::importer::{ImportOptions, import_bytes};
use crate::store::blocks::tests::mem_db;

fn add(t: &Tree<'_>, b: Blocks<'_>, bytes: &[u8]) -> (Cid, u64) {
    let _ = t;
    let imp = import_bytes(ImportOptions::default(), bytes).unwrap();
    b.put_many(imp.blocks.iter().map(|x| (&x.cid, x.data.as_slice())))
        .unwrap();
    (imp.root, imp.dag_size)
}

#[test]
fn builds_kubos_planets_and_moons_by_edits() {
    let db = mem_db();
    let b = db.blocks();
    let t = Tree::new(b);
    let empty = t.empty(Version::V0).unwrap();
    assert_eq!(
        empty.to_string(),
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    );
    let (mars, ms) = add(&t, b, b"Hello Mars!\n");
    let (venus, vs) = add(&t, b, b"Hello Venus!\n");
    let r = t
        .put(empty, "/planets/venus.txt", venus, vs, true, false)
        .unwrap();
    let r = t
        .put(r, "planets/mars.txt", mars, ms, false, false)
        .unwrap();
    let (planets, _) = t.resolve(r, "/planets/").unwrap();
    assert_eq!(
        planets.to_string(),
        "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY"
    );

    // moons: saturn/titan.txt, jupiter/europa.txt, mercury.txt
    let (europa, es) = add(&t, b, b"Hello Europa!\n");
    let (titan, ts) = add(&t, b, b"Hello Titan!\n");
    let (merc, mcs) = add(&t, b, b"hey you are no moon!\n");
    let r = t.mkdir(r, "/moons/jupiter", true).unwrap();
    let r = t
        .put(r, "/moons/jupiter/europa.txt", europa, es, false, false)
        .unwrap();
    let r = t
        .put(r, "/moons/saturn/titan.txt", titan, ts, true, false)
        .unwrap();
    let r = t
        .put(r, "/moons/mercury.txt", merc, mcs, false, false)
        .unwrap();
    let (moons, _) = t.resolve(r, "moons").unwrap();
    assert_eq!(
        moons.to_string(),
        "QmbGoaQZm8kjYfCiN1aBsgwhqfUBGDYTrDb91Mz7Dvq81B"
    );
    let st = t.stat(r, "/moons").unwrap();
    assert_eq!(st.kind, NodeKind::Directory);
    assert_eq!(st.child_blocks, 3);
    let names: Vec<_> = t
        .ls(r, "/moons")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["jupiter", "mercury.txt", "saturn"]);
    let f = t.ls(r, "/moons/mercury.txt").unwrap();
    assert_eq!((f.len(), f[0].kind, f[0].size), (1, NodeKind::File, 21));

    // Moving mercury out and back gives the same CIDs again.
    let r2 = t.mv(r, "/moons/mercury.txt", "/planets").unwrap();
    assert!(t.resolve(r2, "/planets/mercury.txt").is_ok());
    assert!(matches!(
        t.resolve(r2, "/moons/mercury.txt"),
        Err(TreeError::NotFound(_))
    ));
    let r3 = t
        .mv(r2, "/planets/mercury.txt", "/moons/mercury.txt")
        .unwrap();
    assert_eq!(r3, r);

    // cp shares blocks; rm undoes it.
    let r4 = t.cp(r, "/planets", "/planets2").unwrap();
    assert_eq!(t.resolve(r4, "/planets2").unwrap().0, planets);
    assert_eq!(t.rm(r4, "/planets2", true).unwrap(), r);
    let r5 = t.cp_cid(r, planets, "/p3").unwrap();
    assert_eq!(
        t.resolve(r5, "/p3").unwrap(),
        t.resolve(r, "/planets").unwrap()
    );
}

#[test]
fn refuses_what_it_should() {
    let db = mem_db();
    let b = db.blocks();
    let t = Tree::new(b);
    let r = t.empty(Version::V0).unwrap();
    for bad in ["a//b", "/a/../b", "./x", "a/\0"] {
        assert!(
            matches!(t.mkdir(r, bad, true), Err(TreeError::InvalidPath { .. })),
            "{bad}"
        );
    }
    let r = t.mkdir(r, "/d/e", true).unwrap();
    assert_eq!(
        t.mkdir(r, "/d/e", true).unwrap(),
        r,
        "-p on an existing dir"
    );
    assert!(matches!(t.mkdir(r, "/d/e", false), Err(TreeError::Exists(p)) if p == "/d/e"));
    assert!(matches!(t.mkdir(r, "/x/y", false), Err(TreeError::NotFound(p)) if p == "/x"));
    assert!(matches!(
        t.rm(r, "/d", false),
        Err(TreeError::IsADirectory(_))
    ));
    assert!(matches!(t.rm(r, "/", true), Err(TreeError::Root)));
    assert!(matches!(
        t.mv(r, "/d", "/d/e/f"),
        Err(TreeError::IntoItself(_))
    ));
    let (f, fs) = add(&t, b, b"x");
    let r = t.put(r, "/f", f, fs, false, false).unwrap();
    assert!(matches!(
        t.put(r, "/f", f, fs, false, false),
        Err(TreeError::Exists(_))
    ));
    assert!(matches!(t.ls(r, "/f/g"), Err(TreeError::NotADirectory(p)) if p == "/f"));
    assert!(matches!(
        t.mkdir(r, "/f/g", true),
        Err(TreeError::NotADirectory(_))
    ));
    let msg = t.stat(r, "/nope/x").unwrap_err().to_string();
    assert!(msg.contains("/nope"), "{msg}");
    assert_eq!(
        t.rm(r, "/d", true)
            .and_then(|r| t.rm(r, "/f", false))
            .unwrap(),
        t.empty(Version::V0).unwrap()
    );
}

#[test]
fn write_and_truncate_reimport_files() {
    let db = mem_db();
    let b = db.blocks();
    let t = Tree::new(b);
    let r = t.empty(Version::V0).unwrap();
    let o = Tree::options_for(&r);
    let r = t.write(r, "/dir/f.txt", 0, b"hello", true, o).unwrap_err();
    assert!(matches!(r, TreeError::NotFound(_)), "parents are not made");
    let r = t
        .mkdir(t.empty(Version::V0).unwrap(), "/dir", false)
        .unwrap();
    let r = t
        .write(r, "/dir/f.txt", 0, b"hello world\n", true, o)
        .unwrap();
    assert_eq!(
        t.resolve(r, "/dir/f.txt").unwrap().0.to_string(),
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    );
    let r = t.write(r, "/dir/f.txt", 6, b"WORLD", false, o).unwrap();
    assert_eq!(t.read(r, "/dir/f.txt", 0, 100).unwrap(), b"hello WORLD\n");
    let r = t.write(r, "/dir/f.txt", 14, b"!", false, o).unwrap();
    assert_eq!(t.read(r, "/dir/f.txt", 10, 100).unwrap(), b"D\n\0\0!");
    let r = t.truncate(r, "/dir/f.txt", 5, o).unwrap();
    assert_eq!(t.read(r, "/dir/f.txt", 0, 100).unwrap(), b"hello");
    assert_eq!(t.stat(r, "/dir/f.txt").unwrap().size, 5);
    assert!(matches!(
        t.write(r, "/dir/f.txt", MAX_EDIT_SIZE, b"x", false, o),
        Err(TreeError::TooLarge { .. })
    ));
    assert!(matches!(
        t.truncate(r, "/dir", 0, o),
        Err(TreeError::NotAFile(_))
    ));
    assert!(matches!(
        t.write(r, "/dir/nope", 0, b"x", false, o),
        Err(TreeError::NotFound(_))
    ));
}

#[test]
fn raw_leaves_are_files_and_v1_trees_stay_v1() {
    let db = mem_db();
    let b = db.blocks();
    let t = Tree::new(b);
    let r = t.empty(Version::V1).unwrap();
    let o = Tree::options_for(&r);
    let r = t.write(r, "/f", 0, b"raw leaf", true, o).unwrap();
    assert_eq!(r.version(), Version::V1);
    let (f, _) = t.resolve(r, "/f").unwrap();
    assert_eq!(f.codec(), Codec::Raw);
    assert_eq!(t.stat(r, "/f").unwrap().kind, NodeKind::File);
    assert!(matches!(t.ls(r, "/f/x"), Err(TreeError::NotADirectory(p)) if p == "/f"));
    assert!(matches!(
        t.mkdir(r, "/f/x", true),
        Err(TreeError::NotADirectory(_))
    ));
}
