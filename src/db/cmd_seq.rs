//! Leither's database sequence: `ZADDWITHSEQ key member...` scores each member with the
//! next number of a per-database counter, and `GETLASTSEQ` answers the last number handed
//! out (0 before the first), so apps can record the order in which things happened.
//!
//! The counter is one entry, [`SEQ_ENTRY`], outside the Redis keyspace (no key's meta,
//! element or expiry entry starts with `s`): it travels with the database into versions
//! and back with `MMRestore`, and `FLUSHDB` keeps it, so a sequence never goes back.

use super::engine::{CmdResult, Ctx, name_ok};
use super::{DbError, Reply};

/// Where the counter lives in the ordered map: u64 big-endian.
pub const SEQ_ENTRY: &[u8] = b"seq";

/// The name transactions and `WATCH` note for the counter, so two transactions that both
/// take numbers conflict instead of handing out one number twice. A Redis key of this
/// name would only cause a needless conflict.
const SEQ_NOTE: &[u8] = b"\xff\x00leither:seq";

fn last(ctx: &mut Ctx<'_>) -> Result<u64, DbError> {
    ctx.kv.note(SEQ_NOTE, false);
    match ctx.kv.get(SEQ_ENTRY)? {
        None => Ok(0),
        Some(b) => b
            .as_slice()
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| DbError::Other("the sequence entry is damaged; restore a version".into())),
    }
}

/// `GETLASTSEQ`: the last sequence number handed out.
pub fn getlastseq(ctx: &mut Ctx<'_>, _a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(last(ctx)? as i64))
}

/// `ZADDWITHSEQ key member...`: how many members were added.
pub fn zaddwithseq(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    for m in &a[2..] {
        name_ok(m)?;
    }
    let mut seq = last(ctx)?;
    // Scores are f64: integers stay exact up to 2^53, far beyond any count of writes.
    let scores: Vec<String> = a[2..]
        .iter()
        .map(|_| {
            seq += 1;
            seq.to_string()
        })
        .collect();
    let mut args: Vec<&[u8]> = Vec::with_capacity(2 + 2 * scores.len());
    args.push(b"zadd");
    args.push(a[1]);
    for (s, m) in scores.iter().zip(&a[2..]) {
        args.push(s.as_bytes());
        args.push(m);
    }
    let r = super::cmd_zset::zadd(ctx, &args)?;
    ctx.kv.note(SEQ_NOTE, true);
    ctx.kv.put(SEQ_ENTRY, &seq.to_be_bytes())?;
    Ok(r)
}
