//! `GET`/`HEAD /tpt/<appid>[:ver][/path]`: an application's files, served through the gateway.
//!
//! An app is a file Mimei made by `leither lapp uploadapp` (its `lever.json`, Lua code and
//! static files). Visitors get the version its author released (`lapp release`), or the newest
//! one while none is released, so an upload can be tried at `/tpt/<appid>:last/` before it
//! goes live. `/tpt/<appid>/` serves the app's `index.html` (`/tpt/<appid>` redirects there,
//! and Leither's `/tpt/,<appid>/` is the same path); other paths are files or folders of the
//! app, with the gateway's rules. Reads are checked like `/mm/`
//! (a guest reads what `*` grants; `uploadapp` grants everyone read on an app's first upload),
//! and answers are revalidated (`no-cache`, the content's CID as `ETag`) since `release`
//! moves.
//!
//! An app this node does not hold, or one with no version yet, is 404 with a JSON error that
//! says how to put it there.

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::ResponseWriter;

use super::mm::{Planned, Refusal, ipfs_path, session_user};
use crate::api::NodeState;
use crate::mimei::store::MimeiStoreError;
use crate::mimei::{MimeiId, MimeiPath, VersionName};
use crate::pki::LeitherId;

/// The version visitors get: `release` when the author named one, else `last`. An app that is
/// not here, or has no version, is a 404 that says to upload it.
fn served_version(state: &NodeState, app: &MimeiId) -> Result<VersionName, Refusal> {
    let missing = || {
        (
            404,
            format!(
                "no app {app} on this node: upload it with `leither lapp uploadapp -i DIR` \
                 (DIR holds lever.json and index.html), or open it on a node that has it"
            ),
        )
    };
    match crate::ops::mimei::release_else_last(state, app) {
        Ok(n) => Ok(VersionName::Number(n)),
        Err(MimeiStoreError::NotFound(_)) => Err(missing()),
        Err(e) => Err(super::mm::store_refusal(e)),
    }
}

/// The gateway path of `app`'s `index.html` in the version visitors get (for `/mm/<mid>` of a
/// Mimei whose default app this is, and `/tpt/<appid>`).
pub(crate) fn index_path(
    state: &NodeState,
    app: &MimeiId,
    user: Option<&LeitherId>,
) -> Result<Planned, Refusal> {
    let ver = served_version(state, app)?;
    ipfs_path(state, app, ver, user, &["index.html".to_string()], false)
}

/// The gateway path `/tpt/...` names.
fn plan(state: &NodeState, path: &str, sid: Option<&str>) -> Result<Planned, Refusal> {
    let rest = path.strip_prefix("/tpt/").unwrap_or("");
    if rest.is_empty() {
        return Err((
            404,
            "name an app: /tpt/<appid>[/path] (`leither lapp showapp -a NAME` shows its ID)"
                .to_string(),
        ));
    }
    let p = MimeiPath::parse_url(rest).map_err(|e| (e.http_status(), e.to_string()))?;
    let user = session_user(state, sid)?;
    let ver = match p.version {
        Some(v) => v,
        None => served_version(state, &p.mid)?,
    };
    let (segments, trailing_slash) = if p.path.is_empty() {
        (vec!["index.html".to_string()], false)
    } else {
        (p.path, p.trailing_slash)
    };
    ipfs_path(state, &p.mid, ver, user.as_ref(), &segments, trailing_slash)
}

/// Leither's template form `/tpt/,<appid>/...` names the same app as `/tpt/<appid>/...`.
fn canonical(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/tpt/,") {
        Some(rest) => format!("/tpt/{rest}").into(),
        None => path.into(),
    }
}

/// Handles `GET`/`HEAD /tpt/...`. An app held here and named without its trailing slash
/// (`/tpt/<appid>` or `/tpt/<appid>:ver`) is redirected to `/tpt/<appid>/`, so the relative
/// files of its `index.html` resolve inside the app.
pub async fn get<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let path = canonical(path);
    let rest = path.strip_prefix("/tpt/").unwrap_or("");
    if !rest.is_empty() && !rest.contains('/') {
        let sid = super::reply::session_id(&request.parts);
        if plan(state, &path, sid.as_deref()).is_ok() {
            let query = super::reply::query(&request.parts);
            let location = if query.is_empty() {
                format!("{path}/")
            } else {
                format!("{path}/?{query}")
            };
            return super::reply::redirect(request, writer, 301, location).await;
        }
    }
    // A browser opening a public app gets the page (Leither's getParam and the failover); the
    // page's own fetch (`?dnn=0`) gets index.html. A request with a session (`?sid=`) gets
    // the file as before: the page's fetches would not carry the session.
    #[cfg(feature = "files")]
    {
        if super::reply::session_id(&request.parts).is_none()
            && plan(state, &path, None).is_ok()
            && let Some(body) = super::dnn::app_page(state, &path, &request.parts)
        {
            return super::dnn::html(request, writer, 200, "no-store", body).await;
        }
    }
    super::mm::serve_planned(state, &path, plan, "tpt", request, writer).await
}
