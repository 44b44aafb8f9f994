//! The `MF*` functions of the Mimei API: file access inside a Mimei's tree (`MFSetCid`,
//! `MFOpenByPath`, `MFGetData`, `MFSetData`, `MFTruncate`, `MFStat`, `MFReaddir`), and the tree
//! edits under them. A child module of `fns_mimei`, whose handles and checks it uses.
//!
//! A tree is edited by rebuilding the directories from the changed entry up to the root with
//! `ipfs::dir::build` (kubo's directory CIDs, link sizes = cumulative DAG sizes); a file is
//! edited by reading it whole and importing it again (up to [`MAX_DATA`]). Unlike
//! `store::tree`, the root may be a file: a file Mimei whose content is one file.

use std::future::ready;

use super::*;
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
/// directory blocks are stored. Returns the new root and its cumulative size.
fn replace(
    c: &Call<'_>,
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
    let replaced = replace(c, old, rest, new)?;
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
    Blocks::new(&c.state.store)
        .put_many(built.blocks.iter().map(|b| (&b.cid, b.data.as_slice())))?;
    Ok(Some((built.cid, built.dag_size)))
}

fn import(c: &Call<'_>, data: &[u8]) -> Result<(Cid, u64), ApiError> {
    let mut imp = FileImporter::new(ImportOptions::default())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut blocks = imp.push(data);
    let done = imp.finish();
    blocks.extend(done.blocks);
    let dag: u64 = blocks.iter().map(|b| b.data.len() as u64).sum();
    Blocks::new(&c.state.store).put_many(blocks.iter().map(|b| (&b.cid, b.data.as_slice())))?;
    Ok((done.root, dag))
}

/// `MFSetCid(mmsid, path, cid)`: puts `cid` at `path` in `cur` (`""` or `/`: the whole root).
pub fn set_cid(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 3)?;
        let (h, user, rights) = mm(&c)?;
        check(&c, &h, user.as_ref(), &rights, Right::WRITE, true)?;
        let path = norm(c.str_arg(1, "path")?)?;
        let text = c.str_arg(2, "cid")?;
        let cid: Cid = text.parse().map_err(|e| {
            bad(
                &c,
                format!("\"{}\" is not a CID: {e}", crate::api::truncate(text, 100)),
            )
        })?;
        if !Blocks::new(&c.state.store).has(&cid)? {
            return Err(ApiError::NotFound(format!(
                "block {cid} not found on this node; add it first"
            )));
        }
        let size = crate::store::tree::Tree::new(Blocks::new(&c.state.store))
            .stat_cid(&cid)
            .map_err(|e| ApiError::NotFound(e.to_string()))?
            .cumulative_size;
        let m = Mimeis::new(&c.state.store);
        let cur = m.state(&h.mid)?.cur;
        let root = replace(&c, cur, &path, Some((cid, size)))?.map(|r| r.0);
        m.set_cur(&h.mid, root)?;
        Ok(Value::Str(root.map(|r| r.to_string()).unwrap_or_default()))
    })()))
}

fn norm(p: &str) -> Result<Vec<String>, ApiError> {
    if p.is_empty() || p == "/" {
        return Ok(Vec::new());
    }
    Ok(crate::mimei::names::normalize_path(p)?)
}

/// Leither's (POSIX) open flags that write.
const O_WRONLY: i64 = 0x1;
const O_RDWR: i64 = 0x2;
const O_CREATE: i64 = 0x40;
const O_TRUNC: i64 = 0x200;

/// `MFOpenByPath(mmsid, path, flags)` -> fsid.
pub fn open_path(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let (h, user, rights) = mm(&c)?;
        let path = norm(c.str_arg(1, "path")?)?;
        let flags = c.args.get(2).and_then(Value::as_i64).unwrap_or(0);
        let write = flags & (O_WRONLY | O_RDWR | O_CREATE | O_TRUNC) != 0;
        if write {
            check(&c, &h, user.as_ref(), &rights, Right::WRITE, true)?;
        } else {
            check(&c, &h, user.as_ref(), &rights, Right::READ, false)?;
        }
        let m = Mimeis::new(&c.state.store);
        let root = match h.version {
            None => m.state(&h.mid)?.cur,
            Some(_) => Some(m.root(&h.mid, h.name_fixed())?.0),
        };
        let found = match root {
            Some(r) => lookup(&c, r, &path)?,
            None => None,
        };
        if found.is_none() || flags & O_TRUNC != 0 {
            if flags & (O_CREATE | O_TRUNC) == 0 && root.is_none() {
                return Err(ApiError::NotFound(format!(
                    "MFOpenByPath: Mimei {} has nothing in cur yet; set it with MFSetCid \
                     (`mimei setcid`, `mimei add`) or pass O_CREATE (0x40)",
                    h.mid
                )));
            }
            if flags & (O_CREATE | O_TRUNC) == 0 {
                return Err(ApiError::NotFound(format!(
                    "MFOpenByPath: \"{}\" is not in Mimei {}; pass O_CREATE (0x40) to make it",
                    path.join("/"),
                    h.mid
                )));
            }
            let (cid, size) = import(&c, b"")?;
            let root = replace(&c, root, &path, Some((cid, size)))?.map(|r| r.0);
            m.set_cur(&h.mid, root)?;
        }
        let id = new_handle_id()?;
        let mmsid = c.str_arg(0, "mmsid")?.to_string();
        with_handles(&c, |t| {
            let mut t = t.borrow_mut();
            make_room(&c, &mut t)?;
            t.fs.insert(id.clone(), FsHandle { mmsid, path, write });
            Ok::<(), ApiError>(())
        })?;
        Ok(Value::Str(id))
    })()))
}

impl MmHandle {
    fn name_fixed(&self) -> VersionName {
        self.version.map_or(VersionName::Cur, VersionName::Number)
    }
}

/// The file handle `args[0]`: its Mimei handle (checked as [`mm`]) and the CID at its path.
fn fs(
    c: &Call<'_>,
    need: Right,
) -> Result<(FsHandle, MmHandle, Option<Cid>, Option<Cid>), ApiError> {
    let id = c.str_arg(0, "fsid")?;
    let f = with_handles(c, |t| t.borrow().fs.get(id).cloned()).ok_or_else(|| {
        ApiError::NotFound(format!(
            "{}: no open file \"{}\"; call MFOpenByPath first",
            c.entry.name,
            crate::api::truncate(id, 40)
        ))
    })?;
    let mut args = c.args.clone();
    args[0] = Value::Str(f.mmsid.clone());
    let inner = Call {
        state: c.state,
        session: None,
        args,
        entry: c.entry,
    };
    let (h, user, rights) = mm(&inner)?;
    let writing = need.contains(Right::WRITE);
    if writing && !f.write {
        return Err(ApiError::Mimei(MimeiStoreError::Conflict(format!(
            "{}: the file was opened for reading; open it with O_RDWR (2) to write",
            c.entry.name
        ))));
    }
    check(c, &h, user.as_ref(), &rights, need, writing)?;
    let root = Mimeis::new(&c.state.store)
        .root(&h.mid, h.name_fixed())
        .ok()
        .map(|r| r.0);
    let at = match root {
        Some(r) => lookup(c, r, &f.path)?,
        None => None,
    };
    Ok((f, h, root, at))
}

fn missing(c: &Call<'_>, f: &FsHandle) -> ApiError {
    ApiError::NotFound(format!(
        "{}: \"{}\" is no longer in the Mimei",
        c.entry.name,
        f.path.join("/")
    ))
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

/// `MFGetData(fsid, start, len)`: bytes; a negative `start` counts from the end, a negative
/// `len` reads to the end.
pub fn get_data(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 3)?;
        let (f, _, _, at) = fs(&c, Right::READ)?;
        let cid = at.ok_or_else(|| missing(&c, &f))?;
        let size =
            kind(&c, &cid)?.ok_or_else(|| bad(&c, "it is a directory; use MFReaddir".into()))?;
        let start = c.args.get(1).and_then(Value::as_i64).unwrap_or(0);
        let len = c.args.get(2).and_then(Value::as_i64).unwrap_or(-1);
        let start = if start < 0 {
            size.saturating_sub(start.unsigned_abs())
        } else {
            (start as u64).min(size)
        };
        let len = if len < 0 {
            size - start
        } else {
            (len as u64).min(size - start)
        };
        if len > MAX_DATA {
            return Err(bad(&c, format!("read at most {MAX_DATA} bytes per call")));
        }
        let mut out = Vec::with_capacity(len as usize);
        exporter::read_range(cid, start, start + len, blocks_fetch(&c), |d| {
            out.extend_from_slice(d)
        })?;
        Ok(Value::Bytes(out))
    })()))
}

fn write_file(
    c: &Call<'_>,
    h: &MmHandle,
    root: Option<Cid>,
    path: &[String],
    data: &[u8],
) -> Result<Value, ApiError> {
    let (cid, size) = import(c, data)?;
    let root = replace(c, root, path, Some((cid, size)))?.map(|r| r.0);
    Mimeis::new(&c.state.store).set_cur(&h.mid, root)?;
    Ok(Value::Int(data.len() as i64))
}

/// `MFSetData(fsid, data, start)`: writes at `start` (default 0; past the end fills zeros).
pub fn set_data(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let (f, h, root, at) = fs(&c, Right::WRITE)?;
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
        let mut file = match at {
            Some(cid) => read_all(&c, cid)?,
            None => Vec::new(),
        };
        let start = c.args.get(2).and_then(Value::as_i64).unwrap_or(0);
        let start = if start < 0 {
            file.len().saturating_sub(start.unsigned_abs() as usize)
        } else {
            start as usize
        };
        let end = start
            .checked_add(data.len())
            .filter(|e| *e as u64 <= MAX_DATA);
        let end = end.ok_or_else(|| {
            bad(
                &c,
                format!("files written here stay under {MAX_DATA} bytes"),
            )
        })?;
        if file.len() < end {
            file.resize(end, 0);
        }
        file[start..end].copy_from_slice(data);
        write_file(&c, &h, root, &f.path, &file)?;
        Ok(Value::Int(data.len() as i64))
    })()))
}

/// `MFTruncate(fsid, len)`.
pub fn truncate(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let (f, h, root, at) = fs(&c, Right::WRITE)?;
        let len = c.args[1]
            .as_i64()
            .filter(|n| *n >= 0 && (*n as u64) <= MAX_DATA)
            .ok_or_else(|| bad(&c, format!("len must be 0 to {MAX_DATA}")))?;
        let mut file = read_all(&c, at.ok_or_else(|| missing(&c, &f))?)?;
        file.resize(len as usize, 0);
        write_file(&c, &h, root, &f.path, &file)
    })()))
}

/// `MFStat(fsid)` -> {name, cid, size, type}.
pub fn stat(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let (f, _, _, at) = fs(&c, Right::READ)?;
        let cid = at.ok_or_else(|| missing(&c, &f))?;
        let k = kind(&c, &cid)?;
        Ok(Value::map([
            (
                "name",
                Value::Str(f.path.last().cloned().unwrap_or_default()),
            ),
            ("cid", Value::Str(cid.to_string())),
            ("size", Value::Int(k.unwrap_or(0) as i64)),
            (
                "type",
                Value::from(if k.is_some() { "file" } else { "dir" }),
            ),
        ]))
    })()))
}

/// `MFReaddir(fsid)` -> [{name, cid, size}].
pub fn readdir(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let (f, _, _, at) = fs(&c, Right::READ)?;
        let cid = at.ok_or_else(|| missing(&c, &f))?;
        if kind(&c, &cid)?.is_some() {
            return Err(bad(&c, "it is a file; use MFGetData".into()));
        }
        Ok(Value::List(
            entries(&c, cid)?
                .into_iter()
                .map(|e| {
                    Value::map([
                        ("name", Value::Str(e.name)),
                        ("cid", Value::Str(e.cid.to_string())),
                        ("size", Value::Int(e.tsize as i64)),
                    ])
                })
                .collect(),
        ))
    })()))
}
