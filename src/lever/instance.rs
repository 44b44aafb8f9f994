//! An instance: one sandboxed Lua state running one version of a service's code.
//!
//! Starting one creates the state, loads the entry module (which returns the table of
//! methods) and nothing else; modules are compiled when first required. Each call runs in its
//! own coroutine with its own limits ([`crate::lua::meter`]), so one instance serves many calls
//! at once, interleaved at their yields. After an out-of-memory error the instance is marked
//! dead (its globals may hold the bomb) and is replaced by a fresh one on the next call.
//!
//! Nothing is kept per call: the coroutine is dropped when the call ends, and the tests check
//! that memory does not grow over thousands of calls (Leither's app runtime leaked per request).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Instant;

use mlua::{Function, Lua, MultiValue, Table, Value as LuaValue};

use super::LeverError;
use super::code::AppCode;
use super::logs::LogRing;
use crate::api::{NodeState, Value};
use crate::lua::convert::{from_lua, to_lua};
use crate::lua::meter::{CallCtx, Metered, MeteredError, Running, with_ctx};
use crate::lua::{bindings, sandbox};

/// What an instance knows of its service.
#[derive(Clone)]
pub struct ServiceInfo {
    /// Environment.
    pub env: String,
    /// Service name.
    pub name: String,
    /// The service's log.
    pub logs: Rc<RefCell<LogRing>>,
    /// Its variables and secrets (`lever.env`).
    pub vars: Rc<super::settings::Vars>,
    /// Which service of that environment and name (see `Service::incarnation`).
    pub incarnation: u64,
}

/// One running Lua state of a service.
pub struct Instance {
    /// Number within the service, for logs.
    pub id: u64,
    /// The deployment generation it runs (see `Service::generation`).
    pub generation: u64,
    /// The app version it runs.
    pub version: u64,
    /// Its memory limit in bytes (its share of the node's Lever budget).
    pub ram: usize,
    /// Calls running on it now.
    pub inflight: Cell<u32>,
    /// Calls it has answered.
    pub calls: Cell<u64>,
    /// When it last finished a call (or started).
    pub last_used: Cell<Instant>,
    /// Microseconds its start took.
    pub start_us: u64,
    /// Set after an out-of-memory error: take no new calls.
    pub dead: Cell<bool>,
    lua: Lua,
    methods: Table,
    running: Running,
    code: Rc<AppCode>,
}

/// The Lua error text without mlua's traceback noise.
pub fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        mlua::Error::MemoryError(_) => "out of memory".to_string(),
        other => other.to_string(),
    }
}

impl Instance {
    /// Starts an instance of `code` for `svc`.
    pub fn start(
        id: u64,
        generation: u64,
        code: Rc<AppCode>,
        svc: &ServiceInfo,
        state: Weak<NodeState>,
    ) -> Result<Instance, LeverError> {
        let t0 = Instant::now();
        let m = &code.manifest;
        let running: Running = Rc::default();
        let logs = svc.logs.clone();
        let log: Rc<dyn Fn(&str)> = Rc::new(move |line: &str| logs.borrow_mut().push(line));
        let log2 = log.clone();
        let ram = m.ram_bytes();
        let lua = sandbox::new_state(ram, running.clone(), move |l| log2(l))
            .map_err(|e| LeverError::Code(format!("cannot start Lua: {}", lua_message(&e))))?;
        let fail = |e: mlua::Error| LeverError::Code(lua_message(&e));
        install_require(&lua, code.clone(), svc, state, running.clone(), log).map_err(fail)?;
        // Loading runs the entry module's top level: limit it like a call.
        let ctx = Rc::new(CallCtx::new(
            String::new(),
            svc.env.clone(),
            svc.name.clone(),
            None,
            m.timeout_ms,
            m.max_instructions,
        ));
        let entry = m.lua_entry.trim_end_matches(".lua").replace('/', ".");
        let loaded: mlua::Result<LuaValue> = with_ctx(&running, &ctx, || {
            let require: Function = lua.globals().raw_get("require")?;
            require.call(entry.as_str())
        });
        if let Some(l) = ctx.hit() {
            return Err(LeverError::Code(format!(
                "loading {}: {}",
                m.lua_entry,
                l.message()
            )));
        }
        let methods = match loaded.map_err(fail)? {
            LuaValue::Table(t) => t,
            other => {
                return Err(LeverError::Code(format!(
                    "{} must return a table of methods, returned {}",
                    m.lua_entry,
                    other.type_name()
                )));
            }
        };
        Ok(Instance {
            id,
            generation,
            version: code.version,
            ram,
            inflight: Cell::new(0),
            calls: Cell::new(0),
            last_used: Cell::new(Instant::now()),
            start_us: t0.elapsed().as_micros() as u64,
            dead: Cell::new(false),
            lua,
            methods,
            running,
            code,
        })
    }

    /// True when the entry table has a function `method`.
    pub fn has_method(&self, method: &str) -> bool {
        matches!(
            self.methods.raw_get::<LuaValue>(method),
            Ok(LuaValue::Function(_))
        )
    }

    /// Bytes of Lua memory in use.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// The code it runs.
    pub fn code(&self) -> &Rc<AppCode> {
        &self.code
    }

    /// Calls `method` with `args` (converted) plus `extra` Lua values before them (a stream).
    pub async fn call(
        &self,
        method: &str,
        args: &[Value],
        ctx: Rc<CallCtx>,
        first: Option<LuaValue>,
    ) -> Result<Value, LeverError> {
        let f = match self.methods.raw_get::<LuaValue>(method) {
            Ok(LuaValue::Function(f)) => f,
            _ => {
                return Err(LeverError::NoMethod {
                    service: ctx.service.clone(),
                    method: method.to_string(),
                });
            }
        };
        // The prelude's `run(f, ...)` runs f in time slices (crate::lua::sandbox).
        let mut lua_args = MultiValue::with_capacity(args.len() + 2);
        lua_args.push_back(LuaValue::Function(f));
        if let Some(v) = first {
            lua_args.push_back(v);
        }
        for a in args {
            lua_args.push_back(
                to_lua(&self.lua, a).map_err(|e| LeverError::BadRequest(e.to_string()))?,
            );
        }
        let run: Function = self
            .lua
            .named_registry_value(sandbox::RUN)
            .map_err(|e| self.classify(e))?;
        let thread = self.lua.create_thread(run).map_err(|e| self.classify(e))?;
        let fut = thread
            .into_async::<LuaValue>(lua_args)
            .map_err(|e| self.classify(e))?;
        let metered = Metered::new(fut, ctx.clone(), self.running.clone());
        let out = match tokio::time::timeout_at(ctx.deadline.into(), metered).await {
            Ok(r) => r,
            Err(_) => {
                ctx.time_out();
                return Err(LeverError::Limit(
                    ctx.hit().map(|l| l.message()).unwrap_or_default(),
                ));
            }
        };
        match out {
            Ok(v) => from_lua(&v).map_err(|e| {
                LeverError::Lua(format!(
                    "{method} returned a value that cannot be sent: {e}"
                ))
            }),
            Err(MeteredError::Limit(l)) => Err(LeverError::Limit(l.message())),
            Err(MeteredError::Lua(e)) => Err(self.classify(e)),
        }
    }

    fn classify(&self, e: mlua::Error) -> LeverError {
        let msg = lua_message(&e);
        if matches!(root(&e), mlua::Error::MemoryError(_)) || msg.contains("not enough memory") {
            self.dead.set(true);
            return LeverError::Limit(format!(
                "the instance ran out of its {} MiB of memory (ram in lever.json); it was replaced",
                self.ram >> 20
            ));
        }
        LeverError::Lua(msg)
    }
}

fn root(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        other => other,
    }
}

/// `require(name)`: a built-in module, or `name.lua` (dots as folders) from the app, loaded
/// once per instance.
fn install_require(
    lua: &Lua,
    code: Rc<AppCode>,
    svc: &ServiceInfo,
    state: Weak<NodeState>,
    running: Running,
    log: Rc<dyn Fn(&str)>,
) -> mlua::Result<()> {
    lua.set_named_registry_value("leither.loaded", lua.create_table()?)?;
    let svc = svc.clone();
    let require = lua.create_function(move |lua, name: String| {
        let loaded: Table = lua.named_registry_value("leither.loaded")?;
        if let Ok(v @ LuaValue::Table(_)) = loaded.raw_get::<LuaValue>(name.as_str()) {
            return Ok(v);
        }
        if let Ok(LuaValue::Boolean(true)) = loaded.raw_get::<LuaValue>(name.as_str()) {
            return Ok(LuaValue::Boolean(true));
        }
        let v: LuaValue = match name.as_str() {
            m if bindings::API_MODULES.contains(&m) => LuaValue::Table(bindings::api_module(
                lua,
                m,
                state.clone(),
                running.clone(),
            )?),
            "json" => LuaValue::Table(bindings::json_module(lua)?),
            "log" => LuaValue::Table(bindings::log_module(lua, log.clone())?),
            "lever" => LuaValue::Table(super::lua_api::lever_module(
                lua,
                &code,
                &svc,
                state.clone(),
                running.clone(),
            )?),
            "db" => LuaValue::Table(super::lua_api::db_module(
                lua,
                &svc,
                state.clone(),
                running.clone(),
            )?),
            _ => {
                let path = format!("{}.lua", name.replace('.', "/"));
                let Some(src) = code.files.get(&path) else {
                    return Err(mlua::Error::runtime(format!(
                        "module '{name}' not found: no {path} in the app, and not a built-in \
                         (mimei, auth, net, var, ipfs, log, json, lever, db)"
                    )));
                };
                loaded.raw_set(name.as_str(), true)?;
                let f = lua
                    .load(&**src)
                    .set_name(format!("@{path}"))
                    .set_mode(mlua::ChunkMode::Text)
                    .into_function()?;
                match f.call::<LuaValue>(name.as_str())? {
                    LuaValue::Nil => LuaValue::Boolean(true),
                    v => v,
                }
            }
        };
        loaded.raw_set(name.as_str(), v.clone())?;
        Ok(v)
    })?;
    lua.globals().raw_set("require", require)
}

impl Instance {
    /// A stream object living in this instance's Lua state.
    pub fn make_stream(&self, s: super::stream::LuaStream) -> Result<LuaValue, LeverError> {
        self.lua
            .create_userdata(s)
            .map(LuaValue::UserData)
            .map_err(|e| self.classify(e))
    }
}
