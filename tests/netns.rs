//! Sync across real hosts: `tests/netns.sh` runs three nodes in network namespaces on a
//! bridge, cuts one of the two providers off in the middle of a sync, and checks that the
//! sync completes from the other and that the file arrives whole. See the script's header.
//!
//! Needs root and `ip netns` (CI has both). Without them the test fails, saying why, unless
//! `LEITHER_SKIP_NETNS=1` is set, which turns it into a skip.

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
fn netns_sync_survives_a_provider_cut_off() {
    if let Some(why) = missing_netns() {
        if std::env::var("LEITHER_SKIP_NETNS").as_deref() == Ok("1") {
            eprintln!("netns test skipped (LEITHER_SKIP_NETNS=1): {why}");
            return;
        }
        panic!("{why}; set LEITHER_SKIP_NETNS=1 to skip this test");
    }
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(repo_root().join("tests/netns.sh"))
        .env("LEITHER_BIN", BIN)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run bash tests/netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    println!(
        "tests/netns.sh took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success() && stdout.contains("PASS: netns sync survives a provider cut off"),
        "tests/netns.sh failed ({}):\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
