//! List commands: `LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LRANGE LINDEX LLEN LSET`, and
//! Leither's `LCLEAR`. Elements sit at consecutive sequence numbers `head .. head + len`, so
//! pushes and pops at either end, `LINDEX` and `LSET` are one lookup each.

use super::engine::{CmdResult, Ctx, bounded, index_range, int_arg};
use super::keys::{self, Kind, Meta};
use super::{DbError, Reply};

fn list(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    ctx.typed(key, Kind::List)
}

fn push(ctx: &mut Ctx<'_>, a: &[&[u8]], left: bool, only_existing: bool) -> CmdResult {
    for v in &a[2..] {
        bounded(&ctx.store_val(v))?;
    }
    let key = a[1];
    let old = list(ctx, key)?;
    if old.is_none() && only_existing {
        return Ok(Reply::Int(0));
    }
    let expire = old.as_ref().map_or(0, |m| m.expire);
    let mut m = old.unwrap_or_else(|| Meta::new(Kind::List));
    for v in &a[2..] {
        let seq = if left {
            m.head -= 1;
            m.head
        } else {
            m.head + m.len
        };
        m.len += 1;
        let v = ctx.store_val(v);
        ctx.kv.put(&keys::list_elem(key, seq), &v)?;
    }
    ctx.put_meta(key, &m, expire)?;
    Ok(Reply::Int(m.len as i64))
}

/// `LPUSH key value...`: the new length.
pub fn lpush(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    push(ctx, a, true, false)
}

/// `RPUSH key value...`.
pub fn rpush(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    push(ctx, a, false, false)
}

/// `LPUSHX key value...`.
pub fn lpushx(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    push(ctx, a, true, true)
}

/// `RPUSHX key value...`.
pub fn rpushx(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    push(ctx, a, false, true)
}

fn pop(ctx: &mut Ctx<'_>, a: &[&[u8]], left: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(DbError::Syntax);
    }
    let count = match a.get(2) {
        Some(c) => {
            let n = int_arg(c)
                .map_err(|_| DbError::Other("value is out of range, must be positive".into()))?;
            if n < 0 {
                return Err(DbError::Other(
                    "value is out of range, must be positive".into(),
                ));
            }
            Some(n as u64)
        }
        None => None,
    };
    let key = a[1];
    let Some(mut m) = list(ctx, key)? else {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    let expire = m.expire;
    let n = count.unwrap_or(1).min(m.len);
    let mut out = Vec::new();
    for _ in 0..n {
        let seq = if left { m.head } else { m.head + m.len - 1 };
        let ek = keys::list_elem(key, seq);
        let v = ctx.kv.get(&ek)?.unwrap_or_default();
        out.push(ctx.reply_val(v));
        ctx.kv.del(&ek)?;
        if left {
            m.head += 1;
        }
        m.len -= 1;
    }
    if n > 0 {
        ctx.store_or_drop(key, &m, expire)?;
    }
    Ok(match count {
        Some(_) => Reply::bulks(out),
        None => out.pop().map_or(Reply::Nil, Reply::Bulk),
    })
}

/// `LPOP key [count]`.
pub fn lpop(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    pop(ctx, a, true)
}

/// `RPOP key [count]`.
pub fn rpop(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    pop(ctx, a, false)
}

/// The elements `start..=stop` (Redis's index rules: negative from the end, clamped), in
/// the command's value form.
pub fn range(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    start: i64,
    stop: i64,
) -> Result<Vec<Vec<u8>>, DbError> {
    let Some(m) = list(ctx, key)? else {
        return Ok(Vec::new());
    };
    let Some((s, e)) = index_range(start, stop, m.len) else {
        return Ok(Vec::new());
    };
    let from = keys::list_elem(key, m.head + s as u64);
    let to = keys::list_elem(key, m.head + e as u64 + 1);
    let mut out = Vec::with_capacity((e - s + 1) as usize);
    ctx.kv.scan(&from, &to, false, &mut |_, v| {
        out.push(v.to_vec());
        true
    })?;
    Ok(out.into_iter().map(|v| ctx.reply_val(v)).collect())
}

/// `LRANGE key start stop`.
pub fn lrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (s, e) = (int_arg(a[2])?, int_arg(a[3])?);
    Ok(Reply::bulks(range(ctx, a[1], s, e)?))
}

fn index(m: &Meta, i: i64) -> Option<u64> {
    let len = m.len as i64;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then(|| m.head + i as u64)
}

/// `LINDEX key index`.
pub fn lindex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    // Redis looks the key up before it reads the index.
    let Some(m) = list(ctx, a[1])? else {
        return Ok(Reply::Nil);
    };
    let i = int_arg(a[2])?;
    match index(&m, i) {
        Some(seq) => Ok(ctx
            .kv
            .get(&keys::list_elem(a[1], seq))?
            .map_or(Reply::Nil, |v| ctx.bulk(v))),
        None => Ok(Reply::Nil),
    }
}

/// `LLEN key`.
pub fn llen(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(list(ctx, a[1])?.map_or(0, |m| m.len) as i64))
}

/// `LSET key index value`.
pub fn lset(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    // Redis looks the key up before it reads the index.
    let m = list(ctx, a[1])?.ok_or(DbError::NoSuchKey)?;
    let i = int_arg(a[2])?;
    let v = ctx.store_val(a[3]);
    bounded(&v)?;
    let seq = index(&m, i).ok_or(DbError::OutOfRange)?;
    ctx.kv.put(&keys::list_elem(a[1], seq), &v)?;
    ctx.put_meta(a[1], &m, m.expire)?;
    Ok(Reply::OK)
}

/// `LCLEAR key`: removes the list; how many elements it had.
pub fn lclear(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    match list(ctx, a[1])? {
        Some(m) => {
            ctx.remove(a[1], &m)?;
            Ok(Reply::Int(m.len as i64))
        }
        None => Ok(Reply::Int(0)),
    }
}
