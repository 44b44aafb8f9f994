//! `OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP`.
//!
//! `ENCODING` answers the encoding Redis 7.0 would use for the value under the current
//! thresholds (`CONFIG SET hash-max-listpack-entries` ...); the storage here is the same
//! whatever it says (docs/db.md, "Layout"). It is computed from the key's meta entry and, for
//! a collection small enough to be compact, a look at its elements (at most [`MAX_LOOK`]):
//! strings `int`/`embstr`/`raw`, lists `quicklist` (7.0 has no other), hashes
//! `listpack`/`hashtable`, sets `intset`/`hashtable`, sorted sets `listpack`/`skiplist`.
//! Unlike Redis, nothing is sticky: a collection that shrinks back under the thresholds
//! reads compact again, and a string an `APPEND` made reads `int` if it is a number.
//!
//! `MEMORY USAGE key [SAMPLES n]` is here too: the bytes the key's entries take in the
//! ordered map (keys and values), estimated from `n` elements (default 5, 0 = all, at most
//! [`MAX_LOOK`]) as Redis samples.

use super::config::Thresholds;
use crate::db::engine::Ctx;
use crate::db::keys::Kind;
use crate::db::{DbError, Reply, num};

/// Most elements looked at to tell a compact encoding from a large one; a collection with
/// more answers the large encoding.
pub const MAX_LOOK: u64 = 8192;

/// Redis's shared-integer refcount (`OBJ_SHARED_REFCOUNT`).
const SHARED: i64 = i32::MAX as i64;

fn is_int(v: &[u8]) -> bool {
    v.len() <= 20 && num::parse_int(v).is_some()
}

/// The encoding name Redis 7.0 would give `key`, or `None` when it does not exist.
pub fn encoding(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    t: Thresholds,
) -> Result<Option<&'static str>, DbError> {
    let Some(m) = ctx.meta(key)? else {
        return Ok(None);
    };
    let (limit, sub, small, large): (u64, &[u8], &'static str, &'static str) = match m.kind {
        Kind::String => {
            return Ok(Some(if is_int(&m.value) {
                "int"
            } else if m.value.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }));
        }
        Kind::List => return Ok(Some("quicklist")),
        Kind::Stream => return Ok(Some("stream")),
        Kind::Hash => (t.hash_entries, b"", "listpack", "hashtable"),
        Kind::Set => (t.set_intset, b"", "intset", "hashtable"),
        Kind::ZSet => (t.zset_entries, b"m", "listpack", "skiplist"),
    };
    if m.len > limit || m.len > MAX_LOOK {
        return Ok(Some(large));
    }
    let mut compact = true;
    ctx.elems(key, sub, false, &mut |name, value| {
        compact = match m.kind {
            Kind::Hash => name.len() as u64 <= t.hash_value && value.len() as u64 <= t.hash_value,
            Kind::Set => is_int(name),
            _ => name.len() as u64 <= t.zset_value,
        };
        compact
    })?;
    Ok(Some(if compact { small } else { large }))
}

/// `OBJECT sub [key]` (`a[0]` is `OBJECT`).
pub fn object(ctx: &mut Ctx<'_>, a: &[&[u8]], t: Thresholds) -> Result<Reply, DbError> {
    let Some(sub) = a.get(1).map(|s| s.to_ascii_lowercase()) else {
        return Err(DbError::Arity("object".into()));
    };
    let known = ["encoding", "refcount", "idletime", "freq"];
    if sub == b"help" {
        if a.len() != 2 {
            return Err(DbError::Arity("object|help".into()));
        }
        return Ok(Reply::Array(
            [
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation Redis 7.0 would use for <key>.",
                "FREQ <key>",
                "    Not tracked by leither: answers an error.",
                "IDLETIME <key>",
                "    Not tracked by leither: answers 0.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>, as Redis 7.0 would count them.",
                "HELP",
                "    Print this help.",
            ]
            .into_iter()
            .map(Reply::Status)
            .collect(),
        ));
    }
    let Some(name) = known.iter().find(|k| k.as_bytes() == sub.as_slice()) else {
        return Err(DbError::Other(format!(
            "unknown subcommand '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(&a[1][..a[1].len().min(128)])
        )));
    };
    if a.len() != 3 {
        return Err(DbError::Arity(format!("object|{name}")));
    }
    let key = a[2];
    let Some(enc) = encoding(ctx, key, t)? else {
        return Ok(Reply::Nil);
    };
    Ok(match *name {
        "encoding" => Reply::text(enc),
        "refcount" => {
            let shared = enc == "int"
                && ctx
                    .meta(key)?
                    .and_then(|m| num::parse_int(&m.value))
                    .is_some_and(|n| (0..10_000).contains(&n));
            Reply::Int(if shared { SHARED } else { 1 })
        }
        "idletime" => Reply::Int(0),
        _ => {
            return Err(DbError::Other(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
                    .into(),
            ));
        }
    })
}

/// `MEMORY USAGE key [SAMPLES n]` (`a[0]` is `MEMORY`, `a[1]` `USAGE`).
pub fn memory_usage(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> Result<Reply, DbError> {
    if a.len() < 3 {
        return Err(DbError::Arity("memory|usage".into()));
    }
    let mut samples: u64 = 5;
    let mut j = 3;
    while j < a.len() {
        if a[j].eq_ignore_ascii_case(b"samples") && j + 1 < a.len() {
            let n = num::parse_int(a[j + 1]).ok_or(DbError::NotInteger)?;
            if n < 0 {
                return Err(DbError::NotInteger);
            }
            samples = if n == 0 {
                MAX_LOOK
            } else {
                (n as u64).min(MAX_LOOK)
            };
            j += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    let key = a[2];
    let Some(m) = ctx.meta(key)? else {
        return Ok(Reply::Nil);
    };
    // The meta entry (its key, type, expiry, value or count) and the expiry entry.
    let mut bytes = 1 + key.len() as u64 + 9 + m.value.len() as u64 + 16;
    if m.expire != 0 {
        bytes += 9 + key.len() as u64;
    }
    if m.len > 0 {
        let (mut seen, mut sum) = (0u64, 0u64);
        let prefix = 5 + key.len() as u64;
        ctx.elems(key, b"", false, &mut |rest, v| {
            seen += 1;
            sum += prefix + rest.len() as u64 + v.len() as u64;
            seen < samples
        })?;
        if let Some(avg) = sum.checked_div(seen) {
            // Sorted sets hold two entries per member, lists fewer than one per element:
            // scale by the entries seen against the count.
            let entries = match m.kind {
                Kind::ZSet => m.len.saturating_mul(2),
                _ => m.len,
            };
            bytes = bytes.saturating_add(avg.saturating_mul(entries.max(seen)));
        }
    }
    Ok(Reply::Int(bytes.min(i64::MAX as u64) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::engine::exec;
    use crate::db::kv::MemKv;
    use crate::db::typed::Values;
    use crate::resp::config::Config;

    fn enc(kv: &mut MemKv, key: &str, t: Thresholds) -> Option<&'static str> {
        let mut ctx = Ctx {
            kv,
            now: 1,
            values: Values::Plain,
            tune: Default::default(),
        };
        encoding(&mut ctx, key.as_bytes(), t).unwrap()
    }

    fn run(kv: &mut MemKv, s: &str) {
        let a: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
        exec(kv, 1, &a).unwrap();
    }

    #[test]
    fn encodings_follow_the_thresholds() {
        let mut kv = MemKv::default();
        let t = Config::default().thresholds();
        run(&mut kv, "set i 12345");
        run(&mut kv, &format!("set e {}", "x".repeat(44)));
        run(&mut kv, &format!("set r {}", "x".repeat(45)));
        assert_eq!(enc(&mut kv, "i", t), Some("int"));
        assert_eq!(enc(&mut kv, "e", t), Some("embstr"));
        assert_eq!(enc(&mut kv, "r", t), Some("raw"));
        assert_eq!(enc(&mut kv, "none", t), None);
        run(&mut kv, "rpush l a");
        assert_eq!(enc(&mut kv, "l", t), Some("quicklist"));
        run(&mut kv, "sadd s 1 2 3");
        assert_eq!(enc(&mut kv, "s", t), Some("intset"));
        run(&mut kv, "sadd s a");
        assert_eq!(enc(&mut kv, "s", t), Some("hashtable"));
        run(&mut kv, "hset h f v");
        assert_eq!(enc(&mut kv, "h", t), Some("listpack"));
        run(&mut kv, &format!("hset h g {}", "v".repeat(65)));
        assert_eq!(enc(&mut kv, "h", t), Some("hashtable"));
        run(&mut kv, "zadd z 1 a");
        assert_eq!(enc(&mut kv, "z", t), Some("listpack"));
        let mut small = t;
        small.zset_entries = 0;
        assert_eq!(enc(&mut kv, "z", small), Some("skiplist"));
    }

    #[test]
    fn subcommands_and_errors() {
        let mut kv = MemKv::default();
        run(&mut kv, "set n 5");
        let t = Config::default().thresholds();
        let mut ctx = Ctx {
            kv: &mut kv,
            now: 1,
            values: Values::Plain,
            tune: Default::default(),
        };
        let mut obj = |s: &str| {
            let a: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
            object(&mut ctx, &a, t).map_err(|e| e.to_string())
        };
        assert_eq!(obj("object refcount n"), Ok(Reply::Int(SHARED)));
        assert_eq!(obj("object encoding missing"), Ok(Reply::Nil));
        assert_eq!(obj("object idletime n"), Ok(Reply::Int(0)));
        assert!(obj("object freq n").unwrap_err().starts_with("ERR An LFU"));
        assert_eq!(
            obj("object foo n").unwrap_err(),
            "ERR unknown subcommand 'foo'. Try OBJECT HELP."
        );
        assert_eq!(
            obj("object encoding").unwrap_err(),
            "ERR wrong number of arguments for 'object|encoding' command"
        );
        assert!(obj("object help").is_ok());
    }

    #[test]
    fn memory_usage_counts_the_entries() {
        let mut kv = MemKv::default();
        run(&mut kv, "set s hello");
        run(&mut kv, "rpush l a b c");
        let mut ctx = Ctx {
            kv: &mut kv,
            now: 1,
            values: Values::Plain,
            tune: Default::default(),
        };
        let mut mem = |s: &str| {
            let a: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
            memory_usage(&mut ctx, &a).map_err(|e| e.to_string())
        };
        assert!(matches!(mem("memory usage s"), Ok(Reply::Int(n)) if n > 5));
        assert!(matches!(mem("memory usage l samples 0"), Ok(Reply::Int(n)) if n > 3));
        assert_eq!(mem("memory usage none"), Ok(Reply::Nil));
        assert_eq!(
            mem("memory usage s samples"),
            Err("ERR syntax error".into())
        );
    }
}
