//! `ipfs` and `repo`: files in the node's block store, through its API and gateway.
//!
//! Output keeps Leither's lines: `ipfs add ok /ipfs/<cid>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::Value;

/// Files in the node's IPFS block store.
#[derive(FromArgs)]
#[argh(subcommand, name = "ipfs")]
pub struct Ipfs {
    #[argh(subcommand)]
    cmd: IpfsCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum IpfsCmd {
    Add(Add),
    Cat(Cat),
    Get(Get),
    Pin(Pin),
}

/// Add a file or, with -r, a folder (the CID is the one kubo's `ipfs add` gives for the
/// same options).
#[derive(FromArgs)]
#[argh(subcommand, name = "add")]
struct Add {
    /// the file (or folder, with -r)
    #[argh(positional)]
    file: PathBuf,
    /// add a folder and everything in it
    #[argh(switch, short = 'r')]
    recursive: bool,
    /// wrap the file or folder in a directory (its name becomes the entry name)
    #[argh(switch, short = 'w')]
    wrap_with_directory: bool,
    /// with -r: also add hidden files and folders (names starting with '.')
    #[argh(switch)]
    hidden: bool,
    /// CID version, 0 (default) or 1 (implies raw leaves)
    #[argh(option, default = "0")]
    cid_version: u8,
    /// leaves as raw blocks
    #[argh(switch)]
    raw_leaves: bool,
    /// chunker, size-N (default size-262144)
    #[argh(option)]
    chunker: Option<String>,
    /// trickle layout instead of balanced
    #[argh(switch)]
    trickle: bool,
    /// with -r: shard a folder whose size estimate is exactly 256 KiB? above (default: no, as
    /// current boxo and JS) or at-or-above (yes, as kubo up to 0.39)
    #[argh(option)]
    hamt_threshold_rule: Option<String>,
    /// do not pin the file
    #[argh(switch)]
    no_pin: bool,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Write a file's bytes to standard output.
#[derive(FromArgs)]
#[argh(subcommand, name = "cat")]
struct Cat {
    /// the CID, optionally with a path: CID/dir/file
    #[argh(positional)]
    cid: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Save a file to a path.
#[derive(FromArgs)]
#[argh(subcommand, name = "get")]
struct Get {
    /// the CID, optionally with a path: CID/dir/file
    #[argh(positional)]
    cid: String,
    /// where to write it (default: the CID or last path segment, in this directory)
    #[argh(option, short = 'o')]
    output: Option<PathBuf>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Pins: what gc keeps.
#[derive(FromArgs)]
#[argh(subcommand, name = "pin")]
struct Pin {
    #[argh(subcommand)]
    cmd: PinCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum PinCmd {
    Add(PinAdd),
    Rm(PinRm),
    Ls(PinLs),
}

/// Pin a stored CID (recursively unless --direct).
#[derive(FromArgs)]
#[argh(subcommand, name = "add")]
struct PinAdd {
    /// the CID
    #[argh(positional)]
    cid: String,
    /// pin this block only
    #[argh(switch)]
    direct: bool,
}

/// Remove a pin.
#[derive(FromArgs)]
#[argh(subcommand, name = "rm")]
struct PinRm {
    /// the CID
    #[argh(positional)]
    cid: String,
}

/// List the pins.
#[derive(FromArgs)]
#[argh(subcommand, name = "ls")]
struct PinLs {}

/// The node's repository.
#[derive(FromArgs)]
#[argh(subcommand, name = "repo")]
pub struct Repo {
    #[argh(subcommand)]
    cmd: RepoCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum RepoCmd {
    Gc(Gc),
}

/// Remove every block no pin reaches.
#[derive(FromArgs)]
#[argh(subcommand, name = "gc")]
struct Gc {}

/// The CID part of `CID[/path]`, checked, and the path for the gateway.
fn gateway_path(arg: &str) -> Result<String, CliError> {
    let arg = arg.trim_start_matches("/ipfs/");
    let (cid, rest) = arg.split_once('/').unwrap_or((arg, ""));
    cid.parse::<crate::ipfs::cid::Cid>()
        .map_err(|e| CliError::Usage(format!("\"{cid}\" is not a CID: {e}")))?;
    let mut p = format!("/ipfs/{cid}");
    for seg in rest.split('/').filter(|s| !s.is_empty()) {
        p.push('/');
        p.push_str(&crate::http::gateway::percent_encode(seg));
    }
    Ok(p)
}

/// A file name from the last segment of `CID[/path]` that cannot leave this directory.
fn safe_name(arg: &str) -> Result<PathBuf, CliError> {
    let last = arg.trim_end_matches('/').rsplit('/').next().unwrap_or(arg);
    if last.is_empty() || last == "." || last == ".." || last.contains('\0') {
        return Err(CliError::Usage(format!(
            "cannot name a file after \"{arg}\"; give one with -o PATH"
        )));
    }
    Ok(PathBuf::from(last))
}

impl Ipfs {
    /// Runs an `ipfs` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            IpfsCmd::Add(a) => {
                if a.cid_version > 1 {
                    return Err(CliError::Usage("--cid-version is 0 or 1".into()));
                }
                let mut q = format!("cid-version={}", a.cid_version);
                if a.raw_leaves {
                    q.push_str("&raw-leaves=true");
                }
                if let Some(c) = &a.chunker {
                    q.push_str(&format!("&chunker={c}"));
                }
                if a.trickle {
                    q.push_str("&trickle=true");
                }
                if let Some(r) = &a.hamt_threshold_rule {
                    let r = crate::ipfs::dir::HamtRule::parse(r).ok_or_else(|| {
                        CliError::Usage(format!(
                            "--hamt-threshold-rule is {}",
                            crate::ipfs::dir::HamtRule::NAMES
                        ))
                    })?;
                    q.push_str(&format!("&hamt-threshold-rule={}", r.name()));
                }
                if a.no_pin {
                    q.push_str("&pin=false");
                }
                let mut c = Client::new(home, a.node.as_deref(), a.key.as_deref())?;
                c.progress = true;
                let is_dir = std::fs::metadata(&a.file)
                    .map_err(CliError::io(&a.file))?
                    .is_dir();
                if !is_dir && !a.wrap_with_directory {
                    let v = c.post_file(&format!("/ipfs/add?{q}"), &a.file)?;
                    let cid = v.get("cid").and_then(Value::as_str).unwrap_or("?");
                    println!("ipfs add ok /ipfs/{cid}");
                    return Ok(());
                }
                if is_dir && !a.recursive {
                    return Err(CliError::Usage(format!(
                        "{} is a directory; add it with -r",
                        a.file.display()
                    )));
                }
                let q = q.replace("&pin=false", "");
                let adder = super::ipfs_dir::AddDir {
                    query: &q,
                    hidden: a.hidden,
                    replace: None,
                };
                let top = std::fs::canonicalize(&a.file).map_err(CliError::io(&a.file))?;
                let name = top
                    .file_name()
                    .and_then(|n| n.to_str())
                    .filter(|n| super::ipfs_dir::safe_entry_name(n))
                    .ok_or_else(|| {
                        CliError::Usage(format!(
                            "{} has no usable name to add it under",
                            a.file.display()
                        ))
                    })?
                    .to_string();
                let mut root = if is_dir {
                    adder.dir(&mut c, &top, &top, &name)?
                } else {
                    adder.file(&mut c, &top, &name)?
                };
                if a.wrap_with_directory {
                    root = adder.make_dir(&mut c, vec![(name, root)], "")?;
                    println!("added {}", root.0);
                }
                if !a.no_pin {
                    let sid = Value::Str(c.login(true)?);
                    c.call("IpfsPinAdd", vec![sid, Value::Str(root.0.clone())])?;
                }
                println!("ipfs add ok /ipfs/{}", root.0);
                Ok(())
            }
            IpfsCmd::Cat(a) => {
                let mut c = Client::new(home, a.node.as_deref(), None)?;
                c.login_reader()?;
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                c.get_to(&gateway_path(&a.cid)?, &mut out)?;
                out.flush().map_err(CliError::io(Path::new("-")))
            }
            IpfsCmd::Get(a) => {
                let mut c = Client::new(home, a.node.as_deref(), None)?;
                c.progress = true;
                let path = gateway_path(&a.cid)?;
                let target = match a.output {
                    Some(p) => p,
                    None => safe_name(&a.cid)?,
                };
                let sid = Value::Str(c.login_reader()?);
                let what = c.call("IpfsLs", vec![sid, Value::Str(a.cid.clone())])?;
                if what.get("type").and_then(Value::as_str) == Some("directory") {
                    let (files, bytes) = super::ipfs_dir::get_dir(&mut c, &a.cid, &target)?;
                    println!(
                        "ipfs get ok {} ({files} files, {bytes} bytes)",
                        target.display()
                    );
                    return Ok(());
                }
                let n = c.download(&path, &target)?;
                println!("ipfs get ok {} ({n} bytes)", target.display());
                Ok(())
            }
            IpfsCmd::Pin(p) => {
                let mut c = Client::new(home, None, None)?;
                let sid = Value::Str(c.login(true)?);
                match p.cmd {
                    PinCmd::Add(a) => {
                        let v = c.call(
                            "IpfsPinAdd",
                            vec![sid, Value::Str(a.cid.clone()), Value::Bool(!a.direct)],
                        )?;
                        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
                        println!("pinned {} {kind}", a.cid);
                    }
                    PinCmd::Rm(a) => {
                        c.call("IpfsPinRm", vec![sid, Value::Str(a.cid.clone())])?;
                        println!("unpinned {}", a.cid);
                    }
                    PinCmd::Ls(_) => {
                        if let Value::List(pins) = c.call("IpfsPinLs", vec![sid])? {
                            for p in pins {
                                println!(
                                    "{} {}",
                                    p.get("cid").and_then(Value::as_str).unwrap_or(""),
                                    p.get("kind").and_then(Value::as_str).unwrap_or("")
                                );
                            }
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

impl Repo {
    /// Runs a `repo` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            RepoCmd::Gc(_) => {
                let mut c = Client::new(home, None, None)?;
                let sid = Value::Str(c.login(true)?);
                let v = c.call("RepoGc", vec![sid])?;
                let n = |k| v.get(k).and_then(Value::as_i64).unwrap_or(0);
                println!(
                    "repo gc ok: removed {} blocks ({} bytes), kept {}",
                    n("removed"),
                    n("bytesFreed"),
                    n("kept")
                );
                Ok(())
            }
        }
    }
}
