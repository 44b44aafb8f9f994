//! Lever calls routed across real hosts: `tests/lever_netns.sh` runs three nodes in network
//! namespaces on a bridge (the app on B and C only), checks that calls to A are answered by
//! both, pulls C's cable during a stream through A, and checks that the stream ends with a
//! clear error and that the next calls go to B. See the script's header.
//!
//! Needs root and `ip netns`. Without them the test fails, saying why, unless
//! `LEITHER_SKIP_NETNS=1` is set, which turns it into a skip (as tests/netns.rs).
#![cfg(all(feature = "lever", feature = "net"))]

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::{BIN, repo_root};

/// Why namespaces cannot be made here, if they cannot.
fn missing_netns() -> Option<String> {
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

#[test]
fn lever_calls_across_namespaces_survive_a_provider_cut_off() {
    if let Some(why) = missing_netns() {
        if std::env::var("LEITHER_SKIP_NETNS").as_deref() == Ok("1") {
            eprintln!("netns test skipped (LEITHER_SKIP_NETNS=1): {why}");
            return;
        }
        panic!("{why}; set LEITHER_SKIP_NETNS=1 to skip this test");
    }
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(repo_root().join("tests/lever_netns.sh"))
        .env("LEITHER_BIN", BIN)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run bash tests/lever_netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    println!(
        "tests/lever_netns.sh took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success()
            && stdout
                .contains("PASS: Lever calls routed across namespaces survive a provider cut off"),
        "tests/lever_netns.sh failed ({}):\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
