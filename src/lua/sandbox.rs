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
    let running2 = running.clone();
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
    super::strlib::install(&lua, &running2, memory_limit)?;
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
