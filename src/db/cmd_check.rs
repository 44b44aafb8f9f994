//! Leither's `CheckIntegrity` for one key: `CHECKKEY key type` verifies that the key's meta
//! entry agrees with its element entries, `REPAIRKEY key type` makes them agree.
//!
//! What can disagree (only after a bug or a damaged store; no command leaves it so): a
//! hash's or set's count and its elements; a list's count, its head and the sequence
//! numbers of its elements; a sorted set's count, its member entries and its score index;
//! element entries left behind by a key that no longer exists. A repair trusts the element
//! entries (the data) over the count (the bookkeeping): counts are recomputed, a list is
//! renumbered in its order, a sorted set's score index is rebuilt from its member entries.

use super::engine::{CmdResult, Ctx};
use super::keys::{self, Kind};
use super::{DbError, Reply};
use super::{list, list_chunk};

/// The most elements a repair holds in memory at once; a larger key is reported, not
/// repaired (delete and rewrite it instead).
const MAX_REPAIR: usize = 1_000_000;

fn kind_of(name: &[u8]) -> Result<Kind, DbError> {
    Ok(match name.to_ascii_lowercase().as_slice() {
        b"string" => Kind::String,
        b"hash" => Kind::Hash,
        b"list" => Kind::List,
        b"set" => Kind::Set,
        b"zset" => Kind::ZSet,
        _ => {
            return Err(DbError::Other(
                "type must be string, hash, list, set or zset".into(),
            ));
        }
    })
}

/// An entry of the ordered map: its full key and its value.
type Entry = (Vec<u8>, Vec<u8>);

/// Every element entry of `key`, in order, at most `MAX_REPAIR`.
fn elements(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Vec<Entry>, DbError> {
    let p = keys::elem_prefix(key);
    let mut out = Vec::new();
    let mut over = false;
    ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |k, v| {
        if out.len() >= MAX_REPAIR {
            over = true;
            return false;
        }
        out.push((k.to_vec(), v.to_vec()));
        true
    })?;
    if over {
        return Err(DbError::Other(format!(
            "key {:?} has over {MAX_REPAIR} elements, too many to check in one call",
            String::from_utf8_lossy(key)
        )));
    }
    Ok(out)
}

/// What is wrong with `key`, if anything, and (with `repair`) puts it right.
fn check(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    kind: Kind,
    repair: bool,
) -> Result<Option<String>, DbError> {
    let meta = ctx.typed(key, kind)?;
    let elems = elements(ctx, key)?;
    let n = keys::elem_prefix(key).len();
    let Some(mut m) = meta else {
        if elems.is_empty() {
            return Ok(None);
        }
        if repair {
            for (k, _) in &elems {
                ctx.kv.del(k)?;
            }
        }
        return Ok(Some(format!(
            "{} element entries without a key",
            elems.len()
        )));
    };
    let expire = m.expire;
    let problem = match kind {
        Kind::String if !elems.is_empty() => {
            if repair {
                for (k, _) in &elems {
                    ctx.kv.del(k)?;
                }
            }
            Some(format!("a string with {} element entries", elems.len()))
        }
        Kind::String | Kind::Stream => None,
        Kind::Hash | Kind::Set => {
            let count = elems.len() as u64;
            (count != m.len).then(|| {
                let p = format!("count {} but {count} elements", m.len);
                m.len = count;
                p
            })
        }
        Kind::List => {
            // Chunked: each entry a sound, non-empty chunk, the first at head, the last at
            // tail, the counts adding up to len. First layout: one element per entry at
            // head, head + 1, ...
            let seq = |k: &[u8]| k.get(n..).and_then(|s| <[u8; 8]>::try_from(s).ok());
            let mut items: Vec<Vec<u8>> = Vec::new();
            let mut sound = true;
            for (i, (k, v)) in elems.iter().enumerate() {
                if m.chunked {
                    match list_chunk::elems(v).filter(|e| !e.is_empty()) {
                        Some(e) => items.extend(e.into_iter().map(<[u8]>::to_vec)),
                        None => sound = false,
                    }
                    sound &= seq(k).is_some();
                } else {
                    items.push(v.clone());
                    sound &= seq(k) == Some(m.head.wrapping_add(i as u64).to_be_bytes());
                }
            }
            if m.chunked {
                let first = elems.first().and_then(|(k, _)| seq(k));
                let last = elems.last().and_then(|(k, _)| seq(k));
                sound &= first == Some(m.head.to_be_bytes()) && last == Some(m.tail.to_be_bytes());
            }
            let count = items.len() as u64;
            if count == m.len && sound {
                None
            } else {
                let p = format!(
                    "count {}, {count} elements in {} entries, not in sequence or damaged",
                    m.len,
                    elems.len()
                );
                if repair {
                    for (k, _) in &elems {
                        ctx.kv.del(k)?;
                    }
                    list::write_fresh(ctx, key, &mut m, &items)?;
                }
                m.len = count;
                Some(p)
            }
        }
        Kind::ZSet => {
            let (mut members, mut index) = (Vec::new(), Vec::new());
            for (k, v) in &elems {
                match k.get(n) {
                    Some(&keys::Z_MEMBER) => members.push((k[n + 1..].to_vec(), v.clone())),
                    _ => index.push(k.clone()),
                }
            }
            let mut want = Vec::with_capacity(members.len());
            let mut bad_scores = 0;
            for (member, v) in &members {
                match <[u8; 8]>::try_from(v.as_slice()) {
                    Ok(b) if !f64::from_be_bytes(b).is_nan() => {
                        want.push(keys::z_score(key, f64::from_be_bytes(b), member));
                    }
                    _ => bad_scores += 1,
                }
            }
            want.sort();
            let count = want.len() as u64;
            if count == m.len && bad_scores == 0 && want == index {
                None
            } else {
                if repair {
                    for k in &index {
                        ctx.kv.del(k)?;
                    }
                    for (member, v) in &members {
                        if <[u8; 8]>::try_from(v.as_slice()).is_err() {
                            ctx.kv.del(&keys::z_member(key, member))?;
                        }
                    }
                    for k in &want {
                        ctx.kv.put(k, &[])?;
                    }
                }
                let p = format!(
                    "count {}, {count} members, {} index entries, {bad_scores} damaged scores",
                    m.len,
                    index.len()
                );
                m.len = count;
                Some(p)
            }
        }
    };
    if repair && problem.is_some() {
        ctx.store_or_drop(key, &m, expire)?;
    }
    Ok(problem)
}

fn run(ctx: &mut Ctx<'_>, a: &[&[u8]], repair: bool) -> CmdResult {
    let kind = kind_of(a[2])?;
    match check(ctx, a[1], kind, repair)? {
        None => Ok(Reply::OK),
        Some(_) if repair => Ok(Reply::Status("REPAIRED")),
        Some(p) => Err(DbError::Other(format!(
            "key {:?} is damaged: {p}; repair it (CheckIntegrity with bRepair true)",
            String::from_utf8_lossy(a[1])
        ))),
    }
}

/// `CHECKKEY key type`: OK, or an error saying what is wrong.
pub fn checkkey(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    run(ctx, a, false)
}

/// `REPAIRKEY key type`: OK when nothing was wrong, REPAIRED when something was put right.
pub fn repairkey(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    run(ctx, a, true)
}

#[cfg(test)]
mod tests {
    use super::super::Reply;
    use super::super::engine::exec;
    use super::super::keys;
    use super::super::kv::{Kv, MemKv};

    fn ok(kv: &mut MemKv, line: &str) -> Reply {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        exec(kv, 0, &args).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(kv: &mut MemKv, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        exec(kv, 0, &args).unwrap_err().to_string()
    }

    #[test]
    fn sound_keys_pass_and_damage_is_found_then_repaired() {
        let mut kv = MemKv::default();
        ok(&mut kv, "HSET h a 1 b 2");
        ok(&mut kv, "RPUSH l x y z");
        ok(&mut kv, "ZADD z 1 a 2 b");
        ok(&mut kv, "SADD s m");
        ok(&mut kv, "SET str v");
        for (k, t) in [
            ("h", "hash"),
            ("l", "list"),
            ("z", "zset"),
            ("s", "set"),
            ("str", "string"),
            ("none", "hash"),
        ] {
            assert_eq!(ok(&mut kv, &format!("CHECKKEY {k} {t}")), Reply::OK, "{k}");
        }
        assert!(err(&mut kv, "CHECKKEY h list").starts_with("WRONGTYPE"));
        // Damage: a hash element the count does not know, a list hole, a lost score index
        // entry, elements of a key that is gone.
        kv.put(&keys::elem(b"h", b"c"), b"3").unwrap();
        // (a chunk of the list beyond its tail: two elements the count does not know)
        kv.put(
            &keys::list_elem(b"l", keys::LIST_MID + keys::CHUNK_STEP),
            &crate::db::list_chunk::encode(&[b"u", b"w"]),
        )
        .unwrap();
        kv.del(&keys::z_score(b"z", 2.0, b"b")).unwrap();
        kv.put(&keys::elem(b"gone", b"f"), b"v").unwrap();
        for (k, t) in [
            ("h", "hash"),
            ("l", "list"),
            ("z", "zset"),
            ("gone", "hash"),
        ] {
            assert!(
                err(&mut kv, &format!("CHECKKEY {k} {t}")).contains("is damaged"),
                "{k}"
            );
            assert_eq!(
                ok(&mut kv, &format!("REPAIRKEY {k} {t}")),
                Reply::Status("REPAIRED")
            );
            assert_eq!(
                ok(&mut kv, &format!("CHECKKEY {k} {t}")),
                Reply::OK,
                "{k} after repair"
            );
        }
        assert_eq!(ok(&mut kv, "HLEN h"), Reply::Int(3));
        assert_eq!(
            ok(&mut kv, "LRANGE l 0 -1"),
            Reply::bulks(
                ["x", "y", "z", "u", "w"]
                    .map(|s| s.as_bytes().to_vec())
                    .to_vec()
            )
        );
        assert_eq!(
            ok(&mut kv, "ZRANGE z 0 -1"),
            Reply::bulks(vec![b"a".to_vec(), b"b".to_vec()])
        );
        assert_eq!(ok(&mut kv, "EXISTS gone"), Reply::Int(0));
    }
}
