//! Hash commands: `HSET HMSET HSETNX HGET HMGET HGETALL HKEYS HVALS HDEL HLEN HEXISTS HSTRLEN
//! HINCRBY HINCRBYFLOAT HRANDFIELD` (`HSCAN` is in `cmd_scan.rs`), and Leither's `HCLEAR` (drop the hash, answer how many fields it had) and
//! `HFSCAN`/`HFREVSCAN key cursor [COUNT n] [MATCH pattern]` (fields after `cursor` in field
//! order, as ledisdb's `HScan`/`HRevScan`; an empty cursor starts at the first field).

use super::engine::{CmdResult, Ctx, bounded, int_arg, is, name_ok};
use super::keys::{self, Kind, Meta};
use super::{DbError, Reply};

/// A field and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Parsed options of the ordered scans (`HFSCAN`, `HFREVSCAN`, `KSCAN`).
pub struct ScanOpts<'a> {
    /// Where to start: "" = at the first (last, reversed).
    pub cursor: &'a [u8],
    /// At most this many items.
    pub count: usize,
    /// Only names matching this glob.
    pub pattern: Option<&'a [u8]>,
    /// Whether the cursor itself is included when it exists.
    pub inclusive: bool,
    /// Only keys of this type (`KSCAN`): a `TYPE` name.
    pub kind: Option<&'a [u8]>,
}

fn hash(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    ctx.typed(key, Kind::Hash)
}

fn set_pairs(ctx: &mut Ctx<'_>, a: &[&[u8]], name: &str, only_new: bool) -> Result<i64, DbError> {
    if a.len() < 4 || !a.len().is_multiple_of(2) {
        return Err(DbError::Arity(name.into()));
    }
    for p in a[2..].chunks(2) {
        name_ok(p[0])?;
        bounded(&ctx.store_val(p[1]))?;
    }
    let key = a[1];
    let old = hash(ctx, key)?;
    let expire = old.as_ref().map_or(0, |m| m.expire);
    let mut m = old.unwrap_or_else(|| Meta::new(Kind::Hash));
    let mut added = 0;
    for p in a[2..].chunks(2) {
        let ek = keys::elem(key, p[0]);
        let had = ctx.kv.get(&ek)?.is_some();
        if had && only_new {
            continue;
        }
        if !had {
            added += 1;
            m.len += 1;
        }
        let v = ctx.store_val(p[1]);
        ctx.kv.put(&ek, &v)?;
    }
    if added > 0 {
        ctx.put_meta(key, &m, expire)?;
    } else if !only_new {
        // Fields were overwritten: the meta entry is unchanged, but the key changed (WATCH).
        ctx.kv.note(key, true);
    }
    Ok(added)
}

/// `HSET key field value ...`: fields added.
pub fn hset(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(set_pairs(ctx, a, "hset", false)?))
}

/// `HMSET key field value ...`.
pub fn hmset(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    set_pairs(ctx, a, "hmset", false)?;
    Ok(Reply::OK)
}

/// `HSETNX key field value`.
pub fn hsetnx(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(set_pairs(ctx, a, "hsetnx", true)?))
}

fn field(ctx: &mut Ctx<'_>, key: &[u8], f: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
    ctx.kv.get(&keys::elem(key, f))
}

/// `HGET key field`.
pub fn hget(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if hash(ctx, a[1])?.is_none() {
        return Ok(Reply::Nil);
    }
    Ok(field(ctx, a[1], a[2])?.map_or(Reply::Nil, |v| ctx.bulk(v)))
}

/// `HMGET key field...`.
pub fn hmget(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let live = hash(ctx, a[1])?.is_some();
    let mut out = Vec::new();
    for f in &a[2..] {
        out.push(match live {
            true => field(ctx, a[1], f)?.map_or(Reply::Nil, |v| ctx.bulk(v)),
            false => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// Every (field, value) of `key`, in field order, values in the command's value form.
pub fn pairs(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Vec<Pair>, DbError> {
    let mut out = Vec::new();
    if hash(ctx, key)?.is_some() {
        ctx.elems(key, b"", false, &mut |f, v| {
            out.push((f.to_vec(), v.to_vec()));
            true
        })?;
    }
    for p in &mut out {
        p.1 = ctx.reply_val(std::mem::take(&mut p.1));
    }
    Ok(out)
}

/// `HGETALL key`: field, value, field, value, ...
pub fn hgetall(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let p = pairs(ctx, a[1])?;
    // A map in RESP3, as Redis 7 answers it; the same flat array in RESP2.
    Ok(Reply::Map(
        p.into_iter()
            .flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)])
            .collect(),
    ))
}

/// `HKEYS key`.
pub fn hkeys(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let p = pairs(ctx, a[1])?;
    Ok(Reply::bulks(p.into_iter().map(|(f, _)| f).collect()))
}

/// `HVALS key`.
pub fn hvals(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let p = pairs(ctx, a[1])?;
    Ok(Reply::bulks(p.into_iter().map(|(_, v)| v).collect()))
}

/// `HDEL key field...`: fields removed.
pub fn hdel(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let Some(mut m) = hash(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let expire = m.expire;
    let mut n = 0;
    for f in &a[2..] {
        let ek = keys::elem(a[1], f);
        if ctx.kv.get(&ek)?.is_some() {
            ctx.kv.del(&ek)?;
            n += 1;
            m.len -= 1;
        }
    }
    if n > 0 {
        ctx.store_or_drop(a[1], &m, expire)?;
    }
    Ok(Reply::Int(n))
}

/// `HLEN key`.
pub fn hlen(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(hash(ctx, a[1])?.map_or(0, |m| m.len) as i64))
}

/// `HEXISTS key field`.
pub fn hexists(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if hash(ctx, a[1])?.is_none() {
        return Ok(Reply::Int(0));
    }
    Ok(Reply::Int(field(ctx, a[1], a[2])?.is_some() as i64))
}

/// `HSTRLEN key field`.
pub fn hstrlen(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if hash(ctx, a[1])?.is_none() {
        return Ok(Reply::Int(0));
    }
    Ok(Reply::Int(
        field(ctx, a[1], a[2])?.map_or(0, |v| super::typed::unescape(v).len()) as i64,
    ))
}

/// `HINCRBY key field n`.
pub fn hincrby(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let by = int_arg(a[3])?;
    let old = hash(ctx, a[1])?;
    let cur = match &old {
        Some(_) => field(ctx, a[1], a[2])?,
        None => None,
    };
    let cur = match cur {
        Some(v) => super::typed::int_of(&v)
            .ok_or_else(|| DbError::Other("hash value is not an integer".into()))?,
        None => 0,
    };
    let n = cur.checked_add(by).ok_or(DbError::Overflow)?;
    let s = n.to_string();
    // Decimal text is plain in either value form.
    set_pairs(ctx, &[b"hset", a[1], a[2], s.as_bytes()], "hincrby", false)?;
    Ok(Reply::Int(n))
}

/// `HCLEAR key`: removes the hash; how many fields it had.
pub fn hclear(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    match hash(ctx, a[1])? {
        Some(m) => {
            ctx.remove(a[1], &m)?;
            Ok(Reply::Int(m.len as i64))
        }
        None => Ok(Reply::Int(0)),
    }
}

/// Parses `cursor [COUNT n] [MATCH p] [INCLUSIVE] [TYPE t]` of the ordered scans (`TYPE`
/// only where `types` allows it, for `KSCAN`).
pub fn scan_opts<'a>(a: &[&'a [u8]], types: bool) -> Result<ScanOpts<'a>, DbError> {
    let mut o = ScanOpts {
        cursor: a.first().copied().unwrap_or_default(),
        count: 10,
        pattern: None,
        inclusive: false,
        kind: None,
    };
    let mut i = 1;
    while i < a.len() {
        if is(a[i], "inclusive") {
            o.inclusive = true;
            i += 1;
            continue;
        }
        let v = a.get(i + 1).ok_or(DbError::Syntax)?;
        if is(a[i], "count") {
            let n = int_arg(v)?;
            if n < 1 {
                return Err(DbError::Syntax);
            }
            o.count = (n as usize).min(100_000);
        } else if is(a[i], "match") {
            o.pattern = Some(*v);
        } else if is(a[i], "type") && types {
            o.kind = Some(*v);
        } else {
            return Err(DbError::Syntax);
        }
        i += 2;
    }
    Ok(o)
}

fn fscan(ctx: &mut Ctx<'_>, a: &[&[u8]], rev: bool) -> CmdResult {
    let o = scan_opts(&a[2..], false)?;
    let (cursor, count, pat) = (o.cursor, o.count, o.pattern);
    let mut out = Vec::new();
    if hash(ctx, a[1])?.is_none() {
        return Ok(Reply::Array(out));
    }
    let p = keys::elem_prefix(a[1]);
    let n = p.len();
    let (from, to) = match (cursor.is_empty(), rev) {
        (true, _) => (p.clone(), keys::prefix_end(&p)),
        (false, false) => {
            let mut f = keys::elem(a[1], cursor);
            if !o.inclusive {
                f.push(0);
            }
            (f, keys::prefix_end(&p))
        }
        (false, true) => {
            let mut t = keys::elem(a[1], cursor);
            if o.inclusive {
                t.push(0);
            }
            (p.clone(), t)
        }
    };
    let mut raw = Vec::new();
    ctx.kv.scan(&from, &to, rev, &mut |k, v| {
        let f = &k[n..];
        if pat.is_none_or(|p| super::glob::matches(p, f)) {
            raw.push((f.to_vec(), v.to_vec()));
        }
        raw.len() < count
    })?;
    for (f, v) in raw {
        out.push(Reply::Bulk(f));
        out.push(ctx.bulk(v));
    }
    Ok(Reply::Array(out))
}

/// `HFSCAN key cursor [COUNT n] [MATCH p]`: field, value, ... after `cursor`.
pub fn hfscan(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    fscan(ctx, a, false)
}

/// `HFREVSCAN key cursor [COUNT n] [MATCH p]`: field, value, ... before `cursor`, descending.
pub fn hfrevscan(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    fscan(ctx, a, true)
}

/// `HINCRBYFLOAT key field increment`: the new value, as text (also what is stored).
pub fn hincrbyfloat(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let by = super::engine::float_arg(a[3])?;
    if !by.is_finite() {
        return Err(DbError::Other("value is NaN or Infinity".into()));
    }
    name_ok(a[2])?;
    let old = hash(ctx, a[1])?;
    let cur = match &old {
        Some(_) => field(ctx, a[1], a[2])?,
        None => None,
    };
    let cur_text = cur.map_or_else(|| b"0".to_vec(), super::typed::unescape);
    let cur = super::num::parse_float(&cur_text)
        .ok_or_else(|| DbError::Other("hash value is not a float".into()))?;
    let s = super::cmd_string::add_floats(&cur_text, cur, a[3], by)?;
    set_pairs(
        ctx,
        &[b"hset", a[1], a[2], s.as_bytes()],
        "hincrbyfloat",
        false,
    )?;
    Ok(Reply::text(s))
}

/// The most fields `HRANDFIELD` answers with a negative count (Redis answers any count up
/// to 2^62, so one call could hold the thread and memory for ever).
pub const MAX_RANDOM_COUNT: u64 = 1 << 20;

/// A small generator for random picks (splitmix64), seeded from the system.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from the operating system.
    pub fn new() -> Result<Rng, DbError> {
        let mut b = [0u8; 8];
        getrandom::getrandom(&mut b).map_err(|e| DbError::Other(format!("no randomness: {e}")))?;
        Ok(Rng(u64::from_le_bytes(b)))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (> 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// `HRANDFIELD key [count [WITHVALUES]]`: a random field; with a count, that many distinct
/// fields (at most all), or with a negative count that many picked independently. Reads
/// the whole hash, as `HGETALL` does.
pub fn hrandfield(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut count = None;
    let mut with_values = false;
    if let Some(c) = a.get(2) {
        let n = int_arg(c)?;
        if n == i64::MIN {
            return Err(DbError::Other(format!(
                "value is out of range, value must between {} and {}",
                -i64::MAX,
                i64::MAX
            )));
        }
        if a.len() > 4 || (a.len() == 4 && !is(a[3], "withvalues")) {
            return Err(DbError::Syntax);
        }
        if a.len() == 4 {
            with_values = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                return Err(DbError::Other("value is out of range".into()));
            }
        }
        count = Some(n);
    }
    let all = pairs(ctx, a[1])?;
    let mut rng = Rng::new()?;
    let Some(n) = count else {
        if all.is_empty() {
            return Ok(Reply::Nil);
        }
        let i = rng.below(all.len());
        return Ok(Reply::Bulk(all[i].0.clone()));
    };
    if all.is_empty() || n == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let picked: Vec<&Pair> = if n < 0 {
        if n.unsigned_abs() > MAX_RANDOM_COUNT {
            return Err(DbError::Other(format!(
                "count over {MAX_RANDOM_COUNT} (the Mimei database limit)"
            )));
        }
        (0..n.unsigned_abs())
            .map(|_| &all[rng.below(all.len())])
            .collect()
    } else {
        let n = (n as u64).min(all.len() as u64) as usize;
        // A partial Fisher-Yates shuffle: the first n of a random order.
        let mut idx: Vec<usize> = (0..all.len()).collect();
        for i in 0..n {
            let j = i + rng.below(idx.len() - i);
            idx.swap(i, j);
        }
        idx[..n].iter().map(|&i| &all[i]).collect()
    };
    let size: usize = picked
        .iter()
        .map(|(f, v)| f.len() + if with_values { v.len() } else { 0 })
        .sum();
    if size > super::cmd_string::MAX_GATHER {
        return Err(super::cmd_string::gather_error());
    }
    if with_values {
        let mut out = Vec::with_capacity(picked.len() * 2);
        for (f, v) in picked {
            out.push(Reply::Bulk(f.clone()));
            out.push(Reply::Bulk(v.clone()));
        }
        return Ok(Reply::Pairs(out));
    }
    Ok(Reply::bulks(
        picked.into_iter().map(|(f, _)| f.clone()).collect(),
    ))
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

    fn items(r: Reply) -> Vec<Vec<u8>> {
        r.into_items()
            .unwrap_or_default()
            .into_iter()
            .map(|i| match i {
                Reply::Bulk(b) => b,
                o => panic!("{o:?}"),
            })
            .collect()
    }

    #[test]
    fn hincrbyfloat_adds_and_refuses_what_is_not_a_float() {
        let mut kv = MemKv::default();
        let t = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
        assert_eq!(run(&mut kv, "HINCRBYFLOAT h f 2.5").unwrap(), t("2.5"));
        assert_eq!(run(&mut kv, "HINCRBYFLOAT h f 0.1").unwrap(), t("2.6"));
        assert_eq!(run(&mut kv, "HGET h f").unwrap(), t("2.6"));
        run(&mut kv, "HSET h s 1x").unwrap();
        let e = |kv: &mut MemKv, l: &str| run(kv, l).unwrap_err().to_string();
        assert_eq!(
            e(&mut kv, "HINCRBYFLOAT h s 1"),
            "ERR hash value is not a float"
        );
        assert_eq!(
            e(&mut kv, "HINCRBYFLOAT h f x"),
            "ERR value is not a valid float"
        );
        assert_eq!(
            e(&mut kv, "HINCRBYFLOAT h f inf"),
            "ERR value is NaN or Infinity"
        );
    }

    #[test]
    fn hrandfield_counts() {
        let mut kv = MemKv::default();
        run(&mut kv, "HSET h a 1 b 2 c 3").unwrap();
        let Reply::Bulk(f) = run(&mut kv, "HRANDFIELD h").unwrap() else {
            panic!()
        };
        assert!([&b"a"[..], b"b", b"c"].contains(&f.as_slice()));
        let mut all = items(run(&mut kv, "HRANDFIELD h 10").unwrap());
        all.sort();
        assert_eq!(all, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        let two = items(run(&mut kv, "HRANDFIELD h 2").unwrap());
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        assert_eq!(items(run(&mut kv, "HRANDFIELD h -7").unwrap()).len(), 7);
        let Reply::Pairs(p) = run(&mut kv, "HRANDFIELD h -4 WITHVALUES").unwrap() else {
            panic!()
        };
        assert_eq!(p.len(), 8);
        assert_eq!(
            run(&mut kv, "HRANDFIELD h 0").unwrap(),
            Reply::Array(vec![])
        );
        assert_eq!(
            run(&mut kv, "HRANDFIELD nope 5").unwrap(),
            Reply::Array(vec![])
        );
        assert_eq!(run(&mut kv, "HRANDFIELD nope").unwrap(), Reply::Nil);
        let e = |kv: &mut MemKv, l: &str| run(kv, l).unwrap_err().to_string();
        assert!(e(&mut kv, "HRANDFIELD h -9223372036854775808").contains("value is out of range"));
        assert!(
            e(&mut kv, "HRANDFIELD h -9223372036854770000 WITHVALUES")
                .contains("value is out of range")
        );
        assert_eq!(e(&mut kv, "HRANDFIELD h 1 FOO"), "ERR syntax error");
        assert!(e(&mut kv, "HRANDFIELD h -2000000").contains("Mimei database limit"));
    }
}
