//! An app's code as a service runs it: the validated `lever.json` and the Lua sources of one
//! version of the app's Mimei, read once at deploy and shared by every instance.
//!
//! Only `lever.json` and `*.lua` files are read (static files stay in the store and are served
//! by `/tpt/`). Bounded: at most [`MAX_FILES`] Lua files, [`MAX_CODE`] bytes of them, folders
//! [`MAX_DEPTH`] deep.

use std::collections::HashMap;
use std::rc::Rc;

use super::LeverError;
use super::manifest::{Caps, Manifest, lua_path_ok};
use crate::api::NodeState;
use crate::ipfs::Cid;
use crate::ipfs::exporter;
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiId, VersionName};
use crate::store::blocks::Blocks;

/// Most Lua files in an app.
pub const MAX_FILES: usize = 256;
/// Most bytes of Lua in an app.
pub const MAX_CODE: usize = 2 << 20;
/// Deepest folder read.
pub const MAX_DEPTH: usize = 8;

/// One version of an app, ready to run.
#[derive(Debug)]
pub struct AppCode {
    /// The app's Mimei.
    pub mid: MimeiId,
    /// Its version number.
    pub version: u64,
    /// Its root CID.
    pub root: Cid,
    /// `lever.json`.
    pub manifest: Manifest,
    /// Lua sources by path (`main.lua`, `lib/util.lua`).
    pub files: HashMap<String, Rc<str>>,
    /// Limits of `lever.json` lowered to the node's caps, as warnings for the deployer.
    pub capped: Vec<String>,
}

fn app_err(mid: &MimeiId, version: u64, e: impl std::fmt::Display) -> LeverError {
    LeverError::App(format!("reading app {mid} version {version}: {e}"))
}

impl AppCode {
    /// Reads version `version` of app `mid` from the store (`0` = the latest).
    pub fn load(state: &NodeState, mid: &MimeiId, version: u64) -> Result<AppCode, LeverError> {
        let m = Mimeis::new(&state.store);
        let name = if version == 0 {
            VersionName::Last
        } else {
            VersionName::Number(version)
        };
        let (root, ver) = m
            .root(mid, name)
            .map_err(|e| LeverError::App(e.to_string()))?;
        let version = ver.unwrap_or(0);
        let blocks = Blocks::new(&state.store);
        let fetch = |c: &Cid| -> Result<Vec<u8>, LeverError> {
            blocks
                .get(c)
                .map_err(|e| app_err(mid, version, e))?
                .ok_or_else(|| app_err(mid, version, format!("block {c} is not on this node")))
        };
        let mut files = HashMap::new();
        let mut total = 0usize;
        let mut manifest = None;
        let mut todo = vec![(root, String::new(), 0usize)];
        while let Some((dir, prefix, depth)) = todo.pop() {
            let entries = match exporter::list_all(dir, 10_000, fetch) {
                Ok(e) => e,
                Err(e) if depth == 0 => {
                    return Err(LeverError::App(format!(
                        "app {mid} version {version} is not a folder with lever.json ({e})"
                    )));
                }
                Err(e) => return Err(e),
            };
            for e in entries {
                let path = format!("{prefix}{}", e.name);
                if depth == 0 && e.name == "lever.json" {
                    let bytes = exporter::cat(e.cid, fetch)?;
                    manifest = Some(Manifest::parse(&bytes)?);
                } else if e.name.ends_with(".lua") && lua_path_ok(&path) {
                    let bytes = exporter::cat(e.cid, fetch)?;
                    total += bytes.len();
                    if files.len() >= MAX_FILES || total > MAX_CODE {
                        return Err(LeverError::Code(format!(
                            "app {mid} holds more than {MAX_FILES} Lua files or {MAX_CODE} bytes of Lua"
                        )));
                    }
                    let src = String::from_utf8(bytes).map_err(|_| {
                        LeverError::Code(format!("{path}: not UTF-8 text (bytecode is refused)"))
                    })?;
                    files.insert(path, Rc::from(src));
                } else if !e.name.contains('.') && depth + 1 < MAX_DEPTH && is_dir(&fetch, &e.cid) {
                    todo.push((e.cid, format!("{path}/"), depth + 1));
                }
            }
        }
        let mut manifest = manifest.ok_or_else(|| {
            LeverError::manifest(
                "lever.json",
                format!("app {mid} version {version} has no lever.json at its top"),
            )
        })?;
        if !files.contains_key(&manifest.lua_entry) {
            return Err(LeverError::manifest(
                "luaEntry",
                format!("\"{}\" is not a file of the app", manifest.lua_entry),
            ));
        }
        // Capped here, once, so every instance, call and restored service sees the node's caps.
        let capped = manifest.cap(&Caps::of(&state.vars.borrow()));
        Ok(AppCode {
            mid: *mid,
            version,
            root,
            manifest,
            files,
            capped,
        })
    }
}

impl From<exporter::ExportError> for LeverError {
    fn from(e: exporter::ExportError) -> Self {
        LeverError::App(format!("the app's files are damaged: {e}"))
    }
}

fn is_dir(fetch: &impl Fn(&Cid) -> Result<Vec<u8>, LeverError>, cid: &Cid) -> bool {
    if cid.codec() == crate::ipfs::cid::Codec::Raw {
        return false;
    }
    match fetch(cid) {
        Ok(b) => exporter::list_directory(&b).is_ok(),
        Err(_) => false,
    }
}
