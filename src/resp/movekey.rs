//! `MOVE key db` and `COPY source destination DB n [REPLACE]`: a key between two databases.
//!
//! Both databases are in the same store with the same layout (docs/db.md, "Layout"), so a
//! key is carried as its entries: the meta entry (type, expiry, a string's value or the
//! count), and every element entry, renamed to the destination key. Nothing is decoded or
//! re-encoded by type, so every type moves the same way and exactly. A key of more than
//! [`MAX_BYTES`] is refused (it would be held in memory between the two databases).

use crate::db::engine::Ctx;
use crate::db::keys::{self, Meta};
use crate::db::kv::{Kv, MAX_TXN_BYTES};
use crate::db::typed::Values;
use crate::db::{DbError, MAX_KEY};

/// Largest key (its entries' keys and values together) MOVE and COPY carry.
pub const MAX_BYTES: usize = MAX_TXN_BYTES;

/// A key taken out of a database: its meta and its element entries (the part after the key).
pub struct Carried {
    meta: Meta,
    elems: Vec<(Vec<u8>, Vec<u8>)>,
}

fn ctx(kv: &mut dyn Kv, now: u64) -> Ctx<'_> {
    Ctx {
        kv,
        now,
        values: Values::Plain,
        tune: Default::default(),
    }
}

/// Reads `key` (live, not expired) from `kv`: `None` when it does not exist.
pub fn read(kv: &mut dyn Kv, now: u64, key: &[u8]) -> Result<Option<Carried>, DbError> {
    let mut c = ctx(kv, now);
    let Some(meta) = c.meta(key)? else {
        return Ok(None);
    };
    let mut elems = Vec::new();
    let mut bytes = meta.value.len();
    let mut over = false;
    c.elems(key, b"", false, &mut |rest, v| {
        bytes += rest.len() + v.len();
        over = bytes > MAX_BYTES;
        if !over {
            elems.push((rest.to_vec(), v.to_vec()));
        }
        !over
    })?;
    if over {
        return Err(DbError::Other(format!(
            "a key over {} MiB is not moved or copied between databases here",
            MAX_BYTES >> 20
        )));
    }
    Ok(Some(Carried { meta, elems }))
}

/// Whether `key` exists (live) in `kv`.
pub fn exists(kv: &mut dyn Kv, now: u64, key: &[u8]) -> Result<bool, DbError> {
    Ok(ctx(kv, now).meta(key)?.is_some())
}

/// Removes `key` from `kv` if it exists; whether it did.
pub fn remove(kv: &mut dyn Kv, now: u64, key: &[u8]) -> Result<bool, DbError> {
    let mut c = ctx(kv, now);
    match c.meta(key)? {
        Some(m) => {
            c.remove(key, &m)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Writes `carried` into `kv` as `key` (which must not exist there).
pub fn write(kv: &mut dyn Kv, now: u64, key: &[u8], carried: &Carried) -> Result<(), DbError> {
    if key.len() > MAX_KEY {
        return Err(DbError::KeyTooLong);
    }
    let mut c = ctx(kv, now);
    c.put_meta(key, &carried.meta, 0)?;
    for (rest, v) in &carried.elems {
        c.kv.put(&keys::elem(key, rest), v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Reply;
    use crate::db::engine::exec;
    use crate::db::kv::MemKv;

    fn run(kv: &mut MemKv, s: &str) -> Reply {
        let a: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
        exec(kv, 1, &a).unwrap()
    }

    #[test]
    fn every_type_is_carried_exactly_with_its_expiry() {
        let (mut a, mut b) = (MemKv::default(), MemKv::default());
        run(&mut a, "rpush l x y z");
        run(&mut a, "zadd z 1 m 2 n");
        run(&mut a, "hset h f v");
        run(&mut a, "set s v");
        run(&mut a, "pexpireat s 99999999");
        for k in ["l", "z", "h", "s"] {
            let c = read(&mut a, 1, k.as_bytes()).unwrap().unwrap();
            let to = format!("{k}2");
            write(&mut b, 1, to.as_bytes(), &c).unwrap();
        }
        assert_eq!(run(&mut b, "lrange l2 0 -1"), run(&mut a, "lrange l 0 -1"));
        assert_eq!(
            run(&mut b, "zrange z2 0 -1 withscores"),
            run(&mut a, "zrange z 0 -1 withscores")
        );
        assert_eq!(run(&mut b, "hgetall h2"), run(&mut a, "hgetall h"));
        assert_eq!(run(&mut b, "pttl s2"), run(&mut a, "pttl s"));
        assert!(read(&mut a, 1, b"none").unwrap().is_none());
        assert!(remove(&mut a, 1, b"l").unwrap());
        assert!(!exists(&mut a, 1, b"l").unwrap());
        assert_eq!(run(&mut a, "exists l"), Reply::Int(0));
    }
}
