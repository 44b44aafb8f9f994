//! Streams on an in-memory map: each command's replies and errors, the node bookkeeping
//! behind approximate trimming, and that DEL, TYPE and expiry treat a stream as a key.

use super::super::kv::{Kv, MemKv};
use super::super::{DbError, Reply, engine::exec};
use super::{Id, NODE_MAX, parse_id};

fn run(kv: &mut dyn Kv, now: u64, line: &str) -> Result<Reply, DbError> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    exec(kv, now, &args)
}

fn ok(kv: &mut dyn Kv, line: &str) -> Reply {
    run(kv, 1000, line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn fail(kv: &mut dyn Kv, line: &str) -> String {
    match run(kv, 1000, line) {
        Err(e) => e.to_string(),
        Ok(r) => panic!("{line}: expected an error, got {r:?}"),
    }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn entry(id: &str, fv: &[&str]) -> Reply {
    Reply::Array(vec![
        bulk(id),
        Reply::Array(fv.iter().map(|s| bulk(s)).collect()),
    ])
}

fn ids(r: Reply) -> Vec<String> {
    r.into_items()
        .unwrap_or_default()
        .into_iter()
        .map(
            |e| match e.into_items().and_then(|v| v.into_iter().next()) {
                Some(Reply::Bulk(b)) => String::from_utf8(b).unwrap_or_default(),
                other => panic!("not an entry: {other:?}"),
            },
        )
        .collect()
}

fn int(r: Reply) -> i64 {
    match r {
        Reply::Int(n) => n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// The value of `field` in an XINFO reply.
fn info(kv: &mut dyn Kv, line: &str, field: &str) -> Reply {
    let items = ok(kv, line).into_items().unwrap_or_default();
    for p in items.chunks(2) {
        if p[0] == bulk(field) {
            return p[1].clone();
        }
    }
    panic!("{field} not in {line}")
}

#[test]
fn ids_parse_as_redis_parses_them() {
    assert_eq!(
        parse_id(b"5", 0, false, false).unwrap().0,
        Id { ms: 5, seq: 0 }
    );
    assert_eq!(
        parse_id(b"5", u64::MAX, false, false).unwrap().0.seq,
        u64::MAX
    );
    assert_eq!(parse_id(b"-", 0, false, false).unwrap().0, Id::MIN);
    assert_eq!(parse_id(b"+", 0, false, false).unwrap().0, Id::MAX);
    assert!(parse_id(b"+", 0, true, false).is_err());
    assert_eq!(
        parse_id(b"7-*", 0, true, true).unwrap(),
        (Id { ms: 7, seq: 0 }, false)
    );
    assert!(parse_id(b"7-*", 0, true, false).is_err());
    for bad in ["", "a", "1-", "-1", "1-2-3", "18446744073709551616", " 1"] {
        assert!(parse_id(bad.as_bytes(), 0, true, false).is_err(), "{bad}");
    }
    let max = "18446744073709551615-18446744073709551615";
    assert_eq!(parse_id(max.as_bytes(), 0, true, false).unwrap().0, Id::MAX);
    assert_eq!(Id::MAX.incr(), None);
    assert_eq!(Id::MIN.decr(), None);
    assert_eq!(
        Id {
            ms: 1,
            seq: u64::MAX
        }
        .incr(),
        Some(Id { ms: 2, seq: 0 })
    );
}

#[test]
fn xadd_ids_and_errors() {
    let mut kv = MemKv::default();
    // `*` takes the clock, then increments within a millisecond.
    assert_eq!(ok(&mut kv, "XADD s * a 1"), bulk("1000-0"));
    assert_eq!(ok(&mut kv, "XADD s * a 2"), bulk("1000-1"));
    assert_eq!(ok(&mut kv, "XADD s 1000-* a 3"), bulk("1000-2"));
    assert_eq!(ok(&mut kv, "XADD s 2000-* a 4"), bulk("2000-0"));
    assert_eq!(ok(&mut kv, "XADD s * a 5"), bulk("2000-1"));
    assert_eq!(ok(&mut kv, "XADD s 3000 a 6"), bulk("3000-0"));
    let small = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    assert_eq!(fail(&mut kv, "XADD s 3000-0 a 7"), small);
    assert_eq!(fail(&mut kv, "XADD s 42-* a 7"), small);
    assert_eq!(ok(&mut kv, "XLEN s"), Reply::Int(6));
    assert_eq!(
        fail(&mut kv, "XADD t 0-0 a 1"),
        "ERR The ID specified in XADD must be greater than 0-0"
    );
    assert_eq!(ok(&mut kv, "EXISTS t"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "XADD t 0-* a 1"), bulk("0-1"));
    assert_eq!(
        fail(&mut kv, "XADD s * a"),
        "ERR wrong number of arguments for 'xadd' command"
    );
    assert_eq!(
        fail(&mut kv, "XADD s * a 1 b"),
        "ERR wrong number of arguments for 'xadd' command"
    );
    assert_eq!(
        fail(&mut kv, "XADD s x-1 a 1"),
        "ERR Invalid stream ID specified as stream command argument"
    );
    // The last possible ID, and a sequence that cannot grow.
    ok(
        &mut kv,
        "XADD m 18446744073709551615-18446744073709551615 a b",
    );
    assert_eq!(
        fail(&mut kv, "XADD m * c d"),
        "ERR The stream has exhausted the last possible ID, unable to add more items"
    );
    ok(&mut kv, "XADD q 1-18446744073709551615 a b");
    assert_eq!(fail(&mut kv, "XADD q 1-* c d"), small);
    // NOMKSTREAM on a missing key answers nil and makes nothing.
    assert_eq!(ok(&mut kv, "XADD n NOMKSTREAM * a 1"), Reply::Nil);
    assert_eq!(ok(&mut kv, "EXISTS n"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "XADD s NOMKSTREAM 4000 a 1"), bulk("4000-0"));
    ok(&mut kv, "SET str v");
    assert!(fail(&mut kv, "XADD str * a 1").starts_with("WRONGTYPE"));
    assert!(fail(&mut kv, "XLEN str").starts_with("WRONGTYPE"));
}

#[test]
fn xadd_option_errors() {
    let mut kv = MemKv::default();
    assert_eq!(
        fail(&mut kv, "XADD s MAXLEN 1 MINID 1 * a 1"),
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
    );
    assert_eq!(
        fail(&mut kv, "XADD s MAXLEN -1 * a 1"),
        "ERR The MAXLEN argument must be >= 0."
    );
    assert_eq!(
        fail(&mut kv, "XADD s MAXLEN 1 LIMIT 5 * a 1"),
        "ERR syntax error, LIMIT cannot be used without the special ~ option"
    );
    assert_eq!(
        fail(&mut kv, "XADD s LIMIT 5 * a 1"),
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
    );
    assert_eq!(
        fail(&mut kv, "XTRIM s LIMIT 5"),
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
    );
    assert_eq!(
        fail(&mut kv, "XTRIM s LIMIT 0"),
        "ERR syntax error, XTRIM must be called with a trimming strategy"
    );
    assert_eq!(fail(&mut kv, "XTRIM s MAXLEN 1 x"), "ERR syntax error");
    assert!(kv.map.is_empty());
}

#[test]
fn xrange_and_xrevrange() {
    let mut kv = MemKv::default();
    for id in ["1-0", "1-1", "2-0", "3-5"] {
        ok(&mut kv, &format!("XADD s {id} f {id}"));
    }
    assert_eq!(
        ok(&mut kv, "XRANGE s - +"),
        Reply::Array(vec![
            entry("1-0", &["f", "1-0"]),
            entry("1-1", &["f", "1-1"]),
            entry("2-0", &["f", "2-0"]),
            entry("3-5", &["f", "3-5"]),
        ])
    );
    assert_eq!(ids(ok(&mut kv, "XRANGE s 1 1")), ["1-0", "1-1"]);
    assert_eq!(ids(ok(&mut kv, "XRANGE s (1-0 3")), ["1-1", "2-0", "3-5"]);
    assert_eq!(ids(ok(&mut kv, "XRANGE s - (3-5")), ["1-0", "1-1", "2-0"]);
    assert_eq!(ids(ok(&mut kv, "XRANGE s - + COUNT 2")), ["1-0", "1-1"]);
    assert_eq!(
        ids(ok(&mut kv, "XREVRANGE s + - COUNT 3")),
        ["3-5", "2-0", "1-1"]
    );
    assert_eq!(ids(ok(&mut kv, "XREVRANGE s 2 1-1")), ["2-0", "1-1"]);
    assert_eq!(ids(ok(&mut kv, "XRANGE s 3 1")), Vec::<String>::new());
    assert_eq!(ok(&mut kv, "XRANGE s - + COUNT 0"), Reply::NilArray);
    assert_eq!(ok(&mut kv, "XRANGE nope - + COUNT 0"), Reply::Array(vec![]));
    assert_eq!(ok(&mut kv, "XRANGE s - + COUNT -4"), Reply::NilArray);
    assert_eq!(fail(&mut kv, "XRANGE s - + LIMIT 1"), "ERR syntax error");
    assert!(fail(&mut kv, "XRANGE s (- +").contains("Invalid stream ID"));
    assert!(fail(&mut kv, "XRANGE s - (+").contains("Invalid stream ID"));
    assert_eq!(
        fail(
            &mut kv,
            "XRANGE s (18446744073709551615-18446744073709551615 +"
        ),
        "ERR invalid start ID for the interval"
    );
    assert_eq!(
        fail(&mut kv, "XRANGE s - (0-0"),
        "ERR invalid end ID for the interval"
    );
}

#[test]
fn xdel_keeps_the_stream_and_tracks_ids() {
    let mut kv = MemKv::default();
    for id in 1..=3 {
        ok(&mut kv, &format!("XADD s {id} f v"));
    }
    assert_eq!(ok(&mut kv, "XDEL s 2 2 9"), Reply::Int(1));
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "max-deleted-entry-id"),
        bulk("2-0")
    );
    assert_eq!(ok(&mut kv, "XDEL s 1 3"), Reply::Int(2));
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "max-deleted-entry-id"),
        bulk("3-0")
    );
    // Empty, but still a stream with its last ID.
    assert_eq!(ok(&mut kv, "XLEN s"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "TYPE s"), Reply::Status("stream"));
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "last-generated-id"),
        bulk("3-0")
    );
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "radix-tree-keys"),
        Reply::Int(0)
    );
    assert!(fail(&mut kv, "XADD s 2 f v").contains("equal or smaller"));
    assert_eq!(ok(&mut kv, "XDEL nope 1"), Reply::Int(0));
    assert!(fail(&mut kv, "XDEL s 1 x").contains("Invalid stream ID"));
}

#[test]
fn trimming_exact_and_by_nodes() {
    let mut kv = MemKv::default();
    for j in 1..=1000 {
        ok(&mut kv, &format!("XADD s {j} i {j}"));
    }
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "radix-tree-keys"),
        Reply::Int(1000 / NODE_MAX as i64)
    );
    assert_eq!(ok(&mut kv, "XTRIM s MAXLEN 666"), Reply::Int(334));
    assert_eq!(ok(&mut kv, "XLEN s"), Reply::Int(666));
    assert_eq!(ok(&mut kv, "XTRIM s MAXLEN = 555"), Reply::Int(111));
    // `~` drops whole nodes only: 555 live in nodes of 100 (the first holding 55).
    assert_eq!(ok(&mut kv, "XTRIM s MAXLEN ~ 444"), Reply::Int(55));
    assert_eq!(ok(&mut kv, "XLEN s"), Reply::Int(500));
    assert_eq!(ok(&mut kv, "XTRIM s MAXLEN ~ 400"), Reply::Int(100));
    assert_eq!(ok(&mut kv, "XTRIM s MAXLEN ~ 0 LIMIT 150"), Reply::Int(100));
    assert_eq!(ok(&mut kv, "XLEN s"), Reply::Int(300));
    assert_eq!(ids(ok(&mut kv, "XRANGE s - + COUNT 1")), ["701-0"]);
    assert_eq!(ok(&mut kv, "XTRIM s MINID 950"), Reply::Int(249));
    assert_eq!(ids(ok(&mut kv, "XRANGE s - + COUNT 1")), ["950-0"]);
    assert_eq!(
        info(&mut kv, "XINFO STREAM s FULL", "recorded-first-entry-id"),
        bulk("950-0")
    );
    assert_eq!(ok(&mut kv, "XTRIM nope MAXLEN 0"), Reply::Int(0));
    // XADD trims after adding; MAXLEN 0 leaves an empty stream.
    assert_eq!(ok(&mut kv, "XADD e MAXLEN 0 * a b"), bulk("1000-0"));
    assert_eq!(ok(&mut kv, "XLEN e"), Reply::Int(0));
    assert_eq!(
        info(&mut kv, "XINFO STREAM e", "entries-added"),
        Reply::Int(1)
    );
    // XADD MAXLEN 5 keeps the last five.
    for j in 0..20 {
        ok(&mut kv, &format!("XADD f MAXLEN 5 * x {j}"));
    }
    assert_eq!(ok(&mut kv, "XLEN f"), Reply::Int(5));
    let r = ok(&mut kv, "XRANGE f - + COUNT 1");
    assert_eq!(
        r.into_items().unwrap()[0].clone().into_items().unwrap()[1],
        Reply::Array(vec![bulk("x"), bulk("15")])
    );
}

#[test]
fn xread_serves_what_is_there() {
    let mut kv = MemKv::default();
    ok(&mut kv, "XADD a 1 f 1");
    ok(&mut kv, "XADD a 2 f 2");
    ok(&mut kv, "XADD b 5 g 5");
    assert_eq!(
        ok(&mut kv, "XREAD COUNT 1 STREAMS none a b 0 1 0"),
        Reply::Array(vec![
            Reply::Array(vec![
                bulk("a"),
                Reply::Array(vec![entry("2-0", &["f", "2"])])
            ]),
            Reply::Array(vec![
                bulk("b"),
                Reply::Array(vec![entry("5-0", &["g", "5"])])
            ]),
        ])
    );
    assert_eq!(ok(&mut kv, "XREAD STREAMS a b $ $"), Reply::NilArray);
    assert_eq!(ok(&mut kv, "XREAD BLOCK 10 STREAMS a 2"), Reply::NilArray);
    assert_eq!(
        ids(ok(&mut kv, "XREAD BLOCK 0 STREAMS a 1")
            .into_items()
            .unwrap()[0]
            .clone()
            .into_items()
            .unwrap()[1]
            .clone()),
        ["2-0"]
    );
    assert_eq!(
        fail(&mut kv, "XREAD STREAMS a b 0"),
        "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."
    );
    assert_eq!(fail(&mut kv, "XREAD COUNT 1 a 0"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "XREAD BLOCK -1 STREAMS a 0"),
        "ERR timeout is negative"
    );
    assert!(fail(&mut kv, "XREAD STREAMS a >").contains("XREADGROUP"));
    assert!(fail(&mut kv, "XREAD GROUP g c STREAMS a 0").contains("only supported by XREADGROUP"));
}

#[test]
fn xsetid_rules() {
    let mut kv = MemKv::default();
    assert_eq!(fail(&mut kv, "XSETID s 1-1"), "ERR no such key");
    assert_eq!(fail(&mut kv, "XSETID s 1-1 0"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "XSETID s 1-1 ENTRIESADDED -1 MAXDELETEDID 0-0"),
        "ERR entries_added must be positive"
    );
    ok(&mut kv, "XADD s 5 a b");
    assert!(fail(&mut kv, "XSETID s 4").contains("smaller than the target stream top item"));
    assert!(
        fail(&mut kv, "XSETID s 5 ENTRIESADDED 0")
            .contains("smaller than the target stream length")
    );
    assert!(fail(&mut kv, "XSETID s 5 MAXDELETEDID 6").contains("max_deleted_entry_id"));
    assert_eq!(
        ok(&mut kv, "XSETID s 200 ENTRIESADDED 9 MAXDELETEDID 3"),
        Reply::OK
    );
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "last-generated-id"),
        bulk("200-0")
    );
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "entries-added"),
        Reply::Int(9)
    );
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "max-deleted-entry-id"),
        bulk("3-0")
    );
    assert_eq!(ok(&mut kv, "XADD s * a b"), bulk("1000-0"));
}

#[test]
fn xinfo_stream_shapes() {
    let mut kv = MemKv::default();
    ok(&mut kv, "XADD s 1 a 1");
    ok(&mut kv, "XADD s 2 b 2");
    assert_eq!(info(&mut kv, "XINFO STREAM s", "length"), Reply::Int(2));
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "first-entry"),
        entry("1-0", &["a", "1"])
    );
    assert_eq!(
        info(&mut kv, "XINFO STREAM s", "last-entry"),
        entry("2-0", &["b", "2"])
    );
    assert_eq!(
        ids(info(&mut kv, "XINFO STREAM s FULL COUNT 1", "entries")),
        ["1-0"]
    );
    assert_eq!(fail(&mut kv, "XINFO STREAM nope"), "ERR no such key");
    assert_eq!(
        fail(&mut kv, "XINFO STREAM s FULL COUNT"),
        "ERR syntax error"
    );
    assert_eq!(
        fail(&mut kv, "XINFO HELP x"),
        "ERR wrong number of arguments for 'xinfo|help' command"
    );
    assert_eq!(
        fail(&mut kv, "XINFO FOO"),
        "ERR unknown subcommand 'FOO'. Try XINFO HELP."
    );
}

#[test]
fn streams_are_keys() {
    let mut kv = MemKv::default();
    ok(&mut kv, "XADD s 1 a 1");
    assert_eq!(ok(&mut kv, "TYPE s"), Reply::Status("stream"));
    assert_eq!(
        ok(&mut kv, "SCAN 0 TYPE stream"),
        Reply::Array(vec![bulk("0"), Reply::Array(vec![bulk("s")])])
    );
    assert_eq!(ok(&mut kv, "PEXPIRE s 500"), Reply::Int(1));
    assert_eq!(int(run(&mut kv, 1200, "XLEN s").unwrap()), 1);
    assert_eq!(int(run(&mut kv, 1600, "XLEN s").unwrap()), 0);
    assert!(kv.map.is_empty(), "an expired stream leaves nothing");
    ok(&mut kv, "XADD s 1 a 1");
    assert_eq!(ok(&mut kv, "DEL s"), Reply::Int(1));
    assert!(kv.map.is_empty(), "DEL leaves nothing");
}

fn args(line: &str) -> Vec<&[u8]> {
    line.split(' ').map(str::as_bytes).collect()
}

#[test]
fn blocking_reads_have_a_plan_that_serves_them() {
    use super::StreamWait;
    let mut kv = MemKv::default();
    ok(&mut kv, "XADD a 5 f 1");
    // Without BLOCK, or XREADGROUP with a history ID: no waiting.
    assert_eq!(
        StreamWait::of(&mut kv, 1000, &args("XREAD STREAMS a $")).unwrap(),
        None
    );
    ok(&mut kv, "XGROUP CREATE a g $");
    let hist = args("XREADGROUP GROUP g c BLOCK 0 STREAMS a 0");
    assert_eq!(StreamWait::of(&mut kv, 1000, &hist).unwrap(), None);
    // `$` is fixed to the last ID when blocking; BLOCK goes.
    let w = StreamWait::of(
        &mut kv,
        1000,
        &args("XREAD COUNT 5 BLOCK 250 STREAMS a b a $ 0 $"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(w.timeout_ms, 250);
    assert_eq!(w.keys, vec![b"a".to_vec(), b"b".to_vec()]);
    let shown: Vec<String> = w
        .args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into())
        .collect();
    assert_eq!(
        shown,
        [
            "XREAD", "COUNT", "5", "STREAMS", "a", "b", "a", "5-0", "0", "5-0"
        ]
    );
    assert_eq!(w.serve(&mut kv, 1000).unwrap(), None);
    // Another type on a key: skipped until it is a stream again.
    ok(&mut kv, "SET b x");
    assert_eq!(w.serve(&mut kv, 1000).unwrap(), None);
    ok(&mut kv, "XADD a 6 f 2");
    let r = w.serve(&mut kv, 1000).unwrap().unwrap();
    assert_eq!(r.into_items().map(|v| v.len()), Some(2), "a twice");
    // XREADGROUP: served by new entries; errors when the stream or group goes.
    let g = StreamWait::of(
        &mut kv,
        1000,
        &args("XREADGROUP GROUP g c BLOCK 0 STREAMS a >"),
    )
    .unwrap()
    .unwrap();
    let first = g.serve(&mut kv, 1000).unwrap().unwrap();
    assert_eq!(
        ids(first.into_items().unwrap()[0].clone().into_items().unwrap()[1].clone()),
        ["6-0"]
    );
    assert_eq!(g.serve(&mut kv, 1000).unwrap(), None);
    ok(&mut kv, "XGROUP DESTROY a g");
    assert!(
        g.serve(&mut kv, 1000)
            .unwrap_err()
            .to_string()
            .starts_with("NOGROUP")
    );
    ok(&mut kv, "DEL a");
    assert_eq!(
        g.serve(&mut kv, 1000).unwrap_err().to_string(),
        "UNBLOCKED the stream key no longer exists"
    );
}

#[test]
fn xread_gathers_at_most_max_gather() {
    use super::MAX_GATHER;
    let mut kv = MemKv::default();
    let big = "v".repeat(250_000);
    for j in 1..=4 {
        ok(&mut kv, &format!("XADD s {j} f {big}"));
    }
    // 80 times the same 1 MB stream: the reply stops near 64 MiB, the first copies whole.
    let line = format!(
        "XREAD STREAMS {} {}",
        ["s"; 80].join(" "),
        ["0"; 80].join(" ")
    );
    let r = ok(&mut kv, &line).into_items().unwrap();
    let per: Vec<usize> = r
        .iter()
        .map(|x| {
            x.clone().into_items().unwrap()[1]
                .clone()
                .into_items()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(per[0], 4);
    let total: usize = per.iter().sum();
    assert!(total * 250_000 <= MAX_GATHER, "{total} entries");
    assert!(total >= MAX_GATHER / 250_100, "{total} entries");
    assert!(per.len() < 80);
}
