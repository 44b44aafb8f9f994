//! The HTTP tunnel on loopback (docs/network.md, "The HTTP tunnel"): node A opens a tunnel
//! on node R (which allows A by its TunnelAllow), and a client reads A's files through R at
//! `/tun/<A's PeerId>/`. The answer streams through R piece by piece: a file larger than R
//! would ever hold arrives whole and equal while R's memory barely moves, a HEAD answer
//! carries the length and no body, and the hour's byte quota cuts an answer where it ends.
//! The NAT cases (a node behind MASQUERADE, the DNN page, Chromium) are in tests/nat.sh.
#![cfg(feature = "net")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestNode, leither, ok, random_file, set_system_var};
use leither::api::Value;

fn swarm_id(home: &Path) -> (String, String) {
    let out = ok(&leither(home, &["swarm", "id"]));
    let mut lines = out.lines();
    let id = lines.next().unwrap_or_default().trim().to_string();
    let peer = lines.next().unwrap_or_default().trim().to_string();
    (id, peer)
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A (tunnelled) and R (the public node allowing A), with A's tunnel open on R; R's hour
/// quota is `mib_per_hour`. Answers (A, R, A's PeerId).
fn pair(mib_per_hour: i64) -> (TestNode, TestNode, String) {
    let a = TestNode::start_with(|h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Upnp", Value::Bool(false));
    });
    let (a_id, a_peer) = swarm_id(&a.home);
    let r = TestNode::start_with(|h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Upnp", Value::Bool(false));
        set_system_var(h, "TunnelServer", Value::Bool(true));
        set_system_var(
            h,
            "TunnelAllow",
            Value::List(vec![Value::Str(a_id.clone())]),
        );
        set_system_var(h, "TunnelMiBPerHour", Value::Int(mib_per_hour));
    });
    let opened = ok(&leither(
        &a.home,
        &["call", "OpenTunnel", &r.swarm_addr(), "t-a", ""],
    ));
    assert!(opened.contains(&format!("/tun/{a_peer}")), "{opened}");
    (a, r, a_peer)
}

/// Adds `file` to A's store; answers its CID.
fn add(a: &TestNode, file: &Path) -> String {
    let out = ok(&leither(&a.home, &["ipfs", "add", file.to_str().unwrap()]));
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("/ipfs/"))
        .unwrap_or_else(|| panic!("no CID in: {out}"))
        .to_string()
}

/// `curl URL -o OUT`: the exit code, the HTTP status and the bytes written.
fn fetch(url: &str, out: &Path, extra: &[&str]) -> (i32, u16, u64) {
    let o = Command::new("curl")
        .args([
            "-s",
            "-m",
            "120",
            "-o",
            out.to_str().unwrap(),
            "-w",
            "%{http_code}",
        ])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl");
    let code = String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let len = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    (o.status.code().unwrap_or(-1), code, len)
}

#[test]
fn a_file_larger_than_the_old_cap_streams_through_the_tunnel_and_r_holds_little_of_it() {
    let (a, r, a_peer) = pair(1024);
    let src = a.home.join("big.bin");
    let len = 48 * 1024 * 1024;
    random_file(&src, len, 11);
    let cid = add(&a, &src);
    let before = vm_hwm_kib(r.pid());
    let out = a.home.join("got.bin");
    let t = Instant::now();
    let (exit, code, got) = fetch(&format!("{}/tun/{a_peer}/ipfs/{cid}", r.url), &out, &[]);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!((exit, code, got), (0, 200, len as u64));
    assert!(
        std::fs::read(&out).unwrap() == std::fs::read(&src).unwrap(),
        "bytes differ"
    );
    let grew = vm_hwm_kib(r.pid()).saturating_sub(before);
    println!(
        "48 MiB through the tunnel in {secs:.1} s ({:.0} MiB/s); R's peak RSS grew {} KiB",
        48.0 / secs,
        grew
    );
    // Held whole, the answer alone would be 48 MiB (and the old reader copied it twice).
    assert!(grew < 16 * 1024, "R's peak RSS grew {grew} KiB");

    // HEAD: the length, no body.
    let o = Command::new("curl")
        .args(["-s", "-I", "-m", "20"])
        .arg(format!("{}/tun/{a_peer}/ipfs/{cid}", r.url))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains(&format!("content-length: {len}")), "{head}");
    drop(a);
}

#[test]
fn the_hour_quota_cuts_an_answer_where_it_ends_and_refuses_the_next() {
    let (a, r, a_peer) = pair(4);
    let src = a.home.join("ten.bin");
    random_file(&src, 10 * 1024 * 1024, 12);
    let cid = add(&a, &src);
    let out = a.home.join("cut.bin");
    let (exit, code, got) = fetch(&format!("{}/tun/{a_peer}/ipfs/{cid}", r.url), &out, &[]);
    // The head went out with the length; the body stops at the quota: curl says the
    // transfer was cut short (18), never that it completed.
    assert_eq!(code, 200);
    assert_eq!(exit, 18, "curl's exit for a cut answer");
    assert!(got <= 4 * 1024 * 1024, "{got} bytes past a quota of 4 MiB");
    let log = std::fs::read_to_string(r.home.join("Leither.log")).unwrap_or_default();
    assert!(
        log.contains("cut short") && log.contains("TunnelMiBPerHour"),
        "R's log does not say why: {log}"
    );
    // The next request is refused before it goes through, with the rule named.
    let (code, body) = common::curl(&[&format!("{}/tun/{a_peer}/getvar?name=ver", r.url)]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 429, "{body}");
    assert!(body.contains("TunnelMiBPerHour"), "{body}");
    std::thread::sleep(Duration::from_millis(10));
}
