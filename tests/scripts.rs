//! Leither's script contract against a real node (docs/scripts.md): `lpki runscript` with
//! Leither's documented lines unchanged, `RunScript` over the JSON door with the caller's
//! rights and no more, a looping script stopped while the node answers, registered scripts
//! and their quota, background tasks, `_Install.lua` and `RequestService` scripts.

mod common;

use std::time::{Duration, Instant};

use common::{TestNode, curl, leither, ok};
use leither::api::Value;

fn api(n: &TestNode, f: &str, args: &[Value]) -> (u16, Value) {
    common::api_json(n, f, args)
}

fn s(t: &str) -> Value {
    Value::from(t)
}

fn err_text(v: &Value) -> String {
    v.get("error")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn runscript(n: &TestNode, args: &[&str]) -> std::process::Output {
    let mut a = vec!["lpki", "runscript"];
    a.extend_from_slice(args);
    leither(&n.home, &a)
}

/// A session of a fresh key's pass: a visitor, or a user once admitted.
fn login_key(n: &TestNode, key: &leither::pki::NodeKey) -> String {
    let now = leither::clock::unix_now();
    let pass = leither::pki::Pass::sign(key, vec![], now, 3600).unwrap();
    let (st, v) = api(n, "Login", &[s(&pass.to_text())]);
    assert_eq!(st, 200, "{v:?}");
    v.get("sid").and_then(Value::as_str).unwrap().to_string()
}

fn glob(sid: &str) -> Value {
    Value::Map(vec![("sid".into(), s(sid))])
}

/// LPki.md's line, unchanged: prints `RunScript ret= ` and the version.
#[test]
fn lpki_runscript_prints_the_version_as_leither_does() {
    let n = TestNode::start();
    let out = ok(&runscript(
        &n,
        &[
            "-s",
            "local var=require('var'); local ver = var.GetVar(request.sid, 'ver'); return ver",
        ],
    ));
    assert_eq!(
        out.trim(),
        format!("RunScript ret= {}", leither::api::fns_node::VERSION)
    );
    // -r values reach request; a table comes back as JSON.
    let out = ok(&runscript(
        &n,
        &[
            "-s",
            "return {a = request.a, n = #request.sid}",
            "-r",
            "a=b=c",
        ],
    ));
    assert!(
        out.starts_with("RunScript ret= {\"a\":\"b=c\",\"n\":"),
        "{out}"
    );
    // -p logs in with a pass file: the script runs as that pass's key.
    let key = common::admitted_key(&n.home);
    let pass = leither::pki::Pass::sign(&key, vec![], leither::clock::unix_now(), 3600).unwrap();
    let ppt = n.home.join("user.ppt");
    std::fs::write(&ppt, pass.to_text()).unwrap();
    let out = ok(&runscript(
        &n,
        &[
            "-p",
            ppt.to_str().unwrap(),
            "-s",
            "local var=require('var'); return var.GetVar(request.sid, 'userinfo').rights .. ' ' .. var.GetVar(request.sid, 'userid')",
        ],
    ));
    assert_eq!(out.trim(), format!("RunScript ret= user {}", key.id()));
    // Without -p, the node key: the owner.
    let out = ok(&runscript(
        &n,
        &[
            "-s",
            "return require('var').GetVar(request.sid, 'userinfo').rights",
        ],
    ));
    assert_eq!(out.trim(), "RunScript ret= owner");
    // A file's extension is its type: .lua runs, others are refused clearly.
    let f = n.home.join("t.lua");
    std::fs::write(&f, "return 6 * 7").unwrap();
    let out = ok(&runscript(&n, &["-i", f.to_str().unwrap()]));
    assert_eq!(out.trim(), "RunScript ret= 42");
    let js = n.home.join("t.js");
    std::fs::write(&js, "1").unwrap();
    let o = runscript(&n, &["-i", js.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("only .lua scripts"),
        "{o:?}"
    );
}

/// Setup.md's two lines, unchanged: register `lsb` (as the node's owner on its machine),
/// then open `mmroot` with MMSetRight.
#[test]
fn setup_md_lines_register_and_set_right() {
    let n = TestNode::start();
    let out = ok(&runscript(
        &n,
        &[
            "-s",
            "local auth=require('auth'); return auth.Register('lsb', '123456');",
        ],
    ));
    let uid = out
        .trim()
        .strip_prefix("RunScript ret= ")
        .unwrap()
        .to_string();
    assert_eq!(uid.len(), 27, "{out}");
    let (st, v) = api(&n, "Login", &[s("lsb"), s("123456")]);
    assert_eq!((st, v.get("uid")), (200, Some(&s(&uid))), "{v:?}");
    // mmroot is the owner's; the line makes it readable by others. It may not exist on a fresh
    // node: create it first as Setup.md's node has it.
    let o = runscript(
        &n,
        &[
            "-s",
            "local node=require('mimei'); return node.MMSetRight(request.sid, 'mmroot', '', 0x07276707);",
        ],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    assert!(text.starts_with("RunScript ret= "), "{text}");
}

/// A guest's script cannot do what a guest cannot: MMCreate fails with the API's message,
/// which pcall catches; uncaught, it is RunScript's error.
#[test]
fn a_guests_script_cannot_do_what_a_guest_cannot() {
    let n = TestNode::start();
    let (st, v) = api(
        &n,
        "RunScript",
        &[s(
            "local m = require('mimei'); return m.MMCreate(request.sid, 'app', '', 'x', 2, 0x07276707)",
        )],
    );
    assert_eq!(st, 403, "{v:?}");
    assert_eq!(
        err_text(&v),
        "MMCreate needs user rights; this session has fewer"
    );
    let (st, v) = api(
        &n,
        "RunScript",
        &[
            s(
                "local m = require('mimei'); local ok, e = pcall(m.MMCreate, request.sid, 'a', '', 'x', 2, 0); return {ok = ok, e = e}",
            ),
            Value::Map(vec![]),
        ],
    );
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("ok"), Some(&Value::Bool(false)));
    assert!(
        v.get("e")
            .and_then(Value::as_str)
            .unwrap_or("")
            .contains("MMCreate"),
        "{v:?}"
    );
    // A script naming a session it does not hold runs as the guest (Leither's rule).
    let (st, v) = api(
        &n,
        "RunScript",
        &[s("return request.sid"), glob("not-a-session")],
    );
    assert_eq!((st, v), (200, s("")));
    // A visitor (a valid pass of a key the node never admitted) cannot store either.
    let sid = login_key(&n, &leither::pki::NodeKey::generate().unwrap());
    let (st, v) = api(
        &n,
        "RunScript",
        &[
            s("local m = require('mimei'); return m.MMCreate(request.sid, 'app', '', 'x', 2, 0)"),
            glob(&sid),
        ],
    );
    assert!(st == 403 && err_text(&v).contains("MMCreate"), "{v:?}");
    // A script's own error: Lua's message with the script's line, no host traceback.
    let (st, v) = api(&n, "RunScript", &[s("local x = 1\nerror('boom')")]);
    assert_eq!(
        (st, err_text(&v).as_str()),
        (500, "RunScript:2: boom"),
        "{v:?}"
    );
    // Unknown modules and the sandbox's closed doors.
    let (st, v) = api(&n, "RunScript", &[s("return require('os')")]);
    assert!(st >= 400 && err_text(&v).contains("no module"), "{v:?}");
    let (st, v) = api(&n, "RunScript", &[s("return io")]);
    assert_eq!((st, v), (200, Value::Null));
}

/// A script that loops, or allocates without end, is stopped; the node answers meanwhile.
#[test]
fn a_looping_script_is_stopped_and_the_node_answers_meanwhile() {
    let n = TestNode::start_with(|h| {
        common::set_system_var(h, "LuaMaxTimeoutMs", Value::Int(3000));
        common::set_system_var(h, "LuaMaxInstructions", Value::Int(1_000_000_000_000));
    });
    let url = n.url.clone();
    let looping = std::thread::spawn(move || {
        let t = Instant::now();
        let (st, b) = curl(&[
            "-X",
            "POST",
            "--data-binary",
            "[\"while true do end\"]",
            &format!("{url}/api/RunScript"),
        ]);
        (st, String::from_utf8_lossy(&b).into_owned(), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut answered = 0;
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(2000) {
        let (st, v) = api(&n, "GetVar", &[s(""), s("ver")]);
        assert_eq!(st, 200, "{v:?}");
        answered += 1;
    }
    let (st, body, took) = looping.join().unwrap();
    assert_eq!(st, 500, "{body}");
    assert!(body.contains("LuaMaxTimeoutMs"), "{body}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(
        answered >= 10,
        "the node answered {answered} times while the script ran"
    );
    // Memory: stopped at LuaMaxRamMB.
    let (st, v) = api(
        &n,
        "RunScript",
        &[s(
            "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end",
        )],
    );
    assert_eq!(st, 500, "{v:?}");
    assert!(err_text(&v).contains("MiB of memory"), "{v:?}");
    // The node still runs scripts afterwards.
    let (st, v) = api(&n, "RunScript", &[s("return 1 + 1")]);
    assert_eq!((st, v), (200, Value::Int(2)));
}

/// An owner session through the pass `/getvar?name=ppt` gives a local program.
fn owner(n: &TestNode) -> String {
    let url = format!("{}/getvar?name=ppt&arg0=1&nojson", n.url);
    let (st, ppt) = curl(&[&url]);
    assert_eq!(st, 200);
    let (st, v) = api(n, "Login", &[s(&String::from_utf8_lossy(&ppt))]);
    assert_eq!(st, 200, "{v:?}");
    v.get("sid").and_then(Value::as_str).unwrap().to_string()
}

fn info(name: &str) -> Value {
    Value::Map(vec![("Name".into(), s(name)), ("Memo".into(), s("m"))])
}

/// RegisterScript: a user keeps at most 32 scripts (replacing one of theirs is allowed), the
/// owner is exempt; a registered script runs for its author and the owner only, with the
/// runner's session.
#[test]
fn registered_scripts_quota_and_who_may_run_them() {
    let n = TestNode::start();
    let user = common::admitted_key(&n.home);
    let usid = login_key(&n, &user);
    let osid = owner(&n);
    let mut first = String::new();
    for i in 0..32 {
        let (st, v) = api(
            &n,
            "RegisterScript",
            &[
                s(&usid),
                s(&format!(
                    "return {{n = {i}, sid = request.sid, x = request.x}}"
                )),
                info("t"),
            ],
        );
        assert_eq!(st, 200, "{v:?}");
        if i == 0 {
            first = v.as_str().unwrap().to_string();
        }
    }
    let (st, v) = api(
        &n,
        "RegisterScript",
        &[s(&usid), s("return 1"), info("one too many")],
    );
    assert_eq!(st, 503, "{v:?}");
    assert!(err_text(&v).contains("32"), "{v:?}");
    // Replacing one of one's own is not a new one.
    let with_id = Value::Map(vec![("ID".into(), s(&first))]);
    let (st, v) = api(
        &n,
        "RegisterScript",
        &[
            s(&usid),
            s("return {n = 'again', sid = request.sid, x = request.x}"),
            with_id,
        ],
    );
    assert_eq!((st, v), (200, s(&first)));
    // The owner is exempt.
    for _ in 0..33 {
        let (st, v) = api(
            &n,
            "RegisterScript",
            &[s(&osid), s("return 'o'"), Value::Null],
        );
        assert_eq!(st, 200, "{v:?}");
    }
    // A guest may not register.
    let (st, _) = api(&n, "RegisterScript", &[s(""), s("return 1"), Value::Null]);
    assert_eq!(st, 403);
    // The author runs it with their own session and the glob.
    let g = Value::Map(vec![("x".into(), s("y"))]);
    let (st, v) = api(&n, "RunByScriptID", &[s(&usid), s(&first), g.clone()]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("n"), Some(&s("again")));
    assert_eq!(v.get("sid"), Some(&s(&usid)));
    assert_eq!(v.get("x"), Some(&s("y")));
    // The owner may run it too, as the owner.
    let (st, v) = api(&n, "RunByScriptID", &[s(&osid), s(&first), g.clone()]);
    assert_eq!((st, v.get("sid")), (200, Some(&s(&osid))));
    // Another user, and a guest, are told there is no such script of theirs.
    let other = login_key(&n, &common::admitted_key(&n.home));
    for sid in [other.as_str(), ""] {
        let (st, v) = api(&n, "RunByScriptID", &[s(sid), s(&first), g.clone()]);
        assert_eq!(st, 404, "{v:?}");
        assert!(err_text(&v).contains("no script"), "{v:?}");
    }
    // ScriptList shows a user their own; ScriptDel makes room; another's is not theirs.
    let (_, v) = api(&n, "ScriptList", &[s(&usid)]);
    let Value::List(l) = v else { panic!("{v:?}") };
    assert_eq!(l.len(), 32);
    assert!(
        l.iter()
            .all(|m| m.get("author") == Some(&s(&user.id().to_string())))
    );
    let (st, _) = api(&n, "ScriptDel", &[s(&other), s(&first)]);
    assert_eq!(st, 404);
    let (st, v) = api(&n, "ScriptDel", &[s(&usid), s(&first)]);
    assert_eq!((st, v), (200, Value::Bool(true)));
    let (st, v) = api(
        &n,
        "RegisterScript",
        &[s(&usid), s("return 1"), info("room")],
    );
    assert_eq!(st, 200, "{v:?}");
    let (_, v) = api(&n, "ScriptList", &[s(&osid)]);
    let Value::List(l) = v else { panic!() };
    assert_eq!(l.len(), 32 + 33, "the owner sees all");
    // Too large a script is refused.
    let big = format!("return '{}'", "x".repeat(70 * 1024));
    let (st, v) = api(&n, "RegisterScript", &[s(&osid), s(&big), Value::Null]);
    assert_eq!(st, 400, "{v:?}");
}

/// TaskRunInBackground runs a registered script as its setter; TaskList shows it with its runs
/// and last result; TaskCancel ends it; a user has at most 8 tasks.
#[test]
fn background_tasks_are_listed_bounded_and_cancelled() {
    let n = TestNode::start();
    let user = common::admitted_key(&n.home);
    let usid = login_key(&n, &user);
    let (st, id) = api(
        &n,
        "RegisterScript",
        &[
            s(&usid),
            s(
                "local var = require('var'); return {u = var.GetVar(request.sid, 'userid'), p = request.p}",
            ),
            Value::Null,
        ],
    );
    assert_eq!(st, 200, "{id:?}");
    let id = id.as_str().unwrap().to_string();
    let setting = |name: &str, status: i64| {
        Value::Map(vec![
            ("Name".into(), s(name)),
            ("ScriptID".into(), s(&id)),
            ("Start".into(), Value::Int(0)),
            ("Period".into(), Value::Int(3600)),
            ("Param".into(), Value::Map(vec![("p".into(), s("q"))])),
            ("Status".into(), Value::Int(status)),
        ])
    };
    let (st, v) = api(&n, "TaskRunInBackground", &[s(&usid), setting("t0", 0)]);
    assert_eq!((st, v), (200, Value::Null));
    let t = Instant::now();
    let list = loop {
        let (st, v) = api(&n, "TaskList", &[s(&usid)]);
        assert_eq!(st, 200, "{v:?}");
        let runs = match &v {
            Value::List(l) => l
                .first()
                .and_then(|t| t.get("runs"))
                .and_then(Value::as_i64),
            _ => None,
        };
        if runs == Some(1) {
            break v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the task did not run: {v:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let Value::List(l) = &list else { panic!() };
    let last = l[0].get("last").and_then(Value::as_str).unwrap();
    assert!(
        last.contains(&user.id().to_string()) && last.contains("\"p\":\"q\""),
        "{last}"
    );
    // A period under 10 s and an event start are refused.
    let mut bad = setting("fast", 0);
    if let Value::Map(m) = &mut bad {
        m[3].1 = Value::Int(1);
    }
    let (st, v) = api(&n, "TaskRunInBackground", &[s(&usid), bad]);
    assert!(st == 400 && err_text(&v).contains("10 s"), "{v:?}");
    // Seven more (paused) fill the user's eight; the ninth is refused.
    for i in 1..8 {
        let (st, v) = api(
            &n,
            "TaskRunInBackground",
            &[s(&usid), setting(&format!("t{i}"), 1)],
        );
        assert_eq!(st, 200, "{v:?}");
    }
    let (st, v) = api(&n, "TaskRunInBackground", &[s(&usid), setting("t8", 1)]);
    assert_eq!(st, 503, "{v:?}");
    assert!(err_text(&v).contains("TaskCancel"), "{v:?}");
    // The same name replaces rather than adds.
    let (st, _) = api(&n, "TaskRunInBackground", &[s(&usid), setting("t7", 1)]);
    assert_eq!(st, 200);
    // Another user sees none of them and cannot cancel them.
    let other = login_key(&n, &common::admitted_key(&n.home));
    let (_, v) = api(&n, "TaskList", &[s(&other)]);
    assert_eq!(v, Value::List(vec![]));
    let (_, v) = api(&n, "TaskCancel", &[s(&other), s("t0")]);
    assert_eq!(v, Value::Bool(false));
    // A visitor may not set tasks.
    let visitor = login_key(&n, &leither::pki::NodeKey::generate().unwrap());
    let (st, _) = api(&n, "TaskRunInBackground", &[s(&visitor), setting("v", 0)]);
    assert_eq!(st, 403);
    // Cancel.
    let (_, v) = api(&n, "TaskCancel", &[s(&usid), s("t0")]);
    assert_eq!(v, Value::Bool(true));
    let (_, v) = api(&n, "TaskList", &[s(&usid)]);
    let Value::List(l) = v else { panic!() };
    assert_eq!(l.len(), 7);
    assert!(l.iter().all(|t| t.get("Name") != Some(&s("t0"))));
    // The owner sees every task and may cancel any.
    let osid = owner(&n);
    let (_, v) = api(&n, "TaskList", &[s(&osid)]);
    let Value::List(l) = v else { panic!() };
    assert_eq!(l.len(), 7);
    let (_, v) = api(&n, "TaskCancel", &[s(&osid), s("t1")]);
    assert_eq!(v, Value::Bool(true));
}

fn ask(n: &TestNode, key: &leither::pki::NodeKey, service: &str) -> Value {
    let now = leither::clock::unix_now();
    let pass = leither::pki::Pass::sign(
        key,
        vec![("RequestService".into(), service.into())],
        now,
        3600,
    )
    .unwrap();
    let (st, v) = api(n, "RequestService", &[s(&pass.to_text())]);
    assert_eq!(st, 200, "{v:?}");
    v.get(service).cloned().unwrap_or(Value::Null)
}

fn rights_of(n: &TestNode, key: &leither::pki::NodeKey) -> Value {
    let now = leither::clock::unix_now();
    let pass = leither::pki::Pass::sign(key, vec![], now, 3600).unwrap();
    let (_, v) = api(n, "Login", &[s(&pass.to_text())]);
    v.get("rights").cloned().unwrap_or(Value::Null)
}

/// The owner's `service/RequestService/<name>.lua` decides: Setup.md's mimei.lua grants (the
/// asker becomes a user); one returning false refuses; one that fails, loops, or tries to do
/// more than the guest it runs as (admit someone itself) refuses, and grants nothing.
#[test]
fn request_service_scripts_grant_and_refuse() {
    let n = TestNode::start_with(|h| {
        common::set_system_var(h, "LuaMaxTimeoutMs", Value::Int(1000));
        let dir = h.join("service/RequestService");
        std::fs::create_dir_all(&dir).unwrap();
        // Setup.md's script, unchanged.
        std::fs::write(
            dir.join("mimei.lua"),
            "local log = require(\"log\");\nlog.Debug(\"request service mimei request=%v\", request)\nreturn true\n",
        )
        .unwrap();
        std::fs::write(dir.join("closed.lua"), "return request.uid == 'nobody'").unwrap();
        std::fs::write(dir.join("broken.lua"), "error('no')").unwrap();
        std::fs::write(dir.join("loop.lua"), "while true do end").unwrap();
        std::fs::write(
            dir.join("greedy.lua"),
            "local auth = require('auth'); auth.AddUser(request.sid, request.uid); return true",
        )
        .unwrap();
    });
    let asker = leither::pki::NodeKey::generate().unwrap();
    assert_eq!(rights_of(&n, &asker), s("visitor"));
    for (service, why) in [
        ("closed", "closed.lua refused closed"),
        ("broken", "failed"),
        ("loop", "was stopped"),
        ("greedy", "AddUser needs owner rights"),
        ("nothere", "no rule of this node"),
        ("../etc", "no rule of this node"),
    ] {
        let v = ask(&n, &asker, service);
        assert_eq!(v.get("granted"), Some(&s("false")), "{service}: {v:?}");
        let reason = v.get("reason").and_then(Value::as_str).unwrap_or("");
        assert!(reason.contains(why), "{service}: {reason}");
        assert_eq!(rights_of(&n, &asker), s("visitor"), "{service}");
    }
    let v = ask(&n, &asker, "mimei");
    assert_eq!(v.get("granted"), Some(&s("true")), "{v:?}");
    assert_eq!(rights_of(&n, &asker), s("user"));
    // The script's log line reached the node's log.
    let log = n.stderr();
    assert!(log.contains("request service mimei request="), "{log}");
}

/// Runs `leither run` on `home` (of a stopped node) until `line` shows in its log; stops it
/// and answers its log.
fn run_until(home: &std::path::Path, line: &str) -> String {
    let log = home.join("again.stderr");
    let _ = std::fs::remove_file(home.join("leither.addr"));
    let mut child = std::process::Command::new(common::BIN)
        .arg("--home")
        .arg(home)
        .arg("run")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(line) || t.elapsed() > Duration::from_secs(15) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
    text
}

/// `_Install.lua` runs at start as the owner (here Setup.md's Register line), its result in the
/// log; a restart with the same text does not run it again; a changed text runs.
#[test]
fn install_lua_runs_once_per_change_as_the_owner() {
    let mut n = TestNode::start_with(|h| {
        std::fs::write(
            h.join("_Install.lua"),
            "local auth=require('auth'); local var=require('var'); \
             auth.Register('inst', '123456'); return var.GetVar(request.sid, 'userinfo').rights",
        )
        .unwrap();
    });
    let t = Instant::now();
    while !n.stderr().contains("_Install.lua ran as the owner") {
        assert!(t.elapsed() < Duration::from_secs(10), "{}", n.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        n.stderr()
            .contains("_Install.lua ran as the owner: \"owner\""),
        "{}",
        n.stderr()
    );
    let (st, v) = api(&n, "Login", &[s("inst"), s("123456")]);
    assert_eq!(st, 200, "{v:?}");
    n.stop();
    let log = run_until(&n.home, "_Install.lua is unchanged");
    assert!(log.contains("_Install.lua is unchanged"), "{log}");
    assert!(!log.contains("_Install.lua ran"), "{log}");
    std::fs::write(n.home.join("_Install.lua"), "return 'v2'").unwrap();
    let log = run_until(&n.home, "_Install.lua ran");
    assert!(
        log.contains("_Install.lua ran as the owner: \"v2\""),
        "{log}"
    );
    // A failing one is logged, and runs again at the next start.
    std::fs::write(n.home.join("_Install.lua"), "error('boom')").unwrap();
    let log = run_until(&n.home, "_Install.lua failed");
    assert!(log.contains("boom"), "{log}");
    let log = run_until(&n.home, "_Install.lua failed");
    assert!(log.contains("boom"), "{log}");
}

/// A flood of guests' scripts: at most 2 run at once (the others are told 503 at once, naming
/// the bound), and the owner's script still runs meanwhile.
#[test]
fn a_flood_of_guest_scripts_takes_two_places_and_the_owner_still_runs() {
    let n = TestNode::start_with(|h| {
        common::set_system_var(h, "LuaMaxTimeoutMs", Value::Int(2000));
        common::set_system_var(h, "LuaMaxInstructions", Value::Int(1_000_000_000_000));
    });
    let url = format!("{}/api/RunScript", n.url);
    let floods: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                curl(&[
                    "-X",
                    "POST",
                    "--data-binary",
                    "[\"while true do end\"]",
                    &url,
                ])
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let osid = owner(&n);
    let t = Instant::now();
    let (st, v) = api(&n, "RunScript", &[s("return 'owner'"), glob(&osid)]);
    assert_eq!((st, v), (200, s("owner")));
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let mut busy = 0;
    let mut stopped = 0;
    for f in floods {
        let (st, b) = f.join().unwrap();
        let b = String::from_utf8_lossy(&b).into_owned();
        match st {
            503 => {
                assert!(b.contains("guests and visitors"), "{b}");
                busy += 1;
            }
            500 => {
                assert!(b.contains("LuaMaxTimeoutMs"), "{b}");
                stopped += 1;
            }
            other => panic!("{other} {b}"),
        }
    }
    assert_eq!((busy, stopped), (2, 2));
}

/// Scripts' heaps come out of Lever's memory share: with room for one, a second script waits
/// its turn (503 naming LeverMemoryMB) and runs once the first is done.
#[test]
fn scripts_share_levers_memory() {
    let n = TestNode::start_with(|h| {
        common::set_system_var(h, "LeverMemoryMB", Value::Int(3));
        common::set_system_var(h, "LuaMaxTimeoutMs", Value::Int(1500));
        common::set_system_var(h, "LuaMaxInstructions", Value::Int(1_000_000_000_000));
    });
    let osid = owner(&n);
    let url = format!("{}/api/RunScript", n.url);
    let body = format!("[\"while true do end\", {{\"sid\": \"{osid}\"}}]");
    let first = std::thread::spawn(move || curl(&["-X", "POST", "--data-binary", &body, &url]));
    std::thread::sleep(Duration::from_millis(400));
    let (st, v) = api(&n, "RunScript", &[s("return 1"), glob(&osid)]);
    assert_eq!(st, 503, "{v:?}");
    assert!(err_text(&v).contains("LeverMemoryMB"), "{v:?}");
    let (st, _) = first.join().unwrap();
    assert_eq!(st, 500);
    let (st, v) = api(&n, "RunScript", &[s("return 1"), glob(&osid)]);
    assert_eq!((st, v), (200, Value::Int(1)));
}

/// Bad input to the script functions is refused with the reason, never a panic: a script that
/// is not text, bytecode, a glob that is not a map or too big, a script too large, a setting
/// that is not a map.
#[test]
fn script_functions_refuse_bad_input() {
    let n = TestNode::start();
    let big_glob = Value::Map((0..65).map(|i| (format!("k{i}"), s("v"))).collect());
    for (args, want) in [
        (vec![Value::Int(1)], "must be a string"),
        (vec![s("\u{1b}Lua")], "bytecode"),
        (vec![s("return 1"), s("x")], "must be a map"),
        (vec![s("return 1"), big_glob], "at most 64"),
        (vec![s(&"-".repeat(70 * 1024))], "more than the 65536"),
        (vec![s("return (")], "does not compile"),
        (vec![], "takes 1 to 2 arguments"),
    ] {
        let (st, v) = api(&n, "RunScript", &args);
        assert_eq!(st, 400, "{args:?}: {v:?}");
        assert!(err_text(&v).contains(want), "{want}: {v:?}");
    }
    let osid = owner(&n);
    let (st, v) = api(&n, "TaskRunInBackground", &[s(&osid), s("x")]);
    assert!(st == 400 && err_text(&v).contains("TaskSetting"), "{v:?}");
    let no_id = Value::Map(vec![("Name".into(), s("x"))]);
    let (st, v) = api(&n, "TaskRunInBackground", &[s(&osid), no_id]);
    assert!(st == 400 && err_text(&v).contains("ScriptID"), "{v:?}");
    let (st, v) = api(&n, "RegisterScript", &[s(&osid), s("return 1"), s("info")]);
    assert!(st == 400 && err_text(&v).contains("ScriptInfo"), "{v:?}");
    // The node still answers.
    let (st, v) = api(&n, "RunScript", &[s("return 'fine'")]);
    assert_eq!((st, v), (200, s("fine")));
}
