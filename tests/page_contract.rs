//! Leither's page contract in a real browser (Debian's chromium, tests/web/page_contract.mjs):
//! the page that opens an app gives it `window.getParam()` with the provider list `ips` and
//! the chosen node `CurNode` (Leither's doc/Applition.md 1.3-1.4), `setParam()` and
//! `requestEntry()`. The app is tests/web/leither_app/, written as Applition.md's example is:
//! `p = window.getParam()`, then JSON API calls to `"http://" + p.ips[p.CurNode] + "/"`.
//!
//! - `a_leither_app_finds_its_api_node_through_the_dnn_page`: the app on a home node, opened
//!   through a DNN: it reads its `data.txt` over the API of the node the page chose, keeps a
//!   parameter with `setParam` (not a reserved one) and calls its Lua entry with
//!   `requestEntry`.
//! - `tpt_on_the_node_that_holds_the_app_gives_the_same_contract`: the same at `/tpt/<appid>/`
//!   of the node itself, with no DNN; `the_node_that_holds_the_app_puts_itself_first`: a node
//!   that holds the app and knows another provider runs it against itself, and when it goes
//!   down under the open page the app moves to the provider;
//!   `request_entry_runs_a_leither_backend_app_too`: the app as a Leither backend app (no
//!   `lever.json`, docs/apps.md), whose `hello.lua` requestEntry runs.
//! - `a_users_temp_html_in_leithers_form_is_served_and_works`: a DNN with
//!   tests/web/leither_temp.html (`{{.param}}`, `{{.ips}}`, ... fields) as its `temp.html`.
//! - Attacks: `script_injection_through_a_url_param_is_data`,
//!   `script_injection_through_a_provider_address_is_data` (both page syntaxes), and
//!   `a_public_visitor_never_gets_a_lan_address_in_ips`.
//!
//! When chromium or the npm packages are missing these tests fail and say how to install them.
#![cfg(feature = "net")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TestNode;
use common::dnn::{home_node, run, wait_for};
use common::web::{field, node22, web};
use leither::api::Value;
use leither::api::json::{JsonLimits, decode};
use leither::dnn::addr::{self, Candidate, Host, Offer, Provider};
use leither::dnn::page::{self, Page};

/// Uploads tests/web/leither_app to `n`; its app ID.
fn upload_app(n: &TestNode) -> String {
    let src = common::repo_root().join("tests/web/leither_app");
    let out = run(&n.home, &["lapp", "uploadapp", "-i", src.to_str().unwrap()]);
    out.lines()
        .find_map(|l| l.strip_prefix("appid= "))
        .unwrap_or_else(|| panic!("no appid= line in:\n{out}"))
        .trim()
        .to_string()
}

/// Uploads tests/web/leither_app as a Leither backend app (docs/apps.md: no `lever.json`, its
/// entry `hello.lua` run as RunMApp runs it), made through the API as `tests/backend.rs` does;
/// its Mimei ID.
fn upload_leither_backend_app(n: &TestNode) -> String {
    let src = common::repo_root().join("tests/web/leither_app");
    let dir = common::fresh_home().join("lxpage");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["index.html", "app.js", "data.txt"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        dir.join("hello.lua"),
        "return {aid = request.aid, appid = request.appid, n = request.n, entry = request.entry}\n",
    )
    .unwrap();
    let added = run(&n.home, &["ipfs", "add", "-r", dir.to_str().unwrap()]);
    let cid = added
        .lines()
        .find_map(|l| l.strip_prefix("ipfs add ok /ipfs/"))
        .unwrap_or_else(|| panic!("no CID in:\n{added}"))
        .trim()
        .to_string();
    let pass = n.home.join("owner.ppt");
    run(
        &n.home,
        &["lpki", "signppt", "-p", "1h", "-o", pass.to_str().unwrap()],
    );
    let ppt = std::fs::read_to_string(&pass).unwrap();
    let (_, v) = common::api_json(n, "Login", &[Value::Str(ppt.trim().to_string())]);
    let sid = text(field(&v, "sid")).to_string();
    let call = |f: &str, args: &[&str]| {
        let args: Vec<Value> = args.iter().map(|a| Value::Str(a.to_string())).collect();
        let (st, v) = common::api_json(n, f, &args);
        assert_eq!(st, 200, "{f}: {v:?}");
        v
    };
    let mid = text(&call("MMCreate", &[&sid, "", "app", "lxpage", "file"])).to_string();
    call("MFSetCid", &[&sid, &mid, &cid]);
    call("MMBackup", &[&sid, &mid, ""]);
    call("MMSetRight", &[&sid, &mid, "*", "read"]);
    mid
}

fn host_of(url: &str) -> &str {
    url.strip_prefix("http://").unwrap_or(url)
}

/// Its size gzipped (`gzip -9`, what a server's compression would send).
fn gzip_len(b: &[u8]) -> usize {
    let mut c = Command::new("gzip")
        .arg("-9c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    c.stdin.take().unwrap().write_all(b).unwrap();
    c.wait_with_output().unwrap().stdout.len()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The app's outcome, checked: it read its file from `node` and called its entry there.
fn assert_app_worked(r: &Value, appid: &str, node: &str, builtin: bool) {
    assert_eq!(field(r, "ok"), &Value::Bool(true), "{r:?}");
    assert_eq!(field(r, "sameUrl"), &Value::Bool(true), "{r:?}");
    let res = field(r, "result");
    assert_eq!(field(res, "error"), &Value::Null, "{r:?}");
    let p = field(res, "param");
    let ips = match field(p, "ips") {
        Value::List(l) => l.iter().map(|v| text(v).to_string()).collect::<Vec<_>>(),
        other => panic!("ips is not a list: {other:?}"),
    };
    let cur = field(p, "CurNode").as_i64().expect("CurNode") as usize;
    assert_eq!(
        ips.get(cur).map(String::as_str),
        Some(host_of(node)),
        "{r:?}"
    );
    assert_eq!(text(field(p, "aid")), appid, "{r:?}");
    assert_eq!(text(field(p, "ver")), "last", "{r:?}");
    assert_eq!(
        text(field(res, "file")).trim(),
        "file from the app Mimei",
        "{r:?}"
    );
    let entry = field(res, "entry");
    assert_eq!(text(field(entry, "aid")), appid, "{r:?}");
    assert_eq!(text(field(entry, "appid")), appid, "{r:?}");
    assert_eq!(field(entry, "n").as_i64(), Some(2), "{r:?}");
    if builtin {
        assert_eq!(field(res, "setColor"), &Value::Bool(true), "{r:?}");
        assert_eq!(text(field(res, "colorAfter")), "blue", "{r:?}");
        assert!(text(field(res, "search")).contains("color=blue"), "{r:?}");
        // Reserved names are the page's: setParam refuses them and nothing changes.
        assert_eq!(field(res, "setIps"), &Value::Bool(false), "{r:?}");
        assert_eq!(field(res, "ipsAfter"), field(p, "ips"), "{r:?}");
        assert_eq!(field(res, "curAfter"), field(p, "CurNode"), "{r:?}");
    }
}

/// A DNN and a home node holding the app, reported to it; (dnn, home, appid).
fn dnn_with_app() -> (TestNode, TestNode, String) {
    let d = TestNode::start();
    let p = home_node(&d);
    let appid = upload_app(&p);
    let page_url = format!("{}/tpt/{appid}/", d.url);
    wait_for("the app's page on the DNN", Duration::from_secs(15), || {
        let (_, b) = common::curl(&[&page_url]);
        String::from_utf8_lossy(&b).contains(&p.url)
    });
    (d, p, appid)
}

#[test]
fn a_leither_app_finds_its_api_node_through_the_dnn_page() {
    let (d, p, appid) = dnn_with_app();
    let (_, b) = common::curl(&[&format!("{}/tpt/{appid}/", d.url)]);
    let gz = gzip_len(&b);
    println!("DNN page with 1 candidate: {} bytes ({gz} gzip)", b.len());
    let r = web(
        "page_contract.mjs",
        &[&format!("{}/tpt/{appid}/?lang=en", d.url), "app"],
    );
    println!("through the DNN: {r:?}");
    println!(
        "page to the app's last call (file over the API, setParam, requestEntry): {:?} ms",
        field(field(&r, "result"), "ms")
    );
    assert_app_worked(&r, &appid, &p.url, true);
    let param = field(field(&r, "result"), "param");
    assert_eq!(text(field(param, "lang")), "en", "{r:?}");
    assert_eq!(text(field(param, "mid")), "", "{r:?}");
}

#[test]
fn tpt_on_the_node_that_holds_the_app_gives_the_same_contract() {
    let n = TestNode::start();
    let appid = upload_app(&n);
    let r = web(
        "page_contract.mjs",
        &[&format!("{}/tpt/{appid}/", n.url), "app"],
    );
    println!("on the node itself: {r:?}");
    assert_app_worked(&r, &appid, &n.url, true);
    // A browser gets the page; the page's own fetch, non-browsers and a request with a
    // session (whose session the page's fetches would not carry) get the app's index.html.
    let url = format!("{}/tpt/{appid}/", n.url);
    let html = "Accept: text/html";
    let (code, b) = common::curl(&["-H", html, &url]);
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&b).contains("w.getParam="));
    let (_, sid) = common::api_json(&n, "Login", &[]);
    let sid = sid
        .get("sid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    for u in [
        format!("{url}?dnn=0"),
        format!("{url}?sid={sid}"),
        url.clone(),
    ] {
        let h = if u == url { "Accept: */*" } else { html };
        let (code, b) = common::curl(&["-H", h, &u]);
        assert_eq!(code, 200, "{u}");
        assert!(
            String::from_utf8_lossy(&b).contains("page contract app"),
            "{u}: {}",
            String::from_utf8_lossy(&b)
        );
    }
}

#[test]
fn request_entry_runs_a_leither_backend_app_too() {
    // An app without lever.json: requestEntry's /entry?appid= runs its hello.lua as RunMApp
    // does, the JSON body's fields in `request`.
    let n = TestNode::start();
    let mid = upload_leither_backend_app(&n);
    let r = web(
        "page_contract.mjs",
        &[&format!("{}/tpt/{mid}/", n.url), "app"],
    );
    println!("a Leither backend app: {r:?}");
    assert_app_worked(&r, &mid, &n.url, true);
}

#[test]
fn the_node_that_holds_the_app_puts_itself_first() {
    // The DNN holds the app too (synced from the home node, which reports to it): a visitor
    // who reached it runs the app against it, with the home node as the next candidate.
    let (d, p, appid) = dnn_with_app();
    run(&p.home, &["mimei", "publish", &appid]);
    run(&d.home, &["swarm", "connect", &p.swarm_addr()]);
    run(&d.home, &["mimei", "sync", &appid]);
    let url = format!("{}/tpt/{appid}/", d.url);
    let (_, b) = common::curl(&["-H", "Accept: text/html", &url]);
    let b = String::from_utf8_lossy(&b);
    assert!(
        b.contains(&format!(
            "\"cands\":[{{\"url\":\"\",\"group\":0}},{{\"url\":\"{}\",\"group\":",
            p.url
        )),
        "{b}"
    );
    let r = web("page_contract.mjs", &[&url, "app"]);
    println!("on a node that holds it and has a provider: {r:?}");
    assert_app_worked(&r, &appid, &d.url, true);

    // That node goes down under an open page: the heartbeat moves the app to the provider.
    let mut child = Command::new(node22())
        .arg(common::repo_root().join("tests/web/dnn_failover.mjs"))
        .args([url.as_str(), "page contract app"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot run node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    assert!(
        first.contains("\"node\":\"\""),
        "the page chose itself first: {first}"
    );
    let mut d = d;
    d.stop();
    writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    let last = lines.next().expect("a result line").unwrap();
    let _ = child.wait();
    println!("after the node that served it went down: {last}");
    let r = decode(last.as_bytes(), &JsonLimits::DEFAULT).expect("JSON");
    assert_eq!(field(&r, "ok"), &Value::Bool(true), "{r:?}");
    assert_eq!(text(field(&r, "node")), p.url, "{r:?}");
}

#[test]
fn a_users_temp_html_in_leithers_form_is_served_and_works() {
    let (d, p, appid) = dnn_with_app();
    let t =
        std::fs::read_to_string(common::repo_root().join("tests/web/leither_temp.html")).unwrap();
    std::fs::write(d.home.join("temp.html"), &t).unwrap();
    let url = format!("{}/tpt/{appid}/", d.url);
    let (_, b) = common::curl(&[&url]);
    let b = String::from_utf8_lossy(&b);
    assert!(b.contains(&format!("<title>App {appid}</title>")), "{b}");
    assert!(
        b.contains(&format!(
            "var P={{\"ips\":[\"{}\"],\"CurNode\":0,",
            host_of(&p.url)
        )),
        "{b}"
    );
    assert!(
        b.contains(&format!("from [&quot;{}&quot;]", host_of(&p.url))),
        "{b}"
    );
    let r = web("page_contract.mjs", &[&url, "app"]);
    println!("through the user's temp.html: {r:?}");
    assert_app_worked(&r, &appid, &p.url, false);
}

#[test]
fn script_injection_through_a_url_param_is_data() {
    let (d, p, appid) = dnn_with_app();
    // A link that tries to run script and to point the app at another node.
    let evil = "%3C/script%3E%3Cscript%3Ewindow.__pwned%3D1%3C/script%3E%22%27";
    let url = format!(
        "{}/tpt/{appid}/?x={evil}&ips=evil.example:80&CurNode=7&aid=zzz&mid=zzz&ver=0",
        d.url
    );
    let r = web("page_contract.mjs", &[&url, "app"]);
    println!("injection through a param: {r:?}");
    assert_eq!(field(&r, "pwned"), &Value::Bool(false), "{r:?}");
    assert_app_worked(&r, &appid, &p.url, true);
    let param = field(field(&r, "result"), "param");
    assert_eq!(
        text(field(param, "x")),
        "</script><script>window.__pwned=1</script>\"'",
        "{r:?}"
    );
    // The app showed it as text.
    assert!(
        text(field(&r, "text")).contains("<script>window.__pwned=1"),
        "{r:?}"
    );
}

#[test]
fn script_injection_through_a_provider_address_is_data() {
    // A hostile provider address. A report cannot carry one (report.rs checks host names as
    // domains), so this is the second wall: rendered by the node's own code into both
    // template syntaxes and opened in chromium from a file, it stays data.
    let evil = "http://x</script><script>window.__pwned=1</script>\"';window.__pwned=2;'";
    let cands = [Candidate {
        url: evil.into(),
        group: 0,
    }];
    let leither_form =
        std::fs::read_to_string(common::repo_root().join("tests/web/leither_temp.html")).unwrap();
    let dir = common::fresh_home();
    for (name, t) in [
        ("builtin", page::BUILTIN),
        ("leither", leither_form.as_str()),
    ] {
        let out = page::render(
            t,
            &Page {
                title: "T</title><script>window.__pwned=3</script>",
                note: "",
                target: "/tpt/AID/",
                cands: &cands,
                visitor: "198.51.100.9",
                host: "",
            },
        )
        .unwrap();
        let f = dir.join(format!("{name}.html"));
        std::fs::write(&f, &out).unwrap();
        let r = web(
            "page_contract.mjs",
            &[&format!("file://{}", f.display()), "probe", "5000"],
        );
        println!("{name}: {r:?}");
        assert_eq!(field(&r, "pwned"), &Value::Bool(false), "{name}: {r:?}");
        assert_eq!(field(&r, "ok"), &Value::Bool(true), "{name}: {r:?}");
        let ips = field(field(&r, "param"), "ips");
        assert_eq!(
            ips,
            &Value::List(vec![Value::Str(evil["http://".len()..].to_string())]),
            "{name}: the address arrives as data: {r:?}"
        );
    }
}

#[test]
fn a_public_visitor_never_gets_a_lan_address_in_ips() {
    let offers = [
        Offer {
            https: false,
            host: Host::Ip("192.168.1.7".parse().unwrap()),
            port: 4800,
            prefix: 24,
            vpn: false,
        },
        Offer {
            https: false,
            host: Host::Ip("10.8.0.2".parse().unwrap()),
            port: 4800,
            prefix: 24,
            vpn: true,
        },
        Offer {
            https: false,
            host: Host::Ip("81.2.69.142".parse().unwrap()),
            port: 4800,
            prefix: 0,
            vpn: false,
        },
    ];
    let seen: IpAddr = "81.2.69.142".parse().unwrap();
    let p = [Provider {
        offers: &offers,
        seen_from: seen,
        version: 1,
    }];
    let visitor: IpAddr = "93.184.216.34".parse().unwrap();
    let cands = addr::offers(&p, visitor, false, 8);
    let ips = page::ips(&cands, "dnn.example.org");
    assert_eq!(ips, vec!["81.2.69.142:4800".to_string()]);
    let out = page::render(
        page::BUILTIN,
        &Page {
            title: "t",
            note: "",
            target: "/tpt/AID/",
            cands: &cands,
            visitor: "198.51.100.9",
            host: "",
        },
    )
    .unwrap();
    assert!(!out.contains("192.168.") && !out.contains("10.8."), "{out}");
    // A visitor behind the provider's NAT gets its LAN address first.
    let cands = addr::offers(&p, seen, false, 8);
    assert_eq!(page::ips(&cands, "")[0], "192.168.1.7:4800");
}
