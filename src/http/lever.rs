//! Lever's HTTP contract: `POST /<service>[/<resource>]/<method>` with the environment from
//! `?forceenv=ENV` or the `Host` header (docs/lever.md).
//!
//! - A JSON body (`Content-Type: application/json`, or no body) is the array of arguments;
//!   any other content type is one byte-string argument. `200` and the result as JSON, `500`
//!   with `{"error", "code"}` for an error the code raised or a limit it hit, `400` for a
//!   malformed request, `404` for a missing service or method, `403` for a private one.
//! - A method whose result is bytes is answered `application/octet-stream`, the bytes as
//!   they are; a method named `_...` is refused (the service's own, [`crate::lever::target`]).
//! - A streaming method (`...Chan`, `..._chan`) over plain HTTP takes newline-delimited JSON
//!   messages in the body, the first line being the JSON array of arguments (Lever sends a
//!   stream's arguments first; `?args=` instead makes every line a message), and answers with chunked
//!   newline-delimited JSON, one message per line, an error as a last line `{"error": ...}`.
//!   HTTP/1.1 gives the answer only after the request, so input is delivered as it is read and
//!   output follows; over a WebSocket (`GET` with `Upgrade: websocket`, arguments in `?args=`)
//!   both directions flow at once: text messages each carry one JSON value, a binary message
//!   bytes (an empty one ends the input), and the node closes the socket when the handler
//!   returns.
//! - Memory: a stream reserves from the node's budget ([`crate::budget`]) what it holds —
//!   its read chunk, a partial line, the answers kept while the body is read, and the
//!   messages queued to the handler (a WebSocket: its message buffer) — and is answered
//!   `503` with the reason when the budget has no room, instead of growing.
//! - The caller's session (`Authorization: Bearer SID` or `?sid=`) travels with the call, so
//!   the code acts with the caller's rights; without one, a guest's.

use std::rc::Rc;

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::{Request, RequestParts};
use picoserve::response::chunked::{ChunkWriter, ChunkedResponse, Chunks, ChunksWritten};
use picoserve::response::{IntoResponse, ResponseWriter};

use super::MAX_API_BODY;
use super::reply::{CORS, json_body, json_error, query, read_body, send, session_id};
use crate::api::json::{JsonLimits, decode};
use crate::api::{NodeState, Value};
use crate::lever::stream::{DEPTH, StreamEnds};
use crate::lever::target::{http_env, is_stream, percent_decode};
use crate::lever::{Caller, LeverError, Target};

const JSON: &str = "application/json";
const OCTETS: &str = "application/octet-stream";
/// What a streaming body is read by at a time.
const CHUNK: usize = 16 * 1024;
/// Largest body of a streaming call over plain HTTP, and most output buffered meanwhile.
pub const MAX_STREAM_BODY: usize = 16 << 20;

fn query_param(q: &str, name: &str) -> Option<String> {
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(&v.replace('+', " ")).unwrap_or_default())
    })
}

/// The target, the environment and the caller of a request, or the error to answer.
fn plan(
    state: &NodeState,
    path: &str,
    parts: &RequestParts<'_>,
) -> Result<(Target, Caller), LeverError> {
    let mut t = Target::parse_path(path)?;
    let q = query(parts);
    let host = parts.headers().get("host").and_then(|h| h.as_str().ok());
    t.env = Some(http_env(query_param(&q, "forceenv").as_deref(), host)?);
    let sid = state.lever.caller_sid(state, session_id(parts))?;
    Ok((t, Caller { sid, env: None }))
}

fn error_reply(e: &LeverError) -> (u16, Vec<u8>) {
    (e.http_status(), json_error(&e.to_string(), e.code()))
}

/// Answers a refused call with Lever's status and JSON error.
async fn refuse<R: Read, W: ResponseWriter<Error = R::Error>>(
    e: &LeverError,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let (status, body) = error_reply(e);
    send(request, writer, status, JSON, body).await
}

/// `?args=`: the stream's arguments as a JSON array, when the query has them.
fn args_param(q: &str) -> Result<Option<Vec<Value>>, LeverError> {
    match query_param(q, "args") {
        None => Ok(None),
        Some(a) => match decode(a.as_bytes(), &JsonLimits::DEFAULT) {
            Ok(Value::List(v)) => Ok(Some(v)),
            _ => Err(LeverError::BadRequest(
                "?args= must be a JSON array of the method's arguments".into(),
            )),
        },
    }
}

/// The `leveros` JS client (js/leveros/leveros.mjs), served for browsers.
pub const MODULE_PATH: &str = "/lever/leveros.mjs";
const MODULE: &str = include_str!("../../js/leveros/leveros.mjs");

/// Serves the `leveros` module at [`MODULE_PATH`].
pub async fn module<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let ctype = "text/javascript; charset=utf-8";
    send(request, writer, 200, ctype, MODULE.as_bytes().to_vec()).await
}

/// Whether a request asks for a WebSocket.
pub fn is_upgrade(parts: &RequestParts<'_>) -> bool {
    parts
        .headers()
        .get("upgrade")
        .and_then(|h| h.as_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Handles a Lever call (`POST`) or stream (`POST` or WebSocket `GET`).
pub async fn call<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &Rc<NodeState>,
    path: &str,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    // A browser cannot read a refused upgrade's status: `&ready=1` asks for Lever's
    // handshake instead: an empty text message once the stream runs, or the refusal as the
    // only message, then a close with 1008.
    #[cfg(feature = "ws")]
    let inband = request.parts.method() == "GET"
        && is_upgrade(&request.parts)
        && query_param(&query(&request.parts), "ready").as_deref() == Some("1");
    let (t, caller) = match plan(state, path, &request.parts) {
        Ok(p) => p,
        #[cfg(feature = "ws")]
        Err(e) if inband => return refuse_inband(e, request, writer).await,
        Err(e) => return refuse(&e, request, writer).await,
    };
    state.calls.set(state.calls.get() + 1);
    let q = query(&request.parts);
    if is_stream(&t.method) {
        let args = match args_param(&q) {
            Ok(a) => a,
            Err(e) => return refuse(&e, request, writer).await,
        };
        #[cfg(feature = "ws")]
        if request.parts.method() == "GET" {
            let args = args.unwrap_or_default();
            let how = (t, args, caller, inband);
            return websocket(state, how, request, writer).await;
        }
        return ndjson(state, t, args, caller, request, writer).await;
    }
    if request.parts.method() != "POST" {
        let body = json_error(
            "Lever calls are POST /SERVICE[/RESOURCE]/METHOD",
            "method_not_allowed",
        );
        return send(request, writer, 405, JSON, body).await;
    }
    let body = match read_body(&mut request, MAX_API_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return send(
                request,
                writer,
                e.status(),
                JSON,
                json_error(&e.message(), "bad_body"),
            )
            .await;
        }
    };
    let json = request
        .parts
        .headers()
        .get("content-type")
        .and_then(|v| v.as_str().ok())
        .is_none_or(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    let args = if !json {
        vec![Value::Bytes(body)]
    } else if body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        match decode(&body, &JsonLimits::DEFAULT) {
            Ok(Value::List(a)) => a,
            Ok(other) => {
                let m = format!(
                    "the body must be a JSON array of arguments, got {}",
                    other.kind()
                );
                return send(request, writer, 400, JSON, json_error(&m, "bad_body")).await;
            }
            Err(e) => {
                let m = format!("malformed JSON body: {e}");
                return send(request, writer, 400, JSON, json_error(&m, "bad_json")).await;
            }
        }
    };
    match state.lever.invoke(&t, &args, &caller).await {
        // Bytes go as they are, as Lever answers a byte result.
        Ok(Value::Bytes(b)) => send(request, writer, 200, OCTETS, b).await,
        Ok(v) => send(request, writer, 200, JSON, json_body(&v)).await,
        Err(e) => {
            let (status, out) = error_reply(&e);
            send(request, writer, status, JSON, out).await
        }
    }
}

/// Splits complete lines off `buf`, decoding each as one JSON message.
fn take_lines(buf: &mut Vec<u8>, out: &mut Vec<Value>) -> Result<(), LeverError> {
    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=i).collect();
        let line = &line[..line.len() - 1];
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v = decode(line, &JsonLimits::DEFAULT)
            .map_err(|e| LeverError::BadRequest(format!("a stream line is not JSON: {e}")))?;
        out.push(v);
    }
    Ok(())
}

/// Reads the body until its first line is whole (into `buf`, growing `grant` with it) and
/// decodes that line as the stream's arguments: Lever sends a stream's arguments as its first
/// message. An empty body means no arguments.
async fn first_line<B: Read>(
    reader: &mut B,
    left: &mut usize,
    buf: &mut Vec<u8>,
    grant: &mut crate::budget::Grant,
) -> Result<Vec<Value>, LeverError> {
    let mut chunk = [0u8; 4096];
    while !buf.contains(&b'\n') && *left > 0 {
        if buf.len() > MAX_API_BODY {
            return Err(LeverError::BadRequest(format!(
                "the first line of a stream's body (its arguments, a JSON array) is longer than \
                 {MAX_API_BODY} bytes; send large inputs as messages after it"
            )));
        }
        let want = (*left).min(chunk.len());
        let n = match reader.read(&mut chunk[..want]).await {
            Ok(0) | Err(_) => {
                return Err(LeverError::BadRequest(
                    "the request body ended early".into(),
                ));
            }
            Ok(n) => n,
        };
        *left -= n;
        buf.extend_from_slice(&chunk[..n]);
        grant
            .resize(CHUNK + buf.capacity())
            .map_err(|e| LeverError::Busy(e.to_string()))?;
    }
    let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let line: Vec<u8> = buf.drain(..end).collect();
    if !buf.is_empty() {
        buf.remove(0);
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match decode(&line, &JsonLimits::DEFAULT) {
        Ok(Value::List(a)) => Ok(a),
        Ok(other) => Err(LeverError::BadRequest(format!(
            "the first line of a stream's body must be the JSON array of its arguments (or \
             give them as ?args=), got {}",
            other.kind()
        ))),
        Err(e) => Err(LeverError::BadRequest(format!(
            "the first line of a stream's body must be the JSON array of its arguments (or \
             give them as ?args=): {e}"
        ))),
    }
}

async fn ndjson<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &Rc<NodeState>,
    t: Target,
    args: Option<Vec<Value>>,
    caller: Caller,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    if request.parts.headers().get("transfer-encoding").is_some() {
        let m = "send the stream's body with a Content-Length, or use a WebSocket for an open-ended stream";
        return send(request, writer, 411, JSON, json_error(m, "bad_body")).await;
    }
    let length = request.body_connection.content_length();
    if length > MAX_STREAM_BODY {
        let m = format!(
            "a streaming body may be at most {MAX_STREAM_BODY} bytes; use a WebSocket for more"
        );
        return send(request, writer, 413, JSON, json_error(&m, "bad_body")).await;
    }
    let no_memory = |e: crate::budget::BudgetError| LeverError::Busy(e.to_string());
    let mut grant = match state.budget.reserve(CHUNK, "a stream") {
        Ok(g) => g,
        Err(e) => return refuse(&no_memory(e), request, writer).await,
    };
    let mut left = length;
    let mut buf = Vec::new();
    let args = match args {
        Some(a) => a,
        None => {
            let first = {
                let mut reader = request.body_connection.body().reader();
                first_line(&mut reader, &mut left, &mut buf, &mut grant).await
            };
            match first {
                Ok(a) => a,
                Err(e) => return refuse(&e, request, writer).await,
            }
        }
    };
    let mut ends = match state.lever.stream(&t, args, &caller).await {
        Ok(e) => e,
        Err(e) => return refuse(&e, request, writer).await,
    };
    // Feed the body's lines to the handler while keeping what it answers meanwhile.
    let mut early: Vec<Value> = Vec::new();
    let mut early_bytes = 0usize;
    let mut failure: Option<LeverError> = None;
    // What this stream holds: the answers kept, and the sizes of the messages queued to the
    // handler (oldest first; the channel's free permits say how many it has taken).
    let mut early_mem = 0usize;
    let mut queued: std::collections::VecDeque<usize> = Default::default();
    let mut out_of_memory = None;
    {
        let mut reader = request.body_connection.body().reader();
        let mut chunk = vec![0u8; CHUNK];
        let tx = ends.tx.clone();
        // What the first line's read took past that line is handled before reading on.
        while failure.is_none() {
            if left > 0 {
                let want = left.min(chunk.len());
                let n = match reader.read(&mut chunk[..want]).await {
                    Ok(0) | Err(_) => {
                        failure = Some(LeverError::BadRequest(
                            "the request body ended early".into(),
                        ));
                        break;
                    }
                    Ok(n) => n,
                };
                left -= n;
                buf.extend_from_slice(&chunk[..n]);
            }
            if left == 0 && !buf.is_empty() && !buf.ends_with(b"\n") {
                buf.push(b'\n');
            }
            let mut msgs = Vec::new();
            if let Err(e) = take_lines(&mut buf, &mut msgs) {
                failure = Some(e);
                break;
            }
            if buf.len() > MAX_API_BODY {
                failure = Some(LeverError::BadRequest(format!(
                    "a stream line is longer than {MAX_API_BODY} bytes"
                )));
                break;
            }
            let held = |queued: &std::collections::VecDeque<usize>, early_mem: usize| {
                CHUNK + buf.capacity() + early_mem + queued.iter().sum::<usize>()
            };
            let msg_mem: usize = msgs.iter().map(crate::budget::value_bytes).sum();
            if let Err(e) = grant.resize(held(&queued, early_mem) + msg_mem) {
                out_of_memory = Some(no_memory(e));
                break;
            }
            for m in msgs {
                let size = crate::budget::value_bytes(&m);
                // Deliver, taking the handler's answers meanwhile so neither side waits forever.
                let mut send = std::pin::pin!(tx.send(m));
                loop {
                    tokio::select! {
                        r = &mut send => { let _ = r; break; }
                        Some(v) = ends.rx.recv() => {
                            early_bytes += json_body(&v).len();
                            early_mem += crate::budget::value_bytes(&v);
                            early.push(v);
                            if let Err(e) = grant.resize(held(&queued, early_mem) + size) {
                                out_of_memory = Some(no_memory(e));
                                break;
                            }
                            if early_bytes > MAX_STREAM_BODY {
                                failure = Some(LeverError::Limit("the stream's output outran its input by more than 16 MiB; use a WebSocket".into()));
                                break;
                            }
                        }
                    }
                }
                queued.push_back(size);
                let taken = queued.len().saturating_sub(DEPTH - tx.capacity());
                queued.drain(..taken);
                if out_of_memory.is_some() {
                    break;
                }
            }
            if out_of_memory.is_some() || left == 0 {
                break;
            }
        }
    }
    if let Some(e) = out_of_memory {
        // Nothing was answered yet: say 503 and why; the handler sees its input end.
        drop(ends);
        drop(early);
        crate::log_warn!("a stream of {} was refused: {e}", t.service);
        return refuse(&e, request, writer).await;
    }
    // End of input.
    let StreamEnds { tx, rx, done } = ends;
    drop(tx);
    let connection = request.body_connection.finalize().await?;
    let body = NdjsonOut {
        early,
        rx,
        done,
        failure,
    };
    ChunkedResponse::new(body)
        .into_response()
        .with_headers(CORS)
        .write_to(connection, writer)
        .await
}

struct NdjsonOut {
    early: Vec<Value>,
    rx: tokio::sync::mpsc::Receiver<Value>,
    done: tokio::sync::oneshot::Receiver<Result<Value, LeverError>>,
    failure: Option<LeverError>,
}

fn line(v: &Value) -> Vec<u8> {
    let mut b = json_body(v);
    b.push(b'\n');
    b
}

impl Chunks for NdjsonOut {
    fn content_type(&self) -> &'static str {
        "application/x-ndjson"
    }

    async fn write_chunks<W: picoserve::io::Write>(
        mut self,
        mut w: ChunkWriter<W>,
    ) -> Result<ChunksWritten, W::Error> {
        for v in self.early.drain(..) {
            w.write_chunk(&line(&v)).await?;
        }
        w.flush().await?;
        if let Some(e) = self.failure.take() {
            w.write_chunk(&line(&error_value(&e))).await?;
            return w.finalize().await;
        }
        while let Some(v) = self.rx.recv().await {
            w.write_chunk(&line(&v)).await?;
            w.flush().await?;
        }
        if let Ok(Err(e)) = self.done.await {
            w.write_chunk(&line(&error_value(&e))).await?;
        }
        w.finalize().await
    }
}

fn error_value(e: &LeverError) -> Value {
    Value::map([
        ("error", Value::Str(e.to_string())),
        ("code", Value::Str(e.code().into())),
    ])
}

/// Accepts the WebSocket only to say why the stream is refused: one `{"error", "code"}`
/// message, then a close with 1008 (`&ready=1`).
#[cfg(feature = "ws")]
async fn refuse_inband<R: Read, W: ResponseWriter<Error = R::Error>>(
    e: LeverError,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    use picoserve::extract::FromRequest;
    use picoserve::response::ws::WebSocketUpgrade;
    let upgrade =
        WebSocketUpgrade::from_request(&(), request.parts, request.body_connection.body()).await;
    let connection = request.body_connection.finalize().await?;
    match upgrade {
        Ok(u) => u.on_upgrade(Refusal(e)).write_to(connection, writer).await,
        Err(rejection) => rejection.write_to(connection, writer).await,
    }
}

#[cfg(feature = "ws")]
struct Refusal(LeverError);

#[cfg(feature = "ws")]
impl picoserve::response::ws::WebSocketCallback for Refusal {
    async fn run<R: Read, W: picoserve::io::Write<Error = R::Error>>(
        self,
        _rx: picoserve::response::ws::SocketRx<R>,
        mut tx: picoserve::response::ws::SocketTx<W>,
    ) -> Result<(), W::Error> {
        let text = String::from_utf8(json_body(&error_value(&self.0))).unwrap_or_default();
        tx.send_text(&text).await?;
        tx.close((1008, "the stream was refused")).await
    }
}

#[cfg(feature = "ws")]
async fn websocket<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &Rc<NodeState>,
    (t, args, caller, inband): (Target, Vec<Value>, Caller, bool),
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    use picoserve::extract::FromRequest;
    use picoserve::response::IntoResponse;
    use picoserve::response::ws::WebSocketUpgrade;
    let upgrade =
        WebSocketUpgrade::from_request(&(), request.parts, request.body_connection.body()).await;
    let grant = state
        .budget
        .reserve(WS_BUFFER, "a WebSocket stream's buffer")
        .map_err(|e| LeverError::Busy(e.to_string()));
    let ends = match (upgrade.as_ref(), grant.as_ref()) {
        (Ok(_), Err(e)) => Err(e.clone()),
        (Ok(_), Ok(_)) => state.lever.stream(&t, args, &caller).await,
        (Err(_), _) => Err(LeverError::BadRequest(
            "not a valid WebSocket upgrade".into(),
        )),
    };
    let connection = request.body_connection.finalize().await?;
    match (upgrade, ends) {
        (Ok(u), Ok(ends)) => {
            u.on_upgrade(WsStream {
                ends,
                ready: inband,
                _grant: grant.ok(),
            })
            .write_to(connection, writer)
            .await
        }
        (Err(rejection), _) => rejection.write_to(connection, writer).await,
        (Ok(u), Err(e)) if inband => u.on_upgrade(Refusal(e)).write_to(connection, writer).await,
        (Ok(_), Err(e)) => {
            let (status, body) = error_reply(&e);
            picoserve::response::Response::new(picoserve::response::StatusCode::new(status), body)
                .with_content_type(JSON)
                .with_headers(CORS)
                .write_to(connection, writer)
                .await
        }
    }
}

#[cfg(feature = "ws")]
struct WsStream {
    ends: StreamEnds,
    /// Lever's handshake asked for (`&ready=1`): an empty text message first.
    ready: bool,
    /// The message buffer's share of the memory budget.
    _grant: Option<crate::budget::Grant>,
}

/// A Lever WebSocket's message buffer (the largest message it takes).
#[cfg(feature = "ws")]
const WS_BUFFER: usize = 256 * 1024;

#[cfg(feature = "ws")]
impl picoserve::response::ws::WebSocketCallback for WsStream {
    async fn run<R: Read, W: picoserve::io::Write<Error = R::Error>>(
        self,
        mut rx: picoserve::response::ws::SocketRx<R>,
        mut tx: picoserve::response::ws::SocketTx<W>,
    ) -> Result<(), W::Error> {
        use picoserve::futures::Either;
        use picoserve::response::ws::Message;
        let StreamEnds {
            tx: to_handler,
            rx: mut from_handler,
            done,
        } = self.ends;
        if self.ready {
            tx.send_text("").await?;
        }
        let mut to_handler = Some(to_handler);
        let mut buffer = vec![0u8; WS_BUFFER];
        let mut input_open = true;
        loop {
            let next = if input_open {
                rx.next_message(&mut buffer, from_handler.recv()).await?
            } else {
                Either::Second(from_handler.recv().await)
            };
            match next {
                // Bytes as a binary message, as Lever streams bytes; an empty one would read
                // as the end of input, so it goes as JSON text.
                Either::Second(Some(Value::Bytes(b))) if !b.is_empty() => {
                    tx.send_binary(&b).await?;
                }
                Either::Second(Some(v)) => {
                    let text = String::from_utf8(json_body(&v)).unwrap_or_default();
                    tx.send_text(&text).await?;
                }
                Either::Second(None) => {
                    // The handler returned: say how, and close.
                    if let Ok(Err(e)) = done.await {
                        let text =
                            String::from_utf8(json_body(&error_value(&e))).unwrap_or_default();
                        tx.send_text(&text).await?;
                        return tx.close((1011, "the handler failed")).await;
                    }
                    return tx.close(None).await;
                }
                Either::First(Err(e)) => {
                    crate::log_debug!("lever websocket: {e:?}");
                    return tx.close((1009, "message too large or malformed")).await;
                }
                Either::First(Ok(m)) => match m {
                    Message::Text(s) => {
                        let v = decode(s.as_bytes(), &JsonLimits::DEFAULT)
                            .unwrap_or_else(|_| Value::Str(s.to_string()));
                        if let Some(h) = &to_handler
                            && h.send(v).await.is_err()
                        {
                            to_handler = None;
                        }
                    }
                    Message::Binary([]) => {
                        to_handler = None;
                        input_open = false;
                    }
                    Message::Binary(b) => {
                        if let Some(h) = &to_handler
                            && h.send(Value::Bytes(b.to_vec())).await.is_err()
                        {
                            to_handler = None;
                        }
                    }
                    Message::Ping(p) => tx.send_pong(p).await?,
                    Message::Pong(_) => {}
                    Message::Close(_) => return tx.close(None).await,
                },
            }
        }
    }
}
