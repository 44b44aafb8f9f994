//! A fresh Lua 5.4 state that app code cannot escape.
//!
//! Loaded: the base library, `coroutine`, `table`, `string`, `utf8`, `math`. Not loaded: `os`,
//! `io`, `debug`, `package` (so no `package.loadlib` and no C modules). Removed or narrowed
//! from the base library: `dofile` and `loadfile` (no file access), `load` (text chunks only,
//! never bytecode), `string.dump` (no bytecode out either), `collectgarbage` (only `collect`,
//! `count` and `step`: no tuning that could starve the node). `print` goes to the service's
//! log. `pcall`, `xpcall`, `coroutine.resume` and `coroutine.close` re-raise an error when the
//! call has hit a limit, so a limit cannot be caught and ignored (see [`super::meter`]).
//!
//! The state's memory is capped with Lua's own allocator limit: an allocation past the cap
//! fails with "not enough memory" in the code that asked for it.

use mlua::{Lua, LuaOptions, StdLib};

use super::meter::{Running, install_hook};

/// The prelude run in every new state (see the module documentation).
const PRELUDE: &str = r##"
local hit, log = ...
local _pcall, _xpcall, _error, _resume, _close = pcall, xpcall, error, coroutine.resume, coroutine.close
local pack, concat, tostring, select = table.pack, table.concat, tostring, select
local function check(ok, ...)
  if not ok and hit() then _error((...), 0) end
  return ok, ...
end
pcall = function(...) return check(_pcall(...)) end
xpcall = function(f, h, ...)
  return check(_xpcall(f, function(e) if hit() then return e end return h(e) end, ...))
end
coroutine.resume = function(co, ...) return check(_resume(co, ...)) end
coroutine.close = function(co) return check(_close(co)) end
local _load = load
load = function(chunk, name, mode, env) return _load(chunk, name, "t", env) end
dofile, loadfile = nil, nil
string.dump = nil
local _cg = collectgarbage
collectgarbage = function(opt, ...)
  if opt == nil or opt == "collect" or opt == "count" or opt == "step" then return _cg(opt, ...) end
  _error("collectgarbage: only collect, count and step are allowed here", 2)
end
print = function(...)
  local n = select("#", ...)
  local t = pack(...)
  for i = 1, n do t[i] = tostring(t[i]) end
  log(concat(t, "\t", 1, n))
end
"##;

/// A new sandboxed state with `memory_limit` bytes, the limit hook reading `running`, and
/// `print` writing to `log`.
pub fn new_state(
    memory_limit: usize,
    running: Running,
    log: impl Fn(&str) + 'static,
) -> mlua::Result<Lua> {
    let libs = StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH;
    let lua = Lua::new_with(libs, LuaOptions::new())?;
    install_hook(&lua, running.clone())?;
    let hit = lua.create_function(move |_, ()| {
        Ok(running.borrow().as_ref().and_then(|c| c.hit()).is_some())
    })?;
    let log = lua.create_function(move |_, line: mlua::String| {
        log(&line.to_string_lossy());
        Ok(())
    })?;
    lua.load(PRELUDE)
        .set_name("=sandbox")
        .call::<()>((hit, log))?;
    // After the prelude, so the libraries' own tables are counted but not capped.
    lua.set_memory_limit(memory_limit)?;
    Ok(lua)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::lua::meter::{CallCtx, Metered, MeteredError};

    fn state() -> (Lua, Running, Rc<RefCell<Vec<String>>>) {
        let running: Running = Rc::default();
        let lines = Rc::new(RefCell::new(Vec::new()));
        let l2 = lines.clone();
        let lua = new_state(4 << 20, running.clone(), move |s| {
            l2.borrow_mut().push(s.into())
        })
        .unwrap();
        (lua, running, lines)
    }

    fn ctx(ms: u64, instructions: u64) -> Rc<CallCtx> {
        Rc::new(CallCtx::new(
            String::new(),
            "dev.lever".into(),
            "t".into(),
            None,
            ms,
            instructions,
        ))
    }

    fn run(
        lua: &Lua,
        running: &Running,
        src: &str,
        c: Rc<CallCtx>,
    ) -> Result<mlua::Value, MeteredError> {
        let f = lua.load(src).into_function().unwrap();
        let t = lua.create_thread(f).unwrap();
        let fut = Metered::new(t.into_async::<mlua::Value>(()).unwrap(), c, running.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(fut)
    }

    /// The escapes tried: every one must fail, none may reach files, processes or bytecode.
    #[test]
    fn escapes_are_closed() {
        let (lua, running, _) = state();
        for src in [
            "return os.execute('id')",
            "return io.open('/etc/passwd')",
            "return debug.getregistry()",
            "return package.loadlib('libc.so.6', 'system')",
            "return require('os')",
            "return dofile('/etc/passwd')",
            "return loadfile('/etc/passwd')",
            "return string.dump(function() end)",
            "return load('\\27Lua\\84\\0', 'x', 'b')()",
            "return load(string.char(27) .. 'LuaT')()",
            "return collectgarbage('stop')",
            "return collectgarbage('generational')",
            "return getmetatable('').__index.dump(print)",
        ] {
            let r = run(&lua, &running, src, ctx(1000, 1_000_000));
            assert!(r.is_err(), "{src} should fail, got {r:?}");
        }
        // Text chunks still load.
        let r = run(
            &lua,
            &running,
            "return load('return 1 + 1')()",
            ctx(1000, 1_000_000),
        );
        assert_eq!(r.unwrap(), mlua::Value::Integer(2));
    }

    #[test]
    fn print_goes_to_the_log() {
        let (lua, running, lines) = state();
        run(
            &lua,
            &running,
            "print('a', 1, nil, true)",
            ctx(1000, 1_000_000),
        )
        .unwrap();
        assert_eq!(lines.borrow()[0], "a\t1\tnil\ttrue");
    }

    #[test]
    fn loops_stop_even_under_pcall() {
        let (lua, running, _) = state();
        for src in [
            "while true do end",
            "while true do pcall(function() while true do end end) end",
            "while true do xpcall(function() while true do end end, function(e) return 'x' end) end",
            "local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end",
            "local t = {3,2,1} while true do pcall(table.sort, t, function(a, b) while true do end end) end",
        ] {
            match run(&lua, &running, src, ctx(10_000, 2_000_000)) {
                Err(MeteredError::Limit(crate::lua::meter::Limit::Instructions(_))) => {}
                other => panic!("{src}: {other:?}"),
            }
        }
        match run(&lua, &running, "while true do end", ctx(50, u64::MAX / 2)) {
            Err(MeteredError::Limit(crate::lua::meter::Limit::Time(50))) => {}
            other => panic!("{other:?}"),
        }
        // The state still works afterwards.
        assert_eq!(
            run(&lua, &running, "return 7", ctx(1000, 1000)).unwrap(),
            mlua::Value::Integer(7)
        );
    }

    #[test]
    fn memory_is_capped() {
        let (lua, running, _) = state();
        let r = run(
            &lua,
            &running,
            "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end",
            ctx(10_000, u64::MAX / 2),
        );
        match r {
            Err(MeteredError::Lua(e)) => assert!(e.to_string().contains("memory"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(lua.used_memory() <= 4 << 20);
    }
}
