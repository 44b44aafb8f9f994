//! The IPFS gateway: `GET`/`HEAD /ipfs/<cid>[/path]`, served from the node's block store.
//!
//! Files stream block by block through the exporter (memory stays one block per tree level,
//! whatever the file's size), with a single `Range`, `ETag` = the CID, immutable caching
//! headers and a content type from the name. A directory answers its `index.html` or a small
//! HTML listing. `?format=raw` answers the block itself (`application/vnd.ipld.raw`),
//! `?format=car` the whole DAG as CAR v1 (`application/vnd.ipld.car`).
//!
//! Errors name what failed: an unparsable CID or path is 400, a missing block or name 404. A
//! block found missing or corrupt after the headers went out ends the body early, so the
//! client sees a short read against `Content-Length`, never wrong bytes.
//!
//! Every block read, the root, each one a path walks and each one streamed, is checked
//! against the rule of `ops::blocks` for the caller (`?sid=` or `Authorization: Bearer`, a
//! guest without): a private Mimei's blocks go only to whoever may read it, 403 naming the
//! rule (docs/security.md, "Blocks by CID"). A refusal met while streaming ends the body
//! early, as a missing block does.

use picoserve::ResponseSent;
use picoserve::io::{Read, Write};
use picoserve::request::Request;
use picoserve::response::custom::{CustomBody, CustomResponse};
use picoserve::response::{IntoResponse, Response, ResponseWriter, StatusCode};

use super::reply::{CORS, send};
use crate::api::NodeState;
use crate::ipfs::cid::{Cid, Codec};
use crate::ipfs::dagpb::PbNode;
use crate::ipfs::exporter::{self, FileReader, Step};
use crate::ipfs::unixfs::{DataType, UnixFs};
use crate::ops::blocks::{BlockAccess, BlockError};
use crate::store::StoreError;
use crate::store::blocks::Blocks;

/// Most directory entries listed or searched in one request.
const MAX_LISTING: usize = 100_000;
/// Deepest path resolved.
const MAX_PATH_SEGMENTS: usize = 64;
/// Immutable content: cache for a year.
const CACHE: &str = "public, max-age=29030400, immutable";
/// [`CACHE`] for content served only because of the caller's rights: no shared cache may
/// keep it (`public` would let one store an answer to a request with `Authorization`).
const PRIVATE_CACHE: &str = "private, max-age=29030400, immutable";
/// What a front's `no-cache` becomes for such content.
const PRIVATE_NO_CACHE: &str = "private, no-cache";

/// What a failed lookup answers: status, message, and the block it lacked if that is why
/// (the network may have it).
#[cfg_attr(not(feature = "net"), allow(dead_code))]
struct Fail(u16, String, Option<Cid>);

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail(500, e.to_string(), None)
    }
}

impl From<exporter::ExportError> for Fail {
    fn from(e: exporter::ExportError) -> Self {
        match e {
            exporter::ExportError::Missing(c) => Fail(404, format!("block {c} not found"), Some(c)),
            other => Fail(502, format!("cannot read the DAG: {other}"), None),
        }
    }
}

impl From<BlockError> for Fail {
    fn from(e: BlockError) -> Self {
        Fail(e.http_status(), e.to_string(), None)
    }
}

/// The block store as one caller sees it: each block is checked (`ops::blocks`) before it is
/// read, and a refused one is never looked for on the network.
pub(crate) struct Reads<'a> {
    state: &'a NodeState,
    access: std::cell::RefCell<BlockAccess<'a>>,
}

impl<'a> Reads<'a> {
    /// Reads for the caller `access` checks.
    pub(crate) fn new(state: &'a NodeState, access: BlockAccess<'a>) -> Self {
        Reads {
            state,
            access: std::cell::RefCell::new(access),
        }
    }

    fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, Fail> {
        self.access.borrow_mut().check(cid)?;
        Blocks::new(&self.state.store).get(cid)?.ok_or_else(|| {
            Fail(
                404,
                format!("block {cid} not found on this node"),
                Some(*cid),
            )
        })
    }
}

/// The node a path names, with what is known of it.
struct Target {
    cid: Cid,
    block: Vec<u8>,
    name: Option<String>,
}

/// Decodes `%XX` escapes of one path segment.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Walks `segments` from the root CID through directories.
fn resolve(reads: &Reads<'_>, root: Cid, segments: &[String]) -> Result<Target, Fail> {
    let mut cid = root;
    let mut block = reads.fetch(&cid)?;
    let mut name = None;
    for seg in segments {
        if cid.codec() != Codec::DagPb {
            return Err(Fail(
                404,
                format!("{cid} is not a dag-pb directory, it has no \"{seg}\""),
                None,
            ));
        }
        let found = find_entry(reads, &block, seg)?
            .ok_or_else(|| Fail(404, format!("no link named \"{seg}\" under {cid}"), None))?;
        cid = found;
        block = reads.fetch(&cid)?;
        name = Some(seg.clone());
    }
    Ok(Target { cid, block, name })
}

/// The CID of entry `name` of the directory `block` ([`exporter::find_in`], the one lookup).
fn find_entry(reads: &Reads<'_>, block: &[u8], name: &str) -> Result<Option<Cid>, Fail> {
    let listing = exporter::list_directory(block)
        .map_err(|e| Fail(404, format!("not a directory: {e}"), None))?;
    let found = exporter::find_in(
        listing,
        name,
        MAX_LISTING,
        |c: &Cid| reads.fetch(c),
        || {
            Fail(
                502,
                "directory shards exceed the listing limit".into(),
                None,
            )
        },
    )?;
    Ok(found.map(|e| e.cid))
}

/// What a resolved node is.
enum Kind {
    /// A file of this many bytes.
    File(u64),
    /// A directory (plain or sharded).
    Dir,
}

fn kind_of(t: &Target) -> Result<Kind, Fail> {
    if t.cid.codec() == Codec::Raw {
        return Ok(Kind::File(t.block.len() as u64));
    }
    let bad = |e: String| Fail(502, format!("{} is not a UnixFS node: {e}", t.cid), None);
    let node = PbNode::decode(&t.block).map_err(|e| bad(e.to_string()))?;
    let data = node.data.as_deref().ok_or_else(|| bad("no data".into()))?;
    let fs = UnixFs::decode(data).map_err(|e| bad(e.to_string()))?;
    match fs.kind {
        DataType::File | DataType::Raw => Ok(Kind::File(
            fs.filesize
                .unwrap_or(fs.data.as_ref().map_or(0, |d| d.len() as u64)),
        )),
        DataType::Directory | DataType::HamtShard => Ok(Kind::Dir),
        other => Err(Fail(
            501,
            format!("{} is a {other:?}, which the gateway does not serve", t.cid),
            None,
        )),
    }
}

/// The content type for a file name (by extension), else sniffed from its first bytes.
pub fn content_type(name: Option<&str>, head: &[u8]) -> &'static str {
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    let by_ext = match ext.as_deref() {
        Some("html" | "htm") => Some("text/html; charset=utf-8"),
        Some("css") => Some("text/css; charset=utf-8"),
        Some("js" | "mjs") => Some("text/javascript; charset=utf-8"),
        Some("json") => Some("application/json"),
        Some("txt" | "md") => Some("text/plain; charset=utf-8"),
        Some("xml") => Some("application/xml"),
        Some("svg") => Some("image/svg+xml"),
        Some("png") => Some("image/png"),
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("gif") => Some("image/gif"),
        Some("webp") => Some("image/webp"),
        Some("ico") => Some("image/x-icon"),
        Some("wasm") => Some("application/wasm"),
        Some("pdf") => Some("application/pdf"),
        Some("mp4") => Some("video/mp4"),
        Some("webm") => Some("video/webm"),
        Some("mp3") => Some("audio/mpeg"),
        Some("wav") => Some("audio/wav"),
        Some("woff2") => Some("font/woff2"),
        Some("zip") => Some("application/zip"),
        Some("gz") => Some("application/gzip"),
        Some("tar") => Some("application/x-tar"),
        Some("car") => Some("application/vnd.ipld.car"),
        _ => None,
    };
    if let Some(t) = by_ext {
        return t;
    }
    if head.starts_with(b"\x89PNG") {
        "image/png"
    } else if head.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if head.starts_with(b"GIF8") {
        "image/gif"
    } else if head.starts_with(b"%PDF") {
        "application/pdf"
    } else if head.is_empty() || (std::str::from_utf8(head).is_ok() && !head.contains(&0)) {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// Parses a `Range` header against a size: `None` serves the whole file (no header, or a
/// form we do not serve such as several ranges), `Some(Err)` is unsatisfiable (416).
pub fn parse_range(header: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        (size.saturating_sub(n), size)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            size
        } else {
            let last: u64 = b.parse().ok()?;
            if last < start {
                return None;
            }
            last.saturating_add(1).min(size)
        };
        (start, end)
    };
    if range.0 >= size {
        return Some(Err(()));
    }
    Some(Ok(range))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Percent-encodes a path segment (everything but unreserved characters).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A file's bytes `[start, end)`, streamed block by block.
struct FileBody<'a> {
    reads: Reads<'a>,
    cid: Cid,
    start: u64,
    end: u64,
}

impl CustomBody for FileBody<'_> {
    async fn write_response_body<W: Write>(self, mut writer: W) -> Result<(), W::Error> {
        let mut r = FileReader::new(self.cid, self.start, self.end);
        loop {
            let step = match r.step() {
                Ok(s) => s,
                Err(e) => {
                    crate::log_warn!("gateway: reading {} stopped: {e}", self.cid);
                    return Ok(());
                }
            };
            match step {
                Step::Need(c) => {
                    // The store checked the block (checksum on read, hash on arrival).
                    let provided = self.reads.fetch(&c).map(|b| r.provide_checked(b));
                    match provided {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            crate::log_warn!("gateway: block {c} of {}: {e}", self.cid);
                            return Ok(());
                        }
                        Err(Fail(_, m, _)) => {
                            crate::log_warn!("gateway: {m} (reading {})", self.cid);
                            return Ok(());
                        }
                    }
                }
                Step::Data(d) => writer.write_all(d).await?,
                Step::Done => return Ok(()),
            }
        }
    }
}

/// The DAG under a root as CAR v1, depth first, each block once.
struct CarBody<'a> {
    reads: Reads<'a>,
    root: Cid,
}

impl CustomBody for CarBody<'_> {
    async fn write_response_body<W: Write>(self, mut writer: W) -> Result<(), W::Error> {
        writer
            .write_all(&crate::ipfs::car::encode_header(&[self.root]))
            .await?;
        let mut stack = vec![self.root];
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            let block = match self.reads.fetch(&cid) {
                Ok(b) => b,
                Err(Fail(_, m, _)) => {
                    crate::log_warn!("gateway: CAR of {} stopped: {m}", self.root);
                    return Ok(());
                }
            };
            // dag-pb (files) and dag-cbor (database versions) name their links.
            if let Some(links) = crate::store::gc::links(cid.codec(), &block) {
                stack.extend(links.into_iter().rev());
            }
            out.clear();
            crate::ipfs::car::encode_block(&cid, &block, &mut out);
            writer.write_all(&out).await?;
        }
        Ok(())
    }
}

fn listing_html(reads: &Reads<'_>, t: &Target, url_path: &str) -> Result<String, Fail> {
    let entries = exporter::list_all(t.cid, MAX_LISTING, |c: &Cid| reads.fetch(c))?;
    let base = url_path.trim_end_matches('/');
    let mut s = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{0}</title></head><body><h1>{0}</h1><ul>",
        html_escape(url_path)
    );
    for e in &entries {
        s.push_str(&format!(
            "<li><a href=\"{base}/{}\">{}</a> {}</li>",
            percent_encode(&e.name),
            html_escape(&e.name),
            e.tsize
        ));
    }
    s.push_str("</ul></body></html>");
    Ok(s)
}

/// Handles `GET`/`HEAD /ipfs/...`.
pub async fn get<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let sid = super::reply::session_id(&request.parts);
    let access = BlockAccess::for_sid(state, sid);
    get_with(state, path, CACHE, access, request, writer).await
}

/// [`get`] for another front (`/mm/`, src/http/mm.rs): `path` is an `/ipfs/<cid>[/path]` the
/// caller resolved, `cache` the `Cache-Control` to send (a Mimei's `last` or `cur` changes, so
/// it must not be cached as immutable), `access` the caller's checks (`within` the Mimei the
/// front found it may read).
pub(crate) async fn get_with<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    cache: &'static str,
    access: BlockAccess<'_>,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let reads = Reads::new(state, access);
    let head = request.parts.method() == "HEAD";
    let query = super::reply::query(&request.parts);
    let header = |n: &str| {
        request
            .parts
            .headers()
            .get(n)
            .and_then(|v| v.as_str().ok().map(str::to_string))
    };
    let format = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("format="))
        .map(str::to_string)
        .or_else(|| match header("accept").as_deref() {
            Some(a) if a.contains("application/vnd.ipld.raw") => Some("raw".into()),
            Some(a) if a.contains("application/vnd.ipld.car") => Some("car".into()),
            _ => None,
        });
    let range = header("range");
    let if_none_match = header("if-none-match");
    let plan = plan_with_net(&reads, path, format.as_deref()).await;
    let plan = match plan {
        Ok(p) => p,
        Err(Fail(status, message, _)) => {
            let body = super::reply::json_error(&message, "gateway");
            return send(request, writer, status, "application/json", body).await;
        }
    };
    let cache = if reads.access.borrow().restricted() {
        if cache == CACHE {
            PRIVATE_CACHE
        } else {
            PRIVATE_NO_CACHE
        }
    } else {
        cache
    };
    let etag = match &plan {
        Plan::Raw(t) => format!("\"{}.raw\"", t.cid),
        Plan::Car(c) => format!("\"{c}.car\""),
        Plan::Html(t, _) | Plan::File(t, _, _) => format!("\"{}\"", t.cid),
    };
    if if_none_match.as_deref() == Some(etag.as_str()) {
        let connection = request.body_connection.finalize().await?;
        return Response::empty(StatusCode::new(304))
            .with_headers(CORS)
            .with_headers([("ETag", etag.as_str()), ("Cache-Control", cache)])
            .write_to(connection, writer)
            .await;
    }
    match plan {
        Plan::Raw(t) => {
            let ctype = "application/vnd.ipld.raw";
            let body = if head { Vec::new() } else { t.block };
            send_cached(request, writer, 200, ctype, body, &etag, cache).await
        }
        Plan::Html(_, html) => {
            let body = if head { Vec::new() } else { html.into_bytes() };
            send_cached(
                request,
                writer,
                200,
                "text/html; charset=utf-8",
                body,
                &etag,
                cache,
            )
            .await
        }
        Plan::Car(root) => {
            let connection = request.body_connection.finalize().await?;
            CustomResponse::build(StatusCode::OK)
                .with_headers(CORS)
                .with_headers([
                    ("Content-Type", "application/vnd.ipld.car; version=1"),
                    ("ETag", etag.as_str()),
                    ("Cache-Control", cache),
                ])
                .with_body(CarBody { reads, root })
                .write_to(connection, writer)
                .await
        }
        Plan::File(t, size, ctype) => {
            let (status, start, end) = match range.as_deref().and_then(|r| parse_range(r, size)) {
                None => (200, 0, size),
                Some(Ok((a, b))) => (206, a, b),
                Some(Err(())) => {
                    let connection = request.body_connection.finalize().await?;
                    return Response::empty(StatusCode::new(416))
                        .with_headers(CORS)
                        .with_header("Content-Range", format_args!("bytes */{size}"))
                        .with_header("Content-Length", 0)
                        .write_to(connection, writer)
                        .await;
                }
            };
            let connection = request.body_connection.finalize().await?;
            let content_range = format!("bytes {start}-{}/{size}", end.saturating_sub(1));
            let range_header = (status == 206).then_some(("Content-Range", content_range.as_str()));
            let length = end - start;
            let builder = CustomResponse::build(StatusCode::new(status))
                .with_headers(CORS)
                .with_headers([
                    ("Content-Type", ctype),
                    ("ETag", etag.as_str()),
                    ("Cache-Control", cache),
                    ("Accept-Ranges", "bytes"),
                ])
                .with_header("Content-Length", length)
                .with_headers(range_header);
            let (start, end) = if head { (0, 0) } else { (start, end) };
            builder
                .with_body(FileBody {
                    reads,
                    cid: t.cid,
                    start,
                    end,
                })
                .write_to(connection, writer)
                .await
        }
    }
}

async fn send_cached<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    etag: &str,
    cache: &'static str,
) -> Result<ResponseSent, W::Error> {
    let connection = request.body_connection.finalize().await?;
    Response::new(StatusCode::new(status), body)
        .with_content_type(content_type)
        .with_headers(CORS)
        .with_headers([("ETag", etag), ("Cache-Control", cache)])
        .write_to(connection, writer)
        .await
}

/// What to answer, decided before anything is written.
enum Plan {
    Raw(Target),
    Car(Cid),
    Html(Target, String),
    File(Target, u64, &'static str),
}

/// [`plan`], fetching from the network the blocks it lacks: each block the lookup stops at
/// is asked of the peers (a bounded number of times), and a file or CAR to serve is fetched
/// whole first, so serving it never stops on a missing block.
async fn plan_with_net(reads: &Reads<'_>, path: &str, format: Option<&str>) -> Result<Plan, Fail> {
    #[cfg(feature = "net")]
    if let Some(net) = reads.state.net() {
        let p = crate::net::sync::walk_fetching(
            net,
            MAX_NET_ROUNDS,
            || plan(reads, path, format),
            |f: &Fail| f.2,
            |cid, e| {
                Fail(
                    404,
                    format!(
                        "block {cid} is not on this node, and the network did not give it: {e}"
                    ),
                    None,
                )
            },
        )
        .await?;
        let whole = match &p {
            Plan::File(t, _, _) | Plan::Raw(t) => Some(t.cid),
            Plan::Car(c) => Some(*c),
            Plan::Html(..) => None,
        };
        if let Some(root) = whole
            && let Err(e) = crate::net::sync::fetch_tree(net, root).await
        {
            return Err(Fail(
                502,
                format!("cannot fetch {root} from the network: {e}"),
                None,
            ));
        }
        return Ok(p);
    }
    plan(reads, path, format)
}

/// Most blocks a lookup fetches one by one (path steps, shards, index.html).
#[cfg(feature = "net")]
const MAX_NET_ROUNDS: usize = 256;

fn plan(reads: &Reads<'_>, path: &str, format: Option<&str>) -> Result<Plan, Fail> {
    let rest = path.strip_prefix("/ipfs/").unwrap_or("");
    let mut parts = rest.split('/');
    let cid_text = parts.next().unwrap_or("");
    let cid: Cid = cid_text.parse().map_err(|e| {
        Fail(
            400,
            format!(
                "\"{}\" is not a CID: {e}",
                crate::api::truncate(cid_text, 100)
            ),
            None,
        )
    })?;
    let mut segments = Vec::new();
    for raw in parts.filter(|s| !s.is_empty()) {
        let seg = percent_decode(raw)
            .ok_or_else(|| Fail(400, format!("bad escape in path segment \"{raw}\""), None))?;
        if seg == "." || seg == ".." || seg.contains('/') || seg.contains('\0') {
            return Err(Fail(
                400,
                format!("path segment \"{seg}\" is not allowed"),
                None,
            ));
        }
        segments.push(seg);
        if segments.len() > MAX_PATH_SEGMENTS {
            return Err(Fail(400, "path is too deep".into(), None));
        }
    }
    let target = resolve(reads, cid, &segments)?;
    match format {
        Some("raw") => return Ok(Plan::Raw(target)),
        Some("car") => return Ok(Plan::Car(target.cid)),
        Some(other) => {
            return Err(Fail(
                400,
                format!("format \"{other}\" is not served; use raw or car"),
                None,
            ));
        }
        None => {}
    }
    match kind_of(&target)? {
        Kind::File(size) => {
            let head = first_bytes(reads, &target);
            let ctype = content_type(target.name.as_deref(), &head);
            Ok(Plan::File(target, size, ctype))
        }
        Kind::Dir => {
            if let Some(index) = find_entry(reads, &target.block, "index.html")? {
                let block = reads.fetch(&index)?;
                let t = Target {
                    cid: index,
                    block,
                    name: Some("index.html".into()),
                };
                if let Kind::File(size) = kind_of(&t)? {
                    return Ok(Plan::File(t, size, "text/html; charset=utf-8"));
                }
            }
            let html = listing_html(reads, &target, path)?;
            Ok(Plan::Html(target, html))
        }
    }
}

/// Up to 512 bytes from the start of a file, for sniffing its type.
fn first_bytes(reads: &Reads<'_>, t: &Target) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = exporter::read_range(
        t.cid,
        0,
        512,
        |c: &Cid| reads.fetch(c),
        |d| out.extend_from_slice(d),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 10))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 100))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 100))));
        assert_eq!(parse_range("bytes=95-200", 100), Some(Ok((95, 100))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=-0", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=5-2", 100), None);
    }

    #[test]
    fn types_and_escapes() {
        assert_eq!(
            content_type(Some("a.HTML"), b""),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(None, b"\x89PNG\r\n"), "image/png");
        assert_eq!(content_type(None, b"hello"), "text/plain; charset=utf-8");
        assert_eq!(content_type(None, &[0, 1, 2]), "application/octet-stream");
        assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(percent_decode("a%20b%2F%C3%A9").unwrap(), "a b/é");
        assert!(percent_decode("%zz").is_none());
        assert_eq!(html_escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}
