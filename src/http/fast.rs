//! The hot path of a connection: the node's most frequent requests — Lever calls (`POST
//! /<service>/<method>`) and the JSON API (`POST /api/<Function>`) — read with the small
//! codec of [`super::codec`] and answered in one write, without picoserve's per-request
//! machinery (its two timers, its header iterator, its formatted writes: about half of the
//! node's user time per Lever call, docs/performance.md "Lever services").
//!
//! Every connection starts here. A request the hot path does not take (any other route, a
//! Lever stream, or anything the codec leaves alone: [`super::codec::Parsed::Other`]) hands
//! the connection to picoserve for the rest of its life, with the bytes read so far given
//! back unconsumed ([`GuardedStream::give_back`]), so picoserve reads that request as if it
//! had read it itself. Both paths run over the same [`GuardedStream`], so the limits are the
//! same ones: the head guard (431 past [`super::HEAD_LIMIT`]), the connection's slot (head
//! timeout, keep-alive, eviction), the body stall, the rate of calls per address (paid as
//! [`super::routes::cost_of`] says), the body cap ([`super::MAX_API_BODY`], 413) and the
//! memory budget for a body (503), and the write timeout.
//!
//! Keep-alive and pipelining: requests are read one after the other from the connection's
//! buffer, each answered in order before the next is looked at; an HTTP/1.0 request or
//! `Connection: close` ends the connection after its answer, as picoserve does.

use std::rc::Rc;

use picoserve::io::{BaseWrite, Read, Socket};
use tokio::sync::watch;

use super::codec::{self, Head, Parsed};
use super::guard::{GuardError, GuardedStream, WRITE_TIMEOUT};
use super::reply::{json_error, reserve_body, session_id_of};
use super::{CONFIG, CONNECTION_BUFFER, DRAIN_TIMEOUT, HEAD_LIMIT, MAX_API_BODY};
use crate::api::NodeState;
use crate::ops::rate;

const JSON: &str = "application/json";

/// Why a connection ended other than by its client closing it.
#[derive(Debug)]
pub enum Ended {
    /// Reading or writing the hot path's requests failed (or timed out).
    Io(GuardError),
    /// picoserve, which served the connection after the hot path handed it over, failed.
    Picoserve(picoserve::Error<GuardError>),
}

impl From<GuardError> for Ended {
    fn from(e: GuardError) -> Ended {
        Ended::Io(e)
    }
}

/// A request the hot path answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hot<'a> {
    /// `POST /api/<Function>`: the function's name.
    Api(&'a str),
    /// `POST /<service>[/<resource>]/<method>`, not a stream.
    Lever,
}

/// Which hot route a request is, if any: exactly the requests [`super::routes`] sends to
/// `json_api::post` and to `lever::call` for a plain call; every other one is picoserve's.
pub fn hot_route<'a>(method: &str, path: &'a str) -> Option<Hot<'a>> {
    if method != "POST" {
        return None;
    }
    if let Some(function) = path.strip_prefix("/api/") {
        return Some(Hot::Api(function));
    }
    // The node's own POST routes, matched before Lever's in `routes`.
    let own = matches!(
        path,
        "/webapi" | "/webapi/" | "/ws" | "/ws/" | "/ws3" | "/ws3/" | "/entry" | "/entry/"
    ) || path == "/ipfs/add"
        || path == "/ipfs/car"
        || path.starts_with("/tun/");
    if own {
        return None;
    }
    lever_call(path)
}

#[cfg(feature = "lever")]
fn lever_call(path: &str) -> Option<Hot<'_>> {
    match crate::lever::Target::parse_path(path) {
        Ok(t) if crate::lever::target::is_stream(&t.method) => None,
        _ => Some(Hot::Lever),
    }
}

#[cfg(not(feature = "lever"))]
fn lever_call(_path: &str) -> Option<Hot<'_>> {
    None
}

/// How the hot path leaves a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Closed after an answer that said `Connection: close` (or the node stops).
    Close,
    /// Handed to picoserve with what was read of a request the hot path does not take.
    HandOver,
}

/// One answer: status, content type, body, and the extra header lines.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    extra: String,
}

impl Answer {
    fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Answer {
        Answer {
            status,
            content_type,
            body,
            extra: String::new(),
        }
    }
}

/// Serves one connection: the hot path while its requests are hot ones, then picoserve
/// (`app`) for the rest, until the client closes it, the port closes it (its slot), or the
/// node stops (`stop` turns true; a request being answered is finished first).
pub async fn serve<P: picoserve::routing::PathRouter>(
    state: &Rc<NodeState>,
    app: &picoserve::Router<P>,
    mut stream: GuardedStream,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Ended> {
    let mut buf = vec![0u8; CONNECTION_BUFFER];
    let (mut start, mut end, mut scanned) = (0usize, 0usize, 0usize);
    let mut head_out = Vec::with_capacity(512);
    let next = {
        let (mut read, mut write) = stream.split();
        loop {
            let parsed = codec::parse(&buf[start..end], scanned, HEAD_LIMIT);
            let h = match parsed {
                Parsed::Request(h) => h,
                Parsed::Other => break Next::HandOver,
                Parsed::Incomplete { scanned: s } => {
                    scanned = s;
                    if start == end {
                        (start, end, scanned) = (0, 0, 0);
                    } else if end == buf.len() {
                        if start == 0 {
                            // A buffer of blank lines and no head: picoserve's to answer.
                            break Next::HandOver;
                        }
                        // Room for the rest of the head (the guard bounds it well below).
                        buf.copy_within(start..end, 0);
                        (start, end) = (0, end - start);
                    }
                    let n = if start == end {
                        tokio::select! {
                            r = read.read(&mut buf[end..]) => r?,
                            _ = stop.wait_for(|s| *s) => return Ok(()),
                        }
                    } else {
                        read.read(&mut buf[end..]).await?
                    };
                    if n == 0 {
                        return Ok(());
                    }
                    end += n;
                    continue;
                }
            };
            let Some(hot) = hot_route(h.method, h.path) else {
                break Next::HandOver;
            };
            let keep_alive = h.keep_alive;
            let body_start = start + h.len;
            let buffered = (h.content_length <= (end - body_start) as u64)
                .then_some(h.content_length as usize);
            let (answer, taken) = answer(state, hot, &h, &buf[body_start..end], &mut read).await?;
            // The body was read (the part already in `buf`, then the rest from the socket
            // into its own buffer), or refused unread: then it is skipped when it is all in
            // `buf`, else the connection closes after the answer.
            let taken = taken.or(buffered);
            let close = !keep_alive || taken.is_none();
            start = match taken {
                Some(in_buf) => body_start + in_buf,
                None => end,
            };
            scanned = 0;
            let reason = super::REASON
                .try_with(|r| r.borrow_mut().take())
                .ok()
                .flatten();
            head_out.clear();
            codec::write_head(
                &mut head_out,
                answer.status,
                reason.as_deref(),
                answer.content_type,
                answer.body.len(),
                &answer.extra,
                !close,
            );
            let sent = async {
                write.write_all(&head_out).await?;
                write.write_all(&answer.body).await?;
                picoserve::io::BaseWrite::flush(&mut write).await
            };
            tokio::time::timeout(WRITE_TIMEOUT, sent)
                .await
                .map_err(|_| {
                    GuardError(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the answer could not be sent within 10 s",
                    ))
                })??;
            if close || *stop.borrow() {
                break Next::Close;
            }
        }
    };
    if next == Next::Close {
        return Ok(stream.close().await?);
    }
    // picoserve's from here: it gets back what was read and not consumed.
    let rest = buf[start..end].to_vec();
    drop(buf);
    stream.give_back(rest);
    let mut buffer = vec![0u8; CONNECTION_BUFFER];
    picoserve::Server::new_tokio(app, &CONFIG, &mut buffer)
        .with_graceful_shutdown(
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
            picoserve::time::Duration::from_secs(DRAIN_TIMEOUT.as_secs()),
        )
        .serve(stream)
        .await
        .map(|_| ())
        .map_err(Ended::Picoserve)
}

/// What a hot request will run, once its door has let it in.
enum Plan<'a> {
    Api(&'a str),
    #[cfg(feature = "lever")]
    Lever(crate::lever::Target, crate::lever::Caller),
}

/// Answers one hot request, `buffered` being what was read after its head. Returns the
/// answer and how many bytes of `buffered` the body took, or `None` when the body was left
/// unread (refused before reading it).
async fn answer<R: Read<Error = GuardError>>(
    state: &Rc<NodeState>,
    hot: Hot<'_>,
    h: &Head<'_>,
    buffered: &[u8],
    read: &mut R,
) -> Result<(Answer, Option<usize>), GuardError> {
    let sid = session_id_of(Some(h.query), h.authorization);
    // The door's price, as `routes` charges it (the API's calls pay inside).
    if let Some(cost) = super::routes::cost_of(h.method, h.path, false)
        && let Err(limited) = rate::charge_sid(state, rate::caller_ip(), sid.as_deref(), cost)
    {
        let message = limited.to_string();
        super::reply::set_reason(&message);
        let mut a = Answer::new(429, JSON, json_error(&message, "rate_limited"));
        a.extra = format!("Retry-After: {}\r\n", limited.retry_after());
        return Ok((a, None));
    }
    let plan = match hot {
        Hot::Api(function) => Plan::Api(function),
        #[cfg(feature = "lever")]
        Hot::Lever => {
            let planned = crate::lever::Target::parse_path(h.path)
                .and_then(|t| super::lever::plan_of(state, t, h.query, h.host, sid));
            match planned {
                Ok((t, caller)) => {
                    state.calls.set(state.calls.get() + 1);
                    Plan::Lever(t, caller)
                }
                Err(e) => {
                    let (status, body) = super::lever::error_reply(&e);
                    return Ok((Answer::new(status, JSON, body), None));
                }
            }
        }
        #[cfg(not(feature = "lever"))]
        Hot::Lever => {
            let body = json_error("this node is built without Lever", "not_found");
            return Ok((Answer::new(404, JSON, body), None));
        }
    };
    let length = match usize::try_from(h.content_length) {
        Ok(n) => n,
        Err(_) => usize::MAX,
    };
    if let Err(e) = reserve_body(length, MAX_API_BODY) {
        let body = json_error(&e.message(), "bad_body");
        return Ok((Answer::new(e.status(), JSON, body), None));
    }
    let have = buffered.len().min(length);
    let mut body = Vec::with_capacity(length);
    body.extend_from_slice(&buffered[..have]);
    if have < length {
        body.resize(length, 0);
        let mut at = have;
        while at < length {
            match read.read(&mut body[at..]).await? {
                0 => {
                    let m = super::reply::BodyError::Incomplete.message();
                    return Ok((Answer::new(400, JSON, json_error(&m, "bad_body")), None));
                }
                n => at += n,
            }
        }
    }
    let a = match plan {
        Plan::Api(function) => {
            let (status, out, retry) = super::json_api::answer(state, function, &body).await;
            let mut a = Answer::new(status, JSON, out);
            if let Some(retry) = retry {
                a.extra = format!("Retry-After: {retry}\r\n");
            }
            a
        }
        #[cfg(feature = "lever")]
        Plan::Lever(t, caller) => {
            let (status, ctype, out) =
                super::lever::answer(state, &t, &caller, h.content_type, body).await;
            Answer::new(status, ctype, out)
        }
    };
    Ok((a, Some(have)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_calls_and_api_posts_are_hot() {
        assert_eq!(hot_route("POST", "/api/GetVar"), Some(Hot::Api("GetVar")));
        assert_eq!(hot_route("GET", "/api/GetVar"), None);
        for own in [
            "/webapi",
            "/webapi/",
            "/ws",
            "/ws3/",
            "/entry",
            "/ipfs/add",
            "/ipfs/car",
            "/tun/x",
        ] {
            assert_eq!(hot_route("POST", own), None, "{own}");
        }
        assert_eq!(hot_route("GET", "/ipfs/Qm"), None);
        if cfg!(feature = "lever") {
            assert_eq!(hot_route("POST", "/hello/SayHello"), Some(Hot::Lever));
            assert_eq!(hot_route("POST", "/chat/TalkChan"), None);
        }
    }
}
