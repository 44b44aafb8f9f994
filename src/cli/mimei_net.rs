//! `mimei publish|unpublish|provide|unprovide|findprovs|sync`: Mimeis in the network, through
//! `MiMeiPublish`, `MiMeiProvide`, `MiMeiFindProvs`, `MiMeiSync`.
//!
//! Output keeps Leither's lines: `MiMeiPublish mids= [MID] EOL = 168h` then `MiMeiPublish ok`;
//! `findprovs` prints `Version: N`, then `PeerID : ...` and `Addrs : [...]` per provider. A sync
//! shows a progress line on a terminal and plain lines every few seconds otherwise (over SSH,
//! in a log), so a long sync is never silent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argh::FromArgs;

use super::CliError;
use super::mimei::{connect, s};
use crate::api::Value;

/// Publish the latest version: sign its head, put it in the DHT, tell the providers.
#[derive(FromArgs)]
#[argh(subcommand, name = "publish")]
pub struct Publish {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// how long the head stays valid, in hours (default 168; re-published before)
    #[argh(option, short = 'e', default = "168")]
    eol: u64,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Stop publishing and providing a Mimei here.
#[derive(FromArgs)]
#[argh(subcommand, name = "unpublish")]
pub struct Unpublish {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Announce this node as a provider of a Mimei it has.
#[derive(FromArgs)]
#[argh(subcommand, name = "provide")]
pub struct Provide {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Stop providing (and following) a Mimei.
#[derive(FromArgs)]
#[argh(subcommand, name = "unprovide")]
pub struct Unprovide {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Find the providers of a Mimei and its published version.
#[derive(FromArgs)]
#[argh(subcommand, name = "findprovs")]
pub struct FindProvs {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Fetch a Mimei's newest published version (only the blocks missing here) and follow it.
#[derive(FromArgs)]
#[argh(subcommand, name = "sync")]
pub struct Sync {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// sync from this node only: a multiaddr, PeerId or Leither ID (default: every provider)
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// run on another node, by URL (default: the node on this home)
    #[argh(option)]
    on: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

fn ok(what: &str) {
    println!("{what} ok");
}

impl Publish {
    /// Runs the command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let (c, sid) = connect(home, self.node.as_deref(), self.key.as_deref())?;
        println!("MiMeiPublish mids= [{}] EOL = {}h", self.mid, self.eol);
        let v = c.call(
            "MiMeiPublish",
            vec![sid, s(&self.mid), Value::Int(self.eol as i64)],
        )?;
        let n = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        println!(
            "version= {} seq= {} dht peers= {} providers told= {}",
            n("version"),
            n("seq"),
            n("dhtPeers"),
            n("pushed")
        );
        ok("MiMeiPublish");
        Ok(())
    }
}

/// Calls `function(sid, mid)` and prints `function ok`.
fn mid_call(
    home: &Path,
    node: Option<&str>,
    key: Option<&Path>,
    function: &str,
    mid: &str,
) -> Result<(), CliError> {
    let (c, sid) = connect(home, node, key)?;
    c.call(function, vec![sid, s(mid)])?;
    ok(function);
    Ok(())
}

impl Unpublish {
    /// Runs the command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let (n, k) = (self.node.as_deref(), self.key.as_deref());
        mid_call(home, n, k, "MiMeiUnpublish", &self.mid)
    }
}

impl Provide {
    /// Runs the command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let (n, k) = (self.node.as_deref(), self.key.as_deref());
        mid_call(home, n, k, "MiMeiProvide", &self.mid)
    }
}

impl Unprovide {
    /// Runs the command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let (n, k) = (self.node.as_deref(), self.key.as_deref());
        mid_call(home, n, k, "MiMeiUnprovide", &self.mid)
    }
}

impl FindProvs {
    /// Runs the command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let (c, sid) = connect(home, self.node.as_deref(), self.key.as_deref())?;
        let v = c.call("MiMeiFindProvs", vec![sid, s(&self.mid)])?;
        println!(
            "Version: {}",
            v.get("version").and_then(Value::as_i64).unwrap_or(0)
        );
        if let Some(Value::List(provs)) = v.get("providers") {
            for p in provs {
                println!(
                    "PeerID : {}",
                    p.get("peer").and_then(Value::as_str).unwrap_or("")
                );
                let addrs: Vec<&str> = match p.get("addrs") {
                    Some(Value::List(a)) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                println!("Addrs : [{}]", addrs.join(" "));
            }
        }
        Ok(())
    }
}

/// How often the plain (non-terminal) output prints a line.
const PLAIN_EVERY: Duration = Duration::from_secs(3);

impl Sync {
    /// Runs the command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let (c, sid) = connect(home, self.on.as_deref(), self.key.as_deref())?;
        let from = s(self.node.as_deref().unwrap_or(""));
        let tty = super::progress::stderr_is_tty();
        let mut status = c.call(
            "MiMeiSync",
            vec![sid.clone(), s(&self.mid), from.clone(), s("start")],
        )?;
        let mut last_line = Instant::now();
        loop {
            let state = status.get("state").and_then(Value::as_str).unwrap_or("");
            let n = |k: &str| status.get(k).and_then(Value::as_i64).unwrap_or(0);
            let line = format!(
                "sync {} version {}: {}/{} blocks, {} fetched from {} provider(s)",
                self.mid,
                n("version"),
                n("blocksDone"),
                n("blocksKnown"),
                human(n("bytes") as u64),
                n("providers")
            );
            match state {
                "running" => {
                    if tty {
                        let mut e = std::io::stderr().lock();
                        let _ = write!(e, "\r\x1b[K{line}");
                        let _ = e.flush();
                    } else if last_line.elapsed() >= PLAIN_EVERY {
                        println!("{line}");
                        last_line = Instant::now();
                    }
                }
                "done" => {
                    if tty {
                        eprint!("\r\x1b[K");
                    }
                    let secs = match status.get("secs") {
                        Some(Value::Float(f)) => *f,
                        _ => 0.0,
                    };
                    println!("{line} in {secs:.1} s");
                    print_refs(status.get("refs"));
                    ok("MiMeiSync");
                    return Ok(());
                }
                _ => {
                    if tty {
                        eprint!("\r\x1b[K");
                    }
                    let err = status.get("error").and_then(Value::as_str).unwrap_or("");
                    return Err(CliError::Http(format!("MiMeiSync failed: {err}")));
                }
            }
            std::thread::sleep(Duration::from_millis(if tty { 200 } else { 500 }));
            status = c.call(
                "MiMeiSync",
                vec![sid.clone(), s(&self.mid), from.clone(), s("status")],
            )?;
        }
    }
}

/// The references a sync followed one level: a line when the version has any, and each
/// failure (which does not fail the sync).
fn print_refs(refs: Option<&Value>) {
    let Some(r) = refs else { return };
    let n = |k: &str| r.get(k).and_then(Value::as_i64).unwrap_or(0);
    if n("total") == 0 {
        return;
    }
    println!(
        "references: {} of {} followed, {} failed",
        n("done"),
        n("total"),
        n("failed")
    );
    if let Some(Value::List(errors)) = r.get("errors") {
        for e in errors.iter().filter_map(Value::as_str) {
            println!("reference failed: {e}");
        }
    }
}

fn human(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}
