//! List commands: `LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LMPOP LMOVE RPOPLPUSH LRANGE LINDEX
//! LLEN LSET LINSERT LREM LTRIM LPOS`, and Leither's `LCLEAR`. How the elements are stored
//! (chunks, and the first layout still read) is `list.rs`; this file is Redis's arguments,
//! errors and replies. The blocking forms (`BLPOP`...) are the RESP door's, built on these.

use super::engine::{CmdResult, Ctx, bounded, index_range, int_arg, is};
use super::keys::{Kind, Meta};
use super::list;
use super::{DbError, Reply};

fn read(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    ctx.typed(key, Kind::List)
}

fn push(ctx: &mut Ctx<'_>, a: &[&[u8]], left: bool, only_existing: bool) -> CmdResult {
    for v in &a[2..] {
        bounded(&ctx.store_val(v))?;
    }
    let key = a[1];
    let old = list::writable(ctx, key)?;
    if old.is_none() && only_existing {
        return Ok(Reply::Int(0));
    }
    let expire = old.as_ref().map_or(0, |m| m.expire);
    let mut m = old.unwrap_or_else(|| Meta::new(Kind::List));
    let vals: Vec<_> = a[2..].iter().map(|v| ctx.store_val(v)).collect();
    list::push(ctx, key, &mut m, &vals, left)?;
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

fn must_be_positive() -> DbError {
    DbError::Other("value is out of range, must be positive".into())
}

/// Takes up to `n` elements off `key`'s head (`left`) or tail, in reply form; `None` when
/// there is no such list. Removes the key when it empties.
pub fn pop_n(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    n: u64,
    left: bool,
) -> Result<Option<Vec<Vec<u8>>>, DbError> {
    let Some(mut m) = list::writable(ctx, key)? else {
        return Ok(None);
    };
    let expire = m.expire;
    let out = list::pop(ctx, key, &mut m, n, left, true)?;
    if !out.is_empty() {
        ctx.store_or_drop(key, &m, expire)?;
    }
    Ok(Some(out.into_iter().map(|v| ctx.reply_val(v)).collect()))
}

fn pop(ctx: &mut Ctx<'_>, a: &[&[u8]], left: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(DbError::Arity(if left { "lpop" } else { "rpop" }.into()));
    }
    let count = match a.get(2) {
        Some(c) => Some(
            u64::try_from(int_arg(c).map_err(|_| must_be_positive())?)
                .map_err(|_| must_be_positive())?,
        ),
        None => None,
    };
    let Some(mut out) = pop_n(ctx, a[1], count.unwrap_or(1), left)? else {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
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

/// `LEFT` (true) or `RIGHT`, else a syntax error.
pub fn side(b: &[u8]) -> Result<bool, DbError> {
    if is(b, "left") {
        Ok(true)
    } else if is(b, "right") {
        Ok(false)
    } else {
        Err(DbError::Syntax)
    }
}

/// Moves one element from `src`'s end (`from_left`: head) to `dst`'s end (`to_left`): the
/// element in reply form, or nil when `src` is absent. A `dst` of another type is
/// `WRONGTYPE` before anything moves. `LMOVE`, `RPOPLPUSH` and their blocking forms.
pub fn move_one(
    ctx: &mut Ctx<'_>,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> CmdResult {
    let Some(mut sm) = list::writable(ctx, src)? else {
        return Ok(Reply::Nil);
    };
    let s_expire = sm.expire;
    if src == dst {
        let v = list::pop(ctx, src, &mut sm, 1, from_left, true)?;
        list::push(ctx, src, &mut sm, &v, to_left)?;
        ctx.put_meta(src, &sm, s_expire)?;
        return Ok(v.into_iter().next().map_or(Reply::Nil, |v| ctx.bulk(v)));
    }
    let dm = list::writable(ctx, dst)?;
    let v = list::pop(ctx, src, &mut sm, 1, from_left, true)?;
    ctx.store_or_drop(src, &sm, s_expire)?;
    let d_expire = dm.as_ref().map_or(0, |m| m.expire);
    let mut dm = dm.unwrap_or_else(|| Meta::new(Kind::List));
    list::push(ctx, dst, &mut dm, &v, to_left)?;
    ctx.put_meta(dst, &dm, d_expire)?;
    Ok(v.into_iter().next().map_or(Reply::Nil, |v| ctx.bulk(v)))
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`.
pub fn lmove(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (from, to) = (side(a[3])?, side(a[4])?);
    move_one(ctx, a[1], a[2], from, to)
}

/// `RPOPLPUSH source destination`.
pub fn rpoplpush(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    move_one(ctx, a[1], a[2], false, true)
}

/// The parsed arguments of `LMPOP`/`BLMPOP` from `numkeys` on: the keys, the side
/// (`LEFT`: true) and the count.
pub fn mpop_args<'a>(a: &[&'a [u8]]) -> Result<(Vec<&'a [u8]>, bool, u64), DbError> {
    let numkeys = a
        .first()
        .and_then(|n| int_arg(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| DbError::Other("numkeys should be greater than 0".into()))?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(1))
        .filter(|w| *w < a.len())
        .ok_or(DbError::Syntax)?;
    let left = side(a[where_at])?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < a.len() {
        if count.is_none() && is(a[j], "count") && j + 1 < a.len() {
            let c = int_arg(a[j + 1])
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| DbError::Other("count should be greater than 0".into()))?;
            count = Some(c as u64);
            j += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    Ok((a[1..where_at].to_vec(), left, count.unwrap_or(1)))
}

/// Pops up to `count` elements from the first non-empty list of `keys`: `[key, [elements]]`,
/// or nil (`*-1`) when all are absent. A key of another type met first is `WRONGTYPE`.
pub fn mpop(ctx: &mut Ctx<'_>, keys: &[&[u8]], left: bool, count: u64) -> CmdResult {
    for key in keys {
        if let Some(out) = pop_n(ctx, key, count, left)? {
            return Ok(Reply::Array(vec![
                Reply::Bulk(key.to_vec()),
                Reply::bulks(out),
            ]));
        }
    }
    Ok(Reply::NilArray)
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
pub fn lmpop(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (keys, left, count) = mpop_args(&a[1..])?;
    mpop(ctx, &keys, left, count)
}

/// `LRANGE key start stop`.
pub fn lrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (s, e) = (int_arg(a[2])?, int_arg(a[3])?);
    Ok(Reply::bulks(range(ctx, a[1], s, e)?))
}

/// The elements `start..=stop` of the list at `key` (Redis's rank range), in reply form;
/// empty when there is no such list. SORT and DUMP read lists through it.
pub fn range(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    start: i64,
    stop: i64,
) -> Result<Vec<Vec<u8>>, DbError> {
    let Some(m) = read(ctx, key)? else {
        return Ok(Vec::new());
    };
    let Some((s, e)) = index_range(start, stop, m.len) else {
        return Ok(Vec::new());
    };
    let out = list::range(ctx, key, &m, s as u64, e as u64)?;
    Ok(out.into_iter().map(|v| ctx.reply_val(v)).collect())
}

fn index(m: &Meta, i: i64) -> Option<u64> {
    let len = m.len as i64;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then_some(i as u64)
}

/// `LINDEX key index`.
pub fn lindex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    // Redis looks the key up before it reads the index.
    let Some(m) = read(ctx, a[1])? else {
        return Ok(Reply::Nil);
    };
    let i = int_arg(a[2])?;
    match index(&m, i) {
        Some(i) => Ok(list::get(ctx, a[1], &m, i)?.map_or(Reply::Nil, |v| ctx.bulk(v))),
        None => Ok(Reply::Nil),
    }
}

/// `LLEN key`.
pub fn llen(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(read(ctx, a[1])?.map_or(0, |m| m.len) as i64))
}

/// `LSET key index value`.
pub fn lset(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    // Redis looks the key up before it reads the index.
    let mut m = list::writable(ctx, a[1])?.ok_or(DbError::NoSuchKey)?;
    let i = int_arg(a[2])?;
    let v = ctx.store_val(a[3]);
    bounded(&v)?;
    let i = index(&m, i).ok_or(DbError::OutOfRange)?;
    list::set(ctx, a[1], &mut m, i, &v)?;
    ctx.put_meta(a[1], &m, m.expire)?;
    Ok(Reply::OK)
}

/// The index of the first element equal to `v` (stored form), if any.
fn position(ctx: &mut Ctx<'_>, key: &[u8], m: &Meta, v: &[u8]) -> Result<Option<u64>, DbError> {
    let mut found = None;
    list::visit(ctx, key, m, 0, false, &mut |i, e| {
        if e == v {
            found = Some(i);
        }
        found.is_none()
    })?;
    Ok(found)
}

/// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 without the pivot, 0
/// without the key.
pub fn linsert(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let after = if is(a[2], "after") {
        true
    } else if is(a[2], "before") {
        false
    } else {
        return Err(DbError::Syntax);
    };
    let v = ctx.store_val(a[4]);
    bounded(&v)?;
    let Some(mut m) = list::writable(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let pivot = ctx.store_val(a[3]);
    let Some(at) = position(ctx, a[1], &m, &pivot)? else {
        return Ok(Reply::Int(-1));
    };
    list::insert(ctx, a[1], &mut m, at + u64::from(after), &v)?;
    ctx.put_meta(a[1], &m, m.expire)?;
    Ok(Reply::Int(m.len as i64))
}

/// `LREM key count element`: how many were removed (count > 0 from the head, < 0 from the
/// tail, 0 all).
pub fn lrem(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let count = int_arg(a[2])?;
    let Some(mut m) = list::writable(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let expire = m.expire;
    let v = ctx.store_val(a[3]);
    let n = list::remove(ctx, a[1], &mut m, &v, count.unsigned_abs(), count < 0)?;
    if n > 0 {
        ctx.store_or_drop(a[1], &m, expire)?;
    }
    Ok(Reply::Int(n as i64))
}

/// `LTRIM key start stop`.
pub fn ltrim(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (s, e) = (int_arg(a[2])?, int_arg(a[3])?);
    let Some(mut m) = list::writable(ctx, a[1])? else {
        return Ok(Reply::OK);
    };
    let expire = m.expire;
    let (left, right) = match index_range(s, e, m.len) {
        Some((s, e)) => (s as u64, m.len - 1 - e as u64),
        None => (m.len, 0),
    };
    if left + right == 0 {
        return Ok(Reply::OK);
    }
    if left >= m.len {
        m.len = 0;
    } else {
        list::pop(ctx, a[1], &mut m, left, true, false)?;
        list::pop(ctx, a[1], &mut m, right, false, false)?;
    }
    ctx.store_or_drop(a[1], &m, expire)?;
    Ok(Reply::OK)
}

/// A non-negative option value of `LPOS`; otherwise the error `msg`.
fn non_negative(b: &[u8], msg: &str) -> Result<u64, DbError> {
    int_arg(b)
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| DbError::Other(msg.into()))
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`.
pub fn lpos(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0u64);
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if is(a[j], "rank") && more {
            rank = int_arg(a[j + 1])?;
            if rank == i64::MIN {
                return Err(DbError::Other(format!(
                    "value is out of range, value must between {} and {}",
                    -i64::MAX,
                    i64::MAX
                )));
            }
            if rank == 0 {
                return Err(DbError::Other(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list"
                        .into(),
                ));
            }
        } else if is(a[j], "count") && more {
            count = Some(non_negative(a[j + 1], "COUNT can't be negative")?);
        } else if is(a[j], "maxlen") && more {
            maxlen = non_negative(a[j + 1], "MAXLEN can't be negative")?;
        } else {
            return Err(DbError::Syntax);
        }
        j += 2;
    }
    let Some(m) = read(ctx, a[1])? else {
        return Ok(match count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Nil,
        });
    };
    let v = ctx.store_val(a[2]);
    let rev = rank < 0;
    let mut skip = rank.unsigned_abs() - 1;
    let want = match count {
        Some(0) => u64::MAX,
        Some(c) => c,
        None => 1,
    };
    let mut found = Vec::new();
    let mut seen = 0u64;
    let from = if rev { m.len.saturating_sub(1) } else { 0 };
    list::visit(ctx, a[1], &m, from, rev, &mut |i, e| {
        seen += 1;
        if e == &*v {
            if skip > 0 {
                skip -= 1;
            } else {
                found.push(i);
            }
        }
        (found.len() as u64) < want && (maxlen == 0 || seen < maxlen)
    })?;
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(|i| Reply::Int(i as i64)).collect()),
        None => found.first().map_or(Reply::Nil, |i| Reply::Int(*i as i64)),
    })
}

/// `LCLEAR key`: removes the list; how many elements it had.
pub fn lclear(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    match read(ctx, a[1])? {
        Some(m) => {
            ctx.remove(a[1], &m)?;
            Ok(Reply::Int(m.len as i64))
        }
        None => Ok(Reply::Int(0)),
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
