//! The JSON front door: `POST /api/<Function>` with a JSON array of arguments.
//!
//! `200` and the result as JSON; on failure a JSON object `{"error", "code"}` with the status
//! of [`ApiError::http_status`](crate::api::ApiError::http_status) (`429` with `Retry-After`
//! past a rate limit). An empty body means no arguments.

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::MAX_API_BODY;
use super::reply::{json_body, json_error, read_body, send, send_retry};
use crate::api::{self, NodeState, Value, json};

const JSON: &str = "application/json";

/// Handles one JSON API call.
pub async fn post<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    function: &str,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let body = match read_body(&mut request, MAX_API_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let status = e.status();
            return send(
                request,
                writer,
                status,
                JSON,
                json_error(&e.message(), "bad_body"),
            )
            .await;
        }
    };
    match answer(state, function, &body).await {
        (status, out, Some(retry)) => send_retry(request, writer, status, JSON, out, retry).await,
        (status, out, None) => send(request, writer, status, JSON, out).await,
    }
}

/// The status and body for a call of `function` with `body`, and the seconds to wait when
/// the call was refused by a rate limit (sans HTTP, for tests).
pub async fn answer(state: &NodeState, function: &str, body: &[u8]) -> (u16, Vec<u8>, Option<u64>) {
    let args = if body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        match json::decode(body, &json::JsonLimits::default()) {
            Ok(Value::List(args)) => args,
            Ok(other) => {
                let msg = format!(
                    "the body must be a JSON array of arguments, got {}",
                    other.kind()
                );
                return (400, json_error(&msg, "bad_body"), None);
            }
            Err(e) => {
                return (
                    400,
                    json_error(&format!("malformed JSON: {e}"), "bad_json"),
                    None,
                );
            }
        }
    };
    state.calls.set(state.calls.get() + 1);
    match api::call_at_door(state, function, args).await {
        Ok(v) => (200, json_body(&v), None),
        Err(e) => (
            e.http_status(),
            json_error(&e.to_string(), e.code()),
            e.retry_after(),
        ),
    }
}
