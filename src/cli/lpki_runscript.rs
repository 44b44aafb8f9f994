//! `lpki runscript`: runs a Lua script on a node (LPki.md "runscript", docs/scripts.md).
//!
//! `-s CODE` or `-i FILE` (its extension is its type: `.lua` only), `-r key=value` (repeated)
//! into the script's `request`, `-p PPT` a pass file to log in with (default: the node key,
//! the owner, as the CLI's other commands sign in; `-k KEY` another key), `-n NODE` another
//! node. The script runs through `RunScript` with the session in `request.sid`; the command
//! prints `RunScript ret= VALUE` as Leither's does (a string bare, `<nil>` for nothing,
//! tables as JSON).

use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::{Value, json};

/// Largest script or pass file read.
const MAX_FILE: u64 = 64 * 1024;

/// Run a Lua script on the node: lpki runscript -s "return 1"
#[derive(FromArgs)]
#[argh(subcommand, name = "runscript")]
pub struct Runscript {
    /// the script (Lua)
    #[argh(option, short = 's')]
    script: Option<String>,
    /// a script file; its extension is its type (only .lua runs here)
    #[argh(option, short = 'i')]
    input: Option<PathBuf>,
    /// a parameter key=value for the script's request table (repeatable)
    #[argh(option, short = 'r')]
    request: Vec<String>,
    /// a pass (PPT) file to log in with (default: the node key, i.e. the owner)
    #[argh(option, short = 'p')]
    ppt: Option<PathBuf>,
    /// key file to log in with instead of the node key
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
    /// the node's address (default: the node running on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

fn read_small(path: &Path) -> Result<String, CliError> {
    let meta = std::fs::metadata(path).map_err(CliError::io(path))?;
    if meta.len() > MAX_FILE {
        return Err(CliError::Failed(format!(
            "{}: {} bytes, more than the {MAX_FILE} read here",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(CliError::io(path))
}

/// A value as `RunScript ret=` prints it.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        other => {
            let mut s = String::new();
            json::encode(other, &mut s);
            s
        }
    }
}

impl Runscript {
    /// Runs `lpki runscript`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let source = match (&self.script, &self.input) {
            (Some(s), None) => s.clone(),
            (None, Some(file)) => {
                let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
                if !ext.eq_ignore_ascii_case("lua") {
                    return Err(CliError::Usage(format!(
                        "{}: a script's type is its extension, and only .lua scripts run on this node (got {:?})",
                        file.display(),
                        ext
                    )));
                }
                read_small(file)?
            }
            _ => {
                return Err(CliError::Usage(
                    "give the script with -s CODE or a file with -i FILE.lua (one of them)"
                        .to_string(),
                ));
            }
        };
        let mut glob: Vec<(String, Value)> = Vec::new();
        for r in &self.request {
            let (k, v) = r.split_once('=').ok_or_else(|| {
                CliError::Usage(format!("-r {r:?}: write a parameter as key=value"))
            })?;
            if k.is_empty() {
                return Err(CliError::Usage(format!("-r {r:?}: the key is empty")));
            }
            glob.retain(|(old, _)| old != k);
            glob.push((k.to_string(), Value::from(v)));
        }
        let mut c = Client::new(home, self.node.as_deref(), self.key.as_deref())?;
        let sid = match &self.ppt {
            Some(p) => {
                let pass = read_small(p)?;
                let v = c.call("Login", vec![Value::from(pass.trim())])?;
                v.get("sid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| CliError::Http("Login answered without a sid".to_string()))?
                    .to_string()
            }
            None => c.login(true)?,
        };
        glob.retain(|(k, _)| k != "sid");
        glob.push(("sid".to_string(), Value::Str(sid)));
        let v = c.call("RunScript", vec![Value::Str(source), Value::Map(glob)])?;
        println!("RunScript ret= {}", show(&v));
        Ok(())
    }
}
