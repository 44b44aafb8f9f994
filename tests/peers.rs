//! Real third-party Hprose clients against a real node: PyPI `hprose` 1.4.3, npm `hprose`
//! 2.0.51 and npm `@hprose/rpc-core`/`@hprose/rpc-node` 3 each run a script from
//! `tests/peers/` (HTTP `/webapi/`, and WebSocket `/ws/` where the library has it) that prints
//! one line per check and ends with `N passed, M failed`.
//!
//! `python_hprose_reaches_a_database` runs `py_db.py` on a database Mimei that redis-cli
//! writes too: both doors on the same data.
//!
//! The clients are installed by `bash tests/peers/install.sh` (CI runs it). When they are
//! missing these tests fail and say so: a silent skip would hide a broken CI.

mod common;

use common::TestNode;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A script that has not finished by then is killed and the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

const INSTALL_HINT: &str =
    "the reference Hprose clients are not installed: run `bash tests/peers/install.sh`";

fn peers_dir() -> PathBuf {
    common::repo_root().join("tests").join("peers")
}

/// The Python that has hprose 1.4.3: the venv's, else python3 with install.sh's `.pylib`.
fn python() -> PathBuf {
    let dir = peers_dir();
    let venv = dir.join(".venv").join("bin").join("python");
    let py = if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    };
    let probe = Command::new(&py)
        .arg("-c")
        .arg("import sys; sys.path.insert(0, sys.argv[1]); import hprose.httpclient")
        .arg(dir.join(".pylib"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Ok(s) if s.success() => py,
        Ok(_) => panic!(
            "{INSTALL_HINT} (python hprose 1.4.3 cannot be imported by {})",
            py.display()
        ),
        Err(e) => panic!("{INSTALL_HINT} (cannot run {}: {e})", py.display()),
    }
}

/// `node`, after checking the npm clients are in tests/peers/node_modules.
fn node() -> PathBuf {
    let modules = peers_dir().join("node_modules");
    for pkg in ["hprose", "@hprose/rpc-core", "@hprose/rpc-node", "ws"] {
        let manifest = modules.join(pkg).join("package.json");
        assert!(
            manifest.exists(),
            "{INSTALL_HINT} (missing {})",
            manifest.display()
        );
    }
    match Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => PathBuf::from("node"),
        _ => panic!("{INSTALL_HINT} (no working `node` on PATH; Node.js 18+ is needed)"),
    }
}

/// Runs `interpreter script URL` against a fresh node and asserts every check passed.
fn run_peer(interpreter: &Path, script: &str) {
    let node = TestNode::start();
    let script_path = peers_dir().join(script);
    let mut child = Command::new(interpreter)
        .arg(&script_path)
        .arg(&node.url)
        .current_dir(peers_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", interpreter.display(), script));

    // Drain both pipes on their own threads so a chatty script cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });

    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("waiting for the script") {
            break (Some(status), false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break (child.wait().ok(), true);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    // Shown by the test harness when the test fails, and with `cargo test -- --nocapture`.
    println!("{stdout}");

    // The closing line, `N passed, M failed`, all checks passed when M is 0 and N is not.
    let summary = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            w.len() == 4
                && w[1] == "passed,"
                && w[3] == "failed"
                && w[0].parse::<u32>().is_ok()
                && w[2].parse::<u32>().is_ok()
        })
        .unwrap_or("")
        .to_string();
    let all_passed = summary.ends_with(" 0 failed") && !summary.starts_with("0 ");
    let ok = !timed_out && status.is_some_and(|s| s.success()) && all_passed;
    if !ok {
        let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
        panic!(
            "{script} against {} {}: {}\n(the script's whole output is printed above)\n\n--- failed checks ---\n{}\n\n--- script stderr ---\n{stderr}\n--- node stderr ---\n{}",
            node.url,
            if timed_out {
                format!("timed out after {SCRIPT_TIMEOUT:?}")
            } else {
                format!("exited with {status:?}")
            },
            if summary.is_empty() {
                "(no summary line)"
            } else {
                &summary
            },
            failures.join("\n"),
            node.stderr()
        );
    }
}

#[test]
fn python_hprose_1_4_3_http() {
    run_peer(&python(), "py_hprose2.py");
}

#[test]
fn js_hprose_2_0_http_and_websocket() {
    run_peer(&node(), "js_hprose2.js");
}

#[test]
fn js_hprose_3_0_http_and_websocket() {
    run_peer(&node(), "js_hprose3.js");
}

/// redis-cli and the Python Hprose client on one database Mimei.
#[cfg(feature = "resp")]
#[test]
fn python_hprose_reaches_a_database() {
    let node = TestNode::start_listening("resp", "RespPort", |_| {});
    let resp = node.port_of("resp");
    let out = common::ok(&common::leither(
        &node.home,
        &["mimei", "create", "-t", "db", "-m", "hprose-db"],
    ));
    let mid = out
        .lines()
        .find_map(|l| l.strip_prefix("mid= "))
        .expect("mid= line")
        .trim()
        .to_string();
    let cli = |args: &[&str]| -> String {
        let o = Command::new("redis-cli")
            .args(["-p", &resp.to_string()])
            .args(args)
            .output()
            .expect("redis-cli is needed (apt-get install redis-tools)");
        String::from_utf8_lossy(&o.stdout).trim_end().to_string()
    };
    let script =
        format!("SELECT {mid}\nSET cli:greeting \"hello from redis-cli\"\nRPUSH cli:list a b c\n");
    let mut child = Command::new("redis-cli")
        .args(["-p", &resp.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli is needed (apt-get install redis-tools)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "OK\nOK\n3\n");
    let key = leither::pki::NodeKey::load(&node.home.join("hostkey.cfg")).unwrap();
    let now = leither::clock::unix_now();
    let pass = leither::pki::Pass::sign(&key, vec![], now, 600)
        .unwrap()
        .to_text();
    let o = Command::new(python())
        .arg(peers_dir().join("py_db.py"))
        .args([&node.url, &pass, &mid])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && stdout.trim_end().ends_with(" 0 failed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // And back: what Python wrote, read with redis-cli.
    let sel = |cmd: &str| {
        let mut c = Command::new("redis-cli")
            .args(["-p", &resp.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let s = format!("SELECT {mid}\n{cmd}\n");
        std::io::Write::write_all(&mut c.stdin.take().unwrap(), s.as_bytes()).unwrap();
        String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).into_owned()
    };
    assert_eq!(sel("HGETALL py:user"), "OK\nlang\npython\nname\nann\n");
    assert_eq!(
        sel("ZRANGE py:board 0 -1 WITHSCORES"),
        "OK\nann\n10\nbob\n20\ncy\n30\n"
    );
    assert_eq!(sel("GET py:n"), "OK\n42\n");
    assert_eq!(cli(&["PING"]), "PONG");
}
