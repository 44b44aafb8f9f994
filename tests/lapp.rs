//! Apps from outside (issue #6): `lapp uploadapp` of a folder, re-uploads as new versions of
//! the same app, `/tpt/<appid>` serving `index.html` byte for byte to a guest (and `HEAD`),
//! `release` choosing what visitors get, `showapp`, `delvers`, `restore` and `backup`, a Mimei made with `mimei create -a`
//! opening with its app at `/mm/<mid>`, a folder without lever.json (a Leither app; `lever deploy` refuses it), and the
//! refusals (lever.json not an object, an unknown app by name and at `/tpt/`).

#![cfg(feature = "files")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{TestNode, curl, leither, ok};

fn fails(o: &Output) -> String {
    assert!(!o.status.success(), "should fail: {o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn line_value<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

/// A folder `NAME` (under a fresh directory) with lever.json, index.html and sub/page.txt.
fn app_folder(name: &str, index: &str) -> PathBuf {
    let dir = common::fresh_home().join(name);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("lever.json"),
        format!("{{\"name\": \"{name}\", \"luaEntry\": \"main.lua\"}}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("index.html"), index).unwrap();
    std::fs::write(dir.join("sub/page.txt"), b"a page in a sub folder\n").unwrap();
    dir
}

fn upload(n: &TestNode, dir: &Path) -> (String, String) {
    let out = ok(&leither(
        &n.home,
        &["lapp", "uploadapp", "-i", dir.to_str().unwrap()],
    ));
    assert!(out.contains("UploadApp ok\n"), "{out}");
    let appid = line_value(&out, "appid= ").to_string();
    assert_eq!(appid.len(), 27, "{out}");
    (appid, line_value(&out, "ver= ").to_string())
}

/// GET, following the node's redirects (`/tpt/<appid>` -> `/tpt/<appid>/`).
fn get(n: &TestNode, path: &str) -> (u16, Vec<u8>) {
    curl(&["-L", &format!("{}{path}", n.url)])
}

#[test]
fn upload_serve_release_show_delvers() {
    let n = TestNode::start();
    let v1 = "<!DOCTYPE html><title>hello v1</title>\n";
    let dir = app_folder("hello", v1);
    let (appid, ver) = upload(&n, &dir);
    assert_eq!(ver, "1");

    // A guest (no session) gets the app's files: the first upload granted everyone read.
    for p in [
        format!("/tpt/{appid}"),
        format!("/tpt/{appid}/"),
        format!("/tpt/,{appid}/"),
    ] {
        let (status, body) = get(&n, &p);
        assert_eq!(status, 200, "{p}: {}", String::from_utf8_lossy(&body));
        assert_eq!(body, v1.as_bytes(), "{p}");
    }
    // Without its slash, the app's URL moves to the slash form (relative files resolve in the
    // app), keeping the query.
    let (status, head) = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("{}/tpt/{appid}?x=1", n.url),
    ]);
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert_eq!(status, 301, "{head}");
    assert!(
        head.contains(&format!(
            "location: /tpt/{}/?x=1",
            appid.to_ascii_lowercase()
        )),
        "{head}"
    );
    let (status, body) = get(&n, &format!("/tpt/{appid}/sub/page.txt"));
    assert_eq!((status, &body[..]), (200, &b"a page in a sub folder\n"[..]));

    // Re-uploading the same folder name makes version 2 of the same app; with no release,
    // visitors get the newest version.
    let v2 = "<!DOCTYPE html><title>hello v2, longer</title>\n";
    std::fs::write(dir.join("index.html"), v2).unwrap();
    let (again, ver) = upload(&n, &dir);
    assert_eq!((again.as_str(), ver.as_str()), (appid.as_str(), "2"));
    assert_eq!(get(&n, &format!("/tpt/{appid}")).1, v2.as_bytes());

    // Released, version 1 is what visitors get; :last still shows the newest.
    let out = ok(&leither(
        &n.home,
        &["lapp", "release", "-a", "hello", "-v", "1"],
    ));
    assert_eq!(out, "ReleaseApp ver= 1\n");
    assert_eq!(get(&n, &format!("/tpt/{appid}")).1, v1.as_bytes());
    assert_eq!(get(&n, &format!("/tpt/{appid}:last/")).1, v2.as_bytes());

    let show = ok(&leither(&n.home, &["lapp", "showapp", "-a", "hello"]));
    assert!(show.starts_with(&format!("appid= {appid}\n")), "{show}");
    assert!(
        show.contains("Ext     : app\n") && show.contains("Mark    : hello\n"),
        "{show}"
    );
    assert!(
        show.contains("\n1        Qm") && show.contains("\n2        Qm"),
        "{show}"
    );
    assert!(
        show.contains("\nlast     2\nrelease  1\n") && show.ends_with("mimei show ok\n"),
        "{show}"
    );
    // By ID, the same app.
    let by_id = ok(&leither(&n.home, &["lapp", "showapp", "-a", &appid]));
    assert_eq!(by_id, show);

    let out = ok(&leither(&n.home, &["lapp", "delvers", "-a", "hello", "2"]));
    assert_eq!(out, "DelAppVers ok 2\n");
    let show = ok(&leither(&n.home, &["lapp", "showapp", "-a", "hello"]));
    assert!(!show.contains("\n2        Qm"), "{show}");
    assert!(show.contains("\n1        Qm"), "{show}");

    // restore puts version 1 back in cur; backup makes it the next version (numbers are never
    // reused, so 3), which visitors get once released.
    let out = ok(&leither(
        &n.home,
        &["lapp", "restore", "-a", "hello", "-v", "1"],
    ));
    assert_eq!(out, "RestoreApp ver= 1\n");
    let out = ok(&leither(&n.home, &["lapp", "backup", "-a", &appid]));
    assert_eq!(out, "BackupApp ver= 3\n");
    let (status, head) = curl(&["-I", &format!("{}/tpt/{appid}/", n.url)]);
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}", v1.len())),
        "{head}"
    );

    // A Mimei whose default app is this one opens with the app's index.html.
    let out = ok(&leither(
        &n.home,
        &["mimei", "create", "-a", &appid, "-m", "a page"],
    ));
    let mid = line_value(&out, "mid= ").to_string();
    for p in [format!("/mm/{mid}"), format!("/mm/{mid}/")] {
        let (status, body) = get(&n, &p);
        assert_eq!(status, 200, "{p}: {}", String::from_utf8_lossy(&body));
        assert_eq!(body, v1.as_bytes(), "{p}");
    }
}

#[test]
fn refusals() {
    let n = TestNode::start();
    let dir = common::fresh_home().join("nolever");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "x").unwrap();
    let d = dir.to_str().unwrap();
    // A Leither app is any folder (Leither's `lapp uploadapp`): it uploads and is served.
    let (appid, ver) = upload(&n, &dir);
    assert_eq!(ver, "1");
    let (status, body) = get(&n, &format!("/tpt/{appid}/"));
    assert_eq!((status, body.as_slice()), (200, b"x".as_slice()));
    // A Lever service needs its lever.json.
    let e = fails(&leither(&n.home, &["lever", "deploy", d]));
    assert!(e.contains("has no lever.json"), "{e}");
    std::fs::write(dir.join("lever.json"), "[\"not\", \"an object\"]").unwrap();
    let e = fails(&leither(&n.home, &["lapp", "uploadapp", "-i", d]));
    assert!(e.contains("not an object"), "{e}");

    // An unknown name is refused, and asking did not create the app.
    for _ in 0..2 {
        let e = fails(&leither(&n.home, &["lapp", "showapp", "-a", "nosuch"]));
        assert!(
            e.contains("no app named nosuch on this node; upload it with `lapp uploadapp -i DIR`"),
            "{e}"
        );
    }
    let e = fails(&leither(
        &n.home,
        &["lapp", "release", "-a", "nosuch", "-v", "1"],
    ));
    assert!(e.contains("no app named nosuch"), "{e}");

    // An ID that is no app here: 404 with what to do.
    let hostid = ok(&leither(&n.home, &["lpki", "id"])).trim().to_string();
    let (status, body) = get(&n, &format!("/tpt/{hostid}"));
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("\"error\"") && body.contains("lapp uploadapp"),
        "{body}"
    );
    let (status, _) = get(&n, "/tpt/");
    assert_eq!(status, 404);
}
