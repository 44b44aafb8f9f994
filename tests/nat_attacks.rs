//! Attacks on the HTTP tunnel's libp2p side (docs/network.md, "The HTTP tunnel"), by a real
//! libp2p peer built here (tcp + noise + yamux + libp2p-stream) that sends bytes we choose:
//! junk on the control protocol is banned, a stranger is refused a tunnel with the rule named,
//! and a flood of request streams from a peer the node opened no tunnel on is dropped while
//! the node keeps serving. The attacks through a real tunnel are in tests/nat.sh.
#![cfg(feature = "net")]

mod common;

use std::time::{Duration, Instant};

use common::{TestNode, curl, rogue, set_system_var};
use leither::api::Value;
use leither::net::tunnel_wire::Control;

const OPEN: &str = "/leither/tunnel-open/1.0.0";
const HTTP: &str = "/leither/tunnel/1.0.0";

fn node(tunnel_server: bool) -> TestNode {
    TestNode::start_with(|h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Upnp", Value::Bool(false));
        set_system_var(h, "TunnelServer", Value::Bool(tunnel_server));
    })
}

fn log_of(n: &TestNode) -> String {
    std::fs::read_to_string(n.home.join("Leither.log")).unwrap_or_default()
}

/// The varint-framed body of an answer.
fn unframe(b: &[u8]) -> Option<&[u8]> {
    let mut len = 0usize;
    for (i, byte) in b.iter().enumerate().take(3) {
        len |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return b.get(i + 1..i + 1 + len);
        }
    }
    None
}

#[test]
fn junk_on_the_tunnel_control_protocol_is_banned() {
    let n = node(true);
    let _ = rogue::flood(&n.swarm_addr(), OPEN, &rogue::frame(&[0x55, 1, 2, 3]), 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !log_of(&n).contains("banned peer") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = log_of(&n);
    assert!(
        log.contains("banned peer") && log.contains("sent junk on /leither/tunnel-open/1.0.0"),
        "{log}"
    );
}

#[test]
fn a_stranger_is_refused_a_tunnel_with_the_rule_named() {
    // Tunnels off: the refusal names TunnelServer.
    let off = node(false);
    let open = Control::Open { uuid: "x".into() }.encode();
    let answers = rogue::flood(&off.swarm_addr(), OPEN, &rogue::frame(&open), 1).unwrap();
    let reply = unframe(&answers[0]).map(Control::decode);
    match reply {
        Some(Ok(Control::Refused { reason })) => {
            assert!(reason.contains("TunnelServer"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Tunnels on, no TunnelAllow: only trusted nodes; a fresh key is not one.
    let on = node(true);
    let answers = rogue::flood(&on.swarm_addr(), OPEN, &rogue::frame(&open), 1).unwrap();
    match unframe(&answers[0]).map(Control::decode) {
        Some(Ok(Control::Refused { reason })) => {
            assert!(reason.contains("not trusted"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (code, body) = curl(&[
        "-X",
        "POST",
        &format!("{}/api/RequestNodeTunnel", on.url),
        "-d",
        "[\"\",\"x\"]",
    ]);
    assert_ne!(code, 200, "{}", String::from_utf8_lossy(&body));
}

#[test]
fn a_flood_of_tunnel_streams_from_a_stranger_is_dropped_and_the_node_still_serves() {
    let n = node(false);
    let request = b"GET /getvar?name=ver HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let started = Instant::now();
    let answers = rogue::flood(&n.swarm_addr(), HTTP, request, 300).unwrap();
    let answered = answers.iter().filter(|a| !a.is_empty()).count();
    assert_eq!(
        answered, 0,
        "a peer we opened no tunnel on got HTTP answers"
    );
    // The node still serves HTTP at once.
    let t = Instant::now();
    let (code, _) = curl(&[&format!("{}/getvar?name=ver", n.url)]);
    assert_eq!(code, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    println!(
        "300 tunnel streams from a stranger: all dropped in {:.1} s; /getvar answered in {} ms",
        started.elapsed().as_secs_f64(),
        t.elapsed().as_millis()
    );
}
