//! The write-ahead log of `cur` (`db/db_cur.wal` beside the redb file): how acknowledged
//! database writes reach the disk between checkpoints (docs/db.md, "Durability").
//!
//! A group commit logs every memtable entry changed since the last one, once, with its value
//! at that moment, seals the records into one **batch** and appends it to the file with one
//! `fdatasync`. A **checkpoint** writes the memtable into redb (one durable transaction) and
//! then empties the file. On start the node replays the file into the memtable and
//! checkpoints. An append and an fsync cost far less than a redb commit (no B-tree pages to
//! copy and write, less flash wear), and keys written many times between checkpoints reach
//! redb once.
//!
//! Batch: `W`, payload length (u32 LE), payload, the first 8 bytes of BLAKE3(payload). Payload:
//! records, each Mimei ID (20 bytes), op (1 put, 0 delete), key length (u32 LE), key, and for a
//! put value length (u32 LE) and value. A batch cut short by a crash fails its check and it and
//! everything after it are dropped: nothing in it was acknowledged in full durability mode,
//! and in group mode it is the last half second the mode allows to lose.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest batch payload read back (the memtable is flushed long before).
pub const MAX_BATCH: usize = 256 << 20;

/// One logged write.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The Mimei.
    pub mid: [u8; 20],
    /// The engine key.
    pub key: &'a [u8],
    /// The value; `None` for a delete.
    pub value: Option<&'a [u8]>,
}

/// Appends one record to `buf`.
pub fn push(buf: &mut Vec<u8>, mid: &[u8; 20], key: &[u8], value: Option<&[u8]>) {
    buf.extend_from_slice(mid);
    buf.push(value.is_some() as u8);
    buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
    buf.extend_from_slice(key);
    if let Some(v) = value {
        buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
        buf.extend_from_slice(v);
    }
}

/// Seals `payload` (records) into a batch.
pub fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 13);
    out.push(b'W');
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&blake3::hash(payload).as_bytes()[..8]);
    out
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes(s.try_into().ok()?) as usize)
}

/// The records of the whole batches at the front of `file`, and how many bytes they span;
/// stops at the first batch that is cut short, damaged or malformed.
pub fn parse(file: &[u8]) -> (Vec<Record<'_>>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let Some(records) = batch(file, at) else {
            break;
        };
        at += 13 + u32_at(file, at + 1).unwrap_or(0);
        out.extend(records);
    }
    (out, at)
}

fn batch(file: &[u8], at: usize) -> Option<Vec<Record<'_>>> {
    if file.get(at) != Some(&b'W') {
        return None;
    }
    let len = u32_at(file, at + 1)?;
    if len > MAX_BATCH {
        return None;
    }
    let payload = file.get(at + 5..at + 5 + len)?;
    let check = file.get(at + 5 + len..at + 13 + len)?;
    if &blake3::hash(payload).as_bytes()[..8] != check {
        return None;
    }
    let mut records = Vec::new();
    let mut p = 0;
    while p < payload.len() {
        let mid: [u8; 20] = payload.get(p..p + 20)?.try_into().ok()?;
        let op = *payload.get(p + 20)?;
        let klen = u32_at(payload, p + 21)?;
        let key = payload.get(p + 25..p + 25 + klen)?;
        p += 25 + klen;
        let value = match op {
            0 => None,
            1 => {
                let vlen = u32_at(payload, p)?;
                let v = payload.get(p + 4..p + 4 + vlen)?;
                p += 4 + vlen;
                Some(v)
            }
            _ => return None,
        };
        records.push(Record { mid, key, value });
    }
    Some(records)
}

/// The log file and the records not yet in it.
pub struct Wal {
    file: File,
    path: PathBuf,
    pending: Vec<u8>,
}

impl Wal {
    /// Opens (or makes) the log at `path`; returns it and the bytes already in it.
    pub fn open(path: &Path) -> std::io::Result<(Wal, Vec<u8>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut old = Vec::new();
        file.read_to_end(&mut old)?;
        Ok((
            Wal {
                file,
                path: path.to_path_buf(),
                pending: Vec::new(),
            },
            old,
        ))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs a write (in memory until [`Wal::sync`]).
    pub fn log(&mut self, mid: &[u8; 20], key: &[u8], value: Option<&[u8]>) {
        push(&mut self.pending, mid, key, value);
    }

    /// Drops records logged since the last [`Wal::sync`] (a failed sync: they are logged
    /// again, with their newest values, at the next).
    pub fn discard(&mut self) {
        self.pending.clear();
    }

    /// Appends the pending records as one batch and waits for the disk. On failure the
    /// file is cut back to where it was and the records stay pending.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let end = self.file.seek(SeekFrom::End(0))?;
        let batch = seal(&self.pending);
        let r = self
            .file
            .write_all(&batch)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = r {
            let _ = self.file.set_len(end);
            return Err(e);
        }
        self.pending.clear();
        Ok(())
    }

    /// Empties the file (after a checkpoint put everything in it into redb), keeping
    /// what is still pending.
    pub fn reset(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.sync_data()
    }

    /// Cuts the file to its first `len` bytes (a damaged tail found on replay).
    pub fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_a_torn_tail_is_dropped() {
        let mut p = Vec::new();
        push(&mut p, &[1; 20], b"mk", Some(b"v"));
        push(&mut p, &[2; 20], b"ek", None);
        let mut file = seal(&p);
        let first = file.len();
        let mut q = Vec::new();
        push(&mut q, &[3; 20], b"x", Some(b""));
        file.extend_from_slice(&seal(&q));
        let (recs, len) = parse(&file);
        assert_eq!(len, file.len());
        assert_eq!(recs.len(), 3);
        assert_eq!(
            recs[0],
            Record {
                mid: [1; 20],
                key: b"mk",
                value: Some(b"v")
            }
        );
        assert_eq!(recs[1].value, None);
        assert_eq!(recs[2].value, Some(&b""[..]));
        // Every cut inside the second batch keeps exactly the first.
        for cut in first..file.len() {
            let (recs, len) = parse(&file[..cut]);
            assert_eq!((recs.len(), len), (2, first), "cut at {cut}");
        }
        // A flipped byte in the second batch drops it.
        let mut bad = file.clone();
        bad[first + 7] ^= 1;
        assert_eq!(parse(&bad).1, first);
        // Garbage never panics.
        for n in 0..64 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            let _ = parse(&junk);
        }
    }
}
