//! One test per attack on what belongs to the owner (issue #15, "Trust nobody by default",
//! "anyone can take what is not theirs"), named after the attack: a guest or another user
//! reaching the owner's pins, domains and provider records, a service's secrets, or a removed
//! service's database. Each would pass on a node without the check. The other user is an account registered on the node (an admitted user), so the
//! refusals come from rights on the thing, not from admission.

mod common;

use common::{TestNode, curl};
use leither::pki::{NodeKey, Pass};

fn api(n: &TestNode, f: &str, body: &str) -> (u16, String) {
    let (s, b) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        body,
        &format!("{}/api/{f}", n.url),
    ]);
    (s, String::from_utf8_lossy(&b).to_string())
}

fn ok(n: &TestNode, f: &str, body: &str) -> String {
    let (s, b) = api(n, f, body);
    assert_eq!(s, 200, "{f} {body}: {b}");
    b
}

fn unquote(b: &str) -> String {
    b.trim().trim_matches('"').to_string()
}

fn sid_of(b: &str) -> String {
    b.split("\"sid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no sid in {b}"))
        .to_string()
}

/// The owner's session and an admitted user's (a registered account).
fn owner_and_user(n: &TestNode) -> (String, String) {
    let key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let pass = Pass::sign(&key, vec![], leither::clock::unix_now(), 600)
        .unwrap()
        .to_text();
    let owner = sid_of(&ok(n, "Login", &format!("[\"{pass}\"]")));
    ok(n, "Register", r#"["mallory","secret-pw"]"#);
    let user = sid_of(&ok(n, "Login", r#"["mallory","secret-pw","byname"]"#));
    (owner, user)
}

fn mimei(n: &TestNode, sid: &str, mark: &str) -> String {
    unquote(&ok(
        n,
        "MMCreate",
        &format!("[\"{sid}\",\"\",\"\",\"{mark}\",1,0]"),
    ))
}

#[test]
fn a_guest_lists_the_owners_pins() {
    let n = TestNode::start();
    let (owner, _) = owner_and_user(&n);
    ok(&n, "IpfsAdd", &format!("[\"{owner}\",\"private notes\"]"));
    let (s, b) = api(&n, "IpfsPinLs", "[\"\"]");
    assert_eq!(s, 403, "{b}");
    assert!(ok(&n, "IpfsPinLs", &format!("[\"{owner}\"]")).contains("cid"));
}

#[test]
fn a_user_unpins_the_owners_content() {
    let n = TestNode::start();
    let (owner, user) = owner_and_user(&n);
    let added = ok(&n, "IpfsAdd", &format!("[\"{owner}\",\"keep me\"]"));
    let cid = added
        .split("\"cid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let (s, b) = api(&n, "IpfsPinRm", &format!("[\"{user}\",\"{cid}\"]"));
    assert_eq!(s, 403, "{b}");
    assert!(ok(&n, "IpfsPinLs", &format!("[\"{owner}\"]")).contains(&cid));
}

#[test]
fn a_user_binds_localhost_to_replace_the_dashboard() {
    let n = TestNode::start();
    let (_, user) = owner_and_user(&n);
    let mine = mimei(&n, &user, "fake-dashboard");
    for d in ["localhost", "admin.localhost"] {
        let (s, b) = api(
            &n,
            "MiMeiSetDomain",
            &format!("[\"{user}\",\"{mine}\",\"{d}\"]"),
        );
        assert_eq!(s, 403, "{d}: {b}");
    }
}

#[test]
fn a_user_takes_a_domain_the_owner_bound() {
    let n = TestNode::start();
    let (owner, user) = owner_and_user(&n);
    let shop = mimei(&n, &owner, "shop");
    let theirs = mimei(&n, &user, "fake-shop");
    ok(
        &n,
        "MiMeiSetDomain",
        &format!("[\"{owner}\",\"{shop}\",\"shop.test\"]"),
    );
    let (s, b) = api(
        &n,
        "MiMeiSetDomain",
        &format!("[\"{user}\",\"{theirs}\",\"shop.test\"]"),
    );
    assert!(s == 403 || s == 409, "{s} {b}");
    assert!(b.contains("shop.test"), "{b}");
    let status = ok(&n, "DnnStatus", &format!("[\"{owner}\"]"));
    assert!(
        status.contains(&shop),
        "the owner's binding stays: {status}"
    );
}

#[cfg(feature = "net")]
#[test]
fn a_user_unprovides_the_owners_mimei() {
    let n = TestNode::start();
    let (owner, user) = owner_and_user(&n);
    let mid = mimei(&n, &owner, "provided");
    ok(&n, "MiMeiProvide", &format!("[\"{owner}\",\"{mid}\"]"));
    for f in ["MiMeiUnprovide", "MiMeiProvide"] {
        let (s, b) = api(&n, f, &format!("[\"{user}\",\"{mid}\"]"));
        assert_eq!(s, 403, "{f}: {b}");
    }
    ok(&n, "MiMeiUnprovide", &format!("[\"{owner}\",\"{mid}\"]"));
}

/// Deploys `tests/apps/NAME` as the owner into `dev.lever`; returns the app's ID.
#[cfg(feature = "lever")]
fn deploy_owner_app(n: &TestNode, name: &str) -> String {
    let dir = common::repo_root().join("tests/apps").join(name);
    let out = common::ok(&common::leither(
        &n.home,
        &[
            "lever",
            "deploy",
            dir.to_str().unwrap(),
            "--env",
            "dev.lever",
        ],
    ));
    out.trim()
        .rsplit("(app ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_string()
}

/// `/entry` runs an app's method inside the app's environment, where private services
/// answer; a private app must not be callable that way by a visitor with no login.
#[cfg(feature = "lever")]
#[test]
fn a_guest_calls_a_private_app_through_entry() {
    let n = TestNode::start();
    let (owner, _) = owner_and_user(&n);
    let aid = deploy_owner_app(&n, "secret");
    let url = format!("{}/entry?aid={aid}&entry=whisper", n.url);
    let (s, b) = curl(&[&url]);
    let b = String::from_utf8_lossy(&b);
    assert_eq!(s, 403, "{b}");
    assert!(b.contains("private"), "{b}");
    // The owner (who may write the app) still reaches it: the method runs (it wants a string,
    // /entry hands it a table, so the app's own Lua error comes back).
    let (s, b) = curl(&[&format!("{url}&sid={owner}")]);
    let b = String::from_utf8_lossy(&b);
    assert!(s != 403 && b.contains("main.lua"), "{s} {b}");
}

/// A user deploying into the owner's environment (or into an app's own `<appid>.app`, where
/// `/entry` runs it) would hijack what the owner serves there.
#[cfg(feature = "lever")]
#[test]
fn a_user_deploys_into_the_owners_environment() {
    let n = TestNode::start();
    let (_, user) = owner_and_user(&n);
    let hello = common::repo_root().join("tests/apps/hello");
    let owner_app = deploy_owner_app(&n, "hello");
    // The user's own app Mimei with the same code (the blocks are on the node already).
    let added = common::ok(&common::leither(
        &n.home,
        &["ipfs", "add", "-r", hello.to_str().unwrap()],
    ));
    let cid = added
        .lines()
        .find_map(|l| l.strip_prefix("ipfs add ok /ipfs/"))
        .unwrap()
        .trim()
        .to_string();
    let mine = mimei(&n, &user, "my-hello");
    ok(
        &n,
        "MFSetCid",
        &format!("[\"{user}\",\"{mine}\",\"{cid}\"]"),
    );
    ok(&n, "MMBackup", &format!("[\"{user}\",\"{mine}\",\"\"]"));
    for env in ["dev.lever".to_string(), format!("{owner_app}.app")] {
        let (s, b) = api(
            &n,
            "LeverDeploy",
            &format!("[\"{user}\",\"{env}\",\"{mine}\"]"),
        );
        assert!(s == 409 || s == 403, "{env}: {s} {b}");
        assert!(b.contains("environment"), "{env}: {b}");
    }
    // The owner's service still answers as deployed, and the user's own environment works.
    ok(
        &n,
        "LeverDeploy",
        &format!("[\"{user}\",\"mine.lever\",\"{mine}\"]"),
    );
}

/// Calls `/SERVICE/METHOD` of `dev.lever` with the JSON array `args`, as a guest.
#[cfg(feature = "lever")]
fn invoke(n: &TestNode, path: &str, args: &str) -> (u16, String) {
    let (s, b) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        args,
        &format!("{}{path}?forceenv=dev.lever", n.url),
    ]);
    (s, String::from_utf8_lossy(&b).to_string())
}

/// Every `"cid":"..."` of a JSON answer.
#[cfg(feature = "lever")]
fn cids(b: &str) -> Vec<String> {
    b.split("\"cid\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// A service's `env` (its secrets) was part of `lever.json` inside the app Mimei, so whoever
/// may read the app (everyone, for an uploaded app) read them through every door that serves
/// the app's files; a node syncing the app got them too (the app's blocks, `/ipfs/`).
#[cfg(feature = "lever")]
#[test]
fn a_guest_reads_a_services_env_secrets() {
    let n = TestNode::start();
    let (owner, user) = owner_and_user(&n);
    let aid = deploy_owner_app(&n, "vault");
    // The code still gets its env.
    assert_eq!(invoke(&n, "/vault/pass", "[]"), (200, "\"s3cret\"".into()));
    let info = ok(&n, "GetVar", &format!("[\"{owner}\",\"mminfo\",\"{aid}\"]"));
    let roots = cids(&info);
    assert!(!roots.is_empty(), "{info}");
    for (who, sid) in [("a guest", ""), ("another user", user.as_str())] {
        let q = if sid.is_empty() {
            String::new()
        } else {
            format!("?sid={sid}")
        };
        let mut paths = vec![
            format!("/tpt/{aid}/lever.json{q}"),
            format!("/tpt/{aid}:last/lever.json{q}"),
            format!("/mm/{aid}/lever.json{q}"),
        ];
        paths.extend(roots.iter().map(|r| format!("/ipfs/{r}/lever.json")));
        for p in paths {
            let (s, b) = curl(&[&format!("{}{p}", n.url)]);
            let b = String::from_utf8_lossy(&b);
            assert_eq!(s, 200, "{who}: {p}: {b}");
            assert!(b.contains("vault"), "{who}: {p}: {b}");
            assert!(!b.contains("s3cret"), "{who} read the secret at {p}: {b}");
        }
        let fsid = unquote(&ok(
            &n,
            "MFOpenByPath",
            &format!("[\"{sid}\",\"{aid}\",\"lever.json\",0]"),
        ));
        let data = unquote(&ok(&n, "MFGetData", &format!("[\"{fsid}\",0,-1]")));
        let text = leither::pki::encoding::base64url_decode(&data).unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(text.contains("vault"), "{who}: {text}");
        assert!(
            !text.contains("s3cret"),
            "{who} read the secret by MFGetData: {text}"
        );
    }
    // The owner's listing shows the variable's name, never its value.
    let ls = ok(&n, "LeverLs", &format!("[\"{owner}\"]"));
    assert!(ls.contains("PASS") && !ls.contains("s3cret"), "{ls}");
    let ls = ok(&n, "LeverLs", "[\"\"]");
    assert!(!ls.contains("PASS") && !ls.contains("s3cret"), "{ls}");
}

/// `lever rm` left the service's database behind under a name the next deploy of the same
/// environment and service gets again: a redeploy (by the owner, or by whoever may deploy
/// there) read and wrote the removed service's data.
#[cfg(feature = "lever")]
#[test]
fn a_redeploy_after_rm_gets_a_fresh_database() {
    let n = TestNode::start();
    deploy_owner_app(&n, "vault");
    assert_eq!(invoke(&n, "/vault/put", "[\"hello\"]").0, 200);
    assert_eq!(invoke(&n, "/vault/get", "[]"), (200, "\"hello\"".into()));
    common::ok(&common::leither(&n.home, &["lever", "rm", "vault"]));
    deploy_owner_app(&n, "vault");
    let (s, b) = invoke(&n, "/vault/get", "[]");
    assert_eq!(s, 200, "{b}");
    assert!(
        !b.contains("hello"),
        "the new service got the removed one's data: {b}"
    );
    // And it works as a database of its own.
    assert_eq!(invoke(&n, "/vault/put", "[\"again\"]").0, 200);
    assert_eq!(invoke(&n, "/vault/get", "[]"), (200, "\"again\"".into()));
}

/// A handle on a service's database outlived `lever rm`: whoever held it (the node's own
/// handle, or one the owner opened) kept reading and writing the removed service's data.
#[cfg(feature = "lever")]
#[test]
fn a_handle_left_by_lever_rm_is_dead() {
    let n = TestNode::start();
    let (owner, _) = owner_and_user(&n);
    let aid = deploy_owner_app(&n, "vault");
    assert_eq!(invoke(&n, "/vault/put", "[\"hello\"]").0, 200);
    let ls = ok(&n, "LeverLs", &format!("[\"{owner}\"]"));
    // The owner sees the service's database; a node that did not show it named it by mark.
    let db = ls
        .split("\"db\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let host = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap().id();
            leither::mimei::id::derive(
                &host,
                Some(&aid.parse().unwrap()),
                leither::mimei::MimeiType::Db,
                "lever-db:dev.lever/vault",
                None,
            )
            .unwrap()
            .to_string()
        });
    let mmsid = unquote(&ok(
        &n,
        "MMOpen",
        &format!("[\"{owner}\",\"{db}\",\"cur\"]"),
    ));
    assert_eq!(
        ok(&n, "Get", &format!("[\"{mmsid}\",\"k\"]")).trim(),
        "\"hello\""
    );
    common::ok(&common::leither(&n.home, &["lever", "rm", "vault"]));
    for (f, args) in [("Get", "\"k\""), ("Set", "\"k\",\"x\"")] {
        let (s, b) = api(&n, f, &format!("[\"{mmsid}\",{args}]"));
        assert_eq!(s, 404, "{f} through a handle left by lever rm: {b}");
    }
}

// --- Blocks by CID (docs/security.md): a private Mimei's blocks go only to its readers. ---

/// What a JSON answer holds after `"key":"`, the `nth` time (0 = first).
fn field(b: &str, key: &str, nth: usize) -> String {
    b.split(&format!("\"{key}\":\""))
        .nth(nth + 1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no {key} #{nth} in {b}"))
        .to_string()
}

/// The owner's session, mallory's (an admitted user), and mallory's user ID.
fn owner_and_mallory(n: &TestNode) -> (String, String, String) {
    let (owner, user) = owner_and_user(n);
    let info = ok(n, "Login", r#"["mallory","secret-pw","byname"]"#);
    (owner, user, field(&info, "uid", 0))
}

/// A file Mimei of `sid` granting everyone `right` (0: private), holding `doc.txt` with
/// `text`, backed up as version 1. Returns its ID, the version's root and the file's CID.
fn mimei_with_doc(
    n: &TestNode,
    sid: &str,
    mark: &str,
    right: u32,
    text: &str,
) -> (String, String, String) {
    let mid = unquote(&ok(
        n,
        "MMCreate",
        &format!("[\"{sid}\",\"\",\"\",\"{mark}\",1,{right}]"),
    ));
    let fsid = unquote(&ok(
        n,
        "MFOpenByPath",
        &format!("[\"{sid}\",\"{mid}\",\"doc.txt\",66]"),
    ));
    ok(n, "MFSetData", &format!("[\"{fsid}\",\"{text}\"]"));
    ok(n, "MFClose", &format!("[\"{fsid}\"]"));
    ok(n, "MMBackup", &format!("[\"{sid}\",\"{mid}\",\"\"]"));
    let root = unquote(&ok(n, "MMSum", &format!("[\"{sid}\",\"{mid}\",\"last\"]")));
    let ls = ok(n, "IpfsLs", &format!("[\"{sid}\",\"{root}\"]"));
    (mid, root, field(&ls, "cid", 1))
}

fn get(url: &str, extra: &[&str]) -> (u16, String) {
    let mut args = extra.to_vec();
    args.push(url);
    let (s, b) = curl(&args);
    (s, String::from_utf8_lossy(&b).to_string())
}

/// The owner keeps a diary in a private Mimei; anyone who learns its CIDs (a published head
/// names the root) used to read it at /ipfs/<cid>.
#[test]
fn a_guest_reads_a_private_mimei_by_cid() {
    let n = TestNode::start();
    let (owner, mallory, mallory_id) = owner_and_mallory(&n);
    let secret = "dear diary: the code is 4711";
    let (mid, root, doc) = mimei_with_doc(&n, &owner, "diary", 0, secret);
    let urls = [
        format!("{}/ipfs/{root}", n.url),
        format!("{}/ipfs/{root}/doc.txt", n.url),
        format!("{}/ipfs/{doc}", n.url),
        format!("{}/ipfs/{doc}?format=raw", n.url),
        format!("{}/ipfs/{root}?format=car", n.url),
    ];
    for u in &urls {
        let (s, b) = get(u, &[]);
        assert_eq!(s, 403, "a guest at {u}: {b}");
        assert!(
            b.contains("private Mimei") && !b.contains(secret),
            "{u}: {b}"
        );
        // Another user of the node, who holds no right on the diary, neither.
        let (s, b) = get(u, &["-H", &format!("Authorization: Bearer {mallory}")]);
        assert_eq!(s, 403, "mallory at {u}: {b}");
    }
    let file = format!("{}/ipfs/{doc}", n.url);
    // The owner reads it; so does a user the diary grants read, and by the same rule /mm/.
    let (s, b) = get(&format!("{file}?sid={owner}"), &[]);
    assert_eq!((s, b.as_str()), (200, secret));
    // Served for the session's rights: no shared cache may keep it.
    let (_, head) = get(
        &format!("{file}?sid={owner}"),
        &["-D", "-", "-o", "/dev/null"],
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("cache-control: private, max-age"),
        "{head}"
    );
    ok(
        &n,
        "MMSetRight",
        &format!("[\"{owner}\",\"{mid}\",\"{mallory_id}\",\"read\"]"),
    );
    let (s, b) = get(&file, &["-H", &format!("Authorization: Bearer {mallory}")]);
    assert_eq!((s, b.as_str()), (200, secret));
    let (s, b) = get(&format!("{}/ipfs/{root}/doc.txt?sid={mallory}", n.url), &[]);
    assert_eq!((s, b.as_str()), (200, secret));
    let (s, _) = get(&format!("{}/mm/{mid}/doc.txt?sid={mallory}", n.url), &[]);
    assert_eq!(s, 200);
    // The owner's CLI signs in with the node key to read through the gateway.
    let cat = common::ok(&common::leither(&n.home, &["ipfs", "cat", &doc]));
    assert_eq!(cat, secret);
    // A public Mimei's blocks and a plain add are anyone's, as in IPFS.
    let (_, open_root, _) = mimei_with_doc(&n, &owner, "open", 1, "hello world");
    let (s, b) = get(&format!("{}/ipfs/{open_root}/doc.txt", n.url), &[]);
    assert_eq!((s, b.as_str()), (200, "hello world"));
    let added = ok(&n, "IpfsAdd", &format!("[\"{owner}\",\"plain words\"]"));
    let (s, b) = get(&format!("{}/ipfs/{}", n.url, field(&added, "cid", 0)), &[]);
    assert_eq!((s, b.as_str()), (200, "plain words"));
    let (_, head) = get(
        &format!("{}/ipfs/{}", n.url, field(&added, "cid", 0)),
        &["-D", "-", "-o", "/dev/null"],
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("cache-control: public, max-age"),
        "{head}"
    );
    // A stale session does not stop public content (it is looked up only when needed).
    let (s, _) = get(
        &format!("{}/ipfs/{open_root}?sid=nosuchsession", n.url),
        &[],
    );
    assert_eq!(s, 200);
    // Whoever adds the same bytes plainly makes that block public: they had them anyway.
    ok(&n, "IpfsAdd", &format!("[\"{mallory}\",\"{secret}\"]"));
    let (s, b) = get(&file, &[]);
    assert_eq!((s, b.as_str()), (200, secret));
}

/// The API functions that read IPFS by CID follow the gateway's rule.
#[test]
fn a_guest_reads_a_private_mimei_by_cid_through_the_api() {
    let n = TestNode::start();
    let (owner, mallory, _) = owner_and_mallory(&n);
    let secret = "the vault opens at dawn";
    let (_, root, doc) = mimei_with_doc(&n, &owner, "vault", 0, secret);
    let mine = mimei(&n, &mallory, "mine");
    for sid in ["", mallory.as_str()] {
        for (f, args) in [
            ("IpfsCat", format!("[\"{sid}\",\"{doc}\"]")),
            ("IpfsLs", format!("[\"{sid}\",\"{root}\"]")),
            ("IpfsLs", format!("[\"{sid}\",\"/ipfs/{root}/doc.txt\"]")),
            (
                "MFOpenByPath",
                format!("[\"{sid}\",\"\",\"/ipfs/{root}/doc.txt\",0]"),
            ),
        ] {
            let (s, b) = api(&n, f, &args);
            assert_eq!(s, 403, "{f} {args}: {b}");
            assert!(!b.contains(secret), "{b}");
        }
    }
    // Through a Mimei mallory may read, a file that is not that Mimei's.
    let (s, b) = api(
        &n,
        "MFOpenMacFile",
        &format!("[\"{mallory}\",\"{mine}\",\"{doc}\"]"),
    );
    assert_eq!(s, 403, "{b}");
    // The owner reads it (the bytes come back base64 in JSON).
    let (s, b) = api(&n, "IpfsCat", &format!("[\"{owner}\",\"{doc}\"]"));
    assert_eq!(s, 200, "{b}");
}

/// Mallory knows the diary's file CID; she builds a public folder linking it and reads the
/// file under her folder, or takes it into a Mimei of her own and reads it there.
#[test]
fn a_public_folder_links_a_private_block() {
    let n = TestNode::start();
    let (owner, mallory, _) = owner_and_mallory(&n);
    let secret = "meet me under the old oak";
    let (_, _, doc) = mimei_with_doc(&n, &owner, "letters", 0, secret);
    let entries = format!("[{{\"name\":\"stolen.txt\",\"cid\":\"{doc}\",\"tsize\":40}}]");
    let dir = field(
        &ok(&n, "IpfsMakeDir", &format!("[\"{mallory}\",{entries}]")),
        "cid",
        0,
    );
    // The folder is hers and public; what it links is not.
    let (s, _) = get(&format!("{}/ipfs/{dir}", n.url), &[]);
    assert_eq!(s, 200);
    for sid in ["", mallory.as_str()] {
        let (s, b) = get(&format!("{}/ipfs/{dir}/stolen.txt?sid={sid}", n.url), &[]);
        assert_eq!(s, 403, "{b}");
        let (s, b) = api(
            &n,
            "MFOpenByPath",
            &format!("[\"{sid}\",\"\",\"/ipfs/{dir}/stolen.txt\",0]"),
        );
        assert_eq!(s, 403, "{b}");
    }
    // Her own Mimei takes neither the file nor her folder over it, and /mm/ has nothing.
    let mine = mimei(&n, &mallory, "loot");
    for cid in [&doc, &dir] {
        let (s, b) = api(
            &n,
            "MFSetCid",
            &format!("[\"{mallory}\",\"{mine}\",\"{cid}\"]"),
        );
        assert_eq!(s, 403, "MFSetCid {cid}: {b}");
        assert!(b.contains("may not read"), "{b}");
    }
    let (s, b) = api(
        &n,
        "IpfsMakeDir",
        &format!("[\"{mallory}\",{entries},\"mid={mine}\"]"),
    );
    assert_eq!(s, 403, "{b}");
    let (s, b) = get(
        &format!("{}/mm/{mine}/stolen.txt?sid={mallory}", n.url),
        &[],
    );
    assert!(s == 404 || s == 403, "{s} {b}");
    assert!(!b.contains(secret));
}

/// A database version is a tree of blocks too: its root (`MMSum`) must not open the
/// database to whoever names it.
#[test]
fn a_guest_reads_a_private_database_version_by_cid() {
    let n = TestNode::start();
    let (owner, mallory, _) = owner_and_mallory(&n);
    let mid = unquote(&ok(
        &n,
        "MMCreate",
        &format!("[\"{owner}\",\"\",\"\",\"ledger\",2,0]"),
    ));
    let mm = unquote(&ok(
        &n,
        "MMOpen",
        &format!("[\"{owner}\",\"{mid}\",\"cur\"]"),
    ));
    ok(&n, "Set", &format!("[\"{mm}\",\"pin-code\",\"8812\"]"));
    ok(&n, "MMBackup", &format!("[\"{mm}\",\"{mid}\",\"\"]"));
    let root = unquote(&ok(
        &n,
        "MMSum",
        &format!("[\"{owner}\",\"{mid}\",\"last\"]"),
    ));
    for sid in ["", mallory.as_str()] {
        for q in ["format=raw", "format=car"] {
            let (s, b) = get(&format!("{}/ipfs/{root}?{q}&sid={sid}", n.url), &[]);
            assert_eq!(s, 403, "{q}: {b}");
            assert!(!b.contains("8812"), "{b}");
        }
    }
    let (s, b) = get(
        &format!("{}/ipfs/{root}?format=car&sid={owner}", n.url),
        &[],
    );
    assert_eq!(s, 200);
    assert!(b.contains("8812"), "the owner's CAR holds the entry");
}

/// A node that connects to ours asks for the diary's blocks over bitswap (its gateway does,
/// for a CID it lacks). A peer is the user its node key is: it gets public blocks, and a
/// private Mimei's only once that Mimei grants its node ID read.
#[cfg(feature = "net")]
#[test]
fn a_peer_fetches_a_private_mimeis_blocks_over_bitswap() {
    let net = |h: &std::path::Path| {
        common::set_system_var(h, "SwarmPort", leither::api::Value::Int(0));
    };
    let a = TestNode::start_with(net);
    let b = TestNode::start_with(net);
    let (owner_a, _) = owner_and_user(&a);
    let (owner_b, _) = owner_and_user(&b);
    let secret = "the treasure is under the third stone";
    let (mid, _, doc) = mimei_with_doc(&a, &owner_a, "map", 0, secret);
    let plain = field(
        &ok(&a, "IpfsAdd", &format!("[\"{owner_a}\",\"a postcard\"]")),
        "cid",
        0,
    );
    common::ok(&common::leither(
        &b.home,
        &["swarm", "connect", &a.swarm_addr()],
    ));
    let (s, body) = get(&format!("{}/ipfs/{plain}", b.url), &[]);
    assert_eq!((s, body.as_str()), (200, "a postcard"));
    // Even B's owner gets nothing private from A: A answers B as it answers a guest.
    let (s, body) = get(&format!("{}/ipfs/{doc}?sid={owner_b}", b.url), &[]);
    assert_ne!(s, 200, "{body}");
    assert!(!body.contains(secret), "{body}");
    // The diary grants B's node read: now A sends B its blocks.
    let b_id = NodeKey::load(&b.home.join("hostkey.cfg")).unwrap().id();
    ok(
        &a,
        "MMSetRight",
        &format!("[\"{owner_a}\",\"{mid}\",\"{b_id}\",\"read\"]"),
    );
    let (s, body) = get(&format!("{}/ipfs/{doc}?sid={owner_b}", b.url), &[]);
    assert_eq!((s, body.as_str()), (200, secret));
}
