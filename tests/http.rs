//! The HTTP port from outside: JSON calls with curl (a client we did not write), sessions and
//! passes, and every limit: unknown routes, methods, oversized heads and bodies, malformed
//! bodies, too many connections. After each bad request the node must still answer.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::TestNode;
use leither::pki::{NodeKey, Pass};

/// `curl -s -X POST url -d body`, returning (status, body).
fn curl(url: &str, body: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-S",
            "-m",
            "10",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
        ])
        .args(["-w", "\n%{http_code}", "--data-binary", body, url])
        .output()
        .expect("curl is needed for these tests (apt-get install curl)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn api(n: &TestNode, f: &str, body: &str) -> (u16, String) {
    curl(&format!("{}/api/{f}", n.url), body)
}

fn login_guest(n: &TestNode) -> String {
    let (s, b) = api(n, "Login", "[]");
    assert_eq!(s, 200, "{b}");
    let sid = b
        .split("\"sid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    sid.to_string()
}

/// Sends raw bytes and returns everything the node answers before closing (or 3 s).
fn raw(n: &TestNode, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", n.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn still_serving(n: &TestNode) {
    let (s, b) = api(n, "Echo", "[\"still here\"]");
    assert_eq!((s, b.as_str()), (200, "\"still here\""));
}

#[test]
fn json_calls_with_curl() {
    let n = TestNode::start();
    let sid = login_guest(&n);
    let (s, b) = api(&n, "GetVar", &format!("[\"{sid}\", \"ver\"]"));
    assert_eq!(s, 200, "{b}");
    assert_eq!(b, format!("\"{}\"", env!("CARGO_PKG_VERSION")));
    let (s, b) = api(&n, "GetVar", &format!("[\"{sid}\", \"hostid\"]"));
    assert_eq!((s, b.len()), (200, 29), "{b}");
    let (s, b) = api(&n, "GetVar", &format!("[\"{sid}\", \"peerid\"]"));
    assert!(s == 200 && b.starts_with("\"12D3KooW"), "{b}");
    let (s, b) = api(&n, "GetVar", &format!("[\"{sid}\", \"nodeinfo\"]"));
    assert!(s == 200 && b.contains("\"uptime\""), "{b}");
    let (s, b) = api(&n, "GetVar", &format!("[\"{sid}\", \"nope\"]"));
    assert_eq!(s, 404, "{b}");
    assert!(b.contains("nope"), "{b}");
    // Echo keeps unicode, nesting and numbers.
    let doc = r#"[{"a":[1,-2,3.5,true,null,"日本語 😀"],"b":{"c":""}}]"#;
    let (s, b) = api(&n, "Echo", doc);
    assert_eq!(s, 200);
    assert_eq!(format!("[{b}]"), doc);
    // Errors: unknown function 404, no session 401, wrong arguments 400.
    let (s, b) = api(&n, "Nope", "[]");
    assert_eq!(s, 404, "{b}");
    assert!(b.contains("Nope") && b.contains("\"error\""), "{b}");
    // "" is Leither's guest; an unknown session id is refused.
    let (s, b) = api(&n, "GetVar", "[\"\", \"ver\"]");
    assert_eq!(s, 200, "{b}");
    let (s, b) = api(&n, "GetVar", "[\"no-such-session\", \"ver\"]");
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("Login"), "{b}");
    let (s, b) = api(&n, "GetVar", &format!("[\"{sid}\", 7]"));
    assert_eq!(s, 400, "{b}");
    // Logout ends the session.
    let (s, _) = api(&n, "Logout", &format!("[\"{sid}\"]"));
    assert_eq!(s, 200);
    let (s, b) = api(&n, "GetVar", &format!("[\"{sid}\", \"ver\"]"));
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("expired") || b.contains("logged out"), "{b}");
}

#[test]
fn passes_owner_user_forged_expired() {
    let n = TestNode::start();
    let now = leither::clock::unix_now();
    let node_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let owner = Pass::sign(&node_key, vec![], now, 600).unwrap().to_text();
    let (s, b) = api(&n, "Login", &format!("[\"{owner}\"]"));
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"rights\":\"owner\""), "{b}");
    let user_key = NodeKey::generate().unwrap();
    common::admit(&n.home, &user_key.id().to_string());
    let user = Pass::sign(&user_key, vec![("app".into(), "x".into())], now, 600).unwrap();
    let (s, b) = api(&n, "Login", &format!("[\"{}\"]", user.to_text()));
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"rights\":\"user\""), "{b}");
    assert!(b.contains(&user_key.id().to_string()), "{b}");
    // Expired.
    let old = Pass::sign(&user_key, vec![], now - 7200, 60)
        .unwrap()
        .to_text();
    let (s, b) = api(&n, "Login", &format!("[\"{old}\"]"));
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("expired"), "{b}");
    // Forged: one character of the signed part changed.
    let t = user.to_text();
    let i = t.len() / 2;
    let c = if &t[i..i + 1] == "A" { "B" } else { "A" };
    let forged = format!("{}{}{}", &t[..i], c, &t[i + 1..]);
    let (s, b) = api(&n, "Login", &format!("[\"{forged}\"]"));
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("pass refused"), "{b}");
    // Garbage.
    let (s, b) = api(&n, "Login", "[\"not a pass\"]");
    assert_eq!(s, 401, "{b}");
    let (s, b) = api(&n, "VerifyPPT", &format!("[\"{}\"]", user.to_text()));
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"app\":\"x\""), "{b}");
    // The log never holds a pass.
    let log = std::fs::read_to_string(n.home.join("Leither.log")).unwrap_or_default();
    assert!(!log.contains(&owner) && !log.contains("ppt1."), "{log}");
}

#[test]
fn malformed_and_oversized_bodies_are_4xx_and_the_node_keeps_serving() {
    let n = TestNode::start();
    let (s, b) = api(&n, "Echo", "[1,");
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("malformed JSON"), "{b}");
    let (s, b) = api(&n, "Echo", "{\"a\":1}");
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("array"), "{b}");
    let deep = "[".repeat(10_000);
    let (s, _) = api(&n, "Echo", &deep);
    assert_eq!(s, 400);
    still_serving(&n);
    // Hprose: malformed gives 400 with an Hprose error body.
    let (s, b) = curl(&format!("{}/webapi/", n.url), "Cs5\"hello\"a1{s5\"wor");
    assert_eq!(s, 400, "{b}");
    assert!(b.starts_with('E'), "{b}");
    still_serving(&n);
    // Oversized body: 413 before it is read.
    let big = format!("[\"{}\"]", "x".repeat(2 * 1024 * 1024));
    let path = n.home.join("big.json");
    std::fs::write(&path, big).unwrap();
    let out = Command::new("curl")
        .args([
            "-s",
            "-m",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-binary",
        ])
        .arg(format!("@{}", path.display()))
        .arg(format!("{}/api/Echo", n.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "413");
    still_serving(&n);
    // Chunked bodies are refused with 411.
    let r = raw(
        &n,
        b"POST /api/Echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1]\r\n0\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 411"), "{r}");
    still_serving(&n);
}

#[test]
fn routes_heads_and_cors() {
    let n = TestNode::start();
    let r = raw(
        &n,
        b"GET /nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = raw(
        &n,
        b"GET /api/Echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    let r = raw(
        &n,
        b"OPTIONS /api/Echo HTTP/1.1\r\nHost: x\r\nOrigin: http://elsewhere\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 204"), "{r}");
    assert!(r.contains("Access-Control-Allow-Origin: *"), "{r}");
    assert!(r.contains("Access-Control-Allow-Methods"), "{r}");
    // A head over 8 KiB: 431.
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..200 {
        req.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(60)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let r = raw(&n, &req);
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    still_serving(&n);
    // Garbage instead of HTTP.
    let r = raw(&n, b"\x00\x01\x02 hello\r\n\r\n");
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    still_serving(&n);
    // Keep-alive: two requests on one connection.
    let body = "[1]";
    let one = format!(
        "POST /api/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = raw(&n, format!("{one}{one}").as_bytes());
    assert_eq!(r.matches("HTTP/1.1 200").count(), 2, "{r}");
}

/// A port full of connections being served answers 503 with the reason, then recovers
/// (idle connections would give way instead: tests/security.rs).
#[test]
fn connection_limit_answers_503_then_recovers() {
    let n = TestNode::start_with(|home| {
        common::set_system_var(home, "HttpMaxPerAddress", leither::api::Value::Int(1000));
    });
    let mut busy = Vec::new();
    for _ in 0..leither::limits::ConnLimits::default().max_connections {
        let mut s = TcpStream::connect(("127.0.0.1", n.port())).unwrap();
        // A head whose body has not come: the connection is being served.
        s.write_all(b"POST /api/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            .unwrap();
        busy.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let r = raw(&n, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(r.contains("HttpMaxConnections"), "{r}");
    drop(busy);
    std::thread::sleep(Duration::from_millis(300));
    still_serving(&n);
}

/// Every body size around the write buffer's thresholds comes after its head (a body piece of
/// 8 to 16 KiB once overtook the gathered head, and curl saw HTTP/0.9).
#[cfg(feature = "files")]
#[test]
fn bodies_of_every_size_follow_their_head() {
    let n = TestNode::start();
    for len in [
        0usize, 1, 8000, 8191, 8192, 8200, 12_000, 16_383, 16_384, 16_385, 40_000,
    ] {
        let path = n.home.join(format!("f{len}"));
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let out = common::ok(&common::leither(
            &n.home,
            &["ipfs", "add", path.to_str().unwrap()],
        ));
        let cid = out.trim().rsplit('/').next().unwrap().to_string();
        let (code, body) = common::curl(&[&format!("{}/ipfs/{cid}", n.url)]);
        assert_eq!(code, 200, "{len} bytes");
        assert!(body == data, "{len} bytes: the body differs");
    }
    still_serving(&n);
}

/// A pass as a JSON string inside the argument array.
fn quoted(pass: &str) -> String {
    format!(
        "[\"{}\"]",
        pass.trim().replace('\\', "\\\\").replace('"', "\\\"")
    )
}

fn std_b64(bytes: &[u8]) -> String {
    leither::pki::leither_files::base64_std(bytes)
}

#[test]
fn leither_json_passes_log_in_forged_and_expired_are_refused() {
    let n = TestNode::start();
    let now = leither::clock::unix_now();
    // Made by our CLI in Leither's form, with Leither's flags (-p in hours), by the node key.
    let file = n.home.join("owner.json.ppt");
    let o = common::leither(
        &n.home,
        &[
            "lpki",
            "signppt",
            "-f",
            "json",
            "-p",
            "1",
            "-m",
            "CertFor=Self",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let owner = std::fs::read_to_string(&file).unwrap();
    assert!(owner.trim_start().starts_with('{'), "{owner}");
    let (s, b) = api(&n, "Login", &quoted(&owner));
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"rights\":\"owner\""), "{b}");

    // Made by hand in Leither's shape: Data and Signature as Go writes []byte (std base64), the
    // key as the gob CertPK of a SodiumKeyPair, SignerID by Leither's rule.
    let user_key = NodeKey::generate().unwrap();
    common::admit(&n.home, &user_key.id().to_string());
    let data = format!(
        "{{\"SignTime\":\"{now}\",\"EndTime\":\"{}\",\"CertFor\":\"Self\"}}",
        now + 600
    );
    let mut gob = b"\x09\x0c\x00\x06sodium\x29\xff\x81\x03\x01\x01\x0dSodiumKeyPair\x01\xff\x82\x00\x01\x02\x01\x02Sk\x01\x0a\x00\x01\x02Pk\x01\x0a\x00\x00\x00\x25\xff\x82\x02\x20".to_vec();
    gob.extend_from_slice(&user_key.public_key());
    gob.push(0);
    let by_hand = |data: &str, sig: &[u8; 64]| {
        format!(
            "{{\"Data\":\"{}\",\"Signature\":\"{}\",\"SignerID\":\"{}\",\"KeyType\":\"sodium\",\"Version\":1,\"CertPK\":\"{}\"}}",
            std_b64(data.as_bytes()),
            std_b64(sig),
            user_key.id(),
            std_b64(&gob)
        )
    };
    let pass = by_hand(&data, &user_key.sign(data.as_bytes()));
    let (s, b) = api(&n, "Login", &quoted(&pass));
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"rights\":\"user\""), "{b}");
    assert!(b.contains(&user_key.id().to_string()), "{b}");
    let (s, b) = api(&n, "VerifyPPT", &quoted(&pass));
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"CertFor\":\"Self\""), "{b}");

    // Forged: the data says a later end than the one signed.
    let longer = data.replace(&format!("{}", now + 600), &format!("{}", now + 999_999));
    let forged = by_hand(&longer, &user_key.sign(data.as_bytes()));
    let (s, b) = api(&n, "Login", &quoted(&forged));
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("signature"), "{b}");
    // Expired.
    let old = format!(
        "{{\"SignTime\":\"{}\",\"EndTime\":\"{}\"}}",
        now - 7200,
        now - 3600
    );
    let expired = by_hand(&old, &user_key.sign(old.as_bytes()));
    let (s, b) = api(&n, "Login", &quoted(&expired));
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("expired"), "{b}");
}
