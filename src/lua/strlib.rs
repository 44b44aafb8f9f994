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

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Lua, MultiValue, String as LuaString, Table, Value};

use super::meter::{Running, current};
use super::pattern::{Capture, Matcher, PatError, no_specials};

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

/// A plain substring search, charged one step per start position tried plus the bytes
/// compared (lstrlib's `lmemfind` is O(n*m) in the worst case too).
fn memfind(s: &[u8], p: &[u8], charge: &mut impl FnMut(u64) -> R<()>) -> R<Option<usize>> {
    if p.is_empty() {
        return Ok(Some(0));
    }
    if p.len() > s.len() {
        return Ok(None);
    }
    let cost = 1 + p.len() as u64 / 64;
    let mut spent = 0u64;
    for i in 0..=s.len() - p.len() {
        spent += cost;
        if spent >= 1024 {
            charge(spent)?;
            spent = 0;
        }
        if s[i] == p[0] && &s[i..i + p.len()] == p {
            return Ok(Some(i));
        }
    }
    charge(spent)?;
    Ok(None)
}

/// `string.find` (`find` true) and `string.match`.
fn find_aux(
    lua: &Lua,
    running: &Running,
    (s, p, init, plain): (LuaString, LuaString, Option<i64>, Option<Value>),
    find: bool,
) -> mlua::Result<MultiValue> {
    let (sb, pb) = (s.as_bytes(), p.as_bytes());
    let (sb, pb): (&[u8], &[u8]) = (&sb, &pb);
    let init = posrelat(init.unwrap_or(1), sb.len()) - 1;
    if init > sb.len() {
        return Ok(MultiValue::from_iter([Value::Nil]));
    }
    let mut charge = charger(running);
    if find && (truthy(&plain) || no_specials(pb)) {
        return Ok(
            match memfind(&sb[init..], pb, &mut charge).map_err(lua_err)? {
                Some(i) => MultiValue::from_iter([
                    Value::Integer((init + i + 1) as i64),
                    Value::Integer((init + i + pb.len()) as i64),
                ]),
                None => MultiValue::from_iter([Value::Nil]),
            },
        );
    }
    let (anchor, pb) = match pb.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, pb),
    };
    let mut m = Matcher::new(sb, pb, charge);
    let mut s1 = init;
    loop {
        if let Some(e) = m.match_at(s1).map_err(lua_err)? {
            m.settle().map_err(lua_err)?;
            let mut out = Vec::new();
            if find {
                out.push(Value::Integer(s1 as i64 + 1));
                out.push(Value::Integer(e as i64));
            }
            let caps = m.captures(s1, e, !find).map_err(lua_err)?;
            push_caps(lua, sb, caps, &mut out)?;
            return Ok(MultiValue::from_iter(out));
        }
        if anchor || s1 >= sb.len() {
            break;
        }
        s1 += 1;
    }
    m.settle().map_err(lua_err)?;
    Ok(MultiValue::from_iter([Value::Nil]))
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
        let (sb, pb) = (s.as_bytes(), p.as_bytes());
        let (sb, pb): (&[u8], &[u8]) = (&sb, &pb);
        let mut m = Matcher::new(sb, pb, charger(&running));
        let mut src = next.get();
        while src <= sb.len() {
            if let Some(e) = m.match_at(src).map_err(lua_err)?
                && Some(e) != last.get()
            {
                m.settle().map_err(lua_err)?;
                next.set(e);
                last.set(Some(e));
                let mut out = Vec::new();
                push_caps(
                    lua,
                    sb,
                    m.captures(src, e, true).map_err(lua_err)?,
                    &mut out,
                )?;
                return Ok(MultiValue::from_iter(out));
            }
            src += 1;
        }
        m.settle().map_err(lua_err)?;
        Ok(MultiValue::new())
    })
}

/// What `gsub` replaces a match with.
enum Repl {
    Str(Vec<u8>),
    Table(Table),
    Func(mlua::Function),
}

/// `string.gsub`, its result capped at `max_bytes`.
fn gsub(
    lua: &Lua,
    running: &Running,
    (s, p, repl, max_n): (LuaString, LuaString, Value, Option<i64>),
    max_bytes: usize,
) -> mlua::Result<(Value, i64)> {
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
    let (sb, pb) = (s.as_bytes(), p.as_bytes());
    let (sb, pb): (&[u8], &[u8]) = (&sb, &pb);
    let max_s = max_n.unwrap_or(sb.len() as i64 + 1);
    let (anchor, pb) = match pb.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, pb),
    };
    let mut m = Matcher::new(sb, pb, charger(running));
    let mut out: Vec<u8> = Vec::new();
    let (mut n, mut changed, mut src, mut last) = (0i64, false, 0usize, None);
    let too_big = || {
        mlua::Error::runtime(format!(
            "not enough memory: the result of gsub would pass the service's {} MiB (ram in lever.json)",
            max_bytes >> 20
        ))
    };
    while n < max_s {
        match m.match_at(src).map_err(lua_err)? {
            Some(e) if Some(e) != last => {
                n += 1;
                changed |= add_value(lua, &m, sb, src, e, &repl, &mut out)?;
                src = e;
                last = Some(e);
            }
            _ if src < sb.len() => {
                out.push(sb[src]);
                src += 1;
            }
            _ => break,
        }
        if out.len() > max_bytes {
            return Err(too_big());
        }
        if anchor {
            break;
        }
    }
    m.settle().map_err(lua_err)?;
    if !changed {
        return Ok((Value::String(s.clone()), n));
    }
    out.extend_from_slice(&sb[src..]);
    if out.len() > max_bytes {
        return Err(too_big());
    }
    Ok((Value::String(lua.create_string(&out)?), n))
}

/// Appends the replacement of match `s..e` to `out`; false when the original text was kept.
fn add_value<F: FnMut(u64) -> R<()>>(
    lua: &Lua,
    m: &Matcher<'_, F>,
    src: &[u8],
    s: usize,
    e: usize,
    repl: &Repl,
    out: &mut Vec<u8>,
) -> mlua::Result<bool> {
    let v = match repl {
        Repl::Str(r) => {
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
            return Ok(true);
        }
        Repl::Table(t) => {
            let key = to_lua(lua, src, m.capture(0, s, e).map_err(lua_err)?)?;
            t.get::<Value>(key)?
        }
        Repl::Func(f) => {
            let mut args = Vec::new();
            push_caps(
                lua,
                src,
                m.captures(s, e, true).map_err(lua_err)?,
                &mut args,
            )?;
            f.call::<Value>(MultiValue::from_iter(args))?
        }
    };
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

/// Replaces the four matching functions of `string` in `lua` with the metered ones; `gsub`
/// results are capped at `max_bytes`.
pub fn install(lua: &Lua, running: &Running, max_bytes: usize) -> mlua::Result<()> {
    let string: Table = lua.globals().raw_get("string")?;
    let r = running.clone();
    string.raw_set(
        "find",
        lua.create_function(move |lua, a| find_aux(lua, &r, a, true))?,
    )?;
    let r = running.clone();
    string.raw_set(
        "match",
        lua.create_function(move |lua, a| find_aux(lua, &r, a, false))?,
    )?;
    let r = running.clone();
    string.raw_set(
        "gmatch",
        lua.create_function(move |lua, a| gmatch(lua, &r, a))?,
    )?;
    let r = running.clone();
    string.raw_set(
        "gsub",
        lua.create_function(move |lua, a| gsub(lua, &r, a, max_bytes))?,
    )?;
    Ok(())
}
