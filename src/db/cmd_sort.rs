//! `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE
//! destination]` and `SORT_RO` (no `STORE`), as Redis 7.0 answers them, over a list, set or
//! sorted set.
//!
//! A pattern names other keys through the element: its first `*` is replaced by the
//! element, and `key*->field` reads a hash field; `#` is the element itself. `BY` a pattern
//! without `*` (`BY nosort`) keeps the native order: a list's, a sorted set's (reversed by
//! `DESC`), a set's (byte order here). Elements sort as numbers (Redis's `strtod`; one that
//! is not a number fails the command) or, with `ALPHA`, as bytes; equal numbers sort by
//! their bytes.
//!
//! Bounds: the collection is read whole (as `SMEMBERS`), at most [`MAX_LOOKUPS`] pattern
//! lookups (elements x (`BY` + `GET`s)) per call, and the values gathered are capped as
//! `MGET`'s (`cmd_string::MAX_GATHER`).

use std::cmp::Ordering;

use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::Kind;
use super::{DbError, MAX_KEY, Reply};

/// The most pattern lookups one `SORT` makes.
pub const MAX_LOOKUPS: usize = 4 << 20;

/// `SORT`.
pub fn sort(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, a, false)
}

/// `SORT_RO`: `SORT` without `STORE`.
pub fn sort_ro(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, a, true)
}

/// The value `pat` names for element `elem`: `#` is the element, else the string at (or
/// the hash field named by `->field` of) the key made by putting `elem` for the first `*`.
/// `None` when there is no `*`, no such key, or a key of another type.
fn lookup(ctx: &mut Ctx<'_>, pat: &[u8], elem: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
    if pat == b"#" {
        return Ok(Some(elem.to_vec()));
    }
    let Some(star) = pat.iter().position(|&c| c == b'*') else {
        return Ok(None);
    };
    let after = &pat[star + 1..];
    let (postfix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(i) if i + 2 < after.len() => (&after[..i], Some(&after[i + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + postfix.len());
    key.extend_from_slice(&pat[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    if key.len() > MAX_KEY {
        return Ok(None);
    }
    let Some(m) = ctx.meta(&key)? else {
        return Ok(None);
    };
    match (field, m.kind) {
        (None, Kind::String) => Ok(Some(ctx.reply_val(m.value))),
        (Some(f), Kind::Hash) => {
            let v = ctx.kv.get(&super::keys::elem(&key, f))?;
            Ok(v.map(|v| ctx.reply_val(v)))
        }
        _ => Ok(None),
    }
}

/// A sort weight as Redis's `SORT` reads it: `strtod` over the whole value (leading blanks
/// allowed, the empty string is 0), no overflow, no NaN.
fn weight(v: &[u8]) -> Result<f64, DbError> {
    let bad = || DbError::Other("One or more scores can't be converted into double".into());
    if v.first() == Some(&b'(') {
        return Err(bad());
    }
    let b = super::num::parse_score_bound(v).ok_or_else(bad)?;
    if b.value.is_infinite() && !v.iter().any(|c| matches!(c, b'i' | b'I')) {
        return Err(bad());
    }
    Ok(b.value)
}

struct Item {
    elem: Vec<u8>,
    /// The `BY` value (`ALPHA`), or the element when there is no `BY`.
    by: Option<Vec<u8>>,
    score: f64,
}

fn sort_generic(ctx: &mut Ctx<'_>, a: &[&[u8]], read_only: bool) -> CmdResult {
    let (mut desc, mut alpha, mut dontsort) = (false, false, false);
    let mut limit: Option<(i64, i64)> = None;
    let mut store: Option<&[u8]> = None;
    let mut by: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let mut i = 2;
    while i < a.len() {
        let left = a.len() - i - 1;
        let o = a[i];
        if is(o, "asc") {
            desc = false;
        } else if is(o, "desc") {
            desc = true;
        } else if is(o, "alpha") {
            alpha = true;
        } else if is(o, "limit") && left >= 2 {
            limit = Some((int_arg(a[i + 1])?, int_arg(a[i + 2])?));
            i += 2;
        } else if is(o, "store") && left >= 1 && !read_only {
            store = Some(a[i + 1]);
            i += 1;
        } else if is(o, "by") && left >= 1 {
            let p = a[i + 1];
            by = Some(p);
            if !p.contains(&b'*') {
                dontsort = true;
            }
            i += 1;
        } else if is(o, "get") && left >= 1 {
            gets.push(a[i + 1]);
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    let Some(m) = ctx.meta(a[1])? else {
        return finish(ctx, Vec::new(), &gets, store);
    };
    let mut elems: Vec<Vec<u8>> = match m.kind {
        Kind::List => super::cmd_list::range(ctx, a[1], 0, -1)?,
        Kind::Set => super::cmd_set::members(ctx, a[1])?.into_iter().collect(),
        Kind::ZSet => {
            let r = super::cmd_zrange::zrange(ctx, &[b"zrange", a[1], b"0", b"-1"])?;
            r.into_items()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| match r {
                    Reply::Bulk(b) => Some(b),
                    _ => None,
                })
                .collect()
        }
        _ => return Err(DbError::WrongType),
    };
    let lookups = elems
        .len()
        .saturating_mul(gets.len() + usize::from(by.is_some() && !dontsort));
    if lookups > MAX_LOOKUPS {
        return Err(DbError::Other(format!(
            "SORT would look up {lookups} keys, over {MAX_LOOKUPS} (the Mimei database limit)"
        )));
    }
    if dontsort {
        // Native order; a sorted set's is reversed by DESC.
        if desc && m.kind == Kind::ZSet {
            elems.reverse();
        }
    } else {
        let mut items = Vec::with_capacity(elems.len());
        for e in elems {
            let by_val = match by {
                Some(p) => lookup(ctx, p, &e)?,
                None => Some(e.clone()),
            };
            let score = match (&by_val, alpha) {
                (Some(v), false) => weight(v)?,
                _ => 0.0,
            };
            items.push(Item {
                elem: e,
                by: by_val,
                score,
            });
        }
        items.sort_by(|x, y| {
            let c = if alpha {
                x.by.cmp(&y.by)
            } else {
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.elem.cmp(&y.elem))
            };
            if desc { c.reverse() } else { c }
        });
        elems = items.into_iter().map(|i| i.elem).collect();
    }
    if let Some((start, count)) = limit {
        let n = elems.len() as i64;
        let s = start.max(0);
        let e = if count < 0 {
            n
        } else {
            s.saturating_add(count).min(n)
        };
        elems = if s >= n || s >= e {
            Vec::new()
        } else {
            elems.drain(s as usize..e as usize).collect()
        };
    }
    finish(ctx, elems, &gets, store)
}

/// The answer (or what is stored) for the sorted elements: the elements, or per element
/// the value of each `GET` pattern.
fn finish(
    ctx: &mut Ctx<'_>,
    elems: Vec<Vec<u8>>,
    gets: &[&[u8]],
    store: Option<&[u8]>,
) -> CmdResult {
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    let mut total = 0usize;
    if gets.is_empty() {
        out = elems.into_iter().map(Some).collect();
    } else {
        for e in &elems {
            for g in gets {
                let v = lookup(ctx, g, e)?;
                total += v.as_ref().map_or(0, Vec::len);
                if total > super::cmd_string::MAX_GATHER {
                    return Err(super::cmd_string::gather_error());
                }
                out.push(v);
            }
        }
    }
    let Some(dest) = store else {
        return Ok(Reply::Array(
            out.into_iter()
                .map(|v| v.map_or(Reply::Nil, Reply::Bulk))
                .collect(),
        ));
    };
    if let Some(old) = ctx.meta(dest)? {
        ctx.remove(dest, &old)?;
    }
    let n = out.len();
    let vals: Vec<Vec<u8>> = out.into_iter().map(Option::unwrap_or_default).collect();
    for chunk in vals.chunks(512) {
        let mut args: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        args.push(b"rpush");
        args.push(dest);
        args.extend(chunk.iter().map(Vec::as_slice));
        super::cmd_list::rpush(ctx, &args)?;
    }
    Ok(Reply::Int(n as i64))
}

#[cfg(test)]
mod tests {
    use super::super::engine::exec;
    use super::super::kv::MemKv;
    use super::super::{DbError, Reply};

    fn run(kv: &mut MemKv, line: &str) -> Result<Reply, DbError> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        exec(kv, 1000, &args)
    }

    fn list(items: &[&str]) -> Reply {
        Reply::Array(
            items
                .iter()
                .map(|s| Reply::Bulk(s.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn sort_by_numbers_bytes_and_patterns() {
        let mut kv = MemKv::default();
        run(&mut kv, "RPUSH l 3 10 1 2.5").unwrap();
        assert_eq!(
            run(&mut kv, "SORT l").unwrap(),
            list(&["1", "2.5", "3", "10"])
        );
        assert_eq!(
            run(&mut kv, "SORT l DESC LIMIT 1 2").unwrap(),
            list(&["3", "2.5"])
        );
        assert_eq!(
            run(&mut kv, "SORT l ALPHA").unwrap(),
            list(&["1", "10", "2.5", "3"])
        );
        assert_eq!(
            run(&mut kv, "SORT l BY nosort").unwrap(),
            list(&["3", "10", "1", "2.5"])
        );
        run(&mut kv, "MSET w_3 1 w_10 2 w_1 3").unwrap();
        run(&mut kv, "HSET h_3 f c").unwrap();
        // 2.5 has no weight: 0, first.
        assert_eq!(
            run(&mut kv, "SORT l BY w_* GET # GET h_*->f").unwrap(),
            Reply::Array(vec![
                Reply::Bulk(b"2.5".to_vec()),
                Reply::Nil,
                Reply::Bulk(b"3".to_vec()),
                Reply::Bulk(b"c".to_vec()),
                Reply::Bulk(b"10".to_vec()),
                Reply::Nil,
                Reply::Bulk(b"1".to_vec()),
                Reply::Nil,
            ])
        );
        run(&mut kv, "ZADD z 1 a 5 b 2 c").unwrap();
        assert_eq!(
            run(&mut kv, "SORT z BY nosort DESC").unwrap(),
            list(&["b", "c", "a"])
        );
        run(&mut kv, "SADD s 1 x").unwrap();
        assert_eq!(
            run(&mut kv, "SORT s").unwrap_err().to_string(),
            "ERR One or more scores can't be converted into double"
        );
        run(&mut kv, "SET str v").unwrap();
        assert!(
            run(&mut kv, "SORT str")
                .unwrap_err()
                .to_string()
                .starts_with("WRONGTYPE")
        );
        assert_eq!(
            run(&mut kv, "SORT_RO l STORE d").unwrap_err().to_string(),
            "ERR syntax error"
        );
    }

    #[test]
    fn sort_store_replaces_or_removes_the_destination() {
        let mut kv = MemKv::default();
        run(&mut kv, "RPUSH l b a").unwrap();
        run(&mut kv, "SET d x").unwrap();
        assert_eq!(run(&mut kv, "SORT l ALPHA STORE d").unwrap(), Reply::Int(2));
        assert_eq!(run(&mut kv, "LRANGE d 0 -1").unwrap(), list(&["a", "b"]));
        assert_eq!(run(&mut kv, "SORT nope STORE d").unwrap(), Reply::Int(0));
        assert_eq!(run(&mut kv, "EXISTS d").unwrap(), Reply::Int(0));
    }
}
