//! `POST /ipfs/add`: a file streamed into the block store, for `leither ipfs add` and for
//! browsers and scripts (`curl --data-binary @FILE`).
//!
//! The body is read in 256 KiB pieces into the importer; its blocks are written in batches
//! of 1 MiB, one transaction each (flushed only with the last one), and the root is pinned
//! last. An add that fails
//! halfway (client gone, disk full) leaves only unpinned blocks: invisible to pins and
//! removed by the next `repo gc`. Memory stays one chunk, one batch and the importer's
//! pending links, whatever the file's size.
//!
//! Query: `sid` (a user or owner session; or `Authorization: Bearer SID`), `cid-version`
//! (0 or 1), `raw-leaves` (true/false), `chunker` (`size-N`), `trickle` (true),
//! `hamt-threshold-rule` (`above` or `at-or-above`: read by `IpfsMakeDir`, which takes these
//! options too; docs/ipfs-formats.md), `pin` (default true), `mid` (the file is content of that Mimei, which the session must be able to
//! write: its blocks are as private as the Mimei; without it the add is plain and its blocks
//! are public, as in IPFS; docs/security.md "Blocks by CID"). Answer: `{"cid": ..., "size":
//! ..., "dagSize": ...}` (`dagSize` is the `Tsize` a directory link to the file carries, for
//! `IpfsMakeDir`).

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::reply::{json_body, json_error, query, send, session_id};
use crate::api::{NodeState, Value};
use crate::ipfs::dir::HamtRule;
use crate::ipfs::importer::{FileImporter, ImportOptions, Layout};
use crate::mimei::MimeiId;
use crate::store::blocks::{BATCH_BYTES, Blocks};
use crate::store::tags::Tag;

const JSON: &str = "application/json";
/// The body is read in pieces of one default chunk.
const READ_BYTES: usize = 256 * 1024;
/// The largest chunk size accepted (bitswap's block limit is 2 MiB).
const MAX_CHUNK: usize = 1 << 20;

/// What the query of an add asks for.
pub struct AddOptions {
    /// How to build the DAG.
    pub import: ImportOptions,
    /// Pin the root (default true).
    pub pin: bool,
    /// The Mimei the content is for (`mid=`); `None`: a plain, public add.
    pub mid: Option<MimeiId>,
}

impl AddOptions {
    /// The tag the blocks get in the block index (`store::tags`).
    pub fn tag(&self) -> Tag {
        match &self.mid {
            Some(m) => Tag::Mimei(*m.as_bytes()),
            None => Tag::Public,
        }
    }
}

/// Import options from the query string, or a message saying which one is wrong.
pub fn options(query: &str) -> Result<AddOptions, String> {
    let mut o = ImportOptions::default();
    let mut pin = true;
    let mut mid = None;
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
        let flag = |v: &str| match v {
            "true" | "1" | "" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("{k} must be true or false, not \"{v}\"")),
        };
        match k {
            "cid-version" => {
                o.cid_version = match v {
                    "0" => crate::ipfs::cid::Version::V0,
                    "1" => crate::ipfs::cid::Version::V1,
                    _ => return Err(format!("cid-version must be 0 or 1, not \"{v}\"")),
                }
            }
            "raw-leaves" => o.raw_leaves = Some(flag(v)?),
            "trickle" => {
                o.layout = if flag(v)? {
                    Layout::Trickle
                } else {
                    Layout::Balanced
                }
            }
            "hamt-threshold-rule" => {
                o.hamt_rule = HamtRule::parse(v).ok_or_else(|| {
                    format!(
                        "hamt-threshold-rule must be {}, not \"{v}\"",
                        HamtRule::NAMES
                    )
                })?
            }
            "pin" => pin = flag(v)?,
            "chunker" => {
                let n = v
                    .strip_prefix("size-")
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| (1..=MAX_CHUNK).contains(n))
                    .ok_or_else(|| {
                        format!("chunker must be size-N with N from 1 to {MAX_CHUNK}, not \"{v}\"")
                    })?;
                o.chunk_size = n;
            }
            "mid" => {
                mid = Some(
                    v.parse::<MimeiId>()
                        .map_err(|e| format!("mid must be a Mimei ID: {e}"))?,
                )
            }
            "sid" => {}
            _ => return Err(format!("unknown option \"{k}\"")),
        }
    }
    Ok(AddOptions {
        import: o,
        pin,
        mid,
    })
}

/// For an add `for` a Mimei: the session must be able to write it (`ops::mimei`).
pub(crate) fn may_add_for(
    state: &NodeState,
    session: &crate::api::Session,
    mid: &MimeiId,
) -> Result<(), crate::api::ApiError> {
    let user = crate::ops::session::uid(session)?;
    crate::ops::mimei::authorize(state, user.as_ref(), mid, crate::mimei::Right::WRITE)?;
    Ok(())
}

/// Checks the session of an upload of `length` bytes (from [`super::reply::session_id`]): a
/// user of this node ([`crate::api::need_member`]) within `QuotaAddMBPerDay`, which the
/// upload is charged to. `what` names the upload in messages. On failure: the status and a
/// JSON error body.
pub(crate) fn authorize(
    state: &NodeState,
    sid: Option<&str>,
    what: &'static str,
    length: usize,
    mid: Option<&MimeiId>,
) -> Result<(), (u16, Vec<u8>)> {
    let fail = |status: u16, msg: &str, code: &str| Err((status, json_error(msg, code)));
    let Some(sid) = sid else {
        return fail(
            401,
            &format!(
                "{what} needs a user session: pass ?sid=SID or Authorization: Bearer SID (from Login)"
            ),
            "no_session",
        );
    };
    let now = crate::clock::unix_now();
    let session = crate::ops::session::touch(state, sid);
    let checked = session.and_then(|s| {
        crate::api::need_member(&s, what)?;
        if let Some(m) = mid {
            may_add_for(state, &s, m)?;
        }
        let quotas = state.vars.borrow().quotas.clone();
        crate::accounts::quota::charge_add(&state.store, &s, &quotas, length as u64, now)
    });
    match checked {
        Ok(()) => Ok(()),
        Err(e) => fail(e.http_status(), &e.to_string(), e.code()),
    }
}

/// Handles `POST /ipfs/add`.
pub async fn post<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let query = query(&request.parts);
    let length = request.body_connection.content_length();
    let fail = |status: u16, msg: &str, code: &str| (status, json_error(msg, code));
    let opts = options(&query)
        .map_err(|m| fail(400, &m, "bad_option"))
        .and_then(|o| {
            let sid = session_id(&request.parts);
            authorize(state, sid.as_deref(), "add", length, o.mid.as_ref()).map(|()| o)
        });
    if request.parts.headers().get("transfer-encoding").is_some() {
        let (s, b) = fail(
            411,
            "send the file with a Content-Length (chunked uploads are not accepted)",
            "length_required",
        );
        return send(request, writer, s, JSON, b).await;
    }
    let opts = match opts {
        Ok(o) => o,
        Err((s, b)) => return send(request, writer, s, JSON, b).await,
    };
    let result = {
        let mut reader = request.body_connection.body().reader();
        add_stream(state, opts, length, &mut reader).await
    };
    let (status, body) = match result {
        Ok((cid, size, dag_size)) => {
            crate::log_info!("ipfs add {cid} ({size} bytes)");
            let v = Value::map([
                ("cid", Value::Str(cid.to_string())),
                ("size", Value::Int(size as i64)),
                ("dagSize", Value::Int(dag_size as i64)),
            ]);
            (200, json_body(&v))
        }
        Err((status, message)) => {
            crate::log_warn!("ipfs add failed: {message}");
            (status, json_error(&message, "add_failed"))
        }
    };
    send(request, writer, status, JSON, body).await
}

/// Reads `length` bytes from `reader` into the importer and the store, each block tagged as
/// `opts` says; pins the root.
async fn add_stream<R: Read>(
    state: &NodeState,
    opts: AddOptions,
    length: usize,
    reader: &mut R,
) -> Result<(crate::ipfs::cid::Cid, u64, u64), (u16, String)> {
    let blocks = Blocks::new(&state.store);
    let tag = Some(opts.tag());
    let mut importer = FileImporter::new(opts.import).map_err(|e| (400, e.to_string()))?;
    let mut buf = vec![0u8; READ_BYTES];
    let mut batch = Vec::new();
    let mut batch_bytes = 0usize;
    let mut left = length;
    let store_err =
        |e: crate::store::StoreError| (507, format!("the add failed and was not pinned: {e}"));
    while left > 0 {
        let want = left.min(buf.len());
        let n = reader
            .read(&mut buf[..want])
            .await
            .map_err(|_| (400, "the upload broke off; nothing was pinned".to_string()))?;
        if n == 0 {
            return Err((400, "the upload ended early; nothing was pinned".into()));
        }
        left -= n;
        for b in importer.push(&buf[..n]) {
            batch_bytes += b.data.len();
            batch.push(b);
        }
        if batch_bytes >= BATCH_BYTES {
            // Not flushed: the last batch below (or the pin) makes them durable together.
            blocks
                .put_many_tagged(
                    batch.iter().map(|b| (&b.cid, b.data.as_slice())),
                    false,
                    tag,
                )
                .map_err(store_err)?;
            batch.clear();
            batch_bytes = 0;
            // Let other connections run between batches.
            tokio::task::yield_now().await;
        }
    }
    let done = importer.finish();
    batch.extend(done.blocks);
    blocks
        .put_many_tagged(batch.iter().map(|b| (&b.cid, b.data.as_slice())), true, tag)
        .map_err(store_err)?;
    if opts.pin {
        blocks.pin_add(&done.root, true).map_err(store_err)?;
    }
    Ok((done.root, done.size, done.dag_size))
}
