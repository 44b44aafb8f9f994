//! The modules app code gets from `require`, bound to the one API table.
//!
//! Leither's module names: `auth` (`Login`, `Logout`, `VerifyPPT`), `var` (`GetVar`), `ipfs`
//! (`Ipfs*`, `Files*`, `RepoGc`), `mimei` (`MM*`, `MF*` and the database functions), `net`
//! (the network functions: `MiMei*`, `Swarm*`, `Dht*`). Each function keeps its API name
//! and argument order, except that the session argument is not passed: the binding inserts
//! the caller's session, so code acts with the rights of whoever called it and never more.
//! Results come back as Lua values; an API error is raised as a Lua error carrying the API's
//! message (catch it with `pcall`). Every binding is a coroutine-aware async function: a
//! handler waiting on the API yields and the node keeps serving.
//!
//! Also here: `json` (`encode`, `decode`, `null`) and `log` (`debug`, `info`, `warn`,
//! `error`, writing to the service's log).

use std::rc::{Rc, Weak};

use mlua::{Lua, MultiValue, Table};

use super::convert::{from_lua, to_lua};
use super::meter::{Running, current};
use crate::api::json::{JsonLimits, decode, encode};
use crate::api::{Access, NodeState, Value, table};

/// The built-in modules bound to the API table.
pub const API_MODULES: &[&str] = &["auth", "var", "ipfs", "mimei", "net"];

/// The module an API function belongs to, if any.
pub fn module_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "Login" | "Logout" | "VerifyPPT" => "auth",
        "GetVar" | "SetVar" | "GetVarByContext" | "GetGobVar" | "Act" => "var",
        "RepoGc" => "ipfs",
        "Echo" => return None,
        n if n.starts_with("Ipfs") || n.starts_with("Files") => "ipfs",
        n if n.starts_with("MiMei") || n.starts_with("Swarm") || n.starts_with("Dht") => "net",
        _ => "mimei",
    })
}

fn runtime(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

/// Calls API function `name` from Lua with the running call's session.
pub async fn call_api(
    state: &NodeState,
    sid: &str,
    name: &'static str,
    access: Access,
    mut args: Vec<Value>,
) -> Result<Value, String> {
    if let Access::Session(_) = access {
        args.insert(0, Value::Str(sid.to_string()));
    }
    crate::api::call(state, name, args)
        .await
        .map_err(|e| e.to_string())
}

/// Converts Lua arguments for the API, naming the function on failure.
pub fn args_from_lua(function: &str, args: &MultiValue) -> Result<Vec<Value>, mlua::Error> {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            from_lua(a).map_err(|e| runtime(format!("{function}: argument {}: {e}", i + 1)))
        })
        .collect()
}

/// The table of API module `module`.
pub fn api_module(
    lua: &Lua,
    module: &str,
    state: Weak<NodeState>,
    running: Running,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for entry in table::all().filter(|f| module_of(f.name) == Some(module)) {
        let state = state.clone();
        let running = running.clone();
        let name = entry.name;
        let access = entry.access;
        let f = lua.create_async_function(move |lua, args: MultiValue| {
            let ctx = current(&running);
            let state = state.upgrade();
            let vals = args_from_lua(name, &args);
            async move {
                let state: Rc<NodeState> = state.ok_or_else(|| runtime("the node is stopping"))?;
                let ctx = ctx.ok_or_else(|| {
                    runtime(format!(
                        "{name}: the API is reachable only while a call runs"
                    ))
                })?;
                let v = call_api(&state, &ctx.sid, name, access, vals?)
                    .await
                    .map_err(runtime)?;
                to_lua(&lua, &v)
            }
        })?;
        t.raw_set(name, f)?;
    }
    Ok(t)
}

/// The `json` module: `encode(v)`, `decode(s)`, `null`.
pub fn json_module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "encode",
        lua.create_function(|_, v: mlua::Value| {
            let v = from_lua(&v).map_err(|e| runtime(format!("json.encode: {e}")))?;
            let mut s = String::new();
            encode(&v, &mut s);
            Ok(s)
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, s: mlua::String| {
            let v = decode(&s.as_bytes(), &JsonLimits::DEFAULT)
                .map_err(|e| runtime(format!("json.decode: {e}")))?;
            to_lua(lua, &v)
        })?,
    )?;
    t.raw_set("null", mlua::Value::NULL)?;
    Ok(t)
}

/// The `log` module: `debug`, `info`, `warn`, `error`, each taking values like `print`.
pub fn log_module(lua: &Lua, log: Rc<dyn Fn(&str)>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for level in ["debug", "info", "warn", "error"] {
        let log = log.clone();
        let f = lua.create_function(move |_, args: MultiValue| {
            let parts: Vec<String> = args
                .iter()
                .map(|a| a.to_string().unwrap_or_else(|_| a.type_name().to_string()))
                .collect();
            log(&format!("[{level}] {}", parts.join("\t")));
            Ok(())
        })?;
        t.raw_set(level, f)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_module_but_echo() {
        for f in table::all() {
            if f.name != "Echo" {
                assert!(module_of(f.name).is_some(), "{}", f.name);
            }
        }
        assert_eq!(module_of("Login"), Some("auth"));
        assert_eq!(module_of("MMOpen"), Some("mimei"));
        assert_eq!(module_of("Hget"), Some("mimei"));
        assert_eq!(module_of("IpfsAdd"), Some("ipfs"));
        assert_eq!(module_of("MiMeiSync"), Some("net"));
    }
}
