//! The list commands on an in-memory map: Redis's replies and errors for each, a long
//! random run against a model (crossing chunk limits at both ends and in the middle), and
//! lists of the first layout (one entry per element, as written before chunks) read and
//! written by every list command.

use std::collections::VecDeque;

use super::super::engine::exec;
use super::super::keys::{self, Kind, LIST_MID, Meta};
use super::super::kv::{Kv, MemKv};
use super::super::{DbError, Reply};

fn run(kv: &mut dyn Kv, args: &[&[u8]]) -> Result<Reply, DbError> {
    exec(kv, 1000, args)
}

fn line(kv: &mut dyn Kv, l: &str) -> Result<Reply, DbError> {
    let args: Vec<&[u8]> = l.split(' ').map(str::as_bytes).collect();
    run(kv, &args)
}

fn ok(kv: &mut dyn Kv, l: &str) -> Reply {
    line(kv, l).unwrap_or_else(|e| panic!("{l}: {e}"))
}

fn err(kv: &mut dyn Kv, l: &str) -> String {
    line(kv, l).unwrap_err().to_string()
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(
        items
            .iter()
            .map(|s| Reply::Bulk(s.as_bytes().to_vec()))
            .collect(),
    )
}

fn ints(items: &[i64]) -> Reply {
    Reply::Array(items.iter().map(|i| Reply::Int(*i)).collect())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

#[test]
fn pop_arity_and_count_errors_read_as_redis() {
    let mut kv = MemKv::default();
    assert_eq!(
        err(&mut kv, "LPOP key 1 1"),
        "ERR wrong number of arguments for 'lpop' command"
    );
    assert_eq!(
        err(&mut kv, "RPOP key 2 2"),
        "ERR wrong number of arguments for 'rpop' command"
    );
    assert_eq!(
        err(&mut kv, "LPOP key -1"),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(ok(&mut kv, "LPOP key 0"), Reply::NilArray);
    assert_eq!(ok(&mut kv, "LPOP key"), Reply::Nil);
    ok(&mut kv, "RPUSH key a");
    assert_eq!(ok(&mut kv, "LPOP key 0"), Reply::Array(vec![]));
    assert_eq!(ok(&mut kv, "RPOP key 5"), arr(&["a"]));
    assert_eq!(ok(&mut kv, "EXISTS key"), Reply::Int(0));
}

#[test]
fn lmove_and_rpoplpush() {
    let mut kv = MemKv::default();
    ok(&mut kv, "RPUSH s a b c");
    assert_eq!(ok(&mut kv, "RPOPLPUSH s d"), bulk("c"));
    assert_eq!(ok(&mut kv, "LMOVE s d LEFT RIGHT"), bulk("a"));
    assert_eq!(ok(&mut kv, "LRANGE d 0 -1"), arr(&["c", "a"]));
    // The same list: a rotation.
    assert_eq!(ok(&mut kv, "LMOVE d d left right"), bulk("c"));
    assert_eq!(ok(&mut kv, "LRANGE d 0 -1"), arr(&["a", "c"]));
    assert_eq!(ok(&mut kv, "RPOPLPUSH s s"), bulk("b"));
    // The last element moves and its key goes.
    assert_eq!(ok(&mut kv, "LMOVE s d RIGHT LEFT"), bulk("b"));
    assert_eq!(ok(&mut kv, "EXISTS s"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "LMOVE s d LEFT LEFT"), Reply::Nil);
    assert_eq!(err(&mut kv, "LMOVE d s UP LEFT"), "ERR syntax error");
    // A destination of another type: WRONGTYPE, the source keeps its element.
    ok(&mut kv, "SET str v");
    assert!(err(&mut kv, "RPOPLPUSH d str").starts_with("WRONGTYPE"));
    assert!(err(&mut kv, "RPOPLPUSH str d").starts_with("WRONGTYPE"));
    assert_eq!(ok(&mut kv, "LLEN d"), Reply::Int(3));
    // An absent source answers nil even when the destination is of another type.
    assert_eq!(ok(&mut kv, "RPOPLPUSH nope str"), Reply::Nil);
}

#[test]
fn lmpop_arguments_and_replies() {
    let mut kv = MemKv::default();
    for (l, e) in [
        ("LMPOP 0 l LEFT", "ERR numkeys should be greater than 0"),
        ("LMPOP a l LEFT", "ERR numkeys should be greater than 0"),
        ("LMPOP -1 l RIGHT", "ERR numkeys should be greater than 0"),
        ("LMPOP 1 l bad", "ERR syntax error"),
        ("LMPOP 1 l LEFT bar", "ERR syntax error"),
        ("LMPOP 1 l RIGHT LEFT", "ERR syntax error"),
        ("LMPOP 1 l COUNT", "ERR syntax error"),
        ("LMPOP 1 l LEFT COUNT 1 COUNT 2", "ERR syntax error"),
        ("LMPOP 2 l m", "ERR syntax error"),
        ("LMPOP 9223372036854775807 l m", "ERR syntax error"),
        (
            "LMPOP 1 l LEFT COUNT 0",
            "ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 l LEFT COUNT a",
            "ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 l LEFT COUNT -1",
            "ERR count should be greater than 0",
        ),
        (
            "LMPOP 1",
            "ERR wrong number of arguments for 'lmpop' command",
        ),
    ] {
        assert_eq!(err(&mut kv, l), e, "{l}");
    }
    assert_eq!(ok(&mut kv, "LMPOP 2 l m LEFT"), Reply::NilArray);
    ok(&mut kv, "RPUSH m a b c");
    assert_eq!(
        ok(&mut kv, "LMPOP 2 l m RIGHT COUNT 2"),
        Reply::Array(vec![bulk("m"), arr(&["c", "b"])])
    );
    assert_eq!(
        ok(&mut kv, "LMPOP 2 l m left count 10"),
        Reply::Array(vec![bulk("m"), arr(&["a"])])
    );
    assert_eq!(ok(&mut kv, "EXISTS m"), Reply::Int(0));
    ok(&mut kv, "SET l x");
    assert!(err(&mut kv, "LMPOP 2 l m LEFT").starts_with("WRONGTYPE"));
}

#[test]
fn linsert_lrem_ltrim_lset() {
    let mut kv = MemKv::default();
    assert_eq!(ok(&mut kv, "LINSERT l BEFORE a x"), Reply::Int(0));
    ok(&mut kv, "RPUSH l a b c");
    assert_eq!(ok(&mut kv, "LINSERT l BEFORE b x"), Reply::Int(4));
    assert_eq!(ok(&mut kv, "LINSERT l after c y"), Reply::Int(5));
    assert_eq!(ok(&mut kv, "LINSERT l AFTER nope z"), Reply::Int(-1));
    assert_eq!(err(&mut kv, "LINSERT l MIDDLE a z"), "ERR syntax error");
    assert_eq!(
        ok(&mut kv, "LRANGE l 0 -1"),
        arr(&["a", "x", "b", "c", "y"])
    );
    ok(&mut kv, "RPUSH r x a x b x");
    assert_eq!(ok(&mut kv, "LREM r -2 x"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "LRANGE r 0 -1"), arr(&["x", "a", "b"]));
    assert_eq!(ok(&mut kv, "LREM r 0 nope"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "LREM r 1 x"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "LREM r 0 a"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "LREM r 0 b"), Reply::Int(1));
    assert_eq!(ok(&mut kv, "EXISTS r"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "LREM r 0 b"), Reply::Int(0));
    assert_eq!(
        err(&mut kv, "LREM r x b"),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(ok(&mut kv, "LTRIM nope 0 1"), Reply::OK);
    assert_eq!(ok(&mut kv, "LTRIM l 1 -2"), Reply::OK);
    assert_eq!(ok(&mut kv, "LRANGE l 0 -1"), arr(&["x", "b", "c"]));
    assert_eq!(ok(&mut kv, "LTRIM l 0 -100"), Reply::OK);
    assert_eq!(ok(&mut kv, "EXISTS l"), Reply::Int(0));
    assert_eq!(err(&mut kv, "LSET l 0 v"), "ERR no such key");
    ok(&mut kv, "RPUSH l a");
    assert_eq!(ok(&mut kv, "LSET l -1 v"), Reply::OK);
    assert_eq!(err(&mut kv, "LSET l 1 v"), "ERR index out of range");
    assert_eq!(ok(&mut kv, "LINDEX l 0"), bulk("v"));
    ok(&mut kv, "SET s v");
    for l in [
        "LINSERT s BEFORE a b",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LPOS s a",
    ] {
        assert!(err(&mut kv, l).starts_with("WRONGTYPE"), "{l}");
    }
}

#[test]
fn lpos_options() {
    let mut kv = MemKv::default();
    ok(&mut kv, "RPUSH l a b c 1 2 3 c c");
    assert_eq!(ok(&mut kv, "LPOS l a"), Reply::Int(0));
    assert_eq!(ok(&mut kv, "LPOS l c"), Reply::Int(2));
    assert_eq!(ok(&mut kv, "LPOS l c RANK 2"), Reply::Int(6));
    assert_eq!(ok(&mut kv, "LPOS l c RANK 4"), Reply::Nil);
    assert_eq!(ok(&mut kv, "LPOS l c RANK -1"), Reply::Int(7));
    assert_eq!(ok(&mut kv, "LPOS l c RANK -2"), Reply::Int(6));
    assert!(err(&mut kv, "LPOS l c RANK 0").starts_with("ERR RANK can't be zero: use 1"));
    assert_eq!(
        err(&mut kv, "LPOS l c RANK -9223372036854775808"),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(ok(&mut kv, "LPOS l c COUNT 0"), ints(&[2, 6, 7]));
    assert_eq!(ok(&mut kv, "LPOS l c COUNT 2"), ints(&[2, 6]));
    assert_eq!(ok(&mut kv, "LPOS l c COUNT 0 RANK 2"), ints(&[6, 7]));
    assert_eq!(ok(&mut kv, "LPOS l c COUNT 2 RANK -1"), ints(&[7, 6]));
    assert_eq!(ok(&mut kv, "LPOS l c COUNT 0 MAXLEN 3"), ints(&[2]));
    assert_eq!(
        ok(&mut kv, "LPOS l c COUNT 0 MAXLEN 3 RANK -1"),
        ints(&[7, 6])
    );
    assert_eq!(ok(&mut kv, "LPOS l c COUNT 0 MAXLEN 7 RANK 2"), ints(&[6]));
    assert_eq!(ok(&mut kv, "LPOS l x COUNT 2"), ints(&[]));
    assert_eq!(ok(&mut kv, "LPOS nope x COUNT 2"), ints(&[]));
    assert_eq!(ok(&mut kv, "LPOS nope x"), Reply::Nil);
    assert_eq!(
        err(&mut kv, "LPOS l c COUNT -1"),
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        err(&mut kv, "LPOS l c MAXLEN x"),
        "ERR MAXLEN can't be negative"
    );
    assert_eq!(err(&mut kv, "LPOS l c RANK"), "ERR syntax error");
    assert_eq!(err(&mut kv, "LPOS l c FOO 1"), "ERR syntax error");
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// A value: mostly small, now and then large enough to sit alone in its chunk.
fn value(r: &mut Rng) -> Vec<u8> {
    let len = match r.below(20) {
        0 => 3000 + r.below(6000) as usize,
        1 => 500,
        _ => 1 + r.below(6) as usize,
    };
    let c = b'a' + r.below(4) as u8;
    vec![c; len]
}

fn as_reply(v: &[Vec<u8>]) -> Reply {
    Reply::Array(v.iter().cloned().map(Reply::Bulk).collect())
}

/// Random commands on `l` (which must equal `model`), each checked against the model, and
/// CHECKKEY after each.
fn random_run(kv: &mut MemKv, model: &mut VecDeque<Vec<u8>>, seed: u64, steps: usize) {
    let mut r = Rng(seed);
    for step in 0..steps {
        let len = model.len() as i64;
        let idx = r.below(len as u64 + 4) as i64 - 2;
        let v = value(&mut r);
        let what = r.below(13);
        let ctx = format!("step {step} op {what}");
        match what {
            0 | 1 => {
                let n = 1 + r.below(40) as usize;
                let vals: Vec<Vec<u8>> = (0..n).map(|_| value(&mut r)).collect();
                let left = what == 0;
                let mut args: Vec<&[u8]> = vec![if left { b"LPUSH" } else { b"RPUSH" }, b"l"];
                args.extend(vals.iter().map(Vec::as_slice));
                for x in &vals {
                    if left {
                        model.push_front(x.clone());
                    } else {
                        model.push_back(x.clone());
                    }
                }
                assert_eq!(
                    run(kv, &args).unwrap(),
                    Reply::Int(model.len() as i64),
                    "{ctx}"
                );
            }
            2 | 3 => {
                let n = r.below(60);
                let left = what == 2;
                let want: Vec<Vec<u8>> = (0..n)
                    .map_while(|_| {
                        if left {
                            model.pop_front()
                        } else {
                            model.pop_back()
                        }
                    })
                    .collect();
                let name: &[u8] = if left { b"LPOP" } else { b"RPOP" };
                let got = run(kv, &[name, b"l", n.to_string().as_bytes()]).unwrap();
                if len == 0 {
                    assert_eq!(got, Reply::NilArray, "{ctx}");
                } else {
                    assert_eq!(got, as_reply(&want), "{ctx}");
                }
            }
            4 => {
                let got = run(kv, &[b"LINDEX", b"l", idx.to_string().as_bytes()]).unwrap();
                let i = if idx < 0 { idx + len } else { idx };
                let want = usize::try_from(i)
                    .ok()
                    .and_then(|i| model.get(i))
                    .map_or(Reply::Nil, |x| Reply::Bulk(x.clone()));
                assert_eq!(got, want, "{ctx}");
            }
            5 => {
                let i = if idx < 0 { idx + len } else { idx };
                let got = run(kv, &[b"LSET", b"l", idx.to_string().as_bytes(), &v]);
                match usize::try_from(i).ok().filter(|i| *i < model.len()) {
                    Some(i) => {
                        got.unwrap();
                        model[i] = v.clone();
                    }
                    None => assert!(got.is_err(), "{ctx}"),
                }
            }
            6 => {
                let (s, e) = (idx, r.below(len as u64 + 4) as i64 - 2);
                let got = run(
                    kv,
                    &[
                        b"LRANGE",
                        b"l",
                        s.to_string().as_bytes(),
                        e.to_string().as_bytes(),
                    ],
                )
                .unwrap();
                let want: Vec<Vec<u8>> =
                    match super::super::engine::index_range(s, e, model.len() as u64) {
                        Some((s, e)) => model.range(s as usize..=e as usize).cloned().collect(),
                        None => vec![],
                    };
                assert_eq!(got, as_reply(&want), "{ctx}");
            }
            7 => {
                // LINSERT around an existing element (or a missing pivot).
                let pivot = if len > 0 && r.below(4) > 0 {
                    model[r.below(len as u64) as usize].clone()
                } else {
                    b"zz".to_vec()
                };
                let after = r.below(2) == 1;
                let got = run(
                    kv,
                    &[
                        b"LINSERT",
                        b"l",
                        if after { b"AFTER" } else { b"BEFORE" },
                        &pivot,
                        &v,
                    ],
                )
                .unwrap();
                match model.iter().position(|x| *x == pivot) {
                    Some(p) if len > 0 => {
                        model.insert(p + usize::from(after), v.clone());
                        assert_eq!(got, Reply::Int(model.len() as i64), "{ctx}");
                    }
                    _ if len == 0 => assert_eq!(got, Reply::Int(0), "{ctx}"),
                    _ => assert_eq!(got, Reply::Int(-1), "{ctx}"),
                }
            }
            8 => {
                let count = r.below(5) as i64 - 2;
                let target = model
                    .get(r.below(len.max(1) as u64) as usize)
                    .cloned()
                    .unwrap_or_default();
                let got = run(kv, &[b"LREM", b"l", count.to_string().as_bytes(), &target]).unwrap();
                let limit = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut removed = 0;
                let mut kept: Vec<Vec<u8>> = Vec::new();
                let order: Vec<Vec<u8>> = if count < 0 {
                    model.iter().rev().cloned().collect()
                } else {
                    model.iter().cloned().collect()
                };
                for x in order {
                    if x == target && removed < limit {
                        removed += 1;
                    } else {
                        kept.push(x);
                    }
                }
                if count < 0 {
                    kept.reverse();
                }
                *model = kept.into();
                assert_eq!(got, Reply::Int(removed as i64), "{ctx}");
            }
            9 => {
                // A mild trim (most runs keep most of the list).
                let s = r.below(5) as i64;
                let e = -1 - r.below(5) as i64;
                assert_eq!(
                    run(
                        kv,
                        &[
                            b"LTRIM",
                            b"l",
                            s.to_string().as_bytes(),
                            e.to_string().as_bytes()
                        ]
                    )
                    .unwrap(),
                    Reply::OK
                );
                *model = match super::super::engine::index_range(s, e, model.len() as u64) {
                    Some((s, e)) => model.range(s as usize..=e as usize).cloned().collect(),
                    None => VecDeque::new(),
                };
            }
            10 => {
                let got = run(kv, &[b"LPOS", b"l", &v, b"RANK", b"-1", b"COUNT", b"0"]).unwrap();
                let want: Vec<i64> = (0..model.len())
                    .rev()
                    .filter(|i| model[*i] == v)
                    .map(|i| i as i64)
                    .collect();
                assert_eq!(got, ints(&want), "{ctx}");
            }
            11 => {
                let got = run(kv, &[b"LMOVE", b"l", b"l", b"LEFT", b"RIGHT"]).unwrap();
                match model.pop_front() {
                    Some(x) => {
                        assert_eq!(got, Reply::Bulk(x.clone()), "{ctx}");
                        model.push_back(x);
                    }
                    None => assert_eq!(got, Reply::Nil, "{ctx}"),
                }
            }
            _ => {
                let got = run(kv, &[b"LRANGE", b"l", b"0", b"-1"]).unwrap();
                assert_eq!(
                    got,
                    as_reply(&model.iter().cloned().collect::<Vec<_>>()),
                    "{ctx}"
                );
            }
        }
        assert_eq!(ok(kv, "LLEN l"), Reply::Int(model.len() as i64), "{ctx}");
        assert_eq!(ok(kv, "CHECKKEY l list"), Reply::OK, "{ctx}");
        if model.is_empty() {
            let p = keys::elem_prefix(b"l");
            assert!(
                kv.map.keys().all(|k| !k.starts_with(&p)),
                "{ctx}: entries left"
            );
        }
    }
}

#[test]
fn random_commands_agree_with_a_model_across_chunks() {
    for seed in [1, 7, 99] {
        let mut kv = MemKv::default();
        let mut model = VecDeque::new();
        random_run(&mut kv, &mut model, seed, 1500);
    }
}

#[test]
fn a_middle_chunk_that_grows_splits_between_its_neighbours() {
    let mut kv = MemKv::default();
    let big = "x".repeat(1000);
    // Three chunks of 128 small elements; then big values inserted in the middle one
    // split it (again and again, until its gap is used up and the list is renumbered).
    let mut args: Vec<String> = vec!["RPUSH".into(), "l".into()];
    args.extend((0..384).map(|i| i.to_string()));
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    run(&mut kv, &a).unwrap();
    for i in 0..100 {
        let got = run(
            &mut kv,
            &[b"LINSERT", b"l", b"AFTER", b"200", big.as_bytes()],
        )
        .unwrap();
        assert_eq!(got, Reply::Int(385 + i));
        assert_eq!(ok(&mut kv, "CHECKKEY l list"), Reply::OK, "{i}");
    }
    assert_eq!(ok(&mut kv, "LINDEX l 200"), bulk("200"));
    assert_eq!(ok(&mut kv, "LINDEX l 201"), bulk(&big));
    assert_eq!(ok(&mut kv, "LINDEX l 301"), bulk("201"));
    assert_eq!(ok(&mut kv, "LINDEX l -1"), bulk("383"));
    let chunks = kv.map.keys().filter(|k| k[0] == keys::ELEM).count();
    assert!(chunks > 100 / 4, "{chunks} chunks");
}

/// Writes `items` at `key` as lists were written before chunks: one entry per element at
/// head, head + 1, ..., and a 16-byte list meta entry (len, head).
fn old_list(kv: &mut MemKv, key: &[u8], items: &[&[u8]], head: u64, expire: u64) {
    let mut m = vec![Kind::List as u8];
    m.extend_from_slice(&expire.to_be_bytes());
    m.extend_from_slice(&(items.len() as u64).to_be_bytes());
    m.extend_from_slice(&head.to_be_bytes());
    kv.put(&keys::meta(key), &m).unwrap();
    if expire != 0 {
        kv.put(&keys::expiry(expire, key), &[]).unwrap();
    }
    for (i, v) in items.iter().enumerate() {
        kv.put(&keys::list_elem(key, head + i as u64), v).unwrap();
    }
}

fn is_chunked(kv: &mut MemKv, key: &[u8]) -> bool {
    let raw = kv.get(&keys::meta(key)).unwrap().unwrap();
    Meta::decode(&raw).unwrap().chunked
}

#[test]
fn lists_of_the_first_layout_read_and_convert_on_write() {
    let items: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
    let refs: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
    let old = |kv: &mut MemKv| {
        for key in ["l", "s", "d"] {
            old_list(kv, key.as_bytes(), &refs, LIST_MID - 5, 0);
        }
        old_list(kv, b"e", &[b"x", b"y"], LIST_MID, 1 << 40);
    };
    // Reads leave the layout as it is.
    let mut kv = MemKv::default();
    old(&mut kv);
    assert_eq!(ok(&mut kv, "LLEN l"), Reply::Int(300));
    assert_eq!(ok(&mut kv, "LINDEX l 0"), bulk("v0"));
    assert_eq!(ok(&mut kv, "LINDEX l -1"), bulk("v299"));
    assert_eq!(ok(&mut kv, "LINDEX l 170"), bulk("v170"));
    assert_eq!(ok(&mut kv, "LRANGE l 1 2"), arr(&["v1", "v2"]));
    assert_eq!(ok(&mut kv, "LRANGE l -2 -1"), arr(&["v298", "v299"]));
    assert_eq!(ok(&mut kv, "LPOS l v250"), Reply::Int(250));
    assert_eq!(
        ok(&mut kv, "LPOS l v250 RANK -1 MAXLEN 60"),
        Reply::Int(250)
    );
    assert_eq!(ok(&mut kv, "CHECKKEY l list"), Reply::OK);
    assert!(matches!(ok(&mut kv, "PTTL e"), Reply::Int(t) if t > 0));
    assert!(!is_chunked(&mut kv, b"l"));
    // Every write converts the list first, then does its work; the expiry stays.
    let writes: &[(&str, Reply)] = &[
        ("LPUSH l a", Reply::Int(301)),
        ("RPUSH l z", Reply::Int(302)),
        ("LPUSHX l b", Reply::Int(303)),
        ("RPUSHX l y", Reply::Int(304)),
        ("LPOP l", bulk("b")),
        ("RPOP l 2", arr(&["y", "z"])),
        ("LSET l 1 first", Reply::OK),
        ("LINSERT l AFTER v150 mid", Reply::Int(302)),
        ("LREM l 0 mid", Reply::Int(1)),
        ("LTRIM l 1 -2", Reply::OK),
        ("LMOVE s d RIGHT LEFT", bulk("v299")),
        ("RPOPLPUSH d s", bulk("v299")),
        (
            "LMPOP 1 e LEFT COUNT 1",
            Reply::Array(vec![bulk("e"), arr(&["x"])]),
        ),
    ];
    for (l, want) in writes {
        assert_eq!(&ok(&mut kv, l), want, "{l}");
    }
    for key in ["l", "s", "d", "e"] {
        assert!(is_chunked(&mut kv, key.as_bytes()), "{key}");
        assert_eq!(
            ok(&mut kv, &format!("CHECKKEY {key} list")),
            Reply::OK,
            "{key}"
        );
    }
    assert_eq!(ok(&mut kv, "LRANGE l 0 1"), arr(&["first", "v1"]));
    assert_eq!(ok(&mut kv, "LLEN l"), Reply::Int(299));
    assert_eq!(ok(&mut kv, "LINDEX l -1"), bulk("v298"));
    assert_eq!(ok(&mut kv, "LRANGE s 0 0"), arr(&["v299"]));
    assert_eq!(ok(&mut kv, "LLEN d"), Reply::Int(300));
    assert_eq!(ok(&mut kv, "LRANGE e 0 -1"), arr(&["y"]));
    assert!(matches!(ok(&mut kv, "PTTL e"), Reply::Int(t) if t > 0));
    // LCLEAR and DEL drop an old list whole; a random run goes on from an old one (whose
    // sequence numbers end at the very end of the space).
    old(&mut kv);
    assert_eq!(ok(&mut kv, "LCLEAR l"), Reply::Int(300));
    assert_eq!(ok(&mut kv, "DEL s"), Reply::Int(1));
    assert!(
        kv.map
            .keys()
            .all(|k| !k.starts_with(&keys::elem_prefix(b"l")))
    );
    assert!(
        kv.map
            .keys()
            .all(|k| !k.starts_with(&keys::elem_prefix(b"s")))
    );
    old_list(&mut kv, b"l", &refs, u64::MAX - 299, 0);
    let mut model: VecDeque<Vec<u8>> = items.iter().map(|s| s.as_bytes().to_vec()).collect();
    random_run(&mut kv, &mut model, 5, 300);
    // A damaged old list is found, and REPAIRKEY rewrites it in chunks.
    let mut kv = MemKv::default();
    old_list(&mut kv, b"l", &[b"a", b"b", b"c"], LIST_MID, 0);
    kv.del(&keys::list_elem(b"l", LIST_MID + 1)).unwrap();
    assert!(err(&mut kv, "CHECKKEY l list").contains("is damaged"));
    assert_eq!(ok(&mut kv, "REPAIRKEY l list"), Reply::Status("REPAIRED"));
    assert_eq!(ok(&mut kv, "LRANGE l 0 -1"), arr(&["a", "c"]));
    assert!(is_chunked(&mut kv, b"l"));
}

#[test]
fn versions_made_before_chunks_still_read_after_the_list_is_converted() {
    use crate::db::cur::{CurStore, Durability};
    use crate::db::version::{VersionKv, snapshot};
    use crate::mimei::MimeiId;
    use crate::store::Store;
    let dir = std::env::temp_dir().join(format!("leither-listver-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir, 8 << 20, "test").unwrap();
    let mid = MimeiId::from_bytes([6; 20]);
    let mut db = CurStore::new(Durability::Group);
    // cur holds a list of the first layout, as the code before chunks wrote it.
    let items: Vec<String> = (0..500).map(|i| format!("e{i}")).collect();
    let refs: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
    let mut mem = MemKv::default();
    old_list(&mut mem, b"l", &refs, LIST_MID, 0);
    {
        let mut view = db.view(&store, &mid);
        for (k, v) in &mem.map {
            view.put(k, v).unwrap();
        }
    }
    let v1 = snapshot(&mut db, &store, &mid).unwrap();
    assert_eq!(
        ok(&mut db.view(&store, &mid), "LPUSH l new"),
        Reply::Int(501)
    );
    let v2 = snapshot(&mut db, &store, &mid).unwrap();
    let mut old = VersionKv::new(&store, v1, "v1".into());
    assert_eq!(ok(&mut old, "LLEN l"), Reply::Int(500));
    assert_eq!(ok(&mut old, "LINDEX l -1"), bulk("e499"));
    assert_eq!(ok(&mut old, "LRANGE l 250 251"), arr(&["e250", "e251"]));
    assert_eq!(ok(&mut old, "LPOS l e300 RANK -1"), Reply::Int(300));
    assert_eq!(ok(&mut old, "CHECKKEY l list"), Reply::OK);
    assert!(err(&mut old, "LPUSH l x").starts_with("READONLY"));
    let mut new = VersionKv::new(&store, v2, "v2".into());
    assert_eq!(ok(&mut new, "LRANGE l 0 1"), arr(&["new", "e0"]));
    assert_eq!(ok(&mut new, "LINDEX l 300"), bulk("e299"));
    assert_eq!(ok(&mut new, "CHECKKEY l list"), Reply::OK);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lrem_merges_what_it_leaves_into_fewer_chunks() {
    for (count, rev) in [("0", false), ("-1000", true)] {
        let mut kv = MemKv::default();
        let items: Vec<String> = (0..384)
            .map(|i| {
                if i % 4 == 0 {
                    format!("k{i}")
                } else {
                    "drop".into()
                }
            })
            .collect();
        let mut args: Vec<&[u8]> = vec![b"RPUSH", b"l"];
        args.extend(items.iter().map(|s| s.as_bytes()));
        run(&mut kv, &args).unwrap();
        let chunks = |kv: &MemKv| kv.map.keys().filter(|k| k[0] == keys::ELEM).count();
        assert_eq!(chunks(&kv), 3);
        assert_eq!(
            ok(&mut kv, &format!("LREM l {count} drop")),
            Reply::Int(288),
            "{rev}"
        );
        assert_eq!(chunks(&kv), 1, "{rev}");
        assert_eq!(ok(&mut kv, "CHECKKEY l list"), Reply::OK);
        assert_eq!(ok(&mut kv, "LLEN l"), Reply::Int(96));
        assert_eq!(ok(&mut kv, "LINDEX l 0"), bulk("k0"));
        assert_eq!(ok(&mut kv, "LINDEX l -1"), bulk("k380"));
    }
}
