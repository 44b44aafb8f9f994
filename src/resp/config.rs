//! `CONFIG GET/SET/RESETSTAT/REWRITE` of the RESP door: the settings that mean something
//! on a node, kept per node ([`Config`] lives in the node's [`super::node::RespNode`], as
//! several nodes may run in one process), with Redis 7.0's names, aliases, defaults, ranges
//! and error texts, so a client's `CONFIG SET x` and its restore work.
//!
//! What they change here: the encoding thresholds decide what `OBJECT ENCODING` answers
//! (the encoding Redis would use; the storage here is the same whatever they say). The
//! rest (`list-compress-depth`, `proto-max-bulk-len`, `client-query-buffer-limit`,
//! `busy-reply-threshold`, ...) are kept and answered back, with no effect: the node's own
//! limits apply (docs/db.md). `save` and `appendonly` read `""` and `no` (durability is
//! `DbDurability`) and can only be set to those. Only the node owner may `CONFIG SET`.

use crate::db::{DbError, Reply, glob, num};

/// How a parameter's value is read.
#[derive(Clone, Copy)]
enum Kind {
    /// An integer in `min..=max`.
    Int(i64, i64),
    /// A byte count (`1gb`, `512mb`, `100`), up to `i64::MAX`.
    Memory,
    /// `yes` or `no`.
    Bool,
    /// One of these words.
    Enum(&'static [&'static str]),
    /// Fixed: only its own value may be set.
    Fixed,
}

/// One parameter: name, alias (Redis 7.0's old name), kind, default.
struct Param {
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    default: &'static str,
}

const fn p(
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    default: &'static str,
) -> Param {
    Param {
        name,
        alias,
        kind,
        default,
    }
}

const I32: Kind = Kind::Int(i32::MIN as i64, i32::MAX as i64);
const U32: Kind = Kind::Int(0, i32::MAX as i64);
const ULONG: Kind = Kind::Int(0, i64::MAX);

/// Every parameter known here, in the order `CONFIG GET *` lists them.
static PARAMS: &[Param] = &[
    p(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        I32,
        "-2",
    ),
    p("list-compress-depth", None, U32, "0"),
    p(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        ULONG,
        "128",
    ),
    p(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        ULONG,
        "64",
    ),
    p("set-max-intset-entries", None, ULONG, "512"),
    p(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        ULONG,
        "128",
    ),
    p(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        ULONG,
        "64",
    ),
    p(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        ULONG,
        "5000",
    ),
    p("proto-max-bulk-len", None, Kind::Memory, "536870912"),
    p(
        "client-query-buffer-limit",
        None,
        Kind::Memory,
        "1073741824",
    ),
    p(
        "sanitize-dump-payload",
        None,
        Kind::Enum(&["no", "yes", "clients"]),
        "no",
    ),
    p("rdb-key-save-delay", None, I32, "0"),
    p("save", None, Kind::Fixed, ""),
    p("appendonly", None, Kind::Fixed, "no"),
    p("databases", None, Kind::Fixed, "16"),
    p("maxmemory", None, Kind::Fixed, "0"),
    p("timeout", None, Kind::Fixed, "0"),
    p("stream-node-max-entries", None, ULONG, "100"),
    p("stream-node-max-bytes", None, Kind::Memory, "4096"),
    p("lazyfree-lazy-user-del", None, Kind::Bool, "no"),
    p("lazyfree-lazy-user-flush", None, Kind::Bool, "no"),
];

/// The encoding thresholds `OBJECT ENCODING` follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// `hash-max-listpack-entries`.
    pub hash_entries: u64,
    /// `hash-max-listpack-value`.
    pub hash_value: u64,
    /// `set-max-intset-entries`.
    pub set_intset: u64,
    /// `zset-max-listpack-entries`.
    pub zset_entries: u64,
    /// `zset-max-listpack-value`.
    pub zset_value: u64,
}

/// One node's settings: the current value of each of [`PARAMS`].
#[derive(Clone, Debug)]
pub struct Config {
    values: Vec<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            values: PARAMS.iter().map(|p| p.default.to_string()).collect(),
        }
    }
}

fn index(name: &[u8]) -> Option<usize> {
    PARAMS.iter().position(|p| {
        name.eq_ignore_ascii_case(p.name.as_bytes())
            || p.alias
                .is_some_and(|a| name.eq_ignore_ascii_case(a.as_bytes()))
    })
}

/// Redis's `memtoull`: digits, then an optional unit (`k kb m mb g gb`, any case).
fn memory(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num::parse_int(digits.as_bytes())?.checked_mul(mul)
}

impl Config {
    fn int(&self, name: &str) -> i64 {
        index(name.as_bytes())
            .and_then(|i| num::parse_int(self.values[i].as_bytes()))
            .unwrap_or(0)
    }

    /// The current encoding thresholds.
    pub fn thresholds(&self) -> Thresholds {
        let u = |n| self.int(n).max(0) as u64;
        Thresholds {
            hash_entries: u("hash-max-listpack-entries"),
            hash_value: u("hash-max-listpack-value"),
            set_intset: u("set-max-intset-entries"),
            zset_entries: u("zset-max-listpack-entries"),
            zset_value: u("zset-max-listpack-value"),
        }
    }

    /// `CONFIG GET pattern...`: name, value of each match (an alias too when it matches).
    pub fn get(&self, patterns: &[&[u8]]) -> Reply {
        let mut out = Vec::new();
        let mut seen = vec![false; PARAMS.len() * 2];
        for pat in patterns {
            let pat = pat.to_ascii_lowercase();
            for (i, p) in PARAMS.iter().enumerate() {
                for (j, name) in [Some(p.name), p.alias].into_iter().enumerate() {
                    let Some(name) = name else { continue };
                    if !seen[2 * i + j] && glob::matches(&pat, name.as_bytes()) {
                        seen[2 * i + j] = true;
                        out.push(Reply::text(name));
                        out.push(Reply::text(self.values[i].clone()));
                    }
                }
            }
        }
        Reply::Map(out)
    }

    /// `CONFIG SET name value [name value ...]`: all or nothing, as Redis 7.0.
    pub fn set(&mut self, pairs: &[&[u8]]) -> Result<Reply, DbError> {
        if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
            return Err(DbError::Arity("config|set".into()));
        }
        let mut next = self.values.clone();
        let mut done = vec![false; PARAMS.len()];
        for kv in pairs.chunks(2) {
            let (name, value) = (kv[0], kv[1]);
            let Some(i) = index(name) else {
                return Err(DbError::Other(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(name)
                )));
            };
            let param = &PARAMS[i];
            if done[i] {
                return Err(DbError::Other(format!(
                    "Duplicate parameter - {}",
                    String::from_utf8_lossy(name)
                )));
            }
            done[i] = true;
            let failed = |why: &str| {
                DbError::Other(format!(
                    "CONFIG SET failed (possibly related to argument '{}') - {why}",
                    String::from_utf8_lossy(name)
                ))
            };
            next[i] = match param.kind {
                Kind::Int(min, max) => {
                    let n = num::parse_int(value)
                        .ok_or_else(|| failed("argument couldn't be parsed into an integer"))?;
                    if n < min || n > max {
                        return Err(failed(&format!(
                            "argument must be between {min} and {max} inclusive"
                        )));
                    }
                    n.to_string()
                }
                Kind::Memory => memory(value)
                    .ok_or_else(|| failed("argument must be a memory value"))?
                    .to_string(),
                Kind::Bool => match value.to_ascii_lowercase().as_slice() {
                    b"yes" => "yes".into(),
                    b"no" => "no".into(),
                    _ => return Err(failed("argument must be 'yes' or 'no'")),
                },
                Kind::Enum(words) => {
                    let v = value.to_ascii_lowercase();
                    match words.iter().find(|w| w.as_bytes() == v.as_slice()) {
                        Some(w) => w.to_string(),
                        None => return Err(failed("argument(s) must be one of the following")),
                    }
                }
                Kind::Fixed if value == param.default.as_bytes() => param.default.to_string(),
                Kind::Fixed => {
                    return Err(failed(&format!(
                        "leither keeps {} at '{}' (its storage is its own: docs/db.md)",
                        param.name, param.default
                    )));
                }
            };
        }
        self.values = next;
        Ok(Reply::OK)
    }

    /// `base` (the engine's settings, [`crate::db::engine::Tune`]) with what of them this
    /// configuration sets.
    pub fn tune(&self, base: crate::db::engine::Tune) -> crate::db::engine::Tune {
        let mut t = base;
        if let Some(n) = index(b"stream-node-max-entries").and_then(|i| self.values[i].parse().ok())
        {
            t.stream_node_max_entries = n;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(c: &Config, p: &str) -> Vec<Reply> {
        c.get(&[p.as_bytes()]).into_items().unwrap()
    }

    #[test]
    fn set_get_alias_and_restore() {
        let mut c = Config::default();
        assert_eq!(
            get(&c, "zset-max-ziplist-entries"),
            vec![Reply::text("zset-max-ziplist-entries"), Reply::text("128")]
        );
        c.set(&[b"zset-max-ziplist-entries", b"0"]).unwrap();
        assert_eq!(c.thresholds().zset_entries, 0);
        assert_eq!(get(&c, "zset-max-listpack-entries")[1], Reply::text("0"));
        c.set(&[b"zset-max-listpack-entries", b"128"]).unwrap();
        assert_eq!(c.thresholds(), Config::default().thresholds());
        c.set(&[b"proto-max-bulk-len", b"10gb"]).unwrap();
        assert_eq!(get(&c, "proto-max-bulk-len")[1], Reply::text("10737418240"));
        c.set(&[b"save", b""]).unwrap();
        assert!(c.set(&[b"appendonly", b"yes"]).is_err());
    }

    #[test]
    fn errors_are_redis_texts_and_nothing_changes() {
        let mut c = Config::default();
        let e = c.set(&[b"nosuch", b"1"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
        );
        let e = c
            .set(&[
                b"hash-max-listpack-value",
                b"1",
                b"set-max-intset-entries",
                b"x",
            ])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "ERR CONFIG SET failed (possibly related to argument 'set-max-intset-entries') - argument couldn't be parsed into an integer"
        );
        assert_eq!(c.thresholds().hash_value, 64, "all or nothing");
        assert!(c.set(&[b"save"]).is_err());
        assert!(get(&c, "nosuch").is_empty());
        assert!(get(&c, "*").len() >= 2 * PARAMS.len());
    }
}
