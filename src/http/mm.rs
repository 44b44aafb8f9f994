//! `GET`/`HEAD /mm/<mid>[:ver]/path`: a file Mimei's content, served through the gateway.
//!
//! The Mimei path is parsed with the model's strict URL rules (`MimeiPath::parse_url`: `..`
//! that would leave the Mimei, `%2F`, backslashes, control characters are 400). The version
//! (default `last`) is resolved to its verified record's root CID, the caller's read right is
//! checked (a guest reads only what `*` grants; `Authorization: Bearer SID` or `?sid=` gives
//! a session's rights), and the gateway serves `/ipfs/<root>/path` from there. Names move
//! (`last`, `release`, `cur`), so answers are revalidated (`no-cache`) with the content's
//! CID as `ETag` instead of being cached as immutable.
//!
//! A Mimei with a default application (`header.app`, `mimei create -a APPID`) opens with it:
//! `/mm/<mid>` and `/mm/<mid>/` serve that app's `index.html` exactly as `/tpt/<appid>` does
//! (src/http/tpt.rs), and the page then reads the Mimei through the API with the visitor's
//! session. Only the app's read right is checked for that page, not the Mimei's: a browser
//! opening the link has no session yet, and the page is the app's content, not the Mimei's.
//! Every other path of such a Mimei is its own content, as for any Mimei.
//!
//! [`session_user`] and [`ipfs_path`] are the resolution both fronts share; the rules behind
//! them (who a session is, the read right, which version) are `crate::ops`'s.

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::reply::{json_error, send};
use crate::api::NodeState;
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{MimeiId, MimeiPath, Right, VersionName};
use crate::pki::LeitherId;

/// Clients revalidate every time; the ETag (the content's CID) makes that cheap.
pub(crate) const CACHE: &str = "no-cache";

/// Why a request cannot be served: the HTTP status and a message for the client.
pub(crate) type Refusal = (u16, String);

/// Where a front sends the gateway: an `/ipfs/<root>[/path]`, and the Mimei the caller was
/// found to read it through (the gateway's block checks take it as read: `ops::blocks`).
pub(crate) struct Planned {
    /// The gateway path.
    pub path: String,
    /// The Mimei.
    pub within: MimeiId,
}

pub(crate) fn store_refusal(e: MimeiStoreError) -> Refusal {
    (e.http_status(), e.to_string())
}

/// The user a request's session stands for; `None` for a guest or no session. An unknown or
/// expired session is refused (the client should sign in again), not served as a guest.
pub(crate) fn session_user(
    state: &NodeState,
    sid: Option<&str>,
) -> Result<Option<LeitherId>, Refusal> {
    let Some(sid) = sid else { return Ok(None) };
    crate::ops::session::user(state, sid).map_err(|e| (e.http_status(), e.to_string()))
}

/// The gateway path `/ipfs/<root>[/seg...][/]` of `mid` at `ver`, once `user` is found to
/// hold the read right on it. Segments are percent-encoded again for the gateway.
pub(crate) fn ipfs_path(
    state: &NodeState,
    mid: &MimeiId,
    ver: VersionName,
    user: Option<&LeitherId>,
    path: &[String],
    trailing_slash: bool,
) -> Result<Planned, Refusal> {
    let root = crate::ops::mimei::open(state, user, mid, ver, Right::READ)
        .and_then(|o| o.root(state))
        .map_err(store_refusal)?;
    let mut out = format!("/ipfs/{root}");
    for seg in path {
        out.push('/');
        out.push_str(&super::gateway::percent_encode(seg));
    }
    if trailing_slash && !path.is_empty() {
        out.push('/');
    }
    Ok(Planned {
        path: out,
        within: *mid,
    })
}

/// The gateway path `/mm/...` names.
fn plan(state: &NodeState, path: &str, sid: Option<&str>) -> Result<Planned, Refusal> {
    let rest = path.strip_prefix("/mm/").unwrap_or("");
    let p = MimeiPath::parse_url(rest).map_err(|e| (e.http_status(), e.to_string()))?;
    let user = session_user(state, sid)?;
    if p.path.is_empty() && p.version.is_none() {
        let header = Mimeis::new(&state.store)
            .header(&p.mid)
            .map_err(store_refusal)?;
        if let Some(app) = header.fields().app {
            return super::tpt::index_path(state, &app, user.as_ref()).map_err(|(status, m)| {
                (
                    status,
                    format!(
                        "Mimei {} opens with the app {app}, which cannot be served: {m}",
                        p.mid
                    ),
                )
            });
        }
    }
    ipfs_path(
        state,
        &p.mid,
        p.version_or_last(),
        user.as_ref(),
        &p.path,
        p.trailing_slash,
    )
}

/// Handles `GET`/`HEAD /mm/...`.
pub async fn get<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    serve_planned(state, path, plan, "mm", request, writer).await
}

/// Serves what `plan` makes of `path` (an `/ipfs/...` path) through the gateway, or its
/// refusal as a JSON error with `code`: the shared end of `/mm/` and `/tpt/`.
pub(crate) async fn serve_planned<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    plan: fn(&NodeState, &str, Option<&str>) -> Result<Planned, Refusal>,
    code: &str,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let sid = super::reply::session_id(&request.parts);
    match plan(state, path, sid.as_deref()) {
        Ok(p) => {
            let access = crate::ops::blocks::BlockAccess::for_sid(state, sid).within(p.within);
            super::gateway::get_with(state, &p.path, CACHE, access, request, writer).await
        }
        // Not here: a DNN page when providers reported it (src/http/dnn.rs), else a 404.
        #[cfg(feature = "files")]
        Err((404, message)) => {
            super::dnn::not_here(state, path, code, 404, message, request, writer).await
        }
        Err((status, message)) => {
            let body = json_error(&message, code);
            send(request, writer, status, "application/json", body).await
        }
    }
}
