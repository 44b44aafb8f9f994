//! Pins: the roots [`Blocks::gc`] keeps. A direct pin keeps one block; a recursive pin keeps
//! a block and everything its dag-pb links reach.
//!
//! Pins live in [`PINS`], keyed by the CID as pinned (so `pin ls` shows what the user gave),
//! with the kind as one byte. Pinning the same content under a v0 and a v1 CID makes two pins
//! of one DAG. A recursive pin supersedes a direct one of the same CID; there is no
//! "indirect" kind stored: what a recursive pin reaches is found by walking it.
//!
//! An importer pins the root last, in its own transaction, after all blocks are committed:
//! until then nothing of the add is pinned, and a failed add leaves only garbage for gc.

use redb::{ReadOnlyTable, ReadableDatabase, ReadableTable};

use super::blocks::{Blocks, block_key, read_record};
use super::gc::{DagStats, Walker};
use super::{BLOCK_PIECES, BLOCKS, PINS, StoreError};
use crate::ipfs::Cid;
use crate::ipfs::multihash::IDENTITY;

/// How a CID is pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PinKind {
    /// This block only.
    Direct,
    /// This block and every block its links reach.
    Recursive,
}

impl PinKind {
    fn to_byte(self) -> u8 {
        match self {
            PinKind::Direct => 1,
            PinKind::Recursive => 2,
        }
    }

    fn from_byte(b: u8) -> Option<PinKind> {
        match b {
            1 => Some(PinKind::Direct),
            2 => Some(PinKind::Recursive),
            _ => None,
        }
    }
}

/// What [`Blocks::pin_add`] did and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinAdded {
    /// The pin's kind now (recursive if it already was, whatever was asked).
    pub kind: PinKind,
    /// The blocks the pin keeps that are stored, with their bytes, and those it names but
    /// the store lacks or cannot read. A pin with missing blocks is recorded all the same
    /// (they may be fetched later), but gc sweeps nothing while any are missing.
    pub dag: DagStats,
}

impl Blocks<'_> {
    /// Pins `cid`, directly or recursively. The root must be stored
    /// ([`StoreError::BlockMissing`] if not); a recursive pin walks the DAG and reports what
    /// it reaches and what is missing below the root.
    pub fn pin_add(&self, cid: &Cid, recursive: bool) -> Result<PinAdded, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let key = cid.to_bytes();
        let (kind, dag) = {
            let mut pins = tx.open_table(PINS).map_err(|e| self.err(e))?;
            let index = tx.open_table(BLOCKS).map_err(|e| self.err(e))?;
            let pieces = tx.open_table(BLOCK_PIECES).map_err(|e| self.err(e))?;
            let root = if cid.hash().code() == IDENTITY {
                None
            } else {
                Some(
                    read_record(&index, &block_key(cid), self.path)?
                        .ok_or(StoreError::BlockMissing { cid: *cid })?,
                )
            };
            let old = match pins.get(key.as_slice()).map_err(|e| self.err(e))? {
                Some(g) => PinKind::from_byte(g.value()),
                None => None,
            };
            let asked = if recursive {
                PinKind::Recursive
            } else {
                PinKind::Direct
            };
            let kind = old.map_or(asked, |o| o.max(asked));
            let dag = match kind {
                PinKind::Recursive => {
                    let mut walk = Walker::new(&tx, super::gc::WALK_STACK, self.path)?;
                    walk.walk(cid, &index, &pieces)?;
                    walk.finish()
                }
                PinKind::Direct => DagStats {
                    blocks: u64::from(root.is_some()),
                    bytes: root.map_or(0, |r| r.size),
                    ..DagStats::default()
                },
            };
            pins.insert(key.as_slice(), kind.to_byte())
                .map_err(|e| self.err(e))?;
            (kind, dag)
        };
        Walker::drop_tables(&tx, self.path)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(PinAdded { kind, dag })
    }

    /// Removes the pin of `cid` (spelled as it was pinned); returns the kind it had, `None`
    /// if it was not pinned. The blocks stay until [`Blocks::gc`].
    pub fn pin_rm(&self, cid: &Cid) -> Result<Option<PinKind>, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let old = {
            let mut pins = tx.open_table(PINS).map_err(|e| self.err(e))?;
            let old = pins
                .remove(cid.to_bytes().as_slice())
                .map_err(|e| self.err(e))?;
            old.map(|g| g.value())
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(old.and_then(PinKind::from_byte))
    }

    /// How `cid` itself is pinned, if it is (blocks kept only as part of another pin's DAG
    /// answer `None`).
    pub fn pin_get(&self, cid: &Cid) -> Result<Option<PinKind>, StoreError> {
        let Some(pins) = self.open_pins()? else {
            return Ok(None);
        };
        let g = pins
            .get(cid.to_bytes().as_slice())
            .map_err(|e| self.err(e))?;
        match g.map(|g| g.value()) {
            None => Ok(None),
            Some(b) => PinKind::from_byte(b)
                .map(Some)
                .ok_or_else(|| self.damaged_pins(format!("pin of {cid} has unknown kind {b}"))),
        }
    }

    /// Every pin, in CID byte order.
    pub fn pins(&self) -> Result<Vec<(Cid, PinKind)>, StoreError> {
        let Some(pins) = self.open_pins()? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in pins.iter().map_err(|e| self.err(e))? {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            out.push(self.decode_pin(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// The pins table in a fresh read transaction; `None` before the first pin.
    fn open_pins(&self) -> Result<Option<ReadOnlyTable<&'static [u8], u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        match tx.open_table(PINS) {
            Ok(t) => Ok(Some(t)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Checks one entry of the pins table.
    pub(crate) fn decode_pin(&self, key: &[u8], kind: u8) -> Result<(Cid, PinKind), StoreError> {
        let cid = Cid::from_bytes(key)
            .map_err(|e| self.damaged_pins(format!("a pin key is not a CID ({e})")))?;
        let kind = PinKind::from_byte(kind)
            .ok_or_else(|| self.damaged_pins(format!("pin of {cid} has unknown kind {kind}")))?;
        Ok((cid, kind))
    }

    fn damaged_pins(&self, detail: String) -> StoreError {
        StoreError::Damaged {
            path: self.path.to_path_buf(),
            detail,
        }
    }
}

#[cfg(test)]
#[path = "pins_tests.rs"]
mod tests;
