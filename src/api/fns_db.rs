//! The database functions of the table (`Set`, `Hget`, `Zadd`, ... `Begin`, `Commit`):
//! each is one engine command run on the database behind an `mmsid` (docs/db.md).
//!
//! Arguments after the mmsid are the Redis command's arguments: strings and bytes as they
//! are, numbers in decimal, lists and maps flattened in order (so `Hmset(mmsid, key,
//! {f: v})` and `Zadd(mmsid, key, [[1, "a"], [2, "b"]])` work as well as flat arguments).
//! Answers: bulk strings as text (bytes when not UTF-8), integers, null for nil, lists;
//! `Hgetall` answers a map. Errors carry Redis's text (`WRONGTYPE ...`).
//!
//! Rights: every call re-checks the handle's session and the Mimei's rights (read for
//! reads; write, on `cur`, for writes). A handle in a transaction (`Begin`) writes into the
//! transaction until `Commit` or `Rollback`.

use std::future::ready;

use super::fns_mimei::{DbTarget, db_target};
use super::{ApiError, ApiFuture, Call, Value};
use crate::clock::unix_ms;
use crate::db::cur::Durability;
use crate::db::{DbError, Reply, engine};

/// How to shape an answer for the API.
#[derive(Clone, Copy)]
enum Shape {
    /// As the reply is.
    Plain,
    /// A flat field/value list as a map.
    Map,
}

fn flatten(c: &Call<'_>, v: &Value, out: &mut Vec<Vec<u8>>, depth: u32) -> Result<(), ApiError> {
    let bad = |m: String| ApiError::BadArguments {
        function: c.entry.name,
        message: m,
    };
    if depth > 4 {
        return Err(bad("arguments nest too deep".into()));
    }
    match v {
        Value::Str(s) => out.push(s.as_bytes().to_vec()),
        Value::Bytes(b) => out.push(b.clone()),
        Value::Int(i) => out.push(i.to_string().into_bytes()),
        Value::Float(f) => out.push(crate::db::num::format_double(*f).into_bytes()),
        Value::Bool(b) => out.push(if *b { b"1".to_vec() } else { b"0".to_vec() }),
        Value::List(l) => {
            for x in l {
                flatten(c, x, out, depth + 1)?;
            }
        }
        Value::Map(m) => {
            for (k, x) in m {
                out.push(k.as_bytes().to_vec());
                flatten(c, x, out, depth + 1)?;
            }
        }
        Value::Null => return Err(bad("null is not a database argument".into())),
    }
    Ok(())
}

fn to_value(r: Reply) -> Value {
    match r {
        Reply::Status(s) => Value::Str(s.to_string()),
        Reply::Int(i) => Value::Int(i),
        Reply::Bulk(b) => match String::from_utf8(b) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        },
        Reply::Nil | Reply::NilArray => Value::Null,
        Reply::Array(a) => Value::List(a.into_iter().map(to_value).collect()),
        Reply::Error(e) => Value::Str(e),
    }
}

fn shape(r: Reply, s: Shape) -> Value {
    match (s, r) {
        (Shape::Map, Reply::Array(items)) => {
            let mut m = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                let k = match k {
                    Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => format!("{other:?}"),
                };
                m.push((k, to_value(v)));
            }
            Value::Map(m)
        }
        (_, r) => to_value(r),
    }
}

/// Runs `args` (name first) on the target: a transaction's overlay, `cur`, or a version.
pub(super) fn exec_on(c: &Call<'_>, t: &DbTarget, args: &[&[u8]]) -> Result<Reply, DbError> {
    let state = c.state;
    let now = unix_ms();
    let mut db = state.db.borrow_mut();
    match t.version {
        Some(n) => crate::db::version::exec_at(&state.store, &t.mid, n, now, args),
        None => {
            if let Some(mut txn) = db.txns.remove(&t.handle) {
                let r = {
                    let mut base = db.view(&state.store, &t.mid);
                    engine::exec(&mut txn.overlay.over(&mut base), now, args)
                };
                db.txns.insert(t.handle.clone(), txn);
                return r;
            }
            let r = engine::exec(&mut db.view(&state.store, &t.mid), now, args)?;
            if db.durability == Durability::Full && db.dirty() {
                db.flush(&state.store)?;
            }
            if db.full() {
                db.flush(&state.store)?;
            }
            Ok(r)
        }
    }
}

fn run(c: &Call<'_>, cmd: &'static str, write: bool, s: Shape) -> Result<Value, ApiError> {
    if c.args.is_empty() {
        return Err(ApiError::BadArguments {
            function: c.entry.name,
            message: "argument 1 (mmsid) is missing; call MMOpen first".into(),
        });
    }
    let t = db_target(c, write)?;
    let mut args = vec![cmd.as_bytes().to_vec()];
    for v in &c.args[1..] {
        flatten(c, v, &mut args, 0)?;
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let r = exec_on(c, &t, &refs).map_err(|error| ApiError::db(c.entry.name, error))?;
    Ok(shape(r, s))
}

macro_rules! db_fns {
    ($($(#[$doc:meta])* $f:ident => $cmd:literal, $write:expr, $shape:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $f(c: Call<'_>) -> ApiFuture<'_> {
                Box::pin(ready(run(&c, $cmd, $write, $shape)))
            }
        )*
    };
}

db_fns! {
    /// `Set(mmsid, key, value, [options])`.
    set => "set", true, Shape::Plain;
    /// `Get(mmsid, key)`.
    get => "get", false, Shape::Plain;
    /// `Del(mmsid, key...)`.
    del => "del", true, Shape::Plain;
    /// `Exists(mmsid, key...)`.
    exists => "exists", false, Shape::Plain;
    /// `Incr(mmsid, key)`.
    incr => "incr", true, Shape::Plain;
    /// `IncrBy(mmsid, key, n)`.
    incr_by => "incrby", true, Shape::Plain;
    /// `Strlen(mmsid, key)`.
    strlen => "strlen", false, Shape::Plain;
    /// `Expire(mmsid, key, seconds)`.
    expire => "expire", true, Shape::Plain;
    /// `Ttl(mmsid, key)`.
    ttl => "ttl", false, Shape::Plain;
    /// `Persist(mmsid, key)`.
    persist => "persist", true, Shape::Plain;
    /// `Type(mmsid, key)`.
    type_ => "type", false, Shape::Plain;
    /// `Hset(mmsid, key, field, value...)`.
    hset => "hset", true, Shape::Plain;
    /// `Hget(mmsid, key, field)`.
    hget => "hget", false, Shape::Plain;
    /// `Hmget(mmsid, key, field...)`.
    hmget => "hmget", false, Shape::Plain;
    /// `Hmset(mmsid, key, {field: value})`.
    hmset => "hmset", true, Shape::Plain;
    /// `Hgetall(mmsid, key)` -> map.
    hgetall => "hgetall", false, Shape::Map;
    /// `Hkeys(mmsid, key)`.
    hkeys => "hkeys", false, Shape::Plain;
    /// `Hdel(mmsid, key, field...)`.
    hdel => "hdel", true, Shape::Plain;
    /// `Hlen(mmsid, key)`.
    hlen => "hlen", false, Shape::Plain;
    /// `Hclear(mmsid, key)`.
    hclear => "hclear", true, Shape::Plain;
    /// `HincrBy(mmsid, key, field, n)`.
    hincr_by => "hincrby", true, Shape::Plain;
    /// `Hscan(mmsid, key, cursor, ["COUNT", n], ["MATCH", p])` -> map.
    hscan => "hfscan", false, Shape::Map;
    /// `Hrevscan(mmsid, key, cursor, ...)` -> map, descending.
    hrevscan => "hfrevscan", false, Shape::Map;
    /// `Lpush(mmsid, key, value...)`.
    lpush => "lpush", true, Shape::Plain;
    /// `Lpop(mmsid, key, [count])`.
    lpop => "lpop", true, Shape::Plain;
    /// `Rpush(mmsid, key, value...)`.
    rpush => "rpush", true, Shape::Plain;
    /// `Rpop(mmsid, key, [count])`.
    rpop => "rpop", true, Shape::Plain;
    /// `Lrange(mmsid, key, start, stop)`.
    lrange => "lrange", false, Shape::Plain;
    /// `Lindex(mmsid, key, index)`.
    lindex => "lindex", false, Shape::Plain;
    /// `Llen(mmsid, key)`.
    llen => "llen", false, Shape::Plain;
    /// `Lset(mmsid, key, index, value)`.
    lset => "lset", true, Shape::Plain;
    /// `Lclear(mmsid, key)`.
    lclear => "lclear", true, Shape::Plain;
    /// `Sadd(mmsid, key, member...)`.
    sadd => "sadd", true, Shape::Plain;
    /// `Srem(mmsid, key, member...)`.
    srem => "srem", true, Shape::Plain;
    /// `Smembers(mmsid, key)`.
    smembers => "smembers", false, Shape::Plain;
    /// `Scard(mmsid, key)`.
    scard => "scard", false, Shape::Plain;
    /// `Sinter(mmsid, key...)`.
    sinter => "sinter", false, Shape::Plain;
    /// `Sunion(mmsid, key...)`.
    sunion => "sunion", false, Shape::Plain;
    /// `Sdiff(mmsid, key...)`.
    sdiff => "sdiff", false, Shape::Plain;
    /// `Sclear(mmsid, key)`.
    sclear => "sclear", true, Shape::Plain;
    /// `Zadd(mmsid, key, score, member...)`.
    zadd => "zadd", true, Shape::Plain;
    /// `Zrem(mmsid, key, member...)`.
    zrem => "zrem", true, Shape::Plain;
    /// `Zscore(mmsid, key, member)`.
    zscore => "zscore", false, Shape::Plain;
    /// `Zrank(mmsid, key, member)`.
    zrank => "zrank", false, Shape::Plain;
    /// `Zcard(mmsid, key)`.
    zcard => "zcard", false, Shape::Plain;
    /// `Zcount(mmsid, key, min, max)`.
    zcount => "zcount", false, Shape::Plain;
    /// `Zrange(mmsid, key, start, stop, [WITHSCORES])`.
    zrange => "zrange", false, Shape::Plain;
    /// `Zrevrange(mmsid, key, start, stop, [WITHSCORES])`.
    zrevrange => "zrevrange", false, Shape::Plain;
    /// `Zrangebyscore(mmsid, key, min, max, ...)`.
    zrangebyscore => "zrangebyscore", false, Shape::Plain;
    /// `Zrevrangebyscore(mmsid, key, max, min, ...)`.
    zrevrangebyscore => "zrevrangebyscore", false, Shape::Plain;
    /// `Zremrangebyscore(mmsid, key, min, max)`.
    zremrangebyscore => "zremrangebyscore", true, Shape::Plain;
    /// `ZincrBy(mmsid, key, increment, member)`.
    zincr_by => "zincrby", true, Shape::Plain;
    /// `Zclear(mmsid, key)`.
    zclear => "zclear", true, Shape::Plain;
    /// `Scan(mmsid, cursor, ["COUNT", n], ["MATCH", p])`: keys after `cursor`.
    scan => "kscan", false, Shape::Plain;
}

fn txn(
    c: &Call<'_>,
    what: fn(&Call<'_>, &DbTarget) -> Result<(), DbError>,
) -> Result<Value, ApiError> {
    c.arity(1, 1)?;
    let t = db_target(c, true)?;
    what(c, &t).map_err(|error| ApiError::db(c.entry.name, error))?;
    Ok(Value::Bool(true))
}

/// `Begin(mmsid)`: later writes through this handle go into a transaction.
pub fn begin(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(txn(&c, |c, t| {
        c.state.db.borrow_mut().begin(&t.handle, t.mid)
    })))
}

/// `Commit(mmsid)`: applies the transaction, or fails with a conflict and applies nothing.
pub fn commit(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(txn(&c, |c, t| {
        let mut db = c.state.db.borrow_mut();
        db.commit(&c.state.store, &t.handle)?;
        if db.durability == Durability::Full {
            db.flush(&c.state.store)?;
        }
        Ok(())
    })))
}

/// `Rollback(mmsid)`: drops the transaction.
pub fn rollback(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(txn(&c, |c, t| {
        if c.state.db.borrow_mut().rollback(&t.handle) {
            Ok(())
        } else {
            Err(DbError::Other(
                "no transaction is open on this handle; call Begin first".into(),
            ))
        }
    })))
}
