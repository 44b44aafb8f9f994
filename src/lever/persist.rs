//! The node's deployments on disk, so services come back after a restart: `lever.json` in the
//! home would clash with app folders, so the file is `lever-services.json`, written whole and
//! atomically (temporary file, fsync, rename) after each deploy, rollback and removal.
//!
//! The code itself is not copied: it is the app's Mimei versions in the store, which the
//! file names (`[{env, name, deployer, history: [{mid, version, at}]}]`, the last entry of
//! `history` being the current one). A service's env and database are not here either: they
//! are its settings, in the store ([`super::settings`]).

use std::path::Path;

use super::service::{Deployed, Service};
use crate::api::Value;
use crate::api::json::{JsonLimits, decode, encode_pretty};

/// The file in the home.
pub const FILE: &str = "lever-services.json";

/// One service as saved: (env, name, deployer, history with the current one last).
pub type Saved = (String, String, String, Vec<Deployed>);

/// Writes the services.
pub fn save(home: &Path, services: &[&Service]) -> std::io::Result<()> {
    let list = services
        .iter()
        .map(|s| {
            let mut history: Vec<Value> = s
                .history
                .iter()
                .map(|d| {
                    Value::map([
                        ("mid", Value::Str(d.mid.to_string())),
                        ("version", Value::Int(d.version as i64)),
                        ("at", Value::Int(d.at as i64)),
                    ])
                })
                .collect();
            // The current deployment last (a rollback makes an older version current).
            history.push(Value::map([
                ("mid", Value::Str(s.code.mid.to_string())),
                ("version", Value::Int(s.code.version as i64)),
                ("at", Value::Int(crate::clock::unix_now() as i64)),
            ]));
            Value::map([
                ("env", Value::Str(s.env.clone())),
                ("name", Value::Str(s.name.clone())),
                ("deployer", Value::Str(s.deployer.clone())),
                ("history", Value::List(history)),
            ])
        })
        .collect();
    let mut text = String::new();
    encode_pretty(&Value::List(list), &mut text);
    crate::fsutil::write_atomic(&home.join(FILE), text.as_bytes(), 0o600)
}

/// Reads the services: (env, name, deployer, history with the current one last). A damaged
/// file is logged and read as empty (the apps stay in the store; redeploy them).
pub fn load(home: &Path) -> Vec<Saved> {
    let path = home.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            crate::log_error!("{}: {e}; no Lever services restored", path.display());
            return Vec::new();
        }
    };
    match parse(&bytes) {
        Some(v) => v,
        None => {
            crate::log_error!(
                "{} is damaged; no Lever services restored (redeploy them)",
                path.display()
            );
            Vec::new()
        }
    }
}

fn parse(bytes: &[u8]) -> Option<Vec<Saved>> {
    let Value::List(items) = decode(bytes, &JsonLimits::DEFAULT).ok()? else {
        return None;
    };
    let mut out = Vec::new();
    for it in items {
        let s = |k: &str| it.get(k).and_then(Value::as_str).map(str::to_string);
        let Value::List(hist) = it.get("history")? else {
            return None;
        };
        let mut history: Vec<Deployed> = Vec::new();
        for h in hist {
            let d = Deployed {
                mid: h.get("mid")?.as_str()?.parse().ok()?,
                version: h.get("version")?.as_i64()? as u64,
                at: h.get("at")?.as_i64()? as u64,
            };
            // The current entry repeats a version already in the history: keep it last only.
            history.retain(|x| !(x.mid == d.mid && x.version == d.version));
            history.push(d);
        }
        out.push((s("env")?, s("name")?, s("deployer")?, history));
    }
    Some(out)
}
