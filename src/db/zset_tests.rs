//! The sorted set commands on an in-memory map: scores as doubles, ranges by rank, score
//! and lex (and their STORE and REM forms), union/intersection/difference, pops and random
//! members, and the errors Redis 7 answers.

use super::super::engine::exec;
use super::super::kv::{Kv, MemKv};
use super::super::{DbError, Reply};

fn run(kv: &mut dyn Kv, line: &str) -> Result<Reply, DbError> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    exec(kv, 1000, &args)
}

fn ok(kv: &mut dyn Kv, line: &str) -> Reply {
    run(kv, line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn fail(kv: &mut dyn Kv, line: &str) -> String {
    match run(kv, line) {
        Err(e) => e.to_string(),
        Ok(r) => panic!("{line}: answered {r:?}"),
    }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

fn pairs(items: &[(&str, f64)]) -> Reply {
    let mut out = Vec::new();
    for (m, s) in items {
        out.push(bulk(m));
        out.push(Reply::Double(*s));
    }
    Reply::Pairs(out)
}

#[test]
fn scores_are_doubles() {
    let mut kv = MemKv::default();
    ok(&mut kv, "ZADD z 1 a 2.5 b");
    assert_eq!(ok(&mut kv, "ZSCORE z b"), Reply::Double(2.5));
    assert_eq!(
        ok(&mut kv, "ZMSCORE z a nope b"),
        Reply::Array(vec![Reply::Double(1.0), Reply::Nil, Reply::Double(2.5)])
    );
    assert_eq!(
        ok(&mut kv, "ZMSCORE none a"),
        Reply::Array(vec![Reply::Nil])
    );
    assert_eq!(ok(&mut kv, "ZINCRBY z 2 a"), Reply::Double(3.0));
    assert_eq!(ok(&mut kv, "ZADD z INCR 1 b"), Reply::Double(3.5));
    assert_eq!(
        ok(&mut kv, "ZRANGE z 0 -1 WITHSCORES"),
        pairs(&[("a", 3.0), ("b", 3.5)])
    );
}

#[test]
fn ranges_by_rank_score_and_lex() {
    let mut kv = MemKv::default();
    ok(&mut kv, "ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(
        ok(&mut kv, "ZRANGE z 5 0 BYSCORE REV LIMIT 0 2"),
        arr(&["d", "c"])
    );
    assert_eq!(ok(&mut kv, "ZRANGE z (1 3 BYSCORE"), arr(&["b", "c"]));
    assert_eq!(ok(&mut kv, "ZRANGE z 0 -1 REV"), arr(&["d", "c", "b", "a"]));
    assert_eq!(
        ok(&mut kv, "ZRANGE z 0 -1 LIMIT 0 -1"),
        arr(&["a", "b", "c", "d"])
    );
    assert!(fail(&mut kv, "ZRANGE z 0 -1 LIMIT 1 2").contains("LIMIT is only supported"));
    assert!(fail(&mut kv, "ZRANGE z [a [b BYLEX WITHSCORES").contains("WITHSCORES not supported"));
    assert_eq!(
        fail(&mut kv, "ZREVRANGE z 0 -1 BYSCORE"),
        "ERR syntax error"
    );
    assert_eq!(fail(&mut kv, "ZRANGEBYSCORE z 0 1 REV"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "ZRANGE z 0 1 BYSCORE BYLEX"),
        "ERR syntax error"
    );

    ok(&mut kv, "ZADD l 0 alpha 0 bar 0 cool 0 down 0 elephant");
    assert_eq!(
        ok(&mut kv, "ZRANGEBYLEX l - [cool"),
        arr(&["alpha", "bar", "cool"])
    );
    assert_eq!(ok(&mut kv, "ZRANGEBYLEX l (bar (down"), arr(&["cool"]));
    assert_eq!(
        ok(&mut kv, "ZREVRANGEBYLEX l + (cool"),
        arr(&["elephant", "down"])
    );
    assert_eq!(
        ok(&mut kv, "ZRANGEBYLEX l - + LIMIT 1 2"),
        arr(&["bar", "cool"])
    );
    assert_eq!(ok(&mut kv, "ZRANGE l [b [c BYLEX"), arr(&["bar"]));
    assert_eq!(ok(&mut kv, "ZLEXCOUNT l - +"), Reply::Int(5));
    assert_eq!(ok(&mut kv, "ZLEXCOUNT l + -"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "ZLEXCOUNT l [bar (down"), Reply::Int(2));
    assert_eq!(
        fail(&mut kv, "ZRANGEBYLEX l a [b"),
        "ERR min or max not valid string range item"
    );
    assert_eq!(ok(&mut kv, "ZREMRANGEBYLEX l [bar [cool"), Reply::Int(2));
    assert_eq!(
        ok(&mut kv, "ZRANGE l 0 -1"),
        arr(&["alpha", "down", "elephant"])
    );

    assert_eq!(ok(&mut kv, "ZREMRANGEBYRANK z 1 2"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "ZRANGE z 0 -1"), arr(&["a", "d"]));
    assert_eq!(ok(&mut kv, "ZREMRANGEBYRANK z 5 9"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "ZREMRANGEBYRANK z 0 -1"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "EXISTS z"), Reply::Int(0));
}

#[test]
fn zrangestore_replaces_the_destination() {
    let mut kv = MemKv::default();
    ok(&mut kv, "ZADD src 1 a 2 b 3 c 4 d");
    assert_eq!(ok(&mut kv, "ZRANGESTORE dst src 1 2"), Reply::Int(2));
    assert_eq!(
        ok(&mut kv, "ZRANGE dst 0 -1 WITHSCORES"),
        pairs(&[("b", 2.0), ("c", 3.0)])
    );
    assert_eq!(
        ok(&mut kv, "ZRANGESTORE dst src 5 0 BYSCORE REV LIMIT 0 2"),
        Reply::Int(2)
    );
    assert_eq!(ok(&mut kv, "ZRANGE dst 0 -1"), arr(&["c", "d"]));
    assert_eq!(ok(&mut kv, "ZRANGESTORE dst src 7 9"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "EXISTS dst"), Reply::Int(0));
    assert_eq!(
        fail(&mut kv, "ZRANGESTORE dst src 0 -1 WITHSCORES"),
        "ERR syntax error"
    );
    ok(&mut kv, "ZADD dst 1 x");
    ok(&mut kv, "SET s v");
    assert!(fail(&mut kv, "ZRANGESTORE dst s 0 -1").starts_with("WRONGTYPE"));
    assert_eq!(ok(&mut kv, "ZRANGE dst 0 -1"), arr(&["x"]));
}

#[test]
fn union_inter_diff() {
    let mut kv = MemKv::default();
    ok(&mut kv, "ZADD a 1 a 2 b 3 c");
    ok(&mut kv, "ZADD b 1 b 2 c 3 d");
    ok(&mut kv, "SADD s a b c");
    assert_eq!(ok(&mut kv, "ZUNIONSTORE u 2 a b"), Reply::Int(4));
    assert_eq!(
        ok(&mut kv, "ZRANGE u 0 -1 WITHSCORES"),
        pairs(&[("a", 1.0), ("b", 3.0), ("d", 3.0), ("c", 5.0)])
    );
    assert_eq!(
        ok(&mut kv, "ZUNION 2 a b WEIGHTS 2 3 WITHSCORES"),
        pairs(&[("a", 2.0), ("b", 7.0), ("d", 9.0), ("c", 12.0)])
    );
    assert_eq!(
        ok(&mut kv, "ZINTER 2 a b AGGREGATE MAX WITHSCORES"),
        pairs(&[("b", 2.0), ("c", 3.0)])
    );
    assert_eq!(
        ok(&mut kv, "ZINTER 2 s b WEIGHTS 2 3 WITHSCORES"),
        pairs(&[("b", 5.0), ("c", 8.0)])
    );
    assert_eq!(ok(&mut kv, "ZDIFF 2 a b WITHSCORES"), pairs(&[("a", 1.0)]));
    assert_eq!(ok(&mut kv, "ZDIFF 2 a none"), arr(&["a", "b", "c"]));
    assert_eq!(ok(&mut kv, "ZINTERCARD 2 a b"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "ZINTERCARD 2 a b LIMIT 1"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "ZDIFFSTORE u 2 a a"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "EXISTS u"), Reply::Int(0));
    // -inf + +inf and -inf * 0 are NaN, which count as 0.
    ok(&mut kv, "ZADD p +inf k");
    ok(&mut kv, "ZADD n -inf k");
    ok(&mut kv, "ZUNIONSTORE o 2 p n");
    assert_eq!(ok(&mut kv, "ZSCORE o k"), Reply::Double(0.0));
    ok(&mut kv, "ZUNIONSTORE o 1 n WEIGHTS 0");
    assert_eq!(ok(&mut kv, "ZSCORE o k"), Reply::Double(0.0));

    assert_eq!(
        fail(&mut kv, "ZUNION 0 a"),
        "ERR at least 1 input key is needed for 'zunion' command"
    );
    assert_eq!(
        fail(&mut kv, "ZINTERSTORE d 0 a"),
        "ERR at least 1 input key is needed for 'zinterstore' command"
    );
    assert_eq!(fail(&mut kv, "ZUNION 3 a b"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "ZUNIONSTORE d 2 a b WITHSCORES"),
        "ERR syntax error"
    );
    assert_eq!(fail(&mut kv, "ZDIFF 2 a b WEIGHTS 1 2"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "ZUNION 2 a b AGGREGATE avg"),
        "ERR syntax error"
    );
    assert_eq!(
        fail(&mut kv, "ZUNION 2 a b WEIGHTS nan 1"),
        "ERR weight value is not a float"
    );
    assert_eq!(
        fail(&mut kv, "ZINTERCARD 1 a LIMIT -1"),
        "ERR LIMIT can't be negative"
    );
    assert_eq!(fail(&mut kv, "ZINTERCARD 1 a a"), "ERR syntax error");
    ok(&mut kv, "SET str v");
    assert!(fail(&mut kv, "ZUNION 2 a str").starts_with("WRONGTYPE"));
}

#[test]
fn pops() {
    let mut kv = MemKv::default();
    ok(&mut kv, "ZADD z -1 a 1 b 2 c 3 d");
    assert_eq!(
        ok(&mut kv, "ZPOPMIN z"),
        Reply::Array(vec![bulk("a"), Reply::Double(-1.0)])
    );
    assert_eq!(ok(&mut kv, "ZPOPMAX z 2"), pairs(&[("d", 3.0), ("c", 2.0)]));
    assert_eq!(ok(&mut kv, "ZPOPMIN z 0"), Reply::Pairs(vec![]));
    assert_eq!(ok(&mut kv, "ZPOPMIN none"), Reply::Array(vec![]));
    assert_eq!(
        fail(&mut kv, "ZPOPMIN z -1"),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        ok(&mut kv, "ZMPOP 2 none z MIN COUNT 5"),
        Reply::Array(vec![
            bulk("z"),
            Reply::Array(vec![Reply::Array(vec![bulk("b"), Reply::Double(1.0)])])
        ])
    );
    assert_eq!(ok(&mut kv, "EXISTS z"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "ZMPOP 1 z MAX"), Reply::NilArray);
    assert_eq!(
        fail(&mut kv, "ZMPOP 0 z MIN"),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(fail(&mut kv, "ZMPOP 1 z MAX MIN"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "ZMPOP 1 z MAX COUNT 1 COUNT 2"),
        "ERR syntax error"
    );
    assert_eq!(
        fail(&mut kv, "ZMPOP 1 z MIN COUNT 0"),
        "ERR count should be greater than 0"
    );
    ok(&mut kv, "SET s v");
    assert!(fail(&mut kv, "ZMPOP 2 z s MIN").starts_with("WRONGTYPE"));
    assert!(fail(&mut kv, "ZPOPMAX s").starts_with("WRONGTYPE"));
}

#[test]
fn zrandmember() {
    let mut kv = MemKv::default();
    ok(&mut kv, "ZADD z 1 a 2 b 3 c");
    assert_eq!(ok(&mut kv, "ZRANDMEMBER none"), Reply::Nil);
    assert_eq!(ok(&mut kv, "ZRANDMEMBER none 3"), Reply::Array(vec![]));
    assert_eq!(ok(&mut kv, "ZRANDMEMBER z 0"), Reply::Array(vec![]));
    let Reply::Pairs(all) = ok(&mut kv, "ZRANDMEMBER z 5 WITHSCORES") else {
        panic!("not pairs");
    };
    assert_eq!(all.len(), 6);
    for p in all.chunks(2) {
        let want = match &p[0] {
            Reply::Bulk(b) if b == b"a" => 1.0,
            Reply::Bulk(b) if b == b"b" => 2.0,
            _ => 3.0,
        };
        assert_eq!(p[1], Reply::Double(want));
    }
    let Reply::Array(rep) = ok(&mut kv, "ZRANDMEMBER z -50") else {
        panic!("not an array");
    };
    assert_eq!(rep.len(), 50);
    let Reply::Array(two) = ok(&mut kv, "ZRANDMEMBER z 2") else {
        panic!("not an array");
    };
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    assert!(
        fail(&mut kv, "ZRANDMEMBER z -9223372036854770000 WITHSCORES")
            .contains("value is out of range")
    );
    assert_eq!(fail(&mut kv, "ZRANDMEMBER z 1 bad"), "ERR syntax error");
}

#[test]
fn rank_ranges_near_the_end_walk_from_the_end() {
    let mut kv = MemKv::default();
    ok(&mut kv, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    for (line, want) in [
        ("ZRANGE z -2 -1", &["d", "e"][..]),
        ("ZRANGE z 3 10", &["d", "e"]),
        ("ZRANGE z 1 -1", &["b", "c", "d", "e"]),
        ("ZRANGE z 0 0", &["a"]),
        ("ZRANGE z -1 -1 REV", &["a"]),
        ("ZREVRANGE z 3 4", &["b", "a"]),
        ("ZREVRANGE z 0 1", &["e", "d"]),
        ("ZRANGE z 2 2", &["c"]),
    ] {
        assert_eq!(ok(&mut kv, line), arr(want), "{line}");
    }
    assert_eq!(ok(&mut kv, "ZREMRANGEBYRANK z -2 -1"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "ZRANGE z 0 -1"), arr(&["a", "b", "c"]));
}
