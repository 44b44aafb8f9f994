//! `GET`/`HEAD /mm/<mid>[:ver]/path`: a file Mimei's content, served through the gateway.
//!
//! The Mimei path is parsed with the model's strict URL rules (`MimeiPath::parse_url`: `..`
//! that would leave the Mimei, `%2F`, backslashes, control characters are 400). The version
//! (default `last`) is resolved to its verified record's root CID, the caller's read right is
//! checked (a guest reads only what `*` grants; `Authorization: Bearer SID` or `?sid=` gives
//! a session's rights), and the gateway serves `/ipfs/<root>/path` from there. Names move
//! (`last`, `release`, `cur`), so answers are revalidated (`no-cache`) with the content's
//! CID as `ETag` instead of being cached as immutable.

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::reply::{json_error, send};
use crate::api::NodeState;
use crate::ipfs::Cid;
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{MimeiPath, Right};

/// Clients revalidate every time; the ETag (the content's CID) makes that cheap.
const CACHE: &str = "no-cache";

/// The root and gateway path `/mm/...` names, or (status, message).
fn plan(state: &NodeState, path: &str, sid: Option<&str>) -> Result<String, (u16, String)> {
    let rest = path.strip_prefix("/mm/").unwrap_or("");
    let p = MimeiPath::parse_url(rest).map_err(|e| (e.http_status(), e.to_string()))?;
    let user = match sid {
        Some(sid) => {
            let s = state
                .sessions
                .borrow_mut()
                .touch(sid, crate::clock::unix_now())
                .map_err(|e| (e.http_status(), e.to_string()))?;
            if s.uid.is_empty() {
                None
            } else {
                s.uid.parse().ok()
            }
        }
        None => None,
    };
    let fail = |e: MimeiStoreError| (e.http_status(), e.to_string());
    let m = Mimeis::new(&state.store);
    let header = m.header(&p.mid).map_err(fail)?;
    header
        .rights()
        .check(user.as_ref(), Right::READ)
        .map_err(|e| (e.http_status(), e.to_string()))?;
    let (root, _): (Cid, _) = m.root(&p.mid, p.version_or_last()).map_err(fail)?;
    let mut out = format!("/ipfs/{root}");
    for seg in &p.path {
        out.push('/');
        out.push_str(&super::gateway::percent_encode(seg));
    }
    if p.trailing_slash && !p.path.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Handles `GET`/`HEAD /mm/...`.
pub async fn get<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let sid = super::reply::session_id(&request.parts);
    match plan(state, path, sid.as_deref()) {
        Ok(ipfs_path) => super::gateway::get_with(state, &ipfs_path, CACHE, request, writer).await,
        Err((status, message)) => {
            let body = json_error(&message, "mm");
            send(request, writer, status, "application/json", body).await
        }
    }
}
