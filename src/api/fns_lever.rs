//! Lever's functions in the API table: deploy, list, logs, rollback, remove, invoke. The CLI's
//! `leither lever ...` calls these (and `POST /<service>/<method>` for invoke and stream).

use super::{ApiError, ApiFuture, Call, Value};
use crate::lever::settings::Vars;
use crate::lever::{Caller, LeverError, Target};

fn session(c: &Call<'_>) -> Result<crate::api::Session, ApiError> {
    c.session.clone().ok_or(ApiError::SessionExpired)
}

fn int_arg(c: &Call<'_>, i: usize, what: &str) -> Result<u64, ApiError> {
    match c.args.get(i) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Str(s)) if s.is_empty() => Ok(0),
        Some(Value::Str(s)) => s.parse().map_err(|_| ApiError::BadArguments {
            function: c.entry.name,
            message: format!(
                "argument {} ({what}) must be a number, got \"{}\"",
                i + 1,
                crate::api::truncate(s, 32)
            ),
        }),
        Some(v) => v
            .as_i64()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| ApiError::BadArguments {
                function: c.entry.name,
                message: format!(
                    "argument {} ({what}) must be a number, got {}",
                    i + 1,
                    v.kind()
                ),
            }),
    }
}

fn env_arg<'a>(c: &'a Call<'_>, i: usize) -> Result<&'a str, ApiError> {
    Ok(match c.opt_str_arg(i, "env")? {
        Some("") | None => crate::lever::target::DEFAULT_ENV,
        Some(e) => e,
    })
}

/// `LeverDeploy(sid, env, appMid, [ver], [vars])`: `vars`, an object of names to strings,
/// become the service's env (kept by the node, never in the app); `null` or absent keeps it.
pub fn deploy(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(3, 5)?;
        let s = session(&c)?;
        let env = env_arg(&c, 1)?;
        let mid = c.str_arg(2, "appMid")?;
        let mid = mid.parse().map_err(|e| ApiError::BadArguments {
            function: c.entry.name,
            message: format!("argument 3 (appMid): {e}"),
        })?;
        let ver = int_arg(&c, 3, "ver")?;
        let vars = match c.args.get(4) {
            None | Some(Value::Null) => None,
            Some(v) => Some(Vars::parse(v).map_err(|e| ApiError::BadArguments {
                function: c.entry.name,
                message: format!("argument 5 (vars): {}: {e}", e.field("vars")),
            })?),
        };
        Ok(c.state.lever.deploy(c.state, &s, env, &mid, ver, vars)?)
    })
}

/// `LeverLs(sid, [env])`.
pub fn ls(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 2)?;
        let env = c.opt_str_arg(1, "env")?.filter(|e| !e.is_empty());
        Ok(c.state.lever.list(env, c.session.as_ref()))
    })
}

/// `LeverLogs(sid, env, service, since)`.
pub fn logs(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(3, 4)?;
        let env = env_arg(&c, 1)?;
        let name = c.str_arg(2, "service")?;
        let since = int_arg(&c, 3, "since")?;
        Ok(c.state.lever.logs(env, name, since)?)
    })
}

/// `LeverRollback(sid, env, service, [ver])`.
pub fn rollback(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(3, 4)?;
        let s = session(&c)?;
        let env = env_arg(&c, 1)?;
        let name = c.str_arg(2, "service")?;
        let ver = int_arg(&c, 3, "ver")?;
        Ok(c.state.lever.rollback(c.state, &s, env, name, ver)?)
    })
}

/// `LeverRm(sid, env, service)`.
pub fn rm(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(3, 3)?;
        let s = session(&c)?;
        let env = env_arg(&c, 1)?;
        let name = c.str_arg(2, "service")?;
        c.state.lever.remove(c.state, &s, env, name)?;
        Ok(Value::Bool(true))
    })
}

/// `LeverInvoke(sid, url, args)`: a call through the API table (the same routing as HTTP).
pub fn invoke(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 3)?;
        let s = session(&c)?;
        let url = c.str_arg(1, "url")?;
        let t = Target::parse_url(url)?;
        let args = match c.args.get(2) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(a)) => a.clone(),
            Some(v) => {
                return Err(LeverError::BadRequest(format!(
                    "argument 3 (args) must be a list, got {}",
                    v.kind()
                ))
                .into());
            }
        };
        let caller = Caller {
            sid: s.sid,
            env: None,
        };
        Ok(c.state.lever.invoke(&t, &args, &caller).await?)
    })
}
