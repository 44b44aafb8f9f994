//! Cursor scans of one key's elements: `HSCAN`, `SSCAN`, `ZSCAN key cursor [MATCH p]
//! [COUNT n]`, with the cursor scheme of `SCAN` (`cmd_keys.rs`): the cursor is the first 8
//! bytes of the next field or member, zero-padded, as a big-endian number; a batch never
//! ends between two elements sharing those 8 bytes, so every element present for the whole
//! scan is returned exactly once, and `0` means done.
//!
//! The work of one call is bounded by `COUNT` (at most 2^20) plus the elements that share
//! the 8 bytes of the last one returned; `MATCH` uses the bounded glob matcher.

use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::{self, Kind, Z_MEMBER};
use super::{DbError, Reply};

/// What a scan answers for each element it visits.
#[derive(Clone, Copy)]
enum Shape {
    /// The field and its value (`HSCAN`).
    FieldValue,
    /// The member (`SSCAN`).
    Member,
    /// The member and its score (`ZSCAN`): the value is the f64, big-endian.
    MemberScore,
}

/// Parses Redis's scan cursor: an unsigned decimal number.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, DbError> {
    std::str::from_utf8(arg)
        .ok()
        .filter(|s| s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DbError::Other("invalid cursor".into()))
}

/// `MATCH p` and `COUNT n` of the scans (default count 10, capped at 2^20); an option of
/// another name goes to `other` (with its value), which answers whether it took it.
pub fn options<'a>(
    a: &[&'a [u8]],
    other: &mut dyn FnMut(&[u8], &'a [u8]) -> bool,
) -> Result<(Option<&'a [u8]>, usize), DbError> {
    let (mut pat, mut count) = (None, 10usize);
    let mut i = 0;
    while i < a.len() {
        let v = *a.get(i + 1).ok_or(DbError::Syntax)?;
        if is(a[i], "match") {
            pat = Some(v);
        } else if is(a[i], "count") {
            let n = int_arg(v)?;
            if n < 1 {
                return Err(DbError::Syntax);
            }
            count = (n as usize).min(1 << 20);
        } else if !other(a[i], v) {
            return Err(DbError::Syntax);
        }
        i += 2;
    }
    Ok((pat, count))
}

/// Scans the element entries of `key` under `sub` from `cursor`: the next cursor and the
/// reply items.
fn scan_elems(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    sub: &[u8],
    cursor: u64,
    a: &[&[u8]],
    shape: Shape,
) -> CmdResult {
    let (pat, count) = options(a, &mut |_, _| false)?;
    let start = cursor.to_be_bytes();
    let trimmed = start.len() - start.iter().rev().take_while(|&&b| b == 0).count();
    let p = keys::elem(key, sub);
    let mut from = p.clone();
    from.extend_from_slice(&start[..trimmed]);
    let n = p.len();
    let (mut seen, mut last, mut next) = (0usize, None, 0u64);
    let mut raw: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    ctx.kv
        .scan(&from, &keys::prefix_end(&p), false, &mut |k, v| {
            let name = &k[n..];
            let c = super::cmd_keys::cursor_of(name);
            if seen >= count && last != Some(c) {
                next = c;
                return false;
            }
            seen += 1;
            last = Some(c);
            if pat.is_none_or(|p| super::glob::matches(p, name)) {
                raw.push((name.to_vec(), v.to_vec()));
            }
            true
        })?;
    let mut out = Vec::with_capacity(raw.len() * 2);
    for (name, v) in raw {
        out.push(Reply::Bulk(name));
        match shape {
            Shape::Member => {}
            Shape::FieldValue => out.push(ctx.bulk(v)),
            Shape::MemberScore => {
                let score = v
                    .as_slice()
                    .try_into()
                    .map(f64::from_be_bytes)
                    .unwrap_or(f64::NAN);
                out.push(Reply::text(super::num::format_double(score)));
            }
        }
    }
    Ok(Reply::Array(vec![
        Reply::text(next.to_string()),
        Reply::Array(out),
    ]))
}

fn scan_of(ctx: &mut Ctx<'_>, a: &[&[u8]], kind: Kind, sub: &[u8], shape: Shape) -> CmdResult {
    let cursor = parse_cursor(a[2])?;
    if ctx.typed(a[1], kind)?.is_none() {
        return Ok(Reply::Array(vec![
            Reply::text("0"),
            Reply::Array(Vec::new()),
        ]));
    }
    scan_elems(ctx, a[1], sub, cursor, &a[3..], shape)
}

/// `HSCAN key cursor [MATCH p] [COUNT n]`: field, value, ...
pub fn hscan(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    scan_of(ctx, a, Kind::Hash, b"", Shape::FieldValue)
}

/// `SSCAN key cursor [MATCH p] [COUNT n]`.
pub fn sscan(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    scan_of(ctx, a, Kind::Set, b"", Shape::Member)
}

/// `ZSCAN key cursor [MATCH p] [COUNT n]`: member, score, ... (flat, in RESP3 too, as
/// Redis 7.0).
pub fn zscan(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    scan_of(ctx, a, Kind::ZSet, &[Z_MEMBER], Shape::MemberScore)
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

    /// Every item a full scan returns, calling `cmd key cursor rest` until the cursor is 0.
    fn scan_all(kv: &mut MemKv, cmd: &str, rest: &str) -> Vec<Vec<u8>> {
        let mut cursor = "0".to_string();
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let r = run(kv, format!("{cmd} {cursor} {rest}").trim_end()).unwrap();
            let Some([Reply::Bulk(c), Reply::Array(items)]) = r
                .into_items()
                .map(<[Reply; 2]>::try_from)
                .and_then(Result::ok)
            else {
                panic!("bad reply");
            };
            for i in items {
                let Reply::Bulk(b) = i else { panic!("item") };
                out.push(b);
            }
            cursor = String::from_utf8(c).unwrap();
            if cursor == "0" {
                return out;
            }
        }
        panic!("the scan did not end");
    }

    #[test]
    fn element_scans_visit_everything_once() {
        let mut kv = MemKv::default();
        for i in 0..50 {
            run(&mut kv, &format!("HSET h field:{i} v{i}")).unwrap();
            run(&mut kv, &format!("SADD s member:{i}")).unwrap();
            run(&mut kv, &format!("ZADD z {i}.5 m{i}")).unwrap();
        }
        let h = scan_all(&mut kv, "HSCAN h", "COUNT 3");
        assert_eq!(h.len(), 100);
        for p in h.chunks(2) {
            assert_eq!(&p[0][6..], &p[1][1..], "{p:?}");
        }
        let mut s = scan_all(&mut kv, "SSCAN s", "COUNT 1");
        s.sort();
        s.dedup();
        assert_eq!(s.len(), 50);
        let z = scan_all(&mut kv, "ZSCAN z", "");
        assert_eq!(z.len(), 100);
        assert!(z.contains(&b"7.5".to_vec()));
        let m = scan_all(&mut kv, "SSCAN s", "MATCH member:1* COUNT 1000");
        assert_eq!(m.len(), 11);
        assert!(scan_all(&mut kv, "SSCAN nope", "").is_empty());
    }

    #[test]
    fn element_scan_errors_read_as_redis() {
        let mut kv = MemKv::default();
        run(&mut kv, "SADD s a").unwrap();
        let e = |kv: &mut MemKv, l: &str| run(kv, l).unwrap_err().to_string();
        assert_eq!(e(&mut kv, "SSCAN s x"), "ERR invalid cursor");
        assert_eq!(e(&mut kv, "SSCAN s 0 COUNT 0"), "ERR syntax error");
        assert_eq!(e(&mut kv, "SSCAN s 0 TYPE set"), "ERR syntax error");
        assert!(e(&mut kv, "HSCAN s 0").starts_with("WRONGTYPE"));
    }
}
