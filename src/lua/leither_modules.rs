//! The modules a Leither script reaches with `require` (docs/scripts.md): the API table's
//! functions under Leither's module names, called as Leither's scripts call them.
//!
//! Unlike the service bindings of [`super::bindings`], a function here takes every argument
//! the API takes, the session id included: `var.GetVar(request.sid, 'ver')`,
//! `mimei.MMSetRight(request.sid, 'mmroot', '', 0x07276707)`, `auth.Register('lsb', '123456')`.
//! The call goes to the one dispatcher as a door's call does ([`crate::api::call_at_door`]):
//! the session named is checked for the function's rights, quotas and rates apply, and the
//! caller's address (when the script runs for a connection) is the one the door saw. An API
//! error is raised as a Lua error carrying the API's message, which `pcall` catches.
//!
//! Modules: `auth` (the accounts and passes: `Login`, `Register`, `SignPPT`,
//! `RequestService`, `AddUser`, ..., `VerifyPPT`, and the nodes' `Invite`, `Accept`, `AddNode`,
//! `NLogin`, ...), `var` (`GetVar`, `GetVarByContext`,
//! `GetGobVar`, `Act`, `Echo`), `mimei` (`MM*`, `MF*`, `MiMeiList`, `MiMeiIsProvider` and the
//! database functions), `ipfs` (`Ipfs*`, `Files*`, `RepoGc`), `net` (`Swarm*`, `Dht*`,
//! `MiMeiPublish`, `MiMeiSync`, ...), `dnn`, `lever` (`LeverDeploy`, ...: the API functions,
//! not a service's `lever` module), `task` (`RegisterScript`, `ScriptList`, `ScriptDel`,
//! `TaskRunInBackground`, `TaskList`, `TaskCancel`), `leither` (all of these in one table), `log` (Leither's
//! `Debug`, `Info`, `Warn`, `Error` with Go format verbs, and lower-case aliases) and `json`.
//! `RunScript`, `RunByScriptID` and `RunMApp` are not reachable from a script: a script does
//! not start scripts or apps. Leither's backend functions (`BE*`, the sessions with values)
//! are in no module: an app's running code holds them in `lapi` ([`crate::scripts::backend`]).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use super::bindings::{args_from_lua, json_module};
use super::convert::{from_lua, to_lua};
use super::meter::{Running, current};
use crate::api::{ApiError, ApiFn, NodeState, table};

/// The last API error raised in a script, with its message: when the script does not catch
/// it, the run answers that error (its status and code) rather than a Lua error.
pub type LastError = Rc<RefCell<Option<(String, ApiError)>>>;

/// The modules `require` knows.
pub const MODULES: &[&str] = &[
    "auth", "var", "mimei", "ipfs", "net", "dnn", "lever", "task", "leither", "log", "json",
];

/// Functions never bound (a script does not start scripts or apps). The backend functions
/// (`BE*`, the sessions) are bound only in an app's run, by [`crate::scripts::backend`].
const NOT_BOUND: &[&str] = &["RunScript", "RunByScriptID", "RunMApp"];

/// Whether `name` is left out of the modules ([`NOT_BOUND`] and the backend functions).
fn not_bound(name: &str) -> bool {
    NOT_BOUND.contains(&name) || crate::scripts::backend::FUNCTIONS.contains(&name)
}

/// Most log lines one script writes; the rest are counted and dropped.
pub const MAX_LOG_LINES: u32 = 200;
/// Longest log line kept, in bytes.
pub const MAX_LOG_LINE: usize = 2000;

fn runtime(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

fn named(names: &[&str]) -> Vec<&'static ApiFn> {
    names.iter().filter_map(|n| crate::api::lookup(n)).collect()
}

/// The API functions of module `module`, or `None` for an API module that does not exist.
pub fn functions_of(module: &str) -> Option<Vec<&'static ApiFn>> {
    let mut v: Vec<&'static ApiFn> = match module {
        "auth" => {
            // Nodes admitting each other (Invite, Accept, AddNode, NLogin, ...) are admissions
            // too, so they sit with the accounts.
            let mut v: Vec<_> = table::auth::FNS
                .iter()
                .chain(table::trust::FNS.iter())
                .collect();
            v.extend(named(&["VerifyPPT"]));
            v
        }
        "var" => {
            let mut v: Vec<_> = table::var::FNS.iter().collect();
            v.extend(named(&["Echo"]));
            v
        }
        "mimei" => table::mimei::FNS
            .iter()
            .chain(table::db::FNS.iter())
            .collect(),
        "ipfs" => table::files::FNS.iter().collect(),
        #[cfg(feature = "net")]
        "net" => table::net::FNS.iter().collect(),
        #[cfg(not(feature = "net"))]
        "net" => Vec::new(),
        "dnn" => table::dnn::FNS.iter().collect(),
        "lever" => table::lever::FNS.iter().collect(),
        "task" => table::script::FNS.iter().collect(),
        "leither" => table::all().collect(),
        _ => return None,
    };
    v.retain(|f| !not_bound(f.name));
    Some(v)
}

/// Installs `require` for a script: each module's table is made on first use and kept.
pub fn install_require(
    lua: &Lua,
    node: Weak<NodeState>,
    running: Running,
    log: Rc<dyn Fn(&str)>,
    last: LastError,
) -> mlua::Result<()> {
    let loaded = lua.create_table()?;
    let require = lua.create_function(move |lua, name: String| {
        if let Ok(LuaValue::Table(t)) = loaded.raw_get::<LuaValue>(name.as_str()) {
            return Ok(t);
        }
        let t = match name.as_str() {
            "log" => log_module(lua, log.clone())?,
            "json" => json_module(lua)?,
            other => match functions_of(other) {
                Some(fns) => api_module(lua, &fns, node.clone(), running.clone(), last.clone())?,
                None => {
                    return Err(runtime(format!(
                        "require: no module {:?} in a script; the modules are {} (docs/scripts.md)",
                        crate::api::truncate(other, 40),
                        MODULES.join(", ")
                    )));
                }
            },
        };
        loaded.raw_set(name.as_str(), &t)?;
        Ok(t)
    })?;
    lua.globals().raw_set("require", require)
}

/// Wraps a binding that answers `(true, value)` or `(false, message)` so that a failure is
/// a Lua error whose value is the message string, at the caller's position, as Lua's own
/// functions raise them (a script's `pcall` gets text, not a host object).
pub(crate) const WRAP: &str = r#"
local raw = ...
local pack, unpack, error = table.pack, table.unpack, error
return function(...)
  local r = pack(raw(...))
  if not r[1] then error(r[2], 2) end
  return unpack(r, 2, r.n)
end
"#;

pub(crate) fn api_module(
    lua: &Lua,
    fns: &[&'static ApiFn],
    node: Weak<NodeState>,
    running: Running,
    last: LastError,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let wrap = lua.load(WRAP).set_name("=api");
    let wrap = wrap.into_function()?;
    for entry in fns {
        let name = entry.name;
        let raw = api_function(
            lua,
            name,
            "the API is reachable only while the script runs",
            node.clone(),
            running.clone(),
            last.clone(),
            |state, name, vals| async move { crate::api::call_at_door(&state, name, vals).await },
        )?;
        let f: mlua::Function = wrap.call(raw)?;
        t.raw_set(name, f)?;
    }
    Ok(t)
}

/// One Lua function of a module, before [`WRAP`]: returns `true, value` or `false, message`
/// (keeping the error in `last`). It refuses once the node stops or outside the run that made
/// it (`off_run`: why, after the function's name), turns the Lua arguments into API values, and
/// answers with `call(state, name, args)`.
pub(crate) fn api_function<F, Fut>(
    lua: &Lua,
    name: &'static str,
    off_run: &'static str,
    node: Weak<NodeState>,
    running: Running,
    last: LastError,
    call: F,
) -> mlua::Result<mlua::Function>
where
    F: Fn(Rc<NodeState>, &'static str, Vec<crate::api::Value>) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Result<crate::api::Value, ApiError>> + 'static,
{
    lua.create_async_function(move |lua, args: MultiValue| {
        let live = current(&running).is_some();
        let last = last.clone();
        let state = node.upgrade();
        let vals = args_from_lua(name, &args);
        let call = call.clone();
        async move {
            let fail = |m: String| Ok((false, LuaValue::String(lua.create_string(m)?)));
            let Some(state) = state else {
                return fail("the node is stopping".into());
            };
            if !live {
                return fail(format!("{name}: {off_run}"));
            }
            let vals = match vals {
                Ok(v) => v,
                Err(e) => return fail(crate::lever::instance::lua_message(&e)),
            };
            match call(state, name, vals).await {
                Ok(v) => Ok((true, to_lua(&lua, &v)?)),
                Err(e) => {
                    let m = e.to_string();
                    *last.borrow_mut() = Some((m.clone(), e));
                    fail(m)
                }
            }
        }
    })
}

/// One value as Go's `%v` prints it, near enough: strings bare, nil as `<nil>`, tables as
/// JSON.
pub fn show(v: &LuaValue) -> String {
    match v {
        LuaValue::Nil => "<nil>".to_string(),
        LuaValue::String(s) => s.to_string_lossy(),
        LuaValue::Table(_) => match from_lua(v) {
            Ok(val) => {
                let mut s = String::new();
                crate::api::json::encode(&val, &mut s);
                s
            }
            Err(_) => "table".to_string(),
        },
        other => other
            .to_string()
            .unwrap_or_else(|_| other.type_name().to_string()),
    }
}

/// Go's `fmt.Sprintf` for the verbs scripts use (`%v %s %d %q %x %t %f %%`, flags ignored);
/// missing arguments print `%!v(MISSING)`, extra ones are appended.
pub fn go_format(fmt: &str, args: &[LuaValue]) -> String {
    let mut out = String::with_capacity(fmt.len());
    let mut next = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Skip flags, width and precision.
        while let Some(&f) = chars.peek() {
            if "+-# 0123456789.".contains(f) {
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match next.next() {
            None => out.push_str(&format!("%!{verb}(MISSING)")),
            Some(v) => match (verb, v) {
                ('q', _) => out.push_str(&format!("{:?}", show(v))),
                ('x', LuaValue::Integer(i)) => out.push_str(&format!("{i:x}")),
                ('x', LuaValue::String(s)) => {
                    for b in s.as_bytes().iter() {
                        out.push_str(&format!("{b:02x}"));
                    }
                }
                _ => out.push_str(&show(v)),
            },
        }
    }
    let extra: Vec<String> = next.map(show).collect();
    if !extra.is_empty() {
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

/// `log` bounded: at most [`MAX_LOG_LINES`] lines of [`MAX_LOG_LINE`] bytes go to `inner`
/// (a script's `print` and `log` lines share it).
pub fn bounded_log(inner: impl Fn(&str) + 'static) -> Rc<dyn Fn(&str)> {
    let lines = Cell::new(0u32);
    Rc::new(move |line: &str| {
        let n = lines.get();
        lines.set(n.saturating_add(1));
        if n < MAX_LOG_LINES {
            inner(&crate::api::truncate(line, MAX_LOG_LINE));
        } else if n == MAX_LOG_LINES {
            inner(&format!(
                "[warn] more than {MAX_LOG_LINES} log lines: the rest are dropped"
            ));
        }
    })
}

/// `log`: `Debug(fmt, ...)`, `Info`, `Warn`, `Error` (Go verbs, as Leither's), and `debug`,
/// `info`, `warn`, `error` taking values like `print`.
fn log_module(lua: &Lua, log: Rc<dyn Fn(&str)>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (name, level, formatted) in [
        ("Debug", "debug", true),
        ("Info", "info", true),
        ("Warn", "warn", true),
        ("Error", "error", true),
        ("debug", "debug", false),
        ("info", "info", false),
        ("warn", "warn", false),
        ("error", "error", false),
    ] {
        let log = log.clone();
        let f = lua.create_function(move |_, args: MultiValue| {
            let args: Vec<LuaValue> = args.into_iter().collect();
            let text = if formatted {
                match args.split_first() {
                    Some((LuaValue::String(f), rest)) => go_format(&f.to_string_lossy(), rest),
                    _ => args.iter().map(show).collect::<Vec<_>>().join(" "),
                }
            } else {
                args.iter().map(show).collect::<Vec<_>>().join("\t")
            };
            log(&format!("[{level}] {text}"));
            Ok(())
        })?;
        t.raw_set(name, f)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_but_the_runners_is_in_a_module() {
        let named: Vec<&str> = [
            "auth", "var", "mimei", "ipfs", "net", "dnn", "lever", "task",
        ]
        .iter()
        .flat_map(|m| functions_of(m).unwrap_or_default())
        .map(|f| f.name)
        .collect();
        for f in table::all() {
            if not_bound(f.name) {
                assert!(!named.contains(&f.name), "{}", f.name);
            } else {
                assert!(
                    named.iter().filter(|n| **n == f.name).count() == 1,
                    "{} is in no module or in two",
                    f.name
                );
            }
        }
        assert!(functions_of("os").is_none());
    }

    #[test]
    fn go_verbs() {
        let lua = Lua::new();
        let s = lua.create_string("x").unwrap();
        assert_eq!(
            go_format(
                "a=%v b=%d c=%s %% %q",
                &[
                    LuaValue::Integer(1),
                    LuaValue::Integer(2),
                    LuaValue::String(s.clone()),
                    LuaValue::String(s)
                ]
            ),
            "a=1 b=2 c=x % \"x\""
        );
        assert_eq!(go_format("%v %v", &[LuaValue::Nil]), "<nil> %!v(MISSING)");
        assert_eq!(
            go_format("n", &[LuaValue::Boolean(true)]),
            "n%!(EXTRA true)"
        );
    }
}
