//! The scale simulation (issue #16): many real node cores on one thread over an in-process
//! transport with latency and loss (`tests/sim/`). CI runs the short form below; the full
//! runs at N = 100 and 1,000 are by hand, in a release build:
//!
//! ```text
//! SIM_N=1000 cargo test --profile sim --test sim full_run -- --ignored --nocapture
//! ```
//!
//! (`SIM_RTT_MS`, `SIM_LOSS`, `SIM_FOLLOWERS`, `SIM_LOOKUPS`, `SIM_SEED` change the rest;
//! `SIM_PERIODIC=1` turns libp2p's real-time periodic work back on.) It prints
//! the row of the table in docs/performance.md, "Simulation".

#![cfg(feature = "net")]

#[path = "sim/harness.rs"]
mod harness;
#[path = "sim/link.rs"]
mod link;
#[path = "sim/tally.rs"]
mod tally;

use std::time::Duration;

use harness::{Config, Report, mean, quantile};
use link::Link;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn print(cfg: &Config, r: &Report) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "N={} RTT={} ms loss={}% followers={} | machine load {}",
        r.n,
        cfg.link.rtt.as_millis(),
        cfg.link.loss * 100.0,
        r.followers,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "lookups {}/{} found; hops p50 {} p95 {} max {} (replay failed {}); requests mean {:.1}; time p50 {:.0} p95 {:.0} max {:.0} ms; table mean {:.1} min {}",
        r.lookups_ok,
        r.lookups,
        quantile(&r.hops, 0.5),
        quantile(&r.hops, 0.95),
        quantile(&r.hops, 1.0),
        r.hops_failed,
        mean(&r.lookup_requests),
        quantile(&r.lookup_ms, 0.5),
        quantile(&r.lookup_ms, 0.95),
        quantile(&r.lookup_ms, 1.0),
        mean(&r.table_sizes),
        quantile(&r.table_sizes, 0.0),
    );
    println!(
        "providers {}/{} found the author, {:.1} providers each; time p50 {:.0} p95 {:.0} max {:.0} ms",
        r.providers_ok,
        r.provider_lookups,
        mean(&r.providers_found),
        quantile(&r.provider_ms, 0.5),
        quantile(&r.provider_ms, 0.95),
        quantile(&r.provider_ms, 1.0),
    );
    if let Some(e) = r.first_sync_errors.first() {
        println!(
            "{} first syncs failed, the first with: {e}",
            r.first_sync_errors.len()
        );
    }
    println!(
        "first sync p50 {:.0} p95 {:.0} max {:.0} ms: head p50 {:.0} p95 {:.0}, blocks p50 {:.0} p95 {:.0} ms",
        quantile(&r.first_sync_ms, 0.5),
        quantile(&r.first_sync_ms, 0.95),
        quantile(&r.first_sync_ms, 1.0),
        quantile(&r.first_step_head_ms, 0.5),
        quantile(&r.first_step_head_ms, 0.95),
        quantile(&r.first_step_blocks_ms, 0.5),
        quantile(&r.first_step_blocks_ms, 0.95),
    );
    println!(
        "version 2 reached {}/{} followers ({} pushed by the author): p50 {:.0} p95 {:.0} max {:.0} ms",
        r.reach_ms.len(),
        r.followers,
        r.pushed,
        quantile(&r.reach_ms, 0.5),
        quantile(&r.reach_ms, 0.95),
        quantile(&r.reach_ms, 1.0),
    );
    println!(
        "the author knew {} followers before; a follower's sync of version 2: head p50 {:.0} p95 {:.0}, blocks p50 {:.0} p95 {:.0}, store p50 {:.0} p95 {:.0} ms ({} timed)",
        r.author_knows,
        quantile(&r.step_head_ms, 0.5),
        quantile(&r.step_head_ms, 0.95),
        quantile(&r.step_blocks_ms, 0.5),
        quantile(&r.step_blocks_ms, 0.95),
        quantile(&r.step_store_ms, 0.5),
        quantile(&r.step_store_ms, 0.95),
        r.step_head_ms.len(),
    );
    println!(
        "its head reached {}: p50 {:.0} p95 {:.0} max {:.0} ms",
        r.head_ms.len(),
        quantile(&r.head_ms, 0.5),
        quantile(&r.head_ms, 0.95),
        quantile(&r.head_ms, 1.0),
    );
    println!(
        "bytes sent per node {:.0} KiB ({:.1} KiB while version 2 spread); RSS per node {:.0} KiB; simulated {:.0} s in {:.0} s of wall time",
        r.bytes_per_node / 1024.0,
        r.publish_bytes_per_node / 1024.0,
        r.rss_kib_per_node,
        r.sim_secs,
        r.wall_secs
    );
    let by: Vec<String> = r
        .by_protocol
        .iter()
        .map(|(p, all, v2)| format!("{p} {:.1} ({:.1})", all / 1024.0, v2 / 1024.0))
        .collect();
    println!(
        "KiB sent per node by protocol (while version 2 spread): {}",
        by.join(", ")
    );
    let starts: Vec<String> = r
        .start_wall_per_100
        .iter()
        .map(|s| format!("{s:.0}"))
        .collect();
    if !starts.is_empty() {
        println!("wall s to start each 100 nodes: {}", starts.join(" "));
    }
}

/// The short form CI runs: 50 nodes, 100 ms RTT, 1 % loss; the goals, loosely.
#[test]
fn fifty_nodes_find_each_other_and_a_new_version_reaches_every_follower() {
    let n = 50;
    let cfg = Config {
        n,
        link: Link {
            rtt: Duration::from_millis(100),
            loss: 0.01,
        },
        followers: 20,
        lookups: 20,
        provider_lookups: 10,
        port_base: 1_000_000,
        seed: 16,
        deadline: Duration::from_secs(60),
        periodic: leither::net::Periodic::Off,
    };
    let r = harness::run(&cfg);
    print(&cfg, &r);
    let bound = (n as f64).log2().ceil() + 2.0;
    assert!(r.first_sync_errors.is_empty(), "every first sync succeeds");
    assert_eq!(r.lookups_ok, r.lookups, "every lookup finds its peer");
    assert_eq!(r.hops_failed, 0, "every replayed lookup reaches its peer");
    assert!(
        quantile(&r.hops, 1.0) <= bound,
        "hops within ceil(log2 N) + 2"
    );
    assert_eq!(
        r.providers_ok, r.provider_lookups,
        "every provider lookup finds the author"
    );
    assert_eq!(
        r.reach_ms.len(),
        r.followers,
        "the new version reaches every follower"
    );
    // The goal is p95 5 s at this RTT and loss; runs measure about 1 s. Loosely:
    assert!(
        quantile(&r.reach_ms, 0.95) <= 5_000.0,
        "the new version reaches the followers within p95 5 s"
    );
    assert!(
        r.author_knows >= r.followers,
        "the author knows every follower (each asked it for the head)"
    );
}

/// The full run, by hand (see the module doc).
#[test]
#[ignore]
fn full_run() {
    let n = env("SIM_N", 100usize);
    let cfg = Config {
        n,
        link: Link {
            rtt: Duration::from_millis(env("SIM_RTT_MS", 100u64)),
            loss: env("SIM_LOSS", 0.01f64),
        },
        followers: env("SIM_FOLLOWERS", 100usize),
        lookups: env("SIM_LOOKUPS", 100usize),
        provider_lookups: env("SIM_PROVIDER_LOOKUPS", 20usize),
        port_base: 2_000_000,
        seed: env("SIM_SEED", 16u64),
        deadline: Duration::from_secs(120),
        periodic: if env("SIM_PERIODIC", 0u8) == 1 {
            leither::net::Periodic::On
        } else {
            leither::net::Periodic::Off
        },
    };
    let r = harness::run(&cfg);
    print(&cfg, &r);
}
