//! String commands: `GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR
//! DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR SETRANGE`, as Redis 7 answers
//! them (`LCS` is in `cmd_lcs.rs`, the bit commands in `cmd_bits.rs`).

use super::engine::{CmdResult, Ctx, bounded, int_arg, is};
use super::keys::{Kind, Meta};
use super::{DbError, Reply};

fn value(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    ctx.typed(key, Kind::String)
}

/// Replaces whatever `key` holds with the value argument `v` (in the command's value
/// form), expiring at `expire` (0 = never).
pub fn put(ctx: &mut Ctx<'_>, key: &[u8], v: &[u8], expire: u64) -> Result<(), DbError> {
    let old = ctx.meta(key)?;
    let mut old_expire = 0;
    if let Some(o) = old {
        if o.kind != Kind::String {
            ctx.remove(key, &o)?;
        } else {
            old_expire = o.expire;
        }
    }
    let v = ctx.store_val(v);
    let bytes = Meta::encode_string(expire, bounded(&v)?);
    ctx.put_meta_bytes(key, bytes, expire, old_expire)
}

/// `GET key`.
pub fn get(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(match value(ctx, a[1])? {
        Some(m) => ctx.bulk(m.value),
        None => Reply::Nil,
    })
}

fn expire_at(
    ctx: &Ctx<'_>,
    unit_ms: u64,
    absolute: bool,
    arg: &[u8],
    cmd: &str,
) -> Result<u64, DbError> {
    let n = int_arg(arg)?;
    let bad = || DbError::Other(format!("invalid expire time in '{cmd}' command"));
    if n <= 0 {
        return Err(bad());
    }
    let ms = (n as u64).checked_mul(unit_ms).ok_or_else(bad)?;
    let at = if absolute {
        Some(ms)
    } else {
        ctx.now.checked_add(ms)
    };
    at.filter(|&t| t <= i64::MAX as u64).ok_or_else(bad)
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]`.
pub fn set(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (key, v) = (a[1], a[2]);
    let (mut nx, mut xx, mut get, mut keep) = (false, false, false, false);
    let mut exp: Option<(u64, bool, &[u8])> = None;
    let mut i = 3;
    while i < a.len() {
        let o = a[i];
        let next = a.get(i + 1).copied();
        if is(o, "nx") && !xx {
            nx = true;
        } else if is(o, "xx") && !nx {
            xx = true;
        } else if is(o, "get") {
            get = true;
        } else if is(o, "keepttl") && exp.is_none() {
            keep = true;
        } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat"))
            && exp.is_none()
            && !keep
            && next.is_some()
        {
            let unit = if is(o, "ex") || is(o, "exat") {
                1000
            } else {
                1
            };
            let abs = is(o, "exat") || is(o, "pxat");
            exp = Some((unit, abs, next.unwrap_or_default()));
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    let expire = match exp {
        Some((unit, abs, arg)) => Some(expire_at(ctx, unit, abs, arg, "set")?),
        None => None,
    };
    let old = ctx.meta(key)?;
    if get && old.as_ref().is_some_and(|m| m.kind != Kind::String) {
        return Err(DbError::WrongType);
    }
    let exists = old.is_some();
    let prev = old.as_ref().map(|m| ctx.reply_val(m.value.clone()));
    if (nx && exists) || (xx && !exists) {
        return Ok(if get {
            prev.map_or(Reply::Nil, Reply::Bulk)
        } else {
            Reply::Nil
        });
    }
    let expire = match expire {
        Some(t) => t,
        None if keep => old.as_ref().map_or(0, |m| m.expire),
        None => 0,
    };
    put(ctx, key, v, expire)?;
    Ok(if get {
        prev.map_or(Reply::Nil, Reply::Bulk)
    } else {
        Reply::OK
    })
}

/// `SETNX key value`.
pub fn setnx(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if ctx.meta(a[1])?.is_some() {
        return Ok(Reply::Int(0));
    }
    put(ctx, a[1], a[2], 0)?;
    Ok(Reply::Int(1))
}

/// `SETEX key seconds value`.
pub fn setex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let at = expire_at(ctx, 1000, false, a[2], "setex")?;
    put(ctx, a[1], a[3], at)?;
    Ok(Reply::OK)
}

/// `PSETEX key ms value`.
pub fn psetex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let at = expire_at(ctx, 1, false, a[2], "psetex")?;
    put(ctx, a[1], a[3], at)?;
    Ok(Reply::OK)
}

/// `GETSET key value`.
pub fn getset(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let old = value(ctx, a[1])?;
    put(ctx, a[1], a[2], 0)?;
    Ok(old.map_or(Reply::Nil, |m| ctx.bulk(m.value)))
}

/// `GETDEL key`.
pub fn getdel(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    match value(ctx, a[1])? {
        Some(m) => {
            ctx.remove(a[1], &m)?;
            Ok(ctx.bulk(m.value))
        }
        None => Ok(Reply::Nil),
    }
}

/// The most value bytes one command may gather when it can name the same values many
/// times over (`MGET k k k ...`, `HRANDFIELD` with a negative count, `BITOP`'s sources): a
/// short request must not make the one thread build gigabytes.
pub const MAX_GATHER: usize = 64 << 20;

/// The error past [`MAX_GATHER`].
pub fn gather_error() -> DbError {
    DbError::Other(format!(
        "the values this command reads exceed {} MiB (the Mimei database's limit per command)",
        MAX_GATHER >> 20
    ))
}

/// `MGET key...`: a key of another type reads as nil.
pub fn mget(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut out = Vec::with_capacity(a.len() - 1);
    let mut total = 0usize;
    for k in &a[1..] {
        out.push(match ctx.meta(k)? {
            Some(m) if m.kind == Kind::String => {
                total += m.value.len();
                if total > MAX_GATHER {
                    return Err(gather_error());
                }
                ctx.bulk(m.value)
            }
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// `MSET key value ...`.
pub fn mset(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(DbError::Arity("mset".into()));
    }
    for p in a[1..].chunks(2) {
        bounded(p[1])?;
    }
    for p in a[1..].chunks(2) {
        put(ctx, p[0], p[1], 0)?;
    }
    Ok(Reply::OK)
}

/// `MSETNX key value ...`: all or nothing.
pub fn msetnx(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(DbError::Arity("msetnx".into()));
    }
    for p in a[1..].chunks(2) {
        if ctx.meta(p[0])?.is_some() {
            return Ok(Reply::Int(0));
        }
    }
    mset(ctx, a)?;
    Ok(Reply::Int(1))
}

/// Adds `by` to the integer in `key` (0 when absent); the new value.
pub fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> Result<i64, DbError> {
    let old = value(ctx, key)?;
    let (cur, expire) = match &old {
        Some(m) => (
            super::typed::int_of(&m.value).ok_or(DbError::NotInteger)?,
            m.expire,
        ),
        None => (0, 0),
    };
    let n = cur.checked_add(by).ok_or(DbError::Overflow)?;
    let mut m = Meta::string(n.to_string().into_bytes());
    m.expire = expire;
    ctx.put_meta(key, &m, expire)?;
    Ok(n)
}

/// `INCR key`.
pub fn incr(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(incr_by(ctx, a[1], 1)?))
}

/// `DECR key`.
pub fn decr(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(incr_by(ctx, a[1], -1)?))
}

/// `INCRBY key n`.
pub fn incrby(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let by = int_arg(a[2])?;
    Ok(Reply::Int(incr_by(ctx, a[1], by)?))
}

/// `DECRBY key n`.
pub fn decrby(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let by = int_arg(a[2])?;
    let by = by
        .checked_neg()
        .ok_or_else(|| DbError::Other("decrement would overflow".into()))?;
    Ok(Reply::Int(incr_by(ctx, a[1], by)?))
}

/// `APPEND key value`: the new length.
pub fn append(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (v, expire) = match value(ctx, a[1])? {
        Some(m) => (super::typed::unescape(m.value), m.expire),
        None => (Vec::new(), 0),
    };
    let mut v = v;
    if v.len() + a[2].len() > super::MAX_VALUE {
        return Err(DbError::TooLarge);
    }
    v.extend_from_slice(a[2]);
    let n = v.len();
    // What was appended to is plain bytes now, whatever it was before.
    let mut m = Meta::string(super::typed::escape(&v).into_owned());
    m.expire = expire;
    ctx.put_meta(a[1], &m, expire)?;
    Ok(Reply::Int(n as i64))
}

/// `STRLEN key`.
pub fn strlen(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(
        value(ctx, a[1])?.map_or(0, |m| super::typed::unescape(m.value).len()) as i64,
    ))
}

/// `INCRBYFLOAT key increment`: the new value, as text (also what is stored).
pub fn incrbyfloat(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let old = value(ctx, a[1])?;
    let by = super::engine::float_arg(a[2])?;
    let (cur_text, expire) = match &old {
        Some(m) => (super::typed::unescape(m.value.clone()), m.expire),
        None => (b"0".to_vec(), 0),
    };
    let cur = super::num::parse_float(&cur_text).ok_or(DbError::NotFloat)?;
    let text = add_floats(&cur_text, cur, a[2], by)?;
    let mut m = Meta::string(text.clone().into_bytes());
    m.expire = expire;
    ctx.put_meta(a[1], &m, expire)?;
    Ok(Reply::text(text))
}

/// `a + b` (given as text and as read) as `INCRBYFLOAT` and `HINCRBYFLOAT` answer it: in
/// Redis's long double when the texts allow (`db/ld.rs`), else in f64.
pub fn add_floats(a_text: &[u8], a: f64, b_text: &[u8], b: f64) -> Result<String, DbError> {
    if let Some(t) = super::ld::add_text(a_text, b_text) {
        return Ok(t);
    }
    let n = a + b;
    if !n.is_finite() {
        return Err(DbError::Other(
            "increment would produce NaN or Infinity".into(),
        ));
    }
    Ok(float_text(n))
}

/// A float as `INCRBYFLOAT` writes it in f64: plain decimal (no exponent), at most 17 digits after
/// the point, no trailing zeros, no negative zero.
pub fn float_text(n: f64) -> String {
    let n = if n == 0.0 { 0.0 } else { n };
    let s = format!("{n}");
    match s.split_once('.') {
        Some((_, frac)) if frac.len() > 17 => {
            let s = format!("{n:.17}");
            let t = s.trim_end_matches('0').trim_end_matches('.');
            if t == "-0" { "0".into() } else { t.into() }
        }
        _ => s,
    }
}

/// `GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]`: the value, and the key's expiry set or
/// removed.
pub fn getex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut exp: Option<(u64, bool, &[u8])> = None;
    let mut persist = false;
    let mut i = 2;
    while i < a.len() {
        let o = a[i];
        let next = a.get(i + 1).copied();
        if is(o, "persist") && exp.is_none() && !persist {
            persist = true;
        } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat"))
            && exp.is_none()
            && !persist
            && next.is_some()
        {
            let unit = if is(o, "ex") || is(o, "exat") {
                1000
            } else {
                1
            };
            exp = Some((
                unit,
                is(o, "exat") || is(o, "pxat"),
                next.unwrap_or_default(),
            ));
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    let Some(mut m) = value(ctx, a[1])? else {
        return Ok(Reply::Nil);
    };
    let old = m.expire;
    let reply = ctx.bulk(m.value.clone());
    if let Some((unit, abs, arg)) = exp {
        let at = getex_at(ctx, unit, abs, arg)?;
        if at <= ctx.now {
            ctx.remove(a[1], &m)?;
            return Ok(reply);
        }
        m.expire = at;
    } else if persist {
        m.expire = 0;
    } else {
        return Ok(reply);
    }
    if m.expire != old {
        ctx.put_meta(a[1], &m, old)?;
    }
    Ok(reply)
}

/// GETEX's expiry argument: like SET's, but an absolute time in the past is allowed (the
/// key is deleted).
fn getex_at(ctx: &Ctx<'_>, unit_ms: u64, absolute: bool, arg: &[u8]) -> Result<u64, DbError> {
    let n = int_arg(arg)?;
    let bad = || DbError::Other("invalid expire time in 'getex' command".into());
    if n <= 0 || (unit_ms == 1000 && n > i64::MAX / 1000) {
        return Err(bad());
    }
    let ms = n as u64 * unit_ms;
    let at = if absolute {
        Some(ms)
    } else {
        ctx.now.checked_add(ms)
    };
    at.filter(|&t| t <= i64::MAX as u64).ok_or_else(bad)
}

/// `GETRANGE key start end` (and the older `SUBSTR`): the bytes from `start` to `end`
/// inclusive, negative counting from the end, clamped.
pub fn getrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (start, end) = (int_arg(a[2])?, int_arg(a[3])?);
    let v = match value(ctx, a[1])? {
        Some(m) => super::typed::unescape(m.value),
        None => return Ok(Reply::Bulk(Vec::new())),
    };
    let len = v.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return Ok(Reply::Bulk(Vec::new()));
    }
    let s = if start < 0 { len + start } else { start }.max(0);
    let e = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if s > e {
        return Ok(Reply::Bulk(Vec::new()));
    }
    Ok(plain_bulk(ctx, &v[s as usize..=e as usize]))
}

/// Plain bytes (part of a string's value) as a bulk reply in the command's value form.
pub fn plain_bulk(ctx: &Ctx<'_>, v: &[u8]) -> Reply {
    match ctx.values {
        super::typed::Values::Plain => Reply::Bulk(v.to_vec()),
        super::typed::Values::Stored => Reply::Bulk(super::typed::escape(v).into_owned()),
    }
}

/// `SETRANGE key offset value`: overwrites from `offset` (zero-padded), the new length.
pub fn setrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let off = int_arg(a[2])?;
    if off < 0 {
        return Err(DbError::Other("offset is out of range".into()));
    }
    let old = value(ctx, a[1])?;
    let (mut v, expire) = match old {
        Some(m) => (super::typed::unescape(m.value), m.expire),
        None if a[3].is_empty() => return Ok(Reply::Int(0)),
        None => (Vec::new(), 0),
    };
    if a[3].is_empty() {
        return Ok(Reply::Int(v.len() as i64));
    }
    let end = (off as u64)
        .checked_add(a[3].len() as u64)
        .filter(|&e| e <= super::MAX_VALUE as u64)
        .ok_or(DbError::TooLarge)? as usize;
    if v.len() < end {
        v.resize(end, 0);
    }
    v[off as usize..end].copy_from_slice(a[3]);
    let n = v.len();
    let mut m = Meta::string(super::typed::escape(&v).into_owned());
    m.expire = expire;
    ctx.put_meta(a[1], &m, expire)?;
    Ok(Reply::Int(n as i64))
}

#[cfg(test)]
mod tests {
    use super::super::engine::exec;
    use super::super::kv::MemKv;
    use super::super::{DbError, Reply};

    fn run(kv: &mut MemKv, now: u64, line: &str) -> Result<Reply, DbError> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        exec(kv, now, &args)
    }

    fn ok(kv: &mut MemKv, line: &str) -> Reply {
        run(kv, 1000, line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(kv: &mut MemKv, line: &str) -> String {
        run(kv, 1000, line).expect_err(line).to_string()
    }

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn incrbyfloat_reads_and_writes_plain_decimals() {
        let mut kv = MemKv::default();
        assert_eq!(ok(&mut kv, "INCRBYFLOAT f 10.5"), bulk("10.5"));
        assert_eq!(ok(&mut kv, "INCRBYFLOAT f 0.1"), bulk("10.6"));
        assert_eq!(ok(&mut kv, "INCRBYFLOAT f -10.6"), bulk("0"));
        ok(&mut kv, "SET f 17179869184");
        assert_eq!(ok(&mut kv, "INCRBYFLOAT f 1.5"), bulk("17179869185.5"));
        ok(&mut kv, "SET f 5e3");
        assert_eq!(ok(&mut kv, "INCRBYFLOAT f 2e2"), bulk("5200"));
        ok(&mut kv, "SET f 1x");
        assert_eq!(
            err(&mut kv, "INCRBYFLOAT f 1"),
            "ERR value is not a valid float"
        );
        ok(&mut kv, "SET f 0");
        assert_eq!(
            err(&mut kv, "INCRBYFLOAT f +inf"),
            "ERR increment would produce NaN or Infinity"
        );
        ok(&mut kv, "PSETEX t 5000 1");
        ok(&mut kv, "INCRBYFLOAT t 1");
        assert_eq!(ok(&mut kv, "PTTL t"), Reply::Int(5000));
    }

    #[test]
    fn getex_sets_or_removes_the_expiry() {
        let mut kv = MemKv::default();
        ok(&mut kv, "SET k v");
        assert_eq!(ok(&mut kv, "GETEX k PX 3000"), bulk("v"));
        assert_eq!(ok(&mut kv, "PTTL k"), Reply::Int(3000));
        assert_eq!(ok(&mut kv, "GETEX k PERSIST"), bulk("v"));
        assert_eq!(ok(&mut kv, "PTTL k"), Reply::Int(-1));
        assert_eq!(ok(&mut kv, "GETEX k EXAT 2"), bulk("v"));
        assert_eq!(ok(&mut kv, "PEXPIRETIME k"), Reply::Int(2000));
        // An absolute time already past removes the key (after answering it).
        assert_eq!(ok(&mut kv, "GETEX k PXAT 1"), bulk("v"));
        assert_eq!(ok(&mut kv, "EXISTS k"), Reply::Int(0));
        assert_eq!(ok(&mut kv, "GETEX nope EX 10"), Reply::Nil);
        ok(&mut kv, "SET k v");
        assert_eq!(err(&mut kv, "GETEX k EX 10 PERSIST"), "ERR syntax error");
        assert_eq!(err(&mut kv, "GETEX k FOO"), "ERR syntax error");
        assert_eq!(
            err(&mut kv, "GETEX k EX 10000000000000000"),
            "ERR invalid expire time in 'getex' command"
        );
        assert_eq!(
            err(&mut kv, "GETEX k EX -1"),
            "ERR invalid expire time in 'getex' command"
        );
    }

    #[test]
    fn getrange_and_setrange() {
        let mut kv = MemKv::default();
        ok(&mut kv, "SET k Hello_World");
        assert_eq!(ok(&mut kv, "GETRANGE k 0 3"), bulk("Hell"));
        assert_eq!(ok(&mut kv, "GETRANGE k -4 -1"), bulk("orld"));
        assert_eq!(ok(&mut kv, "SUBSTR k 5 5000"), bulk("_World"));
        assert_eq!(ok(&mut kv, "GETRANGE k 5 3"), bulk(""));
        assert_eq!(ok(&mut kv, "GETRANGE k 0 4294967297"), bulk("Hello_World"));
        assert_eq!(ok(&mut kv, "GETRANGE nope 0 -1"), bulk(""));
        assert_eq!(ok(&mut kv, "SETRANGE n 1 foo"), Reply::Int(4));
        assert_eq!(ok(&mut kv, "GET n"), Reply::Bulk(b"\0foo".to_vec()));
        assert_eq!(ok(&mut kv, "SETRANGE n 0 b"), Reply::Int(4));
        assert_eq!(ok(&mut kv, "GET n"), Reply::Bulk(b"bfoo".to_vec()));
        assert_eq!(ok(&mut kv, "SETRANGE e 0 "), Reply::Int(0));
        assert_eq!(ok(&mut kv, "EXISTS e"), Reply::Int(0));
        assert_eq!(
            err(&mut kv, "SETRANGE n -1 x"),
            "ERR offset is out of range"
        );
        assert!(err(&mut kv, "SETRANGE n 536870908 x").contains("maximum allowed size"));
        assert!(err(&mut kv, "SETRANGE n 9223372036854775807 x").contains("maximum allowed size"));
    }

    #[test]
    fn one_value_named_many_times_is_capped() {
        let mut kv = MemKv::default();
        let big = vec![b'x'; super::super::MAX_VALUE];
        exec(&mut kv, 1000, &[b"set", b"k", &big]).unwrap();
        let mut args: Vec<&[u8]> = vec![b"mget"];
        args.extend(std::iter::repeat_n(&b"k"[..], 300));
        let e = exec(&mut kv, 1000, &args).unwrap_err().to_string();
        assert!(e.contains("Mimei database's limit per command"), "{e}");
        args[0] = b"bitop";
        args.insert(1, b"or");
        args.insert(2, b"dest");
        let e = exec(&mut kv, 1000, &args).unwrap_err().to_string();
        assert!(e.contains("Mimei database's limit per command"), "{e}");
        assert_eq!(ok(&mut kv, "EXISTS dest"), Reply::Int(0));
        assert_eq!(
            ok(&mut kv, "MGET k nope").into_items().map(|v| v.len()),
            Some(2)
        );
    }
}
