//! Nodes behind NATs: `tests/nat.sh` puts a public node (relay, tunnel server, DNN) and two
//! home nodes behind two NAT routers (iptables MASQUERADE, answers only) in network
//! namespaces; the home nodes reserve slots on the relay and sync a Mimei through it, a
//! browser reaches a home node through the HTTP tunnel, and a simulated UPnP gateway
//! (Debian's miniupnpd) maps a port. See the script's header.
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

/// Runs `tests/nat.sh` with `STEPS=steps` and checks it passed.
fn run(steps: &str) {
    if let Some(why) = missing_netns() {
        if std::env::var("LEITHER_SKIP_NETNS").as_deref() == Ok("1") {
            eprintln!("nat test skipped (LEITHER_SKIP_NETNS=1): {why}");
            return;
        }
        panic!("{why}; set LEITHER_SKIP_NETNS=1 to skip this test");
    }
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(repo_root().join("tests/nat.sh"))
        .env("LEITHER_BIN", BIN)
        .env("STEPS", steps)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run bash tests/nat.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    println!(
        "tests/nat.sh ({steps}) took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success() && stdout.contains(&format!("PASS: nat steps {steps}")),
        "tests/nat.sh ({steps}) failed ({}):\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_nated_nodes_sync_a_mimei_through_a_relay() {
    run("relay");
}

/// A browser on the internet reaches a node behind a NAT through the DNN page of a public
/// node, via the HTTP tunnel; with the attacks: a node not allowed cannot open a tunnel, a
/// tunnelled request gets no local pass and cannot register as loopback, a tunnel over its
/// quota is refused with the rule named.
#[test]
fn a_browser_reaches_a_nated_node_through_the_dnn_tunnel() {
    run("tunnel");
}

/// A node behind a NAT whose router runs a UPnP gateway (Debian's miniupnpd) maps its swarm
/// and HTTP ports; a visitor reaches it directly, the DNN page offers the direct address and
/// AutoNAT confirms the mapped swarm address.
#[test]
fn a_node_behind_a_upnp_router_maps_its_ports_and_is_offered_directly() {
    run("upnp");
}
