//! `RequestService` scripts: the owner's `service/RequestService/<name>.lua` in the node's
//! home (Leither's place, doc/Setup.md and doc/Directory-en.md) decides whether an asker gets
//! service `<name>` when no rule of SystemVars.json grants it.
//!
//! The script runs as any script does ([`super::engine`]), as the guest (`request.sid` is
//! `""`), with `request` holding the asker's ID (`uid`), the service asked for (`service`)
//! and the fields of the asker's pass. It answers `true` (or a table) to grant and anything
//! else to refuse; an error or a limit refuses. What a grant does is fixed here, not by the
//! script: the asker becomes a user of this node, as the owner's `lpki addkey` would make
//! them, and nothing beyond. Leither reads the folder at start; this node reads the file at
//! each request, so a change needs no restart.

use std::path::PathBuf;

use crate::api::{NodeState, Value};

/// The folder of the scripts, under the home.
pub const DIR: &str = "service/RequestService";

/// What a script decided.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// No script for that service.
    NoScript,
    /// The script granted it.
    Granted,
    /// The script refused it, or failed (the reason).
    Refused(String),
}

/// The script's path for `service`, if the name is a plain file name (letters, digits,
/// `_ . -`, at most 64 bytes, not starting with a dot).
pub fn path_of(state: &NodeState, service: &str) -> Option<PathBuf> {
    let plain = !service.is_empty()
        && service.len() <= 64
        && !service.starts_with('.')
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    plain.then(|| state.home.join(DIR).join(format!("{service}.lua")))
}

/// Runs the owner's script for `service` asked by `uid` with the pass's `data`.
pub async fn decide(
    state: &NodeState,
    service: &str,
    uid: &str,
    data: &[(String, String)],
) -> Decision {
    let Some(path) = path_of(state, service) else {
        return Decision::NoScript;
    };
    let source = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() <= super::MAX_SCRIPT_BYTES as u64 => {
            match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(e) => return Decision::Refused(format!("{DIR}/{service}.lua: {e}")),
            }
        }
        Ok(m) if m.is_file() => {
            return Decision::Refused(format!(
                "{DIR}/{service}.lua is larger than {} bytes",
                super::MAX_SCRIPT_BYTES
            ));
        }
        _ => return Decision::NoScript,
    };
    let mut request: Vec<(String, Value)> = data
        .iter()
        .take(32)
        .filter(|(k, _)| !matches!(k.as_str(), "uid" | "service" | "sid"))
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    request.push(("uid".into(), Value::from(uid)));
    request.push(("service".into(), Value::from(service)));
    request.push(("sid".into(), Value::from("")));
    let name = format!("RequestService/{service}.lua");
    let out = super::engine::run(
        state,
        super::engine::Job {
            backend: None,
            name: &name,
            source: &source,
            request,
            stranger: true,
        },
    )
    .await;
    match out {
        Ok(Value::Bool(true)) | Ok(Value::Map(_)) => Decision::Granted,
        Ok(Value::Bool(false)) => Decision::Refused(format!(
            "the owner's script {DIR}/{service}.lua refused {service} to {uid}"
        )),
        Ok(v) => Decision::Refused(format!(
            "the owner's script {DIR}/{service}.lua answered {} (true or a table grants)",
            match v {
                Value::Null => "nothing",
                other => other.kind(),
            }
        )),
        Err(e) => Decision::Refused(format!(
            "the owner's script {DIR}/{service}.lua failed: {}",
            crate::api::truncate(&e.to_string(), 300)
        )),
    }
}
