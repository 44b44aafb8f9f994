//! The HTTP hot path (src/http/fast.rs: Lever calls and JSON API calls read by the node's own
//! codec) from outside, over raw connections: keep-alive, pipelining with requests that
//! picoserve answers in between, `Connection: close` and HTTP/1.0, bodies in pieces; and the
//! attacks on it, one test each, after which the node must still answer.
#![cfg(feature = "lever")]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::TestNode;

fn node_with_hello() -> TestNode {
    let n = TestNode::start();
    let dir = common::repo_root().join("tests/apps/hello");
    common::deploy_dev(&n.home, &dir);
    n
}

fn connect(n: &TestNode) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", n.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn post(path: &str, body: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One answer: status, head, body (framed by its Content-Length).
struct Answer {
    code: u16,
    head: String,
    body: String,
}

/// Reads one answer from `s`, `pending` holding bytes read past the last one.
fn read_answer(s: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Answer> {
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&pending[..end]).into_owned();
    let code = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while pending.len() < end + length {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
    let body = String::from_utf8_lossy(&pending[end..end + length]).into_owned();
    pending.drain(..end + length);
    Some(Answer { code, head, body })
}

/// True when the node closes `s` (after what it had to say) within its read timeout.
fn closed(s: &mut TcpStream, pending: &[u8]) -> bool {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).is_ok() && rest.is_empty() && pending.is_empty()
}

fn still_serving(n: &TestNode) {
    let mut s = connect(n);
    s.write_all(post("/helloService/SayHello", "[\"again\"]", "").as_bytes())
        .unwrap();
    let a = read_answer(&mut s, &mut Vec::new()).expect("an answer");
    assert_eq!((a.code, a.body.as_str()), (200, "\"Hello, again!\""));
}

#[test]
fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let mut pending = Vec::new();
    // Many calls on one connection, one at a time.
    for i in 0..50 {
        s.write_all(post("/helloService/SayHello", &format!("[\"n{i}\"]"), "").as_bytes())
            .unwrap();
        let a = read_answer(&mut s, &mut pending).expect("an answer");
        assert_eq!(a.code, 200, "{}", a.head);
        assert_eq!(a.body, format!("\"Hello, n{i}!\""));
        assert!(a.head.contains("Connection: keep-alive"), "{}", a.head);
        assert!(
            a.head.contains("Access-Control-Allow-Origin: *"),
            "{}",
            a.head
        );
    }
    // In one write: hot, hot (the API), one picoserve answers (an unknown GET), then hot
    // ones again, which picoserve now serves on this connection.
    let mut burst = String::new();
    burst += &post("/helloService/SayHello", "[\"a\"]", "");
    burst += &post("/api/Echo", "[2]", "");
    burst += "GET /no/such/path HTTP/1.1\r\nHost: x\r\n\r\n";
    burst += &post("/helloService/SayHello", "[\"b\"]", "");
    burst += &post("/api/Echo", "[3]", "");
    s.write_all(burst.as_bytes()).unwrap();
    let answers: Vec<(u16, String)> = (0..5)
        .map(|_| {
            let a = read_answer(&mut s, &mut pending).expect("an answer");
            (a.code, a.body)
        })
        .collect();
    assert_eq!(answers[0], (200, "\"Hello, a!\"".to_string()));
    assert_eq!(answers[1], (200, "2".to_string()));
    assert_eq!(answers[2].0, 404, "{}", answers[2].1);
    assert_eq!(answers[3], (200, "\"Hello, b!\"".to_string()));
    assert_eq!(answers[4], (200, "3".to_string()));
}

#[test]
fn a_body_in_pieces_is_read_whole() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let mut pending = Vec::new();
    let req = post("/helloService/SayHello", "[\"slow but steady\"]", "");
    // The head in two pieces, then the body a few bytes at a time.
    for piece in req.as_bytes().chunks(11) {
        s.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let a = read_answer(&mut s, &mut pending).expect("an answer");
    assert_eq!(
        (a.code, a.body.as_str()),
        (200, "\"Hello, slow but steady!\"")
    );
    // A body larger than the connection's buffer.
    let long = "y".repeat(40_000);
    s.write_all(post("/helloService/SayHello", &format!("[\"{long}\"]"), "").as_bytes())
        .unwrap();
    let a = read_answer(&mut s, &mut pending).expect("an answer");
    assert_eq!(a.code, 200);
    assert_eq!(a.body, format!("\"Hello, {long}!\""));
}

#[test]
fn connection_close_and_http_1_0_end_the_connection_after_the_answer() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let mut pending = Vec::new();
    s.write_all(post("/helloService/SayHello", "[\"x\"]", "Connection: close\r\n").as_bytes())
        .unwrap();
    let a = read_answer(&mut s, &mut pending).expect("an answer");
    assert_eq!(a.code, 200);
    assert!(a.head.contains("Connection: close"), "{}", a.head);
    assert!(closed(&mut s, &pending));
    let mut s = connect(&n);
    let body = "[\"y\"]";
    let req = format!(
        "POST /helloService/SayHello HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let a = read_answer(&mut s, &mut pending).expect("an answer");
    assert_eq!((a.code, a.body.as_str()), (200, "\"Hello, y!\""));
    assert!(closed(&mut s, &pending));
}

/// Errors on the hot path are Lever's and the API's own, and the connection goes on.
#[test]
fn refusals_on_the_hot_path_keep_the_connection() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let mut pending = Vec::new();
    let tries: [(&str, &str, u16, &str); 4] = [
        ("/nosuch/Method", "[]", 404, "no_service"),
        ("/helloService/SayHello", "[1,", 400, "bad_json"),
        ("/helloService/SayHello", "{}", 400, "bad_body"),
        ("/api/NoSuchFunction", "[]", 404, "\"code\""),
    ];
    for (path, body, code, text) in tries {
        s.write_all(post(path, body, "").as_bytes()).unwrap();
        let a = read_answer(&mut s, &mut pending).expect("an answer");
        assert_eq!(a.code, code, "{path}: {}", a.body);
        assert!(a.body.contains(text), "{path}: {}", a.body);
    }
    s.write_all(post("/helloService/SayHello", "[\"z\"]", "").as_bytes())
        .unwrap();
    let a = read_answer(&mut s, &mut pending).expect("an answer");
    assert_eq!((a.code, a.body.as_str()), (200, "\"Hello, z!\""));
}

/// A request with two different `Content-Length`s (a classic of request smuggling: two
/// readers frame it differently; picoserve took the first, the head guard the last) is
/// refused with 400 naming the rule, and the request hidden in its "body" never runs.
#[test]
fn a_request_smuggled_behind_two_content_lengths_is_not_run() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let hidden = post("/api/Echo", "[\"smuggled\"]", "");
    let req = format!(
        "POST /helloService/SayHello HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nContent-Length: {}\r\n\r\n[\"world\"]{hidden}",
        9 + hidden.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.shutdown(Shutdown::Write);
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let all = String::from_utf8_lossy(&all);
    assert!(!all.contains("smuggled"), "{all}");
    assert!(all.starts_with("HTTP/1.1 400"), "{all}");
    assert!(all.contains("Content-Length"), "{all}");
    still_serving(&n);
}

/// A call announcing a body over the API's cap is refused with 413 before any of it is read
/// (the node does not wait for, nor buffer, what it will not take), and the connection ends.
#[test]
fn an_oversized_call_body_is_refused_before_it_is_read() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let head = "POST /helloService/SayHello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n[\"";
    s.write_all(head.as_bytes()).unwrap();
    let mut pending = Vec::new();
    let a = read_answer(&mut s, &mut pending).expect("an answer before the body");
    assert_eq!(a.code, 413, "{}", a.body);
    assert!(a.body.contains("1048576"), "{}", a.body);
    assert!(a.head.contains("Connection: close"), "{}", a.head);
    still_serving(&n);
}

/// A body that stops short of its `Content-Length` (the client closes half way) is not run.
#[test]
fn a_body_shorter_than_its_length_is_not_run() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let req = "POST /api/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[\"cut\"]";
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.shutdown(Shutdown::Write);
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let all = String::from_utf8_lossy(&all);
    assert!(!all.contains("cut"), "{all}");
    still_serving(&n);
}

/// A client that pipelines a flood of calls without reading its answers is bounded: the
/// node writes into the socket only as the client reads (no answer queue grows without
/// bound), and once the client reads, every call is answered in order.
#[test]
fn a_flood_of_pipelined_calls_is_answered_in_order_without_a_growing_queue() {
    let n = node_with_hello();
    let mut s = connect(&n);
    let calls = 2000;
    let mut burst = String::new();
    for i in 0..calls {
        burst += &post("/api/Echo", &format!("[{i}]"), "");
    }
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(burst.as_bytes()))
    };
    let mut pending = Vec::new();
    let mut served = 0;
    for i in 0..calls {
        let Some(a) = read_answer(&mut s, &mut pending) else {
            break;
        };
        if a.code == 429 {
            // RateCallsPerSec's burst: refused calls are answered too, in order.
            assert!(a.head.contains("Retry-After"), "{}", a.head);
            continue;
        }
        assert_eq!((a.code, a.body.clone()), (200, i.to_string()));
        served += 1;
    }
    writer.join().unwrap().unwrap();
    assert!(served >= 100, "{served}");
    still_serving(&n);
}
