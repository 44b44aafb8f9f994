//! The command line as a user runs it: init, run -d, stop, version, swarm id, lpki, call,
//! and every bad-input case of the home (settings, key file, port, second node).

mod common;

use std::fs;

use std::process::Output;

use common::{TestNode, fresh_home, leither};

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_and_usage_exit_codes() {
    let h = fresh_home();
    let o = leither(&h, &["version"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).starts_with("leither 0."), "{}", text(&o));
    let o = leither(&h, &["--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("Usage: leither"), "{}", text(&o));
    for args in [&["nonsense"][..], &["lpki"], &["init", "-p", "notaport"]] {
        let o = leither(&h, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
    for set in ["init", "run", "stop", "swarm", "lpki", "call"] {
        let o = leither(&h, &[set, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{set} --help: {}", text(&o));
    }
}

#[test]
fn init_makes_home_and_rerun_keeps_key_and_unknown_keys() {
    let h = fresh_home();
    let o = leither(
        &h,
        &["init", "-p", "4999", "-b", "a.example:4800,b.example:4800"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let key = h.join("hostkey.cfg");
    let mode = fs::metadata(&key).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o777, 0o600, "hostkey.cfg must be 0600");
    let key_before = fs::read(&key).unwrap();
    let vars = fs::read_to_string(h.join("SystemVars.json")).unwrap();
    assert!(vars.contains("\"ServicePort\": 4999"), "{vars}");
    assert!(vars.contains("b.example:4800"), "{vars}");
    // A user's own key survives a re-init.
    let edited = vars.replacen('{', "{\n  \"MyNote\": \"keep me\",", 1);
    fs::write(h.join("SystemVars.json"), edited).unwrap();
    let o = leither(&h, &["init", "-p", "5001"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("kept"), "{}", text(&o));
    assert_eq!(fs::read(&key).unwrap(), key_before, "the key is kept");
    let vars = fs::read_to_string(h.join("SystemVars.json")).unwrap();
    assert!(vars.contains("\"ServicePort\": 5001"), "{vars}");
    assert!(vars.contains("\"MyNote\": \"keep me\""), "{vars}");
    assert!(
        vars.contains("b.example:4800"),
        "bootstrap unchanged: {vars}"
    );
}

#[test]
fn run_detached_answers_and_stop_is_graceful() {
    let h = fresh_home();
    // Port 0: the node binds free ports itself (a port picked here could be taken before the
    // node binds it, and -p N puts the swarm on N+1 too).
    let o = leither(&h, &["init", "-p", "0", "-b", ""]);
    assert!(o.status.success(), "{}", text(&o));
    let o = leither(&h, &["run", "-d"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("started"), "{}", text(&o));
    // A second node on the same home is refused with a clear message.
    let o2 = leither(&h, &["run"]);
    assert_eq!(o2.status.code(), Some(1), "{}", text(&o2));
    assert!(stderr(&o2).contains("already running"), "{}", text(&o2));
    // The CLI talks to it through the API.
    let o3 = leither(&h, &["swarm", "id"]);
    assert!(o3.status.success(), "{}", text(&o3));
    let out = stdout(&o3);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0].len(), 27, "{out}");
    assert!(lines[1].starts_with("12D3KooW"), "{out}");
    let o4 = leither(&h, &["call", "GetVar", "userid"]);
    assert!(o4.status.success(), "{}", text(&o4));
    assert!(
        stdout(&o4).contains(lines[0]),
        "owner session of the node key: {}",
        text(&o4)
    );
    let o5 = leither(&h, &["call", "NoSuchFunction"]);
    assert_eq!(o5.status.code(), Some(1), "{}", text(&o5));
    assert!(stderr(&o5).contains("NoSuchFunction"), "{}", text(&o5));
    // stop: exit 0, then the node is gone; a second stop says so and exits 1.
    let o = leither(&h, &["stop"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!h.join("leither.addr").exists());
    let o = leither(&h, &["stop"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("no node is running"), "{}", text(&o));
    let log = fs::read_to_string(h.join("Leither.log")).unwrap();
    assert!(log.contains("listening on"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains("ppt1"), "a pass reached the log: {log}");
}

#[test]
fn swarm_id_works_without_a_running_node() {
    let h = fresh_home();
    assert!(leither(&h, &["init", "-p", "0"]).status.success());
    let o = leither(&h, &["swarm", "id"]);
    assert!(o.status.success(), "{}", text(&o));
    let id = leither(&h, &["lpki", "id"]);
    assert_eq!(stdout(&o).lines().next(), stdout(&id).lines().next());
}

#[test]
fn malformed_system_vars_names_file_and_field() {
    let h = fresh_home();
    assert!(leither(&h, &["init", "-p", "0"]).status.success());
    fs::write(h.join("SystemVars.json"), "{\"ServicePort\": \"high\"}").unwrap();
    let o = leither(&h, &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("SystemVars.json") && e.contains("ServicePort"),
        "{e}"
    );
    fs::write(h.join("SystemVars.json"), "{\"ServicePort\": 4800,,}").unwrap();
    let o = leither(&h, &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("SystemVars.json"), "{}", text(&o));
    // init on a broken file refuses too, rather than overwriting it.
    let o = leither(&h, &["init", "-p", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        fs::read_to_string(h.join("SystemVars.json")).unwrap(),
        "{\"ServicePort\": 4800,,}"
    );
}

#[test]
fn key_readable_by_others_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let h = fresh_home();
    assert!(leither(&h, &["init", "-p", "0"]).status.success());
    let key = h.join("hostkey.cfg");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let o = leither(&h, &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.contains("chmod 600"), "{e}");
    assert!(!h.join("leither.addr").exists());
}

#[test]
fn port_in_use_is_a_clear_error() {
    let busy = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let h = fresh_home();
    assert!(
        leither(&h, &["init", "-p", &port.to_string()])
            .status
            .success()
    );
    let o = leither(&h, &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.contains("in use") && e.contains(&port.to_string()), "{e}");
    // Detached, the parent reports the child's failure.
    let o = leither(&h, &["run", "-d"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("in use"), "{}", text(&o));
    drop(busy);
}

#[test]
fn damaged_database_is_refused_and_kept() {
    let h = fresh_home();
    assert!(leither(&h, &["init", "-p", "0"]).status.success());
    fs::create_dir_all(h.join("db")).unwrap();
    let junk = vec![0x42u8; 4096];
    fs::write(h.join("db/leither.redb"), &junk).unwrap();
    let o = leither(&h, &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("leither.redb"), "{}", text(&o));
    assert_eq!(fs::read(h.join("db/leither.redb")).unwrap(), junk);
}

#[test]
fn lpki_keys_and_passes() {
    let h = fresh_home();
    let key = h.join("user.key");
    let k = key.to_str().unwrap();
    let o = leither(&h, &["lpki", "genkey", "-o", k]);
    assert!(o.status.success(), "{}", text(&o));
    let o = leither(&h, &["lpki", "genkey", "-o", k]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "genkey must not overwrite: {}",
        text(&o)
    );
    let id = stdout(&leither(&h, &["lpki", "id", "-k", k]))
        .trim()
        .to_string();
    assert_eq!(id.len(), 27);
    let pass = h.join("p.ppt");
    let p = pass.to_str().unwrap();
    let o = leither(
        &h,
        &[
            "lpki",
            "signppt",
            "-k",
            k,
            "-p",
            "1h",
            "-m",
            "role=admin,x=1",
            "-o",
            p,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = leither(&h, &["lpki", "verifyppt", "-i", p]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains(&id) && stdout(&o).contains("admin"),
        "{}",
        text(&o)
    );
    let o = leither(&h, &["lpki", "show", "-i", k]);
    assert!(
        o.status.success() && stdout(&o).contains(&id),
        "{}",
        text(&o)
    );
    // A forged pass: one character changed.
    let t = fs::read_to_string(&pass).unwrap();
    let t = t.trim();
    let i = t.len() - 10;
    let c = if &t[i..i + 1] == "A" { "B" } else { "A" };
    fs::write(&pass, format!("{}{}{}", &t[..i], c, &t[i + 1..])).unwrap();
    let o = leither(&h, &["lpki", "verifyppt", "-i", p]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("refused") || stderr(&o).contains("signature"),
        "{}",
        text(&o)
    );
}

/// Leither's certificates: gencert (self-signed and by a CA), genpkcert, show of both, and a
/// certificate as the signing key of signppt -c.
#[test]
fn lpki_certificates() {
    let h = fresh_home();
    let p = |n: &str| h.join(n).to_str().unwrap().to_string();
    let (key, ca, cert, pk, ppt) = (
        p("k.key"),
        p("ca.key"),
        p("o.cert"),
        p("o.pkcert"),
        p("t.ppt"),
    );
    for k in [&key, &ca] {
        let o = leither(&h, &["lpki", "genkey", "-o", k]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let id = stdout(&leither(&h, &["lpki", "id", "-k", &key]))
        .trim()
        .to_string();
    let o = leither(
        &h,
        &[
            "lpki",
            "gencert",
            "-k",
            &key,
            "-m",
            "name=weixin",
            "-o",
            &cert,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("id= {id}")), "{}", text(&o));
    assert!(
        out.contains("\"CertPKID\":") && out.contains("\"name\":\"weixin\""),
        "{out}"
    );
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(&cert).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600, "a certificate holds the secret key");
    // Never overwritten.
    let o = leither(&h, &["lpki", "gencert", "-k", &key, "-o", &cert]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    let o = leither(&h, &["lpki", "genpkcert", "-i", &cert, "-o", &pk]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains(&format!("CertPKID:{id}")),
        "{}",
        text(&o)
    );
    assert!(stdout(&o).contains("KeyType : sodium"), "{}", text(&o));
    let public = fs::read_to_string(&pk).unwrap();
    assert!(!public.contains("sk="), "{public}");

    let o = leither(&h, &["lpki", "show", "-i", &cert]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = stdout(&o);
    assert!(
        shown.contains("file type is Cert") && shown.contains(&format!("id= {id}")),
        "{shown}"
    );
    assert!(
        shown.contains("signature: ok") && !shown.contains("sk="),
        "{shown}"
    );
    let o = leither(&h, &["lpki", "show", "-i", &pk]);
    assert!(stdout(&o).contains("file type is PkCert"), "{}", text(&o));
    let o = leither(&h, &["lpki", "show", "-i", &key]);
    assert!(stdout(&o).contains(&format!("id= {id}")), "{}", text(&o));

    // A certificate signs a pass; a public certificate cannot.
    let o = leither(
        &h,
        &[
            "lpki",
            "signppt",
            "-c",
            &cert,
            "-p",
            "720",
            "-m",
            "CertFor=Self",
            "-o",
            &ppt,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = leither(&h, &["lpki", "verifyppt", "-i", &ppt]);
    assert!(
        o.status.success() && stdout(&o).contains(&id),
        "{}",
        text(&o)
    );
    let o = leither(&h, &["lpki", "signppt", "-c", &pk, "-p", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("public certificate"), "{}", text(&o));

    // Signed by a CA: the CA's ID is the signer.
    let ca_id = stdout(&leither(&h, &["lpki", "id", "-k", &ca]))
        .trim()
        .to_string();
    let cert2 = p("c2.cert");
    let o = leither(
        &h,
        &[
            "lpki", "gencert", "-k", &key, "-c", &ca, "-m", "name=x", "-o", &cert2,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = leither(&h, &["lpki", "show", "-i", &cert2]);
    assert!(
        stdout(&o).contains(&format!("SignerID: {ca_id}")),
        "{}",
        text(&o)
    );
    // A changed certificate is refused.
    let t = fs::read_to_string(&pk).unwrap();
    let at = t.find("\"Signature\":\"").unwrap() + "\"Signature\":\"".len();
    let c = if &t[at..at + 1] == "A" { "B" } else { "A" };
    let forged = format!("{}{c}{}", &t[..at], &t[at + 1..]);
    fs::write(&pk, forged).unwrap();
    let o = leither(&h, &["lpki", "show", "-i", &pk]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn foreground_node_stops_on_sigterm_with_exit_0() {
    let mut n = TestNode::start();
    let status = n.stop().expect("exited");
    assert!(status.success(), "exit status {status}");
    assert!(!n.home.join("leither.addr").exists());
}

#[test]
fn foreground_node_stops_on_sigint_with_exit_0() {
    let mut n = TestNode::start();
    // SAFETY: kill(2) on the pid of a child process we started.
    unsafe {
        libc::kill(n.pid() as libc::pid_t, libc::SIGINT);
    }
    let status = n
        .wait_exit(std::time::Duration::from_secs(60))
        .expect("the node did not exit after SIGINT");
    assert!(status.success(), "exit status {status}");
    let log = fs::read_to_string(n.home.join("Leither.log")).unwrap();
    assert!(log.contains("SIGINT"), "{log}");
}

/// One Leither ID in 64 starts with '-', and argh reads it as an option. Where `--` before it
/// makes the line parse, it is taken as the ID; where it does not (an option follows it), the
/// error says how to pass it.
#[test]
fn an_id_that_starts_with_a_dash_is_taken_or_gets_a_hint() {
    let home = fresh_home();
    common::ok(&leither(&home, &["init", "-p", "0", "-b", ""]));
    // Parsed as the ID: the command gets as far as looking for the node.
    let o = leither(&home, &["mimei", "show", "-abcdefghijklmnopqrstuvwxyz0"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no node is running"), "{err}");
    // An option after it: the hint.
    let o = leither(
        &home,
        &["mimei", "sync", "-abcdefghijklmnopqrstuvwxyz0", "-n", "x"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("put `--` before it") && err.contains("mimei show -- -abcdefghij"),
        "{err}"
    );
}

/// `leither ... | head`: the reader stops early and the command ends quietly (SIGPIPE, as
/// for any Unix tool), never with a panic message.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "for i in 1 2 3 4 5 6 7 8 9 10; do '{}' --help | true; done",
            common::BIN
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}
