//! Tests of prolly-tree versions: round trips, the empty and one-entry maps, determinism,
//! refused input, missing and corrupt blocks, decoder robustness, and how many blocks two
//! versions 1% apart share.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::ipfs::{CidError, Version};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;
type Store = HashMap<Cid, Vec<u8>>;

/// xorshift64: a fixed, dependency-free pseudo-random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("key:{i:08}").into_bytes()
}

/// `n` keys `key:00000000`... with pseudo-random values of 16 to 64 bytes.
fn map(n: u64, rng: &mut Rng) -> Map {
    (0..n)
        .map(|i| {
            let len = 16 + rng.below(49) as usize;
            (key(i), rng.bytes(len))
        })
        .collect()
}

fn ok_entries(m: &Map) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), String>> + '_ {
    m.iter().map(|(k, v)| Ok((k.clone(), v.clone())))
}

/// Builds `m` into `store`; returns the root.
fn build_into(m: &Map, store: &mut Store) -> Cid {
    build(ok_entries(m), &mut |cid: &Cid, b: &[u8]| {
        store.insert(*cid, b.to_vec());
        Ok(())
    })
    .unwrap()
}

fn fetcher(store: &Store) -> impl FnMut(&Cid) -> Result<Option<Vec<u8>>, String> + '_ {
    |cid: &Cid| Ok(store.get(cid).cloned())
}

/// Every CID reachable from `root`.
fn reachable(store: &Store, root: &Cid) -> HashSet<Cid> {
    let mut seen = HashSet::new();
    let mut todo = vec![*root];
    while let Some(c) = todo.pop() {
        if seen.insert(c) {
            todo.extend(links(&store[&c]).unwrap());
        }
    }
    seen
}

fn collect(
    t: &Tree,
    store: &Store,
    from: &[u8],
    to: Option<&[u8]>,
    reverse: bool,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    t.range(&mut fetcher(store), from, to, reverse, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        true
    })
    .unwrap();
    out
}

fn expected(m: &Map, from: &[u8], to: Option<&[u8]>, reverse: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = m
        .range(from.to_vec()..)
        .filter(|(k, _)| to.is_none_or(|t| k.as_slice() < t))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if reverse {
        v.reverse();
    }
    v
}

#[test]
fn round_trip_get_and_ranges() {
    let mut rng = Rng(1);
    let m = map(3000, &mut rng);
    let mut store = Store::new();
    let root = build_into(&m, &mut store);
    let t = Tree::new(root);
    let mut f = fetcher(&store);
    for (k, v) in &m {
        assert_eq!(t.get(&mut f, k).unwrap().as_ref(), Some(v));
    }
    for absent in [&b""[..], b"a", b"key:00000000\0", b"key:00001500x", b"zzz"] {
        assert_eq!(t.get(&mut f, absent).unwrap(), None, "{absent:?}");
    }
    assert_eq!(t.len(&mut f).unwrap(), 3000);
    assert!(!t.is_empty(&mut f).unwrap());
    // Whole map both ways, then random bounds, some outside the keys, some empty.
    for reverse in [false, true] {
        assert_eq!(
            collect(&t, &store, b"", None, reverse),
            expected(&m, b"", None, reverse)
        );
    }
    for _ in 0..200 {
        let a = key(rng.below(3100));
        let mut b = key(rng.below(3100));
        if rng.below(4) == 0 {
            b.push(b'!');
        }
        let to = (rng.below(5) != 0).then_some(b.as_slice());
        let reverse = rng.below(2) == 0;
        assert_eq!(
            collect(&t, &store, &a, to, reverse),
            expected(&m, &a, to, reverse),
            "{a:?}..{to:?} reverse {reverse}"
        );
    }
    // Stopping early, both ways.
    for reverse in [false, true] {
        let mut seen = Vec::new();
        t.range(
            &mut f,
            b"key:00000100",
            Some(b"key:00000200"),
            reverse,
            &mut |k, _| {
                seen.push(k.to_vec());
                seen.len() < 7
            },
        )
        .unwrap();
        let want: Vec<_> = expected(&m, b"key:00000100", Some(b"key:00000200"), reverse)
            .into_iter()
            .take(7)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(seen, want);
    }
}

#[test]
fn empty_map_is_the_three_byte_empty_leaf() {
    let mut store = Store::new();
    let root = build_into(&Map::new(), &mut store);
    let (cid, bytes) = empty_root();
    assert_eq!(root, cid);
    assert_eq!(bytes, [0x82, 0x00, 0x80]);
    assert_eq!(store.len(), 1);
    assert_eq!(store[&root], bytes);
    assert_eq!(root.codec(), Codec::DagCbor);
    assert_eq!(root.version(), Version::V1);
    assert_eq!(
        root.to_string(),
        "bafyreiajjm5xypssqz6egnkvxn4bbxwtkeeohka6lz7ght47ymllkufbg4"
    );
    let t = Tree::new(root);
    let mut f = fetcher(&store);
    assert_eq!(t.get(&mut f, b"x").unwrap(), None);
    assert_eq!(t.len(&mut f).unwrap(), 0);
    assert!(collect(&t, &store, b"", None, false).is_empty());
    assert!(links(&bytes).unwrap().is_empty());
}

#[test]
fn one_entry_is_one_leaf() {
    let m: Map = [(b"k".to_vec(), b"v".to_vec())].into();
    let mut store = Store::new();
    let root = build_into(&m, &mut store);
    assert_eq!(store.len(), 1);
    // [0, [h'6b', h'76']]
    assert_eq!(store[&root], [0x82, 0x00, 0x82, 0x41, b'k', 0x41, b'v']);
    let t = Tree::new(root);
    assert_eq!(
        t.get(&mut fetcher(&store), b"k").unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(
        collect(&t, &store, b"", None, true),
        expected(&m, b"", None, true)
    );
}

#[test]
fn same_entries_same_root_and_canonical_blocks() {
    let m = map(5000, &mut Rng(7));
    let (mut a, mut b) = (Store::new(), Store::new());
    let ra = build_into(&m, &mut a);
    let rb = build_into(&m, &mut b);
    assert_eq!(ra, rb);
    assert_eq!(a, b);
    // Built from an unrelated map first, then the same map into the same store.
    let other = map(100, &mut Rng(8));
    let mut c = Store::new();
    build_into(&other, &mut c);
    assert_eq!(build_into(&m, &mut c), ra);
    for (cid, bytes) in &a {
        assert_eq!(node_cid(bytes), *cid);
        let node = Node::decode(bytes).unwrap();
        assert_eq!(&node.encode(), bytes, "builder and encoder agree");
        assert!(bytes.len() <= MAX_NODE_LEN);
    }
    let levels: HashSet<u8> = a.values().map(|b| Node::decode(b).unwrap().level).collect();
    assert!(
        levels.len() >= 3,
        "5000 keys make a tree of several levels: {levels:?}"
    );
}

#[test]
fn refused_input() {
    let put = &mut |_: &Cid, _: &[u8]| Ok::<(), String>(());
    let e = |k: &[u8]| Ok::<_, String>((k.to_vec(), b"v".to_vec()));
    assert_eq!(
        build([e(b"b"), e(b"a")].into_iter(), put),
        Err(BuildError::OutOfOrder { index: 1 })
    );
    assert_eq!(
        build([e(b"a"), e(b"b"), e(b"b")].into_iter(), put),
        Err(BuildError::OutOfOrder { index: 2 })
    );
    let long = vec![0u8; MAX_KEY_LEN + 1];
    assert_eq!(
        build([e(b"a"), e(&long)].into_iter(), put),
        Err(BuildError::KeyTooLong {
            index: 1,
            len: MAX_KEY_LEN + 1
        })
    );
    let big = Ok((b"a".to_vec(), vec![0u8; MAX_VALUE_LEN + 1]));
    assert_eq!(
        build([big].into_iter(), put),
        Err(BuildError::ValueTooLong {
            index: 0,
            len: MAX_VALUE_LEN + 1
        })
    );
    // The caller's errors come back as they were.
    let failing = [e(b"a"), Err("disk on fire".to_string())];
    let r = build(failing.into_iter(), put);
    assert_eq!(r, Err(BuildError::Io("disk on fire".to_string())));
    let r = build([e(b"a")].into_iter(), &mut |_, _| Err("full".to_string()));
    assert_eq!(r, Err(BuildError::Io("full".to_string())));
    assert!(
        BuildError::<String>::OutOfOrder { index: 3 }
            .to_string()
            .contains("strictly increasing")
    );
}

#[test]
fn large_values_are_cut_by_size() {
    let mut rng = Rng(3);
    let m: Map = (0..40)
        .map(|i| {
            let len = MAX_VALUE_LEN - rng.below(1000) as usize;
            (key(i), rng.bytes(len))
        })
        .collect();
    let mut store = Store::new();
    let root = build_into(&m, &mut store);
    for b in store.values() {
        assert!(b.len() <= CUT_BYTES + MAX_VALUE_LEN + MAX_KEY_LEN + 64);
    }
    assert!(store.len() >= 40, "one value per leaf at most");
    let t = Tree::new(root);
    assert_eq!(
        collect(&t, &store, b"", None, false),
        expected(&m, b"", None, false)
    );
}

#[test]
fn missing_corrupt_and_foreign_blocks_are_named() {
    let m = map(2000, &mut Rng(5));
    let mut store = Store::new();
    let root = build_into(&m, &mut store);
    let t = Tree::new(root);
    // The leaf that holds key 1234, found by walking down.
    let k = key(1234);
    let mut path = vec![root];
    loop {
        let node = Node::decode(&store[path.last().unwrap()]).unwrap();
        match node.body {
            Body::Leaf(_) => break,
            Body::Internal(cs) => {
                let i = cs.partition_point(|c| c.key <= k.as_slice()) - 1;
                path.push(cs[i].cid);
            }
        }
    }
    let leaf = *path.last().unwrap();

    let mut gone = store.clone();
    gone.remove(&leaf);
    assert_eq!(
        t.get(&mut fetcher(&gone), &k),
        Err(ReadError::Missing(leaf))
    );
    let mut r = Ok(());
    r = r.and(t.range(&mut fetcher(&gone), b"", None, false, &mut |_, _| true));
    assert_eq!(r, Err(ReadError::Missing(leaf)));
    assert!(
        ReadError::<String>::Missing(leaf)
            .to_string()
            .contains(&leaf.to_string())
    );
    // Keys in other leaves are still readable.
    assert!(t.get(&mut fetcher(&gone), &key(0)).unwrap().is_some() || leaf == path[0]);

    let mut bad = store.clone();
    bad.get_mut(&leaf).unwrap().push(0);
    assert_eq!(t.get(&mut fetcher(&bad), &k), Err(ReadError::Corrupt(leaf)));
    let mut flipped = store.clone();
    let b = flipped.get_mut(&leaf).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    assert_eq!(
        t.range(&mut fetcher(&flipped), b"", None, true, &mut |_, _| true),
        Err(ReadError::Corrupt(leaf))
    );

    assert_eq!(
        t.get(&mut |_: &Cid| Err("offline".to_string()), &k),
        Err(ReadError::Fetch("offline".to_string()))
    );
    let raw = Cid::of_block(Version::V1, Codec::Raw, b"x");
    assert_eq!(
        Tree::new(raw).get(&mut fetcher(&store), &k),
        Err(ReadError::NotDagCbor(raw))
    );
    // A dag-cbor block that is not a node.
    let junk = vec![0xa0];
    let jc = node_cid(&junk);
    store.insert(jc, junk);
    assert!(matches!(
        Tree::new(jc).get(&mut fetcher(&store), &k),
        Err(ReadError::Decode { cid, .. }) if cid == jc
    ));
}

/// Puts `node` into `store`; returns its CID.
fn put_node(store: &mut Store, node: &Node<'_>) -> Cid {
    let b = node.encode();
    let c = node_cid(&b);
    store.insert(c, b);
    c
}

#[test]
fn a_child_that_disagrees_with_its_parent_is_inconsistent() {
    let mut store = Store::new();
    let leaf = put_node(
        &mut store,
        &Node {
            level: 0,
            body: Body::Leaf(vec![(b"b", b"1"), (b"c", b"2")]),
        },
    );
    let parent = |key: &'static [u8], count, level| Node {
        level,
        body: Body::Internal(vec![Child {
            key,
            cid: leaf,
            count,
        }]),
    };
    let good = put_node(&mut store, &parent(b"b", 2, 1));
    let t = Tree::new(good);
    assert_eq!(
        t.get(&mut fetcher(&store), b"c").unwrap(),
        Some(b"2".to_vec())
    );
    for (p, what) in [
        (parent(b"a", 2, 1), "first key"),
        (parent(b"b", 3, 1), "entry count"),
        (parent(b"b", 2, 2), "level"),
    ] {
        let c = put_node(&mut store, &p);
        match Tree::new(c).get(&mut fetcher(&store), b"c") {
            Err(ReadError::Inconsistent { cid, what: w }) => {
                assert_eq!(cid, leaf);
                assert!(w.contains(what), "{w}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // An empty leaf below a root.
    let empty = put_node(
        &mut store,
        &Node {
            level: 0,
            body: Body::Leaf(vec![]),
        },
    );
    let p = put_node(
        &mut store,
        &Node {
            level: 1,
            body: Body::Internal(vec![Child {
                key: b"a",
                cid: empty,
                count: 1,
            }]),
        },
    );
    assert!(matches!(
        Tree::new(p).get(&mut fetcher(&store), b"a"),
        Err(ReadError::Inconsistent { .. })
    ));
}

#[test]
fn links_are_the_children() {
    let m = map(3000, &mut Rng(9));
    let mut store = Store::new();
    let root = build_into(&m, &mut store);
    let all = reachable(&store, &root);
    assert_eq!(all.len(), store.len(), "every block put is reachable");
    let leaves = store
        .values()
        .filter(|b| links(b).unwrap().is_empty())
        .count();
    assert!(leaves > 3000 / 8 && leaves < 3000 / 2, "{leaves} leaves");
}

#[test]
fn ranges_fetch_only_the_nodes_they_need() {
    let m = map(20_000, &mut Rng(11));
    let mut store = Store::new();
    let root = build_into(&m, &mut store);
    let depth = {
        let n = Node::decode(&store[&root]).unwrap();
        usize::from(n.level) + 1
    };
    let t = Tree::new(root);
    let fetched = std::cell::Cell::new(0);
    let mut f = |c: &Cid| {
        fetched.set(fetched.get() + 1);
        Ok::<_, String>(store.get(c).cloned())
    };
    t.get(&mut f, &key(777)).unwrap();
    assert_eq!(fetched.get(), depth);
    fetched.set(0);
    let mut seen = 0;
    t.range(&mut f, &key(5000), Some(&key(5010)), false, &mut |_, _| {
        seen += 1;
        true
    })
    .unwrap();
    assert_eq!(seen, 10);
    // The path down plus the few leaves holding ten keys (4 per leaf on average).
    assert!(
        fetched.get() <= depth + 8,
        "{fetched:?} fetches, depth {depth}"
    );
    fetched.set(0);
    t.range(&mut f, b"", None, true, &mut |_, _| false).unwrap();
    assert_eq!(fetched.get(), depth, "stopping at once fetches one path");
}

#[test]
fn decoding_refuses_what_is_not_canonical() {
    let cid = node_cid(b"x").to_bytes();
    let mut link = vec![0xd8, 0x2a, 0x58, 1 + cid.len() as u8, 0x00];
    link.extend_from_slice(&cid);
    let internal = |body: &[u8]| [&[0x82, 0x01, 0x83][..], body].concat();
    let ok = internal(&[&[0x41, b'a'][..], &link, &[0x05]].concat());
    let node = Node::decode(&ok).unwrap();
    assert_eq!(node.total(), 5);
    assert_eq!(node.encode(), ok);
    assert_eq!(links(&ok).unwrap(), vec![node_cid(b"x")]);

    type Case = (Vec<u8>, fn(&DecodeError) -> bool);
    let cases: Vec<Case> = vec![
        (vec![], |e| matches!(e, DecodeError::Truncated { at: 0 })),
        (vec![0x82, 0x00, 0x80, 0x00], |e| {
            matches!(e, DecodeError::TrailingBytes { extra: 1 })
        }),
        // Level 0 written as a one-byte argument.
        (vec![0x82, 0x18, 0x00, 0x80], |e| {
            matches!(e, DecodeError::NonCanonical { at: 1 })
        }),
        // Indefinite-length array.
        (vec![0x82, 0x00, 0x9f, 0xff], |e| {
            matches!(e, DecodeError::NonCanonical { at: 2 })
        }),
        (vec![0x83, 0x00, 0x80, 0x00], |e| {
            matches!(e, DecodeError::Unexpected { at: 0, .. })
        }),
        (vec![0x82, 0x18, 33, 0x80], |e| {
            matches!(e, DecodeError::BadLevel(33))
        }),
        (vec![0x82, 0x00, 0x81, 0x40], |e| {
            matches!(e, DecodeError::BadItemCount { level: 0, items: 1 })
        }),
        (vec![0x82, 0x01, 0x80], |e| {
            matches!(e, DecodeError::BadItemCount { level: 1, items: 0 })
        }),
        // Keys b then a.
        (
            vec![0x82, 0x00, 0x84, 0x41, b'b', 0x40, 0x41, b'a', 0x40],
            |e| matches!(e, DecodeError::KeysOutOfOrder { index: 1 }),
        ),
        // A text string where a key should be.
        (vec![0x82, 0x00, 0x82, 0x61, b'a', 0x40], |e| {
            matches!(e, DecodeError::Unexpected { at: 3, .. })
        }),
        // An array claiming more items than there are bytes.
        (vec![0x82, 0x00, 0x98, 0xff, 0x40], |e| {
            matches!(e, DecodeError::Truncated { at: 2 })
        }),
        // A byte string longer than what is left.
        (vec![0x82, 0x00, 0x82, 0x45, b'a', 0x40], |e| {
            matches!(e, DecodeError::Truncated { at: 3 })
        }),
        (
            internal(&[&[0x41, b'a'][..], &link, &[0x00]].concat()),
            |e| matches!(e, DecodeError::BadCount { index: 0 }),
        ),
        // Link without the 0x00 byte.
        (
            internal(
                &[
                    &[0x41, b'a', 0xd8, 0x2a, 0x58, cid.len() as u8][..],
                    &cid,
                    &[1],
                ]
                .concat(),
            ),
            |e| matches!(e, DecodeError::BadLink { .. }),
        ),
        // Tag 43.
        (
            internal(&[&[0x41, b'a', 0xd8, 0x2b][..], &link[2..], &[1]].concat()),
            |e| matches!(e, DecodeError::Unexpected { at: 5, .. }),
        ),
    ];
    for (bytes, want) in cases {
        let err = Node::decode(&bytes).unwrap_err();
        assert!(want(&err), "{bytes:02x?}: {err:?}");
        assert!(!err.to_string().is_empty());
    }
    // A raw CID as a child.
    let raw = Cid::of_block(Version::V1, Codec::Raw, b"x").to_bytes();
    let mut l = vec![0xd8, 0x2a, 0x58, 1 + raw.len() as u8, 0x00];
    l.extend_from_slice(&raw);
    let e = Node::decode(&internal(&[&[0x41, b'a'][..], &l, &[1]].concat())).unwrap_err();
    assert!(matches!(e, DecodeError::BadLink { .. }), "{e:?}");
    // A CID that does not parse.
    let l = [0xd8, 0x2a, 0x42, 0x00, 0x07];
    let e = Node::decode(&internal(&[&[0x41, b'a'][..], &l, &[1]].concat())).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::Cid {
                err: CidError::UnsupportedVersion(7),
                ..
            }
        ),
        "{e:?}"
    );
    let too_big = vec![0u8; MAX_NODE_LEN + 1];
    assert!(matches!(
        Node::decode(&too_big),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn damaged_blocks_never_panic_and_what_decodes_is_canonical() {
    let m = map(300, &mut Rng(13));
    let mut store = Store::new();
    build_into(&m, &mut store);
    let mut rng = Rng(17);
    let check = |b: &[u8]| {
        if let Ok(n) = Node::decode(b) {
            assert_eq!(n.encode(), b, "a node that decodes re-encodes to itself");
        }
        let _ = links(b);
    };
    for block in store.values() {
        for cut in 0..block.len() {
            assert!(Node::decode(&block[..cut]).is_err());
        }
        for _ in 0..200 {
            let mut b = block.clone();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(b.len() as u64) as usize;
                b[i] = rng.next() as u8;
            }
            check(&b);
        }
    }
    for _ in 0..5000 {
        let len = rng.below(64) as usize;
        let mut b = rng.bytes(len);
        // Start like a node often enough to get past the first checks.
        if rng.below(2) == 0 && b.len() > 2 {
            b[0] = 0x82;
            b[1] = rng.below(3) as u8;
        }
        check(&b);
    }
}

/// The number of distinct blocks of `new` and how many of them `old` has too; prints them
/// with the bytes a peer holding `old` would fetch.
fn shared(store: &Store, old: &Cid, new: &Cid, what: &str) -> f64 {
    let a = reachable(store, old);
    let b = reachable(store, new);
    let common = b.intersection(&a).count();
    let bytes = |s: &mut dyn Iterator<Item = &Cid>| s.map(|c| store[c].len()).sum::<usize>();
    let new_bytes = bytes(&mut b.difference(&a));
    let ratio = common as f64 / b.len() as f64;
    eprintln!(
        "{what}: old {} blocks ({} bytes), new {} blocks, shared {common} ({:.2}%), \
         {} new blocks of {new_bytes} bytes",
        a.len(),
        bytes(&mut a.iter()),
        b.len(),
        ratio * 100.0,
        b.len() - common,
    );
    ratio
}

/// The test: a version of 100,000 keys and one where 1% of values changed share at
/// least 90% of the new version's blocks. Also 1% inserted and 1% deleted.
#[test]
fn versions_one_percent_apart_share_most_blocks() {
    let start = std::time::Instant::now();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let n = 100_000;
    let old = map(n, &mut rng);
    let mut store = Store::new();
    let old_root = build_into(&old, &mut store);

    let mut changed = old.clone();
    let mut picked = HashSet::new();
    while picked.len() < 1000 {
        let i = rng.below(n);
        if picked.insert(i) {
            let len = 16 + rng.below(49) as usize;
            changed.insert(key(i), rng.bytes(len));
        }
    }
    let changed_root = build_into(&changed, &mut store);
    let root = Node::decode(&store[&changed_root]).unwrap();
    eprintln!("100,000 keys: root at level {}", root.level);
    let ratio = shared(&store, &old_root, &changed_root, "1% of values changed");
    assert!(ratio >= 0.90, "{ratio}");

    // 1% new keys (between existing ones) and 1% of the keys gone.
    let mut edited = old.clone();
    let mut inserted = 0;
    while inserted < 1000 {
        let mut k = key(rng.below(n));
        k.push(b'+');
        let len = 16 + rng.below(49) as usize;
        if edited.insert(k, rng.bytes(len)).is_none() {
            inserted += 1;
        }
    }
    let mut deleted = 0;
    while deleted < 1000 {
        if edited.remove(&key(rng.below(n))).is_some() {
            deleted += 1;
        }
    }
    let edited_root = build_into(&edited, &mut store);
    let ratio = shared(&store, &old_root, &edited_root, "1% inserted, 1% deleted");
    assert!(ratio >= 0.85, "{ratio}");
    let t = Tree::new(edited_root);
    let mut f = fetcher(&store);
    assert_eq!(t.len(&mut f).unwrap(), n);
    for (k, v) in edited.iter().step_by(97) {
        assert_eq!(t.get(&mut f, k).unwrap().as_ref(), Some(v));
    }
    eprintln!("took {:?}", start.elapsed());
}
