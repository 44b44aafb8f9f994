//! An app as its backend sees it (docs/apps.md): the app's Mimei opened for the caller, the
//! Lua file of an entry read from the version asked for, who the app's author is, and the two
//! keys this node derives for the app.
//!
//! An app is a file Mimei; its backend is Lua files in it (Leither's `RunMApp(entry, ...)`
//! and `/entry?appid=&entry=` name one). Running it needs read on the app: a private app
//! runs only for those it grants read.
//!
//! **The app's keys.** The node derives two ed25519 keys per app from its own secret seed and
//! the app's ID (SHA-256 with a different label each), so they are the same at every run and
//! known only to this node:
//! - the app's **identity**: the user `BELoginAsApp` logs in as, and the author of the app's
//!   data Mimeis (`BEOpenAppData*`), so only the app's code (and the node, which must sign
//!   their versions) can write them;
//! - the app's **signer**: what `BESignPPT` and `BESign` sign with. A pass it signed logs in
//!   as the signer, a stranger with no rights here, never as the app's identity, its author
//!   or the node's owner.

use sha2::{Digest, Sha256};

use crate::api::{ApiError, NodeState, Rights, Value};
use crate::ipfs::Cid;
use crate::ipfs::exporter;
use crate::lever::LeverError;
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{Member, MimeiId, Right, VersionName};
use crate::pki::{LeitherId, NodeKey};
use crate::store::blocks::Blocks;

/// An app opened for a run.
#[derive(Clone, Debug)]
pub struct App {
    /// The app's Mimei.
    pub aid: MimeiId,
    /// The version run (`None` for `cur`).
    pub version: Option<u64>,
    /// That version's root.
    pub root: Cid,
}

/// Which of the app's keys ([`App::key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKey {
    /// The identity (`BELoginAsApp`, the data Mimeis' author).
    Identity,
    /// The signer (`BESignPPT`, `BESign`).
    Signer,
}

fn bad(message: String) -> ApiError {
    ApiError::Lever(LeverError::BadRequest(message))
}

/// The version name of a `ver` parameter: empty for the version visitors get (the released
/// one, else the newest), else `cur`, `last`, `release` or a number.
pub fn version_name(state: &NodeState, aid: &MimeiId, ver: &str) -> Result<VersionName, ApiError> {
    if ver.is_empty() {
        let n = crate::ops::mimei::release_else_last(state, aid)?;
        return Ok(VersionName::Number(n));
    }
    ver.parse()
        .map_err(|e| bad(format!("ver \"{}\": {e}", crate::api::truncate(ver, 40))))
}

impl App {
    /// Opens app `aid` at `ver` ([`version_name`]) for `user` (`None`: a guest): needs read.
    pub fn open(
        state: &NodeState,
        user: Option<&LeitherId>,
        aid: &MimeiId,
        ver: &str,
    ) -> Result<App, ApiError> {
        let name = version_name(state, aid, ver)?;
        let header = Mimeis::new(&state.store).header(aid)?;
        let need = crate::ops::mimei::open_right(&header, user, name);
        let need = if need == Right::WRITE {
            // Running code only reads it: `cur` runs for a reader too.
            Right::READ
        } else {
            need
        };
        let opened = crate::ops::mimei::open(state, user, aid, name, need)?;
        let root = opened.root(state)?;
        Ok(App {
            aid: *aid,
            version: opened.version,
            root,
        })
    }

    /// The app's file at `path` (`a/b.lua`), at most `max` bytes; `None` when it has none.
    pub fn read_file(
        &self,
        state: &NodeState,
        path: &str,
        max: usize,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let fail = |e: String| ApiError::Lever(LeverError::App(format!("app {}: {e}", self.aid)));
        let Some(at) = find(state, self.root, path)? else {
            return Ok(None);
        };
        let blocks = Blocks::new(&state.store);
        let fetch = |c: &Cid| -> Result<Vec<u8>, ApiError> {
            blocks
                .get(c)
                .map_err(|e| fail(e.to_string()))?
                .ok_or_else(|| fail(format!("block {c} is not on this node")))
        };
        let mut out = Vec::new();
        let mut over = false;
        exporter::read_range(at, 0, max as u64 + 1, fetch, |d| {
            if out.len() + d.len() > max {
                over = true;
            } else {
                out.extend_from_slice(d);
            }
        })?;
        if over {
            return Err(bad(format!(
                "{path} of app {} is larger than the {max} bytes an entry may have",
                self.aid
            )));
        }
        Ok(Some(out))
    }
}

/// The CID of `path` (`a/b.lua`) under the folder `root`; `None` when there is none.
pub fn find(state: &NodeState, root: Cid, path: &str) -> Result<Option<Cid>, ApiError> {
    let blocks = Blocks::new(&state.store);
    let fail = |e: String| ApiError::Lever(LeverError::App(e));
    let fetch = |c: &Cid| -> Result<Vec<u8>, ApiError> {
        blocks
            .get(c)
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail(format!("block {c} is not on this node")))
    };
    let mut at = root;
    for name in path.split('/').take(16) {
        let block = fetch(&at)?;
        at.verify(&block).map_err(|e| fail(e.to_string()))?;
        let listing = match exporter::list_directory(&block) {
            Ok(l) => l,
            Err(_) => return Ok(None),
        };
        let found = exporter::find_in(listing, name, 64, fetch, || {
            fail("a folder of more than 64 shards".into())
        })?;
        match found {
            Some(e) => at = e.cid,
            None => return Ok(None),
        }
    }
    Ok(Some(at))
}

/// Whether app `aid`'s version for visitors holds `lever.json` at its top: a Lever app,
/// whose `/entry` calls a method of its services (docs/lever.md). Unknown: `false`.
pub fn is_lever_app(state: &NodeState, aid: &MimeiId) -> bool {
    let Ok(n) = crate::ops::mimei::release_else_last(state, aid) else {
        return false;
    };
    let Ok((root, _)) = Mimeis::new(&state.store).root(aid, VersionName::Number(n)) else {
        return false;
    };
    matches!(find(state, root, "lever.json"), Ok(Some(_)))
}

/// The Lua file an entry names: `main` when empty, `.lua` added when missing. `None` for a
/// name that is not a plain path of letters, digits, `_ - .` and `/`.
pub fn entry_path(entry: &str) -> Option<String> {
    let e = entry.trim_start_matches('/');
    let e = if e.is_empty() { "main" } else { e };
    let path = if e.ends_with(".lua") {
        e.to_string()
    } else {
        format!("{e}.lua")
    };
    crate::lever::manifest::lua_path_ok(&path).then_some(path)
}

/// One of the app's keys (see the module doc).
pub fn key(state: &NodeState, aid: &MimeiId, which: AppKey) -> Result<NodeKey, ApiError> {
    let label: &[u8] = match which {
        AppKey::Identity => b"leither backend app identity v1\0",
        AppKey::Signer => b"leither backend app signer v1\0",
    };
    let mut seed = state.key.secret_seed();
    let mut h = Sha256::new();
    h.update(label);
    h.update(seed);
    h.update(aid.to_string().as_bytes());
    seed.fill(0);
    let mut out: [u8; 32] = h.finalize().into();
    let key = NodeKey::from_seed(&out);
    out.fill(0);
    key.ok_or_else(|| ApiError::Internal("the app's key could not be derived".into()))
}

/// The rights a session of `uid` gets on this node: the owner's for the node's ID, a user's
/// for an admitted ID, else a visitor's.
pub fn rights_of(state: &NodeState, uid: &str) -> Result<Rights, ApiError> {
    if uid == state.key.id().to_string() {
        return Ok(Rights::Owner);
    }
    Ok(
        if crate::accounts::admitted::is_member(&state.store, uid)? {
            Rights::User
        } else {
            Rights::Visitor
        },
    )
}

/// The app's author, for `BELoginAsAuthor`: the user whose `MMCreate` made the app (the
/// node's owner for an app the owner made), or the header's author for an app made
/// elsewhere. Refused when anyone else may write the app (a grant of write to another user
/// or to everyone): their code would run with the author's rights.
pub fn author(state: &NodeState, aid: &MimeiId) -> Result<String, ApiError> {
    let header = Mimeis::new(&state.store).header(aid)?;
    let rights = header.rights();
    let node = state.key.id();
    let author = if *rights.author() == node {
        crate::accounts::authors::creator(&state.store, &aid.to_string())?
            .unwrap_or_else(|| node.to_string())
    } else {
        rights.author().to_string()
    };
    for (member, right) in rights.grants() {
        if !right.contains(Right::WRITE) {
            continue;
        }
        let other = match member {
            Member::Everyone => true,
            Member::User(u) => u.to_string() != author,
        };
        if other {
            return Err(ApiError::Mimei(MimeiStoreError::Conflict(format!(
                "BELoginAsAuthor: app {aid} can be written by {} as well as its author {author}, \
                 so code they put in it would run as the author; the author may log in as \
                 themselves only from an app only they can write (MMSetRight to take the \
                 others' write)",
                match member {
                    Member::Everyone => "everyone (*)".to_string(),
                    Member::User(u) => u.to_string(),
                }
            ))));
        }
    }
    Ok(author)
}

/// The `request` an entry sees: the caller's parameters (all of them: an app's own login form
/// reaches its code), with Leither's keys set by the node (`sid`, `aid`, `appid`, `ver`,
/// `entry`, `mid`, `nid`) and without `sidapp`.
pub fn request_for(
    state: &NodeState,
    app: &App,
    entry: &str,
    sid: &str,
    params: Vec<(String, Value)>,
) -> Vec<(String, Value)> {
    const SET: &[&str] = &["sid", "aid", "appid", "ver", "entry", "nid"];
    let mid = params
        .iter()
        .find(|(k, _)| k == "mid")
        .and_then(|(_, v)| v.as_str())
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| app.aid.to_string());
    let mut r: Vec<(String, Value)> = params
        .into_iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !SET.contains(&k.as_str()) && k != "mid" && k != "sidapp"
        })
        .collect();
    r.push(("sid".to_string(), Value::from(sid)));
    let ver = app
        .version
        .map_or_else(|| "cur".to_string(), |n| n.to_string());
    r.extend([
        ("aid".to_string(), Value::Str(app.aid.to_string())),
        ("appid".to_string(), Value::Str(app.aid.to_string())),
        ("ver".to_string(), Value::Str(ver)),
        ("entry".to_string(), Value::Str(entry.to_string())),
        ("mid".to_string(), Value::Str(mid)),
        ("nid".to_string(), Value::Str(state.key.id().to_string())),
    ]);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths() {
        assert_eq!(entry_path("").as_deref(), Some("main.lua"));
        assert_eq!(entry_path("api/login").as_deref(), Some("api/login.lua"));
        assert_eq!(entry_path("/x.lua").as_deref(), Some("x.lua"));
        assert_eq!(entry_path("../etc/passwd"), None);
        assert_eq!(entry_path("a b"), None);
    }
}
