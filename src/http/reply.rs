//! Writing responses: status, content type, CORS headers, and a body held in memory.
//!
//! Every response carries CORS headers so browser pages (the DNN template, apps) can call the
//! node from another origin. Reading request bodies with their bounds lives here too.

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::{IntoResponse, Response, ResponseWriter, StatusCode};

/// CORS headers sent with every response.
pub const CORS: [(&str, &str); 4] = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
    (
        "Access-Control-Allow-Headers",
        "Content-Type, Authorization, X-Requested-With",
    ),
    ("Access-Control-Max-Age", "86400"),
];

/// Writes a complete response.
pub async fn send<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
) -> Result<ResponseSent, W::Error> {
    let connection = request.body_connection.finalize().await?;
    Response::new(StatusCode::new(status), body)
        .with_content_type(content_type)
        .with_headers(CORS)
        .write_to(connection, writer)
        .await
}

/// Writes a complete response that tells the client to wait `retry_after` seconds (a `429`
/// of the rate limits, [`crate::ops::rate`]): `Retry-After`, and the message as the reason
/// phrase too, for clients that show only the status line.
pub async fn send_retry<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: u64,
) -> Result<ResponseSent, W::Error> {
    let connection = request.body_connection.finalize().await?;
    Response::new(StatusCode::new(status), body)
        .with_content_type(content_type)
        .with_headers(CORS)
        .with_header("Retry-After", retry_after.to_string())
        .write_to(connection, writer)
        .await
}

/// Answers a call refused by a rate limit: `429`, `Retry-After`, and the JSON error naming
/// the rule and the settings that raise it.
pub async fn too_many<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
    limited: &crate::ops::rate::Limited,
) -> Result<ResponseSent, W::Error> {
    let message = limited.to_string();
    set_reason(&message);
    let body = json_error(&message, "rate_limited");
    send_retry(
        request,
        writer,
        429,
        "application/json",
        body,
        limited.retry_after(),
    )
    .await
}

/// Writes a redirect (`status` 301, 302, 307 or 308) to `location`, a path on this node.
pub async fn redirect<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
    status: u16,
    location: String,
) -> Result<ResponseSent, W::Error> {
    let connection = request.body_connection.finalize().await?;
    let body = format!("moved to {location}\n").into_bytes();
    Response::new(StatusCode::new(status), body)
        .with_content_type("text/plain; charset=utf-8")
        .with_headers(CORS)
        .with_header("Location", location)
        .write_to(connection, writer)
        .await
}

/// The raw query string of a request (`""` when it has none).
pub fn query(parts: &picoserve::request::RequestParts<'_>) -> String {
    parts.query().map(|q| q.0.to_string()).unwrap_or_default()
}

/// The session id a request carries: `sid=` in the query, else `Authorization: Bearer SID`.
pub fn session_id(parts: &picoserve::request::RequestParts<'_>) -> Option<String> {
    let authorization = parts
        .headers()
        .get("authorization")
        .and_then(|v| v.as_str().ok());
    session_id_of(parts.query().map(|q| q.0), authorization)
}

/// [`session_id`] from the raw query and the `Authorization` header's value.
pub fn session_id_of(query: Option<&str>, authorization: Option<&str>) -> Option<String> {
    let from_query = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("sid=")));
    let from_header = || authorization.and_then(|v| v.strip_prefix("Bearer "));
    from_query
        .or_else(from_header)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Sets the reason phrase of the response about to be written on this connection (for
/// clients that show only the status line of an error).
pub fn set_reason(message: &str) {
    let phrase = super::guard::reason_phrase(message);
    let _ = super::REASON.try_with(|r| *r.borrow_mut() = Some(phrase));
}

/// A value as a JSON response body.
pub fn json_body(v: &crate::api::Value) -> Vec<u8> {
    let mut s = String::new();
    crate::api::json::encode(v, &mut s);
    s.into_bytes()
}

/// A JSON error object `{"error": message, "code": code}`.
pub fn json_error(message: &str, code: &str) -> Vec<u8> {
    use crate::api::Value;
    json_body(&Value::map([
        ("error", Value::from(message)),
        ("code", Value::from(code)),
    ]))
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than allowed (413).
    TooLarge {
        /// Declared length.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// Chunked or otherwise unframed (411).
    LengthRequired,
    /// The client went away or was too slow (400).
    Incomplete,
    /// The node's memory budget has no room for it now (503); the text says which.
    NoMemory(String),
}

impl BodyError {
    /// The HTTP status for it.
    pub fn status(&self) -> u16 {
        match self {
            BodyError::TooLarge { .. } => 413,
            BodyError::LengthRequired => 411,
            BodyError::Incomplete => 400,
            BodyError::NoMemory(_) => 503,
        }
    }

    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            BodyError::TooLarge { length, limit } => {
                format!("request body of {length} bytes is larger than the {limit} bytes allowed")
            }
            BodyError::LengthRequired => {
                "send the body with a Content-Length header (chunked uploads are not accepted here)"
                    .to_string()
            }
            BodyError::Incomplete => "the request body ended early".to_string(),
            BodyError::NoMemory(m) => m.clone(),
        }
    }
}

/// Reads the whole body, refusing one longer than `limit` before reading any of it.
pub async fn read_body<R: Read>(
    request: &mut Request<'_, R>,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if request.parts.headers().get("transfer-encoding").is_some() {
        return Err(BodyError::LengthRequired);
    }
    let length = request.body_connection.content_length();
    reserve_body(length, limit)?;
    let mut body = vec![0u8; length];
    let mut reader = request.body_connection.body().reader();
    reader
        .read_exact(&mut body)
        .await
        .map_err(|_| BodyError::Incomplete)?;
    Ok(body)
}

/// Refuses a body of `length` bytes longer than `limit`, else reserves it from the node's
/// memory budget: the body, and what it decodes to (about as much again), count until the
/// next body on this connection or its end.
pub fn reserve_body(length: usize, limit: usize) -> Result<(), BodyError> {
    if length > limit {
        return Err(BodyError::TooLarge { length, limit });
    }
    let reserved = super::BODY.try_with(|(budget, held)| {
        held.borrow_mut().take();
        budget
            .reserve(length.saturating_mul(2), "a request body")
            .map(|g| *held.borrow_mut() = Some(g))
    });
    if let Ok(Err(e)) = reserved {
        return Err(BodyError::NoMemory(e.to_string()));
    }
    Ok(())
}
