//! What Lever adds to Lua: the `lever` module (`invoke`, `stream`, `sleep`, `now`, `resource`, `env`,
//! `service`, `environment`, `version`) and the `db` module (the service's own database).
//!
//! `lever.invoke(url, ...)` goes through the same routing, load balancing and resources as a
//! call from outside, and carries the calling service's environment: a relative URL
//! (`lever://SERVICE/METHOD`, `/SERVICE/METHOD`) stays in it, and private services of that
//! environment answer. The caller's session travels with the call.
//!
//! `db` is a database Mimei made for the service on first use (a fresh ID, authored by the
//! node, recorded in the service's settings) and opened by the node, so a service keeps
//! state across calls, instances, upgrades and restarts without granting rights to its
//! callers: `db.Set(k, v)`, `db.Hget(k, f)`, ... take the database API's arguments without
//! the `mmsid`. It is this service's alone: after `lever rm` the code of the removed service
//! (a call still finishing) gets no database, and a later service of the same name a new one.
//!
//! `lever.env` holds the service's variables from the node's settings (never the app's
//! files: see `settings`).

use std::rc::{Rc, Weak};

use mlua::{Lua, MultiValue, Table};

use super::code::AppCode;
use super::instance::ServiceInfo;
use super::stream::LuaStream;
use super::{Caller, Target};
use crate::api::table;
use crate::api::{NodeState, Value};
use crate::lua::bindings::args_from_lua;
use crate::lua::convert::to_lua;
use crate::lua::meter::{Running, current};

fn runtime(m: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(m.into())
}

/// The `lever` module of an instance.
pub fn lever_module(
    lua: &Lua,
    code: &Rc<AppCode>,
    svc: &ServiceInfo,
    state: Weak<NodeState>,
    running: Running,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let env = lua.create_table()?;
    for (k, v) in svc.vars.iter() {
        env.raw_set(k, v)?;
    }
    t.raw_set("env", env)?;
    t.raw_set("service", svc.name.as_str())?;
    t.raw_set("environment", svc.env.as_str())?;
    t.raw_set("version", code.version)?;
    let r = running.clone();
    t.raw_set(
        "resource",
        lua.create_function(move |_, ()| Ok(current(&r).and_then(|c| c.resource.clone())))?,
    )?;
    t.raw_set(
        "now",
        lua.create_function(|_, ()| Ok(crate::clock::unix_ms() as i64))?,
    )?;
    t.raw_set(
        "sleep",
        lua.create_async_function(|_, ms: u64| async move {
            tokio::time::sleep(std::time::Duration::from_millis(ms.min(3_600_000))).await;
            Ok(())
        })?,
    )?;
    let (s, r) = (state.clone(), running.clone());
    t.raw_set(
        "invoke",
        lua.create_async_function(move |lua, (url, args): (String, MultiValue)| {
            let ctx = current(&r);
            let state = s.upgrade();
            let args = args_from_lua("lever.invoke", &args);
            async move {
                let state = state.ok_or_else(|| runtime("the node is stopping"))?;
                let ctx =
                    ctx.ok_or_else(|| runtime("lever.invoke works only while a call runs"))?;
                let t =
                    Target::parse_url(&url).map_err(|e| runtime(format!("lever.invoke: {e}")))?;
                let caller = Caller {
                    sid: ctx.sid.clone(),
                    env: Some(ctx.env.clone()),
                };
                let v = state
                    .lever
                    .invoke(&t, &args?, &caller)
                    .await
                    .map_err(|e| runtime(format!("lever.invoke {url}: {e}")))?;
                to_lua(&lua, &v)
            }
        })?,
    )?;
    let (s, r) = (state, running);
    t.raw_set(
        "stream",
        lua.create_async_function(move |lua, (url, args): (String, MultiValue)| {
            let ctx = current(&r);
            let state = s.upgrade();
            let args = args_from_lua("lever.stream", &args);
            async move {
                let state = state.ok_or_else(|| runtime("the node is stopping"))?;
                let ctx =
                    ctx.ok_or_else(|| runtime("lever.stream works only while a call runs"))?;
                let t =
                    Target::parse_url(&url).map_err(|e| runtime(format!("lever.stream: {e}")))?;
                let caller = Caller {
                    sid: ctx.sid.clone(),
                    env: Some(ctx.env.clone()),
                };
                let ends = state
                    .lever
                    .stream(&t, args?, &caller)
                    .await
                    .map_err(|e| runtime(format!("lever.stream {url}: {e}")))?;
                lua.create_userdata(LuaStream::caller(ends))
            }
        })?,
    )?;
    Ok(t)
}

/// The database functions `db.*` offers: the API table's database slice
/// (`api::table::db`), those on an `mmsid` (all but `MMSyncData`, which takes a session and
/// is not supported on this node). The slice is the one list; nothing here repeats it.
pub fn db_functions() -> impl Iterator<Item = &'static crate::api::ApiFn> {
    table::db::FNS
        .iter()
        .filter(|f| f.params.starts_with("mmsid"))
}

/// The `db` module of an instance.
pub fn db_module(
    lua: &Lua,
    svc: &ServiceInfo,
    state: Weak<NodeState>,
    running: Running,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for entry in db_functions() {
        let (s, r) = (state.clone(), running.clone());
        let name = entry.name;
        let (env, service, incarnation) = (svc.env.clone(), svc.name.clone(), svc.incarnation);
        let f = lua.create_async_function(move |lua, args: MultiValue| {
            let ctx = current(&r);
            let state = s.upgrade();
            let args = args_from_lua(name, &args);
            let (env, service) = (env.clone(), service.clone());
            async move {
                let state = state.ok_or_else(|| runtime("the node is stopping"))?;
                ctx.ok_or_else(|| runtime(format!("db.{name} works only while a call runs")))?;
                let args = args?;
                let mut fresh = false;
                loop {
                    let mmsid = state
                        .lever
                        .service_db(&env, &service, incarnation, fresh)
                        .await
                        .map_err(|e| runtime(e.to_string()))?;
                    let mut full = Vec::with_capacity(args.len() + 1);
                    full.push(Value::Str(mmsid));
                    full.extend(args.iter().cloned());
                    match crate::api::call(&state, name, full).await {
                        Ok(v) => return to_lua(&lua, &v),
                        // The node's session lapsed: open the database again, once.
                        Err(e) if !fresh && e.http_status() == 401 => fresh = true,
                        Err(e) => return Err(runtime(format!("db.{name}: {e}"))),
                    }
                }
            }
        })?;
        t.raw_set(name, f)?;
    }
    Ok(t)
}
