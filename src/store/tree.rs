//! Mutable UnixFS trees over the block store: every change takes a root directory CID and
//! returns a new one.
//!
//! A tree is never edited in place. An operation walks from the root to the directory it
//! changes, edits that directory's entry list, and rebuilds every directory on the way back up
//! with [`dir::build`] (so directory CIDs stay kubo's, HAMT sharding included); the new blocks
//! are stored in one [`Blocks::put_many`] transaction and the new root CID is returned. The old
//! root stays valid: it is the caller's to keep (MFS in `mfs.rs`, a Mimei's `cur`) or drop.
//! Directories are rebuilt with the CID version of the root.
//!
//! Paths are `/`-separated inside the tree: a leading `/` is optional, a trailing `/` is
//! ignored, `/` alone (or empty) is the root; empty, `.` and `..` segments and NUL are refused
//! ([`parse_path`]). File contents are edited in `tree_file.rs` ([`Tree::write`],
//! [`Tree::truncate`]).
//!
//! Nothing here does I/O beyond the block store's own redb calls; each call is short and runs
//! on the caller's thread.

use core::fmt;

use super::StoreError;
use super::blocks::Blocks;
use crate::ipfs::cid::{Cid, Codec, Version};
use crate::ipfs::dagpb::PbNode;
use crate::ipfs::dir::{self, DirEntry, DirError};
use crate::ipfs::exporter::{self, ExportError};
use crate::ipfs::importer::ImportError;
use crate::ipfs::unixfs::{DataType, UnixFs};

/// Largest file [`Tree::write`] and [`Tree::truncate`] edit (they re-import it whole).
pub const MAX_EDIT_SIZE: u64 = 64 << 20;
/// Most entries one directory may have to be listed or changed here.
pub const MAX_ENTRIES: usize = 1 << 20;
/// Longest path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 4096;
/// Most segments in a path.
pub const MAX_DEPTH: usize = 64;

/// Why a tree operation failed. Each message names the path.
#[non_exhaustive]
#[derive(Debug)]
pub enum TreeError {
    /// The path breaks the rules of [`parse_path`].
    InvalidPath {
        /// The path as given (shortened).
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Nothing at this path.
    NotFound(String),
    /// A directory was needed (a parent, `ls` of ...) but this is not one.
    NotADirectory(String),
    /// A file was needed (write, truncate) but this is not one.
    NotAFile(String),
    /// Something already exists at this path.
    Exists(String),
    /// A directory was to be removed without `recursive`.
    IsADirectory(String),
    /// The root itself cannot be removed, moved or replaced.
    Root,
    /// A directory cannot be moved or copied into itself.
    IntoItself(String),
    /// A file edit would exceed [`MAX_EDIT_SIZE`].
    TooLarge {
        /// The file.
        path: String,
        /// The size it has or would have.
        size: u64,
    },
    /// The import options for a file edit are refused.
    Options(ImportError),
    /// A directory could not be built (an entry name dir::build refuses, ...).
    Dir(DirError),
    /// The DAG under the path cannot be read (a missing or bad block).
    Dag {
        /// The path being read.
        path: String,
        /// What the reader found.
        error: ExportError,
    },
    /// The store failed.
    Store(StoreError),
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPath { path, reason } => write!(f, "invalid path {path:?}: {reason}"),
            Self::NotFound(p) => write!(f, "{p}: no such file or directory"),
            Self::NotADirectory(p) => write!(f, "{p}: not a directory"),
            Self::NotAFile(p) => write!(f, "{p}: not a file"),
            Self::Exists(p) => write!(f, "{p}: already exists"),
            Self::IsADirectory(p) => {
                write!(f, "{p}: is a directory; remove it recursively (-r)")
            }
            Self::Root => f.write_str("the root directory cannot be removed, moved or replaced"),
            Self::IntoItself(p) => write!(f, "{p}: cannot move or copy a directory into itself"),
            Self::TooLarge { path, size } => write!(
                f,
                "{path}: {size} bytes; files are edited in place only up to {MAX_EDIT_SIZE} bytes (add a new file instead)"
            ),
            Self::Options(e) => write!(f, "{e}"),
            Self::Dir(e) => write!(f, "{e}"),
            Self::Dag { path, error } => write!(f, "{path}: {error}"),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TreeError {}

impl From<StoreError> for TreeError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<DirError> for TreeError {
    fn from(e: DirError) -> Self {
        Self::Dir(e)
    }
}

/// Splits a path into its segments (see the module doc for the rules).
pub fn parse_path(path: &str) -> Result<Vec<String>, TreeError> {
    let bad = |reason| TreeError::InvalidPath {
        path: crate::api::truncate(path, 200),
        reason,
    };
    if path.len() > MAX_PATH_LEN {
        return Err(bad("longer than 4096 bytes"));
    }
    let rel = path.strip_prefix('/').unwrap_or(path);
    let rel = rel.strip_suffix('/').unwrap_or(rel);
    if rel.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for seg in rel.split('/') {
        match seg {
            "" => return Err(bad("empty segment (//)")),
            "." | ".." => return Err(bad("`.` and `..` are not allowed")),
            s if s.contains('\0') => return Err(bad("contains NUL")),
            s => out.push(s.to_string()),
        }
    }
    if out.len() > MAX_DEPTH {
        return Err(bad("more than 64 segments"));
    }
    Ok(out)
}

/// Joins segments back into `/a/b` (`/` for the root), for messages.
pub fn join(segs: &[String]) -> String {
    if segs.is_empty() {
        return "/".into();
    }
    segs.iter().fold(String::new(), |mut s, x| {
        s.push('/');
        s.push_str(x);
        s
    })
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A UnixFS file or raw block.
    File,
    /// A directory, plain or HAMT-sharded.
    Directory,
    /// Anything else (symlink, metadata, a non-UnixFS node).
    Other,
}

impl NodeKind {
    /// `file`, `directory` or `other`, as `ipfs files stat` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Directory => "directory",
            Self::Other => "other",
        }
    }
}

/// What [`Tree::stat`] finds (the fields of `ipfs files stat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The node's CID.
    pub cid: Cid,
    /// What it is.
    pub kind: NodeKind,
    /// A file's length in bytes (0 for a directory).
    pub size: u64,
    /// The node's block plus the `Tsize` of every link: the DAG's size.
    pub cumulative_size: u64,
    /// Number of links of the node's block.
    pub child_blocks: u64,
}

/// One entry of a listing, with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name in its directory.
    pub name: String,
    /// Its CID.
    pub cid: Cid,
    /// Its cumulative DAG size, as the parent's link says.
    pub tsize: u64,
    /// File, directory or other.
    pub kind: NodeKind,
    /// A file's length (0 for others).
    pub size: u64,
}

/// Tree operations over one block store (see the module doc).
#[derive(Clone, Copy)]
pub struct Tree<'s> {
    pub(super) blocks: Blocks<'s>,
}

impl<'s> Tree<'s> {
    /// Tree operations over `blocks`.
    pub fn new(blocks: Blocks<'s>) -> Self {
        Tree { blocks }
    }

    pub(super) fn fetch(&self, cid: &Cid, path: &[String]) -> Result<Vec<u8>, TreeError> {
        self.blocks.get(cid)?.ok_or_else(|| TreeError::Dag {
            path: join(path),
            error: ExportError::Missing(*cid),
        })
    }

    fn dag(path: &[String]) -> impl Fn(ExportError) -> TreeError + '_ {
        move |error| TreeError::Dag {
            path: join(path),
            error,
        }
    }

    /// What the node `cid` is, from its own block.
    pub fn stat_cid(&self, cid: &Cid) -> Result<Stat, TreeError> {
        self.stat_at(cid, &[])
    }

    pub(super) fn stat_at(&self, cid: &Cid, path: &[String]) -> Result<Stat, TreeError> {
        let block = self.fetch(cid, path)?;
        if cid.codec() == Codec::Raw {
            let n = block.len() as u64;
            return Ok(Stat {
                cid: *cid,
                kind: NodeKind::File,
                size: n,
                cumulative_size: n,
                child_blocks: 0,
            });
        }
        cid.verify(&block)
            .map_err(|e| Self::dag(path)(ExportError::Cid(e)))?;
        let node = PbNode::decode(&block).map_err(|e| Self::dag(path)(ExportError::Pb(e)))?;
        let fs = node
            .data
            .as_deref()
            .map(UnixFs::decode)
            .transpose()
            .map_err(|e| Self::dag(path)(ExportError::Pb(e)))?;
        let (kind, size) = match fs {
            Some(fs) => match fs.kind {
                DataType::File | DataType::Raw => (
                    NodeKind::File,
                    fs.filesize
                        .unwrap_or(fs.data.as_ref().map_or(0, |d| d.len() as u64)),
                ),
                DataType::Directory | DataType::HamtShard => (NodeKind::Directory, 0),
                _ => (NodeKind::Other, 0),
            },
            None => (NodeKind::Other, 0),
        };
        let links: u64 = node.links.iter().map(|l| l.tsize.unwrap_or(0)).sum();
        Ok(Stat {
            cid: *cid,
            kind,
            size,
            cumulative_size: block.len() as u64 + links,
            child_blocks: node.links.len() as u64,
        })
    }

    /// The entries of the directory `cid` (`path` names it in errors).
    fn entries(&self, cid: &Cid, path: &[String]) -> Result<Vec<DirEntry>, TreeError> {
        if cid.codec() == Codec::Raw {
            // Raw bytes may parse as dag-pb by chance; a raw block is always a file.
            return Err(TreeError::NotADirectory(join(path)));
        }
        match exporter::list_all(*cid, MAX_ENTRIES, |c: &Cid| -> Result<_, TreeError> {
            self.fetch(c, path)
        }) {
            Err(TreeError::Dag {
                error: ExportError::NotADirectory | ExportError::NotUnixFs,
                ..
            }) => Err(TreeError::NotADirectory(join(path))),
            other => other,
        }
    }

    /// The CID and `Tsize` at `path` under `root`.
    pub fn resolve(&self, root: Cid, path: &str) -> Result<(Cid, u64), TreeError> {
        let segs = parse_path(path)?;
        self.resolve_segs(root, &segs)
    }

    pub(super) fn resolve_segs(&self, root: Cid, segs: &[String]) -> Result<(Cid, u64), TreeError> {
        let mut cur = (root, 0);
        if segs.is_empty() {
            cur.1 = self.stat_at(&root, segs)?.cumulative_size;
        }
        for i in 0..segs.len() {
            let e = self
                .child(&cur.0, &segs[..i], &segs[i])?
                .ok_or_else(|| TreeError::NotFound(join(&segs[..=i])))?;
            cur = (e.cid, e.tsize);
        }
        Ok(cur)
    }

    /// The entry `name` of the directory `cid` (`path` names it in errors): one step of the
    /// walk, through [`exporter::find_in`], the lookup the gateway takes too. Blocks are
    /// verified against their CIDs, and errors are worded, as a full listing
    /// ([`Self::entries`]) words them.
    fn child(&self, cid: &Cid, path: &[String], name: &str) -> Result<Option<DirEntry>, TreeError> {
        if cid.codec() == Codec::Raw {
            // Raw bytes may parse as dag-pb by chance; a raw block is always a file.
            return Err(TreeError::NotADirectory(join(path)));
        }
        let fetch = |c: &Cid| -> Result<Vec<u8>, TreeError> {
            let block = self.fetch(c, path)?;
            c.verify(&block).map_err(ExportError::from)?;
            Ok(block)
        };
        let found = fetch(cid)
            .and_then(|block| Ok(exporter::list_directory(&block)?))
            .and_then(|listing| {
                exporter::find_in(listing, name, MAX_ENTRIES, fetch, || {
                    ExportError::TooManyEntries(MAX_ENTRIES).into()
                })
            });
        match found {
            Err(TreeError::Dag {
                error: ExportError::NotADirectory | ExportError::NotUnixFs,
                ..
            }) => Err(TreeError::NotADirectory(join(path))),
            other => other,
        }
    }

    /// `files stat`: what is at `path`.
    pub fn stat(&self, root: Cid, path: &str) -> Result<Stat, TreeError> {
        let segs = parse_path(path)?;
        let (cid, _) = self.resolve_segs(root, &segs)?;
        self.stat_at(&cid, &segs)
    }

    /// `files ls`: the entries of the directory at `path` (a file lists as itself), in name
    /// order, each with its kind and size (one block read per entry).
    pub fn ls(&self, root: Cid, path: &str) -> Result<Vec<Entry>, TreeError> {
        let segs = parse_path(path)?;
        let (cid, tsize) = self.resolve_segs(root, &segs)?;
        let st = self.stat_at(&cid, &segs)?;
        if st.kind != NodeKind::Directory {
            return Ok(vec![Entry {
                name: segs.last().cloned().unwrap_or_default(),
                cid,
                tsize,
                kind: st.kind,
                size: st.size,
            }]);
        }
        let mut entries = self.entries(&cid, &segs)?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let mut p = segs.clone();
            p.push(e.name.clone());
            let st = self.stat_at(&e.cid, &p)?;
            out.push(Entry {
                name: e.name,
                cid: e.cid,
                tsize: e.tsize,
                kind: st.kind,
                size: st.size,
            });
        }
        Ok(out)
    }

    /// Edits the entries of the directory `dir` (creating missing directories on the way when
    /// `parents`) with `edit`, rebuilds it and its ancestors, stores the new blocks and returns
    /// the new root.
    fn update(
        &self,
        root: Cid,
        dir: &[String],
        parents: bool,
        edit: impl FnOnce(&mut Vec<DirEntry>) -> Result<(), TreeError>,
    ) -> Result<Cid, TreeError> {
        let version = root.version();
        let mut stack = vec![self.entries(&root, &[])?];
        for i in 0..dir.len() {
            let found = stack[i].iter().find(|e| e.name == dir[i]).map(|e| e.cid);
            let next = match found {
                Some(cid) => self.entries(&cid, &dir[..=i])?,
                None if parents => Vec::new(),
                None => return Err(TreeError::NotFound(join(&dir[..=i]))),
            };
            stack.push(next);
        }
        if let Some(last) = stack.last_mut() {
            edit(last)?;
        }
        let mut blocks = Vec::new();
        let mut child: Option<DirEntry> = None;
        while let Some(mut entries) = stack.pop() {
            if let Some(c) = child.take() {
                entries.retain(|e| e.name != c.name);
                entries.push(c);
            }
            let built = dir::build(entries, version)?;
            let (cid, tsize) = (built.cid, built.dag_size);
            blocks.extend(built.blocks);
            let depth = stack.len();
            if depth == 0 {
                self.blocks
                    .put_many(blocks.iter().map(|b| (&b.cid, b.data.as_slice())))?;
                return Ok(cid);
            }
            child = Some(DirEntry {
                name: dir[depth - 1].clone(),
                cid,
                tsize,
            });
        }
        Err(TreeError::Root)
    }

    /// The parent segments and the last name of a path that must not be the root.
    fn split(path: &str) -> Result<(Vec<String>, String), TreeError> {
        let mut segs = parse_path(path)?;
        let name = segs.pop().ok_or(TreeError::Root)?;
        Ok((segs, name))
    }

    /// `files mkdir [-p]`: an empty directory at `path`. With `parents`, missing parents are
    /// made and an existing directory is no error.
    pub fn mkdir(&self, root: Cid, path: &str, parents: bool) -> Result<Cid, TreeError> {
        let (dir, name) = match Self::split(path) {
            Err(TreeError::Root) if parents => return Ok(root),
            Err(TreeError::Root) => return Err(TreeError::Exists("/".into())),
            r => r?,
        };
        let empty = dir::build(Vec::new(), root.version())?;
        self.blocks
            .put_many(empty.blocks.iter().map(|b| (&b.cid, b.data.as_slice())))?;
        let mut full = dir.clone();
        full.push(name.clone());
        if parents && let Ok((cid, _)) = self.resolve_segs(root, &full) {
            return match self.stat_at(&cid, &full)?.kind {
                NodeKind::Directory => Ok(root),
                _ => Err(TreeError::Exists(join(&full))),
            };
        }
        self.update(root, &dir, parents, |entries| {
            if entries.iter().any(|e| e.name == name) {
                return Err(TreeError::Exists(join(&full)));
            }
            entries.push(empty.entry(name.clone()));
            Ok(())
        })
    }

    /// Links an existing DAG (`cid`, cumulative size `tsize`) at `path`; refuses an existing
    /// entry unless `replace`. With `parents`, missing parents are made.
    pub fn put(
        &self,
        root: Cid,
        path: &str,
        cid: Cid,
        tsize: u64,
        parents: bool,
        replace: bool,
    ) -> Result<Cid, TreeError> {
        let (dir, name) = Self::split(path)?;
        self.update(root, &dir, parents, |entries| {
            if let Some(i) = entries.iter().position(|e| e.name == name) {
                if !replace {
                    let mut p = dir.clone();
                    p.push(name.clone());
                    return Err(TreeError::Exists(join(&p)));
                }
                entries.remove(i);
            }
            entries.push(DirEntry { name, cid, tsize });
            Ok(())
        })
    }

    /// `files rm [-r]`: removes the entry at `path`; a directory only when `recursive`.
    pub fn rm(&self, root: Cid, path: &str, recursive: bool) -> Result<Cid, TreeError> {
        let (dir, name) = Self::split(path)?;
        let mut full = dir.clone();
        full.push(name.clone());
        let (cid, _) = self.resolve_segs(root, &full)?;
        if !recursive && self.stat_at(&cid, &full)?.kind == NodeKind::Directory {
            return Err(TreeError::IsADirectory(join(&full)));
        }
        self.update(root, &dir, false, |entries| {
            entries.retain(|e| e.name != name);
            Ok(())
        })
    }

    /// `files mv`: moves `from` to `to`; when `to` is an existing directory, into it under
    /// the same name (as kubo does).
    pub fn mv(&self, root: Cid, from: &str, to: &str) -> Result<Cid, TreeError> {
        let src = parse_path(from)?;
        let mut dst = parse_path(to)?;
        if src.is_empty() {
            return Err(TreeError::Root);
        }
        let (cid, tsize) = self.resolve_segs(root, &src)?;
        if let Ok((d, _)) = self.resolve_segs(root, &dst)
            && self.stat_at(&d, &dst)?.kind == NodeKind::Directory
        {
            dst.push(src[src.len() - 1].clone());
        }
        if dst.is_empty() {
            return Err(TreeError::Root);
        }
        if dst == src {
            return Ok(root);
        }
        if dst.starts_with(&src) {
            return Err(TreeError::IntoItself(join(&dst)));
        }
        if self.resolve_segs(root, &dst).is_ok() {
            return Err(TreeError::Exists(join(&dst)));
        }
        let removed = self.rm(root, from, true)?;
        self.put(removed, &join(&dst), cid, tsize, false, false)
    }

    /// `files cp`: links what is at `from` (a path of this tree) at `to`, which must not
    /// exist. Copying is free: both names share the same blocks.
    pub fn cp(&self, root: Cid, from: &str, to: &str) -> Result<Cid, TreeError> {
        let (cid, tsize) = self.resolve(root, from)?;
        self.put(root, to, cid, tsize, false, false)
    }

    /// `files cp /ipfs/<cid> to`: links the DAG `cid` (its root block must be stored).
    pub fn cp_cid(&self, root: Cid, cid: Cid, to: &str) -> Result<Cid, TreeError> {
        let st = self.stat_at(&cid, &[])?;
        self.put(root, to, cid, st.cumulative_size, false, false)
    }

    /// The empty directory of `version`, stored (the start of every tree).
    pub fn empty(&self, version: Version) -> Result<Cid, TreeError> {
        let d = dir::build(Vec::new(), version)?;
        self.blocks
            .put_many(d.blocks.iter().map(|b| (&b.cid, b.data.as_slice())))?;
        Ok(d.cid)
    }
}

impl From<ExportError> for TreeError {
    fn from(error: ExportError) -> Self {
        TreeError::Dag {
            path: String::new(),
            error,
        }
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
