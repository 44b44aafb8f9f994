//! The plumbing of the database functions (`fns_db.rs`): reading their arguments (names,
//! integers, flags, data types), running one engine command on the database behind an
//! `mmsid` with its rights checked, and shaping replies into Leither's results.

use super::db_value::{from_stored, fv_pair, plain, score_pair};
use super::fns_mimei::{DbTarget, db_target};
use super::{ApiError, Call, Value};
use crate::clock::unix_ms;
use crate::db::cur::{Durability, timed_out};
use crate::db::typed::Values;
use crate::db::{DbError, Reply, engine};

/// The most arguments a variadic database function takes (keys, members, values).
pub(super) const MAX_ARGS: usize = 100_000;

/// A refusal of the call's arguments, naming the function.
pub(super) fn bad(c: &Call<'_>, message: String) -> ApiError {
    ApiError::BadArguments {
        function: c.entry.name,
        message,
    }
}

/// A key, field, member or range end: strings and bytes as they are, numbers in decimal.
pub(super) fn name_of(c: &Call<'_>, v: &Value, what: &str) -> Result<Vec<u8>, ApiError> {
    Ok(match v {
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Bytes(b) => b.clone(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => crate::db::num::format_double(*f).into_bytes(),
        Value::Bool(b) => if *b { b"1" } else { b"0" }.to_vec(),
        other => {
            return Err(bad(
                c,
                format!("{what} must be a string or a number, got {}", other.kind()),
            ));
        }
    })
}

/// Argument `i` as a name.
pub(super) fn name(c: &Call<'_>, i: usize, what: &str) -> Result<Vec<u8>, ApiError> {
    match c.args.get(i) {
        Some(v) => name_of(c, v, &format!("argument {} ({what})", i + 1)),
        None => Err(bad(c, format!("argument {} ({what}) is missing", i + 1))),
    }
}

/// Arguments `from..` as names; a list among them counts as its items (a JavaScript
/// client may pass the variadic part as one array).
pub(super) fn names(c: &Call<'_>, from: usize, what: &str) -> Result<Vec<Vec<u8>>, ApiError> {
    let mut out = Vec::new();
    for v in c.args.iter().skip(from) {
        match v {
            Value::List(items) => {
                for x in items {
                    out.push(name_of(c, x, what)?);
                }
            }
            v => out.push(name_of(c, v, what)?),
        }
        if out.len() > MAX_ARGS {
            return Err(bad(c, format!("more than {MAX_ARGS} {what}s in one call")));
        }
    }
    Ok(out)
}

/// Argument `i` as an integer (a number, or decimal text), `default` when absent or null.
pub(super) fn int(
    c: &Call<'_>,
    i: usize,
    what: &str,
    default: Option<i64>,
) -> Result<i64, ApiError> {
    let v = c.args.get(i).filter(|v| **v != Value::Null);
    let n = match v {
        None => default,
        Some(Value::Str(s)) => s.trim().parse().ok(),
        Some(v) => v.as_i64(),
    };
    n.ok_or_else(|| match v {
        None => bad(c, format!("argument {} ({what}) is missing", i + 1)),
        Some(v) => bad(
            c,
            format!(
                "argument {} ({what}) must be an integer, got {}",
                i + 1,
                v.kind()
            ),
        ),
    })
}

/// Argument `i` as a boolean (also 0/1 and "true"/"false"), false when absent.
pub(super) fn flag(c: &Call<'_>, i: usize, what: &str) -> Result<bool, ApiError> {
    match c.args.get(i) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Int(n)) => Ok(*n != 0),
        Some(Value::Str(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::Str(s)) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(false),
        Some(v) => Err(bad(
            c,
            format!(
                "argument {} ({what}) must be a boolean, got {}",
                i + 1,
                v.kind()
            ),
        )),
    }
}

/// Runs `args` (name first) on the target: a transaction's overlay, `cur`, or a version.
/// Values go in and come out in their stored form; the shaping here decodes them.
pub(super) fn exec_on(c: &Call<'_>, t: &DbTarget, args: &[&[u8]]) -> Result<Reply, DbError> {
    let state = c.state;
    let now = unix_ms();
    let mut db = state.db.borrow_mut();
    match t.version {
        Some(n) => crate::db::version::exec_at(&state.store, &t.mid, n, now, args, Values::Stored),
        None => {
            db.expire_txns(now);
            if db.take_timed_out(&t.handle, false) {
                return Err(timed_out());
            }
            if let Some(mut txn) = db.txns.remove(&t.handle) {
                let r = {
                    let tune = db.tune;
                    let mut base = db.view(&state.store, &t.mid);
                    let mut kv = txn.overlay.over(&mut base);
                    engine::exec_tuned(&mut kv, now, args, Values::Stored, tune)
                };
                db.txns.insert(t.handle.clone(), txn);
                return r;
            }
            let r = {
                let tune = db.tune;
                let mut kv = db.view(&state.store, &t.mid);
                engine::exec_tuned(&mut kv, now, args, Values::Stored, tune)?
            };
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

/// Checks the arity (`min..=max` arguments, the mmsid included) and the rights, then runs
/// the command `build` makes.
///
/// Whether the call needs write is the engine's word on `command` (`engine::COMMANDS`, the
/// one list of database commands), never a second flag here.
pub(super) fn run(
    c: &Call<'_>,
    command: &str,
    min: usize,
    max: usize,
    build: impl FnOnce(&Call<'_>) -> Result<Vec<Vec<u8>>, ApiError>,
) -> Result<Reply, ApiError> {
    c.arity(min, max)?;
    let t = db_target(c, writes(command))?;
    let args = build(c)?;
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    exec_on(c, &t, &refs).map_err(|error| ApiError::db(c.entry.name, error))
}

/// Whether the engine command `name` may write (an unknown name counts as a write: the
/// stricter check; every name the API uses is in the list: db_call's tests).
pub(super) fn writes(name: &str) -> bool {
    engine::lookup(name.as_bytes()).is_none_or(|c| c.write)
}

/// A command of the name and the key (argument 1), then `rest`.
pub(super) fn cmd(c: &Call<'_>, name: &str, rest: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, ApiError> {
    let mut a = Vec::with_capacity(rest.len() + 2);
    a.push(name.as_bytes().to_vec());
    a.push(self::name(c, 1, "key")?);
    a.extend(rest);
    Ok(a)
}

/// A reply as it is: status and bulk strings as text (bytes when not UTF-8), lists.
pub(super) fn plain_value(r: Reply) -> Value {
    match r {
        Reply::Status(s) => Value::Str(s.to_string()),
        Reply::Int(i) => Value::Int(i),
        Reply::Bulk(b) => plain(b),
        Reply::Nil | Reply::NilArray => Value::Null,
        Reply::Array(a) | Reply::Map(a) | Reply::Set(a) | Reply::Pairs(a) => {
            Value::List(a.into_iter().map(plain_value).collect())
        }
        Reply::Double(d) => Value::Str(crate::db::num::format_double(d)),
        Reply::Error(e) => Value::Str(e),
    }
}

/// A reply holding one stored value (or nil), or a list of them.
pub(super) fn stored_value(r: Reply) -> Value {
    match r {
        Reply::Bulk(b) => from_stored(b),
        Reply::Array(a) | Reply::Map(a) | Reply::Set(a) | Reply::Pairs(a) => {
            Value::List(a.into_iter().map(stored_value).collect())
        }
        other => plain_value(other),
    }
}

/// A bulk reply's bytes (empty for anything else, which the ranges never hold).
pub(super) fn bulk(r: Reply) -> Vec<u8> {
    match r {
        Reply::Bulk(b) => b,
        Reply::Double(d) => crate::db::num::format_double(d).into_bytes(),
        _ => Vec::new(),
    }
}

/// `[field, value, ...]` as `[{Field, Value}]`.
pub(super) fn fv_pairs(r: Reply) -> Value {
    let Some(items) = r.into_items() else {
        return Value::List(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        out.push(fv_pair(bulk(f), bulk(v)));
    }
    Value::List(out)
}

/// `[member, score, ...]` (WITHSCORES) as `[{Score, Member}]`.
pub(super) fn score_pairs(r: Reply) -> Value {
    let Some(items) = r.into_items() else {
        return Value::List(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        out.push(score_pair(&bulk(s), bulk(m)));
    }
    Value::List(out)
}

/// Argument `i`, a data type as ledisdb numbers them, as the engine names it.
pub(super) fn type_name(c: &Call<'_>, i: usize, what: &str) -> Result<&'static str, ApiError> {
    Ok(match int(c, i, what, None)? {
        0 => "string",
        1 => "list",
        2 => "hash",
        3 => "set",
        4 => "zset",
        n => {
            return Err(bad(
                c,
                format!(
                    "argument {} ({what}) must be 0 (string), 1 (list), 2 (hash), 3 (set) or 4 (zset), got {n}",
                    i + 1
                ),
            ));
        }
    })
}

/// A score reply (`ZSCORE`, `ZINCRBY` answer text) as Leither's int64.
pub(super) fn as_int(r: Reply) -> Value {
    match r {
        Reply::Bulk(b) => super::db_value::score(&b),
        Reply::Double(d) => super::db_value::score(crate::db::num::format_double(d).as_bytes()),
        other => plain_value(other),
    }
}

#[cfg(test)]
mod tests {
    /// Every engine command the database functions name is in `engine::COMMANDS`, so
    /// [`super::writes`] answers from the one list (never its "unknown: write" fallback).
    #[test]
    fn every_db_command_is_known() {
        let src = include_str!("fns_db.rs");
        let mut seen = 0;
        for call in [
            "run(c, \"",
            "key_only(c, \"",
            "key_names(c, \"",
            "keys_only(c, \"",
            "mclear(c, \"",
            "zbyrank(c, \"",
            "zbyscore(c, \"",
            "hscan_args(c, \"",
        ] {
            for (i, _) in src.match_indices(call) {
                let rest = &src[i + call.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                assert!(
                    crate::db::engine::lookup(name.as_bytes()).is_some(),
                    "{name} is not an engine command"
                );
                seen += 1;
            }
        }
        assert!(
            seen > 60,
            "only {seen} commands found: has fns_db.rs changed shape?"
        );
    }
}
