//! A fresh Lua 5.4 state that app code cannot escape.
//!
//! Loaded: the base library, `coroutine`, `table`, `string`, `utf8`, `math`. Not loaded: `os`,
//! `io`, `debug`, `package` (so no `package.loadlib` and no C modules). Removed or narrowed
//! from the base library: `dofile` and `loadfile` (no file access), `load` (text chunks only,
//! never bytecode), `string.dump` (no bytecode out either), `collectgarbage` (only `collect`,
//! `count` and `step`: no tuning that could starve the node). `print` goes to the service's
//! log. `setmetatable` refuses a metatable carrying `__gc`: Lua 5.4 runs finalizers with
//! hooks off (lgc.c `GCTM`), so a finalizer would escape the instruction meter and could hold
//! the node's thread for good; a `__gc` added to a metatable after `setmetatable` does not
//! mark the object for finalization, so that path is closed too. `getmetatable` returns nil
//! for userdata (the host's objects, whose metatables carry their own `__gc`).
//! `string.find/match/gmatch/gsub` are replaced by the metered matcher of
//! [`super::strlib`]: Lua's own backtracks inside C, out of the hook's reach. `pcall`, `xpcall`, `coroutine.resume` and `coroutine.close` re-raise an error when the
//! call has hit a limit, so a limit cannot be caught and ignored (see [`super::meter`]).
//!
//! Time slices ([`super::meter`]): a call's function runs in a coroutine of the prelude's
//! `run` (the state's registry value [`RUN`]), and `coroutine.resume` and `coroutine.wrap`
//! are the prelude's: each names the coroutine it resumes to the meter, and when the hook
//! paused that coroutine at the end of a slice, passes the pause up (yielding a private
//! marker) to `run`, which lets the node run (`pause`, an async function) and resumes. The
//! code sees the results, errors and yields an unsliced run would give.
//!
//! The state's memory is capped with Lua's own allocator limit: an allocation past the cap
//! fails with "not enough memory" in the code that asked for it.

use mlua::{Lua, LuaOptions, StdLib};

use super::meter::{Running, install_hook};

/// The prelude run in every new state (see the module documentation).
const PRELUDE: &str = r##"
local hit, log, enter, leave, sliced, pause = ...
local _pcall, _xpcall, _error, _resume, _close = pcall, xpcall, error, coroutine.resume, coroutine.close
local _create, _status, _yield, _isyieldable = coroutine.create, coroutine.status, coroutine.yield, coroutine.isyieldable
local pack, unpack, concat, tostring, select, type = table.pack, table.unpack, table.concat, tostring, select, type
local function check(ok, ...)
  if not ok and hit() then _error((...), 0) end
  return ok, ...
end
pcall = function(...) return check(_pcall(...)) end
xpcall = function(f, h, ...)
  return check(_xpcall(f, function(e) if hit() then return e end return h(e) end, ...))
end
-- Time slices. SLICE is what a coroutine yields to pass a pause up to its resumer.
local SLICE = {}
local function step(co, ...)
  enter(co)
  local r = pack(_resume(co, ...))
  leave()
  return r
end
-- Resumes co until it ends, fails or yields on its own; `up` passes a pause up.
local function resume(co, up, ...)
  local r = step(co, ...)
  while r[1] and _status(co) == "suspended" and (r[2] == SLICE or (r.n == 1 and sliced(co))) do
    up()
    r = step(co)
  end
  return r
end
local function pass_up() if _isyieldable() then _yield(SLICE) end end
coroutine.resume = function(co, ...)
  local r = resume(co, pass_up, ...)
  return check(unpack(r, 1, r.n))
end
coroutine.close = function(co) return check(_close(co)) end
-- As lcorolib's auxwrap: an error closes the coroutine and gets the caller's position.
coroutine.wrap = function(f)
  local co = _create(f)
  return function(...)
    local r = resume(co, pass_up, ...)
    if r[1] then return unpack(r, 2, r.n) end
    local e = r[2]
    if _status(co) == "dead" then
      local ok, ce = _close(co)
      if not ok then e = ce end
    end
    if type(e) == "string" and e ~= "not enough memory" and not hit() then _error(e, 2) end
    _error(e, 0)
  end
end
-- A call: f(...) in a coroutine of its own; its waits (async bindings) are passed up to
-- the thread mlua drives, its pauses to the node.
local function drive(co, ...)
  local r = resume(co, pause, ...)
  while r[1] and _status(co) ~= "dead" do
    r = resume(co, pause, _yield(unpack(r, 2, r.n)))
  end
  return r
end
local function run(f, ...)
  local co = _create(f)
  local ok, r = _pcall(drive, co, ...)
  if ok and r[1] then return unpack(r, 2, r.n) end
  local e = r
  if ok then e = r[2] end
  -- Its to-be-closed variables, as when the call ran on the driven thread itself.
  local cok, ce = _close(co)
  if not cok and ok then e = ce end
  _error(e, 0)
end
local _setmetatable, _getmetatable, rawget, type = setmetatable, getmetatable, rawget, type
setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    _error("setmetatable: a metatable with __gc is refused here: finalizers run outside the call's limits", 2)
  end
  return _setmetatable(t, mt)
end
getmetatable = function(v)
  if type(v) == "userdata" then return nil end
  return _getmetatable(v)
end
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
return run, pass_up
"##;

/// The registry value holding the prelude's `run(f, ...)`: a call is a thread of it, with
/// the method's function and its arguments (see the module doc).
pub const RUN: &str = "leither.run";

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
    let running2 = running.clone();
    let r = running.clone();
    let hit =
        lua.create_function(move |_, ()| Ok(r.borrow().as_ref().and_then(|c| c.hit()).is_some()))?;
    let log = lua.create_function(move |_, line: mlua::String| {
        log(&line.to_string_lossy());
        Ok(())
    })?;
    let r = running.clone();
    let enter = lua.create_function(move |_, co: mlua::Thread| {
        if let Some(c) = r.borrow().as_ref() {
            c.enter(&co);
        }
        Ok(())
    })?;
    let r = running.clone();
    let leave = lua.create_function(move |_, ()| {
        if let Some(c) = r.borrow().as_ref() {
            c.leave();
        }
        Ok(())
    })?;
    let r = running.clone();
    let sliced = lua.create_function(move |_, co: mlua::Thread| {
        Ok(r.borrow().as_ref().is_some_and(|c| c.take_sliced(&co)))
    })?;
    // As tokio's yield_now: the task runs again once the I/O driver and the ready tasks ran.
    let pause = lua.create_async_function(|_, ()| async {
        tokio::task::yield_now().await;
        Ok(())
    })?;
    let (run, pass_up): (mlua::Function, mlua::Function) =
        lua.load(PRELUDE)
            .set_name("=sandbox")
            .call((hit, log, enter, leave, sliced, pause))?;
    lua.set_named_registry_value(RUN, run)?;
    super::strlib::install(&lua, &running2, memory_limit, pass_up)?;
    // After the prelude, so the libraries' own tables are counted but not capped.
    lua.set_memory_limit(memory_limit)?;
    Ok(lua)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

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

    /// `f()` as a Lever call runs it: on a thread of the prelude's `run`.
    fn call(lua: &Lua, f: mlua::Function) -> mlua::AsyncThread<mlua::Value> {
        let run: mlua::Function = lua.named_registry_value(RUN).unwrap();
        lua.create_thread(run).unwrap().into_async(f).unwrap()
    }

    fn run(
        lua: &Lua,
        running: &Running,
        src: &str,
        c: Rc<CallCtx>,
    ) -> Result<mlua::Value, MeteredError> {
        let f = lua.load(src).into_function().unwrap();
        let fut = Metered::new(call(lua, f), c, running.clone());
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

    /// CPU time this thread has used (the OS may stop it for long on a loaded machine: the
    /// slices are a matter of the thread's own time).
    fn thread_cpu() -> Duration {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec it is given.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    /// Runs `src` as a call while a task of the same thread ticks every millisecond: the
    /// call's result, the thread's CPU time while it ran and how many times the ticker ran
    /// meanwhile.
    fn run_beside_a_ticker(
        src: &str,
        c: Rc<CallCtx>,
    ) -> (Result<mlua::Value, MeteredError>, Duration, u32) {
        use std::cell::Cell;
        let (lua, running, _) = state();
        let f = lua.load(src).into_function().unwrap();
        let fut = Metered::new(call(&lua, f), c, running.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let ticks = Rc::new(Cell::new(0u32));
            let t = ticks.clone();
            let ticker = tokio::task::spawn_local(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    t.set(t.get() + 1);
                }
            });
            // The ticker's first tick is due before the call starts.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let t0 = thread_cpu();
            let before = ticks.get();
            let r = fut.await;
            let took = thread_cpu().saturating_sub(t0);
            ticker.abort();
            (r, took, ticks.get() - before)
        })
    }

    /// A call that computes for its whole budget held the node's one thread all along: it
    /// runs in slices now, and the other tasks run between them.
    #[test]
    fn a_long_call_lets_the_rest_of_the_node_run() {
        for src in [
            "while true do end",
            "while true do pcall(function() while true do end end) end",
            "coroutine.wrap(function() while true do end end)()",
            "coroutine.resume(coroutine.create(function() \
             coroutine.resume(coroutine.create(function() while true do end end)) end))",
            "string.find(('a'):rep(300), ('.-'):rep(4) .. 'b')",
            "for m in (('a'):rep(300)):gmatch(('.-'):rep(4) .. 'b') do end",
            "(('a'):rep(300)):gsub(('.-'):rep(4) .. 'b', 'x')",
            "string.find(('a'):rep(2000000), ('a'):rep(200000) .. 'b', 1, true)",
            "('abc'):gsub('.', function() while true do end end)",
        ] {
            // Stopped by its deadline, so each runs about as long in any build.
            let (r, took, ticks) = run_beside_a_ticker(src, ctx(1_500, 1_000_000_000_000));
            assert!(
                matches!(
                    r,
                    Err(MeteredError::Limit(crate::lua::meter::Limit::Time(_)))
                ),
                "{src}: {r:?}"
            );
            // A slice is 1 ms of the thread's time, then the ticker runs: about a tick per
            // slice. Unsliced, the ticker ran once at most.
            assert!(
                u128::from(ticks) * 25 >= took.as_millis(),
                "{src}: the other task ran {ticks} times in {took:?} of the thread's CPU"
            );
        }
    }

    /// The code cannot tell it was sliced: varargs across calls, pcall of C functions,
    /// coroutines that compute between yields (wrap, resume, nested), a comparator (a C
    /// boundary: not sliced), errors through `wrap`, to-be-closed variables: all as plain Lua
    /// 5.4 gives them, while the ticker shows the slices happened.
    #[test]
    fn slices_are_invisible_to_the_code() {
        let src = r##"
local out = {}
local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end
local function pass(...) return ... end
local n = 0
for i = 1, 100000 do
  local t = {pass(i, i + 1, pass(i * 2, "x"))}
  n = n + #t + select("#", pass(table.unpack(t)))
  local ok, e = pcall(error, "e" .. i)
  if ok or e ~= "e" .. i then add("bad pcall", i, e) break end
end
add(n)
local gen = coroutine.wrap(function(a, b)
  for i = 1, 30 do local s = 0 for j = 1, 10000 do s = s + j % (i + a) end coroutine.yield(i, s, b) end
  return "done"
end)
add(gen(3, "b"))
for i = 2, 30 do local x, y, z = gen() if i == 30 then add(x, y, z) end end
add(gen())
local inner = coroutine.create(function(x)
  while true do local s = 0 for j = 1, 20000 do s = s + j end x = coroutine.yield(x * 2 + s) end
end)
local outer = coroutine.create(function()
  local acc = 0
  for i = 1, 20 do local ok, v = coroutine.resume(inner, i) acc = acc + v end
  coroutine.yield(acc)
  error({code = 7})
end)
add(coroutine.resume(outer))
local ok, e = coroutine.resume(outer)
add(ok, type(e), e.code, coroutine.status(outer))
local t = {} for i = 1, 300 do t[i] = (i * 7919) % 300 end
table.sort(t, function(a, b) for j = 1, 200 do end return a > b end)
add(t[1], t[300])
local w = coroutine.wrap(function() local s = 0 for j = 1, 100000 do s = s + j end error("boom") end)
add(pcall(w))
-- (Not `return w3()`: a Lua function tail-called loses its caller's position, a C one not.)
local w3 = coroutine.wrap(function() error("here") end)
add(pcall(function() local r = w3() return r end))
local w2 = coroutine.wrap(function() error({k = 1}) end)
local ok2, e2 = pcall(w2) add(ok2, type(e2), e2.k)
add(pcall(w2))
local closed = 0
local wc = coroutine.wrap(function()
  local x <close> = setmetatable({}, {__close = function() closed = closed + 1 end})
  for j = 1, 100000 do end
  error("c")
end)
add(pcall(wc))
add(closed)
-- The metered string functions pause inside long matches; results are Lua's.
add(string.find(("ab"):rep(100000) .. "c", "(a)(b)c"))
add(string.find(("a"):rep(150) .. "b", (".-"):rep(3) .. "b"))
add(string.find(("a"):rep(400000) .. "b", "ab", 1, true))
add(string.match(("xy"):rep(50000) .. "z", "((x)y)z"))
local g = 0
for a, b in (("xay"):rep(50000)):gmatch("(a)(y)") do g = g + #a + #b end
add(g)
local r1, n1 = (("ab"):rep(50000)):gsub("(a)(b)", function(a, b) return b .. a end)
add(#r1, n1, r1:sub(1, 8), r1:sub(-8))
local r2, n2 = (("ab"):rep(50000)):gsub("%w", {a = "1", b = false})
add(#r2, n2, r2:sub(1, 8))
local r3, n3 = (("ab"):rep(50000)):gsub("b", "%0%0", 70000)
add(#r3, n3)
return table.concat(out, "|")
"##;
        let real = Lua::new();
        let want: String = real.load(src).set_name("=t").eval().unwrap();
        let (lua, running, _) = state();
        let f = lua.load(src).set_name("=t").into_function().unwrap();
        let c = ctx(60_000, 1_000_000_000);
        let fut = Metered::new(call(&lua, f), c, running.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let t0 = std::time::Instant::now();
        let got = match rt.block_on(fut) {
            Ok(mlua::Value::String(s)) => s.to_string_lossy(),
            other => panic!("{other:?}"),
        };
        assert_eq!(got, want);
        // Long enough to have been sliced many times (1 ms each).
        assert!(
            t0.elapsed() > Duration::from_millis(20),
            "{:?}",
            t0.elapsed()
        );
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

    /// Runs `f` on its own thread and fails if it has not finished within `secs`: a limit
    /// that no longer fires makes the test fail instead of hanging the suite.
    fn bounded(secs: u64, f: impl FnOnce() + Send + 'static) {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            f();
            let _ = tx.send(());
        });
        match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the check failed"),
            Err(_) => panic!("still running after {secs} s: a loop escaped the meter"),
        }
    }

    fn stopped(src: &str) {
        let (lua, running, _) = state();
        match run(&lua, &running, src, ctx(10_000, 2_000_000)) {
            Err(MeteredError::Limit(crate::lua::meter::Limit::Instructions(_))) => {}
            other => panic!("{src}: {other:?}"),
        }
        // The state still answers afterwards.
        assert_eq!(
            run(&lua, &running, "return 7", ctx(1000, 100_000)).unwrap(),
            mlua::Value::Integer(7)
        );
    }

    /// Lua 5.4 runs `__gc` with hooks off: a finalizer that loops would stop the node.
    #[test]
    fn gc_finalizer_loop_is_refused() {
        bounded(30, || {
            let (lua, running, _) = state();
            let r = run(
                &lua,
                &running,
                "setmetatable({}, {__gc = function() while true do end end}) collectgarbage()",
                ctx(1000, 1_000_000),
            );
            match r {
                Err(MeteredError::Lua(e)) => assert!(e.to_string().contains("__gc"), "{e}"),
                other => panic!("{other:?}"),
            }
            // __gc added after setmetatable does not mark the object for finalization.
            let r = run(
                &lua,
                &running,
                "local mt = {} local t = setmetatable({}, mt) \
                 mt.__gc = function() while true do end end t = nil \
                 collectgarbage() collectgarbage() return 1",
                ctx(1000, 1_000_000),
            );
            assert_eq!(r.unwrap(), mlua::Value::Integer(1));
            // The host's userdata (an error object here) show no metatable to add __gc to.
            let r = run(
                &lua,
                &running,
                "local ok, e = pcall(string.rep) return type(e) ~= 'userdata' or getmetatable(e) == nil",
                ctx(1000, 1_000_000),
            );
            assert_eq!(r.unwrap(), mlua::Value::Boolean(true));
        });
    }

    /// Every way Lua code runs from inside C is still under the count hook.
    #[test]
    fn metamethod_and_callback_loops_are_stopped() {
        bounded(120, || {
            let mt = "local loop = function() while true do end end \
                      local function o(k) return setmetatable({}, {[k] = loop}) end ";
            for body in [
                "return o('__index').x",
                "return o('__newindex') ~= nil and (function(t) t.x = 1 end)(o('__newindex'))",
                "local a = o('__eq') return a == setmetatable({}, getmetatable(a))",
                "return o('__lt') < o('__lt')",
                "return o('__le') <= o('__le')",
                "return o('__concat') .. 'x'",
                "return tostring(o('__tostring'))",
                "return o('__call')()",
                "return #o('__len')",
                "return o('__add') + 1",
                "do local x <close> = o('__close') end",
                "table.sort({3, 2, 1}, loop)",
                "string.gsub('abc', '%w', loop)",
                "string.gsub('abc', '%w', o('__index'))",
                "for k in string.gmatch('abc', '%w') do loop() end",
                "return string.find(('a'):rep(300), ('.-'):rep(4) .. 'b')",
                "return (('a'):rep(300)):match(('.-'):rep(4) .. 'b')",
                "return string.gsub(('a'):rep(300), ('.-'):rep(4) .. 'b', '')",
                "for m in (('a'):rep(300)):gmatch(('.-'):rep(4) .. 'b') do end",
                "while true do pcall(string.find, ('a'):rep(300), ('.-'):rep(4) .. 'b') end",
            ] {
                stopped(&format!("{mt}{body}"));
            }
        });
    }

    /// The metered `string` functions give what Lua's own give.
    #[test]
    fn patterns_match_lua() {
        let cases: &[(&str, &str)] = &[
            ("hello world", "o w"),
            ("hello world", "o"),
            ("hello world", ""),
            ("hello world", "l+"),
            ("hello world", "l*"),
            ("hello world", "l-o"),
            ("hello world", "^h"),
            ("hello world", "^w"),
            ("hello world", "d$"),
            ("hello world", "(o)(r)"),
            ("hello world", "()ll()"),
            ("hello world", "(h)(e)(l)%3"),
            ("hello world", "%a+"),
            ("hello world", "%A+"),
            ("  x\t\n\x0by ", "%s+"),
            ("key = value", "(%w+)%s*=%s*(%w+)"),
            ("THE (quick) fox", "%((%a+)%)"),
            ("THE (quick) fox", "%f[%a]%a+"),
            ("THE (quick) fox", "%f[%l]%a+"),
            ("x = [[a[b]c]] y", "%b[]"),
            ("f(a(b)c) d", "%b()"),
            ("abc123def", "[%d]+"),
            ("abc123def", "[^%d]+"),
            ("abc-123", "[a-c]+"),
            ("a]b", "[]]"),
            ("a^b", "[%^b]+"),
            ("a-b", "[a%-]+"),
            ("a.b", "%."),
            ("a.b", "."),
            ("2024-01-05", "(%d+)-(%d+)-(%d+)"),
            ("aaa", "a-b"),
            ("aaab", "a-b"),
            ("aaa", "a?a?a?a"),
            ("one two  three", "%S+"),
            ("0x1F 0xzz", "0x%x+"),
            ("é ü", "[é]+"),
            ("é ü", "[À-ÿ]+"),
            ("abc", "((a)(b))"),
            ("abc", "[a"),
            ("abc", "%"),
            ("abc", "(a"),
            ("abc", "a)"),
            ("abc", "%1"),
            ("abc", "%f"),
            ("abc", "%b"),
            ("$x$", "%$(.)%$"),
            ("a$b", "$b"),
            ("a.b.c", "%.?b"),
            ("CamelCaseWord", "%u%l+"),
            ("a,b,,c", "([^,]*)"),
        ];
        let mut code = String::from(
            "local function ser(...) local n = select('#', ...) local t = {} \
               for i = 1, n do local v = select(i, ...) t[#t + 1] = type(v) .. ':' .. tostring(v) end \
               return table.concat(t, ',') end \
             local function try(f, ...) local r = table.pack(pcall(f, ...)) \
               if r[1] then return ser(table.unpack(r, 2, r.n)) end \
               return 'ERR:' .. (tostring(r[2]):match('[^\\n]*')) end \
             local out = {} local function add(x) out[#out + 1] = x end \
             local function gm(s, p) local t = {} for a, b in string.gmatch(s, p) do t[#t + 1] = ser(a, b) \
               if #t > 50 then break end end return table.concat(t, ';') end \
             local cases = {",
        );
        for (s, p) in cases {
            code.push_str(&format!("{{{:?}, {:?}}},", s, p));
        }
        code.push_str(
            "} for _, c in ipairs(cases) do local s, p = c[1], c[2] \
               add(try(string.find, s, p)) add(try(string.find, s, p, 3)) \
               add(try(string.find, s, p, -4)) add(try(string.find, s, p, 1, true)) \
               add(try(string.match, s, p)) add(try(string.match, s, p, 2)) \
               add(try(gm, s, p)) add(try(string.gsub, s, p, '<%0>')) \
               add(try(string.gsub, s, p, '%1', 2)) add(try(string.gsub, s, p, '%%')) \
               add(try(string.gsub, s, p, function(a, b) return b or (a .. '!') end)) \
               add(try(string.gsub, s, p, {h = 'H', o = false, l = 1.5, a = 'A'})) \
               add(try(s.find, s, p)) end \
             return table.concat(out, '\\0')",
        );
        let real = Lua::new();
        let want = real
            .load(&code)
            .eval::<mlua::String>()
            .unwrap()
            .to_string_lossy();
        let (lua, running, _) = state();
        let got = match run(&lua, &running, &code, ctx(10_000, 100_000_000)).unwrap() {
            mlua::Value::String(s) => s.to_string_lossy(),
            other => panic!("{other:?}"),
        };
        let (want, got): (Vec<&str>, Vec<&str>) =
            (want.split('\0').collect(), got.split('\0').collect());
        assert_eq!(want.len(), got.len());
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            let (s, p) = cases[i / 13];
            if w.starts_with("ERR:") {
                // Lua may put a position before the message; mlua puts "runtime error: ".
                let ours = g
                    .trim_start_matches("ERR:")
                    .trim_start_matches("runtime error: ");
                assert!(
                    g.starts_with("ERR:") && w.ends_with(ours),
                    "{s:?} {p:?} #{}: lua {w} / ours {g}",
                    i % 13
                );
            } else {
                assert_eq!(w, g, "{s:?} {p:?} #{}", i % 13);
            }
        }
    }
}
