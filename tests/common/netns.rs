//! The namespace tests' one runner (tests/netns.rs, tests/lever_netns.rs, tests/nat.rs): each
//! runs a bash script that builds network namespaces as root and prints `PASS:`/`FAIL:`
//! lines, and passes only when the script exits 0 and printed its final PASS line.
//!
//! Without root or `ip netns` a test fails, saying why, unless `LEITHER_SKIP_NETNS=1` is set,
//! which turns it into a skip.

use std::process::{Command, Stdio};
use std::time::Instant;

use super::{BIN, repo_root};

/// Why namespaces cannot be made here, if they cannot.
pub fn missing_netns() -> Option<String> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("the test needs root (it makes network namespaces)".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`ip netns list` failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run `ip` (apt-get install iproute2): {e}")),
    }
}

/// Runs `bash tests/<script>` with `LEITHER_BIN` and `env`, and asserts that it passed and
/// printed `PASS: <pass_line>`.
pub fn run_script(script: &str, env: &[(&str, &str)], pass_line: &str) {
    if let Some(why) = missing_netns() {
        if std::env::var("LEITHER_SKIP_NETNS").as_deref() == Ok("1") {
            eprintln!("{script} skipped (LEITHER_SKIP_NETNS=1): {why}");
            return;
        }
        panic!("{why}; set LEITHER_SKIP_NETNS=1 to skip this test");
    }
    let started = Instant::now();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("tests").join(script))
        .env("LEITHER_BIN", BIN)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash tests/{script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    println!(
        "tests/{script} {env:?} took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success() && stdout.contains(&format!("PASS: {pass_line}")),
        "tests/{script} {env:?} failed ({}):\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
