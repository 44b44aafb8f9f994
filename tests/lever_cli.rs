//! The `lever` client from outside, where it does not depend on the node's Lever runtime:
//! usage errors for bad URLs and arguments (exit 2, saying how to write them), a deploy of a
//! folder without lever.json refused before anything is uploaded, `invoke`/`stream` of a
//! service the node does not run reported as the node's JSON error with its HTTP status
//! (exit 1), and every command against a scripted stand-in for a Lever node that checks the
//! requests (paths, `forceenv`, `Authorization: Bearer`, JSON bodies, masked WebSocket frames
//! and the end-of-input marker) and answers as the contract says. The runtime's own side is
//! tested with it.

#![cfg(feature = "lever")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use common::{TestNode, leither};
use leither::cli::ws_proto::accept_for;

fn fails(o: &Output, code: i32) -> String {
    assert_eq!(o.status.code(), Some(code), "{o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn usage_errors_say_how() {
    let home = common::fresh_home();
    let e = fails(&leither(&home, &["lever", "invoke", "http://x/hello/m"]), 2);
    assert!(e.contains("lever://ENV/SERVICE[/RESOURCE]/METHOD"), "{e}");
    let e = fails(
        &leither(&home, &["lever", "invoke", "lever://dev.lever/hello"]),
        2,
    );
    assert!(e.contains("no method"), "{e}");
    let e = fails(
        &leither(
            &home,
            &["lever", "invoke", "lever://hello/sayHello", "world"],
        ),
        2,
    );
    assert!(e.contains("quote strings as JSON, e.g. '\"world\"'"), "{e}");
    let e = fails(
        &leither(&home, &["lever", "stream", "lever://hello/sayHello", "{"]),
        2,
    );
    assert!(e.contains("argument 1"), "{e}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn node_errors_are_reported() {
    let n = TestNode::start();
    let app = common::fresh_home().join("nolever");
    std::fs::create_dir_all(&app).unwrap();
    let e = fails(
        &leither(&n.home, &["lever", "deploy", app.to_str().unwrap()]),
        1,
    );
    assert!(e.contains("has no lever.json"), "{e}");

    for cmd in ["invoke", "stream"] {
        let o = std::process::Command::new(common::BIN)
            .arg("--home")
            .arg(&n.home)
            .args(["lever", cmd, "lever://dev.lever/nosuchservice/m", "\"x\""])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let e = fails(&o, 1);
        assert!(
            e.starts_with("leither: ") && e.contains("(HTTP "),
            "{cmd}: {e}"
        );
    }
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
struct Req {
    /// The request line and headers.
    head: String,
    body: Vec<u8>,
}

impl Req {
    fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }
}

/// A scripted Lever node on 127.0.0.1: answers the API and Lever's routes as the contract
/// says, and records every request.
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Req>>>,
}

fn reply(s: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Reads one masked client frame: (opcode, unmasked payload).
fn client_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert!(h[1] & 0x80 != 0, "client frames are masked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut mask = [0u8; 4];
    s.read_exact(&mut mask).unwrap();
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).unwrap();
    for (i, b) in p.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    (h[0] & 0x0f, p)
}

fn server_text(s: &mut TcpStream, t: &str) {
    assert!(t.len() < 126);
    let mut f = vec![0x81, t.len() as u8];
    f.extend_from_slice(t.as_bytes());
    s.write_all(&f).unwrap();
}

/// The stream `/chat/m`: echoes each text message as `got <message>` until the end-of-input
/// marker (an empty binary frame), then `done` and a normal Close.
fn chat(s: &mut TcpStream, head: &str) {
    let key = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    write!(
        s,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(key)
    )
    .unwrap();
    // A ping first: the client must answer it before its Close (RFC 6455 5.5.2: a Pong is
    // owed for every Ping received before a Close). Its pong may come before, between or after
    // its messages and its end marker: its input and the node's frames are handled
    // independently, so no order among them is promised (issue 19: under load the end
    // marker came first).
    s.write_all(&[0x89, 0x01, b'p']).unwrap();
    let mut ponged = false;
    let pong = |p: &[u8], ponged: &mut bool| {
        assert!(p == b"p" && !*ponged, "an unexpected pong {p:?}");
        *ponged = true;
    };
    loop {
        match client_frame(s) {
            (0x0a, p) => pong(&p, &mut ponged),
            (0x01, text) => server_text(s, &format!("got {}", String::from_utf8(text).unwrap())),
            (0x02, end) if end.is_empty() => break,
            other => panic!("unexpected frame {other:?}"),
        }
    }
    server_text(s, "done");
    s.write_all(&[0x88, 0x02, 0x03, 0xe8]).unwrap();
    loop {
        match client_frame(s) {
            (0x0a, p) => pong(&p, &mut ponged),
            (0x08, _) => break,
            other => panic!("unexpected frame after the end marker {other:?}"),
        }
    }
    assert!(
        ponged,
        "the ping was not answered before the client's Close"
    );
}

fn serve(mut s: TcpStream, seen: &Mutex<Vec<Req>>) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read_exact(&mut b).is_err() {
            return;
        }
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).unwrap();
    let req = Req { head, body };
    seen.lock().unwrap().push(req.clone());
    let target = req.target().to_string();
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/api/Login" => reply(
            &mut s,
            200,
            r#"{"sid":"S1","uid":"","rights":"owner","expires":0}"#,
        ),
        "/api/LeverLs" => reply(
            &mut s,
            200,
            r#"[{"env":"dev.lever","name":"hello","mid":"AppMid","version":3,"private":false,"instances":2,"inflight":0,"calls":41,"errors":1,"rate":0.5,"latencyMs":3}]"#,
        ),
        "/api/LeverLogs" => reply(&mut s, 200, r#"{"lines":["one","two"],"next":2}"#),
        "/api/LeverRollback" => reply(&mut s, 200, r#"{"version":2}"#),
        "/api/LeverRm" => reply(&mut s, 200, "true"),
        "/hello/sayHello" => reply(&mut s, 200, r#""Hello, world!""#),
        "/broken/m" => reply(&mut s, 500, r#"{"error":"boom in broken.m","code":"lua"}"#),
        "/chat/m" => chat(&mut s, &req.head),
        _ => reply(&mut s, 404, r#"{"error":"no such path"}"#),
    }
}

impl Fake {
    fn start() -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else { return };
                serve(c, &s2);
            }
        });
        Fake { url, seen }
    }

    /// The requests to `path` (the target without its query), in order.
    fn to(&self, path: &str) -> Vec<Req> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.target().split('?').next() == Some(path))
            .cloned()
            .collect()
    }
}

/// Runs `leither --home HOME lever CMD -n FAKE ARGS...` with `stdin`.
fn lever(home: &std::path::Path, fake: &Fake, args: &[&str], stdin: &str) -> Output {
    let mut c = Command::new(common::BIN)
        .arg("--home")
        .arg(home)
        .arg("lever")
        .arg(args[0])
        // Options go before the URL: the JSON arguments take everything after it.
        .args(["-n", &fake.url])
        .args(&args[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    common::ok(o)
}

#[test]
fn every_command_against_a_scripted_node() {
    let home = common::fresh_home();
    out(&leither(&home, &["init", "-p", "0", "-b", ""]));
    let f = Fake::start();

    // invoke: POST with forceenv, the session, the arguments as a JSON array.
    let o = lever(
        &home,
        &f,
        &["invoke", "lever://dev.lever/hello/sayHello", "\"world\""],
        "",
    );
    assert_eq!(out(&o), "\"Hello, world!\"\n");
    let r = &f.to("/hello/sayHello")[0];
    assert!(
        r.head
            .starts_with("POST /hello/sayHello?forceenv=dev.lever HTTP/1.1\r\n"),
        "{r:?}"
    );
    assert!(r.head.contains("Authorization: Bearer S1\r\n"), "{r:?}");
    assert!(
        r.head.contains("Content-Type: application/json\r\n"),
        "{r:?}"
    );
    assert_eq!(r.body, b"[\"world\"]");

    // An error answer: its message and status, exit 1.
    let o = lever(&home, &f, &["invoke", "lever://broken/m"], "");
    assert_eq!(fails(&o, 1), "leither: boom in broken.m (HTTP 500)\n");

    // stream: args in the query, stdin lines as messages, the end marker, the node's lines.
    let o = lever(
        &home,
        &f,
        &["stream", "lever://prod.lever/chat/m", "1", "{\"a\":true}"],
        "\"json line\"\nplain words\n",
    );
    assert_eq!(out(&o), "got \"json line\"\ngot \"plain words\"\ndone\n");
    let r = &f.to("/chat/m")[0];
    assert!(
        r.head.starts_with(
            "GET /chat/m?forceenv=prod.lever&args=%5B1%2C%7B%22a%22%3Atrue%7D%5D HTTP/1.1\r\n"
        ),
        "{r:?}"
    );
    assert!(r.head.contains("Authorization: Bearer S1\r\n"), "{r:?}");

    let o = lever(&home, &f, &["ls"], "");
    assert_eq!(
        out(&o),
        "ENV        SERVICE  VERSION  INSTANCES  CALLS  ERRORS  APP\n\
         dev.lever  hello    3        2          41     1       AppMid\n"
    );
    assert_eq!(f.to("/api/LeverLs")[0].body, b"[\"S1\",\"\"]");

    let o = lever(&home, &f, &["logs", "hello"], "");
    assert_eq!(out(&o), "one\ntwo\n");
    assert_eq!(
        f.to("/api/LeverLogs")[0].body,
        b"[\"S1\",\"dev.lever\",\"hello\",0]"
    );

    let o = lever(&home, &f, &["rollback", "hello", "--env", "x.lever"], "");
    assert_eq!(out(&o), "Rolled back hello to version 2\n");
    assert_eq!(
        f.to("/api/LeverRollback")[0].body,
        b"[\"S1\",\"x.lever\",\"hello\",0]"
    );

    let o = lever(&home, &f, &["rm", "hello"], "");
    assert_eq!(out(&o), "Removed hello from dev.lever\n");
    assert_eq!(
        f.to("/api/LeverRm")[0].body,
        b"[\"S1\",\"dev.lever\",\"hello\"]"
    );
    let _ = std::fs::remove_dir_all(&home);
}
