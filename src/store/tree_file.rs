//! File contents inside a mutable tree: [`Tree::read`], and [`Tree::write`] /
//! [`Tree::truncate`] for `MFSetData` / `MFTruncate` and the like.
//!
//! UnixFS files are immutable DAGs, so an edit reads the whole file, changes the bytes in
//! memory and imports them again (kubo's MFS does the same per chunk; a whole re-import is
//! simpler and gives the CID a fresh `ipfs add` of the result would). That bounds the files
//! edited in place to [`MAX_EDIT_SIZE`] (64 MiB): the edit holds the file in memory once.
//! Bigger files are refused with a message saying so; add them anew instead.

use super::tree::{MAX_EDIT_SIZE, NodeKind, Tree, TreeError, join, parse_path};
use crate::ipfs::cid::{Cid, Version};
use crate::ipfs::exporter;
use crate::ipfs::importer::{ImportOptions, import_bytes};

impl Tree<'_> {
    /// The whole file at `path`, up to [`MAX_EDIT_SIZE`] bytes.
    fn read_file(&self, root: Cid, segs: &[String]) -> Result<Vec<u8>, TreeError> {
        let (cid, _) = self.resolve_segs(root, segs)?;
        let st = self.stat_at(&cid, segs)?;
        if st.kind != NodeKind::File {
            return Err(TreeError::NotAFile(join(segs)));
        }
        if st.size > MAX_EDIT_SIZE {
            return Err(TreeError::TooLarge {
                path: join(segs),
                size: st.size,
            });
        }
        let mut out = Vec::new();
        exporter::read_range(
            cid,
            0,
            MAX_EDIT_SIZE + 1,
            |c: &Cid| self.fetch(c, segs),
            |d| out.extend_from_slice(d),
        )?;
        Ok(out)
    }

    /// Reads up to `len` bytes of the file at `path` from `offset` (fewer at its end).
    pub fn read(&self, root: Cid, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, TreeError> {
        let segs = parse_path(path)?;
        let (cid, _) = self.resolve_segs(root, &segs)?;
        if self.stat_at(&cid, &segs)?.kind != NodeKind::File {
            return Err(TreeError::NotAFile(join(&segs)));
        }
        let mut out = Vec::new();
        exporter::read_range(
            cid,
            offset,
            offset.saturating_add(len),
            |c: &Cid| self.fetch(c, &segs),
            |d| out.extend_from_slice(d),
        )?;
        Ok(out)
    }

    /// Stores `bytes` as the new content of the file at `segs`, imported with `opts`.
    fn store_file(
        &self,
        root: Cid,
        segs: &[String],
        bytes: &[u8],
        opts: ImportOptions,
    ) -> Result<Cid, TreeError> {
        let imp = import_bytes(opts, bytes).map_err(TreeError::Options)?;
        self.blocks
            .put_many(imp.blocks.iter().map(|b| (&b.cid, b.data.as_slice())))?;
        self.put(root, &join(segs), imp.root, imp.dag_size, false, true)
    }

    /// Writes `bytes` at `offset` into the file at `path` (a hole before it reads as zeros),
    /// creating the file when `create` and it is absent. The file is re-imported with `opts`
    /// (use [`Tree::options_for`] to keep kubo's defaults for the root's CID version); refused
    /// past [`MAX_EDIT_SIZE`]. Returns the new root.
    pub fn write(
        &self,
        root: Cid,
        path: &str,
        offset: u64,
        bytes: &[u8],
        create: bool,
        opts: ImportOptions,
    ) -> Result<Cid, TreeError> {
        let segs = parse_path(path)?;
        if segs.is_empty() {
            return Err(TreeError::NotAFile("/".into()));
        }
        let end = offset.saturating_add(bytes.len() as u64);
        if end > MAX_EDIT_SIZE {
            return Err(TreeError::TooLarge {
                path: join(&segs),
                size: end,
            });
        }
        let mut data = match self.read_file(root, &segs) {
            Ok(d) => d,
            Err(TreeError::NotFound(_)) if create => Vec::new(),
            Err(e) => return Err(e),
        };
        // Both fit in usize: bounded by MAX_EDIT_SIZE above.
        let (off, end) = (offset as usize, end as usize);
        if data.len() < end {
            data.resize(end, 0);
        }
        data[off..end].copy_from_slice(bytes);
        self.store_file(root, &segs, &data, opts)
    }

    /// Cuts (or extends with zeros) the file at `path` to `len` bytes. Returns the new root.
    pub fn truncate(
        &self,
        root: Cid,
        path: &str,
        len: u64,
        opts: ImportOptions,
    ) -> Result<Cid, TreeError> {
        let segs = parse_path(path)?;
        if len > MAX_EDIT_SIZE {
            return Err(TreeError::TooLarge {
                path: join(&segs),
                size: len,
            });
        }
        let mut data = self.read_file(root, &segs)?;
        data.resize(len as usize, 0);
        self.store_file(root, &segs, &data, opts)
    }

    /// kubo's `ipfs add` defaults for a tree whose root has `root`'s CID version (CIDv1
    /// implies raw leaves).
    pub fn options_for(root: &Cid) -> ImportOptions {
        match root.version() {
            Version::V0 => ImportOptions::default(),
            Version::V1 => ImportOptions::v1(),
        }
    }
}
