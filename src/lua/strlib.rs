//! `string.find`, `string.match`, `string.gmatch` and `string.gsub` of the sandbox, backed by
//! the step-counted matcher of [`super::pattern`] instead of lstrlib.c's.
//!
//! Lua's matcher backtracks inside C, out of the count hook's reach, so one call could hold
//! the node's thread for minutes. These replacements keep lstrlib's argument rules and
//! results and bill every matching step to the running call's instruction budget (one step,
//! one instruction; see [`crate::lua::meter::CallCtx::charge`]). Over budget or past the
//! deadline, the match ends with the limit's message and the sandbox's `pcall` re-raises it.
//! They replace the entries of the `string` table, which is also the string metatable's
//! `__index`, so `("x"):find(...)` is covered too. `gsub` builds its result outside Lua's
//! allocator, so it is capped at the state's memory limit itself.
//!
//! A long match must not hold the node's one thread either, so each function is a Lua
//! wrapper (`WRAPPERS`) around a resumable job ([`Job`]): when the call's time slice is over
//! (and the running coroutine may pause: [`crate::lua::meter::CallCtx::can_pause`]) the job
//! stops between two steps and returns a marker and a function that goes on; the wrapper
//! passes the pause up (the sandbox's `pass_up`) and calls it. `gsub`'s replacement function
//! and table lookup are called by the wrapper too, as Lua code, so they are sliced like any
//! other code (called from Rust they would run inside a C function, where Lua cannot pause).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mlua::{Lua, MultiValue, String as LuaString, Table, Value};

use super::meter::{Running, current};
use super::pattern::{Capture, Matcher, PatError, State, no_specials};

/// Steps one match may take when no call is running (code run outside any call's limits).
pub const STEPS_OUTSIDE_CALL: u64 = 10_000_000;

type R<T> = Result<T, PatError>;

/// The charge function of a match: the running call's budget, else a fixed allowance.
fn charger(running: &Running) -> impl FnMut(u64) -> R<()> + use<> {
    let ctx = current(running);
    let mut left = STEPS_OUTSIDE_CALL;
    move |n| match &ctx {
        Some(c) => match c.charge(n) {
            Some(limit) => Err(PatError(limit.message())),
            None => Ok(()),
        },
        None => {
            left = left.saturating_sub(n);
            if left == 0 {
                Err(PatError(format!(
                    "pattern matching took more than {STEPS_OUTSIDE_CALL} steps and was stopped"
                )))
            } else {
                Ok(())
            }
        }
    }
}

fn lua_err(e: PatError) -> mlua::Error {
    mlua::Error::runtime(e.0)
}

/// lstrlib's `posrelatI`: a 1-based start from a possibly negative one.
fn posrelat(pos: i64, len: usize) -> usize {
    if pos > 0 {
        usize::try_from(pos).unwrap_or(usize::MAX)
    } else if pos == 0 || pos.unsigned_abs() > len as u64 {
        1
    } else {
        len - pos.unsigned_abs() as usize + 1
    }
}

fn truthy(v: &Option<Value>) -> bool {
    !matches!(v, None | Some(Value::Nil) | Some(Value::Boolean(false)))
}

fn to_lua(lua: &Lua, src: &[u8], c: Capture) -> mlua::Result<Value> {
    match c {
        Capture::Str(a, b) => Ok(Value::String(lua.create_string(&src[a..b])?)),
        Capture::Pos(n) => Ok(Value::Integer(n as i64)),
    }
}

fn push_caps(lua: &Lua, src: &[u8], caps: Vec<Capture>, out: &mut Vec<Value>) -> mlua::Result<()> {
    for c in caps {
        out.push(to_lua(lua, src, c)?);
    }
    Ok(())
}

/// What a plain search found.
enum Found {
    /// The needle at this position.
    At(usize),
    /// Not there.
    No,
    /// Not decided yet: go on from this position.
    Paused(usize),
}

/// A plain substring search from `at`, charged one step per start position tried plus the
/// bytes compared (lstrlib's `lmemfind` is O(n*m) in the worst case too); it stops when
/// `pause()` says so.
fn memfind(
    s: &[u8],
    p: &[u8],
    at: usize,
    charge: &mut impl FnMut(u64) -> R<()>,
    pause: &mut impl FnMut() -> bool,
) -> R<Found> {
    if p.is_empty() {
        return Ok(Found::At(at));
    }
    if at > s.len() || p.len() > s.len() - at {
        return Ok(Found::No);
    }
    let cost = 1 + p.len() as u64 / 64;
    let mut spent = 0u64;
    for i in at..=s.len() - p.len() {
        spent += cost;
        if spent >= 1024 {
            charge(spent)?;
            spent = 0;
            if pause() {
                return Ok(Found::Paused(i));
            }
        }
        if s[i] == p[0] && &s[i..i + p.len()] == p {
            return Ok(Found::At(i));
        }
    }
    charge(spent)?;
    Ok(Found::No)
}

/// What one run of a metered function gives its Lua wrapper (see the module doc).
enum Step {
    /// Its results.
    Done(MultiValue),
    /// Its slice is over: call it again once the node ran.
    Pause,
    /// Call this function with these arguments and give it the first result (`gsub`'s
    /// replacement function or table lookup, run as Lua code so it is sliced too).
    Call(mlua::Function, MultiValue),
}

/// A metered function's work, resumable.
trait Job: 'static {
    /// Goes on; `given` is what a [`Step::Call`] gave back.
    fn run(&mut self, lua: &Lua, given: MultiValue) -> mlua::Result<Step>;
}

/// Runs `job`: its results, or a pause or call for the Lua wrapper with the function that
/// goes on with it.
fn drive<J: Job>(lua: &Lua, mut job: J, given: MultiValue) -> mlua::Result<MultiValue> {
    let (marker, call) = match job.run(lua, given)? {
        Step::Done(v) => return Ok(v),
        Step::Pause => (PAUSED, None),
        Step::Call(f, args) => (CALL, Some((f, args))),
    };
    let slot = RefCell::new(Some(job));
    let cont = lua.create_function(move |lua, given: MultiValue| {
        let job = slot
            .borrow_mut()
            .take()
            .ok_or_else(|| mlua::Error::runtime("a string function was resumed twice"))?;
        drive(lua, job, given)
    })?;
    let mut out = vec![
        lua.named_registry_value::<Value>(marker)?,
        Value::Function(cont),
    ];
    if let Some((f, args)) = call {
        out.push(Value::Function(f));
        out.extend(args);
    }
    Ok(MultiValue::from_iter(out))
}

/// The pause question of a match: may the running call pause now (its slice is over)?
fn pauser(lua: &Lua, running: &Running) -> impl FnMut() -> bool + use<> {
    let ctx = current(running);
    let lua = lua.clone();
    move || ctx.as_ref().is_some_and(|c| c.can_pause(&lua))
}

/// The pattern without a leading `^`, and whether it had one.
fn anchored(p: &[u8]) -> (bool, &[u8]) {
    match p.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, p),
    }
}

/// `string.find` (`find` true) and `string.match`.
struct Find {
    s: LuaString,
    p: LuaString,
    find: bool,
    plain: bool,
    /// The start position tried now (a plain find: the next one).
    s1: usize,
    /// A match attempt at `s1` is under way in `st`.
    mid: bool,
    st: State,
    running: Running,
}

impl Job for Find {
    fn run(&mut self, lua: &Lua, _: MultiValue) -> mlua::Result<Step> {
        let (s, p) = (self.s.clone(), self.p.clone());
        let (sb, pb) = (s.as_bytes(), p.as_bytes());
        let (sb, pb): (&[u8], &[u8]) = (&sb, &pb);
        let mut charge = charger(&self.running);
        let mut pause = pauser(lua, &self.running);
        if self.plain {
            let at = self.s1;
            return Ok(
                match memfind(sb, pb, at, &mut charge, &mut pause).map_err(lua_err)? {
                    Found::At(i) => Step::Done(MultiValue::from_iter([
                        Value::Integer((i + 1) as i64),
                        Value::Integer((i + pb.len()) as i64),
                    ])),
                    Found::No => Step::Done(MultiValue::from_iter([Value::Nil])),
                    Found::Paused(next) => {
                        self.s1 = next;
                        Step::Pause
                    }
                },
            );
        }
        let (anchor, pb) = anchored(pb);
        let mut m = Matcher::with_state(sb, pb, charge, std::mem::take(&mut self.st));
        loop {
            if !self.mid {
                m.start(self.s1).map_err(lua_err)?;
                self.mid = true;
            }
            let Some(found) = m.resume(&mut pause).map_err(lua_err)? else {
                self.st = m.into_state();
                return Ok(Step::Pause);
            };
            self.mid = false;
            if let Some(e) = found {
                m.settle().map_err(lua_err)?;
                let mut out = Vec::new();
                if self.find {
                    out.push(Value::Integer(self.s1 as i64 + 1));
                    out.push(Value::Integer(e as i64));
                }
                let caps = m.captures(self.s1, e, !self.find).map_err(lua_err)?;
                push_caps(lua, sb, caps, &mut out)?;
                return Ok(Step::Done(MultiValue::from_iter(out)));
            }
            if anchor || self.s1 >= sb.len() {
                break;
            }
            self.s1 += 1;
        }
        m.settle().map_err(lua_err)?;
        Ok(Step::Done(MultiValue::from_iter([Value::Nil])))
    }
}

fn find_aux(
    lua: &Lua,
    running: &Running,
    (s, p, init, plain): (LuaString, LuaString, Option<i64>, Option<Value>),
    find: bool,
) -> mlua::Result<MultiValue> {
    let len = s.as_bytes().len();
    let init = posrelat(init.unwrap_or(1), len) - 1;
    if init > len {
        return Ok(MultiValue::from_iter([Value::Nil]));
    }
    let plain = find && (truthy(&plain) || no_specials(&p.as_bytes()));
    let job = Find {
        s,
        p,
        find,
        plain,
        s1: init,
        mid: false,
        st: State::default(),
        running: running.clone(),
    };
    drive(lua, job, MultiValue::new())
}

/// One call of a `string.gmatch` iterator: the next match from `next`.
struct Gmatch {
    s: LuaString,
    p: LuaString,
    next: Rc<Cell<usize>>,
    last: Rc<Cell<Option<usize>>>,
    src: usize,
    mid: bool,
    st: State,
    running: Running,
}

impl Job for Gmatch {
    fn run(&mut self, lua: &Lua, _: MultiValue) -> mlua::Result<Step> {
        let (s, p) = (self.s.clone(), self.p.clone());
        let (sb, pb) = (s.as_bytes(), p.as_bytes());
        let (sb, pb): (&[u8], &[u8]) = (&sb, &pb);
        let mut pause = pauser(lua, &self.running);
        let st = std::mem::take(&mut self.st);
        let mut m = Matcher::with_state(sb, pb, charger(&self.running), st);
        while self.src <= sb.len() {
            if !self.mid {
                m.start(self.src).map_err(lua_err)?;
                self.mid = true;
            }
            let Some(found) = m.resume(&mut pause).map_err(lua_err)? else {
                self.st = m.into_state();
                return Ok(Step::Pause);
            };
            self.mid = false;
            if let Some(e) = found
                && Some(e) != self.last.get()
            {
                m.settle().map_err(lua_err)?;
                self.next.set(e);
                self.last.set(Some(e));
                let mut out = Vec::new();
                let caps = m.captures(self.src, e, true).map_err(lua_err)?;
                push_caps(lua, sb, caps, &mut out)?;
                return Ok(Step::Done(MultiValue::from_iter(out)));
            }
            self.src += 1;
        }
        m.settle().map_err(lua_err)?;
        Ok(Step::Done(MultiValue::new()))
    }
}

/// `string.gmatch`: an iterator over the matches.
fn gmatch(
    lua: &Lua,
    running: &Running,
    (s, p, init): (LuaString, LuaString, Option<i64>),
) -> mlua::Result<mlua::Function> {
    let len = s.as_bytes().len();
    let init = posrelat(init.unwrap_or(1), len) - 1;
    let next = Rc::new(Cell::new(init.min(len + 1)));
    let last: Rc<Cell<Option<usize>>> = Rc::new(Cell::new(None));
    let running = running.clone();
    lua.create_function(move |lua, ()| {
        let job = Gmatch {
            s: s.clone(),
            p: p.clone(),
            next: next.clone(),
            last: last.clone(),
            src: next.get(),
            mid: false,
            st: State::default(),
            running: running.clone(),
        };
        drive(lua, job, MultiValue::new())
    })
}

/// What `gsub` replaces a match with.
enum Repl {
    Str(Vec<u8>),
    Table(Table),
    Func(mlua::Function),
}

/// `string.gsub`, its result capped at `max_bytes`.
struct Gsub {
    s: LuaString,
    p: LuaString,
    repl: Repl,
    max_s: i64,
    max_bytes: usize,
    out: Vec<u8>,
    n: i64,
    changed: bool,
    src: usize,
    last: Option<usize>,
    mid: bool,
    /// The match `s..e` whose replacement the Lua wrapper is computing (a [`Step::Call`]).
    waiting: Option<(usize, usize)>,
    st: State,
    running: Running,
}

impl Gsub {
    fn too_big(&self) -> mlua::Error {
        mlua::Error::runtime(format!(
            "not enough memory: the result of gsub would pass the service's {} MiB (ram in lever.json)",
            self.max_bytes >> 20
        ))
    }
}

impl Job for Gsub {
    fn run(&mut self, lua: &Lua, given: MultiValue) -> mlua::Result<Step> {
        let (s, p) = (self.s.clone(), self.p.clone());
        let (sb, pb) = (s.as_bytes(), p.as_bytes());
        let (sb, pb): (&[u8], &[u8]) = (&sb, &pb);
        let (anchor, pb) = anchored(pb);
        let mut pause = pauser(lua, &self.running);
        let st = std::mem::take(&mut self.st);
        let mut m = Matcher::with_state(sb, pb, charger(&self.running), st);
        if let Some((ms, e)) = self.waiting.take() {
            // The replacement function or table answered for match ms..e.
            let v = given.into_iter().next().unwrap_or(Value::Nil);
            self.changed |= apply_value(lua, v, sb, ms, e, &mut self.out)?;
            self.src = e;
            self.last = Some(e);
            if self.out.len() > self.max_bytes {
                return Err(self.too_big());
            }
            if anchor {
                return self.finish(lua, m, sb);
            }
        }
        while self.n < self.max_s {
            if !self.mid {
                m.start(self.src).map_err(lua_err)?;
                self.mid = true;
            }
            let Some(found) = m.resume(&mut pause).map_err(lua_err)? else {
                self.st = m.into_state();
                return Ok(Step::Pause);
            };
            self.mid = false;
            match found {
                Some(e) if Some(e) != self.last => {
                    self.n += 1;
                    let (ms, e) = (self.src, e);
                    match &self.repl {
                        Repl::Str(r) => {
                            add_string(&m, r, sb, ms, e, &mut self.out)?;
                            self.changed = true;
                        }
                        Repl::Table(t) => {
                            let key = to_lua(lua, sb, m.capture(0, ms, e).map_err(lua_err)?)?;
                            let index = lua.named_registry_value::<mlua::Function>(INDEX)?;
                            self.waiting = Some((ms, e));
                            self.st = m.into_state();
                            let args = MultiValue::from_iter([Value::Table(t.clone()), key]);
                            return Ok(Step::Call(index, args));
                        }
                        Repl::Func(f) => {
                            let mut args = Vec::new();
                            let caps = m.captures(ms, e, true).map_err(lua_err)?;
                            push_caps(lua, sb, caps, &mut args)?;
                            self.waiting = Some((ms, e));
                            self.st = m.into_state();
                            return Ok(Step::Call(f.clone(), MultiValue::from_iter(args)));
                        }
                    }
                    self.src = e;
                    self.last = Some(e);
                }
                _ if self.src < sb.len() => {
                    self.out.push(sb[self.src]);
                    self.src += 1;
                }
                _ => break,
            }
            if self.out.len() > self.max_bytes {
                return Err(self.too_big());
            }
            if anchor {
                break;
            }
        }
        self.finish(lua, m, sb)
    }
}

impl Gsub {
    /// The result once the matching is over.
    fn finish<F: FnMut(u64) -> R<()>>(
        &mut self,
        lua: &Lua,
        mut m: Matcher<'_, F>,
        sb: &[u8],
    ) -> mlua::Result<Step> {
        m.settle().map_err(lua_err)?;
        let n = Value::Integer(self.n);
        if !self.changed {
            return Ok(Step::Done(MultiValue::from_iter([
                Value::String(self.s.clone()),
                n,
            ])));
        }
        self.out.extend_from_slice(&sb[self.src..]);
        if self.out.len() > self.max_bytes {
            return Err(self.too_big());
        }
        let r = lua.create_string(&self.out)?;
        Ok(Step::Done(MultiValue::from_iter([Value::String(r), n])))
    }
}

fn gsub(
    lua: &Lua,
    running: &Running,
    (s, p, repl, max_n): (LuaString, LuaString, Value, Option<i64>),
    max_bytes: usize,
) -> mlua::Result<MultiValue> {
    let repl = match repl {
        Value::String(r) => Repl::Str(r.as_bytes().to_vec()),
        Value::Integer(_) | Value::Number(_) => Repl::Str(
            lua.coerce_string(repl)?
                .map(|r| r.as_bytes().to_vec())
                .unwrap_or_default(),
        ),
        Value::Table(t) => Repl::Table(t),
        Value::Function(f) => Repl::Func(f),
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument #3 to 'gsub' (string/function/table expected, got {})",
                if other.is_nil() {
                    "no value"
                } else {
                    other.type_name()
                }
            )));
        }
    };
    let max_s = max_n.unwrap_or(s.as_bytes().len() as i64 + 1);
    let job = Gsub {
        s,
        p,
        repl,
        max_s,
        max_bytes,
        out: Vec::new(),
        n: 0,
        changed: false,
        src: 0,
        last: None,
        mid: false,
        waiting: None,
        st: State::default(),
        running: running.clone(),
    };
    drive(lua, job, MultiValue::new())
}

/// Appends the replacement string `r` of match `s..e` (with `%0`-`%9` and `%%`) to `out`.
fn add_string<F: FnMut(u64) -> R<()>>(
    m: &Matcher<'_, F>,
    r: &[u8],
    src: &[u8],
    s: usize,
    e: usize,
    out: &mut Vec<u8>,
) -> mlua::Result<()> {
    let mut i = 0;
    while i < r.len() {
        let c = r[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let d = r.get(i).copied().unwrap_or(0);
        i += 1;
        if d == b'%' {
            out.push(b'%');
        } else if d == b'0' {
            out.extend_from_slice(&src[s..e]);
        } else if d.is_ascii_digit() {
            match m.capture(usize::from(d - b'1'), s, e).map_err(lua_err)? {
                Capture::Str(a, b) => out.extend_from_slice(&src[a..b]),
                Capture::Pos(p) => out.extend_from_slice(p.to_string().as_bytes()),
            }
        } else {
            return Err(mlua::Error::runtime(
                "invalid use of '%' in replacement string",
            ));
        }
    }
    Ok(())
}

/// Appends what the replacement function or table gave for match `s..e` to `out`; false
/// when the original text was kept.
fn apply_value(
    lua: &Lua,
    v: Value,
    src: &[u8],
    s: usize,
    e: usize,
    out: &mut Vec<u8>,
) -> mlua::Result<bool> {
    match v {
        Value::Nil | Value::Boolean(false) => {
            out.extend_from_slice(&src[s..e]);
            Ok(false)
        }
        Value::String(r) => {
            out.extend_from_slice(&r.as_bytes());
            Ok(true)
        }
        Value::Integer(_) | Value::Number(_) => {
            if let Some(r) = lua.coerce_string(v)? {
                out.extend_from_slice(&r.as_bytes());
            }
            Ok(true)
        }
        other => Err(mlua::Error::runtime(format!(
            "invalid replacement value (a {})",
            other.type_name()
        ))),
    }
}

/// The registry values shared with the Lua wrappers: the markers a metered function
/// returns first when it pauses or needs a call, and the table lookup `gsub` asks for.
const PAUSED: &str = "leither.str.paused";
const CALL: &str = "leither.str.call";
const INDEX: &str = "leither.str.index";

/// The Lua side of the metered functions: `finish` acts on what a run gave (a pause: pass
/// it up, then go on; a call: make it, then go on with its first result) until the results.
const WRAPPERS: &str = r#"
local find, match, gmatch, gsub, pass_up = ...
local PAUSED, CALL, rawequal, select = {}, {}, rawequal, select
local function finish(first, ...)
  if rawequal(first, PAUSED) then
    pass_up()
    return finish((...)())
  elseif rawequal(first, CALL) then
    local go, f = ...
    return finish(go(f(select(3, ...))))
  end
  return first, ...
end
return PAUSED, CALL, function(t, k) return t[k] end, {
  find = function(...) return finish(find(...)) end,
  match = function(...) return finish(match(...)) end,
  gmatch = function(...)
    local it = gmatch(...)
    return function() return finish(it()) end
  end,
  gsub = function(...) return finish(gsub(...)) end,
}
"#;

/// Replaces the four matching functions of `string` in `lua` with the metered ones; `gsub`
/// results are capped at `max_bytes`. `pass_up` is the sandbox's: it passes a pause up to
/// the call's coroutine when the running coroutine may yield (see `super::meter`).
pub fn install(
    lua: &Lua,
    running: &Running,
    max_bytes: usize,
    pass_up: mlua::Function,
) -> mlua::Result<()> {
    let string: Table = lua.globals().raw_get("string")?;
    let r = running.clone();
    let find = lua.create_function(move |lua, a| find_aux(lua, &r, a, true))?;
    let r = running.clone();
    let matcher = lua.create_function(move |lua, a| find_aux(lua, &r, a, false))?;
    let r = running.clone();
    let gmatcher = lua.create_function(move |lua, a| gmatch(lua, &r, a))?;
    let r = running.clone();
    let gsubber = lua.create_function(move |lua, a| gsub(lua, &r, a, max_bytes))?;
    let (paused, call, index, wrappers): (Value, Value, mlua::Function, Table) = lua
        .load(WRAPPERS)
        .set_name("=string")
        .call((find, matcher, gmatcher, gsubber, pass_up))?;
    lua.set_named_registry_value(PAUSED, paused)?;
    lua.set_named_registry_value(CALL, call)?;
    lua.set_named_registry_value(INDEX, index)?;
    for name in ["find", "match", "gmatch", "gsub"] {
        string.raw_set(name, wrappers.raw_get::<mlua::Function>(name)?)?;
    }
    Ok(())
}
