//! Commands on keys of any type: `DEL UNLINK EXISTS TOUCH TYPE EXPIRE PEXPIRE EXPIREAT
//! PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST SCAN KEYS DBSIZE FLUSHDB RENAME RENAMENX
//! COPY RANDOMKEY` (`DUMP`/`RESTORE` are in `dump.rs`, `SORT` in `cmd_sort.rs`), and
//! Leither's `KSCAN cursor [COUNT n] [MATCH p]` (keys after the key `cursor`, in key order,
//! as ledisdb's `Scan`).
//!
//! **SCAN cursors.** Redis's cursor is a number clients keep as a number (redis-py parses
//! it). Ours is the first 8 bytes of the next key to visit, zero-padded, as a big-endian u64:
//! the walk resumes at those bytes (trailing zeros dropped), and a batch never ends between
//! two keys with the same 8-byte prefix, so every key present for the whole scan is returned
//! exactly once and `0` still means done.

use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::{self, META, Meta};
use super::{DbError, Reply};

/// `DEL key...`: keys removed.
pub fn del(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    for k in &a[1..] {
        if let Some(m) = ctx.meta(k)? {
            ctx.remove(k, &m)?;
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `EXISTS key...`: how many of them exist (a key named twice counts twice).
pub fn exists(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.meta(k)?.is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `TYPE key`.
pub fn type_(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Status(
        ctx.meta(a[1])?.map_or("none", |m| m.kind.name()),
    ))
}

fn set_expire(ctx: &mut Ctx<'_>, a: &[&[u8]], unit: u64, absolute: bool, name: &str) -> CmdResult {
    let n = int_arg(a[2])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &a[3..] {
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "gt") {
            gt = true;
        } else if is(o, "lt") {
            lt = true;
        } else {
            return Err(DbError::Other(format!(
                "Unsupported option {}",
                String::from_utf8_lossy(o)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(DbError::Other(
            "NX and XX, GT or LT options at the same time are not compatible".into(),
        ));
    }
    if gt && lt {
        return Err(DbError::Other(
            "GT and LT options at the same time are not compatible".into(),
        ));
    }
    let bad = || DbError::Other(format!("invalid expire time in '{name}' command"));
    let ms = (n as i128) * unit as i128;
    let at = if absolute { ms } else { ms + ctx.now as i128 };
    if ms.abs() > i64::MAX as i128 || at > i64::MAX as i128 {
        return Err(bad());
    }
    let Some(mut m) = ctx.meta(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let cur = m.expire;
    // No expiry counts as an infinite one for GT and LT.
    let skip = (nx && cur != 0)
        || (xx && cur == 0)
        || (gt && (cur == 0 || at <= cur as i128))
        || (lt && cur != 0 && at >= cur as i128);
    if skip {
        return Ok(Reply::Int(0));
    }
    if at <= ctx.now as i128 {
        ctx.remove(a[1], &m)?;
        return Ok(Reply::Int(1));
    }
    m.expire = at as u64;
    ctx.put_meta(a[1], &m, cur)?;
    Ok(Reply::Int(1))
}

/// `EXPIRE key seconds [NX|XX|GT|LT]`.
pub fn expire(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    set_expire(ctx, a, 1000, false, "expire")
}

/// `PEXPIRE key ms [NX|XX|GT|LT]`.
pub fn pexpire(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    set_expire(ctx, a, 1, false, "pexpire")
}

/// `EXPIREAT key unix-seconds [NX|XX|GT|LT]`.
pub fn expireat(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    set_expire(ctx, a, 1000, true, "expireat")
}

/// `PEXPIREAT key unix-ms [NX|XX|GT|LT]`.
pub fn pexpireat(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    set_expire(ctx, a, 1, true, "pexpireat")
}

fn left(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Option<u64>>, DbError> {
    Ok(ctx
        .meta(key)?
        .map(|m| (m.expire != 0).then(|| m.expire.saturating_sub(ctx.now))))
}

/// `TTL key`: seconds left (rounded), -1 without expiry, -2 when absent.
pub fn ttl(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(match left(ctx, a[1])? {
        None => -2,
        Some(None) => -1,
        Some(Some(ms)) => ((ms + 500) / 1000) as i64,
    }))
}

/// `PTTL key`.
pub fn pttl(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(match left(ctx, a[1])? {
        None => -2,
        Some(None) => -1,
        Some(Some(ms)) => ms as i64,
    }))
}

/// `PERSIST key`.
pub fn persist(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    match ctx.meta(a[1])? {
        Some(mut m) if m.expire != 0 => {
            let old = m.expire;
            m.expire = 0;
            ctx.put_meta(a[1], &m, old)?;
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

/// The cursor value of a key: its first 8 bytes, zero-padded, big-endian.
pub fn cursor_of(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

/// Visits live keys with their meta entries, in key order, from `start` (a key, inclusive).
fn walk_keys(
    ctx: &mut Ctx<'_>,
    start: &[u8],
    f: &mut dyn FnMut(&[u8], &Meta) -> bool,
) -> Result<(), DbError> {
    let now = ctx.now;
    let from = keys::meta(start);
    ctx.kv.scan(
        &from,
        &[META + 1],
        false,
        &mut |k, v| match Meta::decode(v) {
            Some(m) if m.expire == 0 || m.expire > now => f(&k[1..], &m),
            _ => true,
        },
    )
}

/// `SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]`.
pub fn scan(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let cursor: u64 = std::str::from_utf8(a[1])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DbError::Other("invalid cursor".into()))?;
    let mut kind = None;
    let (pat, count) = super::cmd_scan::options(&a[2..], &mut |name, v| {
        let take = is(name, "type");
        if take {
            kind = Some(v);
        }
        take
    })?;
    let start = cursor.to_be_bytes();
    let trimmed = start.len() - start.iter().rev().take_while(|&&b| b == 0).count();
    let mut seen = 0usize;
    let mut last = None;
    let mut next = 0u64;
    let mut out = Vec::new();
    walk_keys(ctx, &start[..trimmed], &mut |k, m| {
        let c = cursor_of(k);
        if seen >= count && last != Some(c) {
            next = c;
            return false;
        }
        seen += 1;
        last = Some(c);
        let type_ok = kind.is_none_or(|t| t.eq_ignore_ascii_case(m.kind.name().as_bytes()));
        if type_ok && pat.is_none_or(|p| super::glob::matches(p, k)) {
            out.push(k.to_vec());
        }
        true
    })?;
    Ok(Reply::Array(vec![
        Reply::text(next.to_string()),
        Reply::bulks(out),
    ]))
}

/// `KEYS pattern`.
pub fn keys(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut out = Vec::new();
    let pat = a[1];
    walk_keys(ctx, b"", &mut |k, _| {
        if super::glob::matches(pat, k) {
            out.push(k.to_vec());
        }
        true
    })?;
    Ok(Reply::bulks(out))
}

/// `DBSIZE`.
pub fn dbsize(ctx: &mut Ctx<'_>, _a: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    walk_keys(ctx, b"", &mut |_, _| {
        n += 1;
        true
    })?;
    Ok(Reply::Int(n))
}

/// `FLUSHDB [ASYNC|SYNC]`: empties the database.
pub fn flushdb(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if a.len() > 2 || a.get(1).is_some_and(|o| !is(o, "async") && !is(o, "sync")) {
        return Err(DbError::Syntax);
    }
    let mut keys = Vec::new();
    walk_keys(ctx, b"", &mut |k, _| {
        keys.push(k.to_vec());
        true
    })?;
    for k in keys {
        if let Some(m) = ctx.meta(&k)? {
            ctx.remove(&k, &m)?;
        }
    }
    // Whatever is left (expired keys' entries) goes too, but not the sequence counter:
    // numbers handed out stay unique for the database's life.
    let mut rest = Vec::new();
    ctx.kv.scan(&[], &[0xff], false, &mut |k, _| {
        if k != super::cmd_seq::SEQ_ENTRY {
            rest.push(k.to_vec());
        }
        true
    })?;
    for k in rest {
        ctx.kv.del(&k)?;
    }
    Ok(Reply::OK)
}

/// `KSCAN cursor [COUNT n] [MATCH p] [INCLUSIVE] [TYPE t]`: up to n keys after the key
/// `cursor` ("" = from the first; the cursor too with `INCLUSIVE`), in key order, only
/// those of type t with `TYPE`.
pub fn kscan(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let o = super::cmd_hash::scan_opts(&a[1..], true)?;
    let mut out = Vec::new();
    walk_keys(ctx, o.cursor, &mut |k, m| {
        if k == o.cursor && !o.inclusive {
            return true;
        }
        let type_ok = o
            .kind
            .is_none_or(|t| t.eq_ignore_ascii_case(m.kind.name().as_bytes()));
        if type_ok && o.pattern.is_none_or(|p| super::glob::matches(p, k)) {
            out.push(k.to_vec());
        }
        out.len() < o.count
    })?;
    Ok(Reply::bulks(out))
}

/// `TOUCH key...`: how many of them exist.
pub fn touch(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    exists(ctx, a)
}

fn expire_time(ctx: &mut Ctx<'_>, key: &[u8], ms: bool) -> CmdResult {
    Ok(Reply::Int(match ctx.meta(key)? {
        None => -2,
        Some(m) if m.expire == 0 => -1,
        Some(m) if ms => m.expire as i64,
        Some(m) => ((m.expire + 500) / 1000) as i64,
    }))
}

/// `EXPIRETIME key`: the unix time (seconds) the key expires at, -1 without expiry, -2
/// when absent.
pub fn expiretime(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    expire_time(ctx, a[1], false)
}

/// `PEXPIRETIME key`: like `EXPIRETIME`, in milliseconds.
pub fn pexpiretime(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    expire_time(ctx, a[1], true)
}

/// Copies `src` (live, meta `m`) to `dst`, which must not exist: its element entries
/// (re-prefixed, a batch at a time so memory stays bounded) and its meta entry, with the
/// same expiry. The layout puts every entry of a key under its element prefix, so this is
/// right for every type.
pub fn copy_key(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], m: &Meta) -> Result<(), DbError> {
    const BATCH: usize = 1024;
    let sp = keys::elem_prefix(src);
    let dp = keys::elem_prefix(dst);
    let end = keys::prefix_end(&sp);
    let mut from = sp.clone();
    loop {
        let mut batch: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        ctx.kv.scan(&from, &end, false, &mut |k, v| {
            batch.push((k.to_vec(), v.to_vec()));
            batch.len() < BATCH
        })?;
        let Some((last, _)) = batch.last() else { break };
        from = last.clone();
        from.push(0);
        let full = batch.len() == BATCH;
        for (k, v) in batch {
            let mut nk = dp.clone();
            nk.extend_from_slice(&k[sp.len()..]);
            ctx.kv.put(&nk, &v)?;
        }
        if !full {
            break;
        }
    }
    ctx.put_meta(dst, m, 0)
}

fn rename_generic(ctx: &mut Ctx<'_>, a: &[&[u8]], nx: bool) -> CmdResult {
    let (src, dst) = (a[1], a[2]);
    let m = ctx.meta(src)?.ok_or(DbError::NoSuchKey)?;
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::OK });
    }
    if let Some(old) = ctx.meta(dst)? {
        if nx {
            return Ok(Reply::Int(0));
        }
        ctx.remove(dst, &old)?;
    }
    copy_key(ctx, src, dst, &m)?;
    ctx.remove(src, &m)?;
    Ok(if nx { Reply::Int(1) } else { Reply::OK })
}

/// `RENAME key newkey`: moves the value and its expiry, replacing `newkey`.
pub fn rename(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, a, false)
}

/// `RENAMENX key newkey`: 1 when moved, 0 when `newkey` exists.
pub fn renamenx(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, a, true)
}

/// `COPY source destination [DB n] [REPLACE]`: 1 when copied. `DB n` (another database) is
/// the connection layer's; here it answers an error.
pub fn copy(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (src, dst) = (a[1], a[2]);
    let (mut replace, mut db) = (false, None);
    let mut i = 3;
    while i < a.len() {
        if is(a[i], "replace") {
            replace = true;
        } else if is(a[i], "db") && i + 1 < a.len() {
            db = Some(int_arg(a[i + 1])?);
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    if db.is_some() {
        return Err(DbError::Other(
            "COPY ... DB is not available here (the RESP listener answers it)".into(),
        ));
    }
    if src == dst {
        return Err(DbError::Other(
            "source and destination objects are the same".into(),
        ));
    }
    let Some(m) = ctx.meta(src)? else {
        return Ok(Reply::Int(0));
    };
    if let Some(old) = ctx.meta(dst)? {
        if !replace {
            return Ok(Reply::Int(0));
        }
        ctx.remove(dst, &old)?;
    }
    copy_key(ctx, src, dst, &m)?;
    Ok(Reply::Int(1))
}

/// How many keys `RANDOMKEY` looks at from a random point: it answers one of them at
/// random, so a database of at most this many keys is sampled uniformly, and the work is
/// bounded for any size.
const RANDOM_WINDOW: usize = 64;

/// `RANDOMKEY`: a random live key, nil when there is none.
pub fn randomkey(ctx: &mut Ctx<'_>, _a: &[&[u8]]) -> CmdResult {
    let mut seed = [0u8; 16];
    getrandom::getrandom(&mut seed).map_err(|e| DbError::Other(format!("no randomness: {e}")))?;
    let start = &seed[..8];
    let pick = u64::from_be_bytes(seed[8..].try_into().unwrap_or_default()) as usize;
    let mut found: Vec<Vec<u8>> = Vec::new();
    walk_keys(ctx, start, &mut |k, _| {
        found.push(k.to_vec());
        found.len() < RANDOM_WINDOW
    })?;
    if found.len() < RANDOM_WINDOW {
        // Wrap around to the first keys.
        walk_keys(ctx, b"", &mut |k, _| {
            if k >= start {
                return false;
            }
            found.push(k.to_vec());
            found.len() < RANDOM_WINDOW
        })?;
    }
    if found.is_empty() {
        return Ok(Reply::Nil);
    }
    let k = found.swap_remove(pick % found.len());
    Ok(Reply::Bulk(k))
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

    fn ok(kv: &mut MemKv, line: &str) -> Reply {
        run(kv, line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(kv: &mut MemKv, line: &str) -> String {
        run(kv, line).expect_err(line).to_string()
    }

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn rename_moves_value_elements_and_expiry() {
        let mut kv = MemKv::default();
        ok(&mut kv, "RPUSH l a b c");
        ok(&mut kv, "PEXPIRE l 5000");
        ok(&mut kv, "SET dst x");
        assert_eq!(ok(&mut kv, "RENAME l dst"), Reply::OK);
        assert_eq!(ok(&mut kv, "EXISTS l"), Reply::Int(0));
        assert_eq!(
            ok(&mut kv, "LRANGE dst 0 -1"),
            Reply::Array(vec![bulk("a"), bulk("b"), bulk("c")])
        );
        assert_eq!(ok(&mut kv, "PTTL dst"), Reply::Int(5000));
        assert_eq!(
            ok(&mut kv, "CHECKKEY dst list"),
            ok(&mut kv, "CHECKKEY dst list")
        );
        assert_eq!(err(&mut kv, "RENAME nope x"), "ERR no such key");
        assert_eq!(ok(&mut kv, "RENAME dst dst"), Reply::OK);
        ok(&mut kv, "SET s v");
        assert_eq!(ok(&mut kv, "RENAMENX s dst"), Reply::Int(0));
        assert_eq!(ok(&mut kv, "RENAMENX s s"), Reply::Int(0));
        assert_eq!(ok(&mut kv, "RENAMENX s s2"), Reply::Int(1));
        assert_eq!(ok(&mut kv, "GET s2"), bulk("v"));
        // A renamed sorted set keeps its score index (ZRANGE reads it).
        ok(&mut kv, "ZADD z 2 b 1 a");
        ok(&mut kv, "RENAME z z2");
        assert_eq!(
            ok(&mut kv, "ZRANGE z2 0 -1"),
            Reply::Array(vec![bulk("a"), bulk("b")])
        );
        assert_eq!(ok(&mut kv, "DBSIZE"), Reply::Int(3));
    }

    #[test]
    fn copy_is_independent_and_keeps_the_expiry() {
        let mut kv = MemKv::default();
        ok(&mut kv, "HSET h f 1");
        ok(&mut kv, "PEXPIRE h 7000");
        assert_eq!(ok(&mut kv, "COPY h h2"), Reply::Int(1));
        ok(&mut kv, "HSET h2 g 2");
        assert_eq!(ok(&mut kv, "HLEN h"), Reply::Int(1));
        assert_eq!(ok(&mut kv, "HLEN h2"), Reply::Int(2));
        assert_eq!(ok(&mut kv, "PTTL h2"), Reply::Int(7000));
        assert_eq!(ok(&mut kv, "COPY h h2"), Reply::Int(0));
        assert_eq!(ok(&mut kv, "COPY h h2 REPLACE"), Reply::Int(1));
        assert_eq!(ok(&mut kv, "HLEN h2"), Reply::Int(1));
        assert_eq!(ok(&mut kv, "COPY nope x"), Reply::Int(0));
        assert_eq!(
            err(&mut kv, "COPY h h"),
            "ERR source and destination objects are the same"
        );
        assert_eq!(
            err(&mut kv, "COPY h x DB notanumber"),
            "ERR value is not an integer or out of range"
        );
        assert!(err(&mut kv, "COPY h x DB 3").contains("DB"));
        assert_eq!(err(&mut kv, "COPY h x FOO"), "ERR syntax error");
    }

    #[test]
    fn randomkey_touch_and_expiretime() {
        let mut kv = MemKv::default();
        assert_eq!(ok(&mut kv, "RANDOMKEY"), Reply::Nil);
        ok(&mut kv, "SET foo x");
        ok(&mut kv, "SET bar y");
        let (mut foo, mut bar) = (false, false);
        for _ in 0..200 {
            match ok(&mut kv, "RANDOMKEY") {
                Reply::Bulk(k) if k == b"foo" => foo = true,
                Reply::Bulk(k) if k == b"bar" => bar = true,
                r => panic!("{r:?}"),
            }
        }
        assert!(foo && bar);
        assert_eq!(ok(&mut kv, "TOUCH foo bar nope"), Reply::Int(2));
        assert_eq!(ok(&mut kv, "EXPIRETIME foo"), Reply::Int(-1));
        assert_eq!(ok(&mut kv, "PEXPIRETIME nope"), Reply::Int(-2));
        ok(&mut kv, "PEXPIREAT foo 123456789");
        assert_eq!(ok(&mut kv, "PEXPIRETIME foo"), Reply::Int(123_456_789));
        assert_eq!(ok(&mut kv, "EXPIRETIME foo"), Reply::Int(123_457));
    }
}
