//! The engine on an in-memory map: each type's commands, expiry, the SCAN cursor, and
//! errors that leave the data as it was.

use super::super::kv::{Kv, MemKv, Overlay};
use super::super::{DbError, Reply};
use super::exec;

fn run(kv: &mut dyn Kv, now: u64, line: &str) -> Result<Reply, DbError> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    exec(kv, now, &args)
}

fn ok(kv: &mut dyn Kv, line: &str) -> Reply {
    run(kv, 1000, line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

#[test]
fn strings_and_counters() {
    let mut kv = MemKv::default();
    assert_eq!(ok(&mut kv, "SET a 1"), Reply::OK);
    assert_eq!(ok(&mut kv, "INCRBY a 41"), Reply::Int(42));
    assert_eq!(ok(&mut kv, "GET a"), bulk("42"));
    assert_eq!(ok(&mut kv, "APPEND a x"), Reply::Int(3));
    assert_eq!(
        run(&mut kv, 1000, "INCR a").unwrap_err().to_string(),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(ok(&mut kv, "SET a v NX"), Reply::Nil);
    assert_eq!(ok(&mut kv, "SET a v XX GET"), bulk("42x"));
    assert_eq!(
        ok(&mut kv, "MGET a nope"),
        Reply::Array(vec![bulk("v"), Reply::Nil])
    );
}

#[test]
fn types_collide_with_wrongtype_and_nothing_changes() {
    let mut kv = MemKv::default();
    ok(&mut kv, "HSET h f v");
    let before = kv.map.clone();
    let e = run(&mut kv, 1000, "LPUSH h x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(kv.map, before);
    assert_eq!(ok(&mut kv, "TYPE h"), Reply::Status("hash"));
    assert_eq!(ok(&mut kv, "SET h s"), Reply::OK);
    // SET over a hash drops its fields.
    assert!(run(&mut kv, 1000, "HLEN h").is_err());
    assert!(
        kv.map.keys().all(|k| k[0] != b'e'),
        "hash elements left behind"
    );
}

#[test]
fn lists_hashes_sets_zsets() {
    let mut kv = MemKv::default();
    assert_eq!(ok(&mut kv, "RPUSH l a b c"), Reply::Int(3));
    assert_eq!(ok(&mut kv, "LPUSH l z"), Reply::Int(4));
    assert_eq!(ok(&mut kv, "LRANGE l 0 -1"), arr(&["z", "a", "b", "c"]));
    assert_eq!(ok(&mut kv, "LINDEX l -1"), bulk("c"));
    assert_eq!(
        run(&mut kv, 1000, "LSET l 9 x").unwrap_err().to_string(),
        "ERR index out of range"
    );
    assert_eq!(ok(&mut kv, "LPOP l 2"), arr(&["z", "a"]));
    assert_eq!(ok(&mut kv, "RPOP l"), bulk("c"));
    assert_eq!(ok(&mut kv, "LLEN l"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "HSET h a 1 b 2"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "HINCRBY h a 5"), Reply::Int(6));
    assert_eq!(
        ok(&mut kv, "HGETALL h").into_items(),
        arr(&["a", "6", "b", "2"]).into_items()
    );
    assert_eq!(ok(&mut kv, "HFSCAN h a"), arr(&["b", "2"]));
    assert_eq!(ok(&mut kv, "SADD s x y z"), Reply::Int(3));
    assert_eq!(ok(&mut kv, "SADD t y"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "SINTER s t"), Reply::Set(vec![bulk("y")]));
    assert_eq!(
        ok(&mut kv, "SDIFF s t"),
        Reply::Set(vec![bulk("x"), bulk("z")])
    );
    assert_eq!(ok(&mut kv, "ZADD z 2 b 1 a 3 c"), Reply::Int(3));
    assert_eq!(
        ok(&mut kv, "ZRANGE z 0 -1 WITHSCORES"),
        Reply::Pairs(vec![
            bulk("a"),
            Reply::Double(1.0),
            bulk("b"),
            Reply::Double(2.0),
            bulk("c"),
            Reply::Double(3.0)
        ])
    );
    assert_eq!(
        ok(&mut kv, "ZRANGEBYSCORE z (1 +inf LIMIT 1 1"),
        arr(&["c"])
    );
    assert_eq!(ok(&mut kv, "ZREVRANGEBYSCORE z 2 -inf"), arr(&["b", "a"]));
    assert_eq!(ok(&mut kv, "ZINCRBY z 1.1 a"), Reply::Double(1.0 + 1.1));
    assert_eq!(ok(&mut kv, "ZRANK z c"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "ZREMRANGEBYSCORE z 2 2.5"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "ZCARD z"), Reply::Int(1));
    // Emptied containers disappear.
    assert_eq!(ok(&mut kv, "SREM t y"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "EXISTS t"), Reply::Int(0));
}

#[test]
fn expiry_and_sweep() {
    let mut kv = MemKv::default();
    ok(&mut kv, "SET k v");
    assert_eq!(ok(&mut kv, "PEXPIRE k 500"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "PTTL k"), Reply::Int(500));
    assert_eq!(run(&mut kv, 1600, "GET k").unwrap(), Reply::Nil);
    assert!(kv.map.is_empty(), "expired key left entries: {:?}", kv.map);
    ok(&mut kv, "HSET h f v");
    ok(&mut kv, "EXPIRE h 1");
    assert_eq!(super::sweep(&mut kv, 5000, 100).unwrap(), 1);
    assert!(kv.map.is_empty());
}

#[test]
fn scan_returns_every_key_once_even_with_shared_prefixes() {
    let mut kv = MemKv::default();
    let mut want = Vec::new();
    for i in 0..300 {
        let k = if i % 3 == 0 {
            format!("samepref:{i}")
        } else {
            format!("k{i}")
        };
        ok(&mut kv, &format!("SET {k} v"));
        want.push(k);
    }
    want.sort();
    let mut got = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let Reply::Array(r) = ok(&mut kv, &format!("SCAN {cursor} COUNT 7")) else {
            panic!()
        };
        let Reply::Bulk(c) = &r[0] else { panic!() };
        let Reply::Array(keys) = &r[1] else { panic!() };
        for k in keys {
            let Reply::Bulk(k) = k else { panic!() };
            got.push(String::from_utf8(k.clone()).unwrap());
        }
        cursor = String::from_utf8(c.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn overlay_isolates_until_applied() {
    let mut base = MemKv::default();
    ok(&mut base, "SET a 1");
    let mut txn = Overlay::default();
    ok(&mut txn.over(&mut base), "INCR a");
    ok(&mut txn.over(&mut base), "RPUSH l x");
    assert_eq!(ok(&mut base, "GET a"), bulk("1"));
    assert_eq!(ok(&mut txn.over(&mut base), "GET a"), bulk("2"));
    assert!(txn.keys.contains(b"a".as_slice()));
    txn.apply(&mut base).unwrap();
    assert_eq!(ok(&mut base, "GET a"), bulk("2"));
    assert_eq!(ok(&mut base, "LLEN l"), Reply::Int(1));
}

#[test]
fn errors_read_as_redis() {
    let mut kv = MemKv::default();
    let e = |kv: &mut MemKv, l: &str| run(kv, 1000, l).unwrap_err().to_string();
    assert_eq!(
        e(&mut kv, "FOO a b"),
        "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
    );
    assert_eq!(
        e(&mut kv, "GET"),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        e(&mut kv, "HSET h f"),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(e(&mut kv, "ZADD z x m"), "ERR value is not a valid float");
    assert_eq!(e(&mut kv, "ZCOUNT z a b"), "ERR min or max is not a float");
    assert_eq!(
        e(&mut kv, "SET k v EX 0"),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(e(&mut kv, "SET k v NX XX"), "ERR syntax error");
    assert!(kv.map.is_empty());
}

#[test]
fn the_sequence_scores_members_in_order_and_survives_flushdb() {
    let mut kv = MemKv::default();
    assert_eq!(ok(&mut kv, "GETLASTSEQ"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "ZADDWITHSEQ log a b"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "ZADDWITHSEQ log c"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "GETLASTSEQ"), Reply::Int(3));
    assert_eq!(
        ok(&mut kv, "ZRANGE log 0 -1 WITHSCORES"),
        Reply::Pairs(vec![
            bulk("a"),
            Reply::Double(1.0),
            bulk("b"),
            Reply::Double(2.0),
            bulk("c"),
            Reply::Double(3.0)
        ])
    );
    // A failed add takes no numbers.
    ok(&mut kv, "SET s x");
    assert!(run(&mut kv, 1000, "ZADDWITHSEQ s m").is_err());
    assert_eq!(ok(&mut kv, "GETLASTSEQ"), Reply::Int(3));
    // The counter is no key, and outlives FLUSHDB.
    assert_eq!(ok(&mut kv, "KEYS *"), arr(&["log", "s"]));
    ok(&mut kv, "FLUSHDB");
    assert_eq!(ok(&mut kv, "DBSIZE"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "ZADDWITHSEQ log d"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "ZSCORE log d"), Reply::Double(4.0));
}

#[test]
fn plain_values_that_look_like_a_typed_marker_stay_plain() {
    use super::super::typed::{TYPED, Values};
    use super::exec_values;
    let mut kv = MemKv::default();
    let mut tricky = TYPED.to_vec();
    tricky.extend_from_slice(b"m1{s1\"a\"1}");
    // Through the plain door (RESP) the bytes come back as they went in ...
    for (cmd, read) in [
        (
            &[b"SET".as_slice(), b"k", &tricky][..],
            &[b"GET".as_slice(), b"k"][..],
        ),
        (&[b"HSET", b"h", b"f", &tricky], &[b"HGET", b"h", b"f"]),
        (&[b"RPUSH", b"l", &tricky], &[b"LINDEX", b"l", b"0"]),
    ] {
        exec(&mut kv, 0, cmd).unwrap();
        assert_eq!(exec(&mut kv, 0, read).unwrap(), Reply::Bulk(tricky.clone()));
        // ... and the stored form says "plain", so the API door cannot take them for a
        // typed value.
        let Reply::Bulk(stored) = exec_values(&mut kv, 0, read, Values::Stored).unwrap() else {
            panic!("no value");
        };
        assert_eq!(
            super::super::typed::classify(&stored),
            super::super::typed::Form::Plain(&tricky)
        );
    }
    assert_eq!(
        exec(&mut kv, 0, &[b"STRLEN", b"k"]).unwrap(),
        Reply::Int(tricky.len() as i64)
    );
}
