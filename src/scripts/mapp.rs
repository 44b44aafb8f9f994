//! `RunMApp(entry, request, args)`: runs one Lua file of an app as Leither's backend runs an
//! app's entry (docs/apps.md). `/entry?appid=&entry=` of an app without `lever.json` comes
//! here too.
//!
//! The app is named in `request` (`appid` or `aid`, or `author` and `app`), the caller's
//! session is `request.sid` (none: the guest), the version `request.ver` (none: the released
//! one, else the newest). The caller needs read on the app. The file runs as a script does
//! ([`super::engine`]: the sandbox, the node's limits for time, instructions and memory, a
//! place among the running scripts) with `request` (Leither's keys set by the node), `args`,
//! the modules, and `lapi` ([`super::backend`]). What it returns is the answer.

use std::rc::Rc;

use super::app::{App, entry_path, request_for};
use super::backend::Backend;
use super::engine::{Job, run as run_job};
use super::{Limits, MAX_SCRIPT_BYTES};
use crate::api::{ApiError, NodeState, Rights, Value};
use crate::lever::LeverError;
use crate::mimei::{MimeiId, MimeiType};

/// Most entries of `args`.
pub const MAX_ARGS: usize = 64;

fn bad(message: String) -> ApiError {
    ApiError::Lever(LeverError::BadRequest(message))
}

fn param<'a>(params: &'a [(String, Value)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
}

/// The app the parameters name: `appid` (Leither's), `aid` (ours and Leither's request key),
/// or `author` and `app` (the app of that name uploaded by that author on this node).
pub fn app_of(state: &NodeState, params: &[(String, Value)]) -> Result<MimeiId, ApiError> {
    if let Some(a) = param(params, "appid").or_else(|| param(params, "aid")) {
        return a
            .parse()
            .map_err(|e| bad(format!("appid \"{}\": {e}", crate::api::truncate(a, 40))));
    }
    match (param(params, "author"), param(params, "app")) {
        (Some(author), Some(app)) => {
            let node = state.key.id();
            let mark = if author == node.to_string() {
                app.to_string()
            } else {
                author
                    .parse::<crate::pki::LeitherId>()
                    .map_err(|e| bad(format!("author: {e}")))?;
                crate::api::fns_mimei::user_mark(author, app)
            };
            crate::mimei::id::derive(&node, None, MimeiType::File, &mark, None)
                .map_err(|e| bad(format!("app \"{}\": {e}", crate::api::truncate(app, 40))))
        }
        _ => Err(bad(
            "name the app: appid=APPID (or aid=), or author=ID&app=NAME".into(),
        )),
    }
}

/// Runs `entry` of the app `params` names, for the session `params.sid`, with `args`.
pub async fn run(
    state: &NodeState,
    entry: &str,
    params: Vec<(String, Value)>,
    args: Vec<Value>,
) -> Result<Value, ApiError> {
    if args.len() > MAX_ARGS {
        return Err(bad(format!(
            "args has {} entries; at most {MAX_ARGS}",
            args.len()
        )));
    }
    let aid = app_of(state, &params)?;
    let path = entry_path(entry).ok_or_else(|| {
        bad(format!(
            "entry \"{}\" is not a Lua file's path (letters, digits, _ - . and /)",
            crate::api::truncate(entry, 64)
        ))
    })?;
    let sid = param(&params, "sid").unwrap_or("").to_string();
    let session = crate::ops::session::touch(state, &sid)?;
    let user = crate::ops::session::uid(&session)?;
    let app = App::open(
        state,
        user.as_ref(),
        &aid,
        param(&params, "ver").unwrap_or(""),
    )?;
    let bytes = app
        .read_file(state, &path, MAX_SCRIPT_BYTES)?
        .ok_or_else(|| ApiError::NotFound(format!("app {aid} has no file {path}")))?;
    let source = String::from_utf8(bytes)
        .map_err(|_| bad(format!("{path}: not UTF-8 text (bytecode is refused)")))?;
    let request = request_for(state, &app, &path, &sid, params);
    let limits = Limits::of(state);
    let hard_end = crate::clock::unix_now()
        .saturating_add(limits.timeout_ms / 1000)
        .saturating_add(60);
    let backend = Rc::new(Backend::new(
        state,
        app.clone(),
        args,
        request.clone(),
        hard_end,
    ));
    let out = run_job(
        state,
        Job {
            name: &path,
            source: &source,
            request,
            stranger: session.rights < Rights::User,
            backend: Some(backend.clone()),
        },
    )
    .await;
    backend.finish(state).await;
    out
}
