//! `GET`/`POST /entry?aid=APP&mid=MID&ver=VER&entry=METHOD`: calls a Lua entry of an app.
//!
//! The app's Lua table method `entry` gets one argument, `{aid, mid, ver, params}` (`params`:
//! every query parameter, and for a POST with a JSON body also `body`). A string result is
//! answered as `text/html` (an entry may render a page), anything else as JSON; errors as
//! Lever's (`400`, `401`, `404`, `500` with `{"error", "code"}`). The caller's session
//! (`Authorization: Bearer` or `?sid=`) travels with the call; without one, a guest's. The
//! caller needs read on the app. See `Lever::entry` for how the app is deployed.

use std::rc::Rc;

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::MAX_API_BODY;
use super::reply::{json_body, json_error, query, read_body, send, session_id};
use crate::api::json::{JsonLimits, decode};
use crate::api::{NodeState, Value};
use crate::lever::target::{method_ok, percent_decode};
use crate::lever::{Caller, LeverError};

fn params(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .take(64)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let d = |s: &str| percent_decode(&s.replace('+', " ")).unwrap_or_default();
            (d(k), d(v))
        })
        .collect()
}

/// Handles `/entry`.
pub async fn call<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &Rc<NodeState>,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let q = query(&request.parts);
    let p = params(&q);
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let fail = |e: LeverError| (e.http_status(), json_error(&e.to_string(), e.code()));
    let body = if request.parts.method() == "POST" {
        match read_body(&mut request, MAX_API_BODY).await {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => None,
            Ok(b) => match decode(&b, &JsonLimits::DEFAULT) {
                Ok(v) => Some(v),
                Err(e) => {
                    let m = format!("malformed JSON body: {e}");
                    return send(
                        request,
                        writer,
                        400,
                        "application/json",
                        json_error(&m, "bad_json"),
                    )
                    .await;
                }
            },
            Err(e) => {
                return send(
                    request,
                    writer,
                    e.status(),
                    "application/json",
                    json_error(&e.message(), "bad_body"),
                )
                .await;
            }
        }
    } else {
        None
    };
    let sid = session_id(&request.parts);
    let answer = async {
        let aid = get("aid")
            .ok_or_else(|| LeverError::BadRequest("/entry needs ?aid=APPID&entry=METHOD".into()))?;
        let aid = aid
            .parse()
            .map_err(|e| LeverError::BadRequest(format!("aid: {e}")))?;
        let entry = get("entry").unwrap_or_else(|| "main".into());
        if !method_ok(&entry) {
            return Err(LeverError::BadRequest(format!(
                "entry \"{}\" is not a method name",
                crate::api::truncate(&entry, 64)
            )));
        }
        let sid = state.lever.caller_sid(state, sid)?;
        let mut arg = vec![
            ("aid", Value::Str(get("aid").unwrap_or_default())),
            ("mid", get("mid").map(Value::Str).unwrap_or(Value::Null)),
            ("ver", get("ver").map(Value::Str).unwrap_or(Value::Null)),
            (
                "params",
                Value::Map(
                    p.iter()
                        .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                        .collect(),
                ),
            ),
        ];
        if let Some(b) = body {
            arg.push(("body", b));
        }
        let caller = Caller { sid, env: None };
        state
            .lever
            .entry(&aid, &entry, Value::map(arg), &caller)
            .await
    };
    let (status, ct, out) = match answer.await {
        Ok(Value::Str(html)) => (200, "text/html; charset=utf-8", html.into_bytes()),
        Ok(v) => (200, "application/json", json_body(&v)),
        Err(e) => {
            let (s, b) = fail(e);
            (s, "application/json", b)
        }
    };
    send(request, writer, status, ct, out).await
}
