//! Node variables as Leither's clients read them, against a real node: `GET /getvar` (the
//! bare value with `nojson`; the owner's pass to a local program, the Go client's
//! `GetLocalPassport`, and not to a web page), `GetGobVar`'s bytes, and DHT values put on one
//! node and read on another.

mod common;

use common::{TestNode, curl};
use leither::api::Value;

fn get(n: &TestNode, query: &str, headers: &[&str]) -> (u16, String) {
    let url = format!("{}/getvar?{query}", n.url);
    let mut args: Vec<&str> = Vec::new();
    for h in headers {
        args.extend(["-H", h]);
    }
    args.push(&url);
    let (s, b) = curl(&args);
    (s, String::from_utf8_lossy(&b).into_owned())
}

fn api(n: &TestNode, f: &str, args: &[Value]) -> (u16, Value) {
    common::api_json(n, f, args)
}

fn s(t: &str) -> Value {
    Value::from(t)
}

/// An owner session, through the pass `/getvar?name=ppt` gives a local program.
fn owner(n: &TestNode) -> String {
    let (st, ppt) = get(n, "name=ppt&arg0=1&nojson", &[]);
    assert_eq!(st, 200, "{ppt}");
    let (st, v) = api(n, "Login", &[s(&ppt)]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("rights"), Some(&s("owner")));
    v.get("sid").and_then(Value::as_str).unwrap().to_string()
}

#[test]
fn getvar_route_and_the_local_pass() {
    let n = TestNode::start();
    let (st, ver) = get(&n, "name=ver&nojson", &[]);
    assert_eq!((st, ver.as_str()), (200, leither::api::fns_node::VERSION));
    let (st, quoted) = get(&n, "name=ver", &[]);
    assert_eq!(
        (st, quoted),
        (200, format!("\"{}\"", leither::api::fns_node::VERSION))
    );
    let (st, body) = get(&n, "name=virtualmemory", &[]);
    assert!(st == 200 && body.contains("\"usedPercent\""), "{st} {body}");
    let (st, body) = get(&n, "name=nope", &[]);
    assert!(st == 404 && body.contains("known:"), "{st} {body}");
    let (st, _) = get(&n, "arg0=1", &[]);
    assert_eq!(st, 400);
    // The guest cannot read the settings through the route either.
    let (st, _) = get(&n, "name=systemvars", &[]);
    assert_eq!(st, 403);

    // The owner's pass: a local program gets it, and it logs in as the owner.
    let sid = owner(&n);
    let (st, v) = api(&n, "GetVar", &[s(&sid), s("systemvars")]);
    assert!(st == 200 && v.get("ServicePort").is_some(), "{v:?}");
    // Not to a web page on this machine, nor through a rebound name; no silly periods.
    let (st, body) = get(
        &n,
        "name=ppt&arg0=24&nojson",
        &["Origin: http://evil.example"],
    );
    assert!(st == 403 && body.contains("own machine"), "{st} {body}");
    let (st, _) = get(&n, "name=ppt&arg0=24", &["Host: evil.example"]);
    assert_eq!(st, 403);
    let (st, _) = get(&n, "name=ppt&arg0=99999&nojson", &[]);
    assert_eq!(st, 400);
    // Through the API a guest never gets it.
    let (st, _) = api(&n, "GetVar", &[s(""), s("ppt"), s("1")]);
    assert_eq!(st, 403);
}

#[test]
fn gob_bytes_of_ver_are_a_go_string() {
    let n = TestNode::start();
    let (st, v) = api(&n, "GetGobVar", &[s(""), s("ver")]);
    assert_eq!(st, 200, "{v:?}");
    // JSON carries bytes as base64url.
    let b = leither::pki::encoding::base64url_decode(v.as_str().unwrap()).unwrap();
    let ver = leither::api::fns_node::VERSION.as_bytes();
    let mut want = vec![(3 + ver.len()) as u8, 0x0c, 0x00, ver.len() as u8];
    want.extend_from_slice(ver);
    assert_eq!(b, want);
    let (st, _) = api(&n, "GetGobVar", &[s(""), s("cpu")]);
    assert_eq!(st, 200);
    let (st, v) = api(&n, "Act", &[s(""), s("opentunnel")]);
    assert_eq!(st, 501, "{v:?}");
}

#[cfg(feature = "net")]
#[test]
fn dht_values_between_two_nodes() {
    use leither::api::Value::Int;
    let node = || {
        TestNode::start_with(|h| {
            common::set_system_var(h, "SwarmPort", Int(0));
            common::set_system_var(h, "Mdns", Value::Bool(false));
        })
    };
    let a = node();
    let b = node();
    let a_sid = owner(&a);
    let b_sid = owner(&b);
    let (st, addrs) = api(&a, "SwarmLocal", &[s(&a_sid)]);
    assert_eq!(st, 200);
    let Value::List(addrs) = addrs else { panic!() };
    let (st, v) = api(&b, "SwarmConnect", &[s(&b_sid), addrs[0].clone()]);
    assert_eq!(st, 200, "{v:?}");

    let (_, a_id) = api(&a, "GetVar", &[s(""), s("hostid")]);
    let a_id = a_id.as_str().unwrap().to_string();
    // A guest may not put; the owner puts a bare name into the node's namespace.
    let (st, _) = api(
        &a,
        "DhtPutValue",
        &[s(""), s(""), s("greeting"), s("hello")],
    );
    assert_eq!(st, 403);
    let (st, v) = api(
        &a,
        "DhtPutValue",
        &[s(&a_sid), s(""), s("greeting"), s("hello")],
    );
    assert_eq!(st, 200, "{v:?}");
    let key = format!("{a_id}/greeting");
    assert_eq!(v.get("key"), Some(&s(&key)));
    // B reads it, as a guest, by its full key.
    let (st, v) = api(&b, "DhtGetValue", &[s(""), s(""), s(&key)]);
    assert_eq!((st, v), (200, s("hello")));
    let (st, v) = api(&b, "DhtGets", &[s(""), s(&key), s(&format!("{a_id}/none"))]);
    assert_eq!(st, 200);
    assert_eq!(v.get(&key), Some(&Value::List(vec![s("hello")])));
    // B kept a copy (A sent it to its closest peer), so it lists the key.
    let (_, keys) = api(&b, "DhtGetAllKeys", &[s("")]);
    assert!(
        matches!(&keys, Value::List(l) if l.contains(&s(&key))),
        "{keys:?}"
    );
    // B's owner cannot write into A's namespace.
    let (st, v) = api(&b, "DhtPutValue", &[s(&b_sid), s(""), s(&key), s("mine")]);
    assert_eq!(st, 400, "{v:?}");
    // A newer value replaces the old one everywhere.
    let (st, _) = api(
        &a,
        "DhtPutValue",
        &[s(&a_sid), s(""), s("greeting"), s("hi")],
    );
    assert_eq!(st, 200);
    let (_, v) = api(&b, "DhtGetValue", &[s(""), s(""), s(&key)]);
    assert_eq!(v, s("hi"));
    let (st, v) = api(
        &b,
        "DhtGetValue",
        &[s(""), s(""), s(&format!("{a_id}/none"))],
    );
    assert_eq!(st, 404, "{v:?}");
    let (st, v) = api(&b, "DhtNetworkSize", &[s(""), s("")]);
    assert!(st == 200 && v.as_i64().unwrap() >= 2, "{v:?}");
    let (st, _) = api(
        &b,
        "DhtPutValue",
        &[s(&b_sid), s(""), s("big"), s(&"x".repeat(5000))],
    );
    assert_eq!(st, 400);
}

/// An address the owner names as reachable from outside (`SetExtAddr`, kept in `FixedAddr`)
/// is in `SwarmLocal` at once and again after a restart, as a port mapping's is: the swarm
/// reports no event for an address added by hand, only for one AutoNAT confirms, and this
/// list once showed only those (a PCP mapping made before AutoNAT's test never showed).
#[cfg(feature = "net")]
#[test]
fn an_external_address_named_by_hand_is_in_swarm_local_and_stays_after_a_restart() {
    use leither::api::Value::Int;
    let mut n = TestNode::start_with(|h| {
        common::set_system_var(h, "SwarmPort", Int(0));
        common::set_system_var(h, "Mdns", Value::Bool(false));
    });
    let sid = owner(&n);
    let ext = "/ip4/203.0.113.7/tcp/4001";
    let (st, v) = api(&n, "SetExtAddr", &[s(&sid), s(ext)]);
    assert_eq!(st, 200, "{v:?}");
    let (st, v) = api(&n, "SetExtAddr", &[s(&sid), s("http://203.0.113.7:8080")]);
    assert_eq!(st, 200, "{v:?}");
    let has = |n: &TestNode, sid: &str| {
        let (st, v) = api(n, "SwarmLocal", &[s(sid)]);
        assert_eq!(st, 200, "{v:?}");
        let Value::List(list) = v else {
            panic!("SwarmLocal: {v:?}")
        };
        list.iter()
            .filter_map(Value::as_str)
            .any(|a| a.starts_with(&format!("{ext}/p2p/12D3")))
    };
    assert!(has(&n, &sid), "SetExtAddr's multiaddr is not in SwarmLocal");
    n.stop();
    n.restart();
    let sid = owner(&n);
    assert!(
        has(&n, &sid),
        "FixedAddr's multiaddr is not in SwarmLocal after a restart"
    );
    let log = std::fs::read_to_string(n.home.join("Leither.log")).unwrap_or_default();
    assert!(
        !log.contains("FixedAddr:"),
        "an http:// entry of FixedAddr was parsed as a multiaddr:\n{log}"
    );
}
