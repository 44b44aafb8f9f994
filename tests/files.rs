//! Directories and MFS through a real node and the real CLI: `ipfs add -r/-w` gives the
//! independent importer's CIDs (tests/ipfs_oracle), `ipfs get` writes directories back and
//! never outside the target, `dag export` / `dag import` carry a DAG to a second node, the
//! gateway lists directories or serves their index.html, and `files ...` edits the node's
//! MFS, which `repo gc` keeps.

#![cfg(feature = "files")]

mod common;

use std::path::Path;

use common::{TestNode, curl, leither, ok};

/// tests/ipfs_oracle/gen.mjs `rand(n)`.
fn rand(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 3);
    let mut s = ((n as u32) ^ 0x9E37_79B9) | 1;
    while out.len() < n {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// gen.mjs `tree()` under `dir/tree`, plus what `ipfs add -r` must skip and say so.
fn make_tree(dir: &Path) -> std::path::PathBuf {
    let t = dir.join("tree");
    let put = |rel: &str, data: &[u8]| {
        let p = t.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    put("a.bin", &rand(262_145));
    put("Z", b"Z");
    put("sub/b.txt", b"hello\n");
    put("sub/deeper/c", b"");
    put("sub/deeper/\u{e9}t\u{e9}.txt", &rand(1000));
    put("sub/b.txt.orig", b"hello\n");
    std::fs::create_dir_all(t.join("empty")).unwrap();
    t
}

/// Every file under `dir`, relative, with its bytes; directories with `None`.
fn snapshot(dir: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            assert!(!meta.file_type().is_symlink(), "symlink written at {rel}");
            if meta.is_dir() {
                out.push((rel, None));
                todo.push(p);
            } else {
                out.push((rel, Some(std::fs::read(&p).unwrap())));
            }
        }
    }
    out.sort();
    out
}

fn cid_of(out: &str) -> String {
    out.lines()
        .last()
        .and_then(|l| l.strip_prefix("ipfs add ok /ipfs/"))
        .unwrap_or_else(|| panic!("no `ipfs add ok` line in:\n{out}"))
        .to_string()
}

#[test]
fn directory_add_matches_the_oracle_and_get_export_import_round_trip() {
    let n = TestNode::start();
    let work = common::fresh_home();
    let tree = make_tree(&work);
    // What must be skipped, and said: a hidden file and a symlink that leaves the folder.
    std::fs::write(tree.join(".hidden"), b"secret").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", tree.join("sub/escape")).unwrap();
    let t = tree.to_str().unwrap();

    let o = leither(&n.home, &["ipfs", "add", "-r", t]);
    let out = ok(&o);
    let root = cid_of(&out);
    // tests/ipfs_oracle/oracle-cids.tsv, row `tree -r`.
    assert_eq!(root, "QmXukALZLTVGEDbtx3JefpdCNN55KnmrC22bWUkWgYd2vi");
    assert!(
        out.contains("added QmXukALZLTVGEDbtx3JefpdCNN55KnmrC22bWUkWgYd2vi tree\n"),
        "{out}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(".hidden: hidden"), "{err}");
    assert!(
        err.contains("escape: a symlink that leaves the folder"),
        "{err}"
    );
    let pins = ok(&leither(&n.home, &["ipfs", "pin", "ls"]));
    assert!(pins.contains(&format!("{root} recursive")), "{pins}");

    let wrapped = cid_of(&ok(&leither(&n.home, &["ipfs", "add", "-r", "-w", t])));
    assert_eq!(wrapped, "QmUjB3bfM2Ct2pzdqCtmwDNsHa8X15gFdMmDYeM7yr9QPa");
    let v1 = cid_of(&ok(&leither(
        &n.home,
        &["ipfs", "add", "-r", "--cid-version", "1", t],
    )));
    assert_eq!(
        v1,
        "bafybeic5lqdayesivwbxlnyq537sz34rsdcu4j5ryghszbhfytcczcqc2m"
    );
    // A plain file refuses without -r; -w wraps one file (row `rand-1 -w`).
    let one = work.join("rand-1");
    std::fs::write(&one, rand(1)).unwrap();
    assert_eq!(
        cid_of(&ok(&leither(
            &n.home,
            &["ipfs", "add", "-w", one.to_str().unwrap()]
        ))),
        "QmTo3gUTBADMfCTwuiaUcH92mdWpYX8WFLhgnBKqho4M74"
    );
    assert_eq!(leither(&n.home, &["ipfs", "add", t]).status.code(), Some(2));

    // get writes the same tree back (the skipped entries were never added).
    std::fs::remove_file(tree.join(".hidden")).unwrap();
    std::fs::remove_file(tree.join("sub/escape")).unwrap();
    let back = work.join("back");
    let got = ok(&leither(
        &n.home,
        &["ipfs", "get", &root, "-o", back.to_str().unwrap()],
    ));
    assert!(
        got.contains("ipfs get ok") && got.contains("(6 files, "),
        "{got}"
    );
    assert_eq!(snapshot(&back), snapshot(&tree));
    // The target is never overwritten through a left-over .part.
    let again = leither(
        &n.home,
        &["ipfs", "get", &root, "-o", back.to_str().unwrap()],
    );
    assert!(!again.status.success());

    // The gateway lists the directory; a directory with index.html serves it.
    let (code, body) = curl(&[&format!("{}/ipfs/{root}/", n.url)]);
    let html = String::from_utf8_lossy(&body);
    assert_eq!(code, 200, "{html}");
    for name in ["a.bin", "Z", "sub", "empty"] {
        assert!(html.contains(&format!(">{name}</a>")), "{html}");
    }
    let site = work.join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(site.join("other.txt"), "x").unwrap();
    let site_cid = cid_of(&ok(&leither(
        &n.home,
        &["ipfs", "add", "-r", site.to_str().unwrap()],
    )));
    let (code, body) = curl(&["-i", &format!("{}/ipfs/{site_cid}/", n.url)]);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(code, 200);
    assert!(
        text.contains("text/html") && text.ends_with("<h1>home</h1>"),
        "{text}"
    );

    // CAR export from this node, import into a second one, same tree out of it.
    let car = work.join("tree.car");
    let exp = ok(&leither(
        &n.home,
        &["dag", "export", &root, "-o", car.to_str().unwrap()],
    ));
    assert!(exp.starts_with("dag export ok"), "{exp}");
    let m = TestNode::start();
    let imp = ok(&leither(&m.home, &["dag", "import", car.to_str().unwrap()]));
    assert!(
        imp.contains(&format!("Pinned root\t{root}\tsuccess")),
        "{imp}"
    );
    assert!(imp.contains("Imported 11 blocks"), "{imp}");
    let back2 = work.join("back2");
    ok(&leither(
        &m.home,
        &["ipfs", "get", &root, "-o", back2.to_str().unwrap()],
    ));
    assert_eq!(snapshot(&back2), snapshot(&tree));
    // A CAR cut short is refused and pins nothing.
    let bytes = std::fs::read(&car).unwrap();
    let cut = work.join("cut.car");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let o = leither(&m.home, &["dag", "import", cut.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cut short"));
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn get_refuses_hostile_names_and_writes_nothing_outside() {
    use leither::ipfs::cid::{Cid, Codec, Version};
    use leither::ipfs::dagpb::{PbLink, PbNode};
    use leither::ipfs::importer::{ImportOptions, import_bytes};
    use leither::ipfs::unixfs::UnixFs;

    let n = TestNode::start();
    let work = common::fresh_home();
    let evil = import_bytes(ImportOptions::default(), b"escaped!\n").unwrap();
    let good = import_bytes(ImportOptions::default(), b"fine\n").unwrap();
    // dir::build refuses these names; a hand-made dag-pb node does not.
    let link = |name: &str, f: &leither::ipfs::Imported| PbLink {
        hash: f.root,
        name: Some(name.to_string()),
        tsize: Some(f.dag_size),
    };
    let node = PbNode {
        links: vec![
            link("..", &evil),
            link("../escaped.txt", &evil),
            link("ok.txt", &good),
            link("/abs", &evil),
        ],
        data: Some(UnixFs::directory().encode()),
    };
    let data = node.encode();
    let root = Cid::of_block(Version::V0, Codec::DagPb, &data);
    let mut blocks = evil.blocks.clone();
    blocks.extend(good.blocks.clone());
    blocks.push(leither::ipfs::Block { cid: root, data });
    let car = work.join("evil.car");
    std::fs::write(&car, leither::ipfs::car::encode_car(&[root], blocks.iter())).unwrap();
    ok(&leither(&n.home, &["dag", "import", car.to_str().unwrap()]));

    let out = work.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let target = out.join("target");
    let o = leither(
        &n.home,
        &[
            "ipfs",
            "get",
            &root.to_string(),
            "-o",
            target.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success(), "unsafe names must fail the get");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("refused entry \"..\""), "{err}");
    assert!(err.contains("refused 3 entries"), "{err}");
    // Only the safe entry was written, inside the target; nothing beside or above it.
    assert_eq!(
        snapshot(&out),
        [
            ("target".to_string(), None),
            ("target/ok.txt".to_string(), Some(b"fine\n".to_vec())),
        ]
    );
    assert!(!work.join("escaped.txt").exists());
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn mfs_round_trips_and_survives_gc() {
    let n = TestNode::start();
    let h = &n.home;
    let empty = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
    assert_eq!(ok(&leither(h, &["files", "flush"])).trim(), empty);
    assert_eq!(ok(&leither(h, &["files", "ls"])), "");

    ok(&leither(h, &["files", "mkdir", "-p", "/planets/inner"]));
    ok(&leither(h, &["files", "mkdir", "-p", "/planets/inner"]));
    let o = leither(h, &["files", "mkdir", "/planets"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("/planets: already exists"));
    let o = leither(h, &["files", "mkdir", "/a/../b"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid path"));

    // Files come in unpinned from `ipfs add`, then MFS keeps them through gc.
    let work = common::fresh_home();
    let venus = work.join("venus.txt");
    std::fs::write(&venus, "Hello Venus!\n").unwrap();
    let mars = work.join("mars.txt");
    std::fs::write(&mars, "Hello Mars!\n").unwrap();
    let vc = cid_of(&ok(&leither(
        h,
        &["ipfs", "add", "--no-pin", venus.to_str().unwrap()],
    )));
    let mc = cid_of(&ok(&leither(
        h,
        &["ipfs", "add", "--no-pin", mars.to_str().unwrap()],
    )));
    ok(&leither(
        h,
        &["files", "cp", &format!("/ipfs/{vc}"), "/planets/venus.txt"],
    ));
    ok(&leither(
        h,
        &[
            "files",
            "cp",
            &format!("/ipfs/{mc}"),
            "/planets/inner/mars.txt",
        ],
    ));
    ok(&leither(
        h,
        &["files", "mv", "/planets/inner/mars.txt", "/planets"],
    ));
    ok(&leither(h, &["files", "rm", "-r", "/planets/inner"]));
    assert_eq!(
        ok(&leither(h, &["files", "ls", "/planets"])),
        "mars.txt\nvenus.txt\n"
    );
    let long = ok(&leither(h, &["files", "ls", "-l", "/planets"]));
    assert!(long.contains(&format!("venus.txt\t{vc}\t13")), "{long}");
    // kubo t0040's planets directory.
    let planets = "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY";
    assert_eq!(
        ok(&leither(h, &["files", "flush", "/planets"])).trim(),
        planets
    );
    let stat = ok(&leither(h, &["files", "stat", "/planets"]));
    assert!(
        stat.starts_with(&format!("{planets}\nSize: 0\nCumulativeSize: "))
            && stat.contains("ChildBlocks: 2\nType: directory\n"),
        "{stat}"
    );
    let stat = ok(&leither(h, &["files", "stat", "/planets/venus.txt"]));
    assert!(
        stat.contains("Size: 13\n") && stat.ends_with("Type: file\n"),
        "{stat}"
    );
    ok(&leither(h, &["files", "cp", "/planets", "/copy"]));
    let o = leither(h, &["files", "rm", "/copy"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a directory"));
    ok(&leither(h, &["files", "rm", "-r", "/copy"]));

    let gc = ok(&leither(h, &["repo", "gc"]));
    assert!(gc.starts_with("repo gc ok"), "{gc}");
    let (code, body) = curl(&[&format!("{}/ipfs/{planets}/venus.txt", n.url)]);
    assert_eq!((code, body.as_slice()), (200, b"Hello Venus!\n".as_slice()));
    let root = ok(&leither(h, &["files", "flush"]));
    let (code, _) = curl(&[&format!("{}/ipfs/{}/planets/mars.txt", n.url, root.trim())]);
    assert_eq!(code, 200);

    // Changing MFS needs the owner: a guest session is refused.
    let (_, login) = curl(&["-X", "POST", &format!("{}/api/Login", n.url), "-d", "[]"]);
    let login = String::from_utf8_lossy(&login).into_owned();
    let sid = login
        .split("\"sid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let (code, _) = curl(&[
        "-X",
        "POST",
        &format!("{}/api/FilesMkdir", n.url),
        "-d",
        &format!("[\"{sid}\",\"/x\"]"),
    ]);
    assert_eq!(code, 403);
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_big_flat_folder_is_sharded_as_kubo_shards_it() {
    // gen.mjs `big(5000)`: over kubo's 256 KiB estimate, so the root is a HAMT shard tree.
    let n = TestNode::start();
    let work = common::fresh_home();
    let big = work.join("big-5000");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..5000 {
        let name = format!("f{i:05}-{}.txt", "x".repeat(20));
        std::fs::write(big.join(name), format!("{i}\n")).unwrap();
    }
    let t = std::time::Instant::now();
    let out = ok(&leither(
        &n.home,
        &["ipfs", "add", "-r", big.to_str().unwrap()],
    ));
    eprintln!("ipfs add -r of 5000 small files: {:?}", t.elapsed());
    // tests/ipfs_oracle/oracle-cids.tsv, row `big-5000 -r`.
    assert_eq!(
        cid_of(&out),
        "QmZT6JBTYa3DmZhg6uzYrFp5K9t4KN3F3LtnpoxPRBUif3"
    );
    let (code, body) = curl(&[&format!(
        "{}/ipfs/QmZT6JBTYa3DmZhg6uzYrFp5K9t4KN3F3LtnpoxPRBUif3/f04321-{}.txt",
        n.url,
        "x".repeat(20)
    )]);
    assert_eq!((code, body.as_slice()), (200, b"4321\n".as_slice()));
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn ipfs_add_r_at_the_hamt_threshold_follows_the_chosen_rule() {
    // gen.mjs `edge(4096)`: an estimate of exactly 262144 bytes. boxo's `>` (the default)
    // keeps it flat, kubo 0.22's `>=` shards it; oracle-cids.tsv rows `edge-4096`.
    let n = TestNode::start();
    let work = common::fresh_home();
    let edge = work.join("edge-4096");
    std::fs::create_dir_all(&edge).unwrap();
    for i in 0..4096 {
        let name = format!("e{i:05}-{}.txt", "x".repeat(19));
        std::fs::write(edge.join(name), format!("{i}\n")).unwrap();
    }
    let e = edge.to_str().unwrap();
    let flat = "QmS6VCYxzAXJksB4tJrF4oXtwYBmowYNAJ2WXdvZfcaWMr";
    let sharded = "QmXmvXs8CyTDUAo9Lua7qQ6siupzeH4eLugHEtW4Zt799H";
    for (args, want) in [
        (&[][..], flat),
        (&["--hamt-threshold-rule", "kubo-0.22"][..], sharded),
    ] {
        let mut a = vec!["ipfs", "add", "-r"];
        a.extend_from_slice(args);
        a.push(e);
        assert_eq!(cid_of(&ok(&leither(&n.home, &a))), want, "{args:?}");
    }
    let o = leither(
        &n.home,
        &["ipfs", "add", "-r", "--hamt-threshold-rule", "sometimes", e],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at-or-above"));
    let _ = std::fs::remove_dir_all(&work);
}
