//! `files`: the node's MFS (its own mutable file tree), through the `Files*` API functions.
//!
//! Output is what kubo's `ipfs files` prints: names from `ls` (`-l`: name, CID and size,
//! tab-separated), the five lines of `stat`, the root CID from `flush`, nothing from the
//! commands that change the tree.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::Value;

/// The node's mutable file tree (MFS).
#[derive(FromArgs)]
#[argh(subcommand, name = "files")]
pub struct Files {
    #[argh(subcommand)]
    cmd: FilesCmd,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum FilesCmd {
    Ls(Ls),
    Mkdir(Mkdir),
    Cp(Cp),
    Mv(Mv),
    Rm(Rm),
    Stat(Stat),
    Flush(Flush),
}

/// List a directory (default /).
#[derive(FromArgs)]
#[argh(subcommand, name = "ls")]
struct Ls {
    /// the path
    #[argh(positional)]
    path: Option<String>,
    /// long listing: name, CID and size
    #[argh(switch, short = 'l')]
    long: bool,
}

/// Make a directory.
#[derive(FromArgs)]
#[argh(subcommand, name = "mkdir")]
struct Mkdir {
    /// the path
    #[argh(positional)]
    path: String,
    /// make missing parents; no error if it exists
    #[argh(switch, short = 'p')]
    parents: bool,
}

/// Copy an MFS path or /ipfs/CID[/path] to a new MFS path.
#[derive(FromArgs)]
#[argh(subcommand, name = "cp")]
struct Cp {
    /// source: an MFS path or /ipfs/CID[/path]
    #[argh(positional)]
    from: String,
    /// destination MFS path
    #[argh(positional)]
    to: String,
}

/// Move an entry (into TO when it is a directory).
#[derive(FromArgs)]
#[argh(subcommand, name = "mv")]
struct Mv {
    /// source MFS path
    #[argh(positional)]
    from: String,
    /// destination MFS path
    #[argh(positional)]
    to: String,
}

/// Remove an entry.
#[derive(FromArgs)]
#[argh(subcommand, name = "rm")]
struct Rm {
    /// the path
    #[argh(positional)]
    path: String,
    /// remove directories and what they hold
    #[argh(switch, short = 'r')]
    recursive: bool,
}

/// Show what a path is (CID, sizes, type).
#[derive(FromArgs)]
#[argh(subcommand, name = "stat")]
struct Stat {
    /// the path (default /)
    #[argh(positional)]
    path: Option<String>,
}

/// Print the CID of a path (default /, the MFS root).
#[derive(FromArgs)]
#[argh(subcommand, name = "flush")]
struct Flush {
    /// the path (default /)
    #[argh(positional)]
    path: Option<String>,
}

impl Files {
    /// Runs a `files` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let mut c = Client::new(home, self.node.as_deref(), self.key.as_deref())?;
        let sid = Value::Str(c.login(true)?);
        let s = |x: &str| Value::Str(x.to_string());
        match self.cmd {
            FilesCmd::Ls(a) => {
                let path = a.path.as_deref().unwrap_or("/");
                if let Value::List(entries) = c.call("FilesLs", vec![sid, s(path)])? {
                    for e in entries {
                        let name = e.get("name").and_then(Value::as_str).unwrap_or("");
                        if a.long {
                            let cid = e.get("hash").and_then(Value::as_str).unwrap_or("");
                            let size = e.get("size").and_then(Value::as_i64).unwrap_or(0);
                            println!("{name}\t{cid}\t{size}");
                        } else {
                            println!("{name}");
                        }
                    }
                }
            }
            FilesCmd::Mkdir(a) => {
                c.call(
                    "FilesMkdir",
                    vec![sid, s(&a.path), Value::Bool(true), Value::Bool(a.parents)],
                )?;
            }
            FilesCmd::Cp(a) => {
                c.call(
                    "FilesCopy",
                    vec![sid, s(&a.from), s(&a.to), Value::Bool(true)],
                )?;
            }
            FilesCmd::Mv(a) => {
                c.call(
                    "FilesMv",
                    vec![sid, s(&a.from), s(&a.to), Value::Bool(true)],
                )?;
            }
            FilesCmd::Rm(a) => {
                c.call(
                    "FilesRm",
                    vec![sid, s(&a.path), Value::Bool(a.recursive), Value::Bool(true)],
                )?;
            }
            FilesCmd::Stat(a) => {
                let path = a.path.as_deref().unwrap_or("/");
                let v = c.call("FilesStat", vec![sid, s(path)])?;
                let n = |k| v.get(k).and_then(Value::as_i64).unwrap_or(0);
                println!("{}", v.get("hash").and_then(Value::as_str).unwrap_or(""));
                println!("Size: {}", n("size"));
                println!("CumulativeSize: {}", n("cumulativeSize"));
                println!("ChildBlocks: {}", n("blocks"));
                println!(
                    "Type: {}",
                    v.get("type").and_then(Value::as_str).unwrap_or("")
                );
            }
            FilesCmd::Flush(a) => {
                let path = a.path.as_deref().unwrap_or("/");
                let v = c.call("FilesFlush", vec![sid, s(path)])?;
                println!("{}", v.as_str().unwrap_or(""));
            }
        }
        Ok(())
    }
}
