//! Leither's backend API for one run of an app's entry (docs/apps.md): the global `lapi`
//! (also `require('lapi')`), which holds every API function as the `leither` module does,
//! Leither's backend functions (`BELoginAsAuthor`, `BELoginAsApp`, `BEOpenAppDataNode`,
//! `BEOpenAppDataApp`, `BEMMSync`, `BESignPPT`, `BESign`), its sessions with values
//! (`CreateSession`, `SessionSet`, `SessionGet`, `SessionDelete`, `ReleaseSession`),
//! `GetArgs()`, `GetRequest()` and its log functions (`Trace`, `Debug`, `Info`, `Warn`,
//! `Error`, `Critical`, Go's verbs). `require` also finds the app's own Lua files.
//!
//! The app is fixed when the run starts (the app whose file is running), held here on the
//! Rust side: no argument names it, so code cannot claim to be another app. The backend
//! functions are not reachable over the plain API (its rows refuse, `api::fns_backend`).
//!
//! Sessions opened for the run (`BELoginAsAuthor`, `BELoginAsApp`) and the data handles
//! (`BEOpenAppData*`) end with the run ([`Backend::finish`]): a session id an app hands out
//! is dead once its answer leaves.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use mlua::{Lua, MultiValue, Value as LuaValue};

use super::app::{App, AppKey, entry_path, key, rights_of};
use super::app_data::{Kind, ensure};
use super::sessions::SessionError;
use crate::api::{ApiError, NodeState, Value};
use crate::lua::convert::to_lua;
use crate::lua::leither_modules::{
    LastError, WRAP, api_function, api_module, functions_of, go_format, show,
};
use crate::lua::meter::Running;
use crate::mimei::MimeiId;
use crate::pki::Pass;

/// The backend functions a run of app code holds; over the plain API they are refused.
pub const FUNCTIONS: &[&str] = &[
    "BELoginAsAuthor",
    "BELoginAsApp",
    "BEOpenAppDataNode",
    "BEOpenAppDataApp",
    "BEMMSync",
    "BESignPPT",
    "BESign",
    "CreateSession",
    "SessionSet",
    "SessionGet",
    "SessionDelete",
    "ReleaseSession",
];

/// Most of the app's own Lua files one run loads with `require`.
pub const MAX_MODULES: usize = 32;

/// `require` in an app's run: `lapi`, then Leither's modules, then a Lua file of the app itself
/// (`require('lib.util')` or `require('lib/util')` is `lib/util.lua` of the version running),
/// run once per name in the run (loaded on the running coroutine, so metered like the rest).
const REQUIRE: &str = r#"
local inner, lapi, appfile = ...
local loaded, load, pcall, error, tostring, type = {}, load, pcall, error, tostring, type
return function(name)
  if name == 'lapi' or name == 'backend' then return lapi end
  if type(name) ~= 'string' then error('require: a module name is a string', 2) end
  local key = name:gsub('%.lua$', ''):gsub('/', '.')
  local v = loaded[key]
  if v ~= nil then return v end
  local ok, m = pcall(inner, name)
  if ok then return m end
  local src, path = appfile(name)
  if not src then
    error(tostring(m) .. '; nor is it a Lua file of the app (' .. tostring(path) .. ')', 2)
  end
  local f, err = load(src, '=' .. path, 't')
  if not f then error(err, 2) end
  v = f(name)
  if v == nil then v = true end
  loaded[key] = v
  return v
end
"#;

/// Longest a pass `BESignPPT` signs lasts, in hours (as `SignPPT`).
pub const MAX_PPT_HOURS: i64 = 24 * 30;
/// Most entries of `info` (`BESignPPT`, `BESign`).
pub const MAX_INFO: usize = 32;

/// A data Mimei opened in a run: its kind, version and mark.
type Opened = (Kind, String, String);

/// One run's backend: the app, its arguments, and what the run opened.
pub struct Backend {
    node: Weak<NodeState>,
    aid: MimeiId,
    app: App,
    args: Vec<Value>,
    request: Vec<(String, Value)>,
    hard_end: u64,
    app_sid: RefCell<Option<String>>,
    author_sid: RefCell<Option<String>>,
    handles: RefCell<Vec<String>>,
    /// The mmsid of each data Mimei opened in this run, by (kind, ver, mark).
    opened: RefCell<Vec<(Opened, String)>>,
}

fn bad(function: &'static str, message: String) -> ApiError {
    ApiError::BadArguments { function, message }
}

fn str_at<'a>(
    f: &'static str,
    args: &'a [Value],
    i: usize,
    what: &str,
) -> Result<&'a str, ApiError> {
    match args.get(i) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::Str(s)) => Ok(s),
        Some(v) => Err(bad(
            f,
            format!(
                "argument {} ({what}) must be a string, got {}",
                i + 1,
                v.kind()
            ),
        )),
    }
}

fn session_err(function: &'static str, e: SessionError) -> ApiError {
    match e {
        SessionError::Unknown => ApiError::NotFound(format!(
            "{function}: no live session of that id made by this app (a session ends an hour \
             after its last use, at ReleaseSession, or at a restart)"
        )),
        SessionError::Bound(m) => ApiError::Busy(format!("{function}: {m}")),
        SessionError::Bad(m) => bad(function, m),
    }
}

/// `info` as a pass's data: a map of at most [`MAX_INFO`] entries; values that are not
/// strings are written as JSON.
fn info_arg(function: &'static str, args: &[Value]) -> Result<Vec<(String, String)>, ApiError> {
    let m = match args.first() {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Map(m)) => m,
        Some(Value::List(l)) if l.is_empty() => return Ok(Vec::new()),
        Some(v) => {
            return Err(bad(
                function,
                format!("argument 1 (info) must be a map, got {}", v.kind()),
            ));
        }
    };
    if m.len() > MAX_INFO {
        return Err(bad(
            function,
            format!("info has {} entries; at most {MAX_INFO}", m.len()),
        ));
    }
    Ok(m.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Str(s) => s.clone(),
                other => {
                    let mut s = String::new();
                    crate::api::json::encode(other, &mut s);
                    s
                }
            };
            (k.clone(), v)
        })
        .collect())
}

impl Backend {
    /// The backend of a run of app `aid`'s code, with Leither's `args` and `request`; the
    /// sessions it opens end by `hard_end` (unix seconds) at the latest.
    pub fn new(
        state: &NodeState,
        app: App,
        args: Vec<Value>,
        request: Vec<(String, Value)>,
        hard_end: u64,
    ) -> Backend {
        Backend {
            node: state.lever.node_weak(),
            aid: app.aid,
            app,
            args,
            request,
            hard_end,
            app_sid: RefCell::default(),
            author_sid: RefCell::default(),
            handles: RefCell::default(),
            opened: RefCell::default(),
        }
    }

    fn open_session(&self, state: &NodeState, uid: &str) -> Result<String, ApiError> {
        let rights = rights_of(state, uid)?;
        let now = crate::clock::unix_now();
        let s = state
            .sessions
            .borrow_mut()
            .open(uid, rights, self.hard_end, now)?;
        Ok(s.sid)
    }

    /// `BELoginAsApp()`: a session whose user is the app's identity (a visitor of this node
    /// that holds the app's data Mimeis).
    pub fn login_as_app(&self, state: &NodeState) -> Result<String, ApiError> {
        if let Some(s) = self.app_sid.borrow().clone() {
            return Ok(s);
        }
        let id = key(state, &self.aid, AppKey::Identity)?.id().to_string();
        let sid = self.open_session(state, &id)?;
        *self.app_sid.borrow_mut() = Some(sid.clone());
        Ok(sid)
    }

    /// `BELoginAsAuthor()`: a session as the app's author ([`super::app::author`]).
    pub fn login_as_author(&self, state: &NodeState) -> Result<String, ApiError> {
        if let Some(s) = self.author_sid.borrow().clone() {
            return Ok(s);
        }
        let author = super::app::author(state, &self.aid)?;
        let sid = self.open_session(state, &author)?;
        *self.author_sid.borrow_mut() = Some(sid.clone());
        Ok(sid)
    }

    /// `BEOpenAppDataNode(ver, mark)` / `BEOpenAppDataApp(ver, mark)`: an mmsid of the app's
    /// data Mimei, opened by the app's identity; `ver` "" is `cur`.
    pub async fn open_data(
        &self,
        state: &NodeState,
        kind: Kind,
        args: &[Value],
    ) -> Result<Value, ApiError> {
        let f = match kind {
            Kind::Node => "BEOpenAppDataNode",
            Kind::App => "BEOpenAppDataApp",
        };
        if args.len() > 2 {
            return Err(bad(
                f,
                format!("takes (ver, mark), got {} arguments", args.len()),
            ));
        }
        let ver = str_at(f, args, 0, "ver")?;
        let ver = if ver.is_empty() { "cur" } else { ver };
        let mark = str_at(f, args, 1, "mark")?;
        let at = (kind, ver.to_string(), mark.to_string());
        if let Some((_, h)) = self.opened.borrow().iter().find(|(k, _)| *k == at) {
            return Ok(Value::Str(h.clone()));
        }
        let identity = key(state, &self.aid, AppKey::Identity)?;
        let mid = ensure(state, &identity, &self.aid, kind, mark)?;
        let sid = self.login_as_app(state)?;
        let h = crate::api::call(
            state,
            "MMOpen",
            vec![
                Value::Str(sid),
                Value::Str(mid.to_string()),
                Value::from(ver),
            ],
        )
        .await?;
        if let Some(s) = h.as_str() {
            self.handles.borrow_mut().push(s.to_string());
            self.opened.borrow_mut().push((at, s.to_string()));
        }
        Ok(h)
    }

    /// `BEMMSync(dhts, mid, param)`: `MiMeiSync` with the author's session.
    pub async fn mm_sync(&self, state: &NodeState, args: &[Value]) -> Result<Value, ApiError> {
        if args.len() > 3 {
            return Err(bad(
                "BEMMSync",
                format!("takes (dhts, mid, param), got {} arguments", args.len()),
            ));
        }
        let sid = self.login_as_author(state)?;
        let mut a = vec![Value::Str(sid)];
        a.extend(args.iter().cloned());
        crate::api::call(state, "MiMeiSync", a).await?;
        Ok(Value::Null)
    }

    /// `BESignPPT(info, period)`: a pass over `info`, signed by the app's signer, for
    /// `period` hours (1 to [`MAX_PPT_HOURS`]).
    pub fn sign_ppt(&self, state: &NodeState, args: &[Value]) -> Result<Value, ApiError> {
        let f = "BESignPPT";
        let info = info_arg(f, args)?;
        let hours = args
            .get(1)
            .and_then(Value::as_i64)
            .filter(|h| (1..=MAX_PPT_HOURS).contains(h))
            .ok_or_else(|| {
                bad(
                    f,
                    format!("argument 2 (period) is a number of hours from 1 to {MAX_PPT_HOURS}"),
                )
            })?;
        let signer = key(state, &self.aid, AppKey::Signer)?;
        let pass = Pass::sign(&signer, info, crate::clock::unix_now(), hours as u64 * 3600)?;
        Ok(Value::Str(pass.to_text()))
    }

    /// `BESign(info)`: `info` signed by the app's signer, in the pass's form (`VerifyPPT`
    /// checks it), valid for as long as a pass may be.
    pub fn sign(&self, state: &NodeState, args: &[Value]) -> Result<Value, ApiError> {
        let info = info_arg("BESign", args)?;
        let signer = key(state, &self.aid, AppKey::Signer)?;
        let pass = Pass::sign(
            &signer,
            info,
            crate::clock::unix_now(),
            crate::pki::ppt::MAX_PERIOD_SECS,
        )?;
        Ok(Value::Str(pass.to_text()))
    }

    fn sessions(
        &self,
        state: &NodeState,
        f: &'static str,
        args: &[Value],
    ) -> Result<Value, ApiError> {
        let now = crate::clock::unix_now();
        let app = self.aid.to_string();
        let mut t = state.scripts.sessions.borrow_mut();
        let sid = || str_at(f, args, 0, "sid");
        let k = || str_at(f, args, 1, "key");
        let r = match f {
            "CreateSession" => t.create(&app, now).map(Value::Str),
            "SessionSet" => {
                let v = args.get(2).cloned().unwrap_or(Value::Null);
                t.set(&app, sid()?, k()?, v, now).map(|_| Value::Null)
            }
            "SessionGet" => t.get(&app, sid()?, k()?, now),
            "SessionDelete" => t.delete(&app, sid()?, k()?, now).map(|_| Value::Null),
            _ => t.release(&app, sid()?, now).map(|_| Value::Null),
        };
        r.map_err(|e| session_err(f, e))
    }

    /// Ends what the run opened: its sessions and data handles. (A run whose future is
    /// dropped, its caller gone, ends its sessions in `Drop`; the handles die with them.)
    pub async fn finish(&self, state: &NodeState) {
        let handles: Vec<String> = self.handles.borrow_mut().drain(..).collect();
        for h in handles {
            let _ = crate::api::call(state, "MMClose", vec![Value::Str(h)]).await;
        }
        for s in [self.app_sid.take(), self.author_sid.take()]
            .into_iter()
            .flatten()
        {
            state.sessions.borrow_mut().close(&s);
        }
    }

    async fn dispatch(
        &self,
        state: &NodeState,
        f: &'static str,
        args: Vec<Value>,
    ) -> Result<Value, ApiError> {
        match f {
            "BELoginAsAuthor" => self.login_as_author(state).map(Value::Str),
            "BELoginAsApp" => self.login_as_app(state).map(Value::Str),
            "BEOpenAppDataNode" => self.open_data(state, Kind::Node, &args).await,
            "BEOpenAppDataApp" => self.open_data(state, Kind::App, &args).await,
            "BEMMSync" => self.mm_sync(state, &args).await,
            "BESignPPT" => self.sign_ppt(state, &args),
            "BESign" => self.sign(state, &args),
            "GetArgs" => Ok(Value::List(self.args.clone())),
            "GetRequest" => Ok(Value::Map(self.request.clone())),
            other => self.sessions(state, other, &args),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let Some(state) = self.node.upgrade() else {
            return;
        };
        if let Ok(mut t) = state.sessions.try_borrow_mut() {
            for s in [self.app_sid.take(), self.author_sid.take()]
                .into_iter()
                .flatten()
            {
                t.close(&s);
            }
        }
    }
}

/// Installs `lapi` for a run of `backend`'s app: the global, and `require('lapi')`.
pub fn install(
    lua: &Lua,
    backend: Rc<Backend>,
    node: Weak<NodeState>,
    running: Running,
    log: Rc<dyn Fn(&str)>,
    last: LastError,
) -> mlua::Result<()> {
    let fns = functions_of("leither").unwrap_or_default();
    let t = api_module(lua, &fns, node.clone(), running.clone(), last.clone())?;
    let wrap: mlua::Function = lua.load(WRAP).set_name("=lapi").into_function()?;
    for name in FUNCTIONS.iter().chain(["GetArgs", "GetRequest"].iter()) {
        let name: &'static str = name;
        let b = backend.clone();
        let raw = api_function(
            lua,
            name,
            "the backend API is reachable only while the app's code runs",
            node.clone(),
            running.clone(),
            last.clone(),
            move |state, name, vals| {
                let b = b.clone();
                async move { b.dispatch(&state, name, vals).await }
            },
        )?;
        let f: mlua::Function = wrap.call(raw)?;
        t.raw_set(name, f)?;
    }
    for (name, level) in [
        ("Trace", "trace"),
        ("Debug", "debug"),
        ("Info", "info"),
        ("Warn", "warn"),
        ("Error", "error"),
        ("Critical", "critical"),
    ] {
        let log = log.clone();
        let f = lua.create_function(move |_, args: MultiValue| {
            let args: Vec<LuaValue> = args.into_iter().collect();
            let text = match args.split_first() {
                Some((LuaValue::String(f), rest)) => go_format(&f.to_string_lossy(), rest),
                _ => args.iter().map(show).collect::<Vec<_>>().join(" "),
            };
            log(&format!("[{level}] {text}"));
            Ok(())
        })?;
        t.raw_set(name, f)?;
    }
    lua.globals().raw_set("lapi", &t)?;
    let args = to_lua(lua, &Value::List(backend.args.clone()))?;
    lua.globals().raw_set("args", args)?;
    let inner: mlua::Function = lua.globals().raw_get("require")?;
    let count = std::cell::Cell::new(0usize);
    let b = backend.clone();
    let appfile = lua.create_function(move |lua, name: String| {
        let stem = name.strip_suffix(".lua").unwrap_or(&name).replace('.', "/");
        let nothing = |why: String| Ok((LuaValue::Nil, LuaValue::String(lua.create_string(why)?)));
        let Some(path) = entry_path(&stem).filter(|_| !stem.is_empty()) else {
            return nothing("not a path of letters, digits, _ - . and /".into());
        };
        if count.get() >= MAX_MODULES {
            return nothing(format!(
                "a run loads at most {MAX_MODULES} of the app's files"
            ));
        }
        let Some(state) = b.node.upgrade() else {
            return nothing("the node is stopping".into());
        };
        match b.app.read_file(&state, &path, super::MAX_SCRIPT_BYTES) {
            Ok(Some(bytes)) => {
                count.set(count.get() + 1);
                let src = lua.create_string(&bytes)?;
                Ok((
                    LuaValue::String(src),
                    LuaValue::String(lua.create_string(&path)?),
                ))
            }
            Ok(None) => nothing(format!("{path}: no such file")),
            Err(e) => nothing(format!("{path}: {e}")),
        }
    })?;
    let require: mlua::Function = lua
        .load(REQUIRE)
        .set_name("=require")
        .into_function()?
        .call((inner, t, appfile))?;
    lua.globals().raw_set("require", require)
}
