//! Lever services end to end with the real binary (issue #6): deploy and invoke by CLI and by
//! HTTP, Lever's hello example giving "Hello, world!", sticky resources, streams both ways
//! (NDJSON over HTTP, WebSocket through `lever stream`, and service to service), limits that
//! stop loops and memory bombs while the node and other services keep serving, a service's own
//! database surviving a restart, `/entry` of an app, private services, secrets kept out of logs, cron, memory
//! that does not grow per request, an upgrade under load that loses no call, rollback, and the
//! refusals (bad lever.json, syntax errors with file and line, reserved names, bad requests).

#![cfg(feature = "lever")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, TestNode, curl, leither, ok};

fn apps() -> PathBuf {
    common::repo_root().join("tests/apps")
}

fn app(name: &str) -> String {
    apps().join(name).display().to_string()
}

fn fails(o: &Output) -> String {
    assert!(!o.status.success(), "should fail: {o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A keep-alive HTTP/1.1 client for many calls (curl per call would be slow).
struct Http {
    s: BufReader<TcpStream>,
}

impl Http {
    fn new(url: &str) -> Http {
        let addr = url.trim_start_matches("http://");
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Http {
            s: BufReader::new(s),
        }
    }

    fn post(&mut self, path: &str, body: &str) -> (u16, String) {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.s.get_mut().write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.s.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap_or("0").parse().unwrap();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            self.s.read_line(&mut h).unwrap();
            if h == "\r\n" || h.is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut b = vec![0u8; len];
        self.s.read_exact(&mut b).unwrap();
        (status, String::from_utf8_lossy(&b).into_owned())
    }
}

fn post(url: &str, path: &str, body: &str) -> (u16, String) {
    Http::new(url).post(path, body)
}

fn deploy(n: &TestNode, dir: &str) -> String {
    common::deploy_dev(&n.home, Path::new(dir))
}

fn ls(n: &TestNode) -> leither::api::Value {
    let out = ok(&leither(&n.home, &["call", "LeverLs"]));
    leither::api::json::decode(out.as_bytes(), &Default::default()).unwrap()
}

fn service<'a>(v: &'a leither::api::Value, name: &str) -> &'a leither::api::Value {
    match v {
        leither::api::Value::List(l) => l
            .iter()
            .find(|s| s.get("name").and_then(|n| n.as_str()) == Some(name))
            .unwrap_or_else(|| panic!("{name} not in {v:?}")),
        _ => panic!("{v:?}"),
    }
}

fn logs(n: &TestNode, name: &str) -> String {
    ok(&leither(&n.home, &["lever", "logs", name]))
}

#[test]
fn hello_by_cli_and_http() {
    let n = TestNode::start();
    let out = deploy(&n, &app("hello"));
    assert!(out.contains("Deployed helloService to dev.lever"), "{out}");
    // Lever's README example.
    let out = ok(&leither(
        &n.home,
        &[
            "lever",
            "invoke",
            "lever://dev.lever/helloService/SayHello",
            "\"world\"",
        ],
    ));
    assert_eq!(out.trim(), "\"Hello, world!\"");
    // Lever's HTTP contract, with CORS for browsers.
    let (code, body) = curl(&[
        "-i",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        "[\"world\"]",
        &format!("{}/helloService/SayHello", n.url),
    ]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 200, "{body}");
    assert!(body.ends_with("\"Hello, world!\""), "{body}");
    assert!(body.contains("Access-Control-Allow-Origin: *"), "{body}");
    // Another content type: the body is one byte-string argument.
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: text/plain",
        "-d",
        "bytes",
        &format!("{}/helloService/SayHello", n.url),
    ]);
    assert_eq!((code, body.as_slice()), (200, &b"\"Hello, bytes!\""[..]));
    // The environment from ?forceenv= or Host: another one has no such service.
    let (code, body) = post(
        &n.url,
        "/helloService/SayHello?forceenv=prod.lever",
        "[\"x\"]",
    );
    assert_eq!(code, 404, "{body}");
    assert!(
        body.contains("no service \\\"helloService\\\" in environment prod.lever"),
        "{body}"
    );
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        "Host: prod.lever",
        "-H",
        "Content-Type: application/json",
        "-d",
        "[\"x\"]",
        &format!("{}/helloService/SayHello", n.url),
    ]);
    assert_eq!(code, 404);
    // Malformed input: 400; missing method or service: 404; too large: 413.
    let (code, body) = post(&n.url, "/helloService/SayHello", "[\"x\"");
    assert_eq!(code, 400, "{body}");
    let (code, body) = post(&n.url, "/helloService/SayHello", "{\"a\":1}");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("JSON array"), "{body}");
    let (code, body) = post(&n.url, "/helloService/Nope", "[]");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("has no method"), "{body}");
    let (code, _) = post(&n.url, "/nosuch/Nope", "[]");
    assert_eq!(code, 404);
    let (code, _) = post(&n.url, "/helloService/bad-name", "[]");
    assert_eq!(code, 400);
    let big = format!("[\"{}\"]", "x".repeat(1_100_000));
    let (code, _) = post(&n.url, "/helloService/SayHello", &big);
    assert_eq!(code, 413);
    // A Lua error in the method (nil concatenated): 500 with the file and line.
    let (code, body) = post(&n.url, "/helloService/SayHello", "[]");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("hello.lua:5:"), "{body}");
    // The node's own routes win over services.
    let (code, _) = curl(&["-X", "POST", "-d", "[1]", &format!("{}/api/Echo", n.url)]);
    assert_eq!(code, 200);
    let out = ok(&leither(&n.home, &["lever", "ls"]));
    assert!(out.contains("helloService"), "{out}");
    // Deploying needs a user session: a guest is refused.
    let (_, sid) = curl(&["-X", "POST", "-d", "[]", &format!("{}/api/Login", n.url)]);
    let sid = String::from_utf8_lossy(&sid)
        .split('"')
        .nth(3)
        .unwrap_or("")
        .to_string();
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-d",
        &format!("[\"{sid}\",\"dev.lever\",\"x\"]"),
        &format!("{}/api/LeverDeploy", n.url),
    ]);
    assert_eq!(code, 403, "{}", String::from_utf8_lossy(&body));
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-d",
        &format!("[\"{sid}\",\"dev.lever\",\"helloService\"]"),
        &format!("{}/api/LeverRm", n.url),
    ]);
    assert_eq!(code, 403);
    // Through the API table too.
    let out = ok(&leither(
        &n.home,
        &[
            "call",
            "LeverInvoke",
            "lever://dev.lever/helloService/SayHello",
            "[\"api\"]",
        ],
    ));
    assert!(out.contains("Hello, api!"), "{out}");
}

#[test]
fn kitchen_features() {
    let mut n = TestNode::start();
    deploy(&n, &app("hello"));
    deploy(&n, &app("secret"));
    let out = deploy(&n, &app("kitchen"));
    let aid = out
        .trim()
        .rsplit("(app ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_string();
    let url = n.url.clone();
    let mut h = Http::new(&url);

    // /entry: a Lua entry of the app, called with the query; a string answers as HTML.
    let (code, body) = curl(&[
        "-i",
        &format!("{url}/entry?aid={aid}&mid=M1&ver=2&entry=page&x=hi%20there"),
    ]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("text/html") && body.ends_with("<h1>M1 hi there</h1>"),
        "{body}"
    );
    let (code, _) = curl(&[&format!("{url}/entry?aid={aid}&entry=nope")]);
    assert_eq!(code, 404);
    let (code, _) = curl(&[&format!("{url}/entry?entry=page")]);
    assert_eq!(code, 400);

    // Resources stick to one instance, which got NewResource first.
    let (code, first) = h.post("/kitchen/room1/id", "[]");
    assert_eq!(code, 200, "{first}");
    assert!(
        first.contains("\"open\":true") && first.contains("\"resource\":\"room1\""),
        "{first}"
    );
    for _ in 0..20 {
        assert_eq!(h.post("/kitchen/room1/id", "[]").1, first);
    }
    let (_, other) = h.post("/kitchen/room%2F2/id", "[]");
    assert!(other.contains("\"resource\":\"room/2\""), "{other}");
    assert!(logs(&n, "kitchen").contains("open room1 on"));

    // Limits: a runaway loop (even under pcall) and a memory bomb are stopped with a clear
    // error; the node and the service keep serving.
    let t = Instant::now();
    let (code, body) = h.post("/kitchen/loop", "[]");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("maxInstructions"), "{body}");
    assert!(t.elapsed() < Duration::from_secs(3));
    let (code, body) = h.post("/kitchen/pcallLoop", "[]");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("maxInstructions"), "{body}");
    let (code, body) = h.post("/kitchen/bomb", "[]");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("ran out of its 2 MiB"), "{body}");
    assert_eq!(h.post("/kitchen/version", "[]"), (200, "\"v1\"".into()));
    assert_eq!(
        post(&url, "/helloService/SayHello", "[\"still\"]").1,
        "\"Hello, still!\""
    );
    let (code, body) = h.post("/kitchen/boom", "[]");
    assert_eq!(code, 500);
    assert!(
        body.contains("main.lua:") && body.contains("boom"),
        "{body}"
    );

    // The service's own database, and bindings to the API with the caller's rights.
    assert_eq!(h.post("/kitchen/count", "[]").1, "1");
    assert_eq!(h.post("/kitchen/count", "[]").1, "2");
    let (code, ver) = h.post("/kitchen/ver", "[]");
    assert_eq!(code, 200, "{ver}");
    assert!(ver.contains('.'), "{ver}");
    assert_eq!(h.post("/kitchen/user", "[]").1, "\"\"", "a guest caller");
    let me = ok(&leither(&n.home, &["lpki", "id"]));
    let out = ok(&leither(
        &n.home,
        &["lever", "invoke", "lever://dev.lever/kitchen/user"],
    ));
    assert!(
        me.contains(out.trim().trim_matches('"')) && out.trim().len() > 20,
        "{out} vs {me}"
    );
    assert_eq!(
        h.post("/kitchen/json", "[{\"a\":[1,2.5,null,\"x\"]}]").1,
        "{\"a\":[1,2.5,null,\"x\"]}"
    );

    // Services call each other; a private one answers only from inside its environment.
    assert_eq!(h.post("/kitchen/hidden", "[]").1, "\"secret heard psst\"");
    let (code, body) = h.post("/secret/whisper", "[\"x\"]");
    assert_eq!(code, 403, "{body}");
    assert_eq!(h.post("/kitchen/hello", "[]").1, "\"Hello, kitchen!\"");
    let now: i64 = h.post("/kitchen/now", "[]").1.parse().unwrap();
    let sys = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((now - sys).abs() < 5000, "{now} vs {sys}");

    // Secrets never reach the log.
    assert_eq!(h.post("/kitchen/token", "[]").1, "12");
    let l = logs(&n, "kitchen");
    assert!(
        l.contains("token is ***") && !l.contains("s3cret-token"),
        "{l}"
    );

    // No memory grows per request.
    let before: f64 = h.post("/kitchen/mem", "[]").1.parse().unwrap();
    for i in 0..3000 {
        let (code, _) = h.post("/kitchen/id", &format!("[{i}]"));
        assert_eq!(code, 200);
    }
    let after: f64 = h.post("/kitchen/mem", "[]").1.parse().unwrap();
    assert!(
        after - before < 64.0,
        "Lua memory grew {before} -> {after} KiB over 3000 calls"
    );

    // Streams over HTTP: NDJSON in, NDJSON out, the return value last.
    let (code, body) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        "1\n\"two\"\n{\"n\":3}\n",
        &format!("{url}/kitchen/echoChan?args=%5B%22%3E%22%5D"),
    ]);
    assert_eq!(code, 200);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "\">1\"\n\">\\\"two\\\"\"\n\">{\\\"n\\\":3}\"\n\"done\"\n"
    );
    // Over a WebSocket with `lever stream`, and relayed service to service.
    for (method, want) in [("echoChan", "p:"), ("relayChan", "relay:")] {
        let mut child = Command::new(BIN)
            .arg("--home")
            .arg(&n.home)
            .args([
                "lever",
                "stream",
                &format!("lever://dev.lever/kitchen/{method}"),
                "\"p:\"",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"1\n\"x\"\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("\"{want}1\""), "{text}");
        assert_eq!(lines[1], format!("\"{want}\\\"x\\\"\""), "{text}");
        assert_eq!(*lines.last().unwrap(), "\"done\"", "{text}");
    }
    // A plain call to a stream: told how.
    let err = fails(&leither(
        &n.home,
        &[
            "call",
            "LeverInvoke",
            "lever://dev.lever/kitchen/echoChan",
            "[]",
        ],
    ));
    assert!(err.contains("echoChan streams"), "{err}");

    // Cron fires every second.
    std::thread::sleep(Duration::from_millis(2500));
    let (_, body) = h.post("/kitchen/ticks", "[]");
    let ticks: i64 = body
        .trim_matches('"')
        .parse()
        .unwrap_or_else(|_| panic!("{body}"));
    assert!(ticks >= 1, "{ticks}");

    // After a restart the services are back, with their data.
    drop(h);
    n.stop();
    let status = Command::new(BIN)
        .arg("--home")
        .arg(&n.home)
        .args(["run", "-d"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let url = format!(
        "http://{}",
        std::fs::read_to_string(n.home.join("leither.addr"))
            .unwrap()
            .trim()
    );
    assert_eq!(post(&url, "/kitchen/count", "[]").1, "3");
    assert_eq!(
        post(&url, "/helloService/SayHello", "[\"again\"]").1,
        "\"Hello, again!\""
    );
    ok(&leither(&n.home, &["stop"]));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn upgrade_under_load_loses_no_call_and_rolls_back() {
    let n = TestNode::start();
    let work = n.home.join("src");
    let dir = work.join("kitchen");
    copy_dir(&apps().join("kitchen"), &dir);
    let dir_s = dir.display().to_string();
    deploy(&n, &dir_s);
    let url = n.url.clone();
    let (_, r1) = post(&url, "/kitchen/roomA/id", "[]");

    // Four clients call for a while; slow calls are in flight when the new version lands.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for k in 0..4 {
        let (url, stop) = (url.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut h = Http::new(&url);
            let mut seen = Vec::new();
            let mut calls = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || calls < 20 {
                let path = if k == 0 {
                    "/kitchen/slow"
                } else {
                    "/kitchen/version"
                };
                let (code, body) = h.post(path, "[200]");
                assert_eq!(code, 200, "call {calls} failed during the upgrade: {body}");
                seen.push(body);
                calls += 1;
            }
            seen
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(
        dir.join("lib/util.lua"),
        "local U = {}\nfunction U.version() return \"v2\" end\nreturn U\n",
    )
    .unwrap();
    let out = deploy(&n, &dir_s);
    assert!(out.contains("version 2"), "{out}");
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for t in threads {
        let seen = t.join().unwrap();
        total += seen.len();
        assert_eq!(seen.first().map(String::as_str), Some("\"v1\""));
        assert_eq!(seen.last().map(String::as_str), Some("\"v2\""));
        // Never back to v1 once v2 answered.
        let first_v2 = seen.iter().position(|s| s == "\"v2\"").unwrap();
        assert!(seen[first_v2..].iter().all(|s| s == "\"v2\""));
    }
    assert!(total > 40, "{total}");
    // The resource moved to the new version: closed on the old instance before being opened
    // on the new one.
    let (_, r2) = post(&url, "/kitchen/roomA/id", "[]");
    assert_ne!(r1, r2);
    let l = logs(&n, "kitchen");
    let close = l.rfind("close roomA").expect("closed on the old instance");
    let open = l.rfind("open roomA").unwrap();
    assert!(close < open, "{l}");

    // Rollback: to the one before, then to a named version.
    let out = ok(&leither(&n.home, &["lever", "rollback", "kitchen"]));
    assert!(out.contains("version 1"), "{out}");
    assert_eq!(post(&url, "/kitchen/version", "[]").1, "\"v1\"");
    ok(&leither(&n.home, &["lever", "rollback", "kitchen", "2"]));
    assert_eq!(post(&url, "/kitchen/version", "[]").1, "\"v2\"");
    let v = ls(&n);
    assert_eq!(
        service(&v, "kitchen")
            .get("version")
            .and_then(|v| v.as_i64()),
        Some(2)
    );
    // rm: gone.
    ok(&leither(&n.home, &["lever", "rm", "kitchen"]));
    assert_eq!(post(&url, "/kitchen/version", "[]").0, 404);
}

#[test]
fn bad_apps_are_refused_with_the_reason() {
    let n = TestNode::start();
    deploy(&n, &app("hello"));
    let err = fails(&leither(&n.home, &["lever", "deploy", &app("broken")]));
    assert!(err.contains("main.lua:4:"), "{err}");
    let err = fails(&leither(&n.home, &["lever", "deploy", &app("badjson")]));
    assert!(
        err.contains("lever.json: ram: must be a whole number"),
        "{err}"
    );
    // A name the node's routes use.
    let dir = n.home.join("api");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lever.json"), "{\"name\":\"api\"}").unwrap();
    std::fs::write(dir.join("main.lua"), "return {}").unwrap();
    let err = fails(&leither(
        &n.home,
        &["lever", "deploy", &dir.display().to_string()],
    ));
    assert!(
        err.contains("name: \"api\" is a path of the node's own routes"),
        "{err}"
    );
    // An entry that returns no table.
    let dir = n.home.join("notable");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lever.json"), "{\"name\":\"notable\"}").unwrap();
    std::fs::write(dir.join("main.lua"), "return 42").unwrap();
    let err = fails(&leither(
        &n.home,
        &["lever", "deploy", &dir.display().to_string()],
    ));
    assert!(err.contains("must return a table of methods"), "{err}");
    // A loop at load time is stopped too.
    std::fs::write(dir.join("main.lua"), "while true do end").unwrap();
    let err = fails(&leither(
        &n.home,
        &["lever", "deploy", &dir.display().to_string()],
    ));
    assert!(err.contains("maxInstructions"), "{err}");
    // None of it disturbed the running service.
    assert_eq!(
        post(&n.url, "/helloService/SayHello", "[\"ok\"]").1,
        "\"Hello, ok!\""
    );
    let v = ls(&n);
    assert!(
        matches!(&v, leither::api::Value::List(l) if l.len() == 1),
        "{v:?}"
    );
}

#[test]
fn instances_scale_with_load_within_the_budget_and_are_reaped() {
    use leither::api::Value;
    let n = TestNode::start_with(|home| {
        common::set_system_var(home, "LeverIdleSecs", Value::Int(1));
        // kitchen reserves 2 MiB an instance: at most 3 fit.
        common::set_system_var(home, "LeverMemoryMB", Value::Int(6));
    });
    deploy(&n, &app("kitchen"));
    let instances = |n: &TestNode| {
        service(&ls(n), "kitchen")
            .get("instances")
            .and_then(|v| v.as_i64())
            .unwrap()
    };
    assert_eq!(instances(&n), 1);
    // 16 slow calls at once, maxInstanceLoad 4: more instances start, up to the budget, and
    // every call is answered.
    let mut threads = Vec::new();
    for _ in 0..16 {
        let url = n.url.clone();
        threads.push(std::thread::spawn(move || {
            post(&url, "/kitchen/slow", "[600]")
        }));
    }
    std::thread::sleep(Duration::from_millis(300));
    let busy = instances(&n);
    for t in threads {
        assert_eq!(t.join().unwrap(), (200, "\"v1\"".to_string()));
    }
    assert!(
        (2..=3).contains(&busy),
        "{busy} instances under 16 concurrent calls"
    );
    // Idle beyond LeverIdleSecs: back to what the (decaying) load needs.
    let t = Instant::now();
    while instances(&n) > 1 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(instances(&n), 1);
    assert!(logs(&n, "kitchen").contains("stopped (idle or replaced)"));
    // A service whose ram does not fit the budget deploys (its code is checked) but does not
    // run: calls are told why.
    let big = n.home.join("big");
    std::fs::create_dir_all(&big).unwrap();
    std::fs::write(big.join("lever.json"), "{\"name\":\"big\",\"ram\":8}").unwrap();
    std::fs::write(
        big.join("main.lua"),
        "return {hi = function() return 1 end}",
    )
    .unwrap();
    let out = deploy(&n, &big.display().to_string());
    assert!(out.contains("Deployed big"), "{out}");
    let (code, body) = post(&n.url, "/big/hi", "[]");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("LeverMemoryMB"), "{body}");
    assert!(logs(&n, "big").contains("no instance kept running"));
}

/// `lever.json`'s `env` is the service's, kept by the node and never uploaded: a redeploy
/// without `env` keeps it, one with `env` replaces it (`{}` empties it), a rollback and a
/// restart keep it; `lapp uploadapp` leaves it out too; a lever.json uploaded with env by
/// another client still deploys, with a warning.
#[test]
fn env_is_kept_by_the_node_across_redeploys_and_restarts() {
    let mut n = TestNode::start();
    let dir = n.home.join("src").join("vault");
    copy_dir(&apps().join("vault"), &dir);
    let dir_s = dir.display().to_string();
    let manifest = |env: Option<&str>| {
        let env = env.map(|e| format!(", \"env\": {e}")).unwrap_or_default();
        std::fs::write(
            dir.join("lever.json"),
            format!("{{\"name\": \"vault\", \"luaEntry\": \"main.lua\"{env}}}"),
        )
        .unwrap();
    };
    let out = deploy(&n, &dir_s);
    assert!(out.contains("env PASS not uploaded"), "{out}");
    assert_eq!(post(&n.url, "/vault/pass", "[]").1, "\"s3cret\"");
    manifest(None);
    deploy(&n, &dir_s);
    assert_eq!(post(&n.url, "/vault/pass", "[]").1, "\"s3cret\"", "kept");
    manifest(Some("{\"PASS\": \"n3w-secret\"}"));
    deploy(&n, &dir_s);
    assert_eq!(post(&n.url, "/vault/pass", "[]").1, "\"n3w-secret\"");
    ok(&leither(&n.home, &["lever", "rollback", "vault"]));
    assert_eq!(
        post(&n.url, "/vault/pass", "[]").1,
        "\"n3w-secret\"",
        "a rollback keeps the env"
    );
    // The owner sees the names, never the values; no file of the app holds a value.
    let v = ok(&leither(&n.home, &["call", "LeverLs"]));
    let names = service(&ls(&n), "vault").get("envNames").cloned();
    assert_eq!(
        names,
        Some(leither::api::Value::List(vec!["PASS".into()])),
        "{v}"
    );
    assert!(!v.contains("s3cret") && !v.contains("n3w-secret"), "{v}");
    let aid = service(&ls(&n), "vault")
        .get("mid")
        .and_then(|m| m.as_str())
        .unwrap()
        .to_string();
    for ver in 1..=3 {
        let (code, body) = curl(&[&format!("{}/tpt/{aid}:{ver}/lever.json", n.url)]);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(code, 200, "{body}");
        assert!(!body.contains("secret") && !body.contains("env"), "{body}");
    }

    // A restart keeps it.
    n.stop();
    let status = Command::new(BIN)
        .arg("--home")
        .arg(&n.home)
        .args(["run", "-d"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let url = format!(
        "http://{}",
        std::fs::read_to_string(n.home.join("leither.addr"))
            .unwrap()
            .trim()
    );
    assert_eq!(post(&url, "/vault/pass", "[]").1, "\"n3w-secret\"");
    // `{}` empties it.
    manifest(Some("{}"));
    deploy(&n, &dir_s);
    assert_eq!(post(&url, "/vault/pass", "[]").1, "null");

    // lapp uploadapp leaves env out, and says so.
    manifest(Some("{\"PASS\": \"up-secret\"}"));
    let o = leither(&n.home, &["lapp", "uploadapp", "-i", &dir_s]);
    let out = ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("env was not uploaded"),
        "{o:?}"
    );
    let ver = out.lines().find_map(|l| l.strip_prefix("ver= ")).unwrap();
    let (_, body) = curl(&[&format!("{url}/tpt/{aid}:{}/lever.json", ver.trim())]);
    assert!(!String::from_utf8_lossy(&body).contains("up-secret"));

    // A lever.json uploaded with its env by another client: the values are public already;
    // the deploy takes them and warns.
    let raw = n.home.join("src").join("raw");
    copy_dir(&apps().join("vault"), &raw);
    let added = ok(&leither(
        &n.home,
        &["ipfs", "add", "-r", raw.to_str().unwrap()],
    ));
    let cid = added
        .lines()
        .find_map(|l| l.strip_prefix("ipfs add ok /ipfs/"))
        .unwrap()
        .trim()
        .to_string();
    let mid = ok(&leither(&n.home, &["mimei", "create", "-m", "raw-vault"]));
    let mid = mid.split_whitespace().last().unwrap().to_string();
    ok(&leither(&n.home, &["call", "MFSetCid", &mid, &cid]));
    ok(&leither(&n.home, &["call", "MMBackup", &mid, ""]));
    let out = ok(&leither(
        &n.home,
        &["call", "LeverDeploy", "raw.lever", &mid],
    ));
    assert!(out.contains("holds env values"), "{out}");
    assert_eq!(
        post(&url, "/vault/pass?forceenv=raw.lever", "[]").1,
        "\"s3cret\""
    );
    ok(&leither(&n.home, &["stop"]));
}
