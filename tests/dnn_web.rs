//! The DNN page and the dashboard in a real browser: Debian's chromium driven by npm
//! `playwright-core` (tests/web/, installed by `bash tests/interop/install.sh`).
//!
//! - `the_page_picks_a_live_provider_and_survives_losing_them`: three providers of one
//!   Mimei and a DNN on loopback. The DNN page shows the content from a provider without
//!   leaving the DNN's URL, with the first content within 1 s of the page's start; the
//!   provider that served it is killed and a reload still shows the content within 1 s from
//!   another; the provider serving an open page is killed and the page moves to the last one
//!   by itself; with every provider down the page shows its message.
//! - `the_dashboard_shows_the_node_and_writes_only_after_a_login`: the dashboard at `/` fills
//!   every section from the API, keeps its write buttons disabled for a guest, and publishes a
//!   Mimei after a login with the node's pass.
//!
//! When chromium or the npm packages are missing these tests fail and say how to install
//! them: a silent skip would hide a broken CI.
#![cfg(feature = "net")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::dnn::{home_node, run, site, wait_for};
use common::web::{field, node22, num, web};
use common::{TestNode, set_system_var};
use leither::api::Value;
use leither::api::json::{JsonLimits, decode};

#[test]
fn the_page_picks_a_live_provider_and_survives_losing_them() {
    let d = TestNode::start();
    let p1 = home_node(&d);
    let mid = site(&p1, "content from leither");
    run(&p1.home, &["mimei", "publish", &mid]);
    let a1 = p1.swarm_addr();
    let mut providers = vec![p1];
    for _ in 0..2 {
        let p = home_node(&d);
        run(&p.home, &["swarm", "connect", &a1]);
        run(&p.home, &["mimei", "sync", &mid]);
        providers.push(p);
    }
    let page_url = format!("{}/mm/{mid}", d.url);
    wait_for(
        "all three providers on the page",
        Duration::from_secs(15),
        || {
            let (_, b) = common::curl(&[&page_url]);
            let b = String::from_utf8_lossy(&b);
            providers.iter().all(|p| b.contains(&p.url))
        },
    );
    let (_, b) = common::curl(&[&page_url]);
    println!("DNN page with 3 candidates: {} bytes", b.len());
    assert!(b.len() <= leither::dnn::page::MAX_PAGE);

    // The content, from a provider, at the DNN's own URL.
    // "ran" shows once the provider's app.js, loaded through the page's <base>, has run.
    let r = web("dnn_page.mjs", &[&page_url, "ran"]);
    println!("first load: {r:?}");
    assert_eq!(field(&r, "ok"), &Value::Bool(true), "{r:?}");
    assert_eq!(field(&r, "sameUrl"), &Value::Bool(true), "{r:?}");
    let ms = num(field(&r, "firstContentMs"));
    assert!(ms < 1000.0, "first content after {ms} ms: {r:?}");
    let text = field(&r, "text").as_str().unwrap_or("");
    assert!(
        text.contains("script from 127.0.0.1:"),
        "the provider's app.js ran: {r:?}"
    );
    let chosen = field(&r, "node")
        .as_str()
        .expect("leither.node")
        .to_string();
    let i = providers
        .iter()
        .position(|p| p.url == chosen)
        .unwrap_or_else(|| panic!("{chosen} is not a provider"));

    // Kill the provider that served it: a reload still shows the content, from another.
    providers[i].stop();
    let r = web("dnn_page.mjs", &[&page_url, "content from leither"]);
    println!("after killing {chosen}: {r:?}");
    assert_eq!(field(&r, "ok"), &Value::Bool(true), "{r:?}");
    let ms = num(field(&r, "firstContentMs"));
    assert!(ms < 1000.0, "first content after {ms} ms: {r:?}");
    let now = field(&r, "node").as_str().unwrap_or("");
    assert!(!now.is_empty() && now != chosen, "{r:?}");

    // A page already showing the content: its node goes down later, and the page's heartbeat
    // moves it to another live provider by itself.
    let mut child = Command::new(node22())
        .arg(common::repo_root().join("tests/web/dnn_failover.mjs"))
        .args([page_url.as_str(), "content from leither"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot run node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    let loaded = decode(first.as_bytes(), &JsonLimits::DEFAULT).expect("JSON");
    let serving = field(&loaded, "node").as_str().expect("a node").to_string();
    let j = providers
        .iter()
        .position(|p| p.url == serving)
        .unwrap_or_else(|| panic!("{first}"));
    providers[j].stop();
    writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    let last = lines.next().expect("a result line").unwrap();
    let _ = child.wait();
    let r = decode(last.as_bytes(), &JsonLimits::DEFAULT).expect("JSON");
    println!("failover after {serving} went down: {r:?}");
    assert_eq!(field(&r, "ok"), &Value::Bool(true), "{r:?}");
    let moved = field(&r, "node").as_str().unwrap_or("");
    assert!(moved != serving && moved != chosen, "{r:?}");

    // Every provider down: the message, well within the page's bounded wait.
    for p in providers.iter_mut() {
        p.stop();
    }
    let r = web("dnn_down.mjs", &[&page_url]);
    println!("all down: {r:?}");
    assert_eq!(field(&r, "ok"), &Value::Bool(true), "{r:?}");
    let text = field(&r, "text").as_str().unwrap_or("");
    assert!(
        text.contains("None of the 3 nodes holding this content answered"),
        "{r:?}"
    );
}

#[test]
fn the_dashboard_shows_the_node_and_writes_only_after_a_login() {
    let n = TestNode::start_with(|h| set_system_var(h, "SwarmPort", Value::Int(0)));
    let mid = site(&n, "dashboard test");
    let pass = n.home.join("owner.ppt");
    run(
        &n.home,
        &["lpki", "signppt", "-p", "1h", "-o", pass.to_str().unwrap()],
    );
    let id = run(&n.home, &["swarm", "id"])
        .lines()
        .next()
        .unwrap()
        .to_string();
    let r = web(
        "dashboard.mjs",
        &[
            &format!("{}/", n.url),
            &format!("@{}", pass.display()),
            &mid,
        ],
    );
    println!("dashboard: {r:?}");
    assert_eq!(field(&r, "ok"), &Value::Bool(true), "{r:?}");
    assert_eq!(field(&r, "id").as_str(), Some(id.as_str()), "{r:?}");
    for s in ["identity", "addresses", "peers", "mimeis", "services"] {
        let sec = field(field(&r, "sections"), s);
        assert_eq!(field(sec, "state").as_str(), Some("ok"), "{s}: {r:?}");
    }
    assert!(
        field(field(field(&r, "sections"), "mimeis"), "rows")
            .as_i64()
            .unwrap_or(0)
            >= 1,
        "{r:?}"
    );
    let guest = field(&r, "writeButtons");
    assert_eq!(field(guest, "total"), field(guest, "disabled"), "{r:?}");
    assert_eq!(field(field(&r, "login"), "ok"), &Value::Bool(true), "{r:?}");
    let write = field(&r, "write");
    assert_eq!(field(write, "ok"), &Value::Bool(true), "{r:?}");
    assert_eq!(field(&r, "pageErrors"), &Value::List(vec![]), "{r:?}");
    let size = std::fs::metadata(common::repo_root().join("src/dnn/dashboard.html"))
        .unwrap()
        .len();
    println!("dashboard.html: {size} bytes");
}
