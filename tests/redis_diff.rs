//! Differential test of the node's RESP2 front door against Debian's `redis-server` 7.0: the
//! same commands go to both, over plain TCP, and every reply must match.
//!
//! - Each test starts its own `redis-server --save "" --appendonly no` on a free port (the
//!   oracle; missing, the test FAILS and says `apt-get install redis-server`) and the
//!   subject: by default a [`TestNode`] whose SystemVars.json got `"RespPort": N` (a port
//!   found free by binding port 0) between `init` and `run`, reached at 127.0.0.1:N once
//!   `leither.addr` is written. **The subject needs the node's RESP listener** (feature
//!   `resp`, `RespPort`): without it every test here fails with "did not listen on RespPort".
//! - `LEITHER_DIFF_AGAINST=redis` makes the subject a second redis-server instead: that run
//!   checks the harness itself (it must pass), e.g.
//!   `LEITHER_DIFF_AGAINST=redis cargo test --test redis_diff`.
//! - Commands come from a tiny xorshift generator with fixed seeds over a small key space (10
//!   keys, 6 fields and members, all five types), so type clashes (WRONGTYPE), wrong arity,
//!   unknown commands, bad integers and floats come up often. Keys carry a per-seed prefix so
//!   sequences do not meet; no FLUSHALL is needed.
//! - Replies Redis documents as unordered (SMEMBERS, SINTER, SUNION, SDIFF, HKEYS, HVALS,
//!   KEYS, and HGETALL as field/value pairs) are sorted before comparing; TTL and PTTL of
//!   keys with a time to live may differ by 1 s and 1000 ms; SCAN is compared as the sorted
//!   set of keys its whole cursor walk returns. Everything else must match byte for byte
//!   (doubles in `%.17g` form, error texts, nil bulk vs nil array).
//! - `LEITHER_DIFF_VERBOSE=1` prints every random command with redis-server's reply.
//! - On the first mismatch the test prints the seed, the command's index, the command, both
//!   replies and the commands before it.
//!
//! Tests: `random_sequences_match_redis` (16 seeds x 300 commands, `LEITHER_DIFF_SEEDS=N` for
//! more; 400 matched before this was committed; then KEYS and SCAN),
//! `pipelined_replies_match_redis` (1000 commands in one write), `raw_requests_match_redis`
//! (malformed RESP: both answer `-ERR Protocol error: ...` and close, while another
//! connection keeps working; inline commands and quoting; empty requests),
//! `expiry_matches_redis` (TTL/PTTL, short PEXPIRE then EXISTS), `scan_matches_redis`, and
//! `number_rules_match_redis`, which needs no node: it checks `leither::db::num` (integer,
//! float and score-bound parsing, `%.17g` replies) against redis-server alone;
//! `streams_match_redis` (3000 random stream commands with explicit IDs: XADD with trimming,
//! XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XREAD, XSETID) and `stream_groups_match_redis` (3000
//! consumer-group commands whose replies hold no times). About 3 s against redis-server.
#![cfg(feature = "resp")]

mod common;

use common::TestNode;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

/// How long a reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to accept connections after it was started.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// The servers

/// A `redis-server` child on 127.0.0.1, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one on a free port; a port taken between choosing and binding it (tests run
    /// in parallel and nodes bind port 0) costs a retry on another, at most five.
    fn start() -> RedisServer {
        let mut last = String::new();
        for _ in 0..5 {
            match RedisServer::try_start() {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("{last}");
    }

    fn try_start() -> Result<RedisServer, String> {
        let dir = common::fresh_home();
        let port = common::free_port();
        let child = Process::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "redis-server is needed as the oracle of this test and cannot be run ({e}): \
                     apt-get install redis-server"
                )
            });
        let mut server = RedisServer { child, port, dir };
        if let Err(e) = server.wait_ours() {
            let log = std::fs::read_to_string(server.dir.join("redis.log")).unwrap_or_default();
            return Err(format!("redis-server did not listen on {port}: {e}\n{log}"));
        }
        Ok(server)
    }

    /// Waits until the server answers on its port and is this one, not another program that
    /// took the port first: a redis-server that cannot bind exits, and the server on the port
    /// must name our `--dir`.
    fn wait_ours(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + LISTEN_TIMEOUT;
        let dir = self.dir.to_string_lossy().into_owned();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("redis-server exited ({status})"));
            }
            let e = match Conn::connect(self.port) {
                Ok(mut c) => match c.call(&cmd(&["CONFIG", "GET", "dir"])) {
                    Ok(r) if r.to_string().contains(&dir) => return Ok(()),
                    Ok(R::Arr(_)) => return Err("another redis-server owns the port".into()),
                    Ok(other) => format!("CONFIG GET dir answered {other}"),
                    Err(e) => format!("CONFIG GET dir: {e}"),
                },
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                return Err(e);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the oracle is compared with.
enum Subject {
    /// The node under test, with its RESP listener on `port`.
    Node { node: TestNode, port: u16 },
    /// A second redis-server (`LEITHER_DIFF_AGAINST=redis`): checks the harness.
    Redis(RedisServer),
}

impl Subject {
    fn start() -> Subject {
        match std::env::var("LEITHER_DIFF_AGAINST").as_deref() {
            Ok("redis") => Subject::Redis(RedisServer::start()),
            Ok("node") | Err(_) => {
                let node = TestNode::start_listening("resp", "RespPort", |_| {});
                let port = node.port_of("resp");
                // Bound before leither.addr was written: this PING checks it answers.
                if let Err(e) = wait_listening(port) {
                    panic!(
                        "the node did not listen on RespPort {port} ({e}); is the RESP listener \
                         built in (feature `resp`) and reading RespPort from SystemVars.json? \
                         node stderr:\n{}",
                        node.stderr()
                    );
                }
                Subject::Node { node, port }
            }
            Ok(other) => panic!("LEITHER_DIFF_AGAINST={other}: expected `node` or `redis`"),
        }
    }

    fn port(&self) -> u16 {
        match self {
            Subject::Node { port, .. } => *port,
            Subject::Redis(r) => r.port,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Subject::Node { .. } => "leither",
            Subject::Redis(_) => "redis #2",
        }
    }

    /// The node's stderr, to show with a mismatch.
    fn log(&self) -> String {
        match self {
            Subject::Node { node, .. } => node.stderr(),
            Subject::Redis(_) => String::new(),
        }
    }
}

fn wait_listening(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + LISTEN_TIMEOUT;
    loop {
        // Anything but PONG is retried until the deadline: a server still starting may
        // reset the first connection.
        let e = match Conn::connect(port) {
            Ok(mut c) => match c.call(&cmd(&["PING"])) {
                Ok(R::Simple(s)) if s == "PONG" => return Ok(()),
                Ok(other) => format!("PING answered {other}"),
                Err(e) => format!("PING: {e}"),
            },
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The oracle and the subject, started together.
struct Pair {
    redis: RedisServer,
    subject: Subject,
}

impl Pair {
    fn start() -> Pair {
        Pair {
            redis: RedisServer::start(),
            subject: Subject::start(),
        }
    }

    fn conns(&self) -> (Conn, Conn) {
        let a = Conn::connect(self.redis.port).expect("connect to redis-server");
        let b = Conn::connect(self.subject.port()).expect("connect to the subject");
        (a, b)
    }
}

// ---------------------------------------------------------------------------------------
// A minimal RESP2 client

/// A reply as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum R {
    Simple(String),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Arr(Option<Vec<R>>),
}

impl std::fmt::Display for R {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            R::Simple(s) => write!(f, "+{s}"),
            R::Err(e) => write!(f, "-{e}"),
            R::Int(n) => write!(f, ":{n}"),
            R::Bulk(None) => f.write_str("(nil)"),
            R::Bulk(Some(b)) => write!(f, "\"{}\"", b.escape_ascii()),
            R::Arr(None) => f.write_str("(nil array)"),
            R::Arr(Some(items)) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// One reply from the front of `b`, or `None` if it is not all there yet.
fn parse_reply(b: &[u8]) -> Result<Option<(R, usize)>, String> {
    let Some(cr) = b.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = &b[1..cr];
    let text = || String::from_utf8_lossy(line).into_owned();
    let num = || -> Result<i64, String> {
        text()
            .parse()
            .map_err(|_| format!("bad length or integer {:?}", text()))
    };
    let head = cr + 2;
    match b.first() {
        Some(b'+') => Ok(Some((R::Simple(text()), head))),
        Some(b'-') => Ok(Some((R::Err(text()), head))),
        Some(b':') => Ok(Some((R::Int(num()?), head))),
        Some(b'$') => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((R::Bulk(None), head)));
            }
            let end = head + n as usize;
            if b.len() < end + 2 {
                return Ok(None);
            }
            if &b[end..end + 2] != b"\r\n" {
                return Err("bulk not followed by CRLF".into());
            }
            Ok(Some((R::Bulk(Some(b[head..end].to_vec())), end + 2)))
        }
        Some(b'*') => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((R::Arr(None), head)));
            }
            let mut pos = head;
            let mut items = Vec::new();
            for _ in 0..n {
                match parse_reply(&b[pos..])? {
                    Some((item, used)) => {
                        items.push(item);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((R::Arr(Some(items)), pos)))
        }
        other => Err(format!("not a RESP2 reply: starts with {other:?}")),
    }
}

type Cmd = Vec<Vec<u8>>;

fn cmd(args: &[&str]) -> Cmd {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn encode(c: &Cmd, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
    for a in c {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn show(c: &Cmd) -> String {
    c.iter()
        .map(|a| {
            let s = a.escape_ascii().to_string();
            if s.is_empty() || s.contains(' ') {
                format!("\"{s}\"")
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn connect(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(REPLY_TIMEOUT))?;
        s.set_nodelay(true)?;
        Ok(Conn { s, buf: Vec::new() })
    }

    fn read_reply(&mut self) -> Result<R, String> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((r, used)) = parse_reply(&self.buf)? {
                self.buf.drain(..used);
                return Ok(r);
            }
            match self.s.read(&mut chunk) {
                Ok(0) => return Err("connection closed".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    fn call(&mut self, c: &Cmd) -> Result<R, String> {
        let mut out = Vec::new();
        encode(c, &mut out);
        self.s.write_all(&out).map_err(|e| format!("write: {e}"))?;
        self.read_reply()
    }

    /// Sends `cmds` in one write (from a second thread, so that neither side blocks on full
    /// socket buffers) and reads as many replies.
    fn pipeline(&mut self, cmds: &[Cmd]) -> Result<Vec<R>, String> {
        let mut out = Vec::new();
        for c in cmds {
            encode(c, &mut out);
        }
        let mut w = self.s.try_clone().map_err(|e| e.to_string())?;
        let writer = std::thread::spawn(move || w.write_all(&out));
        let replies = (0..cmds.len()).map(|_| self.read_reply()).collect();
        match writer.join() {
            Ok(Ok(())) => replies,
            Ok(Err(e)) => Err(format!("write: {e}")),
            Err(_) => Err("writer thread panicked".into()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Comparing

/// How two replies to a command are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Exact,
    /// An unordered array (SMEMBERS, KEYS, ...).
    Sorted,
    /// An unordered array of pairs (HGETALL).
    SortedPairs,
    /// TTL/PTTL: non-negative values may differ by this much.
    Within(i64),
}

fn normalize(r: R, how: Cmp) -> R {
    match (how, r) {
        (Cmp::Sorted, R::Arr(Some(mut v))) => {
            v.sort();
            R::Arr(Some(v))
        }
        (Cmp::SortedPairs, R::Arr(Some(v))) => {
            let mut pairs: Vec<Vec<R>> = v.chunks(2).map(|c| c.to_vec()).collect();
            pairs.sort();
            R::Arr(Some(pairs.concat()))
        }
        (_, r) => r,
    }
}

fn same(a: &R, b: &R, how: Cmp) -> bool {
    match (how, a, b) {
        (Cmp::Within(d), R::Int(x), R::Int(y)) if *x >= 0 && *y >= 0 => (x - y).abs() <= d,
        _ => normalize(a.clone(), how) == normalize(b.clone(), how),
    }
}

/// Compares one reply pair; on a mismatch panics with the context to reproduce it.
fn check(
    pair: &Pair,
    what: &str,
    history: &[Cmd],
    c: &Cmd,
    how: Cmp,
    a: Result<R, String>,
    b: Result<R, String>,
) {
    let ok = match (&a, &b) {
        (Ok(x), Ok(y)) => same(x, y, how),
        _ => false,
    };
    if ok {
        return;
    }
    let show_r = |r: &Result<R, String>| match r {
        Ok(r) => normalize(r.clone(), how).to_string(),
        Err(e) => format!("<{e}>"),
    };
    let before: Vec<String> = history
        .iter()
        .rev()
        .take(12)
        .rev()
        .map(|c| format!("    {}", show(c)))
        .collect();
    let log = pair.subject.log();
    panic!(
        "RESP reply differs from redis-server's\n  {what}, command #{}: {}\n  redis-server: {}\n  {:<12}  {}\n  \
         compared as {how:?}; the commands before it:\n{}\n{}",
        history.len(),
        show(c),
        show_r(&a),
        format!("{}:", pair.subject.name()),
        show_r(&b),
        before.join("\n"),
        if log.is_empty() {
            String::new()
        } else {
            format!("node stderr:\n{log}")
        }
    );
}

// ---------------------------------------------------------------------------------------
// The command generator

/// xorshift64*: enough randomness for choosing commands, the same on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "10",
    "42",
    "abc",
    "",
    "3.5",
    "9223372036854775807",
    "-9223372036854775808",
    "x y",
    "010",
    "v",
];
const INTS: &[&str] = &[
    "1",
    "-1",
    "5",
    "100",
    "abc",
    "1.5",
    "9223372036854775807",
    "-9223372036854775808",
    "",
    " 1",
    "+1",
    "0",
];
const SCORES: &[&str] = &[
    "0", "1", "2", "2.5", "-1", "0.1", "1e3", "inf", "-inf", "+inf", "abc", "nan", "1.5", "3",
    "0x10", " 1",
];
const BOUNDS: &[&str] = &[
    "-inf", "+inf", "0", "1", "(1", "2.5", "(2.5", "-1", "(0", "abc", "10", "(inf", "3",
];
const LEX: &[&str] = &["-", "+", "[m1", "(m1", "[m3", "(m4", "m2", "[", "(m9"];
const INDEXES: &[&str] = &["0", "1", "2", "-1", "-2", "-5", "5", "100", "x", "-100"];

/// Keys k0-k9, two per type (strings, hashes, lists, sets, sorted sets) in that order, so a
/// command mostly meets its own type and still often another (WRONGTYPE).
struct Gen {
    rng: Rng,
    prefix: String,
    family: Option<usize>,
}

impl Gen {
    fn new(seed: u64, prefix: &str) -> Gen {
        Gen {
            rng: Rng::new(seed),
            prefix: prefix.to_string(),
            family: None,
        }
    }

    /// A key of the current command's type nine times in ten, else any of the ten.
    fn key(&mut self) -> String {
        let i = match self.family {
            Some(f) if self.rng.chance(90) => f * 2 + self.rng.below(2),
            _ => self.rng.below(10),
        };
        format!("{}k{i}", self.prefix)
    }
    fn field(&mut self) -> String {
        format!("f{}", self.rng.below(6))
    }
    fn member(&mut self) -> String {
        format!("m{}", self.rng.below(6))
    }
    fn value(&mut self) -> String {
        self.rng.pick(VALUES).to_string()
    }
    fn pick(&mut self, from: &[&str]) -> String {
        self.rng.pick(from).to_string()
    }
    fn keys(&mut self, max: usize) -> Vec<String> {
        (0..1 + self.rng.below(max)).map(|_| self.key()).collect()
    }

    /// One random command and how to compare its replies.
    fn next(&mut self) -> (Cmd, Cmp) {
        use Cmp::*;
        let pick = self.rng.below(62);
        self.family = match pick {
            0..=18 => Some(0),
            19..=29 => Some(1),
            30..=38 => Some(2),
            39..=45 => Some(3),
            46..=58 => Some(4),
            _ => None,
        };
        let k = self.key();
        let mut how = Exact;
        let mut a: Vec<String> = match pick {
            // strings
            0..=3 => {
                let mut a = vec!["SET".into(), k, self.value()];
                if self.rng.chance(20) {
                    a.push("EX".into());
                    a.push(self.pick(&["100", "1000", "0", "abc", "-5"]));
                } else if self.rng.chance(15) {
                    a.push("PX".into());
                    a.push(self.pick(&["100000", "5000000"]));
                }
                if self.rng.chance(20) {
                    a.push("NX".into());
                }
                if self.rng.chance(20) {
                    a.push("XX".into());
                }
                if self.rng.chance(20) {
                    a.push("GET".into());
                }
                a
            }
            4..=5 => vec!["GET".into(), k],
            6 => [vec!["DEL".into()], self.keys(3)].concat(),
            7 => [vec!["EXISTS".into()], self.keys(3)].concat(),
            8 => vec!["INCR".into(), k],
            9 => vec!["DECR".into(), k],
            10 => vec!["INCRBY".into(), k, self.pick(INTS)],
            11 => vec!["DECRBY".into(), k, self.pick(INTS)],
            12 => vec!["APPEND".into(), k, self.value()],
            13 => vec!["STRLEN".into(), k],
            14 => {
                let mut a = vec!["MSET".into()];
                for _ in 0..1 + self.rng.below(3) {
                    a.push(self.key());
                    a.push(self.value());
                }
                if self.rng.chance(10) {
                    a.pop();
                }
                a
            }
            15 => [vec!["MGET".into()], self.keys(4)].concat(),
            16 => vec!["SETNX".into(), k, self.value()],
            17 => vec!["GETSET".into(), k, self.value()],
            18 => vec!["TYPE".into(), k],
            // hashes
            19..=21 => {
                let mut a = vec![if self.rng.chance(25) { "HMSET" } else { "HSET" }.into(), k];
                for _ in 0..1 + self.rng.below(3) {
                    a.push(self.field());
                    a.push(self.value());
                }
                if self.rng.chance(8) {
                    a.pop();
                }
                a
            }
            22 => vec!["HGET".into(), k, self.field()],
            23 => {
                let mut a = vec!["HMGET".into(), k];
                for _ in 0..1 + self.rng.below(3) {
                    a.push(self.field());
                }
                a
            }
            24 => {
                how = SortedPairs;
                vec!["HGETALL".into(), k]
            }
            25 => {
                how = Sorted;
                vec![self.pick(&["HKEYS", "HVALS"]), k]
            }
            26 => {
                let mut a = vec!["HDEL".into(), k];
                for _ in 0..1 + self.rng.below(2) {
                    a.push(self.field());
                }
                a
            }
            27 => vec!["HLEN".into(), k],
            28 => vec!["HEXISTS".into(), k, self.field()],
            29 => vec!["HINCRBY".into(), k, self.field(), self.pick(INTS)],
            // lists
            30..=32 => {
                let mut a = vec![self.pick(&["LPUSH", "RPUSH"]), k];
                for _ in 0..1 + self.rng.below(3) {
                    a.push(self.value());
                }
                a
            }
            33..=34 => match self.rng.below(5) {
                0 => vec![
                    "LMOVE".into(),
                    k,
                    self.key(),
                    self.pick(&["LEFT", "right", "up"]),
                    self.pick(&["left", "RIGHT"]),
                ],
                1 => vec!["RPOPLPUSH".into(), k, self.key()],
                2 => {
                    let keys = self.keys(2);
                    let n = self.pick(&["0", "x"]);
                    let n = if self.rng.chance(85) {
                        keys.len().to_string()
                    } else {
                        n
                    };
                    let mut a = [vec!["LMPOP".into(), n], keys].concat();
                    a.push(self.pick(&["LEFT", "right", "middle"]));
                    if self.rng.chance(50) {
                        a.push("COUNT".into());
                        a.push(self.pick(&["1", "3", "0", "-1", "x"]));
                    }
                    a
                }
                _ => {
                    let mut a = vec![self.pick(&["LPOP", "RPOP"]), k];
                    if self.rng.chance(40) {
                        a.push(self.pick(&["0", "1", "2", "5", "-1", "x"]));
                    }
                    if self.rng.chance(5) {
                        a.push("1".into());
                    }
                    a
                }
            },
            35 => match self.rng.below(3) {
                0 => vec!["LTRIM".into(), k, self.pick(INDEXES), self.pick(INDEXES)],
                _ => vec!["LRANGE".into(), k, self.pick(INDEXES), self.pick(INDEXES)],
            },
            36 => match self.rng.below(3) {
                0 => {
                    let mut a = vec!["LPOS".into(), k, self.value()];
                    for _ in 0..self.rng.below(3) {
                        a.push(self.pick(&["RANK", "COUNT", "MAXLEN", "FOO"]));
                        a.push(self.pick(INDEXES));
                    }
                    a
                }
                _ => vec!["LINDEX".into(), k, self.pick(INDEXES)],
            },
            37 => match self.rng.below(3) {
                0 => vec!["LREM".into(), k, self.pick(INDEXES), self.value()],
                1 => vec![
                    "LINSERT".into(),
                    k,
                    self.pick(&["BEFORE", "after", "x"]),
                    self.value(),
                    self.value(),
                ],
                _ => vec!["LLEN".into(), k],
            },
            38 => vec!["LSET".into(), k, self.pick(INDEXES), self.value()],
            // sets
            39..=40 => {
                let mut a = vec!["SADD".into(), k];
                for _ in 0..1 + self.rng.below(3) {
                    a.push(self.member());
                }
                a
            }
            41 => vec!["SREM".into(), k, self.member(), self.member()],
            42 => {
                how = Sorted;
                vec!["SMEMBERS".into(), k]
            }
            43 => match self.rng.below(3) {
                0 => vec!["SMISMEMBER".into(), k, self.member(), self.member()],
                _ => vec!["SISMEMBER".into(), k, self.member()],
            },
            44 => match self.rng.below(4) {
                0 => vec!["SMOVE".into(), k, self.key(), self.member()],
                1 => {
                    let mut a = vec!["SINTERCARD".into(), "2".into(), k, self.key()];
                    if self.rng.chance(40) {
                        a.push("LIMIT".into());
                        a.push(self.pick(&["0", "1", "-1", "x"]));
                    }
                    a
                }
                _ => vec!["SCARD".into(), k],
            },
            45 => {
                let c = self.pick(&[
                    "SINTER",
                    "SUNION",
                    "SDIFF",
                    "SINTERSTORE",
                    "SUNIONSTORE",
                    "SDIFFSTORE",
                ]);
                if !c.ends_with("STORE") {
                    how = Sorted;
                }
                [vec![c], self.keys(3)].concat()
            }
            // sorted sets
            46..=48 => {
                let mut a = vec!["ZADD".into(), k];
                for opt in ["NX", "XX", "CH", "INCR"] {
                    if self.rng.chance(10) {
                        a.push(opt.into());
                    }
                }
                let pairs = if self.rng.chance(50) {
                    1
                } else {
                    1 + self.rng.below(3)
                };
                for _ in 0..pairs {
                    a.push(self.pick(SCORES));
                    a.push(self.member());
                }
                a
            }
            49 => vec!["ZREM".into(), k, self.member(), self.member()],
            50 => match self.rng.below(3) {
                0 => vec!["ZMSCORE".into(), k, self.member(), self.member()],
                _ => vec!["ZSCORE".into(), k, self.member()],
            },
            51 => vec![self.pick(&["ZRANK", "ZREVRANK"]), k, self.member()],
            52 => match self.rng.below(3) {
                0 => {
                    let mut a = vec![self.pick(&["ZPOPMIN", "ZPOPMAX"]), k];
                    if self.rng.chance(50) {
                        a.push(self.pick(&["0", "1", "2", "-1"]));
                    }
                    a
                }
                _ => vec!["ZCARD".into(), k],
            },
            53 => match self.rng.below(3) {
                0 => vec!["ZLEXCOUNT".into(), k, self.pick(LEX), self.pick(LEX)],
                _ => vec!["ZCOUNT".into(), k, self.pick(BOUNDS), self.pick(BOUNDS)],
            },
            54 if self.rng.chance(40) => {
                let c = self.pick(&[
                    "ZUNION",
                    "ZINTER",
                    "ZDIFF",
                    "ZUNIONSTORE",
                    "ZINTERSTORE",
                    "ZDIFFSTORE",
                    "ZINTERCARD",
                ]);
                let store = c.ends_with("STORE");
                let mut a = vec![c.clone()];
                if store {
                    a.push(self.key());
                }
                a.extend([self.pick(&["1", "2", "2", "0"]), k, self.key()]);
                if !c.contains("DIFF") && self.rng.chance(30) {
                    a.extend(["WEIGHTS".into(), self.pick(SCORES), self.pick(SCORES)]);
                }
                if !c.contains("DIFF") && self.rng.chance(30) {
                    a.push("AGGREGATE".into());
                    a.push(self.pick(&["SUM", "MIN", "MAX", "AVG"]));
                }
                if !store && self.rng.chance(40) {
                    a.push("WITHSCORES".into());
                }
                a
            }
            54 if self.rng.chance(30) => {
                let c = self.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]);
                let mut a = vec![c, k, self.pick(LEX), self.pick(LEX)];
                if self.rng.chance(30) {
                    a.push("LIMIT".into());
                    a.push(self.pick(&["0", "1", "-1"]));
                    a.push(self.pick(&["1", "2", "-1"]));
                }
                a
            }
            54 => {
                let mut a = vec![self.pick(&["ZRANGE", "ZREVRANGE"]), k];
                a.push(self.pick(INDEXES));
                a.push(self.pick(INDEXES));
                if self.rng.chance(50) {
                    a.push("WITHSCORES".into());
                }
                a
            }
            55..=56 => {
                let mut a = vec![self.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), k];
                a.push(self.pick(BOUNDS));
                a.push(self.pick(BOUNDS));
                if self.rng.chance(50) {
                    a.push("WITHSCORES".into());
                }
                if self.rng.chance(30) {
                    a.push("LIMIT".into());
                    a.push(self.pick(&["0", "1", "2", "-1"]));
                    a.push(self.pick(&["1", "2", "-1", "0", "x"]));
                }
                a
            }
            57 => match self.rng.below(4) {
                0 => vec![
                    "ZREMRANGEBYRANK".into(),
                    k,
                    self.pick(INDEXES),
                    self.pick(INDEXES),
                ],
                1 => vec!["ZREMRANGEBYLEX".into(), k, self.pick(LEX), self.pick(LEX)],
                _ => vec![
                    "ZREMRANGEBYSCORE".into(),
                    k,
                    self.pick(BOUNDS),
                    self.pick(BOUNDS),
                ],
            },
            58 => vec!["ZINCRBY".into(), k, self.pick(SCORES), self.member()],
            // keys, with times to live too long to run out during the test
            59 => {
                let (c, n) = if self.rng.chance(50) {
                    ("EXPIRE", self.pick(&["100", "1000", "5000", "-1", "abc"]))
                } else {
                    ("PEXPIRE", self.pick(&["100000", "2000000", "-1"]))
                };
                vec![c.into(), k, n]
            }
            60 => {
                let c = self.pick(&["TTL", "PTTL", "PERSIST"]);
                how = match c.as_str() {
                    "TTL" => Within(1),
                    "PTTL" => Within(1000),
                    _ => Exact,
                };
                vec![c, k]
            }
            // wrong arity and unknown commands
            _ => match self.rng.below(4) {
                0 => vec![self.pick(&["GET", "HSET", "ZADD", "LPUSH", "SADD", "EXPIRE"])],
                1 => vec!["SET".into(), k],
                2 => vec!["NOSUCHCMD".into(), k, self.value()],
                _ => vec!["foo".into()],
            },
        };
        // Command names are case-insensitive: vary them now and then.
        if self.rng.chance(10) {
            a[0] = a[0].to_lowercase();
        }
        (a.into_iter().map(String::into_bytes).collect(), how)
    }
}

/// Walks a whole SCAN cursor; returns the sorted, deduplicated keys.
fn scan_all(c: &mut Conn, pattern: &str, count: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut cursor = b"0".to_vec();
    let mut keys = Vec::new();
    for _ in 0..100_000 {
        let req = vec![
            b"SCAN".to_vec(),
            cursor.clone(),
            b"MATCH".to_vec(),
            pattern.as_bytes().to_vec(),
            b"COUNT".to_vec(),
            count.as_bytes().to_vec(),
        ];
        match c.call(&req)? {
            R::Arr(Some(v)) => match v.as_slice() {
                [R::Bulk(Some(next)), R::Arr(Some(batch))] => {
                    for k in batch {
                        match k {
                            R::Bulk(Some(k)) => keys.push(k.clone()),
                            other => return Err(format!("SCAN returned {other} as a key")),
                        }
                    }
                    if next == b"0" {
                        keys.sort();
                        keys.dedup();
                        return Ok(keys);
                    }
                    cursor = next.clone();
                }
                _ => return Err(format!("SCAN reply {}", R::Arr(Some(v.clone())))),
            },
            other => return Err(format!("SCAN reply {other}")),
        }
    }
    Err("SCAN did not finish in 100000 calls".into())
}

fn bulk_list(keys: Vec<Vec<u8>>) -> R {
    R::Arr(Some(keys.into_iter().map(|k| R::Bulk(Some(k))).collect()))
}

// ---------------------------------------------------------------------------------------
// The tests

#[test]
fn random_sequences_match_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let verbose = std::env::var_os("LEITHER_DIFF_VERBOSE").is_some();
    let seeds: u64 = std::env::var("LEITHER_DIFF_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    for seed in 1..=seeds {
        let prefix = format!("s{seed}:");
        let mut g = Gen::new(seed, &prefix);
        let mut history = Vec::new();
        let what = format!("seed {seed}");
        for _ in 0..300 {
            let (c, how) = g.next();
            let (x, y) = (a.call(&c), b.call(&c));
            if verbose {
                let shown = x
                    .as_ref()
                    .map_or_else(|e| format!("<{e}>"), |r| r.to_string());
                eprintln!("{what} #{}: {} -> {shown}", history.len(), show(&c));
            }
            check(&pair, &what, &history, &c, how, x, y);
            history.push(c);
        }
        let keys = cmd(&["KEYS", &format!("{prefix}*")]);
        let (x, y) = (a.call(&keys), b.call(&keys));
        check(&pair, &what, &history, &keys, Cmp::Sorted, x, y);
        let scan = cmd(&["SCAN", "0", "MATCH", &format!("{prefix}*"), "COUNT", "3"]);
        let x = scan_all(&mut a, &format!("{prefix}*"), "3").map(bulk_list);
        let y = scan_all(&mut b, &format!("{prefix}*"), "3").map(bulk_list);
        check(&pair, &what, &history, &scan, Cmp::Exact, x, y);
    }
}

/// Lists long enough to span many chunks (and values large enough to sit alone in one),
/// changed at both ends and in the middle, read back whole after every command.
#[test]
fn long_lists_match_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut rng = Rng::new(77);
    let mut history = Vec::new();
    let big = "b".repeat(5000);
    let value = |rng: &mut Rng| -> String {
        match rng.below(30) {
            0 => big.clone(),
            1 => "m".repeat(700),
            _ => format!("v{}", rng.below(40)),
        }
    };
    let mut push = vec!["RPUSH".to_string(), "ll".into()];
    push.extend((0..600).map(|_| value(&mut rng)));
    let cmds = vec![push];
    let mut run = |c: Vec<String>, history: &mut Vec<Cmd>| {
        let c: Cmd = c.into_iter().map(String::into_bytes).collect();
        let (x, y) = (a.call(&c), b.call(&c));
        check(&pair, "long lists", history, &c, Cmp::Exact, x, y);
        history.push(c);
        let whole = cmd(&["LRANGE", "ll", "0", "-1"]);
        let (x, y) = (a.call(&whole), b.call(&whole));
        check(&pair, "long lists", history, &whole, Cmp::Exact, x, y);
    };
    for c in cmds {
        run(c, &mut history);
    }
    for _ in 0..400 {
        let i = (rng.below(700) as i64 - 350).to_string();
        let j = (rng.below(700) as i64 - 350).to_string();
        let v = value(&mut rng);
        let w = value(&mut rng);
        let c: Vec<String> = match rng.below(12) {
            0 => vec!["LINSERT".into(), "ll".into(), "BEFORE".into(), v, w],
            1 => vec!["LINSERT".into(), "ll".into(), "AFTER".into(), v, w],
            2 => vec![
                "LREM".into(),
                "ll".into(),
                (rng.below(5) as i64 - 2).to_string(),
                v,
            ],
            3 => vec!["LSET".into(), "ll".into(), i, v],
            4 => vec!["LINDEX".into(), "ll".into(), i],
            5 => vec![
                "LPOS".into(),
                "ll".into(),
                v,
                "RANK".into(),
                "-2".into(),
                "COUNT".into(),
                "0".into(),
            ],
            6 => vec!["LPOP".into(), "ll".into(), rng.below(30).to_string()],
            7 => vec!["RPOP".into(), "ll".into(), rng.below(30).to_string()],
            8 => vec![
                "LMOVE".into(),
                "ll".into(),
                "ll".into(),
                "LEFT".into(),
                "RIGHT".into(),
            ],
            9 => {
                let mut p = vec![
                    if rng.below(2) == 0 { "LPUSH" } else { "RPUSH" }.to_string(),
                    "ll".into(),
                ];
                p.extend((0..rng.below(60)).map(|_| value(&mut rng)));
                p.push(w);
                p
            }
            10 if rng.below(4) == 0 => vec!["LTRIM".into(), "ll".into(), "3".into(), "-4".into()],
            _ => vec!["LRANGE".into(), "ll".into(), i, j],
        };
        run(c, &mut history);
    }
}

#[test]
fn pipelined_replies_match_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut g = Gen::new(1000, "p:");
    let batch: Vec<(Cmd, Cmp)> = (0..1000).map(|_| g.next()).collect();
    let cmds: Vec<Cmd> = batch.iter().map(|(c, _)| c.clone()).collect();
    let x = a.pipeline(&cmds).expect("redis-server answers a pipeline");
    let y = b.pipeline(&cmds);
    let y = match y {
        Ok(y) => y,
        Err(e) => panic!(
            "{} did not answer 1000 pipelined commands: {e}",
            pair.subject.name()
        ),
    };
    for (i, ((c, how), (x, y))) in batch.iter().zip(x.into_iter().zip(y)).enumerate() {
        check(&pair, "pipeline", &cmds[..i], c, *how, Ok(x), Ok(y));
    }
}

/// What a connection answered to raw bytes, and whether it closed afterwards.
fn exchange_raw(port: u16, bytes: &[u8], expect_close: bool) -> (Vec<u8>, &'static str) {
    // A connection that stays open must answer this too; its reply marks the end.
    const SENTINEL: &[u8] = b"*2\r\n$4\r\nECHO\r\n$3\r\nEND\r\n";
    const END: &[u8] = b"$3\r\nEND\r\n";
    let mut s = match TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => return (format!("<connect: {e}>").into_bytes(), "error"),
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut out = bytes.to_vec();
    if !expect_close {
        out.extend_from_slice(SENTINEL);
    }
    // The server may close (with its error) before it read everything: not a failure.
    let _ = s.write_all(&out);
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return (got, "closed"),
            Ok(n) => {
                got.extend_from_slice(&chunk[..n]);
                if !expect_close && got.ends_with(END) {
                    let _ = s.shutdown(Shutdown::Both);
                    return (got, "open");
                }
            }
            // A reset after the error reply: the server closed with unread input.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, "closed"),
            Err(_) => return (got, "open (timed out)"),
        }
    }
}

#[test]
fn raw_requests_match_redis() {
    let pair = Pair::start();
    // Kept open throughout: one client's protocol error must not touch another's connection.
    let (mut keep_a, mut keep_b) = pair.conns();
    let big_inline = vec![b'x'; 70_000];
    let mut big_count = vec![b'*'];
    big_count.extend_from_slice(&[b'1'; 70_000]);
    let mut big_bulk_count = b"*1\r\n".to_vec();
    big_bulk_count.extend_from_slice(&[b'$'; 70_000]);
    // (bytes, the connection is closed after the reply)
    let cases: Vec<(&[u8], bool)> = vec![
        (b"*3000000000\r\n", true),
        (b"*x\r\n", true),
        (b"*+1\r\n$4\r\nPING\r\n", true),
        (b"*1\r\nfoo\r\n", true),
        (b"*1\r\n\r\n", true),
        (b"*1\r\n$-1\r\n", true),
        (b"*1\r\n$abc\r\n", true),
        (b"*1\r\n$04\r\nPING\r\n", true),
        (b"PING\r\n*1\r\n$600000000\r\n", true),
        (b"*1\r\n$4\r\nPING\r\n*x\r\n", true),
        (b"set \"a b\r\n", true),
        (b"set \"a\"b c\r\n", true),
        (b"set 'a'b c\r\n", true),
        (&big_inline, true),
        (&big_count, true),
        (&big_bulk_count, true),
        // Valid, if odd: empty requests get no reply; inline commands and their quoting.
        (b"*-10\r\nPING\r\n", false),
        (b"*0\r\nPING\r\n", false),
        (b"\r\n\r\nPING\n", false),
        (b"PING\r\nping\nECHO hello\r\n", false),
        (b"SET raw:k \"a b\"\r\nGET raw:k\r\nSTRLEN raw:k\r\n", false),
        (b"echo 'a\\'b'\r\necho \"\\x41\\n\\t\"\r\n", false),
        (b"ECHO \"a\"\t\r\necho \x0bx\r\n", false),
        (b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", false),
        (b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", false),
        (b"*2\r\n$4\r\nECHO\r\n$3\r\n\r\n\x00\r\n", false),
    ];
    for (bytes, closes) in cases {
        let x = exchange_raw(pair.redis.port, bytes, closes);
        let y = exchange_raw(pair.subject.port(), bytes, closes);
        let shown = bytes.get(..80).unwrap_or(bytes).escape_ascii().to_string();
        assert_eq!(
            (x.0.escape_ascii().to_string(), x.1),
            (y.0.escape_ascii().to_string(), y.1),
            "raw request {shown} (left: redis-server, right: {})",
            pair.subject.name()
        );
        for (conn, who) in [
            (&mut keep_a, "redis-server"),
            (&mut keep_b, pair.subject.name()),
        ] {
            let r = conn.call(&cmd(&["PING"]));
            assert_eq!(
                r,
                Ok(R::Simple("PONG".into())),
                "{who} after raw request {shown}"
            );
        }
    }
}

#[test]
fn expiry_matches_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut history = Vec::new();
    let mut run = |c: Cmd, how: Cmp, history: &mut Vec<Cmd>| {
        let (x, y) = (a.call(&c), b.call(&c));
        check(&pair, "expiry", history, &c, how, x, y);
        history.push(c);
    };
    for (c, how) in [
        (cmd(&["SET", "e:a", "1", "EX", "1000"]), Cmp::Exact),
        (cmd(&["TTL", "e:a"]), Cmp::Within(1)),
        (cmd(&["PTTL", "e:a"]), Cmp::Within(1000)),
        (cmd(&["SET", "e:b", "1", "PX", "100000"]), Cmp::Exact),
        (cmd(&["PTTL", "e:b"]), Cmp::Within(1000)),
        (cmd(&["PERSIST", "e:b"]), Cmp::Exact),
        (cmd(&["PERSIST", "e:b"]), Cmp::Exact),
        (cmd(&["TTL", "e:b"]), Cmp::Exact),
        (cmd(&["TTL", "e:none"]), Cmp::Exact),
        (cmd(&["PTTL", "e:none"]), Cmp::Exact),
        (cmd(&["EXPIRE", "e:none", "10"]), Cmp::Exact),
        (cmd(&["RPUSH", "e:l", "x"]), Cmp::Exact),
        (cmd(&["EXPIRE", "e:l", "1000"]), Cmp::Exact),
        (cmd(&["TTL", "e:l"]), Cmp::Within(1)),
        (cmd(&["SET", "e:l", "y"]), Cmp::Exact),
        (cmd(&["TTL", "e:l"]), Cmp::Exact),
        (cmd(&["SET", "e:c", "1", "PX", "100"]), Cmp::Exact),
        (cmd(&["SET", "e:d", "1"]), Cmp::Exact),
        (cmd(&["PEXPIRE", "e:d", "100"]), Cmp::Exact),
        (cmd(&["HSET", "e:h", "f", "v"]), Cmp::Exact),
        (cmd(&["PEXPIRE", "e:h", "150"]), Cmp::Exact),
        (cmd(&["SET", "e:neg", "1"]), Cmp::Exact),
        (cmd(&["EXPIRE", "e:neg", "-1"]), Cmp::Exact),
        (cmd(&["EXISTS", "e:neg"]), Cmp::Exact),
        (cmd(&["SET", "e:z", "1", "EX", "0"]), Cmp::Exact),
        (cmd(&["SET", "e:z", "1", "PX", "-5"]), Cmp::Exact),
        (cmd(&["EXPIRE", "e:a", "x"]), Cmp::Exact),
    ] {
        run(c, how, &mut history);
    }
    std::thread::sleep(Duration::from_millis(400));
    for (c, how) in [
        (cmd(&["EXISTS", "e:c", "e:d", "e:h", "e:a"]), Cmp::Exact),
        (cmd(&["GET", "e:c"]), Cmp::Exact),
        (cmd(&["TTL", "e:d"]), Cmp::Exact),
        (cmd(&["HGETALL", "e:h"]), Cmp::Exact),
        (cmd(&["TYPE", "e:h"]), Cmp::Exact),
        (cmd(&["KEYS", "e:*"]), Cmp::Sorted),
    ] {
        run(c, how, &mut history);
    }
}

/// The connection layer's commands: CONFIG GET/SET of the encoding thresholds, OBJECT
/// ENCODING under them, blocking pops that find data, time out or run inside MULTI, and
/// their argument errors.
#[test]
fn connection_commands_match_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut history = Vec::new();
    let long = "x".repeat(45);
    let steps: Vec<Vec<&str>> = vec![
        vec!["CONFIG", "GET", "zset-max-ziplist-entries"],
        vec!["CONFIG", "GET", "set-max-intset-entries"],
        vec!["CONFIG", "SET", "nosuch", "1"],
        vec!["CONFIG", "SET", "zset-max-listpack-entries", "x"],
        vec!["SET", "c:int", "12345"],
        vec!["SET", "c:emb", "hello"],
        vec!["SET", "c:raw", &long],
        vec!["OBJECT", "ENCODING", "c:int"],
        vec!["OBJECT", "ENCODING", "c:emb"],
        vec!["OBJECT", "ENCODING", "c:raw"],
        vec!["OBJECT", "ENCODING", "c:none"],
        vec!["OBJECT", "REFCOUNT", "c:raw"],
        vec!["OBJECT", "NOSUCH", "c:raw"],
        vec!["OBJECT", "ENCODING"],
        vec!["RPUSH", "c:l", "a", "b"],
        vec!["OBJECT", "ENCODING", "c:l"],
        vec!["SADD", "c:s", "1", "2"],
        vec!["OBJECT", "ENCODING", "c:s"],
        vec!["SADD", "c:s", "x"],
        vec!["OBJECT", "ENCODING", "c:s"],
        vec!["HSET", "c:h", "f", "v"],
        vec!["OBJECT", "ENCODING", "c:h"],
        vec!["HSET", "c:h", "g", &long],
        vec!["CONFIG", "SET", "hash-max-ziplist-value", "100"],
        vec!["OBJECT", "ENCODING", "c:h"],
        vec!["CONFIG", "SET", "hash-max-listpack-value", "64"],
        vec!["OBJECT", "ENCODING", "c:h"],
        vec!["ZADD", "c:z", "1", "a"],
        vec!["OBJECT", "ENCODING", "c:z"],
        vec!["BLPOP", "c:l", "c:none", "0"],
        vec!["BRPOP", "c:none", "c:l", "0"],
        vec!["BLPOP", "c:l", "0.05"],
        vec!["BLPOP", "c:l", "-1"],
        vec!["BLPOP", "c:l", "abc"],
        vec!["BLPOP", "c:l"],
        vec!["BLPOP", "c:emb", "0"],
        vec!["MULTI"],
        vec!["BLPOP", "c:l", "0"],
        vec!["BRPOP", "c:l", "0"],
        vec!["EXEC"],
        vec!["CLIENT", "GETNAME"],
        vec!["CLIENT", "SETNAME", "me"],
        vec!["CLIENT", "GETNAME"],
        vec!["CLIENT", "SETNAME", "a b"],
        vec!["FUNCTION", "FLUSH"],
        vec!["FUNCTION", "LIST"],
        vec!["SCRIPT", "FLUSH"],
        vec!["ECHO", "hi"],
        vec!["RPUSH", "c:m", "a", "b"],
        vec!["PEXPIRE", "c:m", "100000"],
        vec!["MOVE", "c:m", "1"],
        vec!["MOVE", "c:m", "1"],
        vec!["EXISTS", "c:m"],
        vec!["MOVE", "c:m", "99"],
        vec!["MOVE", "c:m", "x"],
        vec!["MOVE", "c:m", "0"],
        vec!["SELECT", "1"],
        vec!["LRANGE", "c:m", "0", "-1"],
        vec!["TTL", "c:m"],
        vec!["MOVE", "c:m", "1"],
        vec!["COPY", "c:m", "c:m2", "DB", "0"],
        vec!["COPY", "c:m", "c:m2", "DB", "0"],
        vec!["SET", "c:s", "v"],
        vec!["COPY", "c:s", "c:m2", "DB", "0", "REPLACE"],
        vec!["COPY", "c:s", "c:m2", "DB", "0", "BAD"],
        vec!["COPY", "c:s", "c:s", "DB", "1"],
        vec!["COPY", "c:s", "c:s"],
        vec!["COPY", "c:s", "c:s3"],
        vec!["COPY", "c:s", "c:s3"],
        vec!["COPY", "c:s", "c:s3", "REPLACE"],
        vec!["GET", "c:s3"],
        vec!["COPY", "c:s"],
        vec!["SELECT", "0"],
        vec!["GET", "c:m2"],
        vec!["MOVE", "c:m2", "1"],
        vec!["SET", "c:m2", "w"],
        vec!["MOVE", "c:m2", "1"],
        vec!["GET", "c:m2"],
        vec!["SET", "c:sw", "a"],
        vec!["SWAPDB", "0", "2"],
        vec!["GET", "c:sw"],
        vec!["SELECT", "2"],
        vec!["GET", "c:sw"],
        vec!["SWAPDB", "2", "0"],
        vec!["GET", "c:sw"],
        vec!["SELECT", "0"],
        vec!["GET", "c:sw"],
        vec!["SWAPDB", "0", "99"],
        vec!["SWAPDB", "x", "1"],
        vec!["SWAPDB", "1", "x"],
        vec!["SWAPDB", "1"],
    ];
    for st in steps {
        let c = cmd(&st);
        let (x, y) = (a.call(&c), b.call(&c));
        check(&pair, "connection", &history, &c, Cmp::Exact, x, y);
        history.push(c);
    }
}

#[test]
fn scan_matches_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut setup = Vec::new();
    for i in 0..120 {
        let k = format!("scan:{}:{i}", ["a", "b", "c"][i % 3]);
        setup.push(match i % 5 {
            0 => cmd(&["SET", &k, "v"]),
            1 => cmd(&["HSET", &k, "f", "v"]),
            2 => cmd(&["RPUSH", &k, "v"]),
            3 => cmd(&["SADD", &k, "v"]),
            _ => cmd(&["ZADD", &k, "1", "v"]),
        });
    }
    let x = a.pipeline(&setup).expect("redis-server setup");
    let y = b.pipeline(&setup).expect("subject setup");
    for (i, (x, y)) in x.into_iter().zip(y).enumerate() {
        check(
            &pair,
            "scan setup",
            &setup[..i],
            &setup[i],
            Cmp::Exact,
            Ok(x),
            Ok(y),
        );
    }
    for (pattern, count) in [
        ("scan:*", "10"),
        ("scan:a:*", "7"),
        ("scan:[bc]:1?", "1"),
        ("scan:*:1*", "1000"),
        ("nomatch*", "5"),
    ] {
        let shown = cmd(&["SCAN", "0", "MATCH", pattern, "COUNT", count]);
        let x = scan_all(&mut a, pattern, count).map(bulk_list);
        let y = scan_all(&mut b, pattern, count).map(bulk_list);
        check(&pair, "scan", &setup, &shown, Cmp::Exact, x, y);
        let keys = cmd(&["KEYS", pattern]);
        let (x, y) = (a.call(&keys), b.call(&keys));
        check(&pair, "keys", &setup, &keys, Cmp::Sorted, x, y);
    }
    for bad in [
        cmd(&["SCAN", "x"]),
        cmd(&["SCAN", "0", "COUNT", "0"]),
        cmd(&["SCAN", "0", "COUNT", "x"]),
        cmd(&["SCAN", "0", "MATCH"]),
        cmd(&["SCAN"]),
    ] {
        let (x, y) = (a.call(&bad), b.call(&bad));
        check(&pair, "scan errors", &setup, &bad, Cmp::Exact, x, y);
    }
}

/// Strings for the number rules: edge cases, then random ones over a number-ish alphabet.
fn number_strings() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "0",
        "-0",
        "1",
        "+1",
        " 1",
        "1 ",
        "01",
        "-01",
        "00",
        "-",
        "+",
        "",
        ".",
        "1.",
        ".5",
        "-.5",
        "1e",
        "1e+",
        "1e5",
        "1E-5",
        "1e400",
        "-1e400",
        "1e-400",
        "1e-310",
        "2.2250738585072014e-308",
        "inf",
        "-inf",
        "+inf",
        "Inf",
        "INFINITY",
        "-infinity",
        "infinit",
        "nan",
        "-nan",
        "NaN",
        "nan(1)",
        "0x10",
        "0X1p4",
        "0x.8",
        "0x",
        "0x1p",
        "0x1P-1074",
        "0xffffffffffffffffff",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "00000000000000000001",
        "123456789012345678901",
        "1_000",
        "1,5",
        "(1",
        "((1",
        "(",
        "( 1",
        "(inf",
        "(-inf",
        "\t1",
        "\x001",
        "3\x00",
        "1\x002",
        "0.1",
        "0.3",
        "3.6",
        "1.1",
        "1e16",
        "1e17",
        "123456789012345678",
        "99999999999999999",
        "0.0001",
        "0.00001",
        "1.5e300",
        "4.9e-324",
        "1e308",
        "1.7976931348623157e308",
    ]
    .iter()
    .map(|s| s.replace("\\t", "\t").replace("\\x00", "\0").into_bytes())
    .collect();
    let mut rng = Rng::new(77);
    let alphabet = b"0123456789012345678901234.-+eEx( infINFnaNpaf\t\0";
    for _ in 0..1500 {
        let len = rng.below(9);
        out.push(
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect(),
        );
    }
    // Decimals over the whole exponent range, for the %.17g form.
    for _ in 0..800 {
        let digits: String = (0..1 + rng.below(18))
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
        let exp = rng.below(640) as i64 - 330;
        let sign = if rng.chance(30) { "-" } else { "" };
        out.push(format!("{sign}{digits}e{exp}").into_bytes());
        out.push(format!("{sign}0.{digits}").into_bytes());
    }
    out
}

#[test]
fn number_rules_match_redis() {
    use leither::db::num;
    let redis = RedisServer::start();
    let mut c = Conn::connect(redis.port).expect("connect to redis-server");
    let strings = number_strings();
    let b = |s: &[u8]| s.to_vec();
    let mut cmds = vec![cmd(&[
        "ZADD", "n:bounds", "1", "a", "2", "b", "3", "c", "inf", "d",
    ])];
    for s in &strings {
        cmds.push(cmd(&["SET", "n:int", "0"]));
        cmds.push(vec![b(b"INCRBY"), b(b"n:int"), s.clone()]);
        cmds.push(cmd(&["DEL", "n:z"]));
        cmds.push(vec![b(b"ZADD"), b(b"n:z"), s.clone(), b(b"m")]);
        cmds.push(cmd(&["ZSCORE", "n:z", "m"]));
        cmds.push(vec![b(b"ZCOUNT"), b(b"n:bounds"), s.clone(), b(b"+inf")]);
    }
    let replies = c.pipeline(&cmds).expect("redis-server answers");
    let mut failures = Vec::new();
    for (i, s) in strings.iter().enumerate() {
        let r = &replies[1 + i * 6..1 + i * 6 + 6];
        let shown = s.escape_ascii().to_string();
        // INCRBY: string2ll.
        let want = match num::parse_int(s) {
            Some(n) => R::Int(n),
            None => R::Err(num::NumError::NotInteger.message().into()),
        };
        if r[1] != want {
            failures.push(format!("INCRBY {shown:?}: redis {} ours {want}", r[1]));
        }
        // ZADD then ZSCORE: string2d, then the %.17g reply.
        let want = match num::parse_float(s) {
            // A small sorted set stores -0 as 0 (redis-server 7.0.15, listpack encoding); the
            // pattern 0.0 matches -0.0 too.
            Some(0.0) => (R::Int(1), R::Bulk(Some(b"0".to_vec()))),
            Some(d) => (R::Int(1), R::Bulk(Some(num::format_double(d).into_bytes()))),
            None => (
                R::Err(num::NumError::NotFloat.message().into()),
                R::Bulk(None),
            ),
        };
        if (r[3].clone(), r[4].clone()) != want {
            failures.push(format!(
                "ZADD/ZSCORE {shown:?}: redis {} {} ours {} {}",
                r[3], r[4], want.0, want.1
            ));
        }
        // ZCOUNT min +inf: zslParseRange.
        let want = match num::parse_score_bound(s) {
            Some(min) => R::Int(
                [1.0, 2.0, 3.0, f64::INFINITY]
                    .iter()
                    .filter(|x| min.below(**x))
                    .count() as i64,
            ),
            None => R::Err(num::NumError::MinMaxNotFloat.message().into()),
        };
        if r[5] != want {
            failures.push(format!("ZCOUNT {shown:?} +inf: redis {} ours {want}", r[5]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} number strings read differently from redis-server:\n{}",
        failures.len(),
        strings.len(),
        failures.join("\n")
    );
}

/// Strings as bits and ranges, the other string commands, and the key commands that move
/// or copy values: fixed cases, then random bit operations over a few small keys.
#[test]
fn strings_bits_and_key_moves_match_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut history = Vec::new();
    let mut run = |c: Cmd, how: Cmp, history: &mut Vec<Cmd>| {
        let (x, y) = (a.call(&c), b.call(&c));
        check(&pair, "strings and bits", history, &c, how, x, y);
        history.push(c);
    };
    let fixed: &[&[&str]] = &[
        &["SET", "sb:s", "foobar"],
        &["GETRANGE", "sb:s", "1", "-2"],
        &["SUBSTR", "sb:s", "-100", "100"],
        &["GETRANGE", "sb:s", "x", "1"],
        &["SETRANGE", "sb:s", "8", "xy"],
        &["GET", "sb:s"],
        &["SETRANGE", "sb:s", "-1", "xy"],
        &["SETRANGE", "sb:new", "0", ""],
        &["EXISTS", "sb:new"],
        &["INCRBYFLOAT", "sb:f", "10.5"],
        &["INCRBYFLOAT", "sb:f", "0.25"],
        &["INCRBYFLOAT", "sb:f", "-3e2"],
        &["INCRBYFLOAT", "sb:f", "abc"],
        &["INCRBYFLOAT", "sb:s", "1"],
        &["GETEX", "sb:s", "PERSIST"],
        &["GETEX", "sb:s", "EX", "0"],
        &["GETEX", "sb:s", "EX", "10", "PX", "10"],
        &["GETEX", "sb:nope", "EX", "x"],
        &["MSET", "sb:a", "ohmytext", "sb:b", "mynewtext"],
        &["LCS", "sb:a", "sb:b"],
        &["LCS", "sb:a", "sb:b", "LEN"],
        &["LCS", "sb:a", "sb:b", "IDX", "WITHMATCHLEN"],
        &["LCS", "sb:a", "sb:b", "IDX", "MINMATCHLEN", "3"],
        &["LCS", "sb:a", "sb:b", "LEN", "IDX"],
        &["SETBIT", "sb:bits", "7", "1"],
        &["SETBIT", "sb:bits", "7", "2"],
        &["SETBIT", "sb:bits", "-1", "1"],
        &["GETBIT", "sb:bits", "7"],
        &["BITCOUNT", "sb:s", "1", "3", "BIT"],
        &["BITCOUNT", "sb:s", "1"],
        &["BITPOS", "sb:s", "2"],
        &["BITOP", "NOT", "sb:d", "sb:a", "sb:b"],
        &["BITOP", "XOR", "sb:d", "sb:a", "sb:b"],
        &["GET", "sb:d"],
        &["HSET", "sb:h", "f", "1.5"],
        &["HINCRBYFLOAT", "sb:h", "f", "2"],
        &["HINCRBYFLOAT", "sb:h", "f", "inf"],
        &["HRANDFIELD", "sb:h", "1", "WITHVALUES"],
        &["HRANDFIELD", "sb:h", "0"],
        &["RPUSH", "sb:l", "a", "b"],
        &["PEXPIRE", "sb:l", "100000"],
        &["RENAME", "sb:l", "sb:l2"],
        &["LRANGE", "sb:l2", "0", "-1"],
        &["RENAME", "sb:l", "sb:l3"],
        &["RENAMENX", "sb:l2", "sb:h"],
        &["COPY", "sb:l2", "sb:l4"],
        &["COPY", "sb:l2", "sb:l4"],
        &["COPY", "sb:l2", "sb:l2"],
        &["LRANGE", "sb:l4", "0", "-1"],
        &["TOUCH", "sb:l2", "sb:l4", "sb:nope"],
        &["EXPIRETIME", "sb:h"],
        &["PEXPIRETIME", "sb:nope"],
        &["SADD", "sb:set", "a"],
        &["SSCAN", "sb:set", "0", "COUNT", "100"],
        &["SSCAN", "sb:set", "x"],
        &["ZADD", "sb:z", "1.5", "m"],
        &["ZSCAN", "sb:z", "0"],
        &["HSCAN", "sb:h", "0", "MATCH", "f*"],
        &["RESTORE", "sb:r", "0", "not a payload"],
        &["RPUSH", "sb:sl", "3", "10", "1", "2.5", "x1"],
        &["SORT", "sb:sl"],
        &["SORT", "sb:sl", "ALPHA", "DESC", "LIMIT", "1", "3"],
        &[
            "MSET", "sb:w_3", "1", "sb:w_10", "2", "sb:w_1", "3", "sb:w_x1", "0.5",
        ],
        &["SORT", "sb:sl", "BY", "sb:w_*", "GET", "#", "GET", "sb:w_*"],
        &["SORT", "sb:sl", "BY", "nosort", "LIMIT", "-1", "2"],
        &["SORT", "sb:sl", "BY", "sb:w_*", "STORE", "sb:sorted"],
        &["LRANGE", "sb:sorted", "0", "-1"],
        &["SORT_RO", "sb:sl", "STORE", "sb:x"],
        &["SORT", "sb:s"],
    ];
    for c in fixed {
        run(cmd(c), Cmp::Exact, &mut history);
    }
    // Float increments, compared as text: Redis adds in long double (db/ld.rs).
    let mut rng = Rng::new(78);
    for i in 0..300 {
        let by = match rng.below(5) {
            0 => format!("{}", rng.below(1000) as i64 - 500),
            1 => format!("{}.{}", rng.below(100) as i64 - 50, rng.below(1000)),
            2 => format!("{}e{}", rng.below(50), rng.below(8) as i64 - 4),
            3 => format!("-0.{:03}", rng.below(1000)),
            _ => rng
                .pick(&["0.1", "-300", "1e10", "-2.5e-3", "17179869184", "1.1"])
                .into(),
        };
        let key = format!("sb:f{}", i % 7);
        if i % 3 == 0 {
            run(
                cmd(&["HINCRBYFLOAT", "sb:hf", &key, &by]),
                Cmp::Exact,
                &mut history,
            );
        } else {
            run(cmd(&["INCRBYFLOAT", &key, &by]), Cmp::Exact, &mut history);
        }
    }
    // LCS of random short strings: the subsequence and the matches Redis's walk picks.
    for _ in 0..150 {
        let word = |rng: &mut Rng| -> String {
            (0..rng.below(14))
                .map(|_| rng.pick(&["a", "b", "c"]))
                .collect()
        };
        let (x, y) = (word(&mut rng), word(&mut rng));
        run(
            cmd(&["MSET", "sb:x", &x, "sb:y", &y]),
            Cmp::Exact,
            &mut history,
        );
        run(cmd(&["LCS", "sb:x", "sb:y"]), Cmp::Exact, &mut history);
        run(
            cmd(&[
                "LCS",
                "sb:x",
                "sb:y",
                "IDX",
                "WITHMATCHLEN",
                "MINMATCHLEN",
                "2",
            ]),
            Cmp::Exact,
            &mut history,
        );
        run(
            cmd(&["LCS", "sb:x", "sb:y", "IDX"]),
            Cmp::Exact,
            &mut history,
        );
    }
    run(
        cmd(&["INCRBYFLOAT", "sb:g", "10.6"]),
        Cmp::Exact,
        &mut history,
    );
    run(
        cmd(&["INCRBYFLOAT", "sb:g", "-300"]),
        Cmp::Exact,
        &mut history,
    );
    // Random bit operations over three short keys.
    let mut rng = Rng::new(77);
    let keys = ["sb:r1", "sb:r2", "sb:r3"];
    for _ in 0..400 {
        let k = keys[rng.below(3)];
        let n = |rng: &mut Rng| (rng.below(60) as i64 - 20).to_string();
        let c: Vec<String> = match rng.below(7) {
            0 | 1 => vec![
                "SETBIT".into(),
                k.into(),
                rng.below(64).to_string(),
                rng.below(2).to_string(),
            ],
            2 => vec!["GETBIT".into(), k.into(), rng.below(80).to_string()],
            3 => {
                let mut c = vec!["BITCOUNT".into(), k.into(), n(&mut rng), n(&mut rng)];
                if rng.chance(50) {
                    c.push(rng.pick(&["BIT", "BYTE"]).into());
                }
                c
            }
            4 => {
                let mut c = vec!["BITPOS".into(), k.into(), rng.below(2).to_string()];
                for _ in 0..rng.below(3) {
                    c.push(n(&mut rng));
                }
                if c.len() == 5 && rng.chance(50) {
                    c.push(rng.pick(&["BIT", "BYTE"]).into());
                }
                c
            }
            5 if rng.chance(50) => {
                let mut c = vec![
                    if rng.chance(20) {
                        "BITFIELD_RO"
                    } else {
                        "BITFIELD"
                    }
                    .into(),
                    k.into(),
                ];
                for _ in 0..1 + rng.below(3) {
                    let op = rng.pick(&["GET", "SET", "INCRBY", "OVERFLOW"]);
                    c.push(op.into());
                    if op == "OVERFLOW" {
                        c.push(rng.pick(&["WRAP", "SAT", "FAIL"]).into());
                        continue;
                    }
                    c.push(
                        rng.pick(&["u1", "u8", "i8", "i5", "u63", "i64", "u3"])
                            .into(),
                    );
                    c.push(rng.pick(&["0", "3", "#1", "17", "40"]).into());
                    if op != "GET" {
                        c.push(
                            rng.pick(&["0", "1", "-1", "100", "-300", "9223372036854775807"])
                                .into(),
                        );
                    }
                }
                c
            }
            5 => vec![
                "BITOP".into(),
                rng.pick(&["AND", "OR", "XOR"]).into(),
                k.into(),
                keys[rng.below(3)].into(),
                keys[rng.below(3)].into(),
            ],
            _ => vec!["GETRANGE".into(), k.into(), n(&mut rng), n(&mut rng)],
        };
        let c: Vec<&str> = c.iter().map(String::as_str).collect();
        run(cmd(&c), Cmp::Exact, &mut history);
    }
}

/// RENAME, RENAMENX, COPY, TOUCH and SORT ... STORE among a few keys of every type, with
/// the types and contents of all of them compared after each step.
#[test]
fn key_moves_match_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut history = Vec::new();
    let mut run = |c: Cmd, how: Cmp, history: &mut Vec<Cmd>| {
        let (x, y) = (a.call(&c), b.call(&c));
        check(&pair, "key moves", history, &c, how, x, y);
        history.push(c);
    };
    let keys = ["km:a", "km:b", "km:c", "km:d"];
    let mut rng = Rng::new(91);
    for _ in 0..400 {
        let k = keys[rng.below(4)];
        let k2 = keys[rng.below(4)];
        let v = rng.pick(&["1", "2", "x", "10"]);
        let c: Vec<&str> = match rng.below(12) {
            0 => vec!["RPUSH", k, v],
            1 => vec!["HSET", k, v, v],
            2 => vec!["SADD", k, v],
            3 => vec!["ZADD", k, v, v],
            4 => vec!["SET", k, v],
            5 | 6 => vec!["RENAME", k, k2],
            7 => vec!["RENAMENX", k, k2],
            8 => vec!["COPY", k, k2],
            9 => vec!["COPY", k, k2, "REPLACE"],
            10 => vec!["SORT", k, "ALPHA", "STORE", k2],
            _ => vec!["DEL", k],
        };
        run(cmd(&c), Cmp::Exact, &mut history);
        for k in keys {
            run(cmd(&["TYPE", k]), Cmp::Exact, &mut history);
            run(cmd(&["LRANGE", k, "0", "-1"]), Cmp::Exact, &mut history);
            run(cmd(&["HGETALL", k]), Cmp::SortedPairs, &mut history);
            run(cmd(&["SMEMBERS", k]), Cmp::Sorted, &mut history);
            run(
                cmd(&["ZRANGE", k, "0", "-1", "WITHSCORES"]),
                Cmp::Exact,
                &mut history,
            );
            run(cmd(&["GET", k]), Cmp::Exact, &mut history);
        }
    }
}

/// Walks a whole `cmd key` cursor scan (HSCAN, SSCAN, ZSCAN) with `extra` options; returns
/// the items grouped by `width` (1, or 2 for field/value and member/score), sorted.
fn element_scan_all(
    c: &mut Conn,
    scan: &str,
    key: &str,
    extra: &[&str],
    width: usize,
) -> Result<R, String> {
    let mut cursor = "0".to_string();
    let mut groups: Vec<Vec<R>> = Vec::new();
    for _ in 0..100_000 {
        let mut req = vec![scan, key, cursor.as_str()];
        req.extend_from_slice(extra);
        match c.call(&cmd(&req))? {
            R::Arr(Some(v)) => match v.as_slice() {
                [R::Bulk(Some(next)), R::Arr(Some(batch))] => {
                    groups.extend(batch.chunks(width).map(<[R]>::to_vec));
                    if next == b"0" {
                        groups.sort();
                        groups.dedup();
                        return Ok(R::Arr(Some(groups.concat())));
                    }
                    cursor = String::from_utf8_lossy(next).into_owned();
                }
                _ => return Err(format!("{scan} reply {}", R::Arr(Some(v.clone())))),
            },
            other => return Ok(other),
        }
    }
    Err(format!("{scan} did not finish in 100000 calls"))
}

/// HSCAN, SSCAN and ZSCAN walk to the same elements as redis-server's.
#[test]
fn element_scans_match_redis() {
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut setup = Vec::new();
    for i in 0..300 {
        let (f, v) = (format!("f{i}"), format!("{}", i * 7));
        setup.push(cmd(&["HSET", "es:h", &f, &v]));
        setup.push(cmd(&["SADD", "es:s", &f]));
        setup.push(cmd(&["SADD", "es:i", &v]));
        setup.push(cmd(&["ZADD", "es:z", &format!("{i}.25"), &f]));
    }
    setup.push(cmd(&["SET", "es:str", "x"]));
    a.pipeline(&setup).expect("redis-server answers the setup");
    b.pipeline(&setup).expect("the node answers the setup");
    let history = setup.clone();
    for (scan, key, width) in [
        ("HSCAN", "es:h", 2),
        ("SSCAN", "es:s", 1),
        ("SSCAN", "es:i", 1),
        ("ZSCAN", "es:z", 2),
        ("SSCAN", "es:none", 1),
        ("HSCAN", "es:str", 2),
    ] {
        for extra in [
            &[][..],
            &["COUNT", "7"][..],
            &["MATCH", "f1*", "COUNT", "3"][..],
            &["MATCH", "*5"][..],
            &["COUNT", "0"][..],
        ] {
            let x = element_scan_all(&mut a, scan, key, extra, width);
            let y = element_scan_all(&mut b, scan, key, extra, width);
            let mut shown = vec![scan, key, "0"];
            shown.extend_from_slice(extra);
            check(
                &pair,
                "element scans",
                &history,
                &cmd(&shown),
                Cmp::Exact,
                x,
                y,
            );
        }
    }
}

/// A random stream ID argument over a small range, so commands meet existing entries: `MS`,
/// `MS-SEQ`, and now and then a bad one.
fn stream_id(r: &mut Rng) -> String {
    match r.below(40) {
        0..=3 => format!("{}", 1 + r.below(40)),
        4..=6 => r.pick(&["0-0", "x", "1-x"]).into(),
        7 => "18446744073709551615-18446744073709551615".into(),
        _ => format!("{}-{}", 1 + r.below(40), r.below(3)),
    }
}

/// A range end for XRANGE/XREVRANGE: an ID, `-`, `+`, or an exclusive `(ID`.
fn stream_bound(r: &mut Rng) -> String {
    match r.below(6) {
        0 => "-".into(),
        1 => "+".into(),
        2 => format!("({}", stream_id(r)),
        _ => stream_id(r),
    }
}

#[test]
fn streams_match_redis() {
    // XADD with explicit IDs (and `MS-*`), trimming (exact and `~`, which drops whole nodes
    // of 100 entries in both), XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XREAD, XSETID, on three
    // stream keys and a string: every reply must be the same as redis-server's.
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut history = Vec::new();
    let mut r = Rng::new(17);
    let verbose = std::env::var_os("LEITHER_DIFF_VERBOSE").is_some();
    let (sa, sb) = (
        a.call(&cmd(&["SET", "x:str", "v"])),
        b.call(&cmd(&["SET", "x:str", "v"])),
    );
    check(
        &pair,
        "streams",
        &history,
        &cmd(&["SET"]),
        Cmp::Exact,
        sa,
        sb,
    );
    for _ in 0..3000 {
        let k = r.pick(&["x:a", "x:a", "x:b", "x:c", "x:str"]).to_string();
        let mut c: Vec<String> = match r.below(12) {
            0..=3 => {
                let mut c = vec!["XADD".into(), k];
                if r.chance(10) {
                    c.push("NOMKSTREAM".into());
                }
                if r.chance(25) {
                    let approx = r.pick(&["", "=", "~"]);
                    if r.chance(50) {
                        c.push("MAXLEN".into());
                        if !approx.is_empty() {
                            c.push(approx.into());
                        }
                        c.push(r.pick(&["0", "1", "3", "10", "-1", "x"]).into());
                    } else {
                        c.push("MINID".into());
                        if !approx.is_empty() {
                            c.push(approx.into());
                        }
                        c.push(stream_id(&mut r));
                    }
                    if r.chance(20) {
                        c.push("LIMIT".into());
                        c.push(r.pick(&["0", "1", "5", "-1"]).into());
                    }
                }
                c.push(if r.chance(15) {
                    format!("{}-*", 1 + r.below(40))
                } else {
                    stream_id(&mut r)
                });
                for _ in 0..1 + r.below(2) {
                    c.push(r.pick(&["f", "g", "h"]).into());
                    c.push(r.pick(VALUES).into());
                }
                if r.chance(5) {
                    c.pop();
                }
                c
            }
            4..=5 => {
                let mut c = vec![r.pick(&["XRANGE", "XREVRANGE"]).to_string(), k];
                c.push(stream_bound(&mut r));
                c.push(stream_bound(&mut r));
                if r.chance(30) {
                    c.push("COUNT".into());
                    c.push(r.pick(&["0", "1", "2", "-1", "x"]).into());
                }
                c
            }
            6 => vec!["XLEN".into(), k],
            7 => {
                let mut c = vec!["XDEL".into(), k];
                for _ in 0..1 + r.below(3) {
                    c.push(stream_id(&mut r));
                }
                c
            }
            8 => {
                let mut c = vec!["XTRIM".into(), k];
                c.push(r.pick(&["MAXLEN", "MINID"]).into());
                if r.chance(50) {
                    c.push(r.pick(&["=", "~"]).into());
                }
                c.push(if c[2] == "MAXLEN" {
                    r.pick(&["0", "2", "5", "x"]).into()
                } else {
                    stream_id(&mut r)
                });
                c
            }
            9 => {
                let mut c = vec!["XREAD".into()];
                if r.chance(50) {
                    c.push("COUNT".into());
                    c.push(r.pick(&["1", "2", "0", "-1"]).into());
                }
                c.push("STREAMS".into());
                let other = r.pick(&["x:a", "x:b", "x:none"]).to_string();
                c.extend([k, other, stream_id(&mut r), stream_id(&mut r)]);
                c
            }
            10 => vec!["XSETID".into(), k, stream_id(&mut r)],
            _ => vec![r.pick(&["TYPE", "EXISTS"]).into(), k],
        };
        if r.chance(5) {
            c = vec![r.pick(&["DEL", "XLEN"]).into(), c[1].clone()];
        }
        let c: Cmd = c.into_iter().map(String::into_bytes).collect();
        let (x, y) = (a.call(&c), b.call(&c));
        if verbose {
            let shown = x
                .as_ref()
                .map_or_else(|e| format!("<{e}>"), |r| r.to_string());
            eprintln!("streams #{}: {} -> {shown}", history.len(), show(&c));
        }
        check(&pair, "streams", &history, &c, Cmp::Exact, x, y);
        history.push(c);
    }
    for k in ["x:a", "x:b", "x:c"] {
        let c = cmd(&["XRANGE", k, "-", "+"]);
        let (x, y) = (a.call(&c), b.call(&c));
        check(&pair, "streams", &history, &c, Cmp::Exact, x, y);
    }
}

#[test]
fn stream_groups_match_redis() {
    // Consumer groups on two streams with explicit IDs: XGROUP (all subcommands), XADD, XDEL,
    // XREADGROUP (new entries and history, NOACK), XACK, XPENDING's summary, XCLAIM and
    // XAUTOCLAIM with min-idle-time 0, XINFO GROUPS (the forms whose replies hold no times).
    let pair = Pair::start();
    let (mut a, mut b) = pair.conns();
    let mut history = Vec::new();
    let mut r = Rng::new(29);
    let verbose = std::env::var_os("LEITHER_DIFF_VERBOSE").is_some();
    let mut next_ms = [1u64, 1];
    for _ in 0..3000 {
        let ki = r.below(2);
        let k = ["y:a", "y:b"][ki].to_string();
        let g = r.pick(&["g1", "g1", "g2", "nog"]).to_string();
        let c = r.pick(&["c1", "c2", "c3"]).to_string();
        let id = |r: &mut Rng| stream_id(r);
        let c: Vec<String> = match r.below(16) {
            0..=3 => {
                next_ms[ki] += 1 + r.below(2) as u64;
                vec![
                    "XADD".into(),
                    k,
                    format!("{}-{}", next_ms[ki], r.below(2)),
                    "f".into(),
                    r.pick(VALUES).into(),
                ]
            }
            4 => {
                let mut v = vec!["XGROUP".into(), "CREATE".into(), k, g];
                v.push(r.pick(&["$", "0", "-", "3", "x"]).into());
                if r.chance(50) {
                    v.push("MKSTREAM".into());
                }
                if r.chance(20) {
                    v.push("ENTRIESREAD".into());
                    v.push(r.pick(&["0", "2", "-1", "-5"]).into());
                }
                v
            }
            5 => {
                let mut v = vec!["XGROUP".into(), "SETID".into(), k, g];
                v.push(r.pick(&["$", "0", "-", "5", "+"]).into());
                if r.chance(30) {
                    v.push("ENTRIESREAD".into());
                    v.push(r.pick(&["0", "3", "-1"]).into());
                }
                v
            }
            6 => {
                let sub = r.pick(&["DESTROY", "CREATECONSUMER", "DELCONSUMER"]);
                let mut v = vec!["XGROUP".into(), sub.into(), k, g];
                if sub != "DESTROY" {
                    v.push(c);
                } else if !r.chance(10) {
                    // DESTROY is rare: groups should live a while.
                    v = vec!["XINFO".into(), "GROUPS".into(), v[2].clone()];
                }
                v
            }
            7..=9 => {
                let mut v = vec!["XREADGROUP".into(), "GROUP".into(), g, c];
                if r.chance(50) {
                    v.push("COUNT".into());
                    v.push(r.pick(&["1", "2", "0"]).into());
                }
                if r.chance(15) {
                    v.push("NOACK".into());
                }
                v.push("STREAMS".into());
                v.push(k);
                v.push(if r.chance(70) {
                    ">".into()
                } else {
                    r.pick(&["0", "3", "$"]).into()
                });
                v
            }
            10 => {
                let mut v = vec!["XACK".into(), k, g];
                for _ in 0..1 + r.below(3) {
                    v.push(id(&mut r));
                }
                v
            }
            11 => vec!["XPENDING".into(), k, g],
            12 => {
                let mut v = vec!["XCLAIM".into(), k, g, c, "0".into()];
                for _ in 0..1 + r.below(3) {
                    v.push(id(&mut r));
                }
                if r.chance(50) {
                    v.push("JUSTID".into());
                }
                if r.chance(20) {
                    v.push("FORCE".into());
                }
                if r.chance(20) {
                    v.push("RETRYCOUNT".into());
                    v.push("3".into());
                }
                v
            }
            13 => {
                let mut v = vec!["XAUTOCLAIM".into(), k, g, c, "0".into(), id(&mut r)];
                if r.chance(60) {
                    v.push("COUNT".into());
                    v.push(r.pick(&["1", "2", "5", "0"]).into());
                }
                if r.chance(40) {
                    v.push("JUSTID".into());
                }
                v
            }
            14 => {
                let mut v = vec!["XDEL".into(), k];
                v.push(format!(
                    "{}-{}",
                    1 + r.below(next_ms[ki] as usize),
                    r.below(2)
                ));
                v
            }
            _ => vec!["XINFO".into(), "GROUPS".into(), k],
        };
        let c: Cmd = c.into_iter().map(String::into_bytes).collect();
        let (x, y) = (a.call(&c), b.call(&c));
        if verbose {
            let shown = x
                .as_ref()
                .map_or_else(|e| format!("<{e}>"), |r| r.to_string());
            eprintln!("groups #{}: {} -> {shown}", history.len(), show(&c));
        }
        check(&pair, "stream groups", &history, &c, Cmp::Exact, x, y);
        history.push(c);
    }
}
