//! Leither's task functions (LTask.md): `RunScript`, `RegisterScript`, `RunByScriptID`,
//! `TaskRunInBackground`, and ours to list and remove scripts (`ScriptList`, `ScriptDel`)
//! and to list and cancel tasks (`TaskList`, `TaskCancel`).
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
            backend: None,
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

fn session(c: &Call<'_>) -> Result<super::Session, ApiError> {
    c.session.clone().ok_or(ApiError::NoSession {
        function: c.entry.name,
    })
}

fn owner_id(c: &Call<'_>) -> String {
    c.state.key.id().to_string()
}

/// A map argument's string field, by Leither's field name (case-insensitive).
fn field<'v>(m: &'v Value, key: &str) -> Option<&'v Value> {
    match m {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn field_str<'v>(m: &'v Value, key: &str) -> &'v str {
    field(m, key).and_then(Value::as_str).unwrap_or("")
}

/// `RegisterScript(sid, script, info)`: stores a script for later runs (`RunByScriptID`,
/// tasks) and answers its ID. `info` is Leither's `ScriptInfo` `{ID, Name, Memo}`; an `ID`
/// of the caller's own script replaces it. Users of the node only; counts and sizes in
/// [`crate::scripts::store`]; the bytes count against `QuotaAddMBPerDay`.
pub fn register_script(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 3)?;
        let s = session(&c)?;
        let source = c.str_arg(1, "script")?;
        let info = c.args.get(2).cloned().unwrap_or(Value::Null);
        if !matches!(info, Value::Null | Value::Map(_)) {
            return Err(bad(
                &c,
                format!(
                    "argument 3 (info) must be a map (ScriptInfo {{ID, Name, Memo}}), got {}",
                    info.kind()
                ),
            ));
        }
        crate::scripts::engine::check_source("RegisterScript", source)?;
        super::need_member_to_add(c.state, &s, c.entry.name, source.len())?;
        let author = if s.rights == Rights::Owner {
            owner_id(&c)
        } else {
            s.uid.clone()
        };
        let replace = Some(field_str(&info, "ID")).filter(|x| !x.is_empty());
        let id = crate::scripts::store::register(
            &c.state.store,
            &author,
            &owner_id(&c),
            field_str(&info, "Name"),
            field_str(&info, "Memo"),
            replace,
            source,
            crate::clock::unix_now(),
        )?;
        Ok(Value::Str(id))
    })
}

/// The script `id`, if the session may run it: its author's and the owner's only. Anyone
/// else is told there is no such script of theirs (the IDs of others' scripts stay unknown).
pub fn runnable(
    c: &Call<'_>,
    s: &super::Session,
    id: &str,
) -> Result<(crate::scripts::store::ScriptMeta, String), ApiError> {
    let found = crate::scripts::store::get(&c.state.store, id)?;
    match found {
        Some((m, src)) if s.rights == Rights::Owner || (!s.uid.is_empty() && m.author == s.uid) => {
            Ok((m, src))
        }
        _ => Err(ApiError::NotFound(format!(
            "no script {:?} of yours is registered here (a registered script runs for its author and the node's owner)",
            super::truncate(id, 40)
        ))),
    }
}

/// `RunByScriptID(sid, scriptId, glob)`: runs a registered script with the caller's session
/// and `glob` as its `request`; the author and the owner may run it.
pub fn run_by_script_id(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 3)?;
        let s = session(&c)?;
        let id = c.str_arg(1, "scriptId")?.to_string();
        let glob = glob_arg(&c, 2)?;
        let (_, source) = runnable(&c, &s, &id)?;
        let name = format!("script {}", super::truncate(&id, 40));
        run(
            c.state,
            Job {
                backend: None,
                name: &name,
                source: &source,
                request: request_of(glob, &s.sid),
                stranger: s.rights < Rights::User,
            },
        )
        .await
    })
}

/// `TaskRunInBackground(sid, setting)`: Leither's `TaskSetting` `{Name, ScriptID, Start,
/// Period, Param, Status}` ([`crate::scripts::tasks`]). Answers null, as Leither's returns
/// only an error.
pub fn task_run_in_background(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let s = session(&c)?;
        super::need_member(&s, c.entry.name)?;
        let st = &c.args[1];
        if !matches!(st, Value::Map(_)) {
            return Err(bad(
                &c,
                format!(
                    "argument 2 (setting) must be a map (TaskSetting), got {}",
                    st.kind()
                ),
            ));
        }
        let script_id = field_str(st, "ScriptID").to_string();
        if script_id.is_empty() {
            return Err(bad(
                &c,
                "setting.ScriptID is missing: register the script first (RegisterScript)".into(),
            ));
        }
        runnable(&c, &s, &script_id)?;
        let int = |k: &str| -> Result<i64, ApiError> {
            match field(st, k) {
                None | Some(Value::Null) => Ok(0),
                Some(Value::Int(i)) => Ok(*i),
                Some(Value::Float(f)) if f.fract() == 0.0 => Ok(*f as i64),
                Some(Value::Str(t)) => t.trim().parse().map_err(|_| {
                    bad(
                        &c,
                        format!(
                            "setting.{k} must be a number, got {:?}",
                            super::truncate(t, 20)
                        ),
                    )
                }),
                Some(v) => Err(bad(
                    &c,
                    format!("setting.{k} must be a number, got {}", v.kind()),
                )),
            }
        };
        let param = match field(st, "Param") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Map(m)) if m.len() <= 64 => m.clone(),
            Some(_) => {
                return Err(bad(
                    &c,
                    "setting.Param must be a map of at most 64 entries".into(),
                ));
            }
        };
        let name = match field_str(st, "Name") {
            "" => script_id.clone(),
            n => super::truncate(n, 64),
        };
        let status = int("Status")?;
        let setting = crate::scripts::tasks::Setting {
            name,
            script_id,
            start: int("Start")?,
            period: int("Period")?,
            param,
            status: u8::try_from(status).unwrap_or(u8::MAX),
        };
        let owner = s.rights == Rights::Owner;
        let user = if owner { owner_id(&c) } else { s.uid.clone() };
        crate::scripts::tasks::set(c.state, &user, owner, setting, super::remote_addr())?;
        Ok(Value::Null)
    })
}

/// `TaskList(sid)` (ours): the caller's background tasks (the owner's: every one).
pub fn task_list(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        let s = session(&c)?;
        let owner = s.rights == Rights::Owner;
        let user = if owner { owner_id(&c) } else { s.uid.clone() };
        Ok(c.state.scripts.tasks.borrow().list(&user, owner))
    })
}

/// `TaskCancel(sid, name)` (ours): ends the caller's task `name` (the owner: anyone's of that
/// name). Answers whether one ended.
pub fn task_cancel(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let s = session(&c)?;
        let name = c.str_arg(1, "name")?;
        let owner = s.rights == Rights::Owner;
        let user = if owner { owner_id(&c) } else { s.uid.clone() };
        let ended = c
            .state
            .scripts
            .tasks
            .borrow_mut()
            .cancel(&user, name, owner);
        Ok(Value::Bool(ended))
    })
}

/// `ScriptList(sid)` (ours): the caller's registered scripts (the owner's: all), each
/// Leither's `ScriptInfo` `{ID, Name, Memo}` with `author`, `at` and `size`.
pub fn script_list(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        let s = session(&c)?;
        let owner = s.rights == Rights::Owner;
        let mine = if owner { owner_id(&c) } else { s.uid.clone() };
        let all = crate::scripts::store::list(&c.state.store)?;
        Ok(Value::List(
            all.iter()
                .filter(|m| owner || (!mine.is_empty() && m.author == mine))
                .map(|m| m.to_value())
                .collect(),
        ))
    })
}

/// `ScriptDel(sid, scriptId)` (ours): removes a registered script of the caller's (the owner:
/// anyone's). Answers true; a script that is not the caller's is not found.
pub fn script_del(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let s = session(&c)?;
        let id = c.str_arg(1, "scriptId")?.to_string();
        runnable(&c, &s, &id)?;
        Ok(Value::Bool(crate::scripts::store::remove(
            &c.state.store,
            &id,
        )?))
    })
}
