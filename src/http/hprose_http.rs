//! The Hprose front door: `POST /webapi/` (one request per body) and WebSocket `/ws/`
//! (binary messages, each a 4-byte request id then a request; the reply carries the same id).
//!
//! Both decode with [`crate::api::hprose`] and call [`crate::api::call_at_door`] for each
//! call of a batch, in order: each call is paid from the caller's rate bucket, and a call
//! refused by it gets the error in its place of the reply. A malformed or oversized request
//! is answered with a 4xx status and an Hprose error body, so clients show the message; a
//! `POST` whose every call was refused by a rate limit, with `429` and `Retry-After`.

#[cfg(feature = "ws")]
use std::rc::Rc;

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::MAX_API_BODY;
use super::reply::{read_body, send, send_retry, set_reason};
use crate::api::{self, NodeState, hprose};

const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Handles `POST /webapi/`.
pub async fn post<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let (status, out, reason) = match read_body(&mut request, MAX_API_BODY).await {
        Ok(body) => match answer(state, &body).await {
            Ok(Answer {
                body,
                limited: Some(l),
            }) => (429, body, Some((l.to_string(), Some(l.retry_after())))),
            Ok(a) => (200, a.body, None),
            Err(message) => (400, error_body(&message), Some((message, None))),
        },
        Err(e) => (
            e.status(),
            error_body(&e.message()),
            Some((e.message(), None)),
        ),
    };
    match reason {
        // Hprose clients show "400:<reason phrase>" and drop the body of a non-200 answer.
        Some((r, retry)) => {
            set_reason(&r);
            match retry {
                Some(secs) => send_retry(request, writer, status, CONTENT_TYPE, out, secs).await,
                None => send(request, writer, status, CONTENT_TYPE, out).await,
            }
        }
        None => send(request, writer, status, CONTENT_TYPE, out).await,
    }
}

/// Handles `GET /webapi/`: the function list, as Hprose 2.0 servers answer a GET.
pub async fn function_list<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let mut out = Vec::new();
    let names: Vec<&str> = api::names().collect();
    hprose::encode_function_list(&mut out, &names, false);
    send(request, writer, 200, CONTENT_TYPE, out).await
}

fn error_body(message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    hprose::encode_replies(&mut out, &[Err(message.to_string())]);
    out
}

/// The reply to one Hprose request.
pub struct Answer {
    /// The reply body.
    pub body: Vec<u8>,
    /// Set when every call of the request was refused by a rate limit (the last refusal).
    pub limited: Option<crate::ops::rate::Limited>,
}

/// The reply for one Hprose request body, or why the request is malformed.
pub async fn answer(state: &NodeState, body: &[u8]) -> Result<Answer, String> {
    let request = hprose::decode_request(body, &hprose::Limits::default())
        .map_err(|e| format!("malformed Hprose request: {e}"))?;
    let mut out = Vec::new();
    if request.calls.is_empty() {
        let names: Vec<&str> = api::names().collect();
        hprose::encode_function_list(&mut out, &names, false);
        return Ok(Answer {
            body: out,
            limited: None,
        });
    }
    let mut results = Vec::with_capacity(request.calls.len());
    let (mut refused, mut limited) = (0, None);
    for call in request.calls {
        state.calls.set(state.calls.get() + 1);
        let r = if call.name == "~" {
            // Hprose 3.0 clients ask for the function list by calling `~`.
            Ok(api::Value::List(
                api::names().map(api::Value::from).collect(),
            ))
        } else {
            api::call_at_door(state, &call.name, call.args).await
        };
        if let Err(api::ApiError::RateLimited(l)) = &r {
            refused += 1;
            limited = Some(l.clone());
        }
        results.push(r.map_err(|e| e.to_string()));
    }
    hprose::encode_replies(&mut out, &results);
    Ok(Answer {
        body: out,
        limited: limited.filter(|_| refused == results.len()),
    })
}

/// Handles `GET /ws/`: upgrades to a WebSocket carrying Hprose requests.
#[cfg(feature = "ws")]
pub async fn websocket<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &Rc<NodeState>,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    use picoserve::extract::FromRequest;
    use picoserve::response::IntoResponse;
    use picoserve::response::ws::WebSocketUpgrade;
    let upgrade =
        WebSocketUpgrade::from_request(&(), request.parts, request.body_connection.body()).await;
    let connection = request.body_connection.finalize().await?;
    match upgrade {
        Ok(u) => {
            let offers_hprose = u
                .protocols()
                .is_some_and(|mut p| p.any(|p| p.eq_ignore_ascii_case("hprose")));
            let session = WsSession {
                state: state.clone(),
            };
            if offers_hprose {
                // A browser fails the connection unless the offered subprotocol is echoed.
                u.on_upgrade(session)
                    .with_protocol("hprose")
                    .write_to(connection, writer)
                    .await
            } else {
                u.on_upgrade(session).write_to(connection, writer).await
            }
        }
        Err(rejection) => rejection.write_to(connection, writer).await,
    }
}

#[cfg(feature = "ws")]
struct WsSession {
    state: Rc<NodeState>,
}

#[cfg(feature = "ws")]
impl picoserve::response::ws::WebSocketCallback for WsSession {
    async fn run<R: Read, W: picoserve::io::Write<Error = R::Error>>(
        self,
        mut rx: picoserve::response::ws::SocketRx<R>,
        mut tx: picoserve::response::ws::SocketTx<W>,
    ) -> Result<(), W::Error> {
        use picoserve::futures::Either;
        use picoserve::response::ws::Message;
        let size = MAX_API_BODY.min(256 * 1024);
        // The buffer, and a message decoded from it, count against the memory budget.
        let _grant = match self.state.budget.reserve(2 * size, "a WebSocket's buffer") {
            Ok(g) => g,
            Err(e) => {
                crate::log_warn!("websocket closed: {e}");
                return tx
                    .close((1013, "node memory budget full; try again later"))
                    .await;
            }
        };
        let mut buffer = vec![0u8; size];
        loop {
            let message = match rx
                .next_message(&mut buffer, core::future::pending::<()>())
                .await?
            {
                Either::First(Ok(m)) => m,
                Either::First(Err(e)) => {
                    crate::log_debug!("websocket closed: {e:?}");
                    return tx.close((1009, "message too large or malformed")).await;
                }
                Either::Second(()) => return tx.close(None).await,
            };
            let data = match message {
                Message::Binary(d) => d,
                Message::Text(t) => t.as_bytes(),
                Message::Ping(p) => {
                    tx.send_pong(p).await?;
                    continue;
                }
                Message::Pong(_) => continue,
                Message::Close(_) => return tx.close(None).await,
            };
            let mut out = Vec::new();
            match hprose::split_ws_frame(data) {
                Ok((id, payload)) => {
                    let reply = answer(&self.state, payload)
                        .await
                        .map_or_else(|message| error_body(&message), |a| a.body);
                    hprose::ws_frame(id, &reply, &mut out);
                }
                Err(e) => {
                    hprose::ws_frame(0, &error_body(&e.to_string()), &mut out);
                }
            }
            tx.send_binary(&out).await?;
        }
    }
}
