//! The RESP door's connection layer, end to end on a running node: blocking pops (first
//! blocked first served, timeouts, `MULTI`, a client that goes while blocked), `HELLO 3`'s
//! RESP3 shapes, who may `CONFIG SET`, and a stranger who blocks as many clients as it may
//! while the owner goes on being answered.
#![cfg(feature = "resp")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{TestNode, curl, leither, ok};
use leither::api::Value;
use leither::pki::{NodeKey, Pass};

fn node() -> TestNode {
    TestNode::start_listening("resp", "RespPort", |home| {
        common::set_system_var(home, "RespAddr", Value::Str("0.0.0.0".into()));
        common::set_system_var(home, "RespMaxConnections", Value::Int(16));
    })
}

/// A RESP client from `source` (127.0.0.1 is the owner).
struct C(TcpStream);

impl C {
    fn from(n: &TestNode, source: &str) -> C {
        let target: std::net::SocketAddr =
            format!("127.0.0.1:{}", n.port_of("resp")).parse().unwrap();
        let s = socket2_bind(source, target);
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        C(s)
    }

    fn owner(n: &TestNode) -> C {
        C::from(n, "127.0.0.1")
    }

    fn send(&mut self, args: &[&str]) {
        let mut b = format!("*{}\r\n", args.len());
        for a in args {
            b.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.0.write_all(b.as_bytes()).unwrap();
    }

    /// Reads one whole reply, raw.
    fn read(&mut self) -> String {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !complete(&got) {
            match self.0.read(&mut byte) {
                Ok(0) => panic!("closed after {:?}", String::from_utf8_lossy(&got)),
                Ok(_) => got.push(byte[0]),
                Err(e) => panic!("no reply ({e}) after {:?}", String::from_utf8_lossy(&got)),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.read()
    }

    /// Whether nothing arrives within `d`.
    fn silent_for(&mut self, d: Duration) -> bool {
        self.0.set_read_timeout(Some(d)).unwrap();
        let mut b = [0u8; 1];
        let r = matches!(self.0.read(&mut b), Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
        self.0
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        r
    }
}

fn socket2_bind(source: &str, target: std::net::SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(async {
            let s = tokio::net::TcpSocket::new_v4()?;
            s.bind(format!("{source}:0").parse().unwrap())?;
            s.connect(target).await
        })
        .unwrap();
    let s = s.into_std().unwrap();
    s.set_nonblocking(false).unwrap();
    s
}

/// Whether `b` holds one whole RESP reply (RESP2 and RESP3 shapes used here).
fn complete(b: &[u8]) -> bool {
    fn one(b: &[u8], at: usize) -> Option<usize> {
        let line_end = b[at..].windows(2).position(|w| w == b"\r\n")? + at;
        let head = &b[at + 1..line_end];
        let n: i64 = std::str::from_utf8(head).ok()?.parse().unwrap_or(0);
        let next = line_end + 2;
        match b[at] {
            b'$' if n >= 0 => {
                let end = next + n as usize + 2;
                (b.len() >= end).then_some(end)
            }
            b'*' | b'~' | b'%' => {
                let items = if b[at] == b'%' { 2 * n } else { n };
                let mut p = next;
                for _ in 0..items.max(0) {
                    p = one(b, p)?;
                }
                Some(p)
            }
            _ => Some(next),
        }
    }
    !b.is_empty() && one(b, 0) == Some(b.len())
}

fn blocked(owner: &mut C) -> usize {
    let info = owner.call(&["INFO", "clients"]);
    info.split("blocked_clients:")
        .nth(1)
        .and_then(|r| r.split("\r\n").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no blocked_clients in {info}"))
}

fn wait_blocked(owner: &mut C, n: usize) {
    let t = Instant::now();
    while blocked(owner) != n {
        assert!(t.elapsed() < Duration::from_secs(5), "never {n} blocked");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn blocking_pops_serve_first_blocked_first_and_time_out() {
    let n = node();
    let mut o = C::owner(&n);
    let (mut a, mut b) = (C::owner(&n), C::owner(&n));
    a.send(&["BLPOP", "q", "0"]);
    wait_blocked(&mut o, 1);
    b.send(&["BLPOP", "q", "0"]);
    wait_blocked(&mut o, 2);
    assert_eq!(o.call(&["RPUSH", "q", "x", "y", "z"]), ":3\r\n");
    assert_eq!(a.read(), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(b.read(), "*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
    // Served before the pusher's next command ran.
    assert_eq!(o.call(&["LRANGE", "q", "0", "-1"]), "*1\r\n$1\r\nz\r\n");
    // Data already there: no wait. A timeout answers nil.
    assert_eq!(a.call(&["BRPOP", "q", "1"]), "*2\r\n$1\r\nq\r\n$1\r\nz\r\n");
    let t = Instant::now();
    assert_eq!(a.call(&["BLPOP", "q", "0.2"]), "*-1\r\n");
    assert!(
        t.elapsed() >= Duration::from_millis(180),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        a.call(&["BLPOP", "q", "-1"]),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        a.call(&["BLPOP", "q", "x"]),
        "-ERR timeout is not a float or out of range\r\n"
    );
    // Inside MULTI it is the non-blocking form.
    assert_eq!(a.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.call(&["BLPOP", "q", "0"]), "+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]), "*1\r\n*-1\r\n");
    // Pipelined commands after a blocked one wait for it.
    a.send(&["BLPOP", "p", "0"]);
    a.send(&["PING"]);
    assert!(a.silent_for(Duration::from_millis(200)));
    assert_eq!(o.call(&["LPUSH", "p", "v"]), ":1\r\n");
    assert_eq!(a.read(), "*2\r\n$1\r\np\r\n$1\r\nv\r\n");
    assert_eq!(a.read(), "+PONG\r\n");
    // A timeout far past any clock still waits, and is served.
    a.send(&["BLPOP", "far", "4000000000000000"]);
    wait_blocked(&mut o, 1);
    o.call(&["RPUSH", "far", "v"]);
    assert_eq!(a.read(), "*2\r\n$3\r\nfar\r\n$1\r\nv\r\n");
    // Keys written together are served in the order they were written.
    a.send(&["BLPOP", "k2", "k1", "0"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.call(&["MULTI"]), "+OK\r\n");
    o.call(&["RPUSH", "k1", "first"]);
    o.call(&["RPUSH", "k2", "second"]);
    assert_eq!(o.call(&["EXEC"]), "*2\r\n:1\r\n:1\r\n");
    assert_eq!(a.read(), "*2\r\n$2\r\nk1\r\n$5\r\nfirst\r\n");
    // A client that goes while blocked leaves: nothing is popped for it.
    let mut gone = C::owner(&n);
    gone.send(&["BLPOP", "g", "0"]);
    wait_blocked(&mut o, 1);
    drop(gone);
    wait_blocked(&mut o, 0);
    assert_eq!(o.call(&["RPUSH", "g", "kept"]), ":1\r\n");
    assert_eq!(o.call(&["LLEN", "g"]), ":1\r\n");
    // CLIENT UNBLOCK.
    let id = a.call(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim();
    a.send(&["BLPOP", "none", "0"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.call(&["CLIENT", "UNBLOCK", id, "ERROR"]), ":1\r\n");
    assert_eq!(
        a.read(),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
}

#[test]
fn hello_3_speaks_resp3() {
    let n = node();
    let mut c = C::owner(&n);
    let h = c.call(&["HELLO", "3"]);
    assert!(
        h.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{h}"
    );
    assert!(h.contains("$5\r\nproto\r\n:3\r\n"), "{h}");
    assert_eq!(c.call(&["GET", "missing"]), "_\r\n");
    assert_eq!(c.call(&["BLPOP", "none", "0.01"]), "_\r\n");
    assert_eq!(c.call(&["RPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.call(&["BLPOP", "l", "0"]), "*2\r\n$1\r\nl\r\n$1\r\na\r\n");
    assert_eq!(
        c.call(&["CONFIG", "GET", "save"]),
        "%1\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
    assert_eq!(
        c.call(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert!(c.call(&["HELLO", "2"]).starts_with("*14\r\n"));
    assert_eq!(c.call(&["GET", "missing"]), "$-1\r\n");
}

/// A pass the stranger made for itself: AUTH takes it, and the node sees a visitor.
fn stranger_pass(key: &NodeKey) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Pass::sign(key, vec![], now, 600).unwrap().to_text()
}

/// A stranger's SELECT of a numbered database the owner never made writes nothing: it is
/// told to wait for the owner. Once the owner selected it, the stranger reaches it (and its
/// rights refuse what the owner did not give).
#[test]
fn a_stranger_cannot_make_the_owners_numbered_databases() {
    let n = node();
    let key = NodeKey::generate().unwrap();
    let mut s = C::from(&n, "127.0.0.2");
    assert_eq!(s.call(&["AUTH", &stranger_pass(&key)]), "+OK\r\n");
    let r = s.call(&["SELECT", "5"]);
    assert!(
        r.starts_with("-ERR database 5 has not been made yet"),
        "{r}"
    );
    let mut o = C::owner(&n);
    assert_eq!(o.call(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(o.call(&["SET", "k", "v"]), "+OK\r\n");
    // The same Mimei on every SELECT (its ID is derived, not made again).
    assert_eq!(o.call(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(o.call(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(s.call(&["SELECT", "5"]), "+OK\r\n");
    assert!(s.call(&["GET", "k"]).starts_with("-NOPERM"));
}

#[test]
fn only_the_owner_sets_config() {
    let n = node();
    let key = NodeKey::generate().unwrap();
    let mut s = C::from(&n, "127.0.0.2");
    assert_eq!(s.call(&["AUTH", &stranger_pass(&key)]), "+OK\r\n");
    assert!(
        s.call(&["CONFIG", "SET", "hash-max-listpack-entries", "1"])
            .starts_with("-NOPERM")
    );
    assert!(
        s.call(&["CONFIG", "GET", "hash-max-listpack-entries"])
            .contains("128")
    );
    let mut o = C::owner(&n);
    assert_eq!(
        o.call(&["CONFIG", "SET", "hash-max-listpack-entries", "1"]),
        "+OK\r\n"
    );
    assert!(
        o.call(&["CONFIG", "GET", "hash-max-ziplist-entries"])
            .contains("$1\r\n1\r\n")
    );
    o.call(&["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(o.call(&["OBJECT", "ENCODING", "h"]), "$9\r\nhashtable\r\n");
    // CLIENT LIST: the stranger sees itself only.
    let list = s.call(&["CLIENT", "LIST"]);
    assert_eq!(list.matches("id=").count(), 1, "{list}");
    assert!(o.call(&["CLIENT", "LIST"]).matches("id=").count() >= 2);
}

#[test]
fn a_stranger_blocking_all_it_may_leaves_the_owner_answered() {
    let n = node();
    // The owner gives the stranger write on a database of its own making.
    let mid = ok(&leither(
        &n.home,
        &["mimei", "create", "-t", "db", "-m", "{{auto}}"],
    ))
    .lines()
    .find_map(|l| l.strip_prefix("mid= ").map(|m| m.trim().to_string()))
    .unwrap();
    let owner_key = NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let (st, body) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("[\"{}\"]", stranger_pass(&owner_key)),
        &format!("{}/api/Login", n.url),
    ]);
    assert_eq!(st, 200);
    let body = String::from_utf8_lossy(&body).into_owned();
    let sid = body
        .split("\"sid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let key = NodeKey::generate().unwrap();
    let (st, b) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("[\"{sid}\",\"{mid}\",\"{}\",\"write\"]", key.id()),
        &format!("{}/api/MMSetRight", n.url),
    ]);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let pass = stranger_pass(&key);
    // RespMaxConnections 16: strangers may hold 8 blocked clients; the rest are told so.
    let mut held = Vec::new();
    let mut refused = 0;
    for i in 0..12 {
        let mut c = C::from(&n, &format!("127.0.0.{}", 2 + i % 3));
        assert_eq!(c.call(&["AUTH", &pass]), "+OK\r\n");
        assert_eq!(c.call(&["SELECT", &mid]), "+OK\r\n");
        c.send(&["BLPOP", "never", "0"]);
        if c.silent_for(Duration::from_millis(150)) {
            held.push(c);
        } else {
            let r = c.read();
            assert!(
                r.contains("too many clients other than the node owner"),
                "{r}"
            );
            refused += 1;
        }
    }
    assert_eq!(held.len(), 8);
    assert_eq!(refused, 4);
    // The owner is answered at once, and may block too.
    let mut o = C::owner(&n);
    let t = Instant::now();
    assert_eq!(o.call(&["PING"]), "+PONG\r\n");
    assert_eq!(o.call(&["BLPOP", "mine", "0.05"]), "*-1\r\n");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // And the owner's pushes serve the stranger's waiters in order.
    assert_eq!(o.call(&["SELECT", &mid]), "+OK\r\n");
    assert_eq!(o.call(&["RPUSH", "never", "1", "2"]), ":2\r\n");
    assert_eq!(held[0].read(), "*2\r\n$5\r\nnever\r\n$1\r\n1\r\n");
    assert_eq!(held[1].read(), "*2\r\n$5\r\nnever\r\n$1\r\n2\r\n");
    // A write through the API serves a waiter too.
    let (st, b) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("[\"{sid}\",\"{mid}\",\"cur\"]"),
        &format!("{}/api/MMOpen", n.url),
    ]);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let mm = String::from_utf8_lossy(&b)
        .trim()
        .trim_matches('"')
        .to_string();
    let (st, b) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("[\"{mm}\",\"never\",\"api\"]"),
        &format!("{}/api/Rpush", n.url),
    ]);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(held[2].read(), "*2\r\n$5\r\nnever\r\n$3\r\napi\r\n");
}
