//! Consumer groups on an in-memory map: each command's replies and errors, the pending
//! lists of groups and consumers, and the read counter and lag Redis 7.0 reports.

use super::super::kv::{Kv, MemKv};
use super::super::{DbError, Reply, engine::exec};

fn run(kv: &mut dyn Kv, now: u64, line: &str) -> Result<Reply, DbError> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    exec(kv, now, &args)
}

fn at(kv: &mut dyn Kv, now: u64, line: &str) -> Reply {
    run(kv, now, line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn ok(kv: &mut dyn Kv, line: &str) -> Reply {
    at(kv, 1000, line)
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

fn read(key: &str, entries: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::Array(vec![bulk(key), Reply::Array(entries)])])
}

/// The value of `field` in a map reply.
fn field(r: &Reply, name: &str) -> Reply {
    let items = r.clone().into_items().unwrap_or_default();
    for p in items.chunks(2) {
        if p[0] == bulk(name) {
            return p[1].clone();
        }
    }
    panic!("{name} not in {r:?}")
}

fn first(r: Reply) -> Reply {
    r.into_items().unwrap_or_default().remove(0)
}

fn fill(kv: &mut dyn Kv, n: u32) {
    for j in 1..=n {
        ok(kv, &format!("XADD s {j} f {j}"));
    }
}

#[test]
fn xgroup_create_and_errors() {
    let mut kv = MemKv::default();
    assert!(fail(&mut kv, "XGROUP CREATE s g $").contains("requires the key to exist"));
    assert_eq!(ok(&mut kv, "XGROUP CREATE s g $ MKSTREAM"), Reply::OK);
    assert_eq!(ok(&mut kv, "TYPE s"), Reply::Status("stream"));
    assert_eq!(ok(&mut kv, "XLEN s"), Reply::Int(0));
    assert_eq!(
        fail(&mut kv, "XGROUP CREATE s g $"),
        "BUSYGROUP Consumer Group name already exists"
    );
    assert_eq!(
        fail(&mut kv, "XGROUP SETID s nope 0"),
        "NOGROUP No such consumer group 'nope' for key name 's'"
    );
    assert_eq!(
        fail(&mut kv, "XGROUP CREATECONSUMER s nope c"),
        "NOGROUP No such consumer group 'nope' for key name 's'"
    );
    assert_eq!(
        fail(&mut kv, "XGROUP CREATE s h 0 ENTRIESREAD -2"),
        "ERR value for ENTRIESREAD must be positive or -1"
    );
    assert_eq!(
        fail(&mut kv, "XGROUP CREATE s h 0 FOO"),
        "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP."
    );
    assert_eq!(
        fail(&mut kv, "XGROUP HELP x"),
        "ERR wrong number of arguments for 'xgroup|help' command"
    );
    assert_eq!(
        fail(&mut kv, "XGROUP DESTROY s"),
        "ERR wrong number of arguments for 'xgroup|destroy' command"
    );
    assert_eq!(
        fail(&mut kv, "XGROUP FOO"),
        "ERR unknown subcommand 'FOO'. Try XGROUP HELP."
    );
    assert!(matches!(ok(&mut kv, "XGROUP HELP"), Reply::Array(v) if v.len() > 3));
    assert_eq!(
        ok(&mut kv, "XGROUP CREATECONSUMER s g alice"),
        Reply::Int(1)
    );
    assert_eq!(
        ok(&mut kv, "XGROUP CREATECONSUMER s g alice"),
        Reply::Int(0)
    );
    assert_eq!(ok(&mut kv, "XGROUP DELCONSUMER s g alice"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "XGROUP DELCONSUMER s g bob"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "XGROUP DESTROY s g"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "XGROUP DESTROY s g"), Reply::Int(0));
    // Only the stream's own entries are left.
    assert!(kv.map.keys().all(|k| !k.windows(2).any(|w| w == b"\x01g")));
    ok(&mut kv, "SET str v");
    assert!(fail(&mut kv, "XGROUP CREATE str g $").starts_with("WRONGTYPE"));
}

#[test]
fn xreadgroup_delivers_new_entries_and_history() {
    let mut kv = MemKv::default();
    fill(&mut kv, 2);
    ok(&mut kv, "XGROUP CREATE s g 0");
    assert_eq!(
        ok(&mut kv, "XREADGROUP GROUP g alice COUNT 1 STREAMS s >"),
        read("s", vec![entry("1-0", &["f", "1"])])
    );
    assert_eq!(
        ok(&mut kv, "XREADGROUP GROUP g bob STREAMS s >"),
        read("s", vec![entry("2-0", &["f", "2"])])
    );
    // Nothing new: nil, whether or not BLOCK is given.
    assert_eq!(
        ok(&mut kv, "XREADGROUP GROUP g bob STREAMS s >"),
        Reply::NilArray
    );
    assert_eq!(
        ok(&mut kv, "XREADGROUP GROUP g bob BLOCK 10 STREAMS s >"),
        Reply::NilArray
    );
    // History: each consumer sees its own pending entries.
    assert_eq!(
        ok(&mut kv, "XREADGROUP GROUP g alice STREAMS s 0"),
        read("s", vec![entry("1-0", &["f", "1"])])
    );
    assert_eq!(
        ok(&mut kv, "XREADGROUP GROUP g alice STREAMS s 1"),
        read("s", vec![])
    );
    // A deleted pending entry comes back as [id, nil].
    ok(&mut kv, "XDEL s 2");
    assert_eq!(
        ok(&mut kv, "XREADGROUP GROUP g bob STREAMS s 0"),
        read("s", vec![Reply::Array(vec![bulk("2-0"), Reply::NilArray])])
    );
    assert_eq!(
        fail(&mut kv, "XREADGROUP GROUP nope c STREAMS s >"),
        "NOGROUP No such key 's' or consumer group 'nope' in XREADGROUP with GROUP option"
    );
    assert!(fail(&mut kv, "XREADGROUP GROUP g c STREAMS s $").contains("meaningless"));
    assert_eq!(
        fail(&mut kv, "XREADGROUP COUNT 1 NOACK STREAMS s >"),
        "ERR Missing GROUP option for XREADGROUP"
    );
    assert_eq!(
        fail(&mut kv, "XREADGROUP GROUP g c STREAMS s t >"),
        "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified."
    );
    // NOACK delivers without a pending entry.
    ok(&mut kv, "XADD s 3 f 3");
    ok(&mut kv, "XREADGROUP GROUP g carol NOACK STREAMS s >");
    assert_eq!(
        first(ok(&mut kv, "XPENDING s g")),
        Reply::Int(2),
        "1-0 and 2-0 pending, 3-0 not"
    );
}

#[test]
fn xack_and_xpending() {
    let mut kv = MemKv::default();
    fill(&mut kv, 4);
    ok(&mut kv, "XGROUP CREATE s g 0");
    at(
        &mut kv,
        1000,
        "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
    );
    at(&mut kv, 1100, "XREADGROUP GROUP g bob STREAMS s >");
    assert_eq!(
        at(&mut kv, 1500, "XPENDING s g"),
        Reply::Array(vec![
            Reply::Int(4),
            bulk("1-0"),
            bulk("4-0"),
            Reply::Array(vec![
                Reply::Array(vec![bulk("alice"), bulk("2")]),
                Reply::Array(vec![bulk("bob"), bulk("2")]),
            ]),
        ])
    );
    assert_eq!(
        at(&mut kv, 1500, "XPENDING s g - + 10 bob"),
        Reply::Array(vec![
            Reply::Array(vec![
                bulk("3-0"),
                bulk("bob"),
                Reply::Int(400),
                Reply::Int(1)
            ]),
            Reply::Array(vec![
                bulk("4-0"),
                bulk("bob"),
                Reply::Int(400),
                Reply::Int(1)
            ]),
        ])
    );
    let n = |r: Reply| r.into_items().map_or(0, |v| v.len());
    assert_eq!(n(at(&mut kv, 1500, "XPENDING s g IDLE 450 - + 10")), 2);
    assert_eq!(n(at(&mut kv, 1500, "XPENDING s g (1-0 (4-0 10")), 2);
    assert_eq!(n(at(&mut kv, 1500, "XPENDING s g - + 1")), 1);
    assert_eq!(n(at(&mut kv, 1500, "XPENDING s g - + 10 nobody")), 0);
    assert_eq!(fail(&mut kv, "XPENDING s g - +"), "ERR syntax error");
    assert_eq!(fail(&mut kv, "XPENDING s g IDLE 5 - +"), "ERR syntax error");
    assert_eq!(
        fail(&mut kv, "XPENDING s nope"),
        "NOGROUP No such key 's' or consumer group 'nope'"
    );
    assert!(fail(&mut kv, "XACK s g 1-0 bad").contains("Invalid stream ID"));
    assert_eq!(ok(&mut kv, "XACK s g 1-0 3-0 9-0"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "XACK s g 1-0"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "XACK nope g 1-0"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "XACK s nope 1-0"), Reply::Int(0));
    assert_eq!(
        at(&mut kv, 1500, "XPENDING s g"),
        Reply::Array(vec![
            Reply::Int(2),
            bulk("2-0"),
            bulk("4-0"),
            Reply::Array(vec![
                Reply::Array(vec![bulk("alice"), bulk("1")]),
                Reply::Array(vec![bulk("bob"), bulk("1")]),
            ]),
        ])
    );
    assert_eq!(ok(&mut kv, "XGROUP DELCONSUMER s g bob"), Reply::Int(1));
    assert_eq!(first(ok(&mut kv, "XPENDING s g")), Reply::Int(1));
    ok(&mut kv, "XACK s g 2-0");
    assert_eq!(
        ok(&mut kv, "XPENDING s g"),
        Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray])
    );
}

#[test]
fn xclaim_and_xautoclaim() {
    let mut kv = MemKv::default();
    fill(&mut kv, 3);
    ok(&mut kv, "XGROUP CREATE s g 0");
    at(&mut kv, 1000, "XREADGROUP GROUP g alice STREAMS s >");
    // Not idle long enough: nothing moves.
    assert_eq!(
        at(&mut kv, 1005, "XCLAIM s g bob 10 1-0"),
        Reply::Array(vec![])
    );
    assert_eq!(
        at(&mut kv, 1200, "XCLAIM s g bob 10 1-0"),
        Reply::Array(vec![entry("1-0", &["f", "1"])])
    );
    let p = at(&mut kv, 1200, "XPENDING s g - + 10 bob");
    assert_eq!(
        p,
        Reply::Array(vec![Reply::Array(vec![
            bulk("1-0"),
            bulk("bob"),
            Reply::Int(0),
            Reply::Int(2)
        ])])
    );
    // JUSTID keeps the delivery count; a deleted entry leaves the pending list.
    ok(&mut kv, "XDEL s 2");
    assert_eq!(
        at(&mut kv, 1300, "XCLAIM s g carol 0 1-0 2-0 JUSTID"),
        Reply::Array(vec![bulk("1-0")])
    );
    assert_eq!(first(ok(&mut kv, "XPENDING s g")), Reply::Int(2));
    assert_eq!(
        fail(&mut kv, "XCLAIM s g c 0 1-0 FOO"),
        "ERR Unrecognized XCLAIM option 'FOO'"
    );
    assert_eq!(
        fail(&mut kv, "XCLAIM s g c x 1-0"),
        "ERR Invalid min-idle-time argument for XCLAIM"
    );
    assert_eq!(
        fail(&mut kv, "XCLAIM s nope c 0 1-0"),
        "NOGROUP No such key 's' or consumer group 'nope'"
    );
    // RETRYCOUNT sets the count; FORCE makes a pending entry.
    at(&mut kv, 1300, "XCLAIM s g dave 0 3-0 RETRYCOUNT 7");
    assert_eq!(
        at(&mut kv, 1300, "XPENDING s g 3 3 1"),
        Reply::Array(vec![Reply::Array(vec![
            bulk("3-0"),
            bulk("dave"),
            Reply::Int(0),
            Reply::Int(7)
        ])])
    );
    ok(&mut kv, "XADD s 4 f 4");
    assert_eq!(
        at(&mut kv, 1300, "XCLAIM s g erin 0 4-0 FORCE JUSTID"),
        Reply::Array(vec![bulk("4-0")])
    );
    // XAUTOCLAIM: cursor, claimed, deleted.
    let mut kv = MemKv::default();
    fill(&mut kv, 3);
    ok(&mut kv, "XGROUP CREATE s g 0");
    ok(&mut kv, "XREADGROUP GROUP g alice STREAMS s >");
    ok(&mut kv, "XDEL s 1 2");
    assert_eq!(
        ok(&mut kv, "XAUTOCLAIM s g bob 0 0-0 COUNT 1"),
        Reply::Array(vec![
            bulk("2-0"),
            Reply::Array(vec![]),
            Reply::Array(vec![bulk("1-0")])
        ])
    );
    assert_eq!(
        ok(&mut kv, "XAUTOCLAIM s g bob 0 2-0 COUNT 1"),
        Reply::Array(vec![
            bulk("3-0"),
            Reply::Array(vec![]),
            Reply::Array(vec![bulk("2-0")])
        ])
    );
    assert_eq!(
        ok(&mut kv, "XAUTOCLAIM s g bob 0 3-0 COUNT 1"),
        Reply::Array(vec![
            bulk("0-0"),
            Reply::Array(vec![entry("3-0", &["f", "3"])]),
            Reply::Array(vec![])
        ])
    );
    assert_eq!(
        fail(&mut kv, "XAUTOCLAIM s g bob 0 0 COUNT 0"),
        "ERR COUNT must be > 0"
    );
    assert_eq!(
        fail(&mut kv, "XAUTOCLAIM s g bob 0 0 COUNT 8070450532247928833"),
        "ERR COUNT must be > 0"
    );
    assert_eq!(
        fail(&mut kv, "XAUTOCLAIM s nope bob 0 0"),
        "NOGROUP No such key 's' or consumer group 'nope'"
    );
}

#[test]
fn read_counter_and_lag() {
    let mut kv = MemKv::default();
    fill(&mut kv, 5);
    ok(&mut kv, "XGROUP CREATE s g 0");
    let group = |kv: &mut MemKv| first(ok(kv, "XINFO GROUPS s"));
    assert_eq!(field(&group(&mut kv), "entries-read"), Reply::Nil);
    assert_eq!(field(&group(&mut kv), "lag"), Reply::Int(5));
    ok(&mut kv, "XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    assert_eq!(field(&group(&mut kv), "entries-read"), Reply::Int(1));
    assert_eq!(field(&group(&mut kv), "lag"), Reply::Int(4));
    ok(&mut kv, "XREADGROUP GROUP g c STREAMS s >");
    assert_eq!(field(&group(&mut kv), "lag"), Reply::Int(0));
    ok(&mut kv, "XADD s 6 f 6");
    assert_eq!(field(&group(&mut kv), "lag"), Reply::Int(1));
    assert_eq!(field(&group(&mut kv), "consumers"), Reply::Int(1));
    assert_eq!(field(&group(&mut kv), "pending"), Reply::Int(5));
    assert_eq!(field(&group(&mut kv), "last-delivered-id"), bulk("5-0"));
    // A deletion ahead of a group that has not read makes its lag unknown.
    ok(&mut kv, "XDEL s 3");
    ok(&mut kv, "XGROUP CREATE s h 0");
    let h = ok(&mut kv, "XINFO GROUPS s").into_items().unwrap()[1].clone();
    assert_eq!(field(&h, "lag"), Reply::Nil);
    // XINFO CONSUMERS and the FULL form.
    let c = first(at(&mut kv, 1500, "XINFO CONSUMERS s g"));
    assert_eq!(field(&c, "name"), bulk("c"));
    assert_eq!(field(&c, "pending"), Reply::Int(5));
    assert_eq!(field(&c, "idle"), Reply::Int(500));
    assert_eq!(
        fail(&mut kv, "XINFO CONSUMERS s nope"),
        "NOGROUP No such consumer group 'nope' for key name 's'"
    );
    let full = ok(&mut kv, "XINFO STREAM s FULL COUNT 2");
    let g = first(field(&full, "groups"));
    assert_eq!(field(&g, "pel-count"), Reply::Int(5));
    assert_eq!(field(&g, "pending").into_items().map(|v| v.len()), Some(2));
    let c = first(field(&g, "consumers"));
    assert_eq!(field(&c, "name"), bulk("c"));
    assert_eq!(field(&c, "pending").into_items().map(|v| v.len()), Some(2));
    assert_eq!(
        field(&ok(&mut kv, "XINFO STREAM s"), "groups"),
        Reply::Int(2)
    );
    // DEL takes groups, consumers and pending lists with the stream.
    ok(&mut kv, "DEL s");
    assert!(kv.map.is_empty());
}

#[test]
fn xclaim_answers_at_most_max_gather() {
    let mut kv = MemKv::default();
    ok(&mut kv, &format!("XADD s 1 f {}", "v".repeat(250_000)));
    ok(&mut kv, "XGROUP CREATE s g 0");
    ok(&mut kv, "XREADGROUP GROUP g a STREAMS s >");
    let ids = ["1-0"; 300].join(" ");
    let before = kv.map.clone();
    assert!(fail(&mut kv, &format!("XCLAIM s g b 0 {ids}")).contains("use JUSTID"));
    assert_eq!(kv.map, before, "nothing claimed");
    let r = ok(&mut kv, &format!("XCLAIM s g b 0 {ids} JUSTID"));
    assert_eq!(r.into_items().map(|v| v.len()), Some(300));
}
