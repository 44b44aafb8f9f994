//! Leither's backend app API against a real node (docs/apps.md): an app written as Leither's
//! docs describe (an app Mimei of Lua files) run through `RunMApp` over the JSON door, over
//! Hprose (PyPI `hprose` 1.4.3, installed by `tests/peers/install.sh` when missing) and through
//! `/entry?appid=`; its data Mimei made once, written by the app and refused to others; its
//! sessions with values and their bounds; and the attacks, each a test named after it.

#![cfg(feature = "lever")]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestNode, curl, leither, ok};
use leither::api::Value;
use leither::pki::{NodeKey, Pass};

fn api(n: &TestNode, f: &str, args: &[Value]) -> (u16, Value) {
    common::api_json(n, f, args)
}

fn s(t: &str) -> Value {
    Value::from(t)
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::Str(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn login_key(n: &TestNode, key: &NodeKey) -> String {
    let pass = Pass::sign(key, vec![], leither::clock::unix_now(), 3600).unwrap();
    let (st, v) = api(n, "Login", &[s(&pass.to_text())]);
    assert_eq!(st, 200, "{v:?}");
    text(&v, "sid")
}

fn owner(n: &TestNode) -> String {
    login_key(n, &NodeKey::load(&n.home.join("hostkey.cfg")).unwrap())
}

/// Uploads a Leither app: its files added as a folder, an app Mimei made by `sid`
/// (`MMCreate(sid, "", "app", NAME, "file")`, as `lapp uploadapp` does), the folder as its
/// version 1, readable by everyone when `public`.
fn upload(n: &TestNode, sid: &str, name: &str, files: &[(&str, &str)], public: bool) -> String {
    let dir = n.home.join("src").join(name);
    for (path, body) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let added = ok(&leither(
        &n.home,
        &["ipfs", "add", "-r", dir.to_str().unwrap()],
    ));
    let cid = added
        .lines()
        .find_map(|l| l.strip_prefix("ipfs add ok /ipfs/"))
        .unwrap()
        .trim()
        .to_string();
    let (st, mid) = api(
        n,
        "MMCreate",
        &[s(sid), s(""), s("app"), s(name), s("file")],
    );
    assert_eq!(st, 200, "{mid:?}");
    let mid = mid.as_str().unwrap().to_string();
    let (st, v) = api(n, "MFSetCid", &[s(sid), s(&mid), s(&cid)]);
    assert_eq!(st, 200, "{v:?}");
    let (st, v) = api(n, "MMBackup", &[s(sid), s(&mid), s("")]);
    assert_eq!(st, 200, "{v:?}");
    if public {
        let (st, v) = api(n, "MMSetRight", &[s(sid), s(&mid), s("*"), s("read")]);
        assert_eq!(st, 200, "{v:?}");
    }
    mid
}

fn run(n: &TestNode, entry: &str, request: &[(&str, Value)], args: &[Value]) -> (u16, Value) {
    api(
        n,
        "RunMApp",
        &[s(entry), map(request), Value::List(args.to_vec())],
    )
}

/// Leither's app: `main.lua` answers what it was given, `page.lua` a page.
const HELLO_MAIN: &str = r#"
local req = lapi.GetRequest()
lapi.Debug("hello request=%v", req)
return {
  greet = 'hello ' .. (request.name or 'nobody'),
  args = lapi.GetArgs(), nargs = #args,
  aid = request.aid, appid = request.appid, entry = request.entry, ver = request.ver,
  nid = request.nid, who = lapi.GetVar(request.sid, 'userid'), same = (req.aid == request.aid),
  version = require('var').GetVar(request.sid, 'ver'), pw = request.password,
  shout = require('lib.util').shout(request.name or ''), again = require('lib/util') == require('lib.util'),
  missing = select(2, pcall(require, 'nosuch')),
}
"#;
const HELLO_PAGE: &str = "return '<h1>' .. (request.name or '') .. '</h1>'";

fn python() -> std::path::PathBuf {
    let peers = common::repo_root().join("tests").join("peers");
    let venv = peers.join(".venv/bin/python");
    if !venv.exists() {
        let st = Command::new("bash")
            .arg(peers.join("install.sh"))
            .status()
            .expect("bash tests/peers/install.sh");
        assert!(st.success(), "tests/peers/install.sh failed");
    }
    venv
}

const PY_RUNMAPP: &str = r#"
import sys, json, os
sys.path.insert(0, os.path.join(sys.argv[2], '.pylib'))
import hprose
c = hprose.HttpClient(sys.argv[1] + '/webapi/')
r = c.RunMApp('main', {'appid': sys.argv[3], 'name': 'py'}, [7, 'eight'])
def plain(v):
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, bytes):
        return v.decode()
    return v
print(json.dumps(plain(r)))
try:
    c.BELoginAsAuthor()
    print('BELoginAsAuthor answered')
except Exception as e:
    print('refused: ' + str(e))
"#;

#[test]
fn a_leither_app_runs_through_run_mapp_hprose_and_entry() {
    let n = TestNode::start();
    let o = owner(&n);
    let aid = upload(
        &n,
        &o,
        "hello",
        &[
            ("main.lua", HELLO_MAIN),
            ("page.lua", HELLO_PAGE),
            (
                "lib/util.lua",
                "local M = {} function M.shout(s) return s:upper() end return M",
            ),
        ],
        true,
    );
    let (_, host) = api(&n, "GetVar", &[s(""), s("hostid")]);
    let host = host.as_str().unwrap().to_string();

    // RunMApp over JSON, as a guest (no sid).
    let (st, v) = run(
        &n,
        "",
        &[("appid", s(&aid)), ("name", s("bob"))],
        &[Value::Int(1), s("x")],
    );
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(text(&v, "greet"), "hello bob");
    assert_eq!(text(&v, "shout"), "BOB", "the app's own module: {v:?}");
    assert!(
        text(&v, "missing").contains("nosuch.lua: no such file"),
        "{v:?}"
    );
    assert_eq!(
        v.get("args"),
        Some(&Value::List(vec![Value::Int(1), s("x")]))
    );
    assert_eq!(v.get("nargs"), Some(&Value::Int(2)));
    assert_eq!(text(&v, "aid"), aid);
    assert_eq!(text(&v, "appid"), aid);
    assert_eq!(text(&v, "entry"), "main.lua");
    assert_eq!(text(&v, "ver"), "1");
    assert_eq!(text(&v, "nid"), host);
    assert_eq!(text(&v, "who"), "");
    assert_eq!(v.get("same"), Some(&Value::Bool(true)));
    assert_eq!(text(&v, "version"), leither::api::fns_node::VERSION);
    // With the owner's session, `aid` as the app's name, `ver` asked for, Leither's `opt`.
    let (st, v) = api(
        &n,
        "RunMApp",
        &[
            s("main.lua"),
            map(&[("aid", s(&aid)), ("sid", s(&o)), ("ver", s("last"))]),
            Value::List(vec![]),
            s("opt"),
        ],
    );
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(text(&v, "who"), host);
    // A file the app does not have; a path that is not one.
    let (st, v) = run(&n, "nope", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 404, "{v:?}");
    let (st, v) = run(&n, "../x", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 400, "{v:?}");

    // /entry with Leither's parameters: every query parameter is in `request`.
    let url = &n.url;
    let (st, body) = curl(&[
        "-i",
        &format!("{url}/entry?appid={aid}&entry=page&name=bob"),
    ]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains("text/html") && body.ends_with("<h1>bob</h1>"),
        "{body}"
    );
    let (st, body) = curl(&[&format!("{url}/entry?aid={aid}&ver=1&entry=main&name=al")]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"greet\":\"hello al\""), "{body}");
    // An app's own login form reaches its code whole.
    let (st, body) = curl(&[
        "-X",
        "POST",
        "--data",
        "password=p%40ss",
        &format!("{url}/entry?appid={aid}&entry=main"),
    ]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"pw\":\"p@ss\""), "{body}");
    let (st, body) = curl(&[&format!(
        "{url}/entry?author={host}&app=hello&entry=page&name=au"
    )]);
    assert_eq!(
        (st, String::from_utf8_lossy(&body).as_ref()),
        (200, "<h1>au</h1>")
    );
    // A POST's JSON object and form fields join the request.
    let (st, body) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        "{\"name\":\"js\"}",
        &format!("{url}/entry?appid={aid}&entry=page"),
    ]);
    assert_eq!(
        (st, String::from_utf8_lossy(&body).as_ref()),
        (200, "<h1>js</h1>")
    );
    let (st, body) = curl(&[
        "-X",
        "POST",
        "--data",
        "name=form%20field",
        &format!("{url}/entry?appid={aid}&entry=page"),
    ]);
    assert_eq!(
        (st, String::from_utf8_lossy(&body).as_ref()),
        (200, "<h1>form field</h1>")
    );
    // The session travels as Bearer.
    let (st, body) = curl(&[
        "-H",
        &format!("Authorization: Bearer {o}"),
        &format!("{url}/entry?appid={aid}&entry="),
    ]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(st, 200);
    assert!(body.contains(&format!("\"who\":\"{host}\"")), "{body}");

    // Leither's app link (no entry) opens the app's page.
    let (st, body) = curl(&[
        "-i",
        &format!("{url}/entry?author={host}&app=hello&ver=cur"),
    ]);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(st, 302, "{body}");
    assert!(body.contains(&format!("/tpt/{aid}:cur/")), "{body}");
    let (st, _) = curl(&[&format!("{url}/entry?appid={aid}&ver=1%0d%0aX:%20y")]);
    assert_eq!(st, 400);

    // An app with lever.json is a Lever app: /entry (by Leither's appid too) calls a method.
    let lev = upload(
        &n,
        &o,
        "lev",
        &[
            (
                "lever.json",
                "{\"name\": \"lev\", \"luaEntry\": \"main.lua\"}",
            ),
            (
                "main.lua",
                "local M = {} function M.hi(a) return 'lever ' .. a.params.name end return M",
            ),
        ],
        true,
    );
    let (st, body) = curl(&[&format!("{url}/entry?appid={lev}&entry=hi&name=z")]);
    assert_eq!(
        (st, String::from_utf8_lossy(&body).as_ref()),
        (200, "lever z")
    );

    // Hprose: Python's client calls RunMApp as a Leither client would.
    let py = python();
    let out = Command::new(py)
        .arg("-c")
        .arg(PY_RUNMAPP)
        .arg(&n.url)
        .arg(common::repo_root().join("tests").join("peers"))
        .arg(&aid)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = stdout.lines().next().unwrap_or_default();
    let v = leither::api::json::decode(first.as_bytes(), &Default::default()).unwrap();
    assert_eq!(text(&v, "greet"), "hello py");
    assert_eq!(
        v.get("args"),
        Some(&Value::List(vec![Value::Int(7), s("eight")]))
    );
    assert!(
        stdout.contains("refused: BELoginAsAuthor is a backend function"),
        "{stdout}"
    );
}

const DATA_MAIN: &str = r#"
local mm = lapi.BEOpenAppDataNode('', '')
local okg, cur = pcall(lapi.Get, mm, 'count')
local n = (tonumber(okg and cur or nil) or 0) + 1
lapi.Set(mm, 'count', tostring(n))
local app = lapi.BELoginAsApp()
local other = lapi.BEOpenAppDataApp('', 'x')
return {n = n, mid = lapi.GetVar(app, 'mmsid2mid', mm), mmsid = mm,
        app = lapi.GetVar(app, 'mmsid2mid', other), uid = lapi.GetVar(app, 'userid')}
"#;

const MANY_MARKS: &str = r#"
local n, err = 0, nil
for i = 1, 40 do
  local ok, e = pcall(lapi.BEOpenAppDataNode, '', 'm' .. i)
  if not ok then err = e break end
  n = i
end
return {n = n, err = err}
"#;

const PROBE_MAIN: &str = r#"
local okapp, eapp = pcall(lapi.MMOpen, lapi.BELoginAsApp(), request.target, 'cur')
local okme, eme = pcall(lapi.MMOpen, request.sid, request.target, 'cur')
local okbad, ebad = pcall(lapi.BEOpenAppDataNode, '', '../other')
return {app = okapp, eapp = tostring(eapp), caller = okme, ecaller = tostring(eme),
        badmark = okbad, ebad = tostring(ebad)}
"#;

#[test]
fn app_data_mimei_is_made_once_written_by_the_app_and_refused_to_others() {
    let n = TestNode::start();
    let o = owner(&n);
    let aid = upload(
        &n,
        &o,
        "notes",
        &[("main.lua", DATA_MAIN), ("many.lua", MANY_MARKS)],
        true,
    );
    let mut mid = String::new();
    let mut mmsid = String::new();
    for i in 1..=3 {
        let (st, v) = run(&n, "main", &[("appid", s(&aid))], &[]);
        assert_eq!(st, 200, "{v:?}");
        assert_eq!(v.get("n"), Some(&Value::Int(i)), "{v:?}");
        if i == 1 {
            mid = text(&v, "mid");
            mmsid = text(&v, "mmsid");
        } else {
            assert_eq!(text(&v, "mid"), mid, "the same data Mimei every run");
        }
        assert_ne!(text(&v, "app"), mid, "the app's own data is another Mimei");
    }
    // A plain client: a user of the node, the guest. The handle the app handed out died with
    // its run.
    let user = common::admitted_key(&n.home);
    let u = login_key(&n, &user);
    let (st, v) = api(&n, "MMOpen", &[s(&u), s(&mid), s("cur")]);
    assert_eq!(st, 403, "{v:?}");
    let (st, v) = api(&n, "MMOpen", &[s(""), s(&mid), s("cur")]);
    assert_eq!(st, 403, "{v:?}");
    let (st, v) = api(&n, "Set", &[s(&mmsid), s("count"), s("99")]);
    assert_ne!(st, 200, "{v:?}");
    let (st, v) = run(&n, "main", &[("appid", s(&aid))], &[]);
    assert_eq!((st, v.get("n")), (200, Some(&Value::Int(4))), "{v:?}");

    // Another app's code, run by the user: neither its identity nor its caller may open it.
    let other = upload(&n, &o, "probe", &[("main.lua", PROBE_MAIN)], true);
    let (st, v) = run(
        &n,
        "main",
        &[("appid", s(&other)), ("sid", s(&u)), ("target", s(&mid))],
        &[],
    );
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("app"), Some(&Value::Bool(false)), "{v:?}");
    assert_eq!(v.get("caller"), Some(&Value::Bool(false)), "{v:?}");
    assert!(text(&v, "eapp").contains("write"), "{v:?}");
    assert_eq!(v.get("badmark"), Some(&Value::Bool(false)), "{v:?}");

    // An app that asks for fresh marks in a loop stops at 16 data Mimeis (two are made).
    let (st, v) = run(&n, "many", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("n"), Some(&Value::Int(14)), "{v:?}");
    assert!(text(&v, "err").contains("16 data Mimeis"), "{v:?}");
}

#[test]
fn app_a_opens_app_b_s_data_mimei() {
    // The same attack from the other side: B's code names A's data mark; it gets its own.
    let n = TestNode::start();
    let o = owner(&n);
    let a = upload(&n, &o, "appa", &[("main.lua", DATA_MAIN)], true);
    let b = upload(&n, &o, "appb", &[("main.lua", DATA_MAIN)], true);
    let (_, va) = run(&n, "", &[("appid", s(&a))], &[]);
    let (_, vb) = run(&n, "", &[("appid", s(&b))], &[]);
    assert_ne!(text(&va, "mid"), text(&vb, "mid"));
    assert_ne!(
        text(&va, "uid"),
        text(&vb, "uid"),
        "each app has its own identity"
    );
    assert_eq!(vb.get("n"), Some(&Value::Int(1)), "B did not see A's count");
    let probe = upload(&n, &o, "probe", &[("main.lua", PROBE_MAIN)], true);
    let (st, v) = run(
        &n,
        "",
        &[("appid", s(&probe)), ("target", s(&text(&va, "mid")))],
        &[],
    );
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("app"), Some(&Value::Bool(false)), "{v:?}");
    assert_eq!(v.get("caller"), Some(&Value::Bool(false)), "{v:?}");
}

#[test]
fn a_client_calls_be_login_as_author_directly() {
    let n = TestNode::start();
    let o = owner(&n);
    for f in leither::scripts::backend::FUNCTIONS {
        for args in [vec![], vec![s(&o)], vec![s(""), s("k"), s("v")]] {
            let (st, v) = api(&n, f, &args);
            assert_eq!(st, 403, "{f}: {v:?}");
            assert_eq!(text(&v, "code"), "not_app_code", "{f}: {v:?}");
            assert!(
                text(&v, "error").contains("only an app's own running code"),
                "{f}: {v:?}"
            );
        }
    }
    // A plain script holds none of them, nor RunMApp.
    let (st, v) = api(
        &n,
        "RunScript",
        &[
            s(
                "local l = require('leither'); return {lapi == nil, l.BELoginAsAuthor == nil, \
               l.CreateSession == nil, l.RunMApp == nil, require('mimei').BEOpenAppDataNode == nil}",
            ),
            map(&[("sid", s(&o))]),
        ],
    );
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v, Value::List(vec![Value::Bool(true); 5]));
}

const SESS_PUT: &str = r#"
local sid = lapi.CreateSession()
lapi.SessionSet(sid, 'user', {name = request.name, n = 3, tags = {'a', 'b'}})
return sid
"#;
const SESS_GET: &str = "return lapi.SessionGet(request.ssid, 'user')";
const SESS_DEL: &str = r#"
lapi.SessionDelete(request.ssid, 'user')
local v = lapi.SessionGet(request.ssid, 'user')
lapi.ReleaseSession(request.ssid)
local ok, e = pcall(lapi.SessionGet, request.ssid, 'user')
return {v = v, gone = not ok, e = e}
"#;

#[test]
fn sessions_with_values_round_trip_and_stay_with_their_app() {
    let n = TestNode::start();
    let o = owner(&n);
    let files = [
        ("put.lua", SESS_PUT),
        ("get.lua", SESS_GET),
        ("del.lua", SESS_DEL),
    ];
    let aid = upload(&n, &o, "sess", &files, true);
    let other = upload(&n, &o, "sess2", &files, true);
    let (st, sid) = run(&n, "put", &[("appid", s(&aid)), ("name", s("ann"))], &[]);
    assert_eq!(st, 200, "{sid:?}");
    let sid = sid.as_str().unwrap().to_string();
    // A later run, by someone else, finds the values by the id.
    let (st, v) = run(&n, "get", &[("appid", s(&aid)), ("ssid", s(&sid))], &[]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(text(&v, "name"), "ann");
    assert_eq!(v.get("n"), Some(&Value::Int(3)));
    assert_eq!(v.get("tags"), Some(&Value::List(vec![s("a"), s("b")])));
    // Another app's code is told there is no such session of its own.
    let (st, v) = run(&n, "get", &[("appid", s(&other)), ("ssid", s(&sid))], &[]);
    assert_eq!(st, 404, "{v:?}");
    assert!(text(&v, "error").contains("no live session of that id made by this app"));
    let (st, v) = run(&n, "del", &[("appid", s(&aid)), ("ssid", s(&sid))], &[]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("v"), None, "deleted: {v:?}");
    assert_eq!(v.get("gone"), Some(&Value::Bool(true)), "{v:?}");
}

const SESS_FLOOD: &str = r#"
local sid = lapi.CreateSession()
local n, err = 0, nil
for i = 1, 1000 do
  local ok, e = pcall(lapi.SessionSet, sid, 'k' .. i, i)
  if not ok then err = e break end
  n = i
end
local okbig, ebig = pcall(lapi.SessionSet, sid, 'k1', string.rep('x', 70000))
local m, errs = 0, nil
for i = 1, 1000 do
  local ok, e = pcall(lapi.CreateSession)
  if not ok then errs = e break end
  m = i
end
return {keys = n, err = err, big = okbig, ebig = ebig, sessions = m, errs = errs}
"#;

#[test]
fn a_session_value_flood_stops_at_its_bound() {
    let n = TestNode::start();
    let o = owner(&n);
    let aid = upload(&n, &o, "flood", &[("main.lua", SESS_FLOOD)], true);
    let (st, v) = run(&n, "", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(v.get("keys"), Some(&Value::Int(64)), "{v:?}");
    assert!(text(&v, "err").contains("64 keys"), "{v:?}");
    assert_eq!(v.get("big"), Some(&Value::Bool(false)), "{v:?}");
    assert!(text(&v, "ebig").contains("at most 65536"), "{v:?}");
    assert_eq!(v.get("sessions"), Some(&Value::Int(255)), "{v:?}");
    assert!(text(&v, "errs").contains("256 backend sessions"), "{v:?}");
    // The next run's flood stops at once; the node answers.
    let (st, v) = run(&n, "", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 503, "{v:?}");
    let (st, _) = api(&n, "GetVar", &[s(""), s("ver")]);
    assert_eq!(st, 200);
}

#[test]
fn a_looping_or_allocating_entry_is_stopped_and_the_node_keeps_answering() {
    let n = TestNode::start_with(|home| {
        common::set_system_var(home, "LuaMaxTimeoutMs", Value::Int(2000));
    });
    let o = owner(&n);
    let aid = upload(
        &n,
        &o,
        "spin",
        &[
            ("loop.lua", "while true do end"),
            ("viamod.lua", "return require('spinmod')"),
            ("spinmod.lua", "local n = 0 while true do n = n + 1 end"),
            (
                "alloc.lua",
                "local t = {} for i = 1, 1e8 do t[i] = string.rep('y', 1024) .. i end return #t",
            ),
        ],
        true,
    );
    let url = n.url.clone();
    let body = format!("[\"loop\", {{\"appid\": \"{aid}\"}}, []]");
    let started = Instant::now();
    let looping = std::thread::spawn(move || {
        curl(&[
            "-X",
            "POST",
            "--data-binary",
            &body,
            &format!("{url}/api/RunMApp"),
        ])
    });
    let mut answered = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        let (st, _) = api(&n, "GetVar", &[s(""), s("ver")]);
        assert_eq!(st, 200);
        answered += 1;
    }
    let (st, body) = looping.join().unwrap();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(st, 500, "{body}");
    assert!(
        body.contains("LuaMaxTimeoutMs") || body.contains("LuaMaxInstructions"),
        "{body}"
    );
    assert!(
        answered >= 5,
        "the node answered {answered} times while the entry looped"
    );
    // The app's own module runs under the same meter.
    let (st, v) = run(&n, "viamod", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 500, "{v:?}");
    assert!(text(&v, "error").contains("LuaMax"), "{v:?}");
    let (st, v) = run(&n, "alloc", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 500, "{v:?}");
    assert!(text(&v, "error").contains("memory"), "{v:?}");
    let (st, _) = api(&n, "GetVar", &[s(""), s("ver")]);
    assert_eq!(st, 200);
}

#[test]
fn a_guest_calls_run_mapp_on_a_private_app() {
    let n = TestNode::start();
    let o = owner(&n);
    let aid = upload(&n, &o, "private", &[("main.lua", "return 'secret'")], false);
    let (st, v) = run(&n, "", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 403, "{v:?}");
    let (st, _) = curl(&[&format!("{}/entry?appid={aid}&entry=main", n.url)]);
    assert_eq!(st, 403);
    let user = common::admitted_key(&n.home);
    let u = login_key(&n, &user);
    let (st, v) = run(&n, "", &[("appid", s(&aid)), ("sid", s(&u))], &[]);
    assert_eq!(st, 403, "{v:?}");
    let (st, v) = run(&n, "", &[("appid", s(&aid)), ("sid", s(&o))], &[]);
    assert_eq!((st, v), (200, s("secret")));
    // An unknown session is refused, not served as a guest.
    let (st, v) = run(
        &n,
        "",
        &[("appid", s(&aid)), ("sid", s("nosuchsession"))],
        &[],
    );
    assert_eq!(st, 401, "{v:?}");
}

const AUTHOR_MAIN: &str = r#"
local a = lapi.BELoginAsAuthor()
local app = lapi.BELoginAsApp()
return {author = lapi.GetVar(a, 'userid'), rights = lapi.GetVar(a, 'userinfo').rights,
        asid = a, app = lapi.GetVar(app, 'userid'),
        ppt = lapi.BESignPPT({purpose = 'demo'}, 1), sig = lapi.BESign({x = '1'})}
"#;

#[test]
fn be_login_as_author_is_the_apps_author_for_the_run_and_a_signed_pass_is_never_the_owner() {
    let n = TestNode::start();
    let o = owner(&n);
    let (_, host) = api(&n, "GetVar", &[s(""), s("hostid")]);
    let host = host.as_str().unwrap().to_string();
    // A user's app: its author is the user, with a user's rights.
    let user = common::admitted_key(&n.home);
    let u = login_key(&n, &user);
    let aid = upload(&n, &u, "mine", &[("main.lua", AUTHOR_MAIN)], true);
    let (st, v) = run(&n, "", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(text(&v, "author"), user.id().to_string());
    assert_eq!(text(&v, "rights"), "user");
    let app_id = text(&v, "app");
    assert!(app_id != host && app_id != user.id().to_string() && !app_id.is_empty());
    // The author's session ended with the run.
    let (st, _) = api(&n, "GetVar", &[s(&text(&v, "asid")), s("userid")]);
    assert_eq!(st, 401);
    // Passes the app signs log in as its signer: a stranger, not the owner, not the app.
    for key in ["ppt", "sig"] {
        let (st, checked) = api(&n, "VerifyPPT", &[s(&text(&v, key))]);
        assert_eq!(st, 200, "{checked:?}");
        assert_eq!(text(&checked, "signer"), {
            let p = Pass::parse(&text(&v, key)).unwrap();
            p.signer_id().to_string()
        });
        let (st, l) = api(&n, "Login", &[s(&text(&v, key))]);
        assert_eq!(st, 200, "{l:?}");
        let sid = text(&l, "sid");
        let (_, info) = api(&n, "GetVar", &[s(&sid), s("userinfo")]);
        assert_eq!(text(&info, "rights"), "visitor", "{key}: {info:?}");
        let uid = text(&info, "uid");
        assert!(uid != host && uid != app_id, "{key}: {uid}");
    }
    // Once someone else may write the app, its code may not log in as the author.
    let other = NodeKey::generate().unwrap();
    let (st, r) = api(
        &n,
        "MMSetRight",
        &[s(&u), s(&aid), s(&other.id().to_string()), s("read,write")],
    );
    assert_eq!(st, 200, "{r:?}");
    let (st, v) = run(&n, "", &[("appid", s(&aid))], &[]);
    assert_eq!(st, 409, "{v:?}");
    assert!(text(&v, "error").contains("can be written by"), "{v:?}");

    // The owner's app runs as the owner's: the owner made it.
    let mine = upload(&n, &o, "owned", &[("main.lua", AUTHOR_MAIN)], true);
    let (st, v) = run(&n, "", &[("appid", s(&mine))], &[]);
    assert_eq!(st, 200, "{v:?}");
    assert_eq!(
        (text(&v, "author"), text(&v, "rights")),
        (host, "owner".into())
    );
}
