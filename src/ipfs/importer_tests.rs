//! CID vectors for the importer and directory builder, and exporter round trips over them.
//!
//! - kubo's own published results (shared/vectors/kubo-cids.tsv, from kubo's
//!   t0040-add-and-cat.sh and changelogs), inputs transcribed from the shell commands there.
//! - The independent JS importer's results on boundary sizes, three-level trees, trickle
//!   trees and a nested directory: `tests/ipfs_oracle/oracle-cids.tsv`, made (and re-checked
//!   in CI) by `tests/ipfs_oracle/check.sh`. The inputs are regenerated here with the same
//!   generator as `tests/ipfs_oracle/gen.mjs`, so no node is needed to run these tests.

use super::cid::{Cid, Version};
use super::dir::{self, BuiltDir, DirEntry};
use super::exporter::{self, ExportError, FileReader, Step};
use super::importer::{FileImporter, ImportOptions, Layout, import_bytes};
use std::collections::HashMap;

/// gen.mjs `rand(n)`: xorshift32 seeded with `(n ^ 0x9E3779B9) | 1`, words little-endian.
fn rand(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 3);
    let mut s = ((n as u32) ^ 0x9E37_79B9) | 1;
    while out.len() < n {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// `ipfs add` flags to options; returns (options, wrap with -w).
fn options(flags: &str) -> (ImportOptions, bool) {
    let mut o = ImportOptions::default();
    let mut wrap = false;
    for f in flags.split_whitespace() {
        match f {
            "--cid-version=1" => o.cid_version = Version::V1,
            "--raw-leaves" | "--raw-leaves=true" => o.raw_leaves = Some(true),
            "--raw-leaves=false" => o.raw_leaves = Some(false),
            "--trickle" => o.layout = Layout::Trickle,
            "-w" => wrap = true,
            "-r" => {}
            other if other.starts_with("--hamt-threshold-rule=") => {
                let rule = other.split_once('=').unwrap().1;
                o.hamt_rule = dir::HamtRule::parse(rule).expect(other);
            }
            other => {
                let n = other.strip_prefix("--chunker=size-").expect(other);
                o.chunk_size = n.parse().unwrap();
            }
        }
    }
    (o, wrap)
}

/// Imports `data` pushing it in uneven pieces, checks the streamed blocks, returns the entry.
fn import(opts: ImportOptions, data: &[u8], store: &mut HashMap<Cid, Vec<u8>>) -> (Cid, u64) {
    let mut imp = FileImporter::new(opts).unwrap();
    let mut pieces = [1usize, 1000, 65_537, 262_144, 999_983].into_iter().cycle();
    let mut rest = data;
    while !rest.is_empty() {
        let n = pieces.next().unwrap().min(rest.len());
        for b in imp.push(&rest[..n]) {
            store.insert(b.cid, b.data);
        }
        rest = &rest[n..];
    }
    let done = imp.finish();
    assert_eq!(done.size, data.len() as u64);
    for b in done.blocks {
        store.insert(b.cid, b.data);
    }
    assert!(store.contains_key(&done.root));
    (done.root, done.dag_size)
}

fn fetch(store: &HashMap<Cid, Vec<u8>>) -> impl FnMut(&Cid) -> Result<Vec<u8>, ExportError> + '_ {
    |c| store.get(c).cloned().ok_or(ExportError::Missing(*c))
}

/// gen.mjs `tree()`, built bottom-up.
fn tree(opts: ImportOptions, store: &mut HashMap<Cid, Vec<u8>>) -> BuiltDir {
    let v = opts.cid_version;
    let file = |name: &str, data: &[u8], store: &mut HashMap<Cid, Vec<u8>>| {
        let (cid, tsize) = import(opts, data, store);
        DirEntry {
            name: name.into(),
            cid,
            tsize,
        }
    };
    let put = |d: BuiltDir, store: &mut HashMap<Cid, Vec<u8>>| {
        for b in &d.blocks {
            store.insert(b.cid, b.data.clone());
        }
        d
    };
    let deeper = dir::build(
        vec![
            file("c", b"", store),
            file("\u{e9}t\u{e9}.txt", &rand(1000), store),
        ],
        v,
    )
    .unwrap();
    let deeper = put(deeper, store);
    let sub = dir::build(
        vec![
            file("b.txt", b"hello\n", store),
            file("b.txt.orig", b"hello\n", store),
            deeper.entry("deeper"),
        ],
        v,
    )
    .unwrap();
    let sub = put(sub, store);
    let empty = put(dir::build(vec![], v).unwrap(), store);
    let root = dir::build(
        vec![
            file("a.bin", &rand(262_145), store),
            file("Z", b"Z", store),
            sub.entry("sub"),
            empty.entry("empty"),
        ],
        v,
    )
    .unwrap();
    put(root, store)
}

/// gen.mjs `big(n)`: a flat directory of `n` small files.
fn big(n: usize, opts: ImportOptions, store: &mut HashMap<Cid, Vec<u8>>) -> BuiltDir {
    flat(
        n,
        |i| format!("f{i:05}-{}.txt", "x".repeat(20)),
        opts,
        store,
    )
}

/// gen.mjs `edge(n)`: `n` small files with 30-byte names (64 bytes an entry under CIDv0).
fn edge(n: usize, opts: ImportOptions, store: &mut HashMap<Cid, Vec<u8>>) -> BuiltDir {
    flat(
        n,
        |i| format!("e{i:05}-{}.txt", "x".repeat(19)),
        opts,
        store,
    )
}

/// A flat directory of `n` files named `name(i)` holding `"{i}\n"`.
fn flat(
    n: usize,
    name: impl Fn(usize) -> String,
    opts: ImportOptions,
    store: &mut HashMap<Cid, Vec<u8>>,
) -> BuiltDir {
    let entries = (0..n)
        .map(|i| {
            let (cid, tsize) = import(opts, format!("{i}\n").as_bytes(), store);
            DirEntry {
                name: name(i),
                cid,
                tsize,
            }
        })
        .collect();
    let d = dir::build_with(entries, opts.cid_version, opts.hamt_rule).unwrap();
    for b in &d.blocks {
        store.insert(b.cid, b.data.clone());
    }
    d
}

#[test]
fn kubo_published_cids() {
    let rows: [(&str, &[u8], &str); 19] = [
        ("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", b"", ""),
        (
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
            b"",
            "--raw-leaves",
        ),
        (
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
            b"hello world\n",
            "",
        ),
        (
            "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
            b"hello world\n",
            "--cid-version=1",
        ),
        (
            "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH",
            b"Hello Worlds!\n",
            "",
        ),
        (
            "QmUkUQgxXeggyaD5Ckv8ZqfW8wHBX6cYyeiyqvVZYzq5Bi",
            b"Hello Worlds!\n",
            "--trickle",
        ),
        (
            "Qmf35k66MZNW2GijohUmXQEWKZU4cCGTCwK6idfnt152wJ",
            b"Helloo Worlds!\n",
            "",
        ),
        (
            "QmU5kp3BH3B8tnWUU2Pikdb2maksBNkb92FHRr56hyghh4",
            b"Hello Venus!\n",
            "",
        ),
        (
            "bafkreihfsphazrk2ilejpekyltjeh5k4yvwgjuwg26ueafohqioeo3sdca",
            b"Hello Venus!\n",
            "--cid-version=1",
        ),
        (
            "bafybeicvkvhs2fr75ynebtdjqpgm4g2fc63abqbmysupwpmcjl4gx7mzrm",
            b"Hello Venus!\n",
            "--cid-version=1 --raw-leaves=false",
        ),
        (
            "QmPrrHqJzto9m7SyiRzarwkqPcCSsKR2EB1AyqJfe8L8tN",
            b"Hello Mars!\n",
            "",
        ),
        (
            "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4",
            b"Hello Mars!\n",
            "--cid-version=1",
        ),
        (
            "bafybeiawta2ntdmsy24aro35w3homzl4ak7svr3si7l7gesvq4erglyye4",
            b"Hello Mars!\n",
            "--cid-version=1 --raw-leaves=false",
        ),
        (
            "QmUnvPcBctVTAcJpigv6KMqDvmDewksPWrNVoy1E1WP5fh",
            b"Hello Jupiter!\n",
            "",
        ),
        (
            "QmZDhWpi8NvKrekaYYhxKCdNVGWsFFe1CREnAjP1QbPaB3",
            b"Hello Neptune!\nHello Pluton!",
            "",
        ),
        (
            "QmdFyxZXsFiP4csgfM5uPu99AvFiKH62CSPDw5TP92nr7w",
            b"IPFS\n",
            "",
        ),
        (
            "Qmbjg7zWdqdMaK2BucPncJQDxiALExph5k3NkQv5RHpccu",
            b"Hello Europa!\n",
            "",
        ),
        (
            "QmZzppb9WHn552rmRqpPfgU5FEiHH6gDwi3MrB9cTdPwdb",
            b"Hello Titan!\n",
            "",
        ),
        (
            "QmRsTB5CpEUvDUpDgHCzb3VftZ139zrk9zs5ZcgYh9TMPJ",
            b"hey you are no moon!\n",
            "",
        ),
    ];
    for (want, input, flags) in rows {
        let (o, _) = options(flags);
        let got = import_bytes(o, input).unwrap();
        assert_eq!(
            got.root.to_string(),
            want,
            "{flags} {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(want.parse::<Cid>().unwrap(), got.root);
        let mut store = HashMap::new();
        for b in got.blocks {
            store.insert(b.cid, b.data);
        }
        assert_eq!(exporter::cat(got.root, fetch(&store)).unwrap(), input);
    }
    // The three directory rows are in dir.rs (`kubo_planets_and_moons`).
}

const ORACLE: &str = include_str!("../../tests/ipfs_oracle/oracle-cids.tsv");

/// Checks every oracle row whose input satisfies `pick`.
fn oracle_rows(pick: impl Fn(&str) -> bool) -> usize {
    let mut inputs: HashMap<&str, Vec<u8>> = HashMap::new();
    let mut checked = 0;
    for line in ORACLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut cols = line.split('\t');
        let (want, input, flags) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap_or(""),
        );
        if !pick(input) {
            continue;
        }
        let (o, wrap) = options(flags);
        let mut store = HashMap::new();
        let (root, tsize, data) = if input == "tree" {
            let d = tree(o, &mut store);
            (d.cid, d.dag_size, None)
        } else if let Some(n) = input.strip_prefix("big-") {
            let d = big(n.parse().unwrap(), o, &mut store);
            (d.cid, d.dag_size, None)
        } else if let Some(n) = input.strip_prefix("edge-") {
            let d = edge(n.parse().unwrap(), o, &mut store);
            (d.cid, d.dag_size, None)
        } else {
            let n: usize = input.strip_prefix("rand-").unwrap().parse().unwrap();
            let data = inputs.entry(input).or_insert_with(|| rand(n));
            let (root, tsize) = import(o, data, &mut store);
            (root, tsize, Some(&*data))
        };
        let got = if wrap {
            let entry = DirEntry {
                name: input.into(),
                cid: root,
                tsize,
            };
            dir::wrap(entry, o.cid_version).unwrap().cid
        } else {
            root
        };
        assert_eq!(got.to_string(), want, "{input} {flags}");
        if let (Some(data), false) = (data, wrap) {
            assert_eq!(
                &exporter::cat(root, fetch(&store)).unwrap(),
                data,
                "{input} {flags}"
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn oracle_small_and_directories() {
    let n = oracle_rows(|i| {
        matches!(
            i,
            "rand-0" | "rand-1" | "rand-262143" | "rand-262144" | "rand-262145" | "tree"
        )
    });
    assert_eq!(n, 28);
}

#[test]
fn oracle_sharded_directories() {
    assert_eq!(oracle_rows(|i| i.starts_with("big-")), 5);
    // Below the threshold a directory is one block; above it, a shard tree whose listing,
    // walked through every shard, gives back every entry.
    let mut store = HashMap::new();
    let plain = big(4000, ImportOptions::default(), &mut store);
    assert_eq!(plain.blocks.len(), 1);
    let sharded = big(5000, ImportOptions::default(), &mut store);
    assert!(sharded.blocks.len() > 1);
    let root = exporter::list_directory(&store[&sharded.cid]).unwrap();
    assert!(root.entries.len() + root.shards.len() <= 256);
    let mut names: Vec<_> = exporter::list_all(sharded.cid, 10_000, fetch(&store))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names.len(), 5000);
    assert_eq!(names[4999], format!("f04999-{}.txt", "x".repeat(20)));
    assert_eq!(
        exporter::list_all(sharded.cid, 4000, fetch(&store)),
        Err(ExportError::TooManyEntries(4000))
    );
}

#[test]
fn oracle_hamt_threshold_rules() {
    // A directory whose estimate is exactly 262144 bytes: the JS importer agrees with us under
    // both rules (told `>= 262144` as `> 262143`).
    assert_eq!(oracle_rows(|i| i.starts_with("edge-")), 5);
    let mut store = HashMap::new();
    let rule = |r| ImportOptions {
        hamt_rule: r,
        ..ImportOptions::default()
    };
    let boxo = edge(4096, rule(dir::HamtRule::Above), &mut store);
    let kubo = edge(4096, rule(dir::HamtRule::AtOrAbove), &mut store);
    assert_eq!(boxo.blocks.len(), 1, "flat at the threshold under boxo's >");
    assert!(
        kubo.blocks.len() > 1,
        "sharded at the threshold under kubo 0.22's >="
    );
    // boxo's rule is the default.
    assert_eq!(
        boxo.cid,
        edge(4096, ImportOptions::default(), &mut store).cid
    );
    // One entry fewer is below the threshold for both; with CIDv1 leaves both shard.
    for r in [dir::HamtRule::Above, dir::HamtRule::AtOrAbove] {
        assert_eq!(edge(4095, rule(r), &mut store).blocks.len(), 1);
        let v1 = ImportOptions {
            hamt_rule: r,
            ..ImportOptions::v1()
        };
        assert!(edge(4096, v1, &mut store).blocks.len() > 1);
    }
}

#[test]
fn oracle_174_chunk_boundary() {
    assert_eq!(oracle_rows(|i| i.starts_with("rand-456130")), 10);
}

#[test]
fn oracle_three_levels_and_trickle() {
    assert_eq!(
        oracle_rows(|i| matches!(i, "rand-31100000" | "rand-3000000")),
        8
    );
}

#[test]
fn ranges_fetch_only_what_they_need() {
    // Three levels of 1 KiB chunks: 200 * 174 + 5 chunks.
    let data = rand(1024 * (174 * 200 + 5) - 7);
    let opts = ImportOptions {
        chunk_size: 1024,
        ..ImportOptions::default()
    };
    let mut store = HashMap::new();
    let (root, _) = import(opts, &data, &mut store);
    let len = data.len() as u64;
    for (start, end) in [
        (0, 1),
        (0, 1024),
        (1023, 1025),
        (5_000_000, 5_000_100),
        (len - 3, len),
        (len - 3, u64::MAX),
        (len, len + 5),
        (10, 5),
        (0, len),
    ] {
        let mut fetched = 0;
        let mut out = Vec::new();
        let size = exporter::read_range(
            root,
            start,
            end,
            |c| {
                fetched += 1;
                fetch(&store)(c)
            },
            |d| out.extend_from_slice(d),
        )
        .unwrap();
        assert_eq!(size, len);
        let (s, e) = (start.min(len) as usize, end.min(len) as usize);
        assert_eq!(out, data[s.min(e)..e], "range {start}..{end}");
        if e > s && e - s <= 1024 * 2 {
            // Root, one node per level below it, and at most two leaves.
            assert!(
                fetched <= 6,
                "range {start}..{end} fetched {fetched} blocks"
            );
        }
    }
}

#[test]
fn reader_is_a_state_machine() {
    let data = rand(3000);
    let opts = ImportOptions {
        chunk_size: 1000,
        ..ImportOptions::v1()
    };
    let imp = import_bytes(opts, &data).unwrap();
    let store: HashMap<_, _> = imp.blocks.into_iter().map(|b| (b.cid, b.data)).collect();
    let mut r = FileReader::new(imp.root, 500, 2500);
    let mut got = Vec::new();
    let mut needs = 0;
    loop {
        match r.step().unwrap() {
            Step::Need(c) => {
                needs += 1;
                // A wrong block is refused and the request stands.
                assert!(matches!(r.provide(b"not it"), Err(ExportError::Cid(_))));
                assert_eq!(r.step().unwrap(), Step::Need(c));
                r.provide(&store[&c]).unwrap();
            }
            Step::Data(d) => got.extend_from_slice(d),
            Step::Done => break,
        }
    }
    assert_eq!(got, data[500..2500]);
    // Root and the three leaves touching 500..2500.
    assert_eq!(needs, 4);
    assert_eq!(r.size(), Some(3000));
    assert_eq!(r.provide(b"x"), Err(ExportError::NotWaiting));
}

#[test]
fn exporter_refuses_inconsistent_dags() {
    // A directory is not a file, and listing it gives its entries back.
    let mut store = HashMap::new();
    let d = tree(ImportOptions::default(), &mut store);
    assert_eq!(
        exporter::cat(d.cid, fetch(&store)),
        Err(ExportError::NotAFile(super::unixfs::DataType::Directory))
    );
    let entries = exporter::list_directory(&d.blocks[0].data).unwrap().entries;
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Z", "a.bin", "empty", "sub"]);
    // A parent whose blocksizes lie about a child.
    let data = rand(2500);
    let imp = import_bytes(
        ImportOptions {
            chunk_size: 1000,
            ..ImportOptions::default()
        },
        &data,
    )
    .unwrap();
    let mut store: HashMap<_, _> = imp.blocks.iter().map(|b| (b.cid, b.data.clone())).collect();
    let mut node = super::dagpb::PbNode::decode(&store[&imp.root]).unwrap();
    let mut fs = super::unixfs::UnixFs::decode(node.data.as_ref().unwrap()).unwrap();
    fs.blocksizes[0] += 1;
    fs.filesize = Some(fs.filesize.unwrap() + 1);
    node.data = Some(fs.encode());
    let bytes = node.encode();
    let bad = Cid::of_block(Version::V0, super::cid::Codec::DagPb, &bytes);
    store.insert(bad, bytes);
    assert!(matches!(
        exporter::cat(bad, fetch(&store)),
        Err(ExportError::Inconsistent(_))
    ));
    // A missing block is the caller's error, passed through.
    store.remove(&imp.blocks[0].cid);
    assert_eq!(
        exporter::cat(imp.root, fetch(&store)),
        Err(ExportError::Missing(imp.blocks[0].cid))
    );
}

#[test]
fn options_are_checked() {
    for cs in [0, (1 << 20) + 1] {
        assert!(
            FileImporter::new(ImportOptions {
                chunk_size: cs,
                ..ImportOptions::default()
            })
            .is_err()
        );
    }
    for ml in [0, 1, 8193] {
        assert!(
            FileImporter::new(ImportOptions {
                max_links: ml,
                ..ImportOptions::default()
            })
            .is_err()
        );
    }
    assert!(ImportOptions::v1().uses_raw_leaves());
    assert!(!ImportOptions::default().uses_raw_leaves());
}
