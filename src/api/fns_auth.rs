//! Leither's authentication functions (api/Auth.md): `Login` in all its forms,
//! `LoginWithPPT`, `Logout(sid, info)`, `Register`, `SetUserInfo`, `SignPPT` and
//! `RequestService`.
//!
//! Login forms, as Leither's clients call them:
//! - `Login()` or `Login("")`: a guest session (the empty sid `""` is a guest too).
//! - `Login(ppt)`, `Login(ppt, "byppt")`, `LoginWithPPT(ppt)`: a pass in either text form
//!   (ours, `ppt1.`, or Leither's JSON); the node key's pass gives the owner's session.
//! - `Login(name, pass)`, `Login(name, pass, "byname")`: an account registered here
//!   (src/accounts/); its key is unsealed into the session, so `SignPPT` can sign for it.
//!
//! Who a pass makes you (docs/security.md, "Who may do what"): the node key's pass, the owner;
//! a key the owner admitted (`lpki addkey`, `AddUser`, a `RequestService` grant) or an
//! account's key, a user; any other key, a visitor: a guest known by its ID.
//!
//! Every form answers `{Sid, Uid}` as Leither's `LoginReply`, with our `sid`, `uid`, `rights`
//! and `expires` beside them (Hprose clients decoding into a struct ignore the extra keys).

use std::future::ready;
use std::rc::Rc;

use super::{ApiError, ApiFuture, Call, Rights, Session, Value};
use crate::accounts::admitted::AdmittedUsers;
use crate::accounts::{AccountError, Accounts};
use crate::clock::unix_now;
use crate::ops::rate;
use crate::pki::{LeitherId, NodeKey, Pass};

/// Longest `Logout` info kept in the log, in bytes.
const MAX_LOGOUT_INFO: usize = 256;
/// Longest pass `SignPPT` signs, in hours (30 days).
const MAX_SIGN_HOURS: i64 = 24 * 30;

/// `Login([ppt | name, pass], [how])`: see the module doc.
pub fn login(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(login_now(&c, unix_now())))
}

/// `LoginWithPPT(ppt)`: `Login` with a pass.
pub fn login_with_ppt(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let text = c.str_arg(0, "ppt")?;
        login_by_pass(&c, text, unix_now())
    })()))
}

fn login_now(c: &Call<'_>, now: u64) -> Result<Value, ApiError> {
    c.arity(0, 3)?;
    let first = c.opt_str_arg(0, "ppt or name")?;
    let how = c.opt_str_arg(2, "how")?;
    match (first, c.args.len(), how) {
        (None, 0 | 1, _) => open(c, "", Rights::Guest, u64::MAX, None, now),
        (Some(text), 1, _) => login_by_pass(c, text, now),
        (Some(text), 2, _) if c.opt_str_arg(1, "how")? == Some("byppt") => {
            login_by_pass(c, text, now)
        }
        (Some(text), 3, Some("byppt")) => login_by_pass(c, text, now),
        (Some(name), 2, _) | (Some(name), 3, None | Some("byname")) => {
            let pass = c.str_arg(1, "password")?;
            login_by_name(c, name, pass, now)
        }
        (_, _, Some(other)) => Err(bad(
            c,
            format!(
                "unknown login form {:?}: use \"byname\" (name, password) or \"byppt\" (a pass)",
                super::truncate(other, 32)
            ),
        )),
        _ => Err(bad(
            c,
            "forms: Login(), Login(ppt), Login(name, password), Login(name, password, \"byname\")"
                .to_string(),
        )),
    }
}

fn bad(c: &Call<'_>, message: String) -> ApiError {
    ApiError::BadArguments {
        function: c.entry.name,
        message,
    }
}

pub(crate) fn login_by_pass(c: &Call<'_>, text: &str, now: u64) -> Result<Value, ApiError> {
    let pass = Pass::parse(text)?;
    pass.verify(now)?;
    // The owner's session carries the node's own ID: a home made before IDs followed
    // Leither's rule keeps its old node ID (docs/identity.md), which authored its Mimeis.
    let (uid, rights) = if *pass.public_key() == c.state.key.public_key() {
        (c.state.key.id().to_string(), Rights::Owner)
    } else {
        let uid = pass.signer_id().to_string();
        let rights = if crate::accounts::admitted::is_member(&c.state.store, &uid)? {
            Rights::User
        } else {
            Rights::Visitor
        };
        (uid, rights)
    };
    open(c, &uid, rights, pass.end_time(), None, now)
}

/// A login by name hashes the password: the caller's address must have failed logins left
/// and the node hashes left ([`crate::ops::rate`], checked before hashing); a failure costs
/// the address one, a success gives nothing back.
fn login_by_name(c: &Call<'_>, name: &str, pass: &str, now: u64) -> Result<Value, ApiError> {
    let ip = rate::caller_ip();
    rate::before_hash(c.state, ip)?;
    let (account, key) = match Accounts::new(&c.state.store).login(name, pass) {
        Ok(k) => k,
        Err(e) => {
            if matches!(e, AccountError::WrongLogin) {
                rate::failed(c.state, ip);
            }
            return Err(e.into());
        }
    };
    open(c, &account.uid, Rights::User, u64::MAX, Some(key), now)
}

fn open(
    c: &Call<'_>,
    uid: &str,
    rights: Rights,
    hard_end: u64,
    key: Option<NodeKey>,
    now: u64,
) -> Result<Value, ApiError> {
    let mut sessions = c.state.sessions.borrow_mut();
    let s = sessions.open(uid, rights, hard_end, now)?;
    if let Some(k) = key {
        sessions.attach_key(&s.sid, Rc::new(k));
    }
    Ok(reply(&s))
}

/// Leither's `LoginReply` `{Sid, Uid}`, with our fields beside it.
fn reply(s: &Session) -> Value {
    Value::map([
        ("Sid", Value::Str(s.sid.clone())),
        ("Uid", Value::Str(s.uid.clone())),
        ("sid", Value::Str(s.sid.clone())),
        ("uid", Value::Str(s.uid.clone())),
        ("rights", Value::from(s.rights.as_str())),
        ("expires", Value::Int(s.expires as i64)),
    ])
}

/// `Logout(sid, [info])` ends the session; `info` goes to the log (bounded, one line).
pub fn logout(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 2)?;
        let sid = c.str_arg(0, "sid")?;
        let info = c.opt_str_arg(1, "info")?.unwrap_or("");
        let ended = {
            let mut sessions = c.state.sessions.borrow_mut();
            let uid = sessions.touch(sid, unix_now()).map(|s| s.uid).ok();
            sessions.close(sid);
            uid
        };
        if let Some(uid) = ended.filter(|_| !info.is_empty()) {
            let line: String = super::truncate(info, MAX_LOGOUT_INFO)
                .chars()
                .map(|ch| if ch.is_control() { ' ' } else { ch })
                .collect();
            crate::log_info!("logout {uid}: {line}");
        }
        Ok(Value::Bool(true))
    })()))
}

/// Whether the caller may register an account (module doc of src/accounts/).
fn registration_open(c: &Call<'_>) -> Result<(), ApiError> {
    let setting = c.state.vars.borrow().registration.clone();
    let local = super::remote_addr().is_none_or(|a| a.ip().is_loopback());
    let owner = c
        .session
        .as_ref()
        .is_some_and(|s| s.rights == Rights::Owner);
    match setting.as_str() {
        "open" => Ok(()),
        "loopback" if local || owner => Ok(()),
        "off" if owner => Ok(()),
        _ => Err(AccountError::RegistrationClosed(setting).into()),
    }
}

/// `Register(name, pass, [email])` or `Register(json)` with `newname`, `newpass`, `email`:
/// makes an account and returns its user ID.
pub fn register(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 3)?;
        registration_open(&c)?;
        let (name, pass, email) = if c.args.len() == 1 {
            let text = c.str_arg(0, "params")?;
            let doc = super::json::decode(text.as_bytes(), &super::json::JsonLimits::default())
                .map_err(|e| bad(&c, format!("the parameter map is not JSON: {e}")))?;
            let field = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
            (
                field("newname")
                    .or_else(|| field("name"))
                    .unwrap_or_default(),
                field("newpass")
                    .or_else(|| field("pass"))
                    .unwrap_or_default(),
                field("email").unwrap_or_default(),
            )
        } else {
            (
                c.str_arg(0, "name")?.to_string(),
                c.str_arg(1, "password")?.to_string(),
                c.opt_str_arg(2, "email")?.unwrap_or("").to_string(),
            )
        };
        // Every attempt hashes a password: it counts as a failed login of the address.
        let ip = rate::caller_ip();
        rate::before_hash(c.state, ip)?;
        rate::failed(c.state, ip);
        let account = Accounts::new(&c.state.store).register(&name, &pass, &email, unix_now())?;
        crate::log_info!("account {name} registered: {}", account.uid);
        Ok(Value::Str(account.uid))
    })()))
}

fn map_arg<'a>(c: &'a Call<'_>, i: usize, what: &str) -> Result<Vec<(&'a str, &'a str)>, ApiError> {
    match c.args.get(i) {
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::Str(s) => Ok((k.as_str(), s.as_str())),
                other => Err(bad(
                    c,
                    format!(
                        "{what}: the value of {k:?} must be a string, got {}",
                        other.kind()
                    ),
                )),
            })
            .collect(),
        Some(v) => Err(bad(
            c,
            format!(
                "argument {} ({what}) must be a map of strings, got {}",
                i + 1,
                v.kind()
            ),
        )),
        None => Err(bad(c, format!("argument {} ({what}) is missing", i + 1))),
    }
}

/// `SetUserInfo(sid, param)`: an account changes its `newname`, `newpass` or `email`; the
/// owner may change another account's name or email by naming its `userid`.
pub fn set_user_info(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let session = c.session.clone().ok_or(ApiError::NoSession {
            function: c.entry.name,
        })?;
        let params = map_arg(&c, 1, "param")?;
        let get = |k: &str| params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
        let accounts = Accounts::new(&c.state.store);
        let target_uid = match get("userid") {
            Some(u) if u != session.uid => {
                if session.rights != Rights::Owner {
                    return Err(ApiError::Forbidden {
                        function: c.entry.name,
                        need: "owner (to change another user's account)",
                    });
                }
                u.to_string()
            }
            _ => session.uid.clone(),
        };
        let uid: LeitherId = target_uid
            .parse()
            .map_err(|_| ApiError::NotFound("no account for this session".to_string()))?;
        let account = accounts.by_uid(&uid)?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "{uid} has no account on this node; Register one first"
            ))
        })?;
        let own_key = (target_uid == session.uid)
            .then(|| c.state.sessions.borrow().key_of(&session.sid))
            .flatten();
        if get("newpass").is_some() && own_key.is_none() {
            return Err(bad(
                &c,
                "a password is changed by the account itself, logged in with Login(name, password)"
                    .to_string(),
            ));
        }
        accounts.update(
            &account,
            own_key.as_deref(),
            get("newname"),
            get("newpass"),
            get("email"),
        )?;
        Ok(Value::Bool(true))
    })()))
}

/// `SignPPT(sid, info, period)`: a pass with `info` as its data, valid `period` hours,
/// signed by the session's own key: the node key for the owner, the account key for an
/// account logged in by name. Other users hold their key themselves (`lpki signppt`).
pub fn sign_ppt(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 3)?;
        let session = c.session.clone().ok_or(ApiError::NoSession {
            function: c.entry.name,
        })?;
        let info: Vec<(String, String)> = map_arg(&c, 1, "info")?
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let hours = c
            .args
            .get(2)
            .and_then(Value::as_i64)
            .filter(|h| (1..=MAX_SIGN_HOURS).contains(h))
            .ok_or_else(|| {
                bad(
                    &c,
                    format!("period is a number of hours from 1 to {MAX_SIGN_HOURS}"),
                )
            })?;
        let now = unix_now();
        let secs = hours as u64 * 3600;
        let pass = if session.rights == Rights::Owner {
            Pass::sign(&c.state.key, info, now, secs)?
        } else if let Some(key) = c.state.sessions.borrow().key_of(&session.sid) {
            Pass::sign(&key, info, now, secs)?
        } else {
            return Err(ApiError::Forbidden {
                function: c.entry.name,
                need: "the signer's key: an account logged in by name, or the owner; \
                       others sign their pass with `leither lpki signppt -k KEYFILE`",
            });
        };
        Ok(Value::Str(pass.to_text()))
    })()))
}

/// `RequestService(ppt)`: a user asks for named services with a pass they signed (data key
/// `service` or `services`, comma-separated). Answers `{service: {granted, reason}}` per
/// service. A service is granted only by a rule of the owner's; a node without rules grants
/// none, and says so.
pub fn request_service(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        let pass = Pass::parse(c.str_arg(0, "ppt")?)?;
        pass.verify(unix_now())?;
        // `RequestService=NAME` is what Leither's `lpki reqservice -m` writes.
        let names: Vec<String> = pass
            .data()
            .iter()
            .filter(|(k, _)| k == "service" || k == "services" || k == "RequestService")
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .take(32)
            .collect();
        if names.is_empty() {
            return Err(bad(
                &c,
                "the pass names no service: sign it with -m \"service=NAME\"".to_string(),
            ));
        }
        let granted_to_all = c.state.vars.borrow().quotas.grant_services.clone();
        let signer = pass.signer_id();
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let (granted, reason) = if granted_to_all.contains(&n) {
                admit(&c, &signer, &format!("service:{n}"))?;
                (
                    "true",
                    format!(
                        "{n} is granted to everyone here (GrantServices); {signer} is a user now"
                    ),
                )
            } else {
                match script_decides(&c, &n, &signer.to_string(), pass.data()).await {
                    ScriptSays::Granted => {
                        admit(&c, &signer, &format!("service:{n} (script)"))?;
                        (
                            "true",
                            format!(
                                "the owner's script service/RequestService/{n}.lua granted {n}; {signer} is a user now"
                            ),
                        )
                    }
                    ScriptSays::Refused(why) => ("false", why),
                    ScriptSays::NoScript => (
                        "false",
                        format!(
                            "no rule of this node grants {n} to {signer}; ask the owner (`leither \
                             lpki addkey -i {signer}`, {n} in GrantServices, or a script \
                             service/RequestService/{n}.lua)"
                        ),
                    ),
                }
            };
            out.push((
                n,
                Value::map([
                    ("granted", Value::from(granted)),
                    ("reason", Value::Str(reason)),
                ]),
            ));
        }
        Ok(Value::Map(out))
    })
}

/// What the owner's `service/RequestService/NAME.lua` says (crate::scripts::service; a build
/// without Lua has no scripts).
#[cfg_attr(not(feature = "lever"), allow(dead_code))]
enum ScriptSays {
    NoScript,
    Granted,
    Refused(String),
}

#[cfg(feature = "lever")]
async fn script_decides(
    c: &Call<'_>,
    name: &str,
    uid: &str,
    data: &[(String, String)],
) -> ScriptSays {
    use crate::scripts::service::{Decision, decide};
    match decide(c.state, name, uid, data).await {
        Decision::NoScript => ScriptSays::NoScript,
        Decision::Granted => ScriptSays::Granted,
        Decision::Refused(why) => ScriptSays::Refused(why),
    }
}

#[cfg(not(feature = "lever"))]
async fn script_decides(
    _c: &Call<'_>,
    _name: &str,
    _uid: &str,
    _data: &[(String, String)],
) -> ScriptSays {
    ScriptSays::NoScript
}

/// Admits `uid` (`how` says why) and makes its live sessions a user's.
pub(crate) fn admit(c: &Call<'_>, uid: &LeitherId, how: &str) -> Result<bool, ApiError> {
    let added = AdmittedUsers::new(&c.state.store).add(uid, how, unix_now())?;
    c.state
        .sessions
        .borrow_mut()
        .set_rights_of(&uid.to_string(), Rights::User);
    if added {
        crate::log_info!("admitted {uid} ({how})");
    }
    Ok(added)
}

fn uid_arg(c: &Call<'_>) -> Result<LeitherId, ApiError> {
    let text = c.str_arg(1, "uid")?;
    text.trim().parse().map_err(|e| {
        bad(
            c,
            format!("{:?} is not a user ID: {e}", super::truncate(text, 40)),
        )
    })
}

/// `AddUser(sid, uid)` (owner): admits a user ID, Leither's `lpki addkey`. Answers whether it
/// was new.
pub fn add_user(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let uid = uid_arg(&c)?;
        Ok(Value::Bool(admit(&c, &uid, "addkey")?))
    })()))
}

/// `DelUser(sid, uid)` (owner): withdraws an admission, Leither's `lpki delkey`. The user's
/// live sessions become a visitor's at once (an account stays a user). Answers whether it
/// was admitted.
pub fn del_user(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let uid = uid_arg(&c)?;
        let removed = AdmittedUsers::new(&c.state.store).remove(&uid)?;
        let text = uid.to_string();
        // A node admitted by an invitation: its addresses go with its admission.
        crate::accounts::invites::Invites::new(&c.state.store).forget_node(&text)?;
        if !crate::accounts::admitted::is_member(&c.state.store, &text)? {
            c.state
                .sessions
                .borrow_mut()
                .set_rights_of(&text, Rights::Visitor);
        }
        if removed {
            crate::log_info!("admission of {uid} withdrawn");
        }
        Ok(Value::Bool(removed))
    })()))
}

/// `ListUsers(sid)` (owner): the admitted users, `[{uid, at, how}]`.
pub fn list_users(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let list = AdmittedUsers::new(&c.state.store).list()?;
        Ok(Value::List(
            list.into_iter()
                .map(|a| {
                    Value::map([
                        ("uid", Value::Str(a.uid)),
                        ("at", Value::Int(a.at as i64)),
                        ("how", Value::Str(a.how)),
                    ])
                })
                .collect(),
        ))
    })()))
}

#[cfg(test)]
#[path = "fns_auth_tests.rs"]
mod tests;
