//! `SWAPDB a b`: two numbered databases trade contents.
//!
//! The numbered databases are Mimeis with their own IDs and rights, so what swaps is what
//! they hold: every entry of `cur` (keys, elements, expiries, the sequence counter) moves to
//! the other Mimei. Clients that selected database `a` then see what `b` held, as in Redis.
//! Every Redis key of both is marked as written, so `WATCH`es on them fail and clients
//! blocked on them are served. Redis swaps in O(1); this copies, so databases of more than
//! [`MAX_BYTES`] together are refused.

use crate::db::DbError;
use crate::db::keys::META;
use crate::db::kv::Kv;

/// Most bytes (keys and values of both databases) `SWAPDB` carries.
pub const MAX_BYTES: usize = 64 << 20;

/// Reads every entry of one database, taking its bytes from `budget` (start at
/// [`MAX_BYTES`] for the two).
pub fn take(kv: &mut dyn Kv, budget: &mut usize) -> Result<Contents, DbError> {
    let mut all = Vec::new();
    let mut over = false;
    kv.scan(&[], &[0xff], false, &mut |k, v| {
        let n = k.len() + v.len();
        over = n > *budget;
        if !over {
            *budget -= n;
            all.push((k.to_vec(), v.to_vec()));
        }
        !over
    })?;
    if over {
        return Err(DbError::Other(format!(
            "SWAPDB of databases holding more than {} MiB together is not supported here",
            MAX_BYTES >> 20
        )));
    }
    Ok(Contents(all))
}

/// The entries of one database, read before anything changes.
pub struct Contents(Vec<(Vec<u8>, Vec<u8>)>);

/// Replaces everything in `kv` (which held `old`) with `new`, noting every Redis key of both.
pub fn replace(kv: &mut dyn Kv, old: &Contents, new: &Contents) -> Result<(), DbError> {
    for (k, _) in old.0.iter().chain(&new.0) {
        if let Some(key) = k.strip_prefix(&[META]) {
            kv.note(key, true);
        }
    }
    for (k, _) in &old.0 {
        kv.del(k)?;
    }
    for (k, v) in &new.0 {
        kv.put(k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Reply;
    use crate::db::engine::exec;
    use crate::db::kv::MemKv;

    #[test]
    fn contents_trade_places() {
        let (mut a, mut b) = (MemKv::default(), MemKv::default());
        exec(&mut a, 1, &[b"set", b"x", b"in a"]).unwrap();
        exec(&mut a, 1, &[b"rpush", b"l", b"1"]).unwrap();
        exec(&mut b, 1, &[b"set", b"y", b"in b"]).unwrap();
        let mut budget = MAX_BYTES;
        let ca = take(&mut a, &mut budget).unwrap();
        let cb = take(&mut b, &mut budget).unwrap();
        replace(&mut a, &ca, &cb).unwrap();
        replace(&mut b, &cb, &ca).unwrap();
        assert_eq!(
            exec(&mut a, 1, &[b"get", b"y"]).unwrap(),
            Reply::text("in b")
        );
        assert_eq!(
            exec(&mut a, 1, &[b"exists", b"x", b"l"]).unwrap(),
            Reply::Int(0)
        );
        assert_eq!(exec(&mut b, 1, &[b"llen", b"l"]).unwrap(), Reply::Int(1));
        assert_eq!(
            exec(&mut b, 1, &[b"get", b"x"]).unwrap(),
            Reply::text("in a")
        );
    }
}
