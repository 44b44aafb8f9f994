//! Helpers of the DNN tests (tests/dnn.rs, tests/dnn_web.rs): home nodes that report to a
//! DNN, and a folder Mimei to open through it.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{TestNode, leither, ok, set_system_var};
use leither::api::Value;

pub fn run(home: &Path, args: &[&str]) -> String {
    ok(&leither(home, args))
}

/// Polls `f` every 100 ms until it holds; fails the test after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A node that reports to `dnn` every second.
pub fn home_node(dnn: &TestNode) -> TestNode {
    let url = dnn.url.clone();
    TestNode::start_with(move |h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Gateway", Value::List(vec![Value::Str(url)]));
        set_system_var(h, "GatewaySecs", Value::Int(1));
    })
}

/// A folder Mimei on `n`, readable by anyone, as its version 1: `index.html` shows `marker`
/// and loads `app.js` by a relative path (which writes "script from HOST ran"), `b.html`
/// beside it. Returns its ID.
pub fn site(n: &TestNode, marker: &str) -> String {
    let dir = n.home.join("site");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!(
            "<!doctype html><html><head><title>site</title></head><body><h1>{marker}</h1><p id=\"js\"></p><a href=\"b.html\">b</a><script src=\"app.js\"></script></body></html>"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("app.js"),
        "document.getElementById('js').textContent = 'script from ' + location.host + ' ran';",
    )
    .unwrap();
    std::fs::write(dir.join("b.html"), "page b").unwrap();
    let out = run(&n.home, &["mimei", "create", "-t", "file"]);
    let mid = out
        .lines()
        .find_map(|l| l.strip_prefix("mid= "))
        .expect("mid= line")
        .to_string();
    run(&n.home, &["mimei", "setright", &mid, "*", "read"]);
    let added = run(&n.home, &["ipfs", "add", "-r", dir.to_str().unwrap()]);
    let cid = added
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("added "))
        .and_then(|l| l.split(' ').next())
        .expect("added CID line")
        .to_string();
    run(&n.home, &["mimei", "setcid", &mid, &cid]);
    mid
}
