//! File Mimeis from outside: the `mimei` CLI flow with Leither's output lines, rights over the
//! JSON API with curl (guest, a user without write), a tampered version record refused on
//! read, `repo gc` keeping Mimei blocks, `/mm/` serving bytes and refusing `..`, and
//! `MFGetData` with a negative start.

#![cfg(feature = "files")]

mod common;

use std::process::Output;

use common::{TestNode, curl, leither, ok};
use leither::pki::{NodeKey, Pass};

fn fails(o: &Output) -> String {
    assert!(!o.status.success(), "should fail: {o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn api(n: &TestNode, f: &str, body: &str) -> (u16, String) {
    let (s, b) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        body,
        &format!("{}/api/{f}", n.url),
    ]);
    (s, String::from_utf8_lossy(&b).into_owned())
}

fn api_ok(n: &TestNode, f: &str, body: &str) -> String {
    let (s, b) = api(n, f, body);
    assert_eq!(s, 200, "{f} {body}: {b}");
    b
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

fn login(n: &TestNode, key: Option<&NodeKey>) -> String {
    let body = match key {
        None => "[]".to_string(),
        Some(k) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            format!(
                "[\"{}\"]",
                Pass::sign(k, vec![], now, 600).unwrap().to_text()
            )
        }
    };
    let b = api_ok(n, "Login", &body);
    b.split("\"sid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

fn line_value<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

fn create(n: &TestNode, args: &[&str]) -> String {
    let mut a = vec!["mimei", "create"];
    a.extend_from_slice(args);
    let out = ok(&leither(&n.home, &a));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Create MiMei  ok", "{out}");
    let mid = lines[1]
        .strip_prefix("mid= ")
        .expect("mid= line")
        .to_string();
    assert_eq!(mid.len(), 27, "{out}");
    mid
}

#[test]
fn cli_flow_create_add_show_get_versions() {
    let n = TestNode::start();
    let dir = common::fresh_home();
    let f1 = dir.join("one.txt");
    std::fs::write(&f1, b"first version\n").unwrap();
    let f2 = dir.join("two.txt");
    std::fs::write(&f2, b"second version, longer\n").unwrap();

    let mid = create(&n, &["-m", "blog", "-e", "txt"]);
    // A fixed mark names the same Mimei again; {{auto}} a fresh one each time.
    assert_eq!(create(&n, &["-m", "blog", "-e", "txt"]), mid);
    let a1 = create(&n, &["-m", "{{auto}}"]);
    assert_ne!(a1, create(&n, &["-m", "{{auto}}"]));

    let out = ok(&leither(
        &n.home,
        &["mimei", "add", "--", &mid, f1.to_str().unwrap()],
    ));
    let cid1 = line_value(&out, "MiMeiAdd cid= ").to_string();
    assert_eq!(line_value(&out, "MiMeiAdd ver= "), "1", "{out}");
    let out = ok(&leither(
        &n.home,
        &["mimei", "add", "--", &mid, f2.to_str().unwrap()],
    ));
    let cid2 = line_value(&out, "MiMeiAdd cid= ").to_string();
    assert_eq!(line_value(&out, "MiMeiAdd ver= "), "2", "{out}");

    // setcid makes the next version.
    let out = ok(&leither(&n.home, &["mimei", "setcid", "--", &mid, &cid1]));
    assert_eq!(out, "MiMeiSetCid ver= 3\n");

    let show = ok(&leither(&n.home, &["mimei", "show", "--", &mid]));
    let hostid = ok(&leither(&n.home, &["lpki", "id"])).trim().to_string();
    // Leither's layout: a header block, then its sections.
    assert!(
        show.starts_with(&format!("MiMeiShow mid= {mid}\n")),
        "{show}"
    );
    assert!(show.contains(&format!("Author  : {hostid}\n")), "{show}");
    assert!(show.contains("Type    : file\n"), "{show}");
    assert!(
        show.contains("Ext     : txt\n") && show.contains("Mark    : blog\n"),
        "{show}"
    );
    let created = line_value(&show, "Create  : ");
    assert!(
        created.len() == 20 && created.as_bytes()[10] == b'T' && created.ends_with('Z'),
        "ISO 8601: {created}"
    );
    assert!(show.contains("Right   : "), "{show}");
    assert!(show.contains(&format!("\n2        {cid2}\n")), "{show}");
    assert!(show.contains("\nlast     3\n"), "{show}");
    for section in ["from local", "from net", "conflict", "compare version"] {
        assert!(
            show.contains(&format!("\n{section}\n-----")),
            "{section}: {show}"
        );
    }
    assert!(show.contains("\nnot published\n"), "{show}");
    assert!(show.ends_with("\nmimei show ok\n"), "{show}");

    // get: to stdout (also with -o -), or to a file; last by default, a number, cur.
    let out = ok(&leither(&n.home, &["mimei", "get", "--", &mid]));
    assert_eq!(out, "first version\n");
    let out = ok(&leither(&n.home, &["mimei", "get", "-o", "-", "--", &mid]));
    assert_eq!(out, "first version\n");
    let got = dir.join("got.txt");
    let g = got.to_str().unwrap();
    let out = ok(&leither(&n.home, &["mimei", "get", "-o", g, "--", &mid]));
    assert_eq!(out, format!("mimei get ok {g} (14 bytes)\n"));
    assert_eq!(std::fs::read(&got).unwrap(), b"first version\n");
    ok(&leither(
        &n.home,
        &["mimei", "get", "-o", g, "--", &format!("{mid}:2")],
    ));
    assert_eq!(std::fs::read(&got).unwrap(), b"second version, longer\n");

    // restore 2 into cur, back it up as 4; release it; delete 1 and 3.
    assert_eq!(
        ok(&leither(&n.home, &["mimei", "restore", "--", &mid, "2"])),
        "MiMeiRestore ver= 2\n"
    );
    ok(&leither(
        &n.home,
        &["mimei", "get", "-o", g, "--", &format!("{mid}:cur")],
    ));
    assert_eq!(std::fs::read(&got).unwrap(), b"second version, longer\n");
    assert_eq!(
        ok(&leither(&n.home, &["mimei", "backup", "--", &mid])),
        "MiMeiBackup ver= 4\n"
    );
    assert_eq!(
        ok(&leither(&n.home, &["mimei", "release", "--", &mid, "last"])),
        "MiMeiRelease ver= 4\n"
    );
    assert_eq!(
        ok(&leither(
            &n.home,
            &["mimei", "delver", "--", &mid, "1", "3"]
        )),
        "MiMeiDelVer ok 1 3\n"
    );
    let show = ok(&leither(&n.home, &["mimei", "show", "--", &mid]));
    assert!(
        !show.contains("\n1        ") && !show.contains("\n3        "),
        "{show}"
    );
    assert!(show.contains("\nlast     4\nrelease  4\n"), "{show}");
    let e = fails(&leither(
        &n.home,
        &["mimei", "get", "-o", g, "--", &format!("{mid}:1")],
    ));
    assert!(e.contains("has no version 1"), "{e}");
    // Numbers are never reused after delver.
    assert_eq!(
        ok(&leither(&n.home, &["mimei", "backup", "--", &mid])),
        "MiMeiBackup ver= 5\n"
    );

    // /mm/ serves the bytes of last, of a number, and refuses a path leaving the Mimei.
    let (s, b) = curl(&[&format!("{}/mm/{mid}", n.url)]);
    assert_eq!(
        s,
        403,
        "private Mimei, guest: {}",
        String::from_utf8_lossy(&b)
    );
    let (s, b) = curl(&[&format!("{}/mm/{mid}:release", n.url)]);
    assert_eq!(
        s,
        403,
        "private Mimei, guest: {}",
        String::from_utf8_lossy(&b)
    );
    assert_eq!(
        ok(&leither(
            &n.home,
            &["mimei", "setright", "--", &mid, "*", "read"]
        )),
        "MiMeiSetRight ok * read\n"
    );
    assert_eq!(
        ok(&leither(&n.home, &["mimei", "getright", "--", &mid, "*"])),
        "read (0x1)\n"
    );
    let (s, b) = curl(&[&format!("{}/mm/{mid}", n.url)]);
    assert_eq!(
        (s, b.as_slice()),
        (200, b"second version, longer\n".as_slice())
    );
    let (s, b) = curl(&[&format!("{}/mm/{mid}:release", n.url)]);
    assert_eq!(
        (s, b.as_slice()),
        (200, b"second version, longer\n".as_slice())
    );
    let (s, _) = curl(&["-I", &format!("{}/mm/{mid}", n.url)]);
    assert_eq!(s, 200);
    for bad in ["/..", "/a/../..", "/%2e%2e", "/a%2Fb", "//etc/passwd"] {
        let (s, b) = curl(&["--path-as-is", &format!("{}/mm/{mid}{bad}", n.url)]);
        assert_eq!(s, 400, "{bad}: {}", String::from_utf8_lossy(&b));
    }
    let (s, _) = curl(&[&format!("{}/mm/notamid", n.url)]);
    assert_eq!(s, 400);
    // Names move, so /mm/ is revalidated, never cached as immutable.
    let (_, head) = curl(&["-I", &format!("{}/mm/{mid}", n.url)]);
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.contains("cache-control: no-cache"), "{head}");

    // Another user (a key of its own): refused the owner's Mimei with the reason, before any
    // upload; its own fixed marks name its own Mimeis, {{auto}} works and it may write it.
    let key = dir.join("user.key");
    ok(&leither(
        &n.home,
        &["lpki", "genkey", "-o", key.to_str().unwrap()],
    ));
    let k = key.to_str().unwrap();
    ok(&leither(&n.home, &["lpki", "addkey", "-i", k]));
    let e = fails(&leither(
        &n.home,
        &["mimei", "add", "-k", k, "--", &mid, f1.to_str().unwrap()],
    ));
    assert!(e.contains("lacks the write right"), "{e}");
    // The user's fixed mark is theirs (`~UID/blog`): another Mimei, never the owner's.
    let out = ok(&leither(
        &n.home,
        &["mimei", "create", "-m", "blog", "-e", "txt", "-k", k],
    ));
    assert_ne!(line_value(&out, "mid= "), mid, "{out}");
    let out = ok(&leither(
        &n.home,
        &["mimei", "create", "-m", "{{auto}}", "-k", k],
    ));
    let umid = line_value(&out, "mid= ").to_string();
    let out = ok(&leither(
        &n.home,
        &["mimei", "add", "-k", k, "--", &umid, f1.to_str().unwrap()],
    ));
    assert_eq!(line_value(&out, "MiMeiAdd ver= "), "1", "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rights_guest_and_user_without_write_are_refused() {
    let n = TestNode::start();
    let owner_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let owner = login(&n, Some(&owner_key));
    let mid = unquote(&api_ok(
        &n,
        "MMCreate",
        &format!("[\"{owner}\", \"\", \"\", \"wiki\", \"file\"]"),
    ));
    let (_, add) = api(&n, "IpfsAdd", &format!("[\"{owner}\", \"0123456789\"]"));
    let cid = add
        .split("\"cid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let mm = unquote(&api_ok(
        &n,
        "MMOpen",
        &format!("[\"{owner}\", \"{mid}\", \"cur\"]"),
    ));
    api_ok(
        &n,
        "MFSetCid",
        &format!("[\"{owner}\", \"{mid}\", \"{cid}\"]"),
    );
    assert_eq!(
        api_ok(&n, "MMBackup", &format!("[\"{owner}\", \"{mid}\", \"\"]")),
        "\"1\""
    );

    // MFGetData with a negative start counts from the end, where -1 is (Leither's rule).
    let fs = unquote(&api_ok(
        &n,
        "MFOpenByPath",
        &format!("[\"{owner}\", \"{mm}\", \"\", 0]"),
    ));
    let tail = api_ok(&n, "MFGetData", &format!("[\"{fs}\", -4, 2]"));
    assert_eq!(unquote(&tail), "Nzg", "base64url of \"78\"");
    let all = api_ok(&n, "MFGetData", &format!("[\"{fs}\", -100]"));
    assert_eq!(unquote(&all), "MDEyMzQ1Njc4OQ");
    // Write through MFSetData, read back, stat.
    let wfs = unquote(&api_ok(
        &n,
        "MFOpenByPath",
        &format!("[\"{owner}\", \"{mm}\", \"\", 2]"),
    ));
    api_ok(&n, "MFSetData", &format!("[\"{wfs}\", \"AB\", 8]"));
    let all = api_ok(&n, "MFGetData", &format!("[\"{wfs}\", 0]"));
    assert_eq!(unquote(&all), "MDEyMzQ1NjdBQg", "01234567AB");
    api_ok(&n, "MFTruncate", &format!("[\"{wfs}\", 4]"));
    let st = api_ok(&n, "MFStat", &format!("[\"{wfs}\"]"));
    assert!(
        st.contains("\"fSize\":4") && st.contains("\"fIsDir\":false"),
        "{st}"
    );
    // Reading through the read-only fsid refuses writes with the reason.
    let (s, b) = api(&n, "MFSetData", &format!("[\"{fs}\", \"x\"]"));
    assert!(s == 409 && b.contains("opened for reading"), "{s} {b}");

    // A guest cannot open a private Mimei: it says which right is missing and to log in.
    let guest = login(&n, None);
    let (s, b) = api(&n, "MMOpen", &format!("[\"{guest}\", \"{mid}\", \"last\"]"));
    assert_eq!(s, 403, "{b}");
    assert!(b.contains("read"), "{b}");

    // A user granted read only: may read, may not write, back up or set rights.
    let user_key = NodeKey::generate().unwrap();
    common::admit(&n.home, &user_key.id().to_string());
    let user_id = user_key.id().to_string();
    let user = login(&n, Some(&user_key));
    let (s, b) = api(&n, "MMOpen", &format!("[\"{user}\", \"{mid}\", \"1\"]"));
    assert_eq!(s, 403, "{b}");
    api_ok(
        &n,
        "MMSetRight",
        &format!("[\"{owner}\", \"{mid}\", \"{user_id}\", \"read\"]"),
    );
    assert_eq!(
        api_ok(
            &n,
            "MMGetRight",
            &format!("[\"{owner}\", \"{mid}\", \"{user_id}\"]")
        ),
        "1"
    );
    api_ok(&n, "MMOpen", &format!("[\"{user}\", \"{mid}\", \"1\"]"));
    let ucur = unquote(&api_ok(
        &n,
        "MMOpen",
        &format!("[\"{user}\", \"{mid}\", \"cur\"]"),
    ));
    for (f, rest) in [
        ("MFSetCid", format!("\"{cid}\"")),
        ("MMBackup", "\"memo\"".to_string()),
        ("MMAddRef", format!("\"{cid}\"")),
    ] {
        let (s, b) = api(&n, f, &format!("[\"{user}\", \"{mid}\", {rest}]"));
        assert!(s == 403 && b.contains("write"), "{f}: {s} {b}");
    }
    // The mmsid in the sid slot, as Leither's examples pass it, is its session: no more.
    let (s, b) = api(&n, "MMBackup", &format!("[\"{ucur}\", \"{mid}\", \"\"]"));
    assert!(s == 403 && b.contains("write"), "{s} {b}");
    let (s, b) = api(
        &n,
        "MMSetRight",
        &format!("[\"{user}\", \"{mid}\", \"*\", \"all\"]"),
    );
    assert!(s == 403 && b.contains("admin"), "{s} {b}");
    // Even with * = read,write (Leither's word 0x07276707) a guest stays read-only.
    api_ok(
        &n,
        "MMSetRight",
        &format!("[\"{owner}\", \"{mid}\", \"\", {}]", 0x07276707),
    );
    for who in [&guest, &String::new()] {
        let (s, b) = api(
            &n,
            "MFSetCid",
            &format!("[\"{who}\", \"{mid}\", \"{cid}\"]"),
        );
        assert!(s == 403 && b.contains("write"), "{s} {b}");
        let (s, b) = api(&n, "MMBackup", &format!("[\"{who}\", \"{mid}\"]"));
        assert!(s == 403 && b.contains("write"), "{s} {b}");
    }
    // A folder from `ipfs add -r` (kubo's CIDs) set as cur; the tree lists and serves.
    let folder = common::fresh_home();
    std::fs::create_dir_all(folder.join("docs")).unwrap();
    std::fs::write(folder.join("docs/a.txt"), b"0123456789").unwrap();
    let out = ok(&leither(
        &n.home,
        &["ipfs", "add", "-r", folder.to_str().unwrap()],
    ));
    let root = line_value(&out, "ipfs add ok /ipfs/").to_string();
    let _ = std::fs::remove_dir_all(&folder);
    assert_eq!(
        unquote(&api_ok(
            &n,
            "MFSetCid",
            &format!("[\"{owner}\", \"{mid}\", \"{root}\"]"),
        )),
        root
    );
    let dfs = unquote(&api_ok(
        &n,
        "MFOpenByPath",
        &format!("[\"{owner}\", \"{mid}\", \"/docs\", 0]"),
    ));
    let ls = api_ok(&n, "MFReaddir", &format!("[\"{dfs}\", -1]"));
    assert!(
        ls.contains("\"fName\":\"a.txt\"") && ls.contains(&cid),
        "{ls}"
    );
    let (s, b) = curl(&[&format!("{}/mm/{mid}:cur/docs/a.txt", n.url)]);
    assert_eq!((s, b.as_slice()), (200, b"0123456789".as_slice()));
    // mminfo and mmversions.
    let info = api_ok(
        &n,
        "GetVar",
        &format!("[\"{guest}\", \"mminfo\", \"{mid}\"]"),
    );
    assert!(
        info.contains("\"mark\":\"wiki\"") && info.contains("\"last\":1"),
        "{info}"
    );
    let vers = api_ok(
        &n,
        "GetVar",
        &format!("[\"{guest}\", \"mmversions\", \"{mid}\"]"),
    );
    assert!(vers.contains(&format!("\"cid\":\"{cid}\"")), "{vers}");
    api_ok(&n, "MMClose", &format!("[\"{mm}\"]"));
    let (s, _) = api(&n, "MMBackup", &format!("[\"{mm}\"]"));
    assert_eq!(s, 401, "a closed handle is no session");
}

#[test]
fn gc_keeps_mimei_blocks_and_a_tampered_record_is_refused() {
    let mut n = TestNode::start();
    let dir = common::fresh_home();
    let f = dir.join("data.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&f, &data).unwrap();
    let out = ok(&leither(
        &n.home,
        &["ipfs", "add", "--no-pin", f.to_str().unwrap()],
    ));
    let cid = out
        .trim()
        .strip_prefix("ipfs add ok /ipfs/")
        .unwrap()
        .to_string();
    let mid = create(&n, &["-m", "gc"]);
    assert_eq!(
        ok(&leither(&n.home, &["mimei", "setcid", "--", &mid, &cid])),
        "MiMeiSetCid ver= 1\n"
    );
    let gc = ok(&leither(&n.home, &["repo", "gc"]));
    assert!(gc.starts_with("repo gc ok: removed 0 blocks"), "{gc}");
    let got = dir.join("got.bin");
    ok(&leither(
        &n.home,
        &["mimei", "get", "-o", got.to_str().unwrap(), "--", &mid],
    ));
    assert_eq!(std::fs::read(&got).unwrap(), data);

    // Stop the node, flip the last byte (the signature) of version 1, start it again.
    n.stop();
    {
        use redb::ReadableTable;
        let store = leither::store::Store::open(&n.home, 1 << 20, "x").unwrap();
        let m: leither::mimei::MimeiId = mid.parse().unwrap();
        let mut key = m.as_bytes().to_vec();
        key.extend_from_slice(&1u64.to_be_bytes());
        let tx = store.db().begin_write().unwrap();
        {
            let mut t = tx.open_table(leither::mimei::store::VERSIONS).unwrap();
            let mut rec = t.get(key.as_slice()).unwrap().unwrap().value().to_vec();
            let last = rec.len() - 1;
            rec[last] ^= 0x01;
            t.insert(key.as_slice(), rec.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    ok(&leither(&n.home, &["run", "-d"]));
    let e = fails(&leither(
        &n.home,
        &["mimei", "get", "-o", got.to_str().unwrap(), "--", &mid],
    ));
    assert!(
        e.contains("failed verification") && e.contains("refused"),
        "{e}"
    );
    let e = fails(&leither(&n.home, &["mimei", "show", "--", &mid]));
    assert!(e.contains("failed verification"), "{e}");
    ok(&leither(&n.home, &["stop"]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mmroot_references_and_leither_forms_over_http() {
    let n = TestNode::start();
    let owner_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let owner = login(&n, Some(&owner_key));
    let user_key = NodeKey::generate().unwrap();
    common::admit(&n.home, &user_key.id().to_string());
    let user = login(&n, Some(&user_key));
    let (_, add) = api(&n, "IpfsAdd", &format!("[\"{owner}\", \"web page\"]"));
    let cid = add
        .split("\"cid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();

    // mmroot: the node's own folder, made on first use, private until the owner opens it.
    api_ok(
        &n,
        "MFSetCid",
        &format!("[\"{owner}\", \"mmroot\", \"{cid}\"]"),
    );
    assert_eq!(
        api_ok(
            &n,
            "MMBackup",
            &format!("[\"{owner}\", \"mmroot\", \"first\"]")
        ),
        "\"2\"",
        "mmroot is made with an empty folder as version 1"
    );
    for who in [user.as_str(), ""] {
        let (s, b) = api(&n, "MMOpen", &format!("[\"{who}\", \"mmroot\", \"last\"]"));
        assert_eq!(s, 403, "{b}");
    }
    // Leither's setup guide: MMSetRight(sid, 'mmroot', '', 0x07276707).
    api_ok(
        &n,
        "MMSetRight",
        &format!("[\"{owner}\", \"mmroot\", \"\", {}]", 0x07276707),
    );
    let fsid = unquote(&api_ok(
        &n,
        "MMOpenUrl",
        &format!("[\"{user}\", \"mm://mmroot\"]"),
    ));
    let data = api_ok(&n, "MFGetData", &format!("[\"{fsid}\", 0, 100]"));
    assert_eq!(unquote(&data), "d2ViIHBhZ2U", "base64url of \"web page\"");
    // `/path` is the node's MFS, where nothing named a.txt is.
    let (s, b) = api(&n, "MMOpenUrl", &format!("[\"{user}\", \"/a.txt\"]"));
    assert!(s == 404 && b.contains("a.txt"), "{s} {b}");

    // A Mimei with Leither's six MMCreate arguments, referencing mmroot's content.
    let mid = unquote(&api_ok(
        &n,
        "MMCreate",
        &format!("[\"{owner}\", \"\", \"ext\", \"refs\", 1, {}]", 0x07276705),
    ));
    api_ok(
        &n,
        "MFSetCid",
        &format!("[\"{owner}\", \"{mid}\", \"{cid}\"]"),
    );
    assert_eq!(
        api_ok(
            &n,
            "MMAddRef",
            &format!("[\"{owner}\", \"{mid}\", \"{cid}\", \"{cid}\"]")
        ),
        "2"
    );
    let (s, b) = api(
        &n,
        "MMAddRef",
        &format!("[\"{user}\", \"{mid}\", \"{cid}\"]"),
    );
    assert!(s == 403 && b.contains("write"), "{s} {b}");
    let (s, b) = api(&n, "MMAddRef", &format!("[\"\", \"{mid}\", \"{cid}\"]"));
    assert!(s == 403 && b.contains("write"), "{s} {b}");
    api_ok(
        &n,
        "MMBackup",
        &format!("[\"{owner}\", \"{mid}\", \"\", \"delref=1\"]"),
    );
    let refs = api_ok(
        &n,
        "MMGetRefs",
        &format!("[\"\", \"{mid}\", \"1\", \"cur\"]"),
    );
    assert_eq!(refs, format!("{{\"cur\":{{}},\"1\":{{\"{cid}\":2}}}}"));
    let sum = api_ok(&n, "MMSum", &format!("[\"\", \"{mid}\", \"1\", \"\"]"));
    assert_eq!(unquote(&sum), cid);
    assert_eq!(
        api_ok(&n, "MiMeiIsProvider", &format!("[\"\", \"{mid}\"]")),
        "true"
    );
    assert_eq!(
        api_ok(&n, "MMDelVers", &format!("[\"{owner}\", \"{mid}\", \"1\"]")),
        "1"
    );
}
