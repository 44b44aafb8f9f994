//! Runs one script: a fresh sandboxed Lua state with the script limits ([`Limits`]), the
//! `request` global, Leither's modules, and the chunk's return value as the answer.
//!
//! The instruction meter and the deadline stop a script that loops, the allocator cap one
//! that allocates, and the code runs in 1 ms slices, so the node keeps answering while a
//! script computes ([`crate::lua::meter`]). A place among the node's running scripts, and
//! its heap of Lever's memory share, are taken for the run ([`super::Scripts::slot`]).

use std::rc::Rc;

use mlua::{Function, MultiValue, Value as LuaValue};

use super::{Limits, MAX_SCRIPT_BYTES};
use crate::api::{ApiError, NodeState, Value};
use crate::lever::LeverError;
use crate::lever::instance::lua_message;
use crate::lua::convert::{from_lua, to_lua};
use crate::lua::leither_modules::{LastError, bounded_log, install_require};
use crate::lua::meter::{CallCtx, Limit, Metered, MeteredError, Running};
use crate::lua::sandbox;

/// One run.
pub struct Job<'a> {
    /// What the script is, for messages and the log: `RunScript`, `script ID`, `_Install.lua`.
    pub name: &'a str,
    /// The Lua text.
    pub source: &'a str,
    /// The `request` global: `sid` and the parameters.
    pub request: Vec<(String, Value)>,
    /// Runs for a guest or a visitor (a smaller share of the running places).
    pub stranger: bool,
    /// For an app's entry (`RunMApp`, `/entry`): the app's backend, `lapi` and `args`.
    pub backend: Option<Rc<super::backend::Backend>>,
}

fn limit_message(name: &str, l: Limit) -> String {
    match l {
        Limit::Instructions(n) => format!(
            "{name}: the script ran more than {n} Lua instructions (LuaMaxInstructions in SystemVars.json) and was stopped"
        ),
        Limit::Time(ms) => format!(
            "{name}: the script took longer than {ms} ms (LuaMaxTimeoutMs in SystemVars.json) and was stopped"
        ),
    }
}

fn root(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        other => other,
    }
}

/// Checks a script's text before it is run or stored.
pub fn check_source(name: &str, source: &str) -> Result<(), ApiError> {
    if source.len() > MAX_SCRIPT_BYTES {
        return Err(ApiError::Lever(LeverError::BadRequest(format!(
            "{name}: the script is {} bytes, more than the {MAX_SCRIPT_BYTES} a script may have",
            source.len()
        ))));
    }
    if source.as_bytes().first() == Some(&0x1b) {
        return Err(ApiError::Lever(LeverError::BadRequest(format!(
            "{name}: Lua bytecode is refused; send the script's text"
        ))));
    }
    Ok(())
}

/// Runs `job` and answers what the script returned.
pub async fn run(state: &NodeState, job: Job<'_>) -> Result<Value, ApiError> {
    check_source(job.name, job.source)?;
    let limits = Limits::of(state);
    let _slot = state.scripts.slot(state, job.stranger, limits.ram)?;
    let name = job.name.to_string();
    let lua_err =
        |e: mlua::Error| ApiError::Lever(LeverError::Lua(format!("{name}: {}", lua_message(&e))));
    let running: Running = Rc::default();
    let tag = name.clone();
    let log = bounded_log(move |l| crate::log_info!("script {tag}: {l}"));
    let log2 = log.clone();
    let lua = sandbox::new_state(limits.ram, running.clone(), move |l| log2(l)).map_err(|e| {
        ApiError::Internal(format!("{name}: cannot start Lua: {}", lua_message(&e)))
    })?;
    let last: LastError = Rc::default();
    install_require(
        &lua,
        state.lever.node_weak(),
        running.clone(),
        log.clone(),
        last.clone(),
    )
    .map_err(lua_err)?;
    if let Some(b) = &job.backend {
        super::backend::install(
            &lua,
            b.clone(),
            state.lever.node_weak(),
            running.clone(),
            log,
            last.clone(),
        )
        .map_err(lua_err)?;
    }
    let sid = job
        .request
        .iter()
        .find(|(k, _)| k == "sid")
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("")
        .to_string();
    let request = to_lua(&lua, &Value::Map(job.request)).map_err(lua_err)?;
    lua.globals().raw_set("request", request).map_err(lua_err)?;
    let f = lua
        .load(job.source)
        .set_name(format!("={name}"))
        .into_function()
        .map_err(|e| {
            ApiError::Lever(LeverError::Code(format!(
                "{name}: the script does not compile: {}",
                lua_message(&e)
            )))
        })?;
    let ctx = Rc::new(CallCtx::new(
        sid,
        "script".into(),
        name.clone(),
        None,
        limits.timeout_ms,
        limits.max_instructions,
    ));
    let run_fn: Function = lua.named_registry_value(sandbox::RUN).map_err(lua_err)?;
    let thread = lua.create_thread(run_fn).map_err(lua_err)?;
    let mut args = MultiValue::new();
    args.push_back(LuaValue::Function(f));
    let fut = thread.into_async::<LuaValue>(args).map_err(lua_err)?;
    let metered = Metered::new(fut, ctx.clone(), running.clone());
    let out = match tokio::time::timeout_at(ctx.deadline.into(), metered).await {
        Ok(r) => r,
        Err(_) => {
            ctx.time_out();
            return Err(ApiError::Lever(LeverError::Limit(limit_message(
                &name,
                Limit::Time(limits.timeout_ms),
            ))));
        }
    };
    match out {
        Ok(v) => from_lua(&v).map_err(|e| {
            ApiError::Lever(LeverError::Lua(format!(
                "{name}: the script returned a value that cannot be sent: {e}"
            )))
        }),
        Err(MeteredError::Limit(l)) => {
            Err(ApiError::Lever(LeverError::Limit(limit_message(&name, l))))
        }
        Err(MeteredError::Lua(e)) => {
            let full = lua_message(&e);
            // mlua appends the traceback of the re-raise in the sandbox: not the script's.
            let msg = full
                .split("\nstack traceback:")
                .next()
                .unwrap_or_default()
                .to_string();
            if matches!(root(&e), mlua::Error::MemoryError(_)) || msg.contains("not enough memory")
            {
                return Err(ApiError::Lever(LeverError::Limit(format!(
                    "{name}: the script ran out of its {} MiB of memory (a service's default ram, at most LuaMaxRamMB in SystemVars.json) and was stopped",
                    limits.ram >> 20
                ))));
            }
            // An API error the script did not catch is the answer, status and all.
            if let Some((m, e)) = last.borrow_mut().take()
                && msg.ends_with(&m)
            {
                return Err(e);
            }
            // Lua's own position names the chunk already ("RunScript:3: ...").
            if msg.starts_with(&format!("{name}:")) {
                return Err(ApiError::Lever(LeverError::Lua(msg)));
            }
            Err(ApiError::Lever(LeverError::Lua(format!("{name}: {msg}"))))
        }
    }
}
