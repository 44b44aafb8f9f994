//! `call`: any API function from the command line, through the JSON front door.
//!
//! Each argument is taken as JSON when it parses as JSON, else as a string. A function that
//! needs a session gets one (signed in with the node key, or `-k KEY`) as its first argument.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::{self, Access, Value, json};

/// Call an API function: leither call GetVar ver
#[derive(FromArgs)]
#[argh(subcommand, name = "call")]
pub struct CallCmd {
    /// the function, e.g. GetVar
    #[argh(positional)]
    function: String,
    /// its arguments (JSON, or plain strings), without the session id
    #[argh(positional, greedy)]
    args: Vec<String>,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
    /// sign in as a guest instead of with a key
    #[argh(switch)]
    guest: bool,
}

impl CallCmd {
    /// Runs `call`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let mut c = Client::new(home, self.node.as_deref(), self.key.as_deref())?;
        let mut args: Vec<Value> = self
            .args
            .iter()
            .map(|a| {
                json::decode(a.as_bytes(), &json::JsonLimits::default())
                    .unwrap_or_else(|_| Value::Str(a.clone()))
            })
            .collect();
        // Functions that check their session themselves (their sid may be a handle, as in
        // Leither's MMBackup(mmsid, ...)) still name it first in their parameters.
        if let Some(f) = api::lookup(&self.function)
            && (matches!(f.access, Access::Session(_)) || f.params.starts_with("sid"))
        {
            let sid = c.login(!self.guest)?;
            args.insert(0, Value::Str(sid));
        }
        let v = c.call(&self.function, args)?;
        let mut s = String::new();
        json::encode_pretty(&v, &mut s);
        println!("{s}");
        Ok(())
    }
}
