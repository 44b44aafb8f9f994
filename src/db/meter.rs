//! The read bound of one command: a map that counts the bytes a command reads and refuses
//! past [`super::engine::Tune::max_read`].
//!
//! A reply is built in memory before it is written, so a command that reads a whole large
//! key (`LRANGE k 0 -1`, `HGETALL`, `SMEMBERS`, `XRANGE - +`, `LPOP k 1000000000`, `SORT`...)
//! could make the node's one thread hold gigabytes. Which commands read through the meter
//! ([`mode`]):
//!
//! - every read-only command but those that count as they walk and hold nothing (`DBSIZE`,
//!   `ZCOUNT`, `ZLEXCOUNT`, `LPOS`, `SINTERCARD`, `ZINTERCARD`, `CHECKKEY`): past the bound
//!   it ends with [`too_much`];
//! - the writes that answer what they take (`LPOP`/`RPOP`/`SPOP`/`ZPOPMIN`/`ZPOPMAX` with a
//!   count, `LMPOP`, `ZMPOP`, `SORT`) run atomically: their writes go to an overlay that
//!   reaches the database only when the command succeeded, so a refused pop loses nothing;
//! - the `*STORE` commands (`SUNIONSTORE`, `ZINTERSTORE`, `ZRANGESTORE`...) gather all they
//!   read before they write, so a refusal comes before any write;
//! - every other write is not metered: it answers little (`LPUSH`, `SET`, `INCR`...), or it
//!   streams over what it reads without holding it (`LREM`, `LINSERT`), or it only removes
//!   or moves a key in bounded batches (`DEL`, `FLUSHDB`, `RENAME`, `COPY`): the owner can
//!   always drop or move a key however large it grew.

use super::DbError;
use super::kv::{Kv, Visit};

/// A map that counts what is read from `inner`.
pub struct Metered<'a> {
    inner: &'a mut dyn Kv,
    left: usize,
    bound: usize,
}

impl<'a> Metered<'a> {
    /// `inner`, of which at most `bound` bytes (keys and values) may be read.
    pub fn new(inner: &'a mut dyn Kv, bound: usize) -> Metered<'a> {
        Metered {
            inner,
            left: bound,
            bound,
        }
    }

    fn charge(&mut self, n: usize) -> Result<(), DbError> {
        match self.left.checked_sub(n) {
            Some(l) => {
                self.left = l;
                Ok(())
            }
            None => Err(too_much(self.bound)),
        }
    }
}

/// The error past the bound.
pub fn too_much(bound: usize) -> DbError {
    DbError::Other(format!(
        "this command would read more than {} MiB of the database, the most one command may read on this node (half the connections' share of MaxMemoryMB); ask for a smaller range (LRANGE/ZRANGE/XRANGE with limits, SCAN/HSCAN/SSCAN/ZSCAN), or raise MaxMemoryMB",
        (bound >> 20).max(1)
    ))
}

/// How a command reads ([`mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Straight on the map.
    Plain,
    /// Through the meter.
    Metered,
    /// Through the meter, its writes kept apart until it succeeds.
    Atomic,
}

/// How the command `name` (lower case, from the table; `write` its flag) with `args` reads.
pub fn mode(name: &str, write: bool, args: &[&[u8]]) -> Mode {
    if !write {
        // Reads that count as they walk and hold nothing of what they read.
        return match name {
            "dbsize" | "zcount" | "zlexcount" | "lpos" | "sintercard" | "zintercard"
            | "checkkey" => Mode::Plain,
            _ => Mode::Metered,
        };
    }
    match name {
        "lpop" | "rpop" | "spop" | "zpopmin" | "zpopmax" if args.len() > 2 => Mode::Atomic,
        "lmpop" | "zmpop" | "sort" => Mode::Atomic,
        "sinterstore" | "sunionstore" | "sdiffstore" | "zunionstore" | "zinterstore"
        | "zdiffstore" | "zrangestore" => Mode::Metered,
        _ => Mode::Plain,
    }
}

impl Kv for Metered<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let v = self.inner.get(key)?;
        if let Some(v) = &v {
            self.charge(key.len() + v.len())?;
        }
        Ok(v)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.inner.put(key, value)
    }

    fn put_owned(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), DbError> {
        self.inner.put_owned(key, value)
    }

    fn del(&mut self, key: &[u8]) -> Result<(), DbError> {
        self.inner.del(key)
    }

    fn scan(
        &mut self,
        from: &[u8],
        to: &[u8],
        rev: bool,
        f: &mut Visit<'_>,
    ) -> Result<(), DbError> {
        let mut over = false;
        let left = &mut self.left;
        self.inner.scan(from, to, rev, &mut |k, v| {
            match left.checked_sub(k.len() + v.len()) {
                Some(l) => *left = l,
                None => {
                    over = true;
                    return false;
                }
            }
            f(k, v)
        })?;
        if over {
            return Err(too_much(self.bound));
        }
        Ok(())
    }

    fn read_only(&self) -> Option<String> {
        self.inner.read_only()
    }

    fn note(&mut self, key: &[u8], write: bool) {
        self.inner.note(key, write);
    }
}

#[cfg(test)]
mod tests {
    use crate::db::engine::{self, Tune};
    use crate::db::kv::MemKv;
    use crate::db::typed::Values;
    use crate::db::{DbError, Reply};

    fn run(kv: &mut MemKv, tune: Tune, args: &[&str]) -> Result<Reply, DbError> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        engine::exec_tuned(kv, 1, &a, Values::Plain, tune)
    }

    /// A large list is refused whole and served in parts; the owner can still drop it.
    #[test]
    fn a_command_reads_at_most_the_bound() {
        let mut kv = MemKv::default();
        let tune = Tune {
            max_read: 64 << 10,
            ..Tune::default()
        };
        let big = "x".repeat(1000);
        for _ in 0..200 {
            run(&mut kv, tune, &["rpush", "l", &big]).unwrap();
        }
        for cmd in [
            &["lrange", "l", "0", "-1"][..],
            &["lpop", "l", "200"],
            &["rpop", "l", "150"],
            &["lmpop", "1", "l", "left", "count", "100"],
            &["sort", "l", "alpha"],
        ] {
            let e = run(&mut kv, tune, cmd).unwrap_err();
            assert!(
                e.to_string().contains("would read more than"),
                "{cmd:?}: {e}"
            );
        }
        for i in 0..100 {
            run(&mut kv, tune, &["sadd", "s", &format!("{i}{big}")]).unwrap();
        }
        for cmd in [
            &["smembers", "s"][..],
            &["sunionstore", "d", "s"],
            &["spop", "s", "90"],
        ] {
            let e = run(&mut kv, tune, cmd).unwrap_err();
            assert!(
                e.to_string().contains("would read more than"),
                "{cmd:?}: {e}"
            );
        }
        assert_eq!(
            run(&mut kv, tune, &["scard", "s"]).unwrap(),
            Reply::Int(100)
        );
        assert_eq!(run(&mut kv, tune, &["exists", "d"]).unwrap(), Reply::Int(0));
        // Nothing was popped by the refused pops.
        assert_eq!(run(&mut kv, tune, &["llen", "l"]).unwrap(), Reply::Int(200));
        // Commands that hold nothing of what they read are not metered: LREM and LPOS walk
        // the whole list, DBSIZE every key.
        assert_eq!(
            run(&mut kv, tune, &["lpos", "l", "nothere"]).unwrap(),
            Reply::Nil
        );
        assert_eq!(run(&mut kv, tune, &["dbsize"]).unwrap(), Reply::Int(2));
        assert_eq!(
            run(&mut kv, tune, &["lrem", "l", "0", "nothere"]).unwrap(),
            Reply::Int(0)
        );
        let Reply::Array(part) = run(&mut kv, tune, &["lrange", "l", "0", "9"]).unwrap() else {
            panic!("not an array");
        };
        assert_eq!(part.len(), 10);
        assert_eq!(
            run(&mut kv, tune, &["rename", "l", "l2"]).unwrap(),
            Reply::OK
        );
        assert_eq!(run(&mut kv, tune, &["del", "l2"]).unwrap(), Reply::Int(1));
    }
}
