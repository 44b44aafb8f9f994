//! The file handles (`fsid`) of the `MF*` functions, in one bounded table per node: a path in
//! a Mimei's tree (`MFOpenByPath`), a read-only IPFS DAG (an MFS path or `/ipfs/` path,
//! `MFOpenMacFile`, `MMOpenUrl`) and temporary files (`MFOpenTempFile`).
//!
//! **Temporary files** live in memory, so they are bounded three ways: [`MAX_TEMP_FILE`]
//! bytes each, [`MAX_TEMP_PER_SESSION`] per session, and [`MAX_TEMP_TOTAL`] bytes for the
//! whole node. Their bytes are reachable only through their fsid (120 random bits) and only
//! while the session that opened them lives: a handle whose session ended is refused and
//! dropped, and every open sweeps the handles of ended sessions, so a logged-out session's
//! memory comes back at the next open (or when a bound is reached) at the latest.
//!
//! The functions using the table are in `fns_mimei_fs.rs`; the Mimei handles (`mmsid`) are
//! `fns_mimei`'s.

use std::collections::HashMap;

use super::ApiError;
use crate::ipfs::cid::Cid;
use crate::mimei::MimeiId;

/// Most file handles open on the node at once.
pub const MAX_MF_HANDLES: usize = 4096;
/// Largest temporary file, in bytes.
pub const MAX_TEMP_FILE: usize = 16 << 20;
/// Most temporary files one session holds at once.
pub const MAX_TEMP_PER_SESSION: usize = 8;
/// Most bytes all temporary files of the node hold together.
pub const MAX_TEMP_TOTAL: usize = 64 << 20;

/// What a file handle opens.
#[derive(Clone, Debug)]
pub enum MfKind {
    /// A path in a Mimei's tree.
    Tree {
        /// The Mimei.
        mid: MimeiId,
        /// `None` = `cur`; `Some(n)` = version n, read-only.
        version: Option<u64>,
        /// The path's segments; empty for the root.
        path: Vec<String>,
        /// Opened with a writing flag.
        write: bool,
    },
    /// A DAG resolved when it was opened, read-only.
    Dag {
        /// Its CID.
        cid: Cid,
        /// The last name of the path it was opened by ("" for a bare CID).
        name: String,
        /// The Mimei it was opened through (`MFOpenMacFile`): its blocks pass the block
        /// checks of reads (`ops::blocks::BlockAccess::within`).
        within: Option<crate::mimei::MimeiId>,
    },
    /// A temporary file in memory.
    Temp {
        /// Its bytes.
        data: Vec<u8>,
        /// Unix seconds of the last change.
        modified: u64,
    },
}

/// One open file handle.
#[derive(Clone, Debug)]
pub struct MfHandle {
    /// The session it was opened by; it dies with it.
    pub sid: String,
    /// What it opens.
    pub kind: MfKind,
}

/// The node's file handles.
#[derive(Default)]
pub struct MfHandles {
    map: HashMap<String, MfHandle>,
    /// Bytes held by all temporary files (kept equal to the sum of their lengths).
    temp_bytes: usize,
}

fn temp_len(h: &MfHandle) -> usize {
    match &h.kind {
        MfKind::Temp { data, .. } => data.len(),
        _ => 0,
    }
}

impl MfHandles {
    /// The handle `id`.
    pub fn get(&self, id: &str) -> Option<&MfHandle> {
        self.map.get(id)
    }

    /// How many handles are open.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes held by temporary files.
    pub fn temp_bytes(&self) -> usize {
        self.temp_bytes
    }

    /// Closes `id`; false if it was not open.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.map.remove(id) {
            Some(h) => {
                self.temp_bytes -= temp_len(&h);
                true
            }
            None => false,
        }
    }

    /// Drops every handle whose session `live` says has ended.
    pub fn sweep(&mut self, mut live: impl FnMut(&str) -> bool) {
        let mut freed = 0;
        self.map.retain(|_, h| {
            let keep = live(&h.sid);
            if !keep {
                freed += temp_len(h);
            }
            keep
        });
        self.temp_bytes -= freed;
    }

    /// Adds a handle under a fresh id after sweeping ended sessions; refuses past the bounds.
    pub fn insert(
        &mut self,
        id: String,
        h: MfHandle,
        live: impl FnMut(&str) -> bool,
    ) -> Result<String, ApiError> {
        self.sweep(live);
        if self.map.len() >= MAX_MF_HANDLES {
            return Err(ApiError::Busy(format!(
                "{MAX_MF_HANDLES} files are open on this node; close some with MMClose(fsid)"
            )));
        }
        if matches!(h.kind, MfKind::Temp { .. }) {
            let mine = self
                .map
                .values()
                .filter(|o| o.sid == h.sid && matches!(o.kind, MfKind::Temp { .. }))
                .count();
            if mine >= MAX_TEMP_PER_SESSION {
                return Err(ApiError::Busy(format!(
                    "this session holds {MAX_TEMP_PER_SESSION} temporary files already; close \
                     one with MMClose(fsid) first"
                )));
            }
        }
        self.temp_bytes += temp_len(&h);
        self.map.insert(id.clone(), h);
        Ok(id)
    }

    /// Runs `f` on the bytes of the temporary file `id` (`None` if `id` is not one) and keeps
    /// the byte count and bounds: `f` may grow the file only up to [`MAX_TEMP_FILE`] and the
    /// node's [`MAX_TEMP_TOTAL`], which the caller checks with [`MfHandles::room`] first.
    pub fn with_temp<R>(
        &mut self,
        id: &str,
        now: u64,
        f: impl FnOnce(&mut Vec<u8>) -> R,
    ) -> Option<R> {
        let h = self.map.get_mut(id)?;
        let MfKind::Temp { data, modified } = &mut h.kind else {
            return None;
        };
        let before = data.len();
        let r = f(data);
        if data.len() != before {
            *modified = now;
        }
        self.temp_bytes = self.temp_bytes - before + data.len();
        Some(r)
    }

    /// Whether the temporary file `id`, now `old` bytes long, may become `new` bytes long;
    /// an error that says which bound it would pass if not.
    pub fn room(&self, old: usize, new: usize) -> Result<(), ApiError> {
        if new > MAX_TEMP_FILE {
            return Err(ApiError::Busy(format!(
                "a temporary file holds at most {MAX_TEMP_FILE} bytes; this write would make it \
                 {new}"
            )));
        }
        if new > old && self.temp_bytes + (new - old) > MAX_TEMP_TOTAL {
            return Err(ApiError::Busy(format!(
                "the node's temporary files are full ({MAX_TEMP_TOTAL} bytes); close some with \
                 MMClose(fsid) or try again later"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(sid: &str, n: usize) -> MfHandle {
        MfHandle {
            sid: sid.into(),
            kind: MfKind::Temp {
                data: vec![7; n],
                modified: 0,
            },
        }
    }

    #[test]
    fn temp_files_are_counted_per_session_and_in_bytes() {
        let mut t = MfHandles::default();
        for i in 0..MAX_TEMP_PER_SESSION {
            t.insert(format!("a{i}"), temp("a", 10), |_| true).unwrap();
        }
        let e = t.insert("a9".into(), temp("a", 0), |_| true).unwrap_err();
        assert!(e.to_string().contains("temporary files already"), "{e}");
        t.insert("b0".into(), temp("b", 5), |_| true).unwrap();
        assert_eq!(t.temp_bytes(), MAX_TEMP_PER_SESSION * 10 + 5);

        t.with_temp("b0", 9, |d| d.extend_from_slice(b"abc"))
            .unwrap();
        assert_eq!(t.temp_bytes(), MAX_TEMP_PER_SESSION * 10 + 8);
        assert!(t.remove("a0"));
        assert!(!t.remove("a0"));
        assert_eq!(t.temp_bytes(), (MAX_TEMP_PER_SESSION - 1) * 10 + 8);

        // Session a ends: its files go at the next open, and their bytes with them.
        t.insert("b1".into(), temp("b", 1), |s| s != "a").unwrap();
        assert_eq!((t.len(), t.temp_bytes()), (2, 9));
    }

    #[test]
    fn room_keeps_the_file_and_node_bounds() {
        let mut t = MfHandles::default();
        t.insert("x".into(), temp("a", 0), |_| true).unwrap();
        assert!(t.room(0, MAX_TEMP_FILE).is_ok());
        assert!(t.room(0, MAX_TEMP_FILE + 1).is_err());
        t.temp_bytes = MAX_TEMP_TOTAL - 1;
        assert!(t.room(0, 1).is_ok());
        assert!(t.room(0, 2).unwrap_err().to_string().contains("full"));
        assert!(t.room(5, 3).is_ok(), "shrinking is always allowed");
        assert!(t.with_temp("nope", 0, |_| ()).is_none());
    }
}
