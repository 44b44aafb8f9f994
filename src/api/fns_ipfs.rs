//! IPFS functions of the table: `IpfsAdd` (small data; big files stream to `POST /ipfs/add`),
//! `IpfsCat` (small files), pins and `RepoGc`.

use std::future::ready;

use super::{ApiError, ApiFuture, Call, Value};
use crate::ipfs::cid::Cid;
use crate::ipfs::importer::{FileImporter, ImportOptions};
use crate::store::blocks::Blocks;
use crate::store::pins::PinKind;

/// Largest file `IpfsCat` returns in one answer; bigger ones are read from the gateway.
pub const MAX_CAT: u64 = 1 << 20;

fn cid_arg(c: &Call<'_>, i: usize) -> Result<Cid, ApiError> {
    let text = c.str_arg(i, "cid")?;
    text.parse().map_err(|e| ApiError::BadArguments {
        function: c.entry.name,
        message: format!("\"{}\" is not a CID: {e}", super::truncate(text, 100)),
    })
}

/// `IpfsAdd(sid, data, [options])`: adds a string or bytes as a file, pins it, returns
/// `{cid, size}`. `options` is the query form of `POST /ipfs/add` (`cid-version=1&...`).
pub fn ipfs_add(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let data: &[u8] = match &c.args[1] {
            Value::Str(s) => s.as_bytes(),
            Value::Bytes(b) => b,
            v => {
                return Err(ApiError::BadArguments {
                    function: c.entry.name,
                    message: format!(
                        "argument 2 (data) must be a string or bytes, got {}",
                        v.kind()
                    ),
                });
            }
        };
        let opts = match c.opt_str_arg(2, "options")? {
            Some(q) => crate::http::ipfs_add::options(q).map_err(|m| ApiError::BadArguments {
                function: c.entry.name,
                message: m,
            })?,
            None => crate::http::ipfs_add::AddOptions {
                import: ImportOptions::default(),
                pin: true,
                mid: None,
            },
        };
        let (tag, pin) = (opts.tag(), opts.pin);
        let mut imp = FileImporter::new(opts.import).map_err(|e| ApiError::BadArguments {
            function: c.entry.name,
            message: e.to_string(),
        })?;
        let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
        if let Some(m) = &opts.mid {
            crate::http::ipfs_add::may_add_for(c.state, session, m)?;
        }
        super::need_member_to_add(c.state, session, c.entry.name, data.len())?;
        let mut blocks = imp.push(data);
        let done = imp.finish();
        blocks.extend(done.blocks);
        let store = Blocks::new(&c.state.store);
        store.put_many_tagged(
            blocks.iter().map(|b| (&b.cid, b.data.as_slice())),
            true,
            Some(tag),
        )?;
        if pin {
            store.pin_add(&done.root, true)?;
        }
        Ok(Value::map([
            ("cid", Value::Str(done.root.to_string())),
            ("size", Value::Int(done.size as i64)),
        ]))
    })()))
}

/// `IpfsCat(sid, cid)`: a file of up to 1 MiB as bytes.
pub fn ipfs_cat(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let cid = cid_arg(&c, 1)?;
        let store = Blocks::new(&c.state.store);
        let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
        // Each block read by CID is checked for the caller, not only the root
        // (ops::blocks, docs/security.md "Blocks by CID").
        let mut access =
            crate::ops::blocks::BlockAccess::new(c.state, crate::ops::blocks::Who::of(session)?);
        let mut out = Vec::new();
        let fetch = |x: &Cid| -> Result<Vec<u8>, ApiError> {
            access.check(x)?;
            store
                .get(x)?
                .ok_or_else(|| ApiError::NotFound(format!("block {x} not found on this node")))
        };
        let size = crate::ipfs::exporter::read_range(cid, 0, MAX_CAT + 1, fetch, |d| {
            out.extend_from_slice(d)
        })?;
        if size > MAX_CAT {
            return Err(ApiError::BadArguments {
                function: c.entry.name,
                message: format!(
                    "{cid} is {size} bytes; read files over {MAX_CAT} bytes from GET /ipfs/{cid}"
                ),
            });
        }
        Ok(Value::Bytes(out))
    })()))
}

/// `IpfsPinAdd(sid, cid, [recursive=true])`.
pub fn pin_add(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let cid = cid_arg(&c, 1)?;
        let recursive = !matches!(c.args.get(2), Some(Value::Bool(false)));
        let added = Blocks::new(&c.state.store).pin_add(&cid, recursive)?;
        Ok(Value::map([
            ("cid", Value::Str(cid.to_string())),
            ("kind", Value::from(kind_name(added.kind))),
        ]))
    })()))
}

/// `IpfsPinRm(sid, cid)`.
pub fn pin_rm(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let cid = cid_arg(&c, 1)?;
        match Blocks::new(&c.state.store).pin_rm(&cid)? {
            Some(_) => Ok(Value::Bool(true)),
            None => Err(ApiError::NotFound(format!("{cid} is not pinned"))),
        }
    })()))
}

/// `IpfsPinLs(sid)`: `[{cid, kind}]`.
pub fn pin_ls(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let pins = Blocks::new(&c.state.store).pins()?;
        Ok(Value::List(
            pins.into_iter()
                .map(|(cid, k)| {
                    Value::map([
                        ("cid", Value::Str(cid.to_string())),
                        ("kind", Value::from(kind_name(k))),
                    ])
                })
                .collect(),
        ))
    })()))
}

/// `RepoGc(sid)`: removes every block no pin, no Mimei (`cur` or a version) and not the MFS
/// root reaches.
pub fn repo_gc(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let mut roots = crate::mimei::store::mimei_roots(&c.state.store)?;
        // The MFS root (`files ...`) is kept as a root too, not pinned: see store/mfs.rs.
        roots.extend(crate::store::mfs::gc_roots(&c.state.store)?);
        let r = Blocks::new(&c.state.store).gc(&roots)?;
        Ok(Value::map([
            ("removed", Value::Int(r.removed as i64)),
            ("kept", Value::Int(r.kept as i64)),
            ("bytesFreed", Value::Int(r.bytes_freed as i64)),
        ]))
    })()))
}

fn kind_name(k: PinKind) -> &'static str {
    match k {
        PinKind::Direct => "direct",
        PinKind::Recursive => "recursive",
    }
}
