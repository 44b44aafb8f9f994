//! Leither's database contract from outside, over the JSON API of a real node: the three
//! example programs of Leither's `example/rpc/mdb` (`1base`, `2tx`, `3backup`) call for
//! call, values of any type that come back as set (and stay plain for redis-cli), the
//! ScorePair and FVPair shapes, the sequence, `*mclear`, `Scan`'s type filter, `Begin`'s
//! timeout, `CheckIntegrity`, and refusals (a reader writing, bad arguments, functions this node lacks).

#![cfg(feature = "resp")]

mod common;

use std::process::{Command, Stdio};

use common::{TestNode, curl};
use leither::pki::{NodeKey, Pass};

struct Db {
    node: TestNode,
    resp: u16,
}

impl Db {
    fn start() -> Db {
        let node = TestNode::start_listening("resp", "RespPort", |_| {});
        let resp = node.port_of("resp");
        Db { node, resp }
    }

    fn api(&self, f: &str, body: &str) -> (u16, String) {
        let (s, b) = curl(&[
            "-X",
            "POST",
            "--data-binary",
            body,
            &format!("{}/api/{f}", self.node.url),
        ]);
        (s, String::from_utf8_lossy(&b).trim().to_string())
    }

    fn ok(&self, f: &str, body: &str) -> String {
        let (s, b) = self.api(f, body);
        assert_eq!(s, 200, "{f} {body}: {b}");
        b
    }

    fn login(&self, key: &NodeKey) -> String {
        let now = leither::clock::unix_now();
        let pass = Pass::sign(key, vec![], now, 600).unwrap().to_text();
        let b = self.ok("Login", &format!("[\"{pass}\"]"));
        b.split("\"sid\":\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("no sid in {b}"))
            .to_string()
    }

    fn owner(&self) -> String {
        self.login(&NodeKey::load(&self.node.home.join("hostkey.cfg")).unwrap())
    }

    /// A database Mimei, as Leither's programs make one: `MMCreate(sid, "", "ext", mark, 2,
    /// 0x07276705)` (type 2 is a database; the rights word lets everyone read).
    fn create(&self, sid: &str, mark: &str) -> String {
        unq(&self.ok(
            "MMCreate",
            &format!("[\"{sid}\",\"\",\"ext\",\"{mark}\",2,{}]", 0x07276705),
        ))
    }

    fn open(&self, sid: &str, mid: &str, ver: &str) -> String {
        unq(&self.ok("MMOpen", &format!("[\"{sid}\",\"{mid}\",\"{ver}\"]")))
    }

    fn redis(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let mut c = Command::new("redis-cli")
            .args(["-p", &self.resp.to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-cli is needed (apt-get install redis-tools)");
        let input = c.stdin.take().unwrap();
        if let Some(b) = stdin {
            std::io::Write::write_all(&mut { input }, b).unwrap();
        } else {
            drop(input);
        }
        c.wait_with_output().unwrap().stdout
    }
}

fn unq(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

/// `example/rpc/mdb/1base/mdb.go`: Set ten keys, Get them back.
#[test]
fn leither_example_1base() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "mark testmdbbase");
    let mm = d.open(&sid, &mid, "cur");
    for i in 0..10 {
        assert_eq!(
            d.ok("Set", &format!("[\"{mm}\",\"key{i}\",\"value{i}\"]")),
            "null"
        );
    }
    for i in 0..10 {
        assert_eq!(
            d.ok("Get", &format!("[\"{mm}\",\"key{i}\"]")),
            format!("\"value{i}\"")
        );
    }
    // The commented-out call at the end of the program, with Leither's argument order.
    assert_eq!(
        d.ok("Zrevrangebyscore", &format!("[\"{mm}\",\"key\",0,10,0,-1]")),
        "[]"
    );
    d.ok("MMClose", &format!("[\"{mm}\"]"));
}

/// `example/rpc/mdb/2tx/tx.go`: Hset/Hget, then a rolled-back and a committed transaction.
#[test]
fn leither_example_2tx() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "mark testmdbtx");
    let mm = d.open(&sid, &mid, "cur");
    let write = |off: usize, new: &str| {
        for i in 0..10 {
            let v = i + off;
            assert_eq!(
                d.ok(
                    "Hset",
                    &format!("[\"{mm}\",\"key\",\"field{i}\",\"value{v}\"]")
                ),
                new
            );
        }
    };
    let read = |off: usize| {
        for i in 0..10 {
            assert_eq!(
                d.ok("Hget", &format!("[\"{mm}\",\"key\",\"field{i}\"]")),
                format!("\"value{}\"", i + off)
            );
        }
    };
    write(0, "1");
    read(0);
    // testRollback
    assert_eq!(d.ok("Begin", &format!("[\"{mm}\",10]")), "null");
    write(100, "0");
    read(100);
    assert_eq!(d.ok("Rollback", &format!("[\"{mm}\"]")), "null");
    read(0);
    // testCommit
    assert_eq!(d.ok("Begin", &format!("[\"{mm}\",10]")), "null");
    write(100, "0");
    read(100);
    assert_eq!(d.ok("Commit", &format!("[\"{mm}\"]")), "null");
    read(100);
}

/// `example/rpc/mdb/3backup/bk.go`: Lpush ten values, back up, read the version.
#[test]
fn leither_example_3backup() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "mark testmdbBackup");
    let mm = d.open(&sid, &mid, "cur");
    for i in 0..10 {
        assert_eq!(
            d.ok("Lpush", &format!("[\"{mm}\",\"key\",\"value{i}\"]")),
            (i + 1).to_string()
        );
    }
    let read = |h: &str| {
        for i in 0..10 {
            assert_eq!(
                d.ok("Lindex", &format!("[\"{h}\",\"key\",{i}]")),
                format!("\"value{}\"", 9 - i)
            );
        }
    };
    read(&mm);
    // Leither's bk.go passes the mmsid where the sid goes: MMBackup(mmsid, mid, "MMBackup").
    let ver = unq(&d.ok("MMBackup", &format!("[\"{mm}\",\"{mid}\",\"MMBackup\"]")));
    assert_eq!(ver, "1");
    let mm2 = d.open(&sid, &mid, &ver);
    read(&mm2);
}

#[test]
fn values_of_any_type_come_back_as_set_and_strings_stay_plain_for_redis_cli() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "values");
    let mm = d.open(&sid, &mid, "cur");
    for (k, v) in [
        ("map", r#"{"a":1,"b":[true,null,"x"],"c":{"d":2.5}}"#),
        ("list", r#"[1,"two",[3]]"#),
        ("int", "42"),
        ("neg", "-9000000000"),
        ("float", "1.5"),
        ("text", r#""hello""#),
    ] {
        assert_eq!(d.ok("Set", &format!("[\"{mm}\",\"{k}\",{v}]")), "null");
        assert_eq!(d.ok("Get", &format!("[\"{mm}\",\"{k}\"]")), v, "{k}");
    }
    // The same through Hset/Hget, Hmset/Hgetall, Lpush/Lrange, Lset/Lindex.
    d.ok("Hset", &format!("[\"{mm}\",\"h\",\"m\",{{\"x\":[1]}}]"));
    assert_eq!(
        d.ok("Hget", &format!("[\"{mm}\",\"h\",\"m\"]")),
        r#"{"x":[1]}"#
    );
    d.ok(
        "Hmset",
        &format!(
            "[\"{mm}\",\"h\",{{\"Field\":\"n\",\"Value\":7}},{{\"Field\":\"s\",\"Value\":\"str\"}}]"
        ),
    );
    assert_eq!(
        d.ok("Hgetall", &format!("[\"{mm}\",\"h\"]")),
        r#"[{"Field":"m","Value":{"x":[1]}},{"Field":"n","Value":7},{"Field":"s","Value":"str"}]"#
    );
    assert_eq!(
        d.ok("Hmget", &format!("[\"{mm}\",\"h\",\"n\",\"nope\"]")),
        "[7,null]"
    );
    d.ok("Rpush", &format!("[\"{mm}\",\"l\",1,[2],{{\"k\":3}}]"));
    d.ok("Lset", &format!("[\"{mm}\",\"l\",0,\"one\"]"));
    assert_eq!(
        d.ok("Lrange", &format!("[\"{mm}\",\"l\",0,-1]")),
        r#"["one",[2],{"k":3}]"#
    );
    assert_eq!(d.ok("Rpop", &format!("[\"{mm}\",\"l\"]")), r#"{"k":3}"#);
    // A counter set as a number can be incremented.
    assert_eq!(d.ok("Incr", &format!("[\"{mm}\",\"int\"]")), "43");

    // redis-cli sees a string set through the API unchanged.
    let sel = |cmd: &str| {
        let out = d.redis(&[], Some(format!("SELECT {mid}\n{cmd}\n").as_bytes()));
        String::from_utf8_lossy(&out).into_owned()
    };
    assert_eq!(sel("GET text"), "OK\nhello\n");
    assert_eq!(sel("HGET h s"), "OK\nstr\n");
    // Bytes a Redis client sets that look like a typed value stay bytes for the API.
    let mut tricky = vec![b'S', b'E', b'L', b'E', b'C', b'T', b' '];
    tricky.extend_from_slice(mid.as_bytes());
    tricky.extend_from_slice(b"\nSET tricky \"\\xff\\x00m1{s1\\\"a\\\"1}\"\n");
    assert_eq!(d.redis(&[], Some(&tricky)), b"OK\nOK\n");
    let got = d.ok("Get", &format!("[\"{mm}\",\"tricky\"]"));
    assert!(
        got.starts_with('"'),
        "bytes come back as bytes, not a map: {got}"
    );
    // redis-cli sees a typed value in its stored form: the marker, then Hprose.
    let raw = d.redis(&[], Some(format!("SELECT {mid}\nGET list\n").as_bytes()));
    assert_eq!(raw, b"OK\n\xff\x00a3{1s3\"two\"a1{3}}\n");
    // After Incr the counter is decimal text, as Redis keeps it.
    assert_eq!(sel("GET int"), "OK\n43\n");
}

#[test]
fn sorted_sets_answer_score_pairs_and_the_sequence_orders_members() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "zsets");
    let mm = d.open(&sid, &mid, "cur");
    assert_eq!(
        d.ok(
            "Zadd",
            &format!(
                "[\"{mm}\",\"z\",{{\"Score\":10,\"Member\":\"a\"}},{{\"Score\":20,\"Member\":\"b\"}},{{\"Score\":30,\"Member\":\"c\"}}]"
            )
        ),
        "3"
    );
    // Our flat form still works.
    assert_eq!(d.ok("Zadd", &format!("[\"{mm}\",\"z\",40,\"d\"]")), "1");
    assert_eq!(
        d.ok("Zrange", &format!("[\"{mm}\",\"z\",0,1]")),
        r#"[{"Score":10,"Member":"a"},{"Score":20,"Member":"b"}]"#
    );
    assert_eq!(
        d.ok("Zrevrange", &format!("[\"{mm}\",\"z\",0,0]")),
        r#"[{"Score":40,"Member":"d"}]"#
    );
    assert_eq!(
        d.ok("Zrangebyscore", &format!("[\"{mm}\",\"z\",15,40,1,1]")),
        r#"[{"Score":30,"Member":"c"}]"#
    );
    assert_eq!(
        d.ok("Zrevrangebyscore", &format!("[\"{mm}\",\"z\",15,30,0,-1]")),
        r#"[{"Score":30,"Member":"c"},{"Score":20,"Member":"b"}]"#
    );
    assert_eq!(d.ok("Zscore", &format!("[\"{mm}\",\"z\",\"b\"]")), "20");
    let (s, b) = d.api("Zscore", &format!("[\"{mm}\",\"z\",\"nobody\"]"));
    assert_eq!(s, 404, "{b}");
    assert_eq!(d.ok("Zrank", &format!("[\"{mm}\",\"z\",\"nobody\"]")), "-1");
    assert_eq!(d.ok("ZincrBy", &format!("[\"{mm}\",\"z\",5,\"a\"]")), "15");
    assert_eq!(d.ok("Zcount", &format!("[\"{mm}\",\"z\",15,30]")), "3");

    assert_eq!(d.ok("GetLastSeq", &format!("[\"{mm}\"]")), "0");
    assert_eq!(
        d.ok("Zaddwithseq", &format!("[\"{mm}\",\"log\",\"x\",\"y\"]")),
        "2"
    );
    assert_eq!(
        d.ok("Zaddwithseq", &format!("[\"{mm}\",\"log2\",\"z\"]")),
        "1"
    );
    assert_eq!(d.ok("GetLastSeq", &format!("[\"{mm}\"]")), "3");
    assert_eq!(
        d.ok("Zrange", &format!("[\"{mm}\",\"log\",0,-1]")),
        r#"[{"Score":1,"Member":"x"},{"Score":2,"Member":"y"}]"#
    );
}

#[test]
fn hash_scans_key_scans_and_mclear() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "scans");
    let mm = d.open(&sid, &mid, "cur");
    for f in ["a", "b", "c", "d"] {
        d.ok("Hset", &format!("[\"{mm}\",\"h\",\"{f}\",\"v{f}\"]"));
    }
    assert_eq!(
        d.ok("Hscan", &format!("[\"{mm}\",\"h\",\"b\",\"\",2,true]")),
        r#"[{"Field":"b","Value":"vb"},{"Field":"c","Value":"vc"}]"#
    );
    assert_eq!(
        d.ok("Hscan", &format!("[\"{mm}\",\"h\",\"b\",\"\",0,false]")),
        r#"[{"Field":"c","Value":"vc"},{"Field":"d","Value":"vd"}]"#
    );
    assert_eq!(
        d.ok("Hrevscan", &format!("[\"{mm}\",\"h\",\"c\",\"\",10,false]")),
        r#"[{"Field":"b","Value":"vb"},{"Field":"a","Value":"va"}]"#
    );
    d.ok("Set", &format!("[\"{mm}\",\"s1\",\"x\"]"));
    d.ok("Sadd", &format!("[\"{mm}\",\"set1\",\"m\",\"n\"]"));
    d.ok("Sadd", &format!("[\"{mm}\",\"set2\",\"n\"]"));
    d.ok("Rpush", &format!("[\"{mm}\",\"l1\",\"x\"]"));
    d.ok("Zadd", &format!("[\"{mm}\",\"z1\",1,\"x\"]"));
    // tp: 0 string, 1 list, 2 hash, 3 set, 4 zset.
    for (tp, want) in [
        (0, r#"["s1"]"#),
        (1, r#"["l1"]"#),
        (2, r#"["h"]"#),
        (3, r#"["set1","set2"]"#),
        (4, r#"["z1"]"#),
    ] {
        assert_eq!(
            d.ok("Scan", &format!("[\"{mm}\",\"\",\"\",10,false,{tp}]")),
            want,
            "tp {tp}"
        );
    }
    assert_eq!(
        d.ok("Scan", &format!("[\"{mm}\",\"set1\",\"set*\",10,true]")),
        r#"["set1","set2"]"#
    );
    assert_eq!(
        d.ok("Sunion", &format!("[\"{mm}\",\"set1\",\"set2\"]")),
        r#"["m","n"]"#
    );
    assert_eq!(
        d.ok("Sinter", &format!("[\"{mm}\",\"set1\",\"set2\"]")),
        r#"["n"]"#
    );
    assert_eq!(
        d.ok("Sdiff", &format!("[\"{mm}\",\"set1\",\"set2\"]")),
        r#"["m"]"#
    );
    assert_eq!(d.ok("Srem", &format!("[\"{mm}\",\"set1\",\"m\"]")), "1");
    assert_eq!(
        d.ok("Smclear", &format!("[\"{mm}\",\"set1\",\"set2\",\"nope\"]")),
        "2"
    );
    assert_eq!(d.ok("Hmclear", &format!("[\"{mm}\",\"h\"]")), "1");
    assert_eq!(d.ok("Lmclear", &format!("[\"{mm}\",\"l1\"]")), "1");
    assert_eq!(d.ok("Zmclear", &format!("[\"{mm}\",\"z1\",\"z1\"]")), "1");
    assert_eq!(d.ok("Scan", &format!("[\"{mm}\",\"\"]")), r#"["s1"]"#);
}

#[test]
fn an_uncommitted_transaction_is_rolled_back_after_its_timeout() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "timeout");
    let mm = d.open(&sid, &mid, "cur");
    d.ok("Set", &format!("[\"{mm}\",\"k\",\"before\"]"));
    d.ok("Begin", &format!("[\"{mm}\",1]"));
    d.ok("Set", &format!("[\"{mm}\",\"k\",\"inside\"]"));
    std::thread::sleep(std::time::Duration::from_millis(1300));
    // Writes through the handle fail rather than land outside the transaction ...
    let (s, b) = d.api("Set", &format!("[\"{mm}\",\"k\",\"late\"]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("timed out"), "{b}");
    // ... until Commit (or Rollback) hears that nothing was applied.
    let (s, b) = d.api("Commit", &format!("[\"{mm}\"]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("timed out"), "{b}");
    assert_eq!(d.ok("Get", &format!("[\"{mm}\",\"k\"]")), "\"before\"");
    // The handle writes directly again.
    d.ok("Set", &format!("[\"{mm}\",\"k\",\"after\"]"));
    assert_eq!(d.ok("Get", &format!("[\"{mm}\",\"k\"]")), "\"after\"");
}

#[test]
fn refusals_say_what_went_wrong() {
    let d = Db::start();
    let sid = d.owner();
    let mid = d.create(&sid, "refusals");
    let mm = d.open(&sid, &mid, "cur");
    // A timeout out of bounds, a type that does not exist, the wrong arity.
    let (s, b) = d.api("Begin", &format!("[\"{mm}\",99999]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("1 to 3600"), "{b}");
    let (s, b) = d.api("Scan", &format!("[\"{mm}\",\"\",\"\",10,false,9]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("4 (zset)"), "{b}");
    let (s, b) = d.api("Hset", &format!("[\"{mm}\",\"h\",\"f\"]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("mmsid, key, field, value"), "{b}");
    let (s, b) = d.api("Zadd", &format!("[\"{mm}\",\"z\",\"many\",\"x\"]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("not a valid float"), "{b}");
    // Functions this node does not have say why.
    let (s, b) = d.api("MMSyncData", &format!("[\"{sid}\",\"{mid}\",\"\",\"\",0]"));
    assert_eq!(s, 501, "{b}");
    assert!(b.contains("not supported on this node"), "{b}");
    // CheckIntegrity: a sound key (or none) passes; a type that does not exist is refused.
    d.ok("Hset", &format!("[\"{mm}\",\"h\",\"f\",\"v\"]"));
    assert_eq!(
        d.ok("CheckIntegrity", &format!("[\"{mm}\",2,\"h\",false]")),
        "null"
    );
    assert_eq!(
        d.ok("CheckIntegrity", &format!("[\"{mm}\",0,\"nokey\",true]")),
        "null"
    );
    let (s, b) = d.api("CheckIntegrity", &format!("[\"{mm}\",1,\"h\",false]"));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("WRONGTYPE"), "{b}");
    let (s, b) = d.api("CheckIntegrity", &format!("[\"{mm}\",7,\"h\",false]"));
    assert_eq!(s, 400, "{b}");
    // Another user granted read only: reads yes, the new writes no.
    d.ok("Zaddwithseq", &format!("[\"{mm}\",\"log\",\"a\"]"));
    let other = NodeKey::generate().unwrap();
    d.ok(
        "MMSetRight",
        &format!("[\"{sid}\",\"{mid}\",\"{}\",1]", other.id()),
    );
    let osid = d.login(&other);
    let omm = d.open(&osid, &mid, "cur");
    assert_eq!(d.ok("GetLastSeq", &format!("[\"{omm}\"]")), "1");
    assert_eq!(
        d.ok("CheckIntegrity", &format!("[\"{omm}\",2,\"h\",false]")),
        "null"
    );
    for (f, args) in [
        ("Zaddwithseq", "\"log\",\"b\""),
        ("Hmclear", "\"h\""),
        ("Set", "\"k\",{\"a\":1}"),
        ("Begin", "10"),
        ("CheckIntegrity", "2,\"h\",true"),
    ] {
        let (s, b) = d.api(f, &format!("[\"{omm}\",{args}]"));
        assert_eq!(s, 403, "{f}: {b}");
    }
    assert_eq!(d.ok("GetLastSeq", &format!("[\"{mm}\"]")), "1");
    // A guest (the empty session) cannot write: refused at MMOpen or at the write.
    let (s, b) = d.api("MMOpen", &format!("[\"\",\"{mid}\",\"cur\"]"));
    if s == 200 {
        let (s, b) = d.api("Set", &format!("[\"{}\",\"k\",\"guest\"]", unq(&b)));
        assert_eq!(s, 403, "{b}");
    } else {
        assert!(s == 403 || s == 401, "{s} {b}");
    }
}
