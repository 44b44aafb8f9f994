//! The set commands on an in-memory map: membership, the algebra and its STORE forms,
//! SINTERCARD, SMOVE, SPOP and SRANDMEMBER, and the errors Redis 7 answers.

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

fn set(items: &[&str]) -> Reply {
    Reply::Set(
        items
            .iter()
            .map(|s| Reply::Bulk(s.as_bytes().to_vec()))
            .collect(),
    )
}

fn strings(r: Reply) -> Vec<String> {
    r.into_items()
        .unwrap_or_default()
        .into_iter()
        .map(|x| match x {
            Reply::Bulk(b) => String::from_utf8(b).unwrap_or_default(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect()
}

#[test]
fn membership_and_algebra() {
    let mut kv = MemKv::default();
    ok(&mut kv, "SADD a 1 2 3 4");
    ok(&mut kv, "SADD b 3 4 5");
    assert_eq!(
        ok(&mut kv, "SMISMEMBER a 1 9 4"),
        Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1)])
    );
    assert_eq!(
        ok(&mut kv, "SMISMEMBER none x"),
        Reply::Array(vec![Reply::Int(0)])
    );
    assert_eq!(ok(&mut kv, "SMEMBERS b"), set(&["3", "4", "5"]));
    assert_eq!(ok(&mut kv, "SINTER a b"), set(&["3", "4"]));
    assert_eq!(ok(&mut kv, "SINTER a b none"), set(&[]));
    assert_eq!(
        ok(&mut kv, "SUNION a none b"),
        set(&["1", "2", "3", "4", "5"])
    );
    assert_eq!(ok(&mut kv, "SDIFF a b"), set(&["1", "2"]));
    assert_eq!(ok(&mut kv, "SINTERSTORE d a b"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "SMEMBERS d"), set(&["3", "4"]));
    assert_eq!(ok(&mut kv, "SUNIONSTORE d a b"), Reply::Int(5));
    assert_eq!(ok(&mut kv, "SCARD d"), Reply::Int(5));
    // The destination may be a source, and any type is replaced.
    assert_eq!(ok(&mut kv, "SDIFFSTORE a a b"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "SMEMBERS a"), set(&["1", "2"]));
    ok(&mut kv, "SET str x");
    assert_eq!(ok(&mut kv, "SUNIONSTORE str b"), Reply::Int(3));
    assert_eq!(ok(&mut kv, "TYPE str"), Reply::Status("set"));
    // An empty result removes the destination.
    assert_eq!(ok(&mut kv, "SINTERSTORE str a none"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "EXISTS str"), Reply::Int(0));
    ok(&mut kv, "SET s x");
    assert!(fail(&mut kv, "SINTERSTORE d a s").starts_with("WRONGTYPE"));
    assert!(fail(&mut kv, "SDIFF none s").starts_with("WRONGTYPE"));
    assert_eq!(ok(&mut kv, "SCARD d"), Reply::Int(5));
}

#[test]
fn sintercard_counts_up_to_its_limit_and_checks_arguments() {
    let mut kv = MemKv::default();
    ok(&mut kv, "SADD a 1 2 3 4");
    ok(&mut kv, "SADD b 2 3 4 5");
    assert_eq!(ok(&mut kv, "SINTERCARD 2 a b"), Reply::Int(3));
    assert_eq!(ok(&mut kv, "SINTERCARD 2 a b LIMIT 2"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "SINTERCARD 2 a b LIMIT 0"), Reply::Int(3));
    assert_eq!(ok(&mut kv, "SINTERCARD 1 none"), Reply::Int(0));
    assert_eq!(
        fail(&mut kv, "SINTERCARD 0 a"),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        fail(&mut kv, "SINTERCARD x a"),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        fail(&mut kv, "SINTERCARD 3 a b"),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(fail(&mut kv, "SINTERCARD 1 a b"), "ERR syntax error");
    assert_eq!(fail(&mut kv, "SINTERCARD 1 a LIMIT"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "SINTERCARD 1 a LIMIT -1"),
        "ERR LIMIT can't be negative"
    );
}

#[test]
fn smove_moves_once() {
    let mut kv = MemKv::default();
    ok(&mut kv, "SADD a x y");
    ok(&mut kv, "SADD b y");
    assert_eq!(ok(&mut kv, "SMOVE a b x"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "SMEMBERS a"), set(&["y"]));
    assert_eq!(ok(&mut kv, "SMEMBERS b"), set(&["x", "y"]));
    // Already in the destination: leaves the source only.
    assert_eq!(ok(&mut kv, "SMOVE a b y"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "EXISTS a"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "SCARD b"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "SMOVE a b q"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "SMOVE b b x"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "SMOVE b c nope"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "SMOVE b c x"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "SMEMBERS c"), set(&["x"]));
    ok(&mut kv, "SET s v");
    assert!(fail(&mut kv, "SMOVE b s y").starts_with("WRONGTYPE"));
    assert!(fail(&mut kv, "SMOVE s b y").starts_with("WRONGTYPE"));
    // A missing source answers 0 before the destination's type is looked at.
    assert_eq!(ok(&mut kv, "SMOVE none s y"), Reply::Int(0));
}

#[test]
fn spop_and_srandmember() {
    let mut kv = MemKv::default();
    ok(&mut kv, "SADD s a b c d e");
    let one = strings(Reply::Array(vec![ok(&mut kv, "SPOP s")]));
    assert_eq!(ok(&mut kv, "SCARD s"), Reply::Int(4));
    assert_eq!(
        ok(&mut kv, "SISMEMBER s {}".replace("{}", &one[0]).as_str()),
        Reply::Int(0)
    );
    let two = strings(ok(&mut kv, "SPOP s 2"));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    assert_eq!(ok(&mut kv, "SCARD s"), Reply::Int(2));
    assert_eq!(strings(ok(&mut kv, "SPOP s 10")).len(), 2);
    assert_eq!(ok(&mut kv, "EXISTS s"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "SPOP s"), Reply::Nil);
    assert_eq!(ok(&mut kv, "SPOP s 3"), Reply::Set(vec![]));
    assert_eq!(
        fail(&mut kv, "SPOP s -1"),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(fail(&mut kv, "SPOP s 1 2"), "ERR syntax error");

    ok(&mut kv, "SADD r a b c");
    assert_eq!(ok(&mut kv, "SRANDMEMBER r 0"), Reply::Array(vec![]));
    assert_eq!(ok(&mut kv, "SRANDMEMBER none 5"), Reply::Array(vec![]));
    assert_eq!(ok(&mut kv, "SRANDMEMBER none"), Reply::Nil);
    let mut all = strings(ok(&mut kv, "SRANDMEMBER r 10"));
    all.sort();
    assert_eq!(all, ["a", "b", "c"]);
    assert!(matches!(ok(&mut kv, "SRANDMEMBER r 1"), Reply::Array(v) if v.len() == 1));
    assert!(matches!(ok(&mut kv, "SRANDMEMBER r 2"), Reply::Set(v) if v.len() == 2));
    let two = strings(ok(&mut kv, "SRANDMEMBER r 2"));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    // A negative count repeats members, and sooner or later shows each of them.
    let many = strings(ok(&mut kv, "SRANDMEMBER r -300"));
    assert_eq!(many.len(), 300);
    for m in ["a", "b", "c"] {
        assert!(many.iter().any(|x| x == m), "{m} never picked");
    }
    assert_eq!(ok(&mut kv, "SCARD r"), Reply::Int(3));
    assert!(fail(&mut kv, "SRANDMEMBER r -9223372036854775808").contains("value is out of range"));
}

#[test]
fn the_work_of_one_command_is_capped() {
    use super::super::cmd_set::{MAX_VISIT, over_budget};
    assert!(over_budget(MAX_VISIT).is_ok());
    let e = over_budget(MAX_VISIT + 1).unwrap_err().to_string();
    assert!(e.starts_with("ERR ") && e.contains("1000000"), "{e}");
    // A negative count asks for that many picks: past the cap it is refused.
    let mut kv = MemKv::default();
    ok(&mut kv, "SADD r a");
    assert!(fail(&mut kv, "SRANDMEMBER r -1000001").contains("1000000"));
}

#[test]
fn random_picks_in_a_set_too_large_to_walk_are_members() {
    use super::super::rng::LOAD_MAX;
    let mut kv = MemKv::default();
    let n = LOAD_MAX as usize + 10;
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        let mut args: Vec<Vec<u8>> = vec![b"SADD".to_vec(), b"big".to_vec()];
        args.extend(chunk.iter().map(|i| format!("m{i:06}").into_bytes()));
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        exec(&mut kv, 1000, &refs).unwrap_or_else(|e| panic!("SADD: {e}"));
    }
    assert_eq!(ok(&mut kv, "SCARD big"), Reply::Int(n as i64));
    let is_member = |m: &str| m.len() == 7 && m.starts_with('m');
    let Reply::Bulk(one) = ok(&mut kv, "SRANDMEMBER big") else {
        panic!("no member");
    };
    assert!(is_member(&String::from_utf8_lossy(&one)));
    let five = strings(ok(&mut kv, "SRANDMEMBER big 5"));
    assert_eq!(five.len(), 5);
    let mut uniq = five.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 5);
    assert!(five.iter().all(|m| is_member(m)));
    let rep = strings(ok(&mut kv, "SRANDMEMBER big -7"));
    assert_eq!(rep.len(), 7);
    assert!(rep.iter().all(|m| is_member(m)));
    let popped = strings(ok(&mut kv, "SPOP big 3"));
    assert_eq!(popped.len(), 3);
    assert_eq!(ok(&mut kv, "SCARD big"), Reply::Int(n as i64 - 3));
    for m in popped {
        assert_eq!(ok(&mut kv, &format!("SISMEMBER big {m}")), Reply::Int(0));
    }
}
