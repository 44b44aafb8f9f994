//! A list's elements in the ordered map: chunks of elements at sparse sequence numbers
//! (`e LEN KEY SEQ` -> a chunk, `list_chunk.rs`), so pushes and pops at either end rewrite
//! the end chunk, and reads find an index by walking the chunks' counts (two header bytes
//! each) from the nearer end.
//!
//! Lists written before chunks came (the first layout: one entry per element at
//! consecutive sequence numbers, `Meta::chunked` false) are read as they are, so numbered
//! versions made then still read; the first write to such a list converts it to chunks
//! ([`writable`]). Values here are in their stored form; the commands convert.

use super::DbError;
use super::engine::Ctx;
use super::keys::{self, CHUNK_STEP, Kind, LIST_MID, Meta};
use super::list_chunk as chunk;

fn damaged(key: &[u8]) -> DbError {
    DbError::Other(format!(
        "the stored list {:?} is damaged; check it with CHECKKEY (CheckIntegrity)",
        String::from_utf8_lossy(key)
    ))
}

fn too_long() -> DbError {
    DbError::Other("the list has run out of chunk numbers".into())
}

/// The sequence number in a list entry's key, given the length of the key's prefix.
fn seq_of(k: &[u8], n: usize) -> Option<u64> {
    Some(u64::from_be_bytes(k.get(n..)?.try_into().ok()?))
}

/// The list at `key` (`WRONGTYPE` for another type), converted to chunks when it is of the
/// first layout: what every list write starts with.
pub fn writable(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    let Some(mut m) = ctx.typed(key, Kind::List)? else {
        return Ok(None);
    };
    if !m.chunked {
        let mut items = Vec::with_capacity(m.len.min(1 << 16) as usize);
        visit(ctx, key, &m, 0, false, &mut |_, v| {
            items.push(v.to_vec());
            true
        })?;
        if items.len() as u64 != m.len {
            return Err(damaged(key));
        }
        delete_all(ctx, key)?;
        write_fresh(ctx, key, &mut m, &items)?;
        ctx.put_meta(key, &m, m.expire)?;
    }
    Ok(Some(m))
}

/// Removes every element entry of `key`.
fn delete_all(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<(), DbError> {
    let p = keys::elem_prefix(key);
    let mut doomed = Vec::new();
    ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |k, _| {
        doomed.push(k.to_vec());
        true
    })?;
    for k in doomed {
        ctx.kv.del(&k)?;
    }
    Ok(())
}

/// Writes `items` as fresh chunks from [`LIST_MID`] (the caller removed the old ones).
pub fn write_fresh<T: AsRef<[u8]>>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    items: &[T],
) -> Result<(), DbError> {
    m.chunked = true;
    m.len = items.len() as u64;
    m.head = LIST_MID;
    m.tail = LIST_MID;
    for (i, run) in chunk::pack(items).into_iter().enumerate() {
        let seq = (i as u64)
            .checked_mul(CHUNK_STEP)
            .and_then(|d| LIST_MID.checked_add(d))
            .ok_or_else(too_long)?;
        ctx.kv
            .put_owned(&keys::list_elem(key, seq), chunk::encode(run))?;
        m.tail = seq;
    }
    Ok(())
}

fn get_chunk(ctx: &mut Ctx<'_>, key: &[u8], seq: u64) -> Result<Vec<u8>, DbError> {
    ctx.kv
        .get(&keys::list_elem(key, seq))?
        .filter(|c| chunk::count(c).is_some())
        .ok_or_else(|| damaged(key))
}

/// The chunk after `seq` (or before it, `after` false).
fn neighbour(ctx: &mut Ctx<'_>, key: &[u8], seq: u64, after: bool) -> Result<Option<u64>, DbError> {
    let p = keys::elem_prefix(key);
    let n = p.len();
    let (from, to) = if after {
        let Some(next) = seq.checked_add(1) else {
            return Ok(None);
        };
        (keys::list_elem(key, next), keys::prefix_end(&p))
    } else {
        (p, keys::list_elem(key, seq))
    };
    let mut found = None;
    ctx.kv.scan(&from, &to, !after, &mut |k, _| {
        found = seq_of(k, n);
        false
    })?;
    Ok(found)
}

/// Visits the elements from index `from` toward the tail (or toward the head, `rev`),
/// with their indexes, while `f` returns true. Reads both layouts.
pub fn visit(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &Meta,
    from: u64,
    rev: bool,
    f: &mut dyn FnMut(u64, &[u8]) -> bool,
) -> Result<(), DbError> {
    if from >= m.len {
        return Ok(());
    }
    let p = keys::elem_prefix(key);
    let n = p.len();
    if !m.chunked {
        let head = m.head;
        let (lo, hi) = if rev {
            (keys::list_elem(key, head), head.wrapping_add(from + 1))
        } else {
            (
                keys::list_elem(key, head.wrapping_add(from)),
                head.wrapping_add(m.len),
            )
        };
        // An end past u64::MAX (never written so) reads to the end of the key's entries.
        let hi = if hi > head {
            keys::list_elem(key, hi)
        } else {
            keys::prefix_end(&p)
        };
        return ctx.kv.scan(&lo, &hi, rev, &mut |k, v| {
            seq_of(k, n).is_some_and(|s| f(s.wrapping_sub(head), v))
        });
    }
    let mut bad = false;
    // Forward: `pos` is the index of the chunk's first element; backward: one past its last.
    let mut pos = if rev { m.len } else { 0 };
    ctx.kv.scan(&p, &keys::prefix_end(&p), rev, &mut |_, v| {
        let Some(c) = chunk::count(v).map(|c| c as u64) else {
            bad = true;
            return false;
        };
        let (first, end) = if rev {
            (pos.saturating_sub(c), pos)
        } else {
            (pos, pos + c)
        };
        pos = if rev { first } else { end };
        let inside = if rev { first <= from } else { end > from };
        if !inside {
            return true;
        }
        let Some(items) = chunk::elems(v) else {
            bad = true;
            return false;
        };
        if rev {
            let top = from.min(end - 1);
            for (i, e) in items.iter().enumerate().rev() {
                let idx = first + i as u64;
                if idx <= top && !f(idx, e) {
                    return false;
                }
            }
        } else {
            for (i, e) in items.iter().enumerate() {
                let idx = first + i as u64;
                if idx >= from && !f(idx, e) {
                    return false;
                }
            }
        }
        true
    })?;
    if bad {
        return Err(damaged(key));
    }
    Ok(())
}

/// Element `i` (0-based, in range).
pub fn get(ctx: &mut Ctx<'_>, key: &[u8], m: &Meta, i: u64) -> Result<Option<Vec<u8>>, DbError> {
    if !m.chunked {
        return ctx.kv.get(&keys::list_elem(key, m.head.wrapping_add(i)));
    }
    let mut out = None;
    visit(ctx, key, m, i, i >= m.len / 2, &mut |_, v| {
        out = Some(v.to_vec());
        false
    })?;
    Ok(out)
}

/// Elements `s..=e` (in range, `s <= e`), walked from the nearer end.
pub fn range(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &Meta,
    s: u64,
    e: u64,
) -> Result<Vec<Vec<u8>>, DbError> {
    let mut out = Vec::with_capacity((e - s + 1).min(1 << 16) as usize);
    if s <= m.len - 1 - e {
        visit(ctx, key, m, s, false, &mut |i, v| {
            out.push(v.to_vec());
            i < e
        })?;
    } else {
        visit(ctx, key, m, e, true, &mut |i, v| {
            out.push(v.to_vec());
            i > s
        })?;
        out.reverse();
    }
    Ok(out)
}

/// Pushes `vals` one by one at the head (`left`) or the tail of a chunked list.
pub fn push<T: AsRef<[u8]>>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    vals: &[T],
    left: bool,
) -> Result<(), DbError> {
    // The end chunk's key, built once and renumbered in place when a new chunk starts.
    let mut ck = keys::list_elem(key, if left { m.head } else { m.tail });
    let at = ck.len() - 8;
    let mut cur = if m.len == 0 {
        m.chunked = true;
        m.head = LIST_MID;
        m.tail = LIST_MID;
        ck[at..].copy_from_slice(&LIST_MID.to_be_bytes());
        chunk::encode::<&[u8]>(&[])
    } else {
        ctx.kv
            .get(&ck)?
            .filter(|c| chunk::count(c).is_some())
            .ok_or_else(|| damaged(key))?
    };
    for v in vals {
        let v = v.as_ref();
        let n = chunk::count(&cur).unwrap_or(0);
        if !chunk::fits(cur.len(), n, v.len()) {
            let next = if left {
                m.head.checked_sub(CHUNK_STEP)
            } else {
                m.tail.checked_add(CHUNK_STEP)
            };
            let next = next.ok_or_else(too_long)?;
            ctx.kv.put_owned(&ck, cur)?;
            ck[at..].copy_from_slice(&next.to_be_bytes());
            cur = chunk::encode::<&[u8]>(&[]);
            if left {
                m.head = next;
            } else {
                m.tail = next;
            }
        }
        if left {
            chunk::push_front(&mut cur, v);
        } else {
            chunk::push_back(&mut cur, v);
        }
        m.len += 1;
    }
    ctx.kv.put_owned(&ck, cur)
}

/// Takes up to `n` elements from the head (`left`) or the tail of a chunked list, in the
/// order they come off; with `keep` false they are dropped unread (`LTRIM`).
pub fn pop(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    n: u64,
    left: bool,
    keep: bool,
) -> Result<Vec<Vec<u8>>, DbError> {
    let mut out = Vec::new();
    let mut left_to_take = n.min(m.len);
    while left_to_take > 0 {
        let seq = if left { m.head } else { m.tail };
        let mut cur = get_chunk(ctx, key, seq)?;
        let c = chunk::count(&cur).unwrap_or(0) as u64;
        if c <= left_to_take {
            if keep {
                let items = chunk::elems(&cur).ok_or_else(|| damaged(key))?;
                if left {
                    out.extend(items.iter().map(|v| v.to_vec()));
                } else {
                    out.extend(items.iter().rev().map(|v| v.to_vec()));
                }
            }
            ctx.kv.del(&keys::list_elem(key, seq))?;
            left_to_take -= c;
            m.len = m.len.saturating_sub(c);
            if m.len == 0 {
                break;
            }
            let next = neighbour(ctx, key, seq, left)?.ok_or_else(|| damaged(key))?;
            if left {
                m.head = next;
            } else {
                m.tail = next;
            }
            if c == 0 {
                // An empty chunk (none is written so): skip it without looping forever.
                continue;
            }
        } else {
            for _ in 0..left_to_take {
                let v = if left {
                    chunk::pop_front(&mut cur)
                } else {
                    chunk::pop_back(&mut cur)
                };
                let v = v.ok_or_else(|| damaged(key))?;
                if keep {
                    out.push(v);
                }
            }
            m.len -= left_to_take;
            left_to_take = 0;
            ctx.kv.put_owned(&keys::list_elem(key, seq), cur)?;
        }
    }
    Ok(out)
}

/// The chunk holding index `i` (in range) of a chunked list: its sequence number, the
/// index of its first element, and its elements.
fn find_chunk(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &Meta,
    i: u64,
) -> Result<(u64, u64, Vec<Vec<u8>>), DbError> {
    let p = keys::elem_prefix(key);
    let n = p.len();
    let rev = i >= m.len / 2;
    let mut pos = if rev { m.len } else { 0 };
    let mut found = None;
    ctx.kv.scan(&p, &keys::prefix_end(&p), rev, &mut |k, v| {
        let c = chunk::count(v).unwrap_or(0) as u64;
        let first = if rev { pos.saturating_sub(c) } else { pos };
        pos = if rev { first } else { pos + c };
        if (first..first + c).contains(&i) {
            found = seq_of(k, n)
                .zip(chunk::elems(v))
                .map(|(s, items)| (s, first, items.into_iter().map(<[u8]>::to_vec).collect()));
            return false;
        }
        true
    })?;
    found.ok_or_else(|| damaged(key))
}

/// Puts `items` in place of chunk `seq` (which held `old_n` elements): removed when empty,
/// split into chunks after it when it grew past a chunk's limits.
fn store_chunk(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    seq: u64,
    old_n: u64,
    items: Vec<Vec<u8>>,
) -> Result<(), DbError> {
    m.len = m.len - old_n + items.len() as u64;
    if items.is_empty() {
        ctx.kv.del(&keys::list_elem(key, seq))?;
        if m.len > 0 {
            if seq == m.head {
                m.head = neighbour(ctx, key, seq, true)?.ok_or_else(|| damaged(key))?;
            } else if seq == m.tail {
                m.tail = neighbour(ctx, key, seq, false)?.ok_or_else(|| damaged(key))?;
            }
        }
        return Ok(());
    }
    let runs = chunk::pack(&items);
    if runs.len() == 1 {
        return ctx
            .kv
            .put_owned(&keys::list_elem(key, seq), chunk::encode(&items));
    }
    // New chunks between this one and the next, evenly spaced in the gap.
    let extra = runs.len() as u64 - 1;
    let next = if seq == m.tail {
        seq.checked_add(CHUNK_STEP.saturating_mul(extra + 1))
    } else {
        neighbour(ctx, key, seq, true)?
    };
    let step = next.map_or(0, |nx| (nx - seq) / (extra + 1));
    if step == 0 {
        return rebuild(ctx, key, m, seq, items);
    }
    for (j, run) in runs.iter().enumerate() {
        let s = seq + step * j as u64;
        ctx.kv
            .put_owned(&keys::list_elem(key, s), chunk::encode(run))?;
        if seq == m.tail && j as u64 == extra {
            m.tail = s;
        }
    }
    Ok(())
}

/// Rewrites the whole list with chunk `seq`'s elements replaced by `items`, renumbered from
/// [`LIST_MID`] (when a chunk must split where its neighbours leave no room: rare).
fn rebuild(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    seq: u64,
    items: Vec<Vec<u8>>,
) -> Result<(), DbError> {
    let p = keys::elem_prefix(key);
    let n = p.len();
    let mut all = Vec::new();
    let mut bad = false;
    let mut items = Some(items);
    ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |k, v| {
        if seq_of(k, n) == Some(seq) {
            all.extend(items.take().unwrap_or_default());
        } else {
            match chunk::elems(v) {
                Some(e) => all.extend(e.into_iter().map(<[u8]>::to_vec)),
                None => bad = true,
            }
        }
        !bad
    })?;
    if bad {
        return Err(damaged(key));
    }
    delete_all(ctx, key)?;
    write_fresh(ctx, key, m, &all)
}

/// Replaces element `i` (in range) of a chunked list.
pub fn set(ctx: &mut Ctx<'_>, key: &[u8], m: &mut Meta, i: u64, v: &[u8]) -> Result<(), DbError> {
    let (seq, first, mut items) = find_chunk(ctx, key, m, i)?;
    let n = items.len() as u64;
    items[(i - first) as usize] = v.to_vec();
    store_chunk(ctx, key, m, seq, n, items)
}

/// Inserts `v` so that it becomes element `i` (`0..=len`) of a non-empty chunked list.
pub fn insert(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    i: u64,
    v: &[u8],
) -> Result<(), DbError> {
    let at = i.min(m.len - 1);
    let (seq, first, mut items) = find_chunk(ctx, key, m, at)?;
    let n = items.len() as u64;
    items.insert((i - first) as usize, v.to_vec());
    store_chunk(ctx, key, m, seq, n, items)
}

/// When chunk `seq` (which held `old_n` elements) shrank to `items`, moves them into its
/// neighbour on the side already walked (toward the head, or toward the tail when `rev`)
/// if together they fit one chunk, so `LREM` does not leave a trail of small chunks.
/// Whether it did.
fn merge_back(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    seq: u64,
    old_n: u64,
    items: &[Vec<u8>],
    rev: bool,
) -> Result<bool, DbError> {
    let end = if rev { m.tail } else { m.head };
    if seq == end {
        return Ok(false);
    }
    let Some(other) = neighbour(ctx, key, seq, rev)? else {
        return Ok(false);
    };
    let theirs = get_chunk(ctx, key, other)?;
    let theirs = chunk::elems(&theirs).ok_or_else(|| damaged(key))?;
    let mut all: Vec<&[u8]> = Vec::with_capacity(theirs.len() + items.len());
    if rev {
        all.extend(items.iter().map(Vec::as_slice));
        all.extend(theirs);
    } else {
        all.extend(theirs);
        all.extend(items.iter().map(Vec::as_slice));
    }
    if chunk::pack(&all).len() != 1 {
        return Ok(false);
    }
    let merged = chunk::encode(&all);
    ctx.kv.put_owned(&keys::list_elem(key, other), merged)?;
    ctx.kv.del(&keys::list_elem(key, seq))?;
    m.len = m.len - old_n + items.len() as u64;
    if rev && seq == m.head {
        m.head = other;
    } else if !rev && seq == m.tail {
        m.tail = other;
    }
    Ok(true)
}

/// Removes up to `limit` elements equal to `v` (0: all), from the head or (`rev`) the
/// tail of a chunked list; how many went.
pub fn remove(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    m: &mut Meta,
    v: &[u8],
    limit: u64,
    rev: bool,
) -> Result<u64, DbError> {
    let mut removed = 0;
    let mut seq = if rev { m.tail } else { m.head };
    loop {
        let cur = get_chunk(ctx, key, seq)?;
        let items = chunk::elems(&cur).ok_or_else(|| damaged(key))?;
        let n = items.len() as u64;
        let hit = |removed: u64, e: &[u8]| e == v && (limit == 0 || removed < limit);
        if items.iter().any(|e| hit(removed, e)) {
            let mut keep: Vec<Vec<u8>> = Vec::with_capacity(items.len());
            let order: Box<dyn Iterator<Item = &&[u8]>> = if rev {
                Box::new(items.iter().rev())
            } else {
                Box::new(items.iter())
            };
            for e in order {
                if hit(removed, e) {
                    removed += 1;
                } else {
                    keep.push(e.to_vec());
                }
            }
            if rev {
                keep.reverse();
            }
            if !keep.is_empty() && merge_back(ctx, key, m, seq, n, &keep, rev)? {
                // Merged into the chunk visited before it: nothing left at `seq`.
            } else {
                store_chunk(ctx, key, m, seq, n, keep)?;
            }
        }
        if (limit != 0 && removed >= limit) || m.len == 0 {
            break;
        }
        let last = if rev { m.head } else { m.tail };
        if seq == last {
            break;
        }
        match neighbour(ctx, key, seq, !rev)? {
            Some(s) => seq = s,
            None => break,
        }
    }
    Ok(removed)
}
