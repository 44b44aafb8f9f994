//! `POST /ipfs/car`: a CAR v1 file streamed into the block store (`leither dag import`).
//!
//! The body is read in 64 KiB pieces into [`CarReader`], which checks every block's SHA-256
//! against its CID before yielding it (a block that does not match ends the import with 400:
//! nothing of a forged block is stored). Blocks are written in batches of a few MiB, one
//! transaction each; when the stream is complete, each root in the header that is stored is
//! pinned recursively. An import that fails halfway leaves only unpinned blocks for `repo gc`.
//!
//! Query: `sid` (a user session; or `Authorization: Bearer SID`), `pin-roots` (default true).
//! Answer: `{"blocks": N, "bytes": B, "roots": [{"cid": ..., "pinned": bool, "error": ...}]}`.

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::ipfs_add::authorize;
use super::reply::{json_body, json_error, query, send, session_id};
use crate::api::{NodeState, Value};
use crate::ipfs::car::{CarItem, CarReader};
use crate::ipfs::cid::Cid;
use crate::store::blocks::{BATCH_BYTES, Blocks};

const JSON: &str = "application/json";

/// What an import did.
struct Imported {
    roots: Vec<Cid>,
    blocks: u64,
    bytes: u64,
}

/// Handles `POST /ipfs/car`.
pub async fn post<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let query = query(&request.parts);
    let length = request.body_connection.content_length();
    if let Err((s, b)) = authorize(
        state,
        session_id(&request.parts).as_deref(),
        "import",
        length,
        None,
    ) {
        return send(request, writer, s, JSON, b).await;
    }
    if request.parts.headers().get("transfer-encoding").is_some() {
        let b = json_error(
            "send the CAR with a Content-Length (chunked uploads are not accepted)",
            "length_required",
        );
        return send(request, writer, 411, JSON, b).await;
    }
    let pin = !query.split('&').any(|kv| kv == "pin-roots=false");
    let result = {
        let mut reader = request.body_connection.body().reader();
        import_stream(state, length, &mut reader).await
    };
    let (status, body) = match result {
        Ok(done) => {
            crate::log_info!("dag import: {} blocks, {} bytes", done.blocks, done.bytes);
            let store = Blocks::new(&state.store);
            let roots = done
                .roots
                .iter()
                .map(|root| {
                    let outcome = if !pin {
                        Ok(false)
                    } else {
                        match store.has(root) {
                            Ok(false) => Err("the CAR does not hold this root".to_string()),
                            Ok(true) => store
                                .pin_add(root, true)
                                .map(|_| true)
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        }
                    };
                    let mut m = vec![
                        ("cid", Value::Str(root.to_string())),
                        ("pinned", Value::Bool(matches!(outcome, Ok(true)))),
                    ];
                    if let Err(e) = outcome {
                        m.push(("error", Value::Str(e)));
                    }
                    Value::map(m)
                })
                .collect();
            let v = Value::map([
                ("blocks", Value::Int(done.blocks as i64)),
                ("bytes", Value::Int(done.bytes as i64)),
                ("roots", Value::List(roots)),
            ]);
            (200, json_body(&v))
        }
        Err((status, message)) => {
            crate::log_warn!("dag import failed: {message}");
            (status, json_error(&message, "import_failed"))
        }
    };
    send(request, writer, status, JSON, body).await
}

/// Reads `length` bytes of CAR from `reader` into the store.
async fn import_stream<R: Read>(
    state: &NodeState,
    length: usize,
    reader: &mut R,
) -> Result<Imported, (u16, String)> {
    let blocks = Blocks::new(&state.store);
    let mut car = CarReader::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut batch = Vec::new();
    let mut batch_bytes = 0usize;
    let mut done = Imported {
        roots: Vec::new(),
        blocks: 0,
        bytes: 0,
    };
    let mut left = length;
    let store_err =
        |e: crate::store::StoreError| (507, format!("the import failed, nothing was pinned: {e}"));
    let flush = |batch: &mut Vec<crate::ipfs::Block>, durable| -> Result<(), (u16, String)> {
        // CarReader checked each block's hash against its CID already. A plain import: the
        // blocks are public (docs/security.md, "Blocks by CID"). Batches before the last are
        // not flushed: the last one makes them durable together (a crash before it loses
        // them, unpinned and unnamed as they were).
        blocks
            .put_many_tagged(
                batch.iter().map(|b| (&b.cid, b.data.as_slice())),
                durable,
                Some(crate::store::tags::Tag::Public),
            )
            .map_err(store_err)?;
        batch.clear();
        Ok(())
    };
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
        let items = car
            .push(&buf[..n])
            .map_err(|e| (400, format!("{e}; nothing was pinned")))?;
        for item in items {
            match item {
                CarItem::Header(r) => done.roots = r,
                CarItem::Block(b) => {
                    done.blocks += 1;
                    done.bytes += b.data.len() as u64;
                    batch_bytes += b.data.len();
                    batch.push(b);
                }
            }
        }
        if batch_bytes >= BATCH_BYTES {
            flush(&mut batch, false)?;
            batch_bytes = 0;
            tokio::task::yield_now().await;
        }
    }
    car.finish()
        .map_err(|e| (400, format!("{e}; nothing was pinned")))?;
    flush(&mut batch, true)?;
    Ok(done)
}
