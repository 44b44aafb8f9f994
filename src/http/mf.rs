//! `GET`/`HEAD /mf/<path>?mmsid=MMSID`: Leither's route for a file of an open Mimei, so a page
//! that opened a Mimei through the API can show its images and files with plain URLs.
//!
//! `<path>` is a path inside the Mimei version the handle names (`MMOpen(sid, mid, ver)`), read
//! with the strict URL rules of `/mm/` (`MimeiPath::parse_url`). The handle is the capability:
//! the request needs no session of its own, it reads as the session that opened the handle,
//! while that session lives and its user still holds read (`fns_mimei::mmsid_for_read`, the
//! same checks every `MF*` call on the handle makes). Treat an mmsid as a secret, like a sid.
//! The body streams through the gateway (content type, ranges, ETag) without caching, since
//! `cur` changes under the same URL.

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::mm::{CACHE, Planned, Refusal, store_refusal};
use super::reply::{json_error, send};
use crate::api::NodeState;
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiPath, VersionName};

/// Longest mmsid taken from a query (ours are far shorter).
const MAX_MMSID: usize = 128;

/// The mmsid of the query, if any.
fn mmsid_of(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("mmsid="))
        .filter(|v| !v.is_empty())
}

/// The gateway path `/ipfs/<root>/<path>` the request names, and who the mmsid reads as.
fn plan(
    state: &NodeState,
    path: &str,
    query: &str,
) -> Result<(Planned, crate::ops::blocks::Who), Refusal> {
    let mmsid = mmsid_of(query).ok_or_else(|| {
        (
            401,
            "/mf/<path> needs ?mmsid=MMSID: open the Mimei with MMOpen and pass the mmsid it \
             returns"
                .to_string(),
        )
    })?;
    if mmsid.len() > MAX_MMSID {
        return Err((400, format!("mmsid is longer than {MAX_MMSID} characters")));
    }
    let (mid, version, who) = crate::api::fns_mimei::mmsid_for_read(state, mmsid)
        .map_err(|e| (e.http_status(), e.to_string()))?;
    // The Mimei's own URL rules apply to the path, as under /mm/.
    let rest = path
        .strip_prefix("/mf")
        .unwrap_or("")
        .trim_start_matches('/');
    let p = MimeiPath::parse_url(&format!("{mid}/{rest}"))
        .map_err(|e| (e.http_status(), e.to_string()))?;
    let name = version.map_or(VersionName::Cur, VersionName::Number);
    let (root, _) = Mimeis::new(&state.store)
        .root(&mid, name)
        .map_err(store_refusal)?;
    let mut out = format!("/ipfs/{root}");
    for seg in &p.path {
        out.push('/');
        out.push_str(&super::gateway::percent_encode(seg));
    }
    if p.trailing_slash && !p.path.is_empty() {
        out.push('/');
    }
    Ok((
        Planned {
            path: out,
            within: mid,
        },
        who,
    ))
}

/// Handles `GET`/`HEAD /mf/...`.
pub async fn get<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let query = super::reply::query(&request.parts);
    match plan(state, path, &query) {
        Ok((p, who)) => {
            let access = crate::ops::blocks::BlockAccess::new(state, who).within(p.within);
            super::gateway::get_with(state, &p.path, CACHE, access, request, writer).await
        }
        Err((status, message)) => {
            let body = json_error(&message, "mf");
            send(request, writer, status, "application/json", body).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mmsid_of;

    #[test]
    fn mmsid_from_query() {
        assert_eq!(mmsid_of("mmsid=abc"), Some("abc"));
        assert_eq!(mmsid_of("x=1&mmsid=abc&y=2"), Some("abc"));
        assert_eq!(mmsid_of("mmsid="), None);
        assert_eq!(mmsid_of("sid=abc"), None);
    }
}
