//! `lpki addkey`, `lpki delkey`, `lpki users`: who is a user of this node (Leither's
//! `lpki addkey <key>` / `lpki delkey`). docs/security.md, "Who may do what".
//!
//! `-i` takes a user ID (27 characters), a key file (ours or Leither's, as `lpki genkey`
//! writes) or a public key file (`pk=...`, as Leither's `lpki genpk` writes). With the node
//! running, the command calls the owner-only `AddUser` / `DelUser` / `ListUsers`, signed in
//! with the node key; with it stopped, it changes the home's database directly.

use std::path::Path;

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::accounts::admitted::AdmittedUsers;
use crate::api::Value;
use crate::pki::{LeitherId, NodeKey};

/// Admit a user: their passes then give user sessions, which may store within their quotas.
#[derive(FromArgs)]
#[argh(subcommand, name = "addkey")]
pub struct Addkey {
    /// the user: an ID, a key file, or a public key file (pk=...)
    #[argh(option, short = 'i')]
    input: String,
}

/// Withdraw a user's admission; their sessions become visitors' at once.
#[derive(FromArgs)]
#[argh(subcommand, name = "delkey")]
pub struct Delkey {
    /// the user: an ID, a key file, or a public key file (pk=...)
    #[argh(option, short = 'i')]
    input: String,
}

/// List the admitted users.
#[derive(FromArgs)]
#[argh(subcommand, name = "users")]
pub struct Users {}

/// Largest key file read.
const MAX_FILE: u64 = 64 * 1024;

/// The user ID `input` names (module doc).
pub fn user_id(input: &str) -> Result<LeitherId, CliError> {
    if let Ok(id) = input.trim().parse::<LeitherId>() {
        return Ok(id);
    }
    let path = Path::new(input);
    if !path.exists() {
        return Err(CliError::Usage(format!(
            "{input:?} is neither a user ID (27 characters) nor a file; pass -i ID or -i KEYFILE"
        )));
    }
    if let Ok(key) = NodeKey::load(path) {
        return Ok(key.id());
    }
    let meta = std::fs::metadata(path).map_err(CliError::io(path))?;
    if meta.len() > MAX_FILE {
        return Err(CliError::Failed(format!(
            "{input} is larger than a key file; pass -i ID"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    let pk = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("pk="))
        .map(|b| b.trim().trim_end_matches('='))
        .and_then(|b| crate::pki::encoding::base64url_decode(b).ok())
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            CliError::Failed(format!(
                "{input} holds no key this command reads (a key file with mode 0600, or a \
                 public key line pk=...); pass -i ID instead"
            ))
        })?;
    Ok(LeitherId::from_public_key(&pk))
}

/// Runs `f` against the running node, or the home's database when none runs.
fn with_node<T>(
    home: &Path,
    online: impl FnOnce(&mut Client, Value) -> Result<T, CliError>,
    offline: impl FnOnce(&AdmittedUsers<'_>) -> Result<T, CliError>,
) -> Result<T, CliError> {
    match Client::new(home, None, None) {
        Ok(mut c) => {
            let sid = Value::Str(c.login(true)?);
            online(&mut c, sid)
        }
        Err(CliError::NoNode { .. }) => {
            let key = NodeKey::load(&home.join(crate::home::KEY_FILE)).map_err(CliError::Pki)?;
            let store = crate::store::Store::open(home, 1 << 20, &key.id().to_string())
                .map_err(|e| CliError::Failed(e.to_string()))?;
            offline(&AdmittedUsers::new(&store))
        }
        Err(e) => Err(e),
    }
}

fn account(e: crate::accounts::AccountError) -> CliError {
    CliError::Failed(e.to_string())
}

impl Addkey {
    /// Runs `lpki addkey`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let id = user_id(&self.input)?;
        let new = with_node(
            home,
            |c, sid| {
                let v = c.call("AddUser", vec![sid, Value::Str(id.to_string())])?;
                Ok(matches!(v, Value::Bool(true)))
            },
            |a| {
                a.add(&id, "addkey", crate::clock::unix_now())
                    .map_err(account)
            },
        )?;
        if new {
            println!("addkey ok: {id} is a user of this node");
        } else {
            println!("addkey ok: {id} was a user already");
        }
        Ok(())
    }
}

impl Delkey {
    /// Runs `lpki delkey`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let id = user_id(&self.input)?;
        let removed = with_node(
            home,
            |c, sid| {
                let v = c.call("DelUser", vec![sid, Value::Str(id.to_string())])?;
                Ok(matches!(v, Value::Bool(true)))
            },
            |a| a.remove(&id).map_err(account),
        )?;
        if removed {
            println!("delkey ok: {id} is no longer a user of this node");
            Ok(())
        } else {
            Err(CliError::Failed(format!(
                "{id} was not admitted here (an account registered here stays a user)"
            )))
        }
    }
}

impl Users {
    /// Runs `lpki users`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let rows = with_node(
            home,
            |c, sid| {
                let v = c.call("ListUsers", vec![sid])?;
                Ok(match v {
                    Value::List(l) => l
                        .iter()
                        .map(|u| {
                            let f = |k| u.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                            let at = u.get("at").and_then(Value::as_i64).unwrap_or(0);
                            (f("uid"), at as u64, f("how"))
                        })
                        .collect(),
                    _ => Vec::new(),
                })
            },
            |a| {
                Ok(a.list()
                    .map_err(account)?
                    .into_iter()
                    .map(|u| (u.uid, u.at, u.how))
                    .collect::<Vec<_>>())
            },
        )?;
        for (uid, at, how) in rows {
            println!("{uid}  {}  {how}", crate::log::timestamp(at));
        }
        Ok(())
    }
}
