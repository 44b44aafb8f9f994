//! Files through a real node: `leither ipfs add` gives kubo's CIDs, the gateway serves the
//! same bytes (whole, ranges, HEAD, raw block, CAR) to curl, pins keep blocks through
//! `repo gc`, and bad input gets a clear 4xx.

#![cfg(feature = "files")]

mod common;

use common::{TestNode, curl, leither, ok};

/// Deterministic pseudo-random bytes.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn add_gives_kubo_cids_and_the_gateway_serves_the_same_bytes() {
    let n = TestNode::start();
    let hello = n.home.join("hello.txt");
    std::fs::write(&hello, "hello world\n").unwrap();
    let out = ok(&leither(&n.home, &["ipfs", "add", hello.to_str().unwrap()]));
    assert_eq!(
        out.trim(),
        "ipfs add ok /ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    );
    let out = ok(&leither(
        &n.home,
        &["ipfs", "add", "--raw-leaves", hello.to_str().unwrap()],
    ));
    assert!(out.contains("/ipfs/bafkrei"), "{out}");

    // A multi-block file, v1: the gateway gives back the same bytes, whole and in ranges.
    let data = noise(3_000_000, 7);
    let big = n.home.join("big.bin");
    std::fs::write(&big, &data).unwrap();
    let out = ok(&leither(
        &n.home,
        &["ipfs", "add", "--cid-version", "1", big.to_str().unwrap()],
    ));
    let cid = out.trim().rsplit('/').next().unwrap().to_string();
    assert!(cid.starts_with("bafybei"), "{out}");
    let url = format!("{}/ipfs/{cid}", n.url);
    let (s, body) = curl(&[&url]);
    assert_eq!(s, 200);
    assert!(body == data, "gateway bytes differ");
    for (a, b) in [
        (0usize, 0usize),
        (1000, 1999),
        (262_143, 262_144),
        (2_999_000, 2_999_999),
    ] {
        let (s, body) = curl(&["-H", &format!("Range: bytes={a}-{b}"), &url]);
        assert_eq!(s, 206, "range {a}-{b}");
        assert!(body == data[a..=b], "range {a}-{b} differs");
    }
    let (s, body) = curl(&["-H", "Range: bytes=-100", &url]);
    assert_eq!((s, body.as_slice()), (206, &data[data.len() - 100..]));
    let (s, _) = curl(&["-H", "Range: bytes=9999999-", &url]);
    assert_eq!(s, 416);
    // HEAD: headers only.
    let (s, head) = curl(&["-I", &url]);
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert_eq!(s, 200);
    assert!(head.contains("content-length: 3000000"), "{head}");
    assert!(head.contains(&format!("etag: \"{cid}\"")), "{head}");
    assert!(head.contains("immutable"), "{head}");
    // ETag revalidation.
    let (s, _) = curl(&["-H", &format!("If-None-Match: \"{cid}\""), &url]);
    assert_eq!(s, 304);
    // The CLI reads it back through the gateway.
    let o = leither(&n.home, &["ipfs", "cat", &cid]);
    assert!(o.status.success() && o.stdout == data);
    let got = n.home.join("got.bin");
    ok(&leither(
        &n.home,
        &["ipfs", "get", &cid, "-o", got.to_str().unwrap()],
    ));
    assert!(std::fs::read(&got).unwrap() == data);

    // ?format=raw is the root block; ?format=car holds every block, each matching its CID.
    let (s, raw) = curl(&[&format!("{url}?format=raw")]);
    assert_eq!(s, 200);
    let root: leither::ipfs::cid::Cid = cid.parse().unwrap();
    root.verify(&raw).expect("raw block matches its CID");
    let (s, car) = curl(&[&format!("{url}?format=car")]);
    assert_eq!(s, 200);
    let (roots, blocks) = leither::ipfs::car::read_car(&car).expect("a valid CAR");
    assert_eq!(roots, vec![root]);
    assert_eq!(blocks.len(), 13, "12 leaves of 256 KiB and the root");
    let total: usize = blocks
        .iter()
        .map(|b| {
            if b.cid.codec() == leither::ipfs::cid::Codec::Raw {
                b.data.len()
            } else {
                0
            }
        })
        .sum();
    assert_eq!(total, data.len());
}

#[test]
fn pins_keep_blocks_through_gc_and_unpinned_ones_go() {
    let n = TestNode::start();
    let f = n.home.join("a.bin");
    std::fs::write(&f, noise(600_000, 3)).unwrap();
    let out = ok(&leither(&n.home, &["ipfs", "add", f.to_str().unwrap()]));
    let cid = out.trim().rsplit('/').next().unwrap().to_string();
    let ls = ok(&leither(&n.home, &["ipfs", "pin", "ls"]));
    assert!(ls.contains(&format!("{cid} recursive")), "{ls}");
    let gc = ok(&leither(&n.home, &["repo", "gc"]));
    assert!(gc.contains("removed 0 blocks"), "{gc}");
    let url = format!("{}/ipfs/{cid}", n.url);
    assert_eq!(curl(&[&url]).0, 200);
    ok(&leither(&n.home, &["ipfs", "pin", "rm", &cid]));
    let gc = ok(&leither(&n.home, &["repo", "gc"]));
    assert!(gc.contains("removed 4 blocks"), "{gc}");
    let (s, body) = curl(&[&url]);
    assert_eq!(s, 404);
    assert!(String::from_utf8_lossy(&body).contains(&cid));
    let o = leither(&n.home, &["ipfs", "pin", "rm", &cid]);
    assert_eq!(o.status.code(), Some(1));
    // An unpinned add is gone after gc.
    let out = ok(&leither(
        &n.home,
        &["ipfs", "add", "--no-pin", f.to_str().unwrap()],
    ));
    assert!(out.contains(&cid));
    let gc = ok(&leither(&n.home, &["repo", "gc"]));
    assert!(gc.contains("removed 4 blocks"), "{gc}");
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let n = TestNode::start();
    let (s, body) = curl(&[&format!("{}/ipfs/notacid", n.url)]);
    assert_eq!(s, 400);
    assert!(String::from_utf8_lossy(&body).contains("notacid"));
    let missing = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
    let (s, body) = curl(&[&format!("{}/ipfs/{missing}", n.url)]);
    assert_eq!(s, 404);
    assert!(String::from_utf8_lossy(&body).contains(missing));
    let (s, _) = curl(&[&format!("{}/ipfs/{missing}/../x", n.url), "--path-as-is"]);
    assert_eq!(s, 400);
    // Adding needs a user session: none, then a guest one.
    let add = format!("{}/ipfs/add", n.url);
    let (s, _) = curl(&["-X", "POST", "--data-binary", "x", &add]);
    assert_eq!(s, 401);
    let (_, login) = curl(&["-X", "POST", "-d", "[]", &format!("{}/api/Login", n.url)]);
    let login = String::from_utf8_lossy(&login).into_owned();
    let sid = login
        .split("\"sid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let (s, _) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        "x",
        &format!("{add}?sid={sid}"),
    ]);
    assert_eq!(s, 403);
    // Bad options are named.
    let f = n.home.join("x.txt");
    std::fs::write(&f, "x").unwrap();
    let o = leither(
        &n.home,
        &["ipfs", "add", "--chunker", "size-0", f.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("chunker"));
    let o = leither(&n.home, &["ipfs", "cat", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn small_files_through_the_json_api() {
    let n = TestNode::start();
    let o = leither(&n.home, &["call", "IpfsAdd", "hello world\n"]);
    let out = ok(&o);
    assert!(
        out.contains("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
        "{out}"
    );
    let o = leither(
        &n.home,
        &[
            "call",
            "IpfsCat",
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
        ],
    );
    let out = ok(&o);
    // Bytes come back as base64url in JSON.
    assert!(out.contains("aGVsbG8gd29ybGQK"), "{out}");
}

/// An upload may take as long as it needs while it keeps moving: picoserve's request timeout
/// (10 s for the whole request, body included) cut `mimei add` of 60 MiB off half way on a
/// busy machine, and would on any slow uplink. Here a body trickles in over 12 s.
#[test]
fn a_slow_upload_that_keeps_moving_is_not_cut_off() {
    use std::io::{Read, Write};
    let n = TestNode::start();
    let key = leither::pki::NodeKey::load(&n.home.join("hostkey.cfg")).unwrap();
    let pass = leither::pki::Pass::sign(&key, vec![], leither::clock::unix_now(), 3600)
        .unwrap()
        .to_text();
    let (s, body) = curl(&[
        "-X",
        "POST",
        &format!("{}/api/Login", n.url),
        "-d",
        &format!("[\"{pass}\"]"),
    ]);
    assert_eq!(s, 200);
    let body = String::from_utf8(body).unwrap();
    let at = body.find("\"sid\":\"").unwrap() + 7;
    let sid = body[at..].split('"').next().unwrap();

    let chunks = 12;
    let chunk = noise(4096, 3);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", n.port())).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        c,
        "POST /ipfs/add?sid={sid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        chunks * chunk.len()
    )
    .unwrap();
    for _ in 0..chunks {
        c.write_all(&chunk).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let mut got = String::new();
    let _ = c.read_to_string(&mut got);
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains("\"cid\""), "{got}");
}
