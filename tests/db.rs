//! Mimei databases from outside: redis-cli sessions and the JSON API on the same data,
//! versions read-only through both doors, rights (a user without write, a read-only
//! version), optimistic transactions that conflict, durability across `kill -9` in both
//! modes, values over the limit, and malformed RESP closing one connection only.
//!
//! Needs `redis-cli` (Debian `redis-tools`; CI installs it): the tests fail, saying so, when
//! it is missing.

#![cfg(feature = "resp")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, curl, free_port, fresh_home, leither, ok, read_listeners, set_system_var};
use leither::pki::{NodeKey, Pass};

/// A node on a home we keep across restarts, with the RESP port on.
struct Node {
    home: PathBuf,
    child: Child,
    url: String,
    resp: u16,
}

fn init(durability: &str) -> PathBuf {
    let home = fresh_home();
    ok(&leither(
        &home,
        &["init", "-p", "0", "-b", "", "-l", "127.0.0.1"],
    ));
    let p = home.join("SystemVars.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text
        .replace("\"RespPort\": 0", &format!("\"RespPort\": {}", free_port()))
        .replace(
            "\"DbDurability\": \"group\"",
            &format!("\"DbDurability\": \"{durability}\""),
        );
    std::fs::write(&p, text).unwrap();
    home
}

impl Node {
    /// Starts the node on `home` and waits for its signal (`leither.addr`). RESP is on a port
    /// picked free (0 turns it off): when another program took it before the node bound it,
    /// the node runs without RESP, and this restarts it on another port.
    fn start(home: &Path) -> Node {
        for _ in 0..5 {
            let n = Node::start_once(home);
            if n.resp != 0 {
                return n;
            }
            n.kill9();
            set_system_var(
                home,
                "RespPort",
                leither::api::Value::Int(free_port().into()),
            );
        }
        panic!("the node did not get a free RespPort in 5 attempts");
    }

    fn start_once(home: &Path) -> Node {
        // A node killed with -9 leaves both files behind.
        let _ = std::fs::remove_file(home.join("leither.addr"));
        let _ = std::fs::remove_file(home.join("leither.ports"));
        let child = Command::new(BIN)
            .arg("--home")
            .arg(home)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(home.join("node.stderr")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(a) = std::fs::read_to_string(home.join("leither.addr"))
                && !a.trim().is_empty()
            {
                break a.trim().to_string();
            }
            assert!(Instant::now() < deadline, "node did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        // Every port is bound before leither.addr is written; leither.ports names them.
        let resp = read_listeners(home)
            .iter()
            .find(|(n, _)| n == "resp")
            .and_then(|(_, a)| a.rsplit(':').next()?.parse().ok())
            .unwrap_or(0);
        Node {
            home: home.to_path_buf(),
            child,
            url: format!("http://{addr}"),
            resp,
        }
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }

    fn redis_cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.resp.to_string()])
            .args(args)
            .output()
            .expect("redis-cli is needed (apt-get install redis-tools)");
        assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Sends raw RESP on a fresh connection and reads the replies until `want` bytes or EOF.
    fn raw(&self, bytes: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.resp)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(bytes).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn api(&self, f: &str, body: &str) -> (u16, String) {
        let (s, b) = curl(&[
            "-X",
            "POST",
            "--data-binary",
            body,
            &format!("{}/api/{f}", self.url),
        ]);
        (s, String::from_utf8_lossy(&b).into_owned())
    }

    fn api_ok(&self, f: &str, body: &str) -> String {
        let (s, b) = self.api(f, body);
        assert_eq!(s, 200, "{f} {body}: {b}");
        b.trim().to_string()
    }

    fn login(&self, key: &NodeKey) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let pass = Pass::sign(key, vec![], now, 600).unwrap().to_text();
        let b = self.api_ok("Login", &format!("[\"{pass}\"]"));
        b.split("\"sid\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    }

    fn owner_key(&self) -> NodeKey {
        NodeKey::load(&self.home.join("hostkey.cfg")).unwrap()
    }

    fn open(&self, sid: &str, mid: &str, ver: &str) -> String {
        unquote(&self.api_ok("MMOpen", &format!("[\"{sid}\",\"{mid}\",\"{ver}\"]")))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

fn create_db(n: &Node) -> String {
    let out = ok(&leither(
        &n.home,
        &["mimei", "create", "-t", "db", "-m", "{{auto}}"],
    ));
    out.lines()
        .find_map(|l| l.strip_prefix("mid= "))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn redis_cli_and_the_json_api_share_one_database() {
    let n = Node::start(&init("group"));
    // The default database: redis-cli as the owner on loopback.
    assert_eq!(n.redis_cli(&["PING"]), "PONG");
    assert_eq!(n.redis_cli(&["SET", "greeting", "hello"]), "OK");
    assert_eq!(n.redis_cli(&["RPUSH", "l", "a", "b", "c"]), "3");
    assert_eq!(n.redis_cli(&["LRANGE", "l", "0", "-1"]), "a\nb\nc");
    assert_eq!(
        n.redis_cli(&["LPUSH", "greeting", "x"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        n.redis_cli(&["NOSUCH", "a"]),
        // (redis-cli prints Redis's trailing space; the helper trims line ends)
        "ERR unknown command 'NOSUCH', with args beginning with: 'a'"
    );

    // A database Mimei written over JSON, read with redis-cli after SELECT, and back.
    let mid = create_db(&n);
    let sid = n.login(&n.owner_key());
    let mm = n.open(&sid, &mid, "cur");
    assert_eq!(
        n.api_ok(
            "Hmset",
            &format!("[\"{mm}\",\"user:1\",{{\"name\":\"ann\",\"age\":\"41\"}}]")
        ),
        // Leither's Hmset answers only an error, so success is null.
        "null"
    );
    assert_eq!(
        n.api_ok(
            "Zadd",
            &format!("[\"{mm}\",\"board\",10,\"ann\",20,\"bob\"]")
        ),
        "2"
    );
    let script = format!(
        "SELECT {mid}\nHGET user:1 name\nHINCRBY user:1 age 1\nZRANGE board 0 -1 WITHSCORES\nSADD tags red blue\n"
    );
    let out = Command::new("redis-cli")
        .args(["-p", &n.resp.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(script.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "OK\nann\n42\nann\n10\nbob\n20\n2\n"
    );
    assert_eq!(
        n.api_ok("Hget", &format!("[\"{mm}\",\"user:1\",\"age\"]")),
        "\"42\""
    );
    assert_eq!(
        n.api_ok("Smembers", &format!("[\"{mm}\",\"tags\"]")),
        "[\"blue\",\"red\"]"
    );
    let (s, b) = n.api("Lpush", &format!("[\"{mm}\",\"user:1\",\"x\"]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("WRONGTYPE"), "{b}");

    // mimei grep dumps what both doors wrote.
    let g = ok(&leither(&n.home, &["mimei", "grep", "--", &mid, "cur"]));
    assert!(
        g.starts_with(&format!("mid: {mid}\nver: cur\nData Type KV\n")),
        "{g}"
    );
    assert!(
        g.contains("user:1 hash {\"age\":\"42\",\"name\":\"ann\"}"),
        "{g}"
    );
    let g = ok(&leither(
        &n.home,
        &["mimei", "grep", "-m", "t*", "--", &mid, "cur"],
    ));
    assert!(g.ends_with("tags set [\"blue\",\"red\"]\n"), "{g}");
}

#[test]
fn versions_are_read_only_and_unchanged_by_later_writes() {
    let n = Node::start(&init("group"));
    let mid = create_db(&n);
    let sid = n.login(&n.owner_key());
    let mm = n.open(&sid, &mid, "cur");
    n.api_ok("Set", &format!("[\"{mm}\",\"k\",\"v1\"]"));
    // Leither's examples pass the mmsid where the sid goes: its session.
    assert_eq!(
        n.api_ok("MMBackup", &format!("[\"{mm}\",\"{mid}\",\"MMBackup\"]")),
        "\"1\""
    );
    n.api_ok("Set", &format!("[\"{mm}\",\"k\",\"v2\"]"));
    let v1 = n.open(&sid, &mid, "1");
    assert_eq!(n.api_ok("Get", &format!("[\"{v1}\",\"k\"]")), "\"v1\"");
    let (s, b) = n.api("Set", &format!("[\"{v1}\",\"k\",\"x\"]"));
    assert_eq!(s, 409, "{b}");
    // Through RESP: SELECT the version, read it, writes refused.
    let r = n
        .raw(format!("SELECT {mid} 1\r\nGET k\r\nSET k x\r\nSELECT {mid}\r\nGET k\r\n").as_bytes());
    assert!(
        r.starts_with("+OK\r\n$2\r\nv1\r\n-READONLY version 1"),
        "{r}"
    );
    assert!(r.ends_with("+OK\r\n$2\r\nv2\r\n"), "{r}");
    // Restore brings version 1 back into cur.
    assert_eq!(
        n.api_ok("MMRestore", &format!("[\"{sid}\",\"{mid}\",1]")),
        "1"
    );
    assert_eq!(n.api_ok("Get", &format!("[\"{mm}\",\"k\"]")), "\"v1\"");
}

#[test]
fn rights_are_checked_on_every_write() {
    let n = Node::start(&init("group"));
    let mid = create_db(&n);
    let other = NodeKey::generate().unwrap();
    let sid = n.login(&other);
    // A user without rights cannot open cur.
    let (s, b) = n.api("MMOpen", &format!("[\"{sid}\",\"{mid}\",\"cur\"]"));
    assert_eq!(s, 403, "{b}");
    // Granted read only: reads work, writes are refused and change nothing.
    let owner = n.login(&n.owner_key());
    let omm = n.open(&owner, &mid, "cur");
    n.api_ok("Set", &format!("[\"{omm}\",\"k\",\"v\"]"));
    n.api_ok(
        "MMSetRight",
        &format!("[\"{owner}\",\"{mid}\",\"{}\",\"read\"]", other.id()),
    );
    let mm = n.open(&sid, &mid, "cur");
    assert_eq!(n.api_ok("Get", &format!("[\"{mm}\",\"k\"]")), "\"v\"");
    let (s, b) = n.api("Set", &format!("[\"{mm}\",\"k\",\"evil\"]"));
    assert_eq!(s, 403, "{b}");
    assert_eq!(n.api_ok("Get", &format!("[\"{omm}\",\"k\"]")), "\"v\"");
    // The same user over RESP with AUTH: reads yes, writes NOPERM.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let pass = Pass::sign(&other, vec![], now, 600).unwrap().to_text();
    let r = n.raw(
        format!("AUTH {pass}\r\nSELECT {mid}\r\nGET k\r\nSET k evil\r\nAUTH garbage\r\n")
            .as_bytes(),
    );
    assert!(r.starts_with("+OK\r\n+OK\r\n$1\r\nv\r\n-NOPERM"), "{r}");
    assert!(
        r.ends_with("-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
        "{r}"
    );
    assert_eq!(n.api_ok("Get", &format!("[\"{omm}\",\"k\"]")), "\"v\"");
}

#[test]
fn a_transaction_that_conflicts_applies_nothing() {
    let n = Node::start(&init("group"));
    let mid = create_db(&n);
    let sid = n.login(&n.owner_key());
    let a = n.open(&sid, &mid, "cur");
    let b = n.open(&sid, &mid, "cur");
    n.api_ok("Set", &format!("[\"{a}\",\"balance\",\"10\"]"));
    n.api_ok("Begin", &format!("[\"{a}\"]"));
    assert_eq!(
        n.api_ok("IncrBy", &format!("[\"{a}\",\"balance\",5]")),
        "15"
    );
    n.api_ok("Set", &format!("[\"{a}\",\"note\",\"paid\"]"));
    // Not visible outside the transaction.
    assert_eq!(n.api_ok("Get", &format!("[\"{b}\",\"note\"]")), "null");
    n.api_ok("IncrBy", &format!("[\"{b}\",\"balance\",100]"));
    let (s, body) = n.api("Commit", &format!("[\"{a}\"]"));
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("balance"), "{body}");
    assert_eq!(
        n.api_ok("Get", &format!("[\"{b}\",\"balance\"]")),
        "\"110\""
    );
    assert_eq!(n.api_ok("Get", &format!("[\"{b}\",\"note\"]")), "null");
    // Without a conflict it applies; Rollback drops.
    n.api_ok("Begin", &format!("[\"{a}\"]"));
    n.api_ok("Set", &format!("[\"{a}\",\"note\",\"ok\"]"));
    n.api_ok("Commit", &format!("[\"{a}\"]"));
    assert_eq!(n.api_ok("Get", &format!("[\"{b}\",\"note\"]")), "\"ok\"");
    n.api_ok("Begin", &format!("[\"{a}\"]"));
    n.api_ok("Del", &format!("[\"{a}\",\"note\"]"));
    n.api_ok("Rollback", &format!("[\"{a}\"]"));
    assert_eq!(n.api_ok("Get", &format!("[\"{b}\",\"note\"]")), "\"ok\"");
    // RESP's WATCH/MULTI/EXEC: a watched key changed elsewhere aborts the EXEC.
    let mut w = TcpStream::connect(("127.0.0.1", n.resp)).unwrap();
    w.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    w.write_all(b"WATCH wk\r\n").unwrap();
    let mut buf = [0u8; 64];
    let k = w.read(&mut buf).unwrap();
    assert_eq!(&buf[..k], b"+OK\r\n");
    n.redis_cli(&["SET", "wk", "changed"]);
    let r = {
        w.write_all(b"MULTI\r\nSET wk mine\r\nEXEC\r\n").unwrap();
        w.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = Vec::new();
        let _ = w.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    assert_eq!(r, "+OK\r\n+QUEUED\r\n*-1\r\n");
    assert_eq!(n.redis_cli(&["GET", "wk"]), "changed");
}

fn write_keys(n: &Node, prefix: &str, count: usize) {
    let mut cmds = String::new();
    for i in 0..count {
        cmds.push_str(&format!("SET {prefix}{i} v{i}\r\n"));
    }
    let r = n.raw(cmds.as_bytes());
    assert_eq!(
        r.matches("+OK\r\n").count(),
        count,
        "not all acknowledged: {r}"
    );
}

#[test]
fn full_durability_keeps_every_acknowledged_write_across_kill_9() {
    let home = init("full");
    let n = Node::start(&home);
    write_keys(&n, "k", 500);
    n.kill9();
    let n = Node::start(&home);
    assert_eq!(n.redis_cli(&["DBSIZE"]), "500");
    assert_eq!(n.redis_cli(&["GET", "k499"]), "v499");
}

/// Waits until the write-ahead log on disk (`db/db_cur.wal`) holds, in whole batches, a put
/// of every string key `{prefix}0..{prefix}{count}`: the node's own sign that its group commit
/// flushed them. Returns how long that took; panics after `limit`.
fn wait_logged(home: &Path, prefix: &str, count: usize, limit: Duration) -> Duration {
    let wal = home.join("db").join("db_cur.wal");
    let want: Vec<Vec<u8>> = (0..count)
        .map(|i| format!("m{prefix}{i}").into_bytes())
        .collect();
    let t = Instant::now();
    loop {
        let bytes = std::fs::read(&wal).unwrap_or_default();
        let (records, _) = leither::db::wal::parse(&bytes);
        let logged: std::collections::HashSet<&[u8]> = records
            .iter()
            .filter(|r| r.value.is_some())
            .map(|r| r.key)
            .collect();
        if want.iter().all(|k| logged.contains(k.as_slice())) {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < limit,
            "the group commit did not log the writes within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn group_commit_keeps_writes_older_than_a_second_across_kill_9() {
    // The mode's promise: a write is flushed at the next group commit, at most
    // GROUP_COMMIT_MS later, so one acknowledged a second before a crash is on disk.
    const { assert!(leither::db::cur::GROUP_COMMIT_MS * 2 <= 1000) };
    let home = init("group");
    let n = Node::start(&home);
    write_keys(&n, "old", 300);
    // No request makes the node flush: the timer alone must. Waiting for the log on disk,
    // not for a fixed time, keeps this true on a loaded machine (a sleep of 1.2 s was late
    // there); the idle checkpoint that would empty the log comes 5 s later still.
    let took = wait_logged(&home, "old", 300, Duration::from_secs(30));
    eprintln!("the group commit logged the writes {took:?} after they were acknowledged");
    n.kill9();
    let n = Node::start(&home);
    assert_eq!(n.redis_cli(&["DBSIZE"]), "300");
    assert_eq!(n.redis_cli(&["GET", "old0"]), "v0");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let n = Node::start(&init("group"));
    n.redis_cli(&["SET", "k", "v"]);
    n.redis_cli(&["RPUSH", "l", "a"]);
    // A value over the limit, an index out of range, not a number, a wrong type.
    let v = "x".repeat(300 * 1024);
    let big = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{v}\r\n", v.len());
    let r = n.raw(big.as_bytes());
    assert!(
        r.starts_with("-ERR string exceeds maximum allowed size"),
        "{}",
        &r[..r.len().min(200)]
    );
    assert_eq!(
        n.redis_cli(&["LSET", "l", "5", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        n.redis_cli(&["INCR", "k"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(n.redis_cli(&["GET", "k"]), "v");
    assert_eq!(n.redis_cli(&["LRANGE", "l", "0", "-1"]), "a");
    // Malformed RESP: that connection gets Redis's error and is closed...
    let mut good = TcpStream::connect(("127.0.0.1", n.resp)).unwrap();
    good.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = n.raw(b"*2\r\n$3\r\nGET\r\n$x\r\n");
    assert_eq!(r, "-ERR Protocol error: invalid bulk length\r\n");
    let r = n.raw(b"*1\r\n+GET\r\n");
    assert_eq!(r, "-ERR Protocol error: expected '$', got '+'\r\n");
    // ...while another client goes on, and the data is untouched.
    good.write_all(b"GET k\r\n").unwrap();
    let mut buf = [0u8; 32];
    let k = good.read(&mut buf).unwrap();
    assert_eq!(&buf[..k], b"$1\r\nv\r\n");
    // Pipelining: many commands in one write, replies in order.
    let mut p = String::new();
    for i in 0..1000 {
        p.push_str(&format!("INCRBY counter {i}\r\n"));
    }
    let r = n.raw(p.as_bytes());
    assert!(
        r.ends_with(":499500\r\n"),
        "{}",
        &r[r.len().saturating_sub(100)..]
    );
}

#[test]
fn a_pipeline_of_big_replies_is_answered_whole_in_bounded_pieces() {
    let n = Node::start(&init("group"));
    let v = "v".repeat(200 * 1024);
    let set = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n{v}\r\n", v.len());
    assert_eq!(n.raw(set.as_bytes()), "+OK\r\n");
    // 100 GETs in one write: 20 MB of replies, sent in pieces of at most 256 KiB while the
    // rest of the commands wait in the connection's buffer.
    let r = n.raw("GET big\r\n".repeat(100).as_bytes());
    let one = format!("${}\r\n{v}\r\n", v.len());
    assert_eq!(r.len(), one.len() * 100);
    assert!(r == one.repeat(100), "replies differ");
    // And a MULTI cannot queue without bound.
    let mut q = String::from("MULTI\r\n");
    for _ in 0..10_001 {
        q.push_str("INCR c\r\n");
    }
    q.push_str("EXEC\r\nGET c\r\n");
    let r = n.raw(q.as_bytes());
    assert!(
        r.contains("-ERR MULTI holds 10000 commands already"),
        "{}",
        &r[r.len() - 200..]
    );
    assert!(r.ends_with("-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n"));
}
