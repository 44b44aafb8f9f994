//! The `MF*` functions of the Mimei API, Leither's file functions on handles (`fsid`): open
//! a path of a Mimei (`MFOpenByPath`), a stored file (`MFOpenMacFile`), a temporary file
//! (`MFOpenTempFile`), then read, write, stat and list through the handle, and turn a
//! temporary file into an IPFS file, a Mac file or an MFS entry (`MFTemp2*`). `MFSetCid` is
//! here too. A child module of `fns_mimei`, whose Mimei handles and checks it uses: an
//! `mmsid` from `MMOpen` works as an fsid for the Mimei's root (Leither's
//! `MFReaddir(mmsid, -1)`). File handles live in `mf_handles.rs`.
//!
//! A tree is edited by rebuilding the directories from the changed entry up to the root with
//! `ipfs::dir::build` (kubo's directory CIDs, link sizes = cumulative DAG sizes); a file is
//! edited by reading it whole and importing it again (up to [`MAX_DATA`]). Unlike
//! `store::tree`, the root may be a file: a file Mimei whose content is one file.
//!
//! Every call re-checks the handle: its session must still live, and a Mimei path is checked
//! against the Mimei's rights as they are now, so a right revoked after the open applies at
//! the next call.

use std::future::ready;

use super::*;
use crate::api::NodeState;
use crate::api::mf_handles::{MfHandle, MfKind};
use crate::store::tags::Tag;
fn blocks_fetch<'a>(c: &'a Call<'_>) -> impl FnMut(&Cid) -> Result<Vec<u8>, ApiError> + 'a {
    move |x: &Cid| {
        Blocks::new(&c.state.store)
            .get(x)?
            .ok_or_else(|| ApiError::NotFound(format!("block {x} not found on this node")))
    }
}

/// Whether `cid` is a directory, and its size when a file.
fn kind(c: &Call<'_>, cid: &Cid) -> Result<Option<u64>, ApiError> {
    let block = blocks_fetch(c)(cid)?;
    if cid.codec() == Codec::Raw {
        return Ok(Some(block.len() as u64));
    }
    let bad = |e: String| ApiError::Internal(format!("{cid} is not a UnixFS node: {e}"));
    let node = PbNode::decode(&block).map_err(|e| bad(e.to_string()))?;
    let fs = UnixFs::decode(node.data.as_deref().ok_or_else(|| bad("no data".into()))?)
        .map_err(|e| bad(e.to_string()))?;
    Ok(match fs.kind {
        DataType::Directory | DataType::HamtShard => None,
        _ => Some(
            fs.filesize
                .unwrap_or(fs.data.as_ref().map_or(0, |d| d.len() as u64)),
        ),
    })
}

fn entries(c: &Call<'_>, dir: Cid) -> Result<Vec<DirEntry>, ApiError> {
    exporter::list_all(dir, MAX_ENTRIES, blocks_fetch(c))
}

/// The CID at `path` under `root`, or `None` if a name is missing.
fn lookup(c: &Call<'_>, root: Cid, path: &[String]) -> Result<Option<Cid>, ApiError> {
    let mut cur = root;
    for name in path {
        if kind(c, &cur)?.is_some() {
            return Ok(None);
        }
        match entries(c, cur)?.into_iter().find(|e| &e.name == name) {
            Some(e) => cur = e.cid,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// A new root: `root` with `path` replaced by `new` (a CID and its cumulative DAG size, kubo's
/// link `Tsize`; `None` removes it); missing directories on the way are made. The new
/// directory blocks are stored, tagged as content of `mid` (they are built here from its
/// entries). Returns the new root and its cumulative size.
fn replace(
    c: &Call<'_>,
    mid: &MimeiId,
    root: Option<Cid>,
    path: &[String],
    new: Option<(Cid, u64)>,
) -> Result<Option<(Cid, u64)>, ApiError> {
    let Some((name, rest)) = path.split_first() else {
        return Ok(new);
    };
    let mut list = match root {
        Some(r) if kind(c, &r)?.is_none() => entries(c, r)?,
        _ => Vec::new(),
    };
    let child = list.iter().position(|e| &e.name == name);
    let old = child.map(|i| list[i].cid);
    let replaced = replace(c, mid, old, rest, new)?;
    if let Some(i) = child {
        list.remove(i);
    }
    if let Some((cid, tsize)) = replaced {
        list.push(DirEntry {
            name: name.clone(),
            cid,
            tsize,
        });
    }
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let version = root.map_or(crate::ipfs::cid::Version::V0, |r| r.version());
    let built = dir::build(list, version).map_err(|e| ApiError::Internal(e.to_string()))?;
    Blocks::new(&c.state.store).put_many_tagged(
        built.blocks.iter().map(|b| (&b.cid, b.data.as_slice())),
        true,
        Some(Tag::Mimei(*mid.as_bytes())),
    )?;
    Ok(Some((built.cid, built.dag_size)))
}

/// Imports `data` as a UnixFS file; its blocks get `tag` in the block index (`store::tags`):
/// the Mimei it is written for, the public mark for a plain add, none for the node's MFS.
fn import(c: &Call<'_>, data: &[u8], tag: Option<Tag>) -> Result<(Cid, u64), ApiError> {
    let mut imp = FileImporter::new(ImportOptions::default())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut blocks = imp.push(data);
    let done = imp.finish();
    blocks.extend(done.blocks);
    let dag: u64 = blocks.iter().map(|b| b.data.len() as u64).sum();
    Blocks::new(&c.state.store).put_many_tagged(
        blocks.iter().map(|b| (&b.cid, b.data.as_slice())),
        true,
        tag,
    )?;
    Ok((done.root, dag))
}

fn norm(p: &str) -> Result<Vec<String>, ApiError> {
    if p.is_empty() || p == "/" {
        return Ok(Vec::new());
    }
    Ok(crate::mimei::names::normalize_path(p)?)
}

/// Leither's open flags (Go's `os.O_*` on Linux); any of these opens for writing.
const O_WRONLY: i64 = 0x1;
const O_RDWR: i64 = 0x2;
const O_CREATE: i64 = 0x40;
const O_TRUNC: i64 = 0x200;
const O_APPEND: i64 = 0x400;
const WRITE_FLAGS: i64 = O_WRONLY | O_RDWR | O_CREATE | O_TRUNC | O_APPEND;

/// Go's zero `time.Time`, for a file whose time is not known.
const NO_TIME: &str = "0001-01-01T00:00:00Z";
/// Go's `os.ModeDir`.
const MODE_DIR: i64 = 1 << 31;

fn version_name(version: Option<u64>) -> VersionName {
    version.map_or(VersionName::Cur, VersionName::Number)
}

/// A session check for sweeps that does not extend anyone's idle time.
fn sweep_sessions<'a>(c: &'a Call<'_>) -> impl FnMut(&str) -> bool + use<'a> {
    let now = unix_now();
    let mut sessions = c.state.sessions.borrow_mut();
    sessions.sweep(now);
    move |sid: &str| sid.is_empty() || sessions.is_live(sid, now)
}

fn add_handle(c: &Call<'_>, sid: &str, kind: MfKind) -> Result<Value, ApiError> {
    let id = new_handle_id()?;
    let h = MfHandle {
        sid: sid.to_string(),
        kind,
    };
    let live = sweep_sessions(c);
    let id = c.state.mf.borrow_mut().insert(id, h, live)?;
    Ok(Value::Str(id))
}

/// What an fsid reaches, after its checks ([`open_fs`]); a temporary file's bytes stay in
/// the table.
enum Target {
    Tree {
        mid: MimeiId,
        version: Option<u64>,
        path: Vec<String>,
    },
    Dag {
        cid: Cid,
        name: String,
        within: Option<MimeiId>,
    },
    Temp,
}

struct Fs {
    id: String,
    session: Session,
    target: Target,
}

fn no_file(c: &Call<'_>, id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "{}: no open file \"{}\"; open one with MFOpenByPath, MFOpenTempFile or MMOpen",
        c.entry.name,
        crate::api::truncate(id, 40)
    ))
}

/// The handle `args[0]` with `need` checked: a live session, and for a Mimei path the
/// Mimei's current rights (write also needs a handle opened for writing on `cur`). A Mimei
/// handle (`mmsid`) stands for its Mimei's root.
fn open_fs(c: &Call<'_>, need: Right) -> Result<Fs, ApiError> {
    let id = c.str_arg(0, "fsid")?;
    let writing = need.contains(Right::WRITE);
    let found = c.state.mf.borrow().get(id).map(|h| {
        let t = match &h.kind {
            MfKind::Tree {
                mid,
                version,
                path,
                write,
            } => (
                Target::Tree {
                    mid: *mid,
                    version: *version,
                    path: path.clone(),
                },
                *write,
            ),
            MfKind::Dag { cid, name, within } => (
                Target::Dag {
                    cid: *cid,
                    name: name.clone(),
                    within: *within,
                },
                false,
            ),
            MfKind::Temp { .. } => (Target::Temp, true),
        };
        (h.sid.clone(), t)
    });
    let (session, target, opened_write) = match found {
        Some((sid, (target, w))) => {
            let s = crate::ops::session::touch(c.state, &sid);
            match s {
                Ok(s) => (s, target, w),
                Err(e) => {
                    c.state.mf.borrow_mut().remove(id);
                    return Err(e);
                }
            }
        }
        None => {
            let (h, _, _) = match mm_header(c) {
                Ok(x) => x,
                Err(ApiError::NotFound(_)) => return Err(no_file(c, id)),
                Err(e) => return Err(e),
            };
            let s = crate::ops::session::touch(c.state, &h.sid)?;
            let target = Target::Tree {
                mid: h.mid,
                version: h.version,
                path: Vec::new(),
            };
            (s, target, h.version.is_none())
        }
    };
    if writing && !opened_write {
        let how = match target {
            Target::Dag { .. } => "it is a read-only IPFS file",
            _ => "it was opened for reading; open it with O_RDWR (2)",
        };
        return Err(ApiError::Mimei(MimeiStoreError::Conflict(format!(
            "{}: {how}",
            c.entry.name
        ))));
    }
    if let Target::Tree { mid, version, .. } = &target {
        let user = crate::ops::session::uid(&session)?;
        let rights = Mimeis::new(&c.state.store).header(mid)?.rights().clone();
        if writing {
            if version.is_some() {
                return Err(ApiError::Mimei(MimeiStoreError::Conflict(format!(
                    "{}: Mimei {mid} is open read-only (a version); open it as cur to change it",
                    c.entry.name
                ))));
            }
            rights.check(user.as_ref(), Right::WRITE)?;
        } else if version.is_some() || rights.check(user.as_ref(), Right::WRITE).is_err() {
            // A writer reads the cur it writes; everyone else needs read.
            rights.check(user.as_ref(), Right::READ)?;
        }
    }
    Ok(Fs {
        id: id.to_string(),
        session,
        target,
    })
}

/// The root of a Mimei tree handle, and the CID at its path (`None` if missing).
fn tree_at(
    c: &Call<'_>,
    mid: &MimeiId,
    version: Option<u64>,
    path: &[String],
) -> Result<(Option<Cid>, Option<Cid>), ApiError> {
    let root = Mimeis::new(&c.state.store)
        .root(mid, version_name(version))
        .ok()
        .map(|r| r.0);
    let at = match root {
        Some(r) => lookup(c, r, path)?,
        None => None,
    };
    Ok((root, at))
}

/// The CID a read of `f` reaches (`None` for a temporary file).
fn dag_of(c: &Call<'_>, f: &Fs) -> Result<Option<Cid>, ApiError> {
    match &f.target {
        Target::Tree { mid, version, path } => {
            let (_, at) = tree_at(c, mid, *version, path)?;
            at.map(Some).ok_or_else(|| {
                ApiError::NotFound(format!(
                    "{}: \"{}\" is no longer in Mimei {mid}",
                    c.entry.name,
                    path.join("/")
                ))
            })
        }
        Target::Dag { cid, .. } => {
            // A DAG opened by its CID is read by CID: the block rule applies at each read.
            dag_access(c, f)?.check(cid)?;
            Ok(Some(*cid))
        }
        Target::Temp => Ok(None),
    }
}

/// The block checks of the reader of a DAG handle (`ops::blocks`): its session, inside the
/// Mimei it was opened through.
fn dag_access<'s>(c: &Call<'s>, f: &Fs) -> Result<crate::ops::blocks::BlockAccess<'s>, ApiError> {
    let who = crate::ops::blocks::Who::of(&f.session)?;
    let access = crate::ops::blocks::BlockAccess::new(c.state, who);
    Ok(match &f.target {
        Target::Dag {
            within: Some(m), ..
        } => access.within(*m),
        _ => access,
    })
}

fn temp_gone(c: &Call<'_>, f: &Fs) -> ApiError {
    no_file(c, &f.id)
}

/// Size of the file behind `f` (a directory: 0).
fn size_of(c: &Call<'_>, f: &Fs) -> Result<(u64, bool), ApiError> {
    match dag_of(c, f)? {
        Some(cid) => Ok(kind(c, &cid)?.map_or((0, true), |n| (n, false))),
        None => c
            .state
            .mf
            .borrow_mut()
            .with_temp(&f.id, unix_now(), |d| (d.len() as u64, false))
            .ok_or_else(|| temp_gone(c, f)),
    }
}

/// Where a negative position counts from: Leither's `-1` is the end of the file.
fn position(start: i64, size: u64) -> u64 {
    if start < 0 {
        size.saturating_sub(start.unsigned_abs() - 1)
    } else {
        start as u64
    }
}

/// Bytes `[start, start + len)` of `f` (clipped to the file).
fn read(c: &Call<'_>, f: &Fs, start: u64, len: u64) -> Result<Vec<u8>, ApiError> {
    match dag_of(c, f)? {
        Some(cid) => {
            let size = kind(c, &cid)?
                .ok_or_else(|| bad(c, "it is a directory; list it with MFReaddir".into()))?;
            let start = start.min(size);
            let end = start.saturating_add(len).min(size);
            let mut out = Vec::with_capacity((end - start) as usize);
            if let Target::Dag { .. } = &f.target {
                // Every block of a DAG read by CID is checked, not only its root: a public
                // node may link a private Mimei's blocks.
                let mut access = dag_access(c, f)?;
                let mut fetch = blocks_fetch(c);
                exporter::read_range(
                    cid,
                    start,
                    end,
                    |x: &Cid| -> Result<Vec<u8>, ApiError> {
                        access.check(x)?;
                        fetch(x)
                    },
                    |d| out.extend_from_slice(d),
                )?;
            } else {
                exporter::read_range(cid, start, end, blocks_fetch(c), |d| {
                    out.extend_from_slice(d)
                })?;
            }
            Ok(out)
        }
        None => c
            .state
            .mf
            .borrow_mut()
            .with_temp(&f.id, unix_now(), |d| {
                let start = (start as usize).min(d.len());
                let end = start.saturating_add(len as usize).min(d.len());
                d[start..end].to_vec()
            })
            .ok_or_else(|| temp_gone(c, f)),
    }
}

fn read_whole(c: &Call<'_>, f: &Fs) -> Result<Vec<u8>, ApiError> {
    let (size, dir) = size_of(c, f)?;
    if dir {
        return Err(bad(c, "it is a directory".into()));
    }
    if size > MAX_DATA {
        return Err(bad(
            c,
            format!("the file is {size} bytes; at most {MAX_DATA} are read or rewritten here"),
        ));
    }
    read(c, f, 0, size)
}

/// Replaces the content of `f` (opened for writing) with `edit` applied to it.
fn rewrite(
    c: &Call<'_>,
    f: &Fs,
    new_len: impl FnOnce(usize) -> Option<usize>,
    edit: impl FnOnce(&mut Vec<u8>),
) -> Result<(), ApiError> {
    let too_big = || bad(c, format!("files written here stay under {MAX_DATA} bytes"));
    match &f.target {
        Target::Tree { mid, path, .. } => {
            let (root, at) = tree_at(c, mid, None, path)?;
            let mut file = match at {
                Some(cid) => read_all(c, cid)?,
                None => Vec::new(),
            };
            let n = new_len(file.len())
                .filter(|n| *n as u64 <= MAX_DATA)
                .ok_or_else(too_big)?;
            edit(&mut file);
            debug_assert_eq!(file.len(), n);
            let (cid, size) = import(c, &file, Some(Tag::Mimei(*mid.as_bytes())))?;
            let root = replace(c, mid, root, path, Some((cid, size)))?.map(|r| r.0);
            let who = crate::ops::blocks::Who::of(&f.session)?;
            Mimeis::new(&c.state.store).set_cur(
                mid,
                root,
                &mut crate::ops::blocks::verdict(c.state, &who),
            )?;
            Ok(())
        }
        Target::Temp => {
            let mut t = c.state.mf.borrow_mut();
            let old = t
                .with_temp(&f.id, 0, |d| d.len())
                .ok_or_else(|| temp_gone(c, f))?;
            let n = new_len(old).ok_or_else(too_big)?;
            t.room(old, n)?;
            t.with_temp(&f.id, unix_now(), edit);
            Ok(())
        }
        Target::Dag { .. } => Err(bad(c, "it is a read-only IPFS file".into())),
    }
}

fn read_all(c: &Call<'_>, cid: Cid) -> Result<Vec<u8>, ApiError> {
    let size = kind(c, &cid)?.ok_or_else(|| bad(c, "it is a directory".into()))?;
    if size > MAX_DATA {
        return Err(bad(
            c,
            format!("the file is {size} bytes; at most {MAX_DATA} can be rewritten here"),
        ));
    }
    exporter::cat(cid, blocks_fetch(c))
}

/// `MFOpenByPath(sid, mid, path, [flag])` -> fsid. `mid` is a Mimei ID (`MID[:VER][/dir]`),
/// an open mmsid of this session, or `""` for the node's own files (`path` then an MFS path
/// or `/ipfs/<cid>[/path]`, read-only).
pub fn open_path(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 4)?;
        let session = c.session.clone().ok_or(ApiError::SessionExpired)?;
        let which = c.str_arg(1, "mid")?;
        let text = c.str_arg(2, "path")?;
        let flags = match c.args.get(3) {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| bad(&c, format!("flag must be a number, got {}", v.kind())))?,
        };
        let write = flags & WRITE_FLAGS != 0;
        if which.is_empty() {
            if write {
                return Err(bad(
                    &c,
                    "the node's files open read-only (flag 0); write them with MFTemp2Files or \
                     FilesCopy"
                        .into(),
                ));
            }
            return open_url_read(c.state, &session, text).map(Value::Str);
        }
        // `mmroot[:VER]` is the node's own web folder (fns_mimei.rs).
        let rooted;
        let which = match which.get(..6) {
            Some(head) if head.eq_ignore_ascii_case(super::MMROOT) => {
                rooted = format!("{}{}", super::mmroot(&c)?, &which[6..]);
                rooted.as_str()
            }
            _ => which,
        };
        // An mmsid of this session names its Mimei and version.
        let inner = Call {
            state: c.state,
            session: None,
            args: vec![Value::from(which)],
            entry: c.entry,
        };
        let (mid, named, mut path) = match mm_header(&inner) {
            Ok((h, _, _)) if h.sid == session.sid => {
                (h.mid, Some(version_name(h.version)), Vec::new())
            }
            _ => {
                let p = crate::mimei::MimeiPath::parse(which)?;
                (p.mid, p.version, p.path)
            }
        };
        path.extend(norm(text)?);
        let user = crate::ops::session::uid(&session)?;
        let m = Mimeis::new(&c.state.store);
        let rights = m.header(&mid)?.rights().clone();
        let holds = |r| rights.check(user.as_ref(), r).is_ok();
        let version = match named {
            Some(n) => m.resolve(&mid, n)?,
            // A writer works on cur; a reader sees the last version, or cur before there is one.
            None if write || holds(Right::WRITE) => None,
            None => m.resolve(&mid, VersionName::Last).unwrap_or(None),
        };
        if write {
            if let Some(n) = version {
                return Err(ApiError::Mimei(MimeiStoreError::Conflict(format!(
                    "MFOpenByPath: version {n} of Mimei {mid} is read-only; open cur to write"
                ))));
            }
            rights.check(user.as_ref(), Right::WRITE)?;
        } else if version.is_some() || !holds(Right::WRITE) {
            rights.check(user.as_ref(), Right::READ)?;
        }
        let (root, found) = tree_at(&c, &mid, version, &path)?;
        if found.is_none() || flags & O_TRUNC != 0 {
            if flags & (O_CREATE | O_TRUNC) == 0 {
                return Err(ApiError::NotFound(match root {
                    None => format!(
                        "MFOpenByPath: Mimei {mid} has nothing in cur yet; set it with MFSetCid \
                         (`mimei setcid`, `mimei add`) or pass O_CREATE (0x40)"
                    ),
                    Some(_) => format!(
                        "MFOpenByPath: \"{}\" is not in Mimei {mid}; pass O_CREATE (0x40) to \
                         make it",
                        path.join("/")
                    ),
                }));
            }
            let (cid, size) = import(&c, b"", Some(Tag::Mimei(*mid.as_bytes())))?;
            let root = replace(&c, &mid, root, &path, Some((cid, size)))?.map(|r| r.0);
            let who = crate::ops::blocks::Who::of(&session)?;
            m.set_cur(&mid, root, &mut crate::ops::blocks::verdict(c.state, &who))?;
        }
        add_handle(
            &c,
            &session.sid,
            MfKind::Tree {
                mid,
                version,
                path,
                write,
            },
        )
    })()))
}

/// Opens an MFS path (`/x`, `files://x`, `files/x`; a user session) or an IPFS path
/// (`/ipfs/<cid>[/path]`, `ipfs://...`, `ipfs/...`; any session) read-only for `session`,
/// returning an fsid for `MFGetData`, `MFStat`, `MFReaddir` and the like. What the path
/// names is fixed when it is opened. `MMOpenUrl` opens these forms through it.
pub(crate) fn open_url_read(
    state: &NodeState,
    session: &Session,
    url: &str,
) -> Result<String, ApiError> {
    use crate::store::tree::Tree;
    let entry = crate::api::lookup("MFOpenByPath")
        .ok_or_else(|| ApiError::Internal("MFOpenByPath is missing from the table".into()))?;
    let c = Call {
        state,
        session: Some(session.clone()),
        args: Vec::new(),
        entry,
    };
    let tree = Tree::new(Blocks::new(&state.store));
    let ipfs = url
        .strip_prefix("/ipfs/")
        .or_else(|| url.strip_prefix("ipfs://"))
        .or_else(|| url.strip_prefix("ipfs/"));
    let (cid, name) = match ipfs {
        Some(rest) => {
            let (cid_text, path) = rest.split_once('/').unwrap_or((rest, ""));
            let cid: Cid = cid_text.parse().map_err(|e| {
                bad(
                    &c,
                    format!(
                        "\"{}\" is not a CID: {e}",
                        crate::api::truncate(cid_text, 100)
                    ),
                )
            })?;
            let mut access =
                crate::ops::blocks::BlockAccess::new(state, crate::ops::blocks::Who::of(session)?);
            let (at, _) =
                crate::api::fns_files::resolve_checked(&tree, &mut access, cid, path, entry.name)?;
            let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            (at, name.to_string())
        }
        None => {
            crate::api::need_member(session, entry.name)?;
            let path = crate::api::fns_files::mfs_path(url);
            if !path.starts_with('/') {
                return Err(bad(
                    &c,
                    format!(
                        "\"{}\" is neither an MFS path (/x, files://x) nor an IPFS path \
                         (/ipfs/<cid>)",
                        crate::api::truncate(url, 100)
                    ),
                ));
            }
            let err = |e| crate::api::fns_files::tree_error(entry.name, e);
            let root = crate::store::mfs::root(&state.store).map_err(err)?;
            let (at, _) = tree.resolve(root, &path).map_err(err)?;
            let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            (at, name.to_string())
        }
    };
    match add_handle(
        &c,
        &session.sid,
        MfKind::Dag {
            cid,
            name,
            within: None,
        },
    )? {
        Value::Str(id) => Ok(id),
        _ => Err(ApiError::Internal("a handle id is a string".into())),
    }
}

/// `MFOpenMacFile(sid, mid, fileid)` -> fsid: the stored file `fileid` (a CID, as
/// `MFTemp2MacFile` gives) read through Mimei `mid`, which the session must be able to read.
pub fn open_mac(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 3)?;
        let session = c.session.clone().ok_or(ApiError::SessionExpired)?;
        let mid = mid_arg(&c, 1)?;
        let user = crate::ops::session::uid(&session)?;
        let rights = Mimeis::new(&c.state.store).header(&mid)?.rights().clone();
        if rights.check(user.as_ref(), Right::WRITE).is_err() {
            rights.check(user.as_ref(), Right::READ)?;
        }
        let text = c.str_arg(2, "fileid")?;
        let cid: Cid = text.parse().map_err(|e| {
            bad(
                &c,
                format!(
                    "\"{}\" is not a file id (a CID): {e}",
                    crate::api::truncate(text, 100)
                ),
            )
        })?;
        if !Blocks::new(&c.state.store).has(&cid)? {
            return Err(ApiError::NotFound(format!(
                "MFOpenMacFile: file {cid} is not on this node"
            )));
        }
        // The Mimei vouches for its own files only: any other block by the rule of every CID.
        crate::ops::blocks::BlockAccess::new(c.state, crate::ops::blocks::Who::of(&session)?)
            .within(mid)
            .check(&cid)?;
        add_handle(
            &c,
            &session.sid,
            MfKind::Dag {
                cid,
                name: String::new(),
                within: Some(mid),
            },
        )
    })()))
}

/// `MFOpenTempFile(sid)` -> fsid of an empty temporary file (see `mf_handles.rs` for its
/// bounds).
pub fn open_temp(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let session = c.session.clone().ok_or(ApiError::SessionExpired)?;
        add_handle(
            &c,
            &session.sid,
            MfKind::Temp {
                data: Vec::new(),
                modified: unix_now(),
            },
        )
    })()))
}

/// `MFPath2TempID` and `MFLocal2MacFile`: files of the node's own disk are not served.
pub fn local_file(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(Err(ApiError::NotSupported(format!(
        "{}: this node does not read its local files through the API (the home holds the node \
         key); send the bytes with MFOpenTempFile and MFSetData, or add them with `leither ipfs \
         add`",
        c.entry.name
    )))))
}

/// The bytes of the temporary file `args[0]`, its session, and a user's right to store.
fn temp_bytes(c: &Call<'_>) -> Result<(Fs, Vec<u8>), ApiError> {
    let f = open_fs(c, Right::READ)?;
    if !matches!(f.target, Target::Temp) {
        return Err(bad(
            c,
            "the handle is not a temporary file; open one with MFOpenTempFile".into(),
        ));
    }
    let data = read(c, &f, 0, MAX_DATA)?;
    Ok((f, data))
}

/// Imports the bytes as a UnixFS file (kubo's CID) and pins it.
fn store_pinned(c: &Call<'_>, data: &[u8], tag: Tag) -> Result<(Cid, u64), ApiError> {
    let (cid, size) = import(c, data, Some(tag))?;
    Blocks::new(&c.state.store).pin_add(&cid, true)?;
    Ok((cid, size))
}

/// `MFTemp2MacFile(fsid, mid)` and `MFTemp2Ipfs(fsid, mid)` -> CID: the temporary file as a
/// pinned IPFS file. The session that opened it must hold write on `mid` (`""` is allowed
/// for `MFTemp2Ipfs`).
pub fn temp_to_ipfs(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 2)?;
        let (f, data) = temp_bytes(&c)?;
        let mid = c.opt_str_arg(1, "mid")?;
        // For a Mimei, the file is its content (private as it is); else a plain add, public.
        let tag = match mid {
            Some(t) => {
                let mid = crate::mimei::MimeiPath::parse(t)?.mid;
                let user = crate::ops::session::uid(&f.session)?;
                crate::ops::mimei::authorize(c.state, user.as_ref(), &mid, Right::WRITE)?;
                Tag::Mimei(*mid.as_bytes())
            }
            None if c.entry.name == "MFTemp2MacFile" => {
                return Err(bad(&c, "argument 2 (mid) is missing".into()));
            }
            None => {
                crate::api::need_member_to_add(c.state, &f.session, c.entry.name, data.len())?;
                Tag::Public
            }
        };
        let (cid, _) = store_pinned(&c, &data, tag)?;
        Ok(Value::Str(cid.to_string()))
    })()))
}

/// `MFTemp2Files(fsid, ps)` -> CID: the temporary file as a new MFS entry at `ps` (`/x`,
/// `files://x`, `files/x`); the session that opened it must be the owner's (MFS is the node's
/// own tree). An existing entry is not replaced.
pub fn temp_to_files(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let (f, data) = temp_bytes(&c)?;
        if f.session.rights < crate::api::Rights::Owner {
            return Err(ApiError::Forbidden {
                function: c.entry.name,
                need: crate::api::Rights::Owner.as_str(),
            });
        }
        let ps = crate::api::fns_files::mfs_path(c.str_arg(1, "ps")?);
        let (cid, size) = import(&c, &data, None)?;
        crate::store::mfs::update(&c.state.store, |t, r| {
            t.put(r, &ps, cid, size, false, false)
        })
        .map_err(|e| crate::api::fns_files::tree_error(c.entry.name, e))?;
        Ok(Value::Str(cid.to_string()))
    })()))
}

/// `MFGetData(fsid, [start], [count])`: bytes; a negative `start` counts from the end (`-1`
/// is the end), a negative `count` (the default) reads to the end.
pub fn get_data(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 3)?;
        let f = open_fs(&c, Right::READ)?;
        let (size, dir) = size_of(&c, &f)?;
        if dir {
            return Err(bad(&c, "it is a directory; list it with MFReaddir".into()));
        }
        let start = position(c.args.get(1).and_then(Value::as_i64).unwrap_or(0), size).min(size);
        let count = c.args.get(2).and_then(Value::as_i64).unwrap_or(-1);
        let len = if count < 0 {
            size - start
        } else {
            (count as u64).min(size - start)
        };
        if len > MAX_DATA {
            return Err(bad(&c, format!("read at most {MAX_DATA} bytes per call")));
        }
        Ok(Value::Bytes(read(&c, &f, start, len)?))
    })()))
}

/// `MFSetData(fsid, data, [start])` -> count: writes at `start` (a negative one counts from
/// the end, `-1` appends; past the end fills zeros).
pub fn set_data(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let f = open_fs(&c, Right::WRITE)?;
        let data: &[u8] = match &c.args[1] {
            Value::Str(s) => s.as_bytes(),
            Value::Bytes(b) => b,
            v => {
                return Err(bad(
                    &c,
                    format!("data must be a string or bytes, got {}", v.kind()),
                ));
            }
        };
        let start = c.args.get(2).and_then(Value::as_i64).unwrap_or(0);
        let at = std::cell::Cell::new(0);
        rewrite(
            &c,
            &f,
            |old| {
                at.set(usize::try_from(position(start, old as u64)).ok()?);
                at.get().checked_add(data.len()).map(|end| end.max(old))
            },
            |file| {
                let at = at.get();
                let end = at + data.len();
                if file.len() < end {
                    file.resize(end, 0);
                }
                file[at..end].copy_from_slice(data);
            },
        )?;
        Ok(Value::Int(data.len() as i64))
    })()))
}

/// `MFTruncate(fsid, size)`: cuts or zero-extends the file.
pub fn truncate(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let f = open_fs(&c, Right::WRITE)?;
        let len = c.args[1]
            .as_i64()
            .filter(|n| *n >= 0 && (*n as u64) <= MAX_DATA)
            .ok_or_else(|| bad(&c, format!("size must be 0 to {MAX_DATA}")))?
            as usize;
        rewrite(&c, &f, |_| Some(len), |file| file.resize(len, 0))?;
        Ok(Value::Null)
    })()))
}

/// `MFSetObject(fsid, obj)`: the file becomes `obj` in Hprose's encoding, which
/// `MFGetObject` decodes back to the same value.
pub fn set_object(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let f = open_fs(&c, Right::WRITE)?;
        let mut bytes = Vec::new();
        crate::api::hprose::encode_value(&mut bytes, &c.args[1]);
        let n = bytes.len();
        rewrite(&c, &f, |_| Some(n), |file| *file = bytes)?;
        Ok(Value::Null)
    })()))
}

/// `MFGetObject(fsid)`: the value `MFSetObject` stored.
pub fn get_object(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let f = open_fs(&c, Right::READ)?;
        let bytes = read_whole(&c, &f)?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        crate::api::hprose::decode_value(&bytes, &crate::api::hprose::Limits::DEFAULT).map_err(
            |e| {
                bad(
                    &c,
                    format!("the file holds no object written by MFSetObject ({e})"),
                )
            },
        )
    })()))
}

/// `MFGetSize(fsid)`: the file's length (0 for a directory).
pub fn get_size(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let f = open_fs(&c, Right::READ)?;
        Ok(Value::Int(size_of(&c, &f)?.0 as i64))
    })()))
}

/// Unix seconds as RFC 3339 in UTC, the text Go's Hprose and JSON decoders read into a
/// `time.Time`.
fn rfc3339(secs: u64) -> String {
    crate::clock::iso8601(secs.min(i64::MAX as u64) as i64)
}

/// Leither's `FileInfo`, keyed as Hprose writes a Go struct (first letter lower-cased):
/// `{fName, fSize, fModTime, fIsDir, fMode, fID}`; `fMode` is a Go `os.FileMode` (the
/// directory bit 1<<31), `fID` the CID ("" for a temporary file).
fn file_info(name: &str, size: u64, dir: bool, time: &str, read_only: bool, id: &str) -> Value {
    let perm = if read_only { 0o444 } else { 0o644 };
    Value::map([
        ("fName", Value::from(name)),
        ("fSize", Value::Int(size as i64)),
        ("fModTime", Value::from(time)),
        ("fIsDir", Value::Bool(dir)),
        (
            "fMode",
            Value::Int(if dir { MODE_DIR | 0o755 } else { perm }),
        ),
        ("fID", Value::from(id)),
    ])
}

/// The time shown for `f`: a version's signing time, a temporary file's last change, else
/// unknown (cur and IPFS files keep no times).
fn time_of(c: &Call<'_>, f: &Fs) -> Result<String, ApiError> {
    Ok(match &f.target {
        Target::Tree {
            mid,
            version: Some(n),
            ..
        } => rfc3339(Mimeis::new(&c.state.store).version(mid, *n)?.time()),
        Target::Temp => {
            let t = c.state.mf.borrow().get(&f.id).map(|h| match h.kind {
                MfKind::Temp { modified, .. } => modified,
                _ => 0,
            });
            rfc3339(t.unwrap_or(0))
        }
        _ => NO_TIME.into(),
    })
}

fn read_only(c: &Call<'_>, f: &Fs) -> bool {
    match &f.target {
        Target::Tree { version, .. } => version.is_some(),
        Target::Dag { .. } => true,
        Target::Temp => {
            let _ = c;
            false
        }
    }
}

/// `MFStat(fsid)`: Leither's `FileInfo` of the opened file or directory.
pub fn stat(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let f = open_fs(&c, Right::READ)?;
        let (size, dir) = size_of(&c, &f)?;
        let cid = dag_of(&c, &f)?;
        let name = match &f.target {
            Target::Tree { mid, path, .. } => {
                path.last().cloned().unwrap_or_else(|| mid.to_string())
            }
            Target::Dag { cid, name, .. } if name.is_empty() => cid.to_string(),
            Target::Dag { name, .. } => name.clone(),
            Target::Temp => String::new(),
        };
        let time = time_of(&c, &f)?;
        let id = cid.map(|c| c.to_string()).unwrap_or_default();
        Ok(file_info(&name, size, dir, &time, read_only(&c, &f), &id))
    })()))
}

/// `MFReaddir(fsid, [count])`: `FileInfo` of the directory's entries in name order; `count`
/// <= 0 (the default) lists all.
pub fn readdir(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 2)?;
        let f = open_fs(&c, Right::READ)?;
        let count = c.args.get(1).and_then(Value::as_i64).unwrap_or(0);
        let Some(cid) = dag_of(&c, &f)? else {
            return Err(bad(&c, "a temporary file is not a directory".into()));
        };
        if kind(&c, &cid)?.is_some() {
            return Err(bad(&c, "it is a file; read it with MFGetData".into()));
        }
        let mut list = entries(&c, cid)?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        if count > 0 {
            list.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        }
        let time = time_of(&c, &f)?;
        let ro = read_only(&c, &f);
        let mut out = Vec::with_capacity(list.len());
        for e in list {
            let k = kind(&c, &e.cid)?;
            out.push(file_info(
                &e.name,
                k.unwrap_or(0),
                k.is_none(),
                &time,
                ro,
                &e.cid.to_string(),
            ));
        }
        Ok(Value::List(out))
    })()))
}

/// `MFIsExist(fsid, fileid)`: whether `fileid` is stored on this node (a CID, as
/// `MFTemp2MacFile` gives) or, for a directory handle, a path under it.
pub fn is_exist(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let f = open_fs(&c, Right::READ)?;
        let id = c.str_arg(1, "fileid")?;
        if let Ok(cid) = id.parse::<Cid>() {
            return Ok(Value::Bool(Blocks::new(&c.state.store).has(&cid)?));
        }
        let Some(dir) = dag_of(&c, &f)? else {
            return Ok(Value::Bool(false));
        };
        let Ok(path) = norm(id) else {
            return Ok(Value::Bool(false));
        };
        Ok(Value::Bool(lookup(&c, dir, &path)?.is_some()))
    })()))
}

/// `MFGetMimeType(fsid)`: the content type by the file name's extension, else sniffed from
/// its first bytes (`inode/directory` for a directory).
pub fn get_mime_type(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let f = open_fs(&c, Right::READ)?;
        let (_, dir) = size_of(&c, &f)?;
        if dir {
            return Ok(Value::from("inode/directory"));
        }
        let name = match &f.target {
            Target::Tree { path, .. } => path.last().cloned(),
            Target::Dag { name, .. } => Some(name.clone()),
            Target::Temp => None,
        };
        let head = read(&c, &f, 0, 512)?;
        Ok(Value::from(crate::http::gateway::content_type(
            name.as_deref(),
            &head,
        )))
    })()))
}

/// `MFClose(fsid)`: closes a file handle (`MMClose` does too). Returns true.
pub fn close_file(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        c.state.mf.borrow_mut().remove(c.str_arg(0, "fsid")?);
        Ok(Value::Bool(true))
    })()))
}

#[cfg(test)]
mod unit {
    use super::{position, rfc3339};

    #[test]
    fn dates_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn minus_one_is_the_end_of_the_file() {
        assert_eq!(position(-1, 10), 10);
        assert_eq!(position(-4, 10), 7);
        assert_eq!(position(-100, 10), 0);
        assert_eq!(position(3, 10), 3);
        assert_eq!(position(i64::MIN, 10), 0);
    }
}
