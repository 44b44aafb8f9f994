//! Crash safety of the block store's write paths (docs/storage.md, "Failed adds and a full
//! disk"): real nodes killed with SIGKILL in the middle of writing blocks, during an
//! `ipfs add` and during a Mimei sync, whose batches before the last are committed without a
//! flush. After each kill the database opens, every block in it reads back whole and hashes
//! to its CID, nothing half-written is named (no pin of the add, no version of the sync), and
//! the same write done again completes with the right bytes.
#![cfg(feature = "net")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, TestNode, leither, ok, random_file, set_system_var};
use leither::api::Value;
use leither::store::{Blocks, Store};

fn run(home: &Path, args: &[&str]) -> String {
    ok(&leither(home, args))
}

/// `leither --home HOME ARGS...` started, not waited for.
fn spawn(home: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Bytes the process `pid` has written to files so far (`wchar` of /proc/PID/io; sockets are
/// not counted): for a node, redb's pages.
fn written(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar: "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Waits until the node has written `more` bytes to its database beyond what it had at the
/// call, so a kill right after lands in the middle of the client's write. Panics if `client`
/// ends first (the write finished before the kill: the test would prove nothing).
fn wait_writing(node: &TestNode, client: &mut Child, more: u64) {
    let start = written(node.pid());
    let t = Instant::now();
    while written(node.pid()) < start + more {
        if let Ok(Some(st)) = client.try_wait() {
            panic!("the client ended ({st}) before the node wrote {more} bytes");
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the node wrote too little"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Opens the store of a stopped node and checks every block in it: it reads without damage
/// and hashes to its CID. Returns how many blocks there are and the pins.
fn check_store(home: &Path) -> (usize, usize) {
    let store = Store::open(home, 4 << 20, "").expect("the store opens after the kill");
    let blocks = Blocks::new(&store);
    let mut after = None;
    let mut count = 0;
    loop {
        let page = blocks.list(after.as_ref(), 256).unwrap();
        let Some(last) = page.last().copied() else {
            break;
        };
        for cid in &page {
            let data = blocks
                .get(cid)
                .unwrap_or_else(|e| panic!("block {cid} after the kill: {e}"))
                .unwrap_or_else(|| panic!("block {cid} is listed but not there"));
            cid.verify(&data)
                .unwrap_or_else(|e| panic!("block {cid} holds other bytes after the kill: {e}"));
            count += 1;
        }
        after = Some(last);
    }
    (count, blocks.pins().unwrap().len())
}

fn gateway_bytes(n: &TestNode, cid: &str) -> Vec<u8> {
    let (status, body) = common::curl(&[&format!("{}/ipfs/{cid}", n.url)]);
    assert_eq!(status, 200, "GET /ipfs/{cid}");
    body
}

#[test]
fn a_node_killed_during_ipfs_add_keeps_a_whole_store_and_no_pin() {
    let mut n = TestNode::start();
    let file = n.home.join("big.bin");
    random_file(&file, 24 << 20, 5);
    let want = std::fs::read(&file).unwrap();
    // A file added whole before: its blocks and pin are durable and must come through.
    let small = n.home.join("small.bin");
    random_file(&small, 3 << 20, 6);
    let out = run(&n.home, &["ipfs", "add", small.to_str().unwrap()]);
    let small_cid = out.trim().rsplit('/').next().unwrap().to_string();

    let mut add = spawn(&n.home, &["ipfs", "add", file.to_str().unwrap()]);
    // Several 1 MiB batches in: some committed (without a flush), one being written.
    wait_writing(&n, &mut add, 4 << 20);
    n.kill();
    let out = add.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the add succeeded although its node was killed: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let (blocks, pins) = check_store(&n.home);
    assert_eq!(
        pins, 1,
        "the killed add left a pin, or the earlier one is gone"
    );
    assert!(blocks >= 13, "the earlier add lost blocks: {blocks}");
    eprintln!("after the kill: {blocks} whole blocks, the earlier add's pin only");

    // The same add again, on the restarted node: the file, pinned, byte for byte.
    n.restart();
    let out = run(&n.home, &["ipfs", "add", file.to_str().unwrap()]);
    let cid = out.trim().rsplit('/').next().unwrap().to_string();
    assert!(gateway_bytes(&n, &cid) == want, "the re-added file differs");
    let pins = run(&n.home, &["ipfs", "pin", "ls"]);
    assert!(pins.contains(&cid), "{pins}");
    let small_again = std::fs::read(&small).unwrap();
    assert!(gateway_bytes(&n, &small_cid) == small_again);
}

#[test]
fn a_node_killed_during_a_sync_shows_no_version_and_syncs_again() {
    let node = || {
        TestNode::start_with(|h| {
            set_system_var(h, "SwarmPort", Value::Int(0));
        })
    };
    let a = node();
    let mut b = node();
    let file = a.home.join("v1.bin");
    random_file(&file, 24 << 20, 9);
    let mid = common::public_file_mimei(&a.home, &file, None);
    run(&a.home, &["mimei", "publish", &mid]);
    let a_addr = a.swarm_addr();
    run(&b.home, &["swarm", "connect", &a_addr]);

    let mut sync = spawn(&b.home, &["mimei", "sync", &mid]);
    wait_writing(&b, &mut sync, 4 << 20);
    b.kill();
    let _ = sync.wait();

    let (blocks, _) = check_store(&b.home);
    eprintln!("after the kill: {blocks} whole blocks on B");

    // Restarted, B shows no version of the Mimei: the sync did not finish.
    b.restart();
    let show = leither(&b.home, &["mimei", "show", &mid]);
    let text = String::from_utf8_lossy(&show.stdout).to_string();
    assert!(
        text.contains("(not on this node)") && text.contains("local last= 0 "),
        "a version is visible after a killed sync:\n{text}"
    );

    // The sync again completes, and the file is A's.
    run(&b.home, &["swarm", "connect", &a_addr]);
    let s = run(&b.home, &["mimei", "sync", &mid]);
    assert!(s.trim_end().ends_with("MiMeiSync ok"), "{s}");
    let got = b.home.join("got.bin");
    run(
        &b.home,
        &["mimei", "get", "-o", got.to_str().unwrap(), "--", &mid],
    );
    assert!(
        std::fs::read(&got).unwrap() == std::fs::read(&file).unwrap(),
        "the synced file differs"
    );
}
