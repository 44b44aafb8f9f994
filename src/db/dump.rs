//! `DUMP` and `RESTORE` in Leither's own serialized form (not Redis's RDB format), and the
//! two functions the RESP listener uses for `MOVE` and `COPY ... DB` across databases.
//!
//! A payload is: a version byte ([`VERSION`]); the type (the meta entry's code: 1 string, 2
//! hash, 3 list, 4 set, 5 zset); an element count (u32 big-endian); the elements, each a
//! length (u32 big-endian) and bytes (a string: its value; a hash: field, value; a list:
//! its values in order; a set: its members; a sorted set: member, then its score as 8 bytes
//! of f64 big-endian); then the first 8 bytes of the BLAKE3 hash of everything before. Values
//! are in their stored form (`db/typed.rs`), so a typed value set through the API survives.
//!
//! `RESTORE` checks all of it before it writes anything and answers Redis's `ERR DUMP
//! payload version or checksum are wrong` for a payload of another version or checksum
//! (Redis's own payloads included), `ERR Bad data format` for one that does not parse. It
//! rebuilds the key with the type's own commands, so whatever the payload says, the key is
//! as consistent as one those commands made. A payload holds at most [`MAX_DUMP`] bytes
//! (the RESP listener's largest argument), so every dump can be restored; `DUMP` of a
//! larger key answers an error.

use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::{Kind, Meta};
use super::typed::Values;
use super::{DbError, MAX_KEY, MAX_VALUE, Reply};

/// The payload version this code writes and reads.
pub const VERSION: u8 = 1;
/// The largest payload: 16 MiB, the RESP listener's largest argument.
pub const MAX_DUMP: usize = 16 << 20;
/// Elements per command when a key is rebuilt.
const CHUNK: usize = 512;

fn too_large() -> DbError {
    DbError::Other(format!(
        "key too large to DUMP (over {MAX_DUMP} bytes serialized)"
    ))
}

fn bad_payload() -> DbError {
    DbError::Other("DUMP payload version or checksum are wrong".into())
}

fn bad_format() -> DbError {
    DbError::Other("Bad data format".into())
}

struct Writer {
    out: Vec<u8>,
    count: u32,
}

impl Writer {
    fn item(&mut self, b: &[u8]) -> Result<(), DbError> {
        if self.out.len() + 4 + b.len() + 8 > MAX_DUMP {
            return Err(too_large());
        }
        self.out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        self.out.extend_from_slice(b);
        self.count += 1;
        Ok(())
    }
}

/// Runs `f` with the command's values in their stored form, as a payload holds them.
fn stored<R>(ctx: &mut Ctx<'_>, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
    let was = ctx.values;
    ctx.values = Values::Stored;
    let r = f(ctx);
    ctx.values = was;
    r
}

/// The payload of `key`, `None` when it does not exist.
pub fn dump(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
    let Some(m) = ctx.meta(key)? else {
        return Ok(None);
    };
    let mut w = Writer {
        out: vec![VERSION, m.kind as u8, 0, 0, 0, 0],
        count: 0,
    };
    // No key of more elements than this can fit (each takes at least 4 bytes).
    if m.len > (MAX_DUMP / 4) as u64 {
        return Err(too_large());
    }
    match m.kind {
        // A stream's entries, groups and pending lists must agree with one another, and a
        // payload is rebuilt through commands so that none can break a key: there is no
        // command that rebuilds a stream's groups as they were.
        Kind::Stream => {
            return Err(DbError::Other(
                "DUMP of a stream is not supported by Mimei databases; COPY or RENAME it".into(),
            ));
        }
        Kind::String => w.item(&m.value)?,
        Kind::Hash => {
            for (f, v) in stored(ctx, |c| super::cmd_hash::pairs(c, key))? {
                w.item(&f)?;
                w.item(&v)?;
            }
        }
        Kind::List => {
            let r = stored(ctx, |c| {
                super::cmd_list::lrange(c, &[b"lrange", key, b"0", b"-1"])
            })?;
            for v in r.into_items().unwrap_or_default() {
                if let Reply::Bulk(v) = v {
                    w.item(&v)?;
                }
            }
        }
        Kind::Set => {
            for v in super::cmd_set::members(ctx, key)? {
                w.item(&v)?;
            }
        }
        Kind::ZSet => {
            let r = super::cmd_zrange::zrange(ctx, &[b"zrange", key, b"0", b"-1", b"withscores"])?;
            let items = r.into_items().unwrap_or_default();
            for p in items.chunks(2) {
                let (Some(Reply::Bulk(member)), Some(score)) = (p.first(), p.get(1)) else {
                    continue;
                };
                let score = match score {
                    Reply::Double(d) => *d,
                    Reply::Bulk(t) => super::num::parse_float(t)
                        .or_else(|| super::num::parse_score_bound(t).map(|b| b.value))
                        .ok_or_else(bad_format)?,
                    _ => return Err(bad_format()),
                };
                w.item(member)?;
                if w.out.len() + 8 + 8 > MAX_DUMP {
                    return Err(too_large());
                }
                w.out.extend_from_slice(&score.to_be_bytes());
            }
        }
    }
    let mut out = w.out;
    out[2..6].copy_from_slice(&w.count.to_be_bytes());
    let check = blake3::hash(&out);
    out.extend_from_slice(&check.as_bytes()[..8]);
    Ok(Some(out))
}

/// A payload, checked and parsed.
struct Parsed<'a> {
    kind: Kind,
    items: Vec<&'a [u8]>,
    scores: Vec<f64>,
}

fn parse(payload: &[u8]) -> Result<Parsed<'_>, DbError> {
    if payload.len() < 6 + 8 || payload[0] != VERSION || payload.len() > MAX_DUMP {
        return Err(bad_payload());
    }
    let (body, check) = payload.split_at(payload.len() - 8);
    if &blake3::hash(body).as_bytes()[..8] != check {
        return Err(bad_payload());
    }
    let kind = match body[1] {
        1 => Kind::String,
        2 => Kind::Hash,
        3 => Kind::List,
        4 => Kind::Set,
        5 => Kind::ZSet,
        _ => return Err(bad_format()),
    };
    let count = u32::from_be_bytes([body[2], body[3], body[4], body[5]]) as usize;
    let mut rest = &body[6..];
    if count > rest.len() / 4 {
        return Err(bad_format());
    }
    let mut p = Parsed {
        kind,
        items: Vec::with_capacity(count),
        scores: Vec::new(),
    };
    for i in 0..count {
        let (len, r) = rest.split_first_chunk::<4>().ok_or_else(bad_format)?;
        let len = u32::from_be_bytes(*len) as usize;
        if r.len() < len {
            return Err(bad_format());
        }
        let (item, r) = r.split_at(len);
        rest = r;
        // Fields and members are names; values (and a string) are values.
        let is_name = match kind {
            Kind::Hash => i % 2 == 0,
            Kind::Set | Kind::ZSet => true,
            Kind::String | Kind::List | Kind::Stream => false,
        };
        if (is_name && item.len() > MAX_KEY) || item.len() > MAX_VALUE {
            return Err(bad_format());
        }
        p.items.push(item);
        if kind == Kind::ZSet {
            let (s, r) = rest.split_first_chunk::<8>().ok_or_else(bad_format)?;
            rest = r;
            let s = f64::from_be_bytes(*s);
            if s.is_nan() {
                return Err(bad_format());
            }
            p.scores.push(s);
        }
    }
    let shape_ok = match kind {
        Kind::String => count == 1,
        Kind::Hash => count.is_multiple_of(2) && count > 0,
        _ => count > 0,
    };
    if !rest.is_empty() || !shape_ok {
        return Err(bad_format());
    }
    Ok(p)
}

/// Creates `key` from `payload`, expiring `ttl_ms` milliseconds from now (0: never; see
/// [`restore_at`] for an absolute time). Answers `BUSYKEY` (a `Reply::Error`) when the key
/// exists and `replace` is false, `ERR DUMP payload version or checksum are wrong` for a
/// payload [`dump`] did not make.
pub fn restore(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    payload: &[u8],
    ttl_ms: u64,
    replace: bool,
) -> CmdResult {
    let at = if ttl_ms == 0 {
        0
    } else {
        ctx.now.saturating_add(ttl_ms)
    };
    restore_at(ctx, key, payload, at, replace)
}

fn busy() -> Reply {
    Reply::Error("BUSYKEY Target key name already exists.".into())
}

/// Like [`restore`], expiring at `at` (ms since the epoch, 0: never; in the past: the key
/// is not created), for `MOVE`, which keeps the key's expiry as it is.
pub fn restore_at(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    payload: &[u8],
    at: u64,
    replace: bool,
) -> CmdResult {
    if key.len() > MAX_KEY {
        return Err(DbError::KeyTooLong);
    }
    let old = ctx.meta(key)?;
    if old.is_some() && !replace {
        return Ok(busy());
    }
    let p = parse(payload)?;
    if let Some(m) = &old {
        ctx.remove(key, m)?;
    }
    if at != 0 && at <= ctx.now {
        return Ok(Reply::OK);
    }
    stored(ctx, |c| build(c, key, &p))?;
    if at != 0
        && let Some(mut m) = ctx.meta(key)?
    {
        m.expire = at;
        ctx.put_meta(key, &m, 0)?;
    }
    Ok(Reply::OK)
}

fn build(ctx: &mut Ctx<'_>, key: &[u8], p: &Parsed<'_>) -> Result<(), DbError> {
    let run = |ctx: &mut Ctx<'_>, name: &'static [u8], items: &[&[u8]]| -> Result<(), DbError> {
        let mut args: Vec<&[u8]> = Vec::with_capacity(items.len() + 2);
        args.push(name);
        args.push(key);
        args.extend_from_slice(items);
        let cmd = super::engine::lookup(name).ok_or_else(|| super::engine::unknown(&args))?;
        (cmd.run)(ctx, &args).map(|_| ())
    };
    match p.kind {
        // parse() never gives a stream (dump() makes none).
        Kind::Stream => return Err(bad_format()),
        Kind::String => {
            let v = p.items.first().copied().unwrap_or_default();
            let bytes = Meta::encode_string(0, v);
            ctx.put_meta_bytes(key, bytes, 0, 0)?;
        }
        Kind::Hash => {
            for c in p.items.chunks(2 * CHUNK) {
                run(ctx, b"hset", c)?;
            }
        }
        Kind::List => {
            for c in p.items.chunks(CHUNK) {
                run(ctx, b"rpush", c)?;
            }
        }
        Kind::Set => {
            for c in p.items.chunks(CHUNK) {
                run(ctx, b"sadd", c)?;
            }
        }
        Kind::ZSet => {
            let texts: Vec<String> = p
                .scores
                .iter()
                .map(|s| super::num::format_double(*s))
                .collect();
            for (ms, ss) in p.items.chunks(CHUNK).zip(texts.chunks(CHUNK)) {
                let mut items: Vec<&[u8]> = Vec::with_capacity(2 * ms.len());
                for (m, s) in ms.iter().zip(ss) {
                    items.push(s.as_bytes());
                    items.push(m);
                }
                run(ctx, b"zadd", &items)?;
            }
        }
    }
    Ok(())
}

/// `DUMP key`: the payload, nil when the key does not exist.
pub fn dump_cmd(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(dump(ctx, a[1])?.map_or(Reply::Nil, Reply::Bulk))
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]` (IDLETIME and FREQ
/// are checked and ignored: there is no eviction).
pub fn restore_cmd(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (mut replace, mut abs) = (false, false);
    let mut i = 4;
    while i < a.len() {
        let next = a.get(i + 1);
        if is(a[i], "replace") {
            replace = true;
        } else if is(a[i], "absttl") {
            abs = true;
        } else if is(a[i], "idletime")
            && let Some(n) = next
        {
            if int_arg(n)? < 0 {
                return Err(DbError::Other(
                    "Invalid IDLETIME value, must be >= 0".into(),
                ));
            }
            i += 1;
        } else if is(a[i], "freq")
            && let Some(n) = next
        {
            if !(0..=255).contains(&int_arg(n)?) {
                return Err(DbError::Other(
                    "Invalid FREQ value, must be >= 0 and <= 255".into(),
                ));
            }
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    if !replace && ctx.meta(a[1])?.is_some() {
        return Ok(busy());
    }
    let ttl = int_arg(a[2])?;
    if ttl < 0 {
        return Err(DbError::Other("Invalid TTL value, must be >= 0".into()));
    }
    let at = match (ttl, abs) {
        (0, _) => 0,
        (t, true) => t as u64,
        (t, false) => ctx.now.saturating_add(t as u64),
    };
    restore_at(ctx, a[1], a[3], at, replace)
}

#[cfg(test)]
mod tests {
    use super::super::engine::{Ctx, exec};
    use super::super::kv::MemKv;
    use super::super::typed::Values;
    use super::super::{DbError, Reply};

    fn run(kv: &mut MemKv, line: &str) -> Result<Reply, DbError> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        exec(kv, 1000, &args)
    }

    fn payload(kv: &mut MemKv, key: &str) -> Vec<u8> {
        match exec(kv, 1000, &[b"dump", key.as_bytes()]).unwrap() {
            Reply::Bulk(p) => p,
            r => panic!("{r:?}"),
        }
    }

    fn restore(
        kv: &mut MemKv,
        key: &str,
        ttl: &str,
        p: &[u8],
        opts: &[&str],
    ) -> Result<Reply, DbError> {
        let mut args: Vec<&[u8]> = vec![b"restore", key.as_bytes(), ttl.as_bytes(), p];
        args.extend(opts.iter().map(|o| o.as_bytes()));
        exec(kv, 1000, &args)
    }

    #[test]
    fn every_type_round_trips() {
        let mut kv = MemKv::default();
        run(&mut kv, "SET s hello").unwrap();
        run(&mut kv, "HSET h a 1 b 2").unwrap();
        run(&mut kv, "RPUSH l x y x").unwrap();
        run(&mut kv, "SADD t p q").unwrap();
        run(&mut kv, "ZADD z 1.5 m -inf n").unwrap();
        for (k, read) in [
            ("s", "GET"),
            ("h", "HGETALL"),
            ("l", "LRANGE # 0 -1"),
            ("t", "SMEMBERS"),
            ("z", "ZRANGE # 0 -1 WITHSCORES"),
        ] {
            let p = payload(&mut kv, k);
            assert_eq!(
                restore(&mut kv, &format!("{k}2"), "0", &p, &[]).unwrap(),
                Reply::OK
            );
            let q = |k: &str| {
                if read.contains('#') {
                    read.replace('#', k)
                } else {
                    format!("{read} {k}")
                }
            };
            let a = run(&mut kv, &q(k)).unwrap();
            let b = run(&mut kv, &q(&format!("{k}2"))).unwrap();
            assert_eq!(a, b, "{k}");
        }
        assert_eq!(
            exec(&mut kv, 1000, &[b"dump", b"nope"]).unwrap(),
            Reply::Nil
        );
    }

    #[test]
    fn restore_checks_the_payload_and_the_target() {
        let mut kv = MemKv::default();
        run(&mut kv, "SET s v").unwrap();
        let mut p = payload(&mut kv, "s");
        assert_eq!(
            restore(&mut kv, "s", "0", &p, &[]).unwrap(),
            Reply::Error("BUSYKEY Target key name already exists.".into())
        );
        assert_eq!(
            restore(&mut kv, "s", "5000", &p, &["REPLACE"]).unwrap(),
            Reply::OK
        );
        assert_eq!(run(&mut kv, "PTTL s").unwrap(), Reply::Int(5000));
        // An absolute expiry in the past: nothing is created.
        assert_eq!(
            restore(&mut kv, "n", "10", &p, &["ABSTTL"]).unwrap(),
            Reply::OK
        );
        assert_eq!(run(&mut kv, "EXISTS n").unwrap(), Reply::Int(0));
        let e = |r: Result<Reply, DbError>| r.unwrap_err().to_string();
        assert_eq!(
            e(restore(&mut kv, "n", "-1", &p, &[])),
            "ERR Invalid TTL value, must be >= 0"
        );
        assert_eq!(
            e(restore(&mut kv, "n", "0", &p, &["FOO"])),
            "ERR syntax error"
        );
        let last = p.len() - 1;
        p[last] ^= 1;
        assert_eq!(
            e(restore(&mut kv, "n", "0", &p, &[])),
            "ERR DUMP payload version or checksum are wrong"
        );
        assert_eq!(
            e(restore(&mut kv, "n", "0", b"\x0b\x00garbage-of-redis", &[])),
            "ERR DUMP payload version or checksum are wrong"
        );
        // A payload whose checksum is right but whose body is wrong.
        let mut forged = vec![super::VERSION, 2, 0, 0, 0, 1, 0, 0, 0, 1, b'f'];
        let h = blake3::hash(&forged);
        forged.extend_from_slice(&h.as_bytes()[..8]);
        assert_eq!(
            e(restore(&mut kv, "n", "0", &forged, &[])),
            "ERR Bad data format"
        );
        assert_eq!(run(&mut kv, "EXISTS n").unwrap(), Reply::Int(0));
    }

    #[test]
    fn typed_values_survive_through_the_public_functions() {
        let mut kv = MemKv::default();
        let typed = super::super::typed::typed(b"a1{1}");
        let mut ctx = Ctx {
            kv: &mut kv,
            now: 1000,
            values: Values::Stored,
            tune: Default::default(),
        };
        (super::super::engine::lookup(b"hset").unwrap().run)(
            &mut ctx,
            &[b"hset", b"h", b"f", &typed],
        )
        .unwrap();
        let p = super::dump(&mut ctx, b"h").unwrap().unwrap();
        ctx.values = Values::Plain;
        assert_eq!(
            super::restore(&mut ctx, b"h2", &p, 0, false).unwrap(),
            Reply::OK
        );
        ctx.values = Values::Stored;
        let r =
            (super::super::engine::lookup(b"hget").unwrap().run)(&mut ctx, &[b"hget", b"h2", b"f"])
                .unwrap();
        assert_eq!(r, Reply::Bulk(typed));
    }
}
