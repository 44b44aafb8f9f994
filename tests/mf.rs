//! Leither's file functions from outside, over the JSON API of a real node: the calls of
//! Leither's `example/rpc/files/files.go` in its order, temporary files (their bounds, and
//! that another session never sees them), objects, `MFGetMimeType`, and the shapes of
//! `MFStat`/`MFReaddir` (Leither's `FileInfo`) and `FilesLs`/`FilesStat`.

#![cfg(feature = "files")]

mod common;

use common::{TestNode, curl};
use leither::api::Value;
use leither::api::json::{JsonLimits, decode};
use leither::pki::{NodeKey, Pass};

fn call(n: &TestNode, f: &str, args: Vec<Value>) -> (u16, Value) {
    let mut body = String::new();
    leither::api::json::encode(&Value::List(args), &mut body);
    let (s, b) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &body,
        &format!("{}/api/{f}", n.url),
    ]);
    let v = decode(&b, &JsonLimits::DEFAULT)
        .unwrap_or_else(|_| Value::Str(String::from_utf8_lossy(&b).into_owned()));
    (s, v)
}

fn ok(n: &TestNode, f: &str, args: Vec<Value>) -> Value {
    let (s, v) = call(n, f, args);
    assert_eq!(s, 200, "{f}: {v:?}");
    v
}

/// The error text of a refused call, with its status.
fn err(n: &TestNode, f: &str, args: Vec<Value>) -> (u16, String) {
    let (s, v) = call(n, f, args);
    assert_ne!(s, 200, "{f} should fail: {v:?}");
    let text = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    (s, text)
}

fn s(t: &str) -> Value {
    Value::from(t)
}

fn login(n: &TestNode, key: Option<&NodeKey>) -> Value {
    let args = match key {
        None => vec![],
        Some(k) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            vec![Value::Str(
                Pass::sign(k, vec![], now, 600).unwrap().to_text(),
            )]
        }
    };
    ok(n, "Login", args).get("sid").cloned().unwrap()
}

/// JSON carries bytes as base64url.
fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Str(t) => leither::pki::encoding::base64url_decode(t).unwrap(),
        other => panic!("not bytes: {other:?}"),
    }
}

#[test]
fn example_rpc_files_go_runs_in_order() {
    let n = TestNode::start();
    let owner_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let sid = login(&n, Some(&owner_key));
    let test_file = s("/testfiles.txt");
    let test_dir = s("/testdir/");
    let t = Value::Bool(true);
    let f = Value::Bool(false);

    // files.go only prints this error (the file is not there yet).
    let (code, text) = err(
        &n,
        "FilesRm",
        vec![sid.clone(), test_file.clone(), f.clone(), t.clone()],
    );
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("no link named"), "{text}");

    let fsid = ok(&n, "MFOpenTempFile", vec![sid.clone()]);
    let count = ok(
        &n,
        "MFSetData",
        vec![fsid.clone(), s("hello world"), Value::Int(0)],
    );
    assert_eq!(count, Value::Int(11));
    let ipfsid = ok(&n, "MFTemp2Files", vec![fsid.clone(), test_file.clone()]);
    // kubo: `echo -n "hello world" | ipfs add`.
    assert_eq!(ipfsid, s("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"));
    // A second copy to the same name is refused, as files.go expects ("重名").
    let (_, text) = err(&n, "MFTemp2Files", vec![fsid.clone(), test_file.clone()]);
    assert!(text.contains("already exists"), "{text}");

    // files.go: stub.MMOpenUrl(sid, testFile). MMOpenUrl is written by the MM functions' side;
    // this branch reaches the same opener (fns_mimei_fs::open_url_read) through
    // MFOpenByPath with the empty mid.
    let fsid2 = ok(
        &n,
        "MFOpenByPath",
        vec![sid.clone(), s(""), test_file.clone(), Value::Int(0)],
    );
    let data = ok(
        &n,
        "MFGetData",
        vec![fsid2.clone(), Value::Int(0), Value::Int(100)],
    );
    assert_eq!(bytes(&data), b"hello world");

    match call(&n, "FilesStat", vec![sid.clone(), test_dir.clone()]) {
        (200, _) => {
            ok(
                &n,
                "FilesRm",
                vec![sid.clone(), test_dir.clone(), t.clone(), t.clone()],
            );
        }
        (_, v) => {
            let text = v.get("error").and_then(Value::as_str).unwrap_or_default();
            assert!(text.contains("no link named"), "{text}");
            // The whole IPFS sentence: the name and the directory it is missing from.
            assert!(
                text.starts_with("no link named \"testdir\" under Qm"),
                "{text}"
            );
        }
    }
    ok(
        &n,
        "FilesMkdir",
        vec![sid.clone(), test_dir.clone(), t.clone()],
    );
    let st = ok(&n, "FilesStat", vec![sid.clone(), test_dir.clone()]);
    assert_eq!(st.get("type"), Some(&s("directory")));
    assert_eq!(
        st.get("hash"),
        Some(&s("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"))
    );
    for k in [
        "size",
        "cumulativeSize",
        "blocks",
        "withLocality",
        "local",
        "sizeLocal",
    ] {
        assert!(st.get(k).is_some(), "StatInfo lacks {k}: {st:?}");
    }

    let Value::List(links) = ok(&n, "FilesLs", vec![sid.clone(), s("/")]) else {
        panic!("FilesLs gives a list")
    };
    assert_eq!(links.len(), 2, "{links:?}");
    let names: Vec<_> = links
        .iter()
        .map(|l| (l.get("name").cloned(), l.get("type").cloned()))
        .collect();
    assert_eq!(
        names,
        [
            (Some(s("testdir")), Some(Value::Int(1))),
            (Some(s("testfiles.txt")), Some(Value::Int(0))),
        ]
    );
    assert_eq!(links[1].get("hash"), Some(&ipfsid));
    assert_eq!(links[1].get("size"), Some(&Value::Int(11)));
    assert_eq!(links[1].get("target"), Some(&s("")));

    ok(&n, "FilesRm", vec![sid.clone(), test_file.clone(), f, t]);
    ok(&n, "MMClose", vec![fsid2]);
    ok(&n, "MMClose", vec![fsid.clone()]);
    let (code, _) = err(&n, "MFGetSize", vec![fsid]);
    assert_eq!(code, 404, "a closed handle is gone");
    // The other spellings of an MFS path.
    ok(
        &n,
        "FilesMkdir",
        vec![sid.clone(), s("files://a"), Value::Bool(true)],
    );
    ok(&n, "FilesStat", vec![sid.clone(), s("files/a")]);
    ok(&n, "Logout", vec![sid]);
}

#[test]
fn temp_files_are_private_bounded_and_end_with_their_session() {
    let n = TestNode::start();
    let owner_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let owner = login(&n, Some(&owner_key));
    let user_key = NodeKey::generate().unwrap();
    common::admit(&n.home, &user_key.id().to_string());
    let user = login(&n, Some(&user_key));
    let guest = login(&n, None);

    // A guest may not hold temporary files (they are for storing, which guests may not).
    let (code, _) = err(&n, "MFOpenTempFile", vec![guest.clone()]);
    assert_eq!(code, 403);
    let (code, _) = err(&n, "MFOpenTempFile", vec![s("")]);
    assert_eq!(code, 403);

    let mine = ok(&n, "MFOpenTempFile", vec![owner.clone()]);
    ok(
        &n,
        "MFSetData",
        vec![mine.clone(), s("secret"), Value::Int(0)],
    );
    // -1 appends (Leither's "end of file").
    ok(&n, "MFSetData", vec![mine.clone(), s("!"), Value::Int(-1)]);
    assert_eq!(
        bytes(&ok(
            &n,
            "MFGetData",
            vec![mine.clone(), Value::Int(0), Value::Int(-1)]
        )),
        b"secret!"
    );
    assert_eq!(ok(&n, "MFGetSize", vec![mine.clone()]), Value::Int(7));
    let st = ok(&n, "MFStat", vec![mine.clone()]);
    assert_eq!(st.get("fSize"), Some(&Value::Int(7)));
    assert_eq!(st.get("fIsDir"), Some(&Value::Bool(false)));
    let time = st.get("fModTime").and_then(Value::as_str).unwrap();
    assert!(
        time.len() == 20 && time.ends_with('Z') && time.starts_with("20"),
        "{time}"
    );

    // Another session's temporary file starts empty and is its own.
    let theirs = ok(&n, "MFOpenTempFile", vec![user.clone()]);
    assert_ne!(theirs, mine);
    assert_eq!(ok(&n, "MFGetSize", vec![theirs.clone()]), Value::Int(0));
    // Its user may not put it in the MFS (the owner's), nor into a Mimei it cannot write.
    let (code, text) = err(&n, "MFTemp2Files", vec![theirs.clone(), s("/x")]);
    assert_eq!(code, 403, "{text}");
    let mid = ok(
        &n,
        "MMCreate",
        vec![owner.clone(), s(""), s(""), s("mf-test"), s("file")],
    );
    let (code, text) = err(&n, "MFTemp2MacFile", vec![theirs.clone(), mid.clone()]);
    assert_eq!(code, 403, "{text}");
    // A user may store it as a pinned IPFS file.
    ok(
        &n,
        "MFSetData",
        vec![theirs.clone(), s("hello world"), Value::Int(0)],
    );
    assert_eq!(
        ok(&n, "MFTemp2Ipfs", vec![theirs.clone(), s("")]),
        s("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD")
    );

    // The per-session bound: 8 open temporary files.
    let mut extra = Vec::new();
    for _ in 1..8 {
        extra.push(ok(&n, "MFOpenTempFile", vec![user.clone()]));
    }
    let (code, text) = err(&n, "MFOpenTempFile", vec![user.clone()]);
    assert!(
        code == 503 && text.contains("temporary files"),
        "{code} {text}"
    );
    ok(&n, "MFClose", vec![extra.pop().unwrap()]);
    ok(&n, "MFOpenTempFile", vec![user.clone()]);
    // A file stays under 16 MiB.
    let (code, text) = err(&n, "MFTruncate", vec![theirs.clone(), Value::Int(17 << 20)]);
    assert_eq!(code, 400, "{text}");
    let (code, text) = err(
        &n,
        "MFSetData",
        vec![theirs.clone(), s("x"), Value::Int(16 << 20)],
    );
    assert!(code == 400 || code == 503, "{code} {text}");

    // The session ends: its temporary files go with it.
    ok(&n, "Logout", vec![user]);
    let (code, _) = err(&n, "MFGetData", vec![theirs]);
    assert_eq!(code, 401);
    assert_eq!(ok(&n, "MFGetSize", vec![mine]), Value::Int(7));

    // Local files of the node are not served.
    let (code, text) = err(&n, "MFPath2TempID", vec![owner, s("hostkey.cfg")]);
    assert!(code == 501 && text.contains("local files"), "{code} {text}");
}

#[test]
fn objects_mime_types_and_file_info_of_a_mimei() {
    let n = TestNode::start();
    let owner_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let owner = login(&n, Some(&owner_key));
    let mid = ok(
        &n,
        "MMCreate",
        vec![owner.clone(), s(""), s(""), s("site"), s("file")],
    );
    // O_RDWR|O_CREATE makes files in cur.
    let page = ok(
        &n,
        "MFOpenByPath",
        vec![
            owner.clone(),
            mid.clone(),
            s("web/index.html"),
            Value::Int(0x42),
        ],
    );
    ok(&n, "MFSetData", vec![page.clone(), s("<html></html>")]);
    assert_eq!(
        ok(&n, "MFGetMimeType", vec![page.clone()]),
        s("text/html; charset=utf-8")
    );
    let obj = ok(
        &n,
        "MFOpenByPath",
        vec![owner.clone(), mid.clone(), s("web/state"), Value::Int(0x42)],
    );
    let value = Value::map([
        ("n", Value::Int(7)),
        (
            "list",
            Value::List(vec![s("a"), Value::Bool(true), Value::Null]),
        ),
    ]);
    ok(&n, "MFSetObject", vec![obj.clone(), value.clone()]);
    assert_eq!(ok(&n, "MFGetObject", vec![obj.clone()]), value);
    // Sniffed from the content when the name says nothing.
    let png = ok(&n, "MFOpenTempFile", vec![owner.clone()]);
    ok(&n, "MFSetData", vec![png.clone(), s("\u{89}PNG")]);
    let got = ok(&n, "MFGetMimeType", vec![png]);
    assert!(
        got == s("image/png") || got == s("text/plain; charset=utf-8"),
        "{got:?}"
    );

    let dir = ok(
        &n,
        "MFOpenByPath",
        vec![owner.clone(), mid.clone(), s("/web"), Value::Int(0)],
    );
    let st = ok(&n, "MFStat", vec![dir.clone()]);
    assert_eq!(st.get("fName"), Some(&s("web")));
    assert_eq!(st.get("fIsDir"), Some(&Value::Bool(true)));
    assert_eq!(st.get("fMode"), Some(&Value::Int((1 << 31) | 0o755)));
    assert_eq!(st.get("fModTime"), Some(&s("0001-01-01T00:00:00Z")));
    let Value::List(all) = ok(&n, "MFReaddir", vec![dir.clone(), Value::Int(-1)]) else {
        panic!("MFReaddir gives a list")
    };
    let names: Vec<_> = all.iter().filter_map(|i| i.get("fName").cloned()).collect();
    assert_eq!(names, [s("index.html"), s("state")]);
    assert_eq!(all[0].get("fSize"), Some(&Value::Int(13)));
    assert_eq!(all[0].get("fMode"), Some(&Value::Int(0o644)));
    let fid = all[0].get("fID").cloned().unwrap();
    let Value::List(one) = ok(&n, "MFReaddir", vec![dir.clone(), Value::Int(1)]) else {
        panic!("MFReaddir gives a list")
    };
    assert_eq!(one.len(), 1);
    assert_eq!(
        ok(&n, "MFIsExist", vec![dir.clone(), s("index.html")]),
        Value::Bool(true)
    );
    assert_eq!(
        ok(&n, "MFIsExist", vec![dir.clone(), fid]),
        Value::Bool(true)
    );
    assert_eq!(
        ok(&n, "MFIsExist", vec![dir.clone(), s("nope")]),
        Value::Bool(false)
    );
    // A directory handle is read-only; writes say why.
    let (code, text) = err(&n, "MFSetData", vec![dir, s("x")]);
    assert!(
        code == 409 && text.contains("opened for reading"),
        "{code} {text}"
    );

    // An mmsid is an fsid of its Mimei's root (example/rpc/mfile: MFReaddir(mmsid, -1)).
    let mm = ok(&n, "MMOpen", vec![owner.clone(), mid.clone(), s("cur")]);
    let Value::List(root) = ok(&n, "MFReaddir", vec![mm, Value::Int(-1)]) else {
        panic!("MFReaddir gives a list")
    };
    assert_eq!(root.len(), 1);
    assert_eq!(root[0].get("fIsDir"), Some(&Value::Bool(true)));

    // Someone without rights on the Mimei cannot open it; a guest cannot write.
    let guest = login(&n, None);
    let (code, text) = err(
        &n,
        "MFOpenByPath",
        vec![
            guest.clone(),
            mid.clone(),
            s("web/index.html"),
            Value::Int(0),
        ],
    );
    assert_eq!(code, 403, "{text}");
    let (code, text) = err(
        &n,
        "MFOpenByPath",
        vec![guest.clone(), mid, s("web/x"), Value::Int(0x42)],
    );
    assert_eq!(code, 403, "{text}");
    // Nor read the node's MFS (a user's), though IPFS paths are open to any session.
    let (code, _) = err(
        &n,
        "MFOpenByPath",
        vec![guest.clone(), s(""), s("/"), Value::Int(0)],
    );
    assert_eq!(code, 403);
    let Value::Str(root) = ok(&n, "FilesFlush", vec![owner, s("/")]) else {
        panic!("FilesFlush gives a CID")
    };
    let h = ok(
        &n,
        "MFOpenByPath",
        vec![guest, s(""), s(&format!("/ipfs/{root}")), Value::Int(0)],
    );
    assert_eq!(ok(&n, "MFReaddir", vec![h]), Value::List(vec![]));
}

/// `GET /mf/<path>?mmsid=`: the file of an open Mimei over plain HTTP, as a page shows an
/// image of a Mimei it opened through the API. The mmsid is the capability.
#[test]
fn mf_route_streams_a_file_of_an_open_mimei() {
    let n = TestNode::start();
    let owner_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let owner = login(&n, Some(&owner_key));
    let mid = ok(
        &n,
        "MMCreate",
        vec![owner.clone(), s(""), s(""), s("pics"), s("file")],
    );
    let f = ok(
        &n,
        "MFOpenByPath",
        vec![owner.clone(), mid.clone(), s("img/a.png"), Value::Int(0x42)],
    );
    let png = "\u{89}PNG\r\n\u{1a}\nsome image bytes";
    ok(&n, "MFSetData", vec![f, s(png)]);
    let mm = ok(&n, "MMOpen", vec![owner.clone(), mid.clone(), s("cur")]);
    let mmsid = mm.as_str().unwrap().to_string();
    let url = |p: &str, q: &str| format!("{}/mf/{p}?mmsid={q}", n.url);

    // The bytes of the file, with a content type from its name.
    let out = std::process::Command::new("curl")
        .args(["-s", "-D", "-", &url("img/a.png", &mmsid)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(text.contains("content-type: image/png"), "{text}");
    let (code, body) = curl(&[&url("img/a.png", &mmsid)]);
    assert_eq!(code, 200);
    assert_eq!(body, png.as_bytes());
    // Ranges, as the gateway gives them.
    let (code, body) = curl(&["-r", "1-3", &url("img/a.png", &mmsid)]);
    assert_eq!(code, 206);
    assert_eq!(body, &png.as_bytes()[1..4]);
    // A version handle serves that version.
    ok(&n, "MMBackup", vec![owner.clone(), mid.clone(), s("v1")]);
    let v1 = ok(&n, "MMOpen", vec![owner.clone(), mid.clone(), s("last")]);
    let (code, body) = curl(&[&url("img/a.png", v1.as_str().unwrap())]);
    assert_eq!((code, body.as_slice()), (200, png.as_bytes()));

    // Missing paths, escapes, absent and unknown handles: clear JSON errors.
    let (code, body) = curl(&[&url("img/nope.png", &mmsid)]);
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));
    let (code, _) = curl(&[&url("../x", &mmsid)]);
    assert!(code == 400 || code == 404, "{code}");
    let (code, body) = curl(&[&format!("{}/mf/img/a.png", n.url)]);
    assert_eq!(code, 401);
    let v = decode(&body, &JsonLimits::DEFAULT).unwrap();
    assert!(
        v.get("error")
            .and_then(Value::as_str)
            .unwrap()
            .contains("mmsid"),
        "{v:?}"
    );
    let (code, _) = curl(&[&url("img/a.png", "nosuchhandle")]);
    assert_eq!(code, 404);

    // A closed handle is refused.
    ok(&n, "MMClose", vec![mm]);
    let (code, _) = curl(&[&url("img/a.png", &mmsid)]);
    assert_eq!(code, 404);
    // A handle dies with its session.
    let again = ok(&n, "MMOpen", vec![owner.clone(), mid, s("cur")]);
    ok(&n, "Logout", vec![owner]);
    let (code, _) = curl(&[&url("img/a.png", again.as_str().unwrap())]);
    assert!(code == 401 || code == 404, "{code}");
}
