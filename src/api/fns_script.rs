//! Leither's task functions (LTask.md): `RunScript`, `RegisterScript`, `RunByScriptID`,
//! `TaskRunInBackground`, and ours to list and cancel tasks (`TaskList`, `TaskCancel`).
//! The scripts themselves run in [`crate::scripts`]; docs/scripts.md has the contract.

use super::{ApiError, ApiFuture, Call, Rights, Value};
use crate::scripts::engine::{Job, run};

/// Keys of `glob` that carry credentials: used to log in, never passed to the script.
const SECRET_KEYS: &[&str] = &["ppt", "password", "passwd", "pwd", "pass"];
/// Keys of `glob` naming an account to log in with a password.
const NAME_KEYS: &[&str] = &["username", "user", "name"];

fn bad(c: &Call<'_>, message: String) -> ApiError {
    ApiError::BadArguments {
        function: c.entry.name,
        message,
    }
}

/// `glob` (argument `i`) as pairs: a map, or absent / null for none. At most 64 entries.
pub fn glob_arg(c: &Call<'_>, i: usize) -> Result<Vec<(String, Value)>, ApiError> {
    let pairs = match c.args.get(i) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(Value::List(l)) if l.is_empty() => Vec::new(),
        Some(v) => {
            return Err(bad(
                c,
                format!(
                    "argument {} (glob) must be a map of parameters, got {}",
                    i + 1,
                    v.kind()
                ),
            ));
        }
    };
    if pairs.len() > 64 {
        return Err(bad(
            c,
            format!("glob has {} entries; at most 64", pairs.len()),
        ));
    }
    Ok(pairs)
}

fn find<'v>(glob: &'v [(String, Value)], keys: &[&str]) -> Option<&'v str> {
    glob.iter()
        .find(|(k, _)| keys.iter().any(|w| k.eq_ignore_ascii_case(w)))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
}

/// The session a script runs with, from `glob` as Leither's RunScript reads it: `sid` (a live
/// session), else `ppt` (a pass to log in with), else a name (`username`, `user`, `name`) and
/// `password`; when none of them logs in, the guest `""`. Answers the sid, its rights, and
/// whether the session was opened here (then it is closed after the run).
async fn session_of(c: &Call<'_>, glob: &[(String, Value)]) -> (String, Rights, bool) {
    let state = c.state;
    if let Some(sid) = find(glob, &["sid"])
        && let Ok(s) = crate::ops::session::touch(state, sid)
    {
        return (s.sid, s.rights, false);
    }
    let login = if let Some(ppt) = find(glob, &["ppt"]) {
        Some(vec![Value::from(ppt)])
    } else {
        match (
            find(glob, NAME_KEYS),
            find(glob, &["password", "passwd", "pwd", "pass"]),
        ) {
            (Some(n), Some(p)) => Some(vec![Value::from(n), Value::from(p)]),
            _ => None,
        }
    };
    if let Some(args) = login
        && let Ok(v) = super::call(state, "Login", args).await
        && let Some(sid) = v.get("sid").and_then(Value::as_str)
    {
        let rights = state
            .sessions
            .borrow()
            .rights_of(sid, crate::clock::unix_now())
            .unwrap_or(Rights::Guest);
        return (sid.to_string(), rights, true);
    }
    (String::new(), Rights::Guest, false)
}

/// The `request` a script sees: `glob` without credentials, with `sid` set to the session
/// the script runs with.
pub fn request_of(glob: Vec<(String, Value)>, sid: &str) -> Vec<(String, Value)> {
    let mut r: Vec<(String, Value)> = glob
        .into_iter()
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case("sid") && !SECRET_KEYS.iter().any(|s| k.eq_ignore_ascii_case(s))
        })
        .collect();
    r.push(("sid".into(), Value::from(sid)));
    r
}

/// Runs `source` for `glob` as RunScript does.
async fn run_for_glob(
    c: &Call<'_>,
    name: &str,
    source: &str,
    glob: Vec<(String, Value)>,
) -> Result<Value, ApiError> {
    let (sid, rights, opened) = session_of(c, &glob).await;
    let out = run(
        c.state,
        Job {
            name,
            source,
            request: request_of(glob, &sid),
            stranger: rights < Rights::User,
        },
    )
    .await;
    if opened {
        c.state.sessions.borrow_mut().close(&sid);
    }
    out
}

/// `RunScript(script, glob)`: Leither's documented form (LTask.md). The session comes from
/// `glob` ([`session_of`]); the script's return value is the answer.
pub fn run_script(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 2)?;
        let source = c.str_arg(0, "script")?.to_string();
        let glob = glob_arg(&c, 1)?;
        run_for_glob(&c, "RunScript", &source, glob).await
    })
}
