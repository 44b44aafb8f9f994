//! The database functions of the table (`Set`, `Hget`, `Zadd`, ... `Begin`, `Commit`), in
//! Leither's forms (`lapi/mdb.go`): each builds one engine command from its arguments,
//! runs it on the database behind the `mmsid`, and shapes the answer (docs/db.md).
//!
//! Values (`Set`, `Hset`, `Hmset`, `Lpush`, `Rpush`, `Lset`) may be any value and come back
//! as they were set (`api/db_value.rs`); keys, fields and members are strings (numbers are
//! taken in decimal). Answers: integers, values, lists of strings, `[{Score, Member}]` for
//! the sorted-set ranges, `[{Field, Value}]` for `Hgetall`/`Hscan`/`Hrevscan`, and null for
//! the functions Leither gives only an error (`Set`, `Hmset`, `Lset`, `Begin`, ...).
//! Errors carry Redis's text (`WRONGTYPE ...`).
//!
//! Rights: every call re-checks the handle's session and the Mimei's rights (read for
//! reads; write, on `cur`, for writes). A handle in a transaction (`Begin`) writes into the
//! transaction until `Commit`, `Rollback` or its timeout.

use std::future::ready;

use super::db_call::{
    MAX_ARGS, as_int, bad, cmd, exec_on, flag, fv_pairs, int, name, name_of, names, plain_value,
    run, score_pairs, stored_value, type_name,
};
use super::db_value::{is_pair, to_stored};
use super::fns_mimei::db_target;
use super::{ApiError, ApiFuture, Call, Value};
use crate::clock::unix_ms;
use crate::db::cur::{Durability, timed_out};
use crate::db::{DbError, Reply};

/// `Begin`'s timeout when none (or 0) is given, in seconds.
const DEFAULT_TXN_SECS: i64 = 60;
/// The longest `Begin` timeout: an open transaction pins its changes in memory and keeps
/// conflict bookkeeping on for the whole node.
const MAX_TXN_SECS: i64 = 3600;

macro_rules! api_fns {
    ($($(#[$doc:meta])* $f:ident($c:ident) $body:block)*) => {
        $(
            $(#[$doc])*
            pub fn $f(c: Call<'_>) -> ApiFuture<'_> {
                fn go($c: &Call<'_>) -> Result<Value, ApiError> $body
                Box::pin(ready(go(&c)))
            }
        )*
    };
}

/// A function `F(mmsid, key)` answering the reply as it is.
fn key_only(c: &Call<'_>, name: &str) -> Result<Value, ApiError> {
    run(c, name, 2, 2, |c| cmd(c, name, vec![])).map(plain_value)
}

/// `F(mmsid, key, names...)` answering the reply as it is (`min` arguments at least).
fn key_names(c: &Call<'_>, name: &str, min: usize) -> Result<Value, ApiError> {
    run(c, name, min, MAX_ARGS, |c| {
        let rest = names(c, 2, "name")?;
        cmd(c, name, rest)
    })
    .map(plain_value)
}

/// `F(mmsid, keys...)` answering the reply as it is.
fn keys_only(c: &Call<'_>, name: &str) -> Result<Value, ApiError> {
    run(c, name, 2, MAX_ARGS, |c| {
        let mut a = vec![name.as_bytes().to_vec()];
        a.extend(names(c, 1, "key")?);
        Ok(a)
    })
    .map(plain_value)
}

/// `*mclear(mmsid, keys...)`: clears each key with `clear`; how many keys were removed.
fn mclear(c: &Call<'_>, clear: &str) -> Result<Value, ApiError> {
    c.arity(1, MAX_ARGS)?;
    let t = db_target(c, super::db_call::writes(clear))?;
    let keys = names(c, 1, "key")?;
    let mut removed = 0;
    for k in &keys {
        let r = exec_on(c, &t, &[clear.as_bytes(), k])
            .map_err(|error| ApiError::db(c.entry.name, error))?;
        if matches!(r, Reply::Int(n) if n > 0) {
            removed += 1;
        }
    }
    Ok(Value::Int(removed))
}

/// The ScorePairs of `Zadd` (`{Score, Member}` maps) as score, member, ...; or, when the
/// arguments are not all ScorePairs, Redis's flat form (`[NX|XX|...] score member ...`,
/// lists flattened).
fn zadd_args(c: &Call<'_>) -> Result<Vec<Vec<u8>>, ApiError> {
    let rest = &c.args[2..];
    let mut out = Vec::with_capacity(rest.len() * 2);
    if rest.iter().all(|v| is_pair(v, "score", "member")) {
        for v in rest {
            for part in ["score", "member"] {
                let x = super::db_value::field(v, part).unwrap_or(&Value::Null);
                out.push(name_of(c, x, part)?);
            }
        }
        return Ok(out);
    }
    fn flat(c: &Call<'_>, v: &Value, out: &mut Vec<Vec<u8>>, depth: u32) -> Result<(), ApiError> {
        match v {
            Value::List(l) if depth < 2 => l.iter().try_for_each(|x| flat(c, x, out, depth + 1)),
            v => {
                out.push(name_of(c, v, "score or member")?);
                Ok(())
            }
        }
    }
    for v in rest {
        flat(c, v, &mut out, 0)?;
        if out.len() > MAX_ARGS {
            return Err(bad(
                c,
                format!("more than {MAX_ARGS} arguments in one call"),
            ));
        }
    }
    Ok(out)
}

/// The FVPairs of `Hmset` as field, stored value, ...: `{Field, Value}` maps, a plain map
/// `{field: value}`, or field, value arguments.
fn hmset_args(c: &Call<'_>) -> Result<Vec<Vec<u8>>, ApiError> {
    let rest = &c.args[2..];
    let mut out = Vec::with_capacity(rest.len() * 2);
    if !rest.is_empty() && rest.iter().all(|v| is_pair(v, "field", "value")) {
        for v in rest {
            let f = super::db_value::field(v, "field").unwrap_or(&Value::Null);
            out.push(name_of(c, f, "Field")?);
            out.push(to_stored(
                super::db_value::field(v, "value").unwrap_or(&Value::Null),
            ));
        }
    } else if let [Value::Map(m)] = rest {
        for (f, v) in m {
            out.push(f.as_bytes().to_vec());
            out.push(to_stored(v));
        }
    } else if rest.len().is_multiple_of(2) {
        for p in rest.chunks(2) {
            out.push(name_of(c, &p[0], "field")?);
            out.push(to_stored(&p[1]));
        }
    } else {
        return Err(bad(
            c,
            "give {Field, Value} pairs, one map {field: value}, or field, value arguments".into(),
        ));
    }
    if out.is_empty() {
        return Err(bad(c, "no fields to set".into()));
    }
    Ok(out)
}

/// `Hscan`/`Hrevscan(mmsid, key, beginfield, [match], [count], [inclusive])`.
fn hscan_args(c: &Call<'_>, name: &str) -> Result<Vec<Vec<u8>>, ApiError> {
    let mut rest = vec![self::name(c, 2, "beginfield")?];
    rest.extend(scan_opts(c, 3)?);
    cmd(c, name, rest)
}

/// `match, count, inclusive` at `i..`: as engine scan options.
fn scan_opts(c: &Call<'_>, i: usize) -> Result<Vec<Vec<u8>>, ApiError> {
    let mut o = Vec::new();
    let pat = match c.args.get(i) {
        None | Some(Value::Null) => Vec::new(),
        Some(_) => name(c, i, "match")?,
    };
    if !pat.is_empty() {
        o.push(b"MATCH".to_vec());
        o.push(pat);
    }
    // ledisdb's rule: a count of 0 or less means its default, 10.
    let count = int(c, i + 1, "count", Some(10))?;
    let count = if count <= 0 { 10 } else { count };
    o.push(b"COUNT".to_vec());
    o.push(count.to_string().into_bytes());
    if flag(c, i + 2, "inclusive")? {
        o.push(b"INCLUSIVE".to_vec());
    }
    Ok(o)
}

/// `Zrangebyscore`/`Zrevrangebyscore(mmsid, key, mins, maxs, [offset], [count])`.
fn zbyscore(c: &Call<'_>, name: &str, rev: bool) -> Result<Value, ApiError> {
    run(c, name, 4, 6, |c| {
        let (min, max) = (self::name(c, 2, "mins")?, self::name(c, 3, "maxs")?);
        let off = int(c, 4, "offset", Some(0))?;
        let count = int(c, 5, "count", Some(-1))?;
        let (a, b) = if rev { (max, min) } else { (min, max) };
        let limit = [b"WITHSCORES".to_vec(), b"LIMIT".to_vec()];
        let nums = [off.to_string().into_bytes(), count.to_string().into_bytes()];
        cmd(
            c,
            name,
            [vec![a, b], limit.to_vec(), nums.to_vec()].concat(),
        )
    })
    .map(score_pairs)
}

/// `Zrange`/`Zrevrange(mmsid, key, start, stop)`.
fn zbyrank(c: &Call<'_>, name: &str) -> Result<Value, ApiError> {
    run(c, name, 4, 4, |c| {
        let (s, e) = (int(c, 2, "start", None)?, int(c, 3, "stop", None)?);
        let rest = vec![
            s.to_string().into_bytes(),
            e.to_string().into_bytes(),
            b"WITHSCORES".to_vec(),
        ];
        cmd(c, name, rest)
    })
    .map(score_pairs)
}

api_fns! {
    /// `Set(mmsid, key, value, [options...])`: null; with Redis's options (NX, XX, GET,
    /// EX s, ...), SET's reply.
    set(c) {
        let r = run(c, "set", 3, 12, |c| {
            let mut a = cmd(c, "set", vec![to_stored(&c.args[2])])?;
            a.extend(names(c, 3, "option")?);
            Ok(a)
        })?;
        Ok(if c.args.len() == 3 { Value::Null } else { stored_value(r) })
    }
    /// `Get(mmsid, key)`: the value as it was set, or null.
    get(c) { run(c, "get", 2, 2, |c| cmd(c, "get", vec![])).map(stored_value) }
    /// `Del(mmsid, key...)`: how many keys were removed.
    del(c) {
        if c.args.len() == 1 {
            db_target(c, true)?;
            return Ok(Value::Int(0));
        }
        keys_only(c, "del")
    }
    /// `Exists(mmsid, key...)`.
    exists(c) { keys_only(c, "exists") }
    /// `Incr(mmsid, key)`.
    incr(c) { key_only(c, "incr") }
    /// `IncrBy(mmsid, key, delta)`.
    incr_by(c) {
        run(c, "incrby", 3, 3, |c| cmd(c, "incrby", vec![int(c, 2, "delta", None)?.to_string().into_bytes()]))
            .map(plain_value)
    }
    /// `Strlen(mmsid, key)`.
    strlen(c) { key_only(c, "strlen") }
    /// `Expire(mmsid, key, seconds)`.
    expire(c) {
        run(c, "expire", 3, 3, |c| cmd(c, "expire", vec![int(c, 2, "seconds", None)?.to_string().into_bytes()]))
            .map(plain_value)
    }
    /// `Ttl(mmsid, key)`.
    ttl(c) { key_only(c, "ttl") }
    /// `Persist(mmsid, key)`.
    persist(c) { key_only(c, "persist") }
    /// `Type(mmsid, key)`.
    type_(c) { key_only(c, "type") }
    /// `Hmclear(mmsid, key...)`.
    hmclear(c) { mclear(c, "hclear") }
    /// `Hclear(mmsid, key)`.
    hclear(c) { key_only(c, "hclear") }
    /// `Hdel(mmsid, key, field...)`.
    hdel(c) { key_names(c, "hdel", 3) }
    /// `Hlen(mmsid, key)`.
    hlen(c) { key_only(c, "hlen") }
    /// `Hset(mmsid, key, field, value)`: 1 if the field is new, else 0.
    hset(c) {
        run(c, "hset", 4, 4, |c| cmd(c, "hset", vec![name(c, 2, "field")?, to_stored(&c.args[3])]))
            .map(plain_value)
    }
    /// `Hget(mmsid, key, field)`: the value, or null.
    hget(c) {
        run(c, "hget", 3, 3, |c| cmd(c, "hget", vec![name(c, 2, "field")?])).map(stored_value)
    }
    /// `Hmget(mmsid, key, fields...)`: the values (null for absent fields).
    hmget(c) {
        run(c, "hmget", 3, MAX_ARGS, |c| cmd(c, "hmget", names(c, 2, "field")?)).map(stored_value)
    }
    /// `Hmset(mmsid, key, values...FVPair)`: null.
    hmset(c) {
        run(c, "hmset", 3, MAX_ARGS, |c| cmd(c, "hmset", hmset_args(c)?))?;
        Ok(Value::Null)
    }
    /// `Hgetall(mmsid, key)`: `[{Field, Value}]`.
    hgetall(c) { run(c, "hgetall", 2, 2, |c| cmd(c, "hgetall", vec![])).map(fv_pairs) }
    /// `Hkeys(mmsid, key)`.
    hkeys(c) { key_only(c, "hkeys") }
    /// `Hscan(mmsid, key, beginfield, match, count, inclusive)`: `[{Field, Value}]`.
    hscan(c) { run(c, "hfscan", 3, 6, |c| hscan_args(c, "hfscan")).map(fv_pairs) }
    /// `Hrevscan(mmsid, key, beginfield, match, count, inclusive)`, descending.
    hrevscan(c) { run(c, "hfrevscan", 3, 6, |c| hscan_args(c, "hfrevscan")).map(fv_pairs) }
    /// `HincrBy(mmsid, key, field, delta)`.
    hincr_by(c) {
        run(c, "hincrby", 4, 4, |c| {
            cmd(c, "hincrby", vec![name(c, 2, "field")?, int(c, 3, "delta", None)?.to_string().into_bytes()])
        })
        .map(plain_value)
    }
    /// `Lpush(mmsid, key, value...)`: the new length.
    lpush(c) {
        run(c, "lpush", 3, MAX_ARGS, |c| cmd(c, "lpush", c.args[2..].iter().map(to_stored).collect()))
            .map(plain_value)
    }
    /// `Lpop(mmsid, key)`: the value, or null.
    lpop(c) { run(c, "lpop", 2, 2, |c| cmd(c, "lpop", vec![])).map(stored_value) }
    /// `Rpush(mmsid, key, value...)`.
    rpush(c) {
        run(c, "rpush", 3, MAX_ARGS, |c| cmd(c, "rpush", c.args[2..].iter().map(to_stored).collect()))
            .map(plain_value)
    }
    /// `Rpop(mmsid, key)`.
    rpop(c) { run(c, "rpop", 2, 2, |c| cmd(c, "rpop", vec![])).map(stored_value) }
    /// `Lrange(mmsid, key, start, stop)`: the values.
    lrange(c) {
        run(c, "lrange", 4, 4, |c| {
            let (s, e) = (int(c, 2, "start", None)?, int(c, 3, "stop", None)?);
            cmd(c, "lrange", vec![s.to_string().into_bytes(), e.to_string().into_bytes()])
        })
        .map(stored_value)
    }
    /// `Lclear(mmsid, key)`.
    lclear(c) { key_only(c, "lclear") }
    /// `Lmclear(mmsid, keys...)`.
    lmclear(c) { mclear(c, "lclear") }
    /// `Lindex(mmsid, key, index)`.
    lindex(c) {
        run(c, "lindex", 3, 3, |c| cmd(c, "lindex", vec![int(c, 2, "index", None)?.to_string().into_bytes()]))
            .map(stored_value)
    }
    /// `Llen(mmsid, key)`.
    llen(c) { key_only(c, "llen") }
    /// `Lset(mmsid, key, index, value)`: null.
    lset(c) {
        run(c, "lset", 4, 4, |c| {
            let i = int(c, 2, "index", None)?.to_string().into_bytes();
            cmd(c, "lset", vec![i, to_stored(&c.args[3])])
        })?;
        Ok(Value::Null)
    }
    /// `Zadd(mmsid, key, ScorePair...)`: how many members were added.
    zadd(c) { run(c, "zadd", 3, MAX_ARGS, |c| cmd(c, "zadd", zadd_args(c)?)).map(plain_value) }
    /// `Zaddwithseq(mmsid, key, members...)`: each member scored with the next sequence.
    zaddwithseq(c) { key_names(c, "zaddwithseq", 3) }
    /// `Zcard(mmsid, key)`.
    zcard(c) { key_only(c, "zcard") }
    /// `Zcount(mmsid, key, mins, maxs)`.
    zcount(c) {
        run(c, "zcount", 4, 4, |c| cmd(c, "zcount", vec![name(c, 2, "mins")?, name(c, 3, "maxs")?]))
            .map(plain_value)
    }
    /// `Zrem(mmsid, key, members...)`.
    zrem(c) { key_names(c, "zrem", 3) }
    /// `Zscore(mmsid, key, member)`: the score; an error when the member is absent.
    zscore(c) {
        let r = run(c, "zscore", 3, 3, |c| cmd(c, "zscore", vec![name(c, 2, "member")?]))?;
        match r {
            Reply::Nil => Err(ApiError::NotFound(format!(
                "Zscore: {:?} is not a member of sorted set {:?} (Zrank answers -1 for an absent member without an error)",
                String::from_utf8_lossy(&name(c, 2, "member")?),
                String::from_utf8_lossy(&name(c, 1, "key")?),
            ))),
            r => Ok(as_int(r)),
        }
    }
    /// `Zrank(mmsid, key, member)`: the 0-based rank, -1 when absent.
    zrank(c) {
        let r = run(c, "zrank", 3, 3, |c| cmd(c, "zrank", vec![name(c, 2, "member")?]))?;
        Ok(match r {
            Reply::Nil => Value::Int(-1),
            r => plain_value(r),
        })
    }
    /// `Zrange(mmsid, key, start, stop)`: `[{Score, Member}]`.
    zrange(c) { zbyrank(c, "zrange") }
    /// `Zrangebyscore(mmsid, key, mins, maxs, offset, count)`.
    zrangebyscore(c) { zbyscore(c, "zrangebyscore", false) }
    /// `Zremrangebyscore(mmsid, key, mins, maxs)`.
    zremrangebyscore(c) {
        run(c, "zremrangebyscore", 4, 4, |c| cmd(c, "zremrangebyscore", vec![name(c, 2, "mins")?, name(c, 3, "maxs")?]))
            .map(plain_value)
    }
    /// `Zrevrange(mmsid, key, start, stop)`, highest first.
    zrevrange(c) { zbyrank(c, "zrevrange") }
    /// `Zrevrangebyscore(mmsid, key, mins, maxs, offset, count)`, highest first.
    zrevrangebyscore(c) { zbyscore(c, "zrevrangebyscore", true) }
    /// `Zmclear(mmsid, keys...)`.
    zmclear(c) { mclear(c, "zclear") }
    /// `Zclear(mmsid, key)`.
    zclear(c) { key_only(c, "zclear") }
    /// `ZincrBy(mmsid, key, delta, member)`: the new score.
    zincr_by(c) {
        run(c, "zincrby", 4, 4, |c| cmd(c, "zincrby", vec![name(c, 2, "delta")?, name(c, 3, "member")?]))
            .map(as_int)
    }
    /// `Sadd(mmsid, key, members...)`.
    sadd(c) { key_names(c, "sadd", 3) }
    /// `Scard(mmsid, key)`.
    scard(c) { key_only(c, "scard") }
    /// `Sclear(mmsid, key)`.
    sclear(c) { key_only(c, "sclear") }
    /// `Sdiff(mmsid, keys...)`.
    sdiff(c) { keys_only(c, "sdiff") }
    /// `Sinter(mmsid, keys...)`.
    sinter(c) { keys_only(c, "sinter") }
    /// `Smclear(mmsid, keys...)`.
    smclear(c) { mclear(c, "sclear") }
    /// `Smembers(mmsid, key)`.
    smembers(c) { key_only(c, "smembers") }
    /// `Srem(mmsid, key, member)`.
    srem(c) {
        run(c, "srem", 3, 3, |c| cmd(c, "srem", vec![name(c, 2, "member")?])).map(plain_value)
    }
    /// `Sunion(mmsid, keys...)`.
    sunion(c) { keys_only(c, "sunion") }
    /// `Scan(mmsid, begin, match, count, inclusive, tp)`: keys from `begin` in key order;
    /// tp as ledisdb numbers data types (0 string, 1 list, 2 hash, 3 set, 4 zset), absent =
    /// every type.
    scan(c) {
        run(c, "kscan", 2, 6, |c| {
            let mut a = vec![b"kscan".to_vec(), name(c, 1, "begin")?];
            a.extend(scan_opts(c, 2)?);
            if c.args.get(5).is_some_and(|v| *v != Value::Null) {
                a.push(b"TYPE".to_vec());
                a.push(type_name(c, 5, "tp")?.as_bytes().to_vec());
            }
            Ok(a)
        })
        .map(plain_value)
    }
    /// `GetLastSeq(mmsid)`: the last number `Zaddwithseq` handed out in this database.
    get_last_seq(c) { run(c, "getlastseq", 1, 1, |_| Ok(vec![b"getlastseq".to_vec()])).map(plain_value) }
    /// `Begin(mmsid, timeout)`: later writes through this handle go into a transaction,
    /// rolled back unless committed within `timeout` seconds.
    begin(c) {
        c.arity(1, 2)?;
        let secs = int(c, 1, "timeout", Some(0))?;
        if !(0..=MAX_TXN_SECS).contains(&secs) {
            return Err(bad(c, format!(
                "timeout {secs} s is out of range: give 1 to {MAX_TXN_SECS} seconds (0 = {DEFAULT_TXN_SECS})"
            )));
        }
        let secs = if secs == 0 { DEFAULT_TXN_SECS } else { secs };
        let t = db_target(c, true)?;
        let now = unix_ms();
        let deadline = now + secs as u64 * 1000;
        c.state
            .db
            .borrow_mut()
            .begin(&t.handle, t.mid, now, deadline)
            .map_err(|error| ApiError::db(c.entry.name, error))?;
        Ok(Value::Null)
    }
    /// `Commit(mmsid)`: applies the transaction, or fails with a conflict and applies
    /// nothing.
    commit(c) {
        c.arity(1, 1)?;
        let t = db_target(c, true)?;
        let mut db = c.state.db.borrow_mut();
        db.expire_txns(unix_ms());
        let r = if db.take_timed_out(&t.handle, true) {
            Err(timed_out())
        } else {
            db.commit(&c.state.store, &t.handle).and_then(|()| {
                if db.durability == Durability::Full {
                    db.flush(&c.state.store)?;
                }
                Ok(())
            })
        };
        r.map_err(|error| ApiError::db(c.entry.name, error))?;
        Ok(Value::Null)
    }
    /// `Rollback(mmsid)`: drops the transaction.
    rollback(c) {
        c.arity(1, 1)?;
        let t = db_target(c, true)?;
        let mut db = c.state.db.borrow_mut();
        db.expire_txns(unix_ms());
        // Rolling back what the timeout already rolled back is no error.
        if db.rollback(&t.handle) || db.take_timed_out(&t.handle, true) {
            Ok(Value::Null)
        } else {
            Err(ApiError::db(
                c.entry.name,
                DbError::Other("no transaction is open on this handle; call Begin first".into()),
            ))
        }
    }
    /// `MMSyncData(sid, mid, tp, mark, count, verseq...)`: not on this node.
    mm_sync_data(c) {
        Err(ApiError::NotSupported(format!(
            "{} is not supported on this node: Leither's MMSyncData hands out its store's raw \
             change records; this node syncs a database Mimei as content-addressed versions \
             instead: publish a version (MMBackup) and the other node fetches it \
             (`leither mimei sync`)",
            c.entry.name
        )))
    }
    /// `CheckIntegrity(mmsid, dataType, key, bRepair)`: null when the key is sound (or was
    /// repaired); an error saying what is wrong otherwise.
    check_integrity(c) {
        c.arity(3, 4)?;
        let kind = type_name(c, 1, "dataType")?;
        let repair = flag(c, 3, "bRepair")?;
        let cmd = if repair { "repairkey" } else { "checkkey" };
        run(c, cmd, 3, 4, |c| Ok(vec![cmd.as_bytes().to_vec(), name(c, 2, "key")?, kind.as_bytes().to_vec()]))?;
        Ok(Value::Null)
    }
}
