//! MFS and directory functions of the table: `Files*` over the node's mutable root
//! (`store::mfs`), `IpfsMakeDir` (the directories of `ipfs add -r`, built bottom-up by the
//! client) and `IpfsLs` (what `ipfs get` of a directory walks).
//!
//! Reading MFS needs a user session, changing it the owner's: MFS is the node's own tree.

use std::future::ready;

use super::{ApiError, ApiFuture, Call, Value};
use crate::ipfs::cid::{Cid, Version};
use crate::ipfs::dir::{self, DirEntry};
use crate::store::blocks::Blocks;
use crate::store::mfs;
use crate::store::tags::Tag;
use crate::store::tree::{Entry, NodeKind, Stat, Tree, TreeError};

/// Most entries `IpfsMakeDir` takes in one call (the 1 MiB body limit comes first anyway).
pub const MAX_MAKEDIR_ENTRIES: usize = 100_000;

/// Maps a tree error to the API's: bad paths and refused edits are 400, missing names and
/// blocks 404, a store failure 500.
pub fn tree_error(function: &'static str, e: TreeError) -> ApiError {
    match e {
        TreeError::NotFound(_) => ApiError::NotFound(e.to_string()),
        TreeError::Dag {
            error: crate::ipfs::exporter::ExportError::Missing(_),
            ..
        } => ApiError::NotFound(e.to_string()),
        TreeError::Dag { .. } => ApiError::Internal(e.to_string()),
        TreeError::Store(s) => ApiError::Store(s),
        other => ApiError::BadArguments {
            function,
            message: other.to_string(),
        },
    }
}

fn entry_value(e: &Entry) -> Value {
    Value::map([
        ("name", Value::Str(e.name.clone())),
        ("cid", Value::Str(e.cid.to_string())),
        ("size", Value::Int(e.size as i64)),
        ("tsize", Value::Int(e.tsize as i64)),
        ("type", Value::from(e.kind.name())),
    ])
}

/// Leither's `LsLink` (`lapi/stub.go`), keyed as Hprose writes a Go struct (first letter
/// lower-cased), which Go's and JS's clients read back: `{name, hash, size, type, target}`,
/// `type` 0 for a file and 1 for a directory (`lapi.TFile`, `lapi.TDir`); no symlinks here,
/// so `target` is always empty.
fn ls_link(e: &Entry) -> Value {
    Value::map([
        ("name", Value::Str(e.name.clone())),
        ("hash", Value::Str(e.cid.to_string())),
        ("size", Value::Int(e.size as i64)),
        ("type", Value::Int(i64::from(e.kind == NodeKind::Directory))),
        ("target", Value::from("")),
    ])
}

/// Leither's `StatInfo`: `{hash, size, cumulativeSize, blocks, type, withLocality, local,
/// sizeLocal}`, `type` "directory" or "file" as kubo says it. Locality is not computed (as
/// kubo without `--with-local`).
fn stat_info(s: &Stat) -> Value {
    Value::map([
        ("hash", Value::Str(s.cid.to_string())),
        ("size", Value::Int(s.size as i64)),
        ("cumulativeSize", Value::Int(s.cumulative_size as i64)),
        ("blocks", Value::Int(s.child_blocks as i64)),
        ("type", Value::from(s.kind.name())),
        ("withLocality", Value::Bool(false)),
        ("local", Value::Bool(false)),
        ("sizeLocal", Value::Int(0)),
    ])
}

fn bool_arg(c: &Call<'_>, i: usize) -> bool {
    matches!(c.args.get(i), Some(Value::Bool(true)))
}

/// An MFS path as Leither writes it: `/x`, `files://x` and `files/x` are the same path.
pub fn mfs_path(ps: &str) -> String {
    match ps
        .strip_prefix("files://")
        .or_else(|| ps.strip_prefix("files/"))
    {
        Some(rest) => format!("/{rest}"),
        None if ps == "files" || ps == "files:" => "/".into(),
        None => ps.to_string(),
    }
}

/// Argument `i` as an MFS path (see [`mfs_path`]); `None` when absent or empty.
fn path_arg(c: &Call<'_>, i: usize, what: &str) -> Result<Option<String>, ApiError> {
    Ok(c.opt_str_arg(i, what)?.map(mfs_path))
}

/// A tree error of an MFS call on `path`; a missing name is reported in IPFS's words, `no
/// link named "<name>" under <cid of its directory>`, which Leither's clients look for
/// (`example/rpc/files/files.go`).
fn files_error(c: &Call<'_>, root: Cid, e: TreeError) -> ApiError {
    if let TreeError::NotFound(missing) = &e
        && let Ok(mut segs) = crate::store::tree::parse_path(missing)
        && let Some(name) = segs.pop()
        && let Ok((dir, _)) =
            Tree::new(Blocks::new(&c.state.store)).resolve(root, &crate::store::tree::join(&segs))
    {
        return ApiError::NotFound(format!("no link named {name:?} under {dir}"));
    }
    tree_error(c.entry.name, e)
}

/// Runs a change of the MFS root. Leither's `Files*` changes answer nothing (Go `error`
/// only); `FilesFlush` gives the new root.
fn change(
    c: &Call<'_>,
    f: impl FnOnce(&Tree<'_>, Cid) -> Result<Cid, TreeError>,
) -> Result<Value, ApiError> {
    let root = mfs::root(&c.state.store).map_err(|e| tree_error(c.entry.name, e))?;
    mfs::update(&c.state.store, f).map_err(|e| files_error(c, root, e))?;
    Ok(Value::Null)
}

/// The MFS root and a tree over the store, for the reading functions.
fn read_root<'a>(c: &'a Call<'_>) -> Result<(Cid, Tree<'a>), ApiError> {
    let root = mfs::root(&c.state.store).map_err(|e| tree_error(c.entry.name, e))?;
    Ok((root, Tree::new(Blocks::new(&c.state.store))))
}

/// `FilesLs(sid, [ps])`: Leither's `[]LsLink` of a directory (a file lists as itself).
pub fn files_ls(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 2)?;
        let path = path_arg(&c, 1, "ps")?.unwrap_or_else(|| "/".into());
        let (root, tree) = read_root(&c)?;
        let entries = tree.ls(root, &path).map_err(|e| files_error(&c, root, e))?;
        Ok(Value::List(entries.iter().map(ls_link).collect()))
    })()))
}

/// `FilesStat(sid, [ps])`: Leither's `StatInfo`.
pub fn files_stat(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 2)?;
        let path = path_arg(&c, 1, "ps")?.unwrap_or_else(|| "/".into());
        let (root, tree) = read_root(&c)?;
        let st = tree
            .stat(root, &path)
            .map_err(|e| files_error(&c, root, e))?;
        Ok(stat_info(&st))
    })()))
}

/// `FilesFlush(sid, [ps])`: the CID at `ps` (default the root). Changes are written as they
/// are made, so there is nothing to flush; the CID is what scripts want.
pub fn files_flush(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 2)?;
        let path = path_arg(&c, 1, "ps")?.unwrap_or_else(|| "/".into());
        let (root, tree) = read_root(&c)?;
        let (cid, _) = tree
            .resolve(root, &path)
            .map_err(|e| files_error(&c, root, e))?;
        Ok(Value::Str(cid.to_string()))
    })()))
}

/// `FilesMkdir(sid, ps, [flush], [parents])`: `flush` is accepted and ignored (every change
/// is written at once); `parents` (ours, after Leither's arguments) makes missing parents and
/// accepts an existing directory.
pub fn files_mkdir(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 4)?;
        let path = mfs_path(c.str_arg(1, "ps")?);
        let parents = bool_arg(&c, 3);
        change(&c, |t, r| t.mkdir(r, &path, parents))
    })()))
}

/// `FilesCopy(sid, src, dst, [flush])`: `src` is an MFS path or `/ipfs/<cid>[/path]`.
pub fn files_copy(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 4)?;
        let from = c.str_arg(1, "src")?;
        let to = mfs_path(c.str_arg(2, "dst")?);
        if let Some(rest) = from.strip_prefix("/ipfs/") {
            let (cid_text, path) = rest.split_once('/').unwrap_or((rest, ""));
            let cid: Cid = cid_text.parse().map_err(|e| ApiError::BadArguments {
                function: c.entry.name,
                message: format!("\"{}\" is not a CID: {e}", super::truncate(cid_text, 100)),
            })?;
            return change(&c, |t, r| {
                let (src, tsize) = t.resolve(cid, path)?;
                t.put(r, &to, src, tsize, false, false)
            });
        }
        let from = mfs_path(from);
        change(&c, |t, r| t.cp(r, &from, &to))
    })()))
}

/// `FilesMv(sid, src, dst, [flush])`.
pub fn files_mv(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 4)?;
        let from = mfs_path(c.str_arg(1, "src")?);
        let to = mfs_path(c.str_arg(2, "dst")?);
        change(&c, |t, r| t.mv(r, &from, &to))
    })()))
}

/// `FilesRm(sid, ps, [recursive], [flush])`.
pub fn files_rm(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 4)?;
        let path = mfs_path(c.str_arg(1, "ps")?);
        let recursive = bool_arg(&c, 2);
        change(&c, |t, r| t.rm(r, &path, recursive))
    })()))
}

/// `IpfsLs(sid, cid[/path])`: `{cid, type, size, entries}`; `entries` lists a directory
/// (empty for a file). A block of the root, the path or the listing that is not here is
/// fetched from the network (`ipfs get` of a folder a peer holds), as the gateway does: each
/// block it stops at is asked of the peers, at most [`MAX_LS_FETCHES`] times a call.
pub fn ipfs_ls(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let arg = c.str_arg(1, "cid")?;
        let arg = arg.strip_prefix("/ipfs/").unwrap_or(arg);
        let (cid_text, path) = arg.split_once('/').unwrap_or((arg, ""));
        let cid: Cid = cid_text.parse().map_err(|e| ApiError::BadArguments {
            function: c.entry.name,
            message: format!("\"{}\" is not a CID: {e}", super::truncate(cid_text, 100)),
        })?;
        #[cfg(feature = "net")]
        if let Some(net) = c.state.net() {
            return crate::net::sync::walk_fetching(
                net,
                MAX_LS_FETCHES,
                || ls_here(&c, cid, path),
                |f: &LsFail| f.1,
                |missing, ne| -> LsFail {
                    Box::new((
                        ApiError::NotFound(format!(
                            "block {missing} is not on this node, and the network did not give it: {ne}"
                        )),
                        None,
                    ))
                },
            )
            .await
            .map_err(|f| f.0);
        }
        ls_here(&c, cid, path).map_err(|f| f.0)
    })
}

/// Most blocks one `IpfsLs` fetches from the network (the root, path steps, HAMT shards).
#[cfg(feature = "net")]
const MAX_LS_FETCHES: usize = 256;

/// Why `IpfsLs` failed here, and the block that was missing, if one was (to fetch it).
type LsFail = Box<(ApiError, Option<Cid>)>;

/// `IpfsLs` from the blocks here.
fn ls_here(c: &Call<'_>, cid: Cid, path: &str) -> Result<Value, LsFail> {
    let tree = Tree::new(Blocks::new(&c.state.store));
    let err = |e: TreeError| -> LsFail { fail(c.entry.name, e) };
    let session = c
        .session
        .as_ref()
        .ok_or_else(|| Box::new((ApiError::SessionExpired, None)))?;
    let who = crate::ops::blocks::Who::of(session).map_err(|e| Box::new((e, None)))?;
    let mut access = crate::ops::blocks::BlockAccess::new(c.state, who);
    let (target, _) = resolve_walk(&tree, &mut access, cid, path, c.entry.name)?;
    let st = tree.stat_cid(&target).map_err(err)?;
    let entries = if st.kind == crate::store::tree::NodeKind::Directory {
        tree.ls(target, "/").map_err(err)?
    } else {
        Vec::new()
    };
    Ok(Value::map([
        ("cid", Value::Str(target.to_string())),
        ("type", Value::from(st.kind.name())),
        ("size", Value::Int(st.size as i64)),
        (
            "entries",
            Value::List(entries.iter().map(entry_value).collect()),
        ),
    ]))
}

/// A tree error as the API's, with the block that was missing, if one was.
fn fail(function: &'static str, e: TreeError) -> LsFail {
    let missing = match &e {
        TreeError::Dag {
            error: crate::ipfs::exporter::ExportError::Missing(m),
            ..
        } => Some(*m),
        _ => None,
    };
    Box::new((tree_error(function, e), missing))
}

/// The CID and `Tsize` at `path` under `root`, each block on the way (the root, each step)
/// checked for the caller (`ops::blocks`): a path under a private root is private, and so is
/// a private block a public folder links. `function` names the caller in errors.
#[cfg_attr(not(feature = "files"), allow(dead_code))]
pub(crate) fn resolve_checked(
    tree: &Tree<'_>,
    access: &mut crate::ops::blocks::BlockAccess<'_>,
    root: Cid,
    path: &str,
    function: &'static str,
) -> Result<(Cid, u64), ApiError> {
    resolve_walk(tree, access, root, path, function).map_err(|f| f.0)
}

/// [`resolve_checked`], naming the block that was missing when one was.
fn resolve_walk(
    tree: &Tree<'_>,
    access: &mut crate::ops::blocks::BlockAccess<'_>,
    root: Cid,
    path: &str,
    function: &'static str,
) -> Result<(Cid, u64), LsFail> {
    let err = |e| fail(function, e);
    let denied = |e: crate::ops::blocks::BlockError| -> LsFail { Box::new((e.into(), None)) };
    access.check(&root).map_err(denied)?;
    let segs = crate::store::tree::parse_path(path).map_err(err)?;
    if segs.is_empty() {
        return tree.resolve(root, "").map_err(err);
    }
    let mut at = (root, 0);
    for seg in &segs {
        at = tree.resolve(at.0, seg).map_err(err)?;
        access.check(&at.0).map_err(denied)?;
    }
    Ok(at)
}

/// `IpfsMakeDir(sid, [{name, cid, tsize}...], [options])`: a UnixFS directory over stored
/// entries (kubo's CID, sharded when big); `options` as `IpfsAdd`'s (`cid-version=1` makes a
/// CIDv1 directory, `hamt-threshold-rule=at-or-above` shards at exactly 256 KiB as kubo 0.22). Not pinned: pin the top directory when the tree is done. Returns
/// `{cid, dagSize}`.
pub fn ipfs_make_dir(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let bad = |message: String| ApiError::BadArguments {
            function: c.entry.name,
            message,
        };
        let Value::List(items) = &c.args[1] else {
            return Err(bad(format!(
                "argument 2 (entries) must be a list, got {}",
                c.args[1].kind()
            )));
        };
        if items.len() > MAX_MAKEDIR_ENTRIES {
            return Err(bad(format!(
                "more than {MAX_MAKEDIR_ENTRIES} entries in one directory"
            )));
        }
        let (version, rule, mid) = match c.opt_str_arg(2, "options")? {
            Some(q) => {
                let o = crate::http::ipfs_add::options(q).map_err(bad)?;
                (o.import.cid_version, o.import.hamt_rule, o.mid)
            }
            None => (Version::V0, dir::HamtRule::default(), None),
        };
        let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
        if let Some(m) = &mid {
            crate::http::ipfs_add::may_add_for(c.state, session, m)?;
        }
        let store = Blocks::new(&c.state.store);
        let mut entries = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            let name = it.get("name").and_then(Value::as_str);
            let cid = it.get("cid").and_then(Value::as_str);
            let tsize = it.get("tsize").and_then(Value::as_i64);
            let (Some(name), Some(cid), Some(tsize)) = (name, cid, tsize) else {
                return Err(bad(format!(
                    "entry {} must be {{name, cid, tsize}} with a string, a CID and an integer",
                    i + 1
                )));
            };
            let cid: Cid = cid
                .parse()
                .map_err(|e| bad(format!("entry {name:?}: \"{cid}\" is not a CID: {e}")))?;
            if !store.has(&cid)? {
                return Err(ApiError::NotFound(format!(
                    "entry {name:?}: block {cid} is not on this node; add it first"
                )));
            }
            entries.push(DirEntry {
                name: name.to_string(),
                cid,
                tsize: u64::try_from(tsize)
                    .map_err(|_| bad(format!("entry {name:?}: negative tsize")))?,
            });
        }
        let linked: Vec<Cid> = entries.iter().map(|e| e.cid).collect();
        let built = dir::build_with(entries, version, rule).map_err(|e| bad(e.to_string()))?;
        // A plain directory is public; one for a Mimei is its content, built here from the
        // caller's entries, and takes each entry only if the caller may read it.
        let tag = match &mid {
            Some(m) => Tag::Mimei(*m.as_bytes()),
            None => Tag::Public,
        };
        store.put_many_tagged(
            built.blocks.iter().map(|b| (&b.cid, b.data.as_slice())),
            true,
            Some(tag),
        )?;
        if let Some(m) = &mid {
            let who = crate::ops::blocks::Who::of(session)?;
            store
                .tag(
                    &linked,
                    m.as_bytes(),
                    &mut crate::ops::blocks::verdict(c.state, &who),
                )
                .map_err(|e| ApiError::Mimei(e.into()))?;
        }
        Ok(Value::map([
            ("cid", Value::Str(built.cid.to_string())),
            ("dagSize", Value::Int(built.dag_size as i64)),
        ]))
    })()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn leither_spells_an_mfs_path_three_ways() {
        for p in ["/a/b", "files://a/b", "files/a/b"] {
            assert_eq!(super::mfs_path(p), "/a/b", "{p}");
        }
        assert_eq!(super::mfs_path("files://"), "/");
        assert_eq!(super::mfs_path("/"), "/");
    }
}
