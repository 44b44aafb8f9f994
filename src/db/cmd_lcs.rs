//! `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]`: the longest common
//! subsequence of two string values, as Redis 7.0 answers it.
//!
//! The answer comes from the classic dynamic-programming table of (len1 + 1) x (len2 + 1)
//! lengths, walked back from the end. That table is the whole cost, so it is capped at
//! [`MAX_CELLS`] cells (16 MiB of u32, a few milliseconds of the one thread): longer pairs
//! are refused with Redis's "Insufficient memory" error naming the cap, where Redis would
//! allocate up to its `proto-max-bulk-len`.

use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::Kind;
use super::{DbError, Reply};

/// The most table cells one `LCS` may use: (len1 + 1) * (len2 + 1).
pub const MAX_CELLS: u64 = 4 * 1024 * 1024;

fn string_of(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Vec<u8>, DbError> {
    match ctx.meta(key)? {
        None => Ok(Vec::new()),
        Some(m) if m.kind == Kind::String => Ok(super::typed::unescape(m.value)),
        Some(_) => Err(DbError::Other(
            "The specified keys must contain string values".into(),
        )),
    }
}

/// One run of matching bytes: where it is in each string (inclusive).
struct Run {
    a: (usize, usize),
    b: (usize, usize),
}

impl Run {
    fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// `LCS`.
pub fn lcs(ctx: &mut Ctx<'_>, args: &[&[u8]]) -> CmdResult {
    let a = string_of(ctx, args[1])?;
    let b = string_of(ctx, args[2])?;
    let (mut want_len, mut want_idx, mut with_len) = (false, false, false);
    let mut min_len = 0usize;
    let mut i = 3;
    while i < args.len() {
        let o = args[i];
        if is(o, "idx") {
            want_idx = true;
        } else if is(o, "len") {
            want_len = true;
        } else if is(o, "withmatchlen") {
            with_len = true;
        } else if is(o, "minmatchlen") && i + 1 < args.len() {
            min_len = int_arg(args[i + 1])?.max(0) as usize;
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    if want_len && want_idx {
        return Err(DbError::Other(
            "If you want both the length and indexes, please just use IDX.".into(),
        ));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells > MAX_CELLS {
        return Err(DbError::Other(format!(
            "Insufficient memory, transient memory for LCS exceeds the Mimei database's \
             limit of {MAX_CELLS} cells ((len1+1)*(len2+1))"
        )));
    }
    // t[i * w + j]: the LCS length of a[..i] and b[..j].
    let w = b.len() + 1;
    let mut t = vec![0u32; cells as usize];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            t[i * w + j] = if a[i - 1] == b[j - 1] {
                t[(i - 1) * w + j - 1] + 1
            } else {
                t[(i - 1) * w + j].max(t[i * w + j - 1])
            };
        }
    }
    let total = t[a.len() * w + b.len()] as usize;
    if want_len {
        return Ok(Reply::Int(total as i64));
    }
    // Walk back from the end, collecting the subsequence and its runs (last run first).
    let mut seq = vec![0u8; total];
    let mut runs: Vec<Run> = Vec::new();
    let mut cur: Option<Run> = None;
    let (mut i, mut j, mut k) = (a.len(), b.len(), total);
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            k -= 1;
            seq[k] = a[i - 1];
            match &mut cur {
                Some(r) if r.a.0 == i && r.b.0 == j => {
                    r.a.0 = i - 1;
                    r.b.0 = j - 1;
                }
                _ => {
                    if let Some(r) = cur.take() {
                        runs.push(r);
                    }
                    cur = Some(Run {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    });
                }
            }
            i -= 1;
            j -= 1;
        } else if t[(i - 1) * w + j] > t[i * w + j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if let Some(r) = cur {
        runs.push(r);
    }
    if !want_idx {
        return Ok(super::cmd_string::plain_bulk(ctx, &seq));
    }
    let pair =
        |(s, e): (usize, usize)| Reply::Array(vec![Reply::Int(s as i64), Reply::Int(e as i64)]);
    let matches = runs
        .into_iter()
        .filter(|r| r.len() >= min_len)
        .map(|r| {
            let n = r.len() as i64;
            let mut m = vec![pair(r.a), pair(r.b)];
            if with_len {
                m.push(Reply::Int(n));
            }
            Reply::Array(m)
        })
        .collect();
    Ok(Reply::Map(vec![
        Reply::text("matches"),
        Reply::Array(matches),
        Reply::text("len"),
        Reply::Int(total as i64),
    ]))
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

    fn pair(a: i64, b: i64) -> Reply {
        Reply::Array(vec![Reply::Int(a), Reply::Int(b)])
    }

    #[test]
    fn lcs_string_len_and_indexes() {
        let mut kv = MemKv::default();
        run(&mut kv, "MSET a ohmytext b mynewtext").unwrap();
        assert_eq!(
            run(&mut kv, "LCS a b").unwrap(),
            Reply::Bulk(b"mytext".to_vec())
        );
        assert_eq!(run(&mut kv, "LCS a b LEN").unwrap(), Reply::Int(6));
        assert_eq!(
            run(&mut kv, "LCS a b IDX MINMATCHLEN 0 WITHMATCHLEN").unwrap(),
            Reply::Map(vec![
                Reply::text("matches"),
                Reply::Array(vec![
                    Reply::Array(vec![pair(4, 7), pair(5, 8), Reply::Int(4)]),
                    Reply::Array(vec![pair(2, 3), pair(0, 1), Reply::Int(2)]),
                ]),
                Reply::text("len"),
                Reply::Int(6),
            ])
        );
        assert_eq!(
            run(&mut kv, "LCS a b IDX MINMATCHLEN 3").unwrap(),
            Reply::Map(vec![
                Reply::text("matches"),
                Reply::Array(vec![Reply::Array(vec![pair(4, 7), pair(5, 8)])]),
                Reply::text("len"),
                Reply::Int(6),
            ])
        );
        assert_eq!(run(&mut kv, "LCS a nope").unwrap(), Reply::Bulk(vec![]));
        assert_eq!(
            run(&mut kv, "LCS a b LEN IDX").unwrap_err().to_string(),
            "ERR If you want both the length and indexes, please just use IDX."
        );
        run(&mut kv, "LPUSH l x").unwrap();
        assert_eq!(
            run(&mut kv, "LCS a l").unwrap_err().to_string(),
            "ERR The specified keys must contain string values"
        );
    }

    #[test]
    fn lcs_refuses_pairs_over_the_cap() {
        let mut kv = MemKv::default();
        let big = "x".repeat(3000);
        run(&mut kv, &format!("MSET a {big} b {big}")).unwrap();
        let e = run(&mut kv, "LCS a b LEN").unwrap_err().to_string();
        assert!(e.starts_with("ERR Insufficient memory"), "{e}");
    }
}
