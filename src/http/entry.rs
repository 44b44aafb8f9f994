//! `GET`/`POST /entry?appid=APP&ver=VER&mid=MID&entry=ENTRY`: runs a Lua entry of an app.
//!
//! The app is `appid` (Leither's name), `aid` (ours, the same), or `author` and `app`
//! (docs/apps.md). An app without `lever.json` is a Leither app: without `entry` the link opens
//! the app's page (a redirect to `/tpt/<appid>[:ver]/`, as Leither's app links do); `entry`
//! names its Lua file,
//! run as `RunMApp` runs it ([`crate::scripts::mapp`]) with every query parameter in
//! `request` (and a POST's form fields or JSON object's fields; a JSON array body is `args`),
//! `request.sid` the caller's session; errors are the API's (`{"error", "code"}` with its
//! status). An app with `lever.json` is a Lever app (docs/lever.md):
//! its Lua table method `entry` gets one argument, `{aid, mid, ver, params}` (`params`:
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
use super::reply::{json_body, json_error, query, read_body, redirect, send, session_id};
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

/// What a POST's body adds: fields for `request`, and `args` (a JSON array), or the body
/// Lever's entry gets (`body`).
#[derive(Default)]
struct Body {
    fields: Vec<(String, Value)>,
    args: Vec<Value>,
    json: Option<Value>,
}

fn parse_body(form: bool, b: &[u8]) -> Result<Body, String> {
    let mut out = Body::default();
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    if form {
        let text = std::str::from_utf8(b).map_err(|_| "the form is not UTF-8".to_string())?;
        out.fields = params(text)
            .into_iter()
            .map(|(k, v)| (k, Value::Str(v)))
            .collect();
        return Ok(out);
    }
    let v = decode(b, &JsonLimits::DEFAULT).map_err(|e| format!("malformed JSON body: {e}"))?;
    match &v {
        Value::Map(m) => out.fields = m.iter().take(64).cloned().collect(),
        Value::List(l) => out.args = l.clone(),
        _ => {}
    }
    out.json = Some(v);
    Ok(out)
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
    let form = request
        .parts
        .headers()
        .get("content-type")
        .and_then(|v| v.as_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let body = if request.parts.method() == "POST" {
        match read_body(&mut request, MAX_API_BODY).await {
            Ok(b) => match parse_body(form, &b) {
                Ok(v) => v,
                Err(m) => {
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
        Body::default()
    };
    let sid = session_id(&request.parts);
    let named: Vec<(String, Value)> = p
        .iter()
        .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
        .collect();
    let aid = crate::scripts::mapp::app_of(state, &named);
    let lever_app = aid
        .as_ref()
        .is_ok_and(|a| crate::scripts::app::is_lever_app(state, a));
    if !lever_app
        && get("entry").is_none()
        && let Ok(a) = &aid
    {
        // Leither's link to an app (`lapp uploadapp` prints it) opens its page.
        let ver = get("ver").unwrap_or_default();
        let at = if ver.is_empty() {
            String::new()
        } else if ver.len() <= 20 && ver.bytes().all(|c| c.is_ascii_alphanumeric()) {
            format!(":{ver}")
        } else {
            let m = format!(
                "ver \"{}\" is not a version",
                crate::api::truncate(&ver, 20)
            );
            return send(
                request,
                writer,
                400,
                "application/json",
                json_error(&m, "bad_request"),
            )
            .await;
        };
        return redirect(request, writer, 302, format!("/tpt/{a}{at}/")).await;
    }
    if !lever_app {
        // A Leither app: RunMApp with the query (and the body's fields) as its request.
        let mut req = named;
        for (k, v) in body.fields {
            if !req.iter().any(|(n, _)| *n == k) {
                req.push((k, v));
            }
        }
        req.retain(|(k, _)| k != "sid");
        req.push(("sid".into(), Value::Str(sid.unwrap_or_default())));
        let entry = get("entry").unwrap_or_default();
        let out = crate::scripts::mapp::run(state, &entry, req, body.args).await;
        let (status, ct, out) = match out {
            Ok(Value::Str(html)) => (200, "text/html; charset=utf-8", html.into_bytes()),
            Ok(v) => (200, "application/json", json_body(&v)),
            Err(e) => (
                e.http_status(),
                "application/json",
                json_error(&e.to_string(), e.code()),
            ),
        };
        return send(request, writer, status, ct, out).await;
    }
    let fail = |e: LeverError| (e.http_status(), json_error(&e.to_string(), e.code()));
    let body = body.json;
    let answer = async {
        let aid = aid.map_err(|e| LeverError::BadRequest(e.to_string()))?;
        let entry = get("entry").unwrap_or_else(|| "main".into());
        if !method_ok(&entry) {
            return Err(LeverError::BadRequest(format!(
                "entry \"{}\" is not a method name",
                crate::api::truncate(&entry, 64)
            )));
        }
        let sid = state.lever.caller_sid(state, sid)?;
        let mut arg = vec![
            ("aid", Value::Str(aid.to_string())),
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
