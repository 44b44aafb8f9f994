//! The ordered byte map the engine runs on, and the overlay an optimistic transaction
//! writes into.
//!
//! Implemented by `cur` (the writable state: memtable over redb), by `version` (a numbered
//! version: a prolly tree, read-only) and by [`Overlay`] (a transaction's private writes over
//! either). The engine calls [`Kv::note`] once for every Redis key a command reads or writes:
//! that is how `WATCH` and `Commit` see conflicts without tracking every element entry.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Included};

use super::DbError;

/// The visitor of [`Kv::scan`]: gets each entry, returns false to stop.
pub type Visit<'v> = dyn FnMut(&[u8], &[u8]) -> bool + 'v;

/// An ordered map of byte strings.
pub trait Kv {
    /// The value of `key`.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError>;
    /// Sets `key` (only called when [`Kv::writable`]).
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), DbError>;
    /// Sets `key` to a value the caller gives away (saves a copy where the map keeps it).
    fn put_owned(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), DbError> {
        self.put(key, &value)
    }
    /// Removes `key`.
    fn del(&mut self, key: &[u8]) -> Result<(), DbError>;
    /// Visits the entries in `[from, to)`, ascending, or descending when `rev`.
    fn scan(&mut self, from: &[u8], to: &[u8], rev: bool, f: &mut Visit<'_>)
    -> Result<(), DbError>;
    /// `None` if writes are allowed, else why not (a read-only version).
    fn read_only(&self) -> Option<String> {
        None
    }
    /// The command reads (`write` false) or changes the Redis key `key`.
    fn note(&mut self, _key: &[u8], _write: bool) {}
}

/// Largest total of keys and values a transaction may hold before `Commit`.
pub const MAX_TXN_BYTES: usize = 16 << 20;

/// A transaction's writes over a base map. Reads see the writes first; nothing reaches the
/// base until [`Overlay::apply`].
#[derive(Default)]
pub struct Overlay {
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: usize,
    /// The Redis keys the transaction read or wrote.
    pub keys: BTreeSet<Vec<u8>>,
}

impl Overlay {
    /// This overlay over `base`, as one map.
    pub fn over<'a>(&'a mut self, base: &'a mut dyn Kv) -> Layered<'a> {
        Layered { top: self, base }
    }

    /// Writes everything into `base` (notes each written key there, so watchers see it).
    pub fn apply(self, base: &mut dyn Kv) -> Result<(), DbError> {
        for k in &self.keys {
            base.note(k, true);
        }
        for (k, v) in self.writes {
            match v {
                Some(v) => base.put(&k, &v)?,
                None => base.del(&k)?,
            }
        }
        Ok(())
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// An [`Overlay`] seen over its base.
pub struct Layered<'a> {
    top: &'a mut Overlay,
    base: &'a mut dyn Kv,
}

impl Layered<'_> {
    fn record(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), DbError> {
        let add = key.len() + value.map_or(0, <[u8]>::len);
        if self.top.bytes + add > MAX_TXN_BYTES {
            return Err(DbError::Other(format!(
                "the transaction holds more than {} MiB of changes; commit it in parts",
                MAX_TXN_BYTES >> 20
            )));
        }
        self.top.bytes += add;
        self.top
            .writes
            .insert(key.to_vec(), value.map(<[u8]>::to_vec));
        Ok(())
    }
}

impl Kv for Layered<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        match self.top.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.record(key, Some(value))
    }

    fn del(&mut self, key: &[u8]) -> Result<(), DbError> {
        self.record(key, None)
    }

    fn scan(
        &mut self,
        from: &[u8],
        to: &[u8],
        rev: bool,
        f: &mut Visit<'_>,
    ) -> Result<(), DbError> {
        if from >= to {
            return Ok(());
        }
        // The base's entries first, into a buffer, then merged with the overlay's: a
        // transaction's scans are rare and small enough for that.
        let mut base: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        self.base.scan(from, to, rev, &mut |k, v| {
            base.push((k.to_vec(), v.to_vec()));
            true
        })?;
        let range = self
            .top
            .writes
            .range::<[u8], _>((Included(from), Excluded(to)));
        let mine: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = if rev {
            range.rev().collect()
        } else {
            range.collect()
        };
        merge(
            base.iter().map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
            mine.into_iter().map(|(k, v)| (k.as_slice(), v.as_deref())),
            rev,
            f,
        );
        Ok(())
    }

    fn read_only(&self) -> Option<String> {
        self.base.read_only()
    }

    fn note(&mut self, key: &[u8], _write: bool) {
        if !self.top.keys.contains(key) {
            self.top.keys.insert(key.to_vec());
        }
    }
}

/// Merges two ordered streams of entries, the second (`top`: `None` = deleted) winning on
/// equal keys, and feeds the live ones to `f` until it returns false.
pub fn merge<'x>(
    base: impl Iterator<Item = (&'x [u8], Option<&'x [u8]>)>,
    top: impl Iterator<Item = (&'x [u8], Option<&'x [u8]>)>,
    rev: bool,
    f: &mut Visit<'_>,
) {
    let mut a = base.peekable();
    let mut b = top.peekable();
    loop {
        let take_top = match (a.peek(), b.peek()) {
            (None, None) => return,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some((ka, _)), Some((kb, _))) => {
                if ka == kb {
                    a.next();
                    true
                } else {
                    (kb < ka) != rev
                }
            }
        };
        let (k, v) = if take_top { b.next() } else { a.next() }.unwrap_or((&[], None));
        if let Some(v) = v
            && !f(k, v)
        {
            return;
        }
    }
}

/// A map in memory: the engine's unit tests, and a scratch base.
#[derive(Default)]
pub struct MemKv {
    /// The entries.
    pub map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Kv for MemKv {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn del(&mut self, key: &[u8]) -> Result<(), DbError> {
        self.map.remove(key);
        Ok(())
    }

    fn scan(
        &mut self,
        from: &[u8],
        to: &[u8],
        rev: bool,
        f: &mut Visit<'_>,
    ) -> Result<(), DbError> {
        if from >= to {
            return Ok(());
        }
        let r = self.map.range::<[u8], _>((Included(from), Excluded(to)));
        if rev {
            for (k, v) in r.rev() {
                if !f(k, v) {
                    break;
                }
            }
        } else {
            for (k, v) in r {
                if !f(k, v) {
                    break;
                }
            }
        }
        Ok(())
    }
}
