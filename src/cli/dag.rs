//! `dag export|import`: DAGs as CAR v1 files, through the gateway (`GET /ipfs/<cid>?format=car`)
//! and `POST /ipfs/car`.
//!
//! `dag import` prints kubo's lines: `Pinned root<TAB>CID<TAB>success` per root, then
//! `Imported N blocks (B bytes)`.

use std::io::Write;
use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::Value;

/// DAGs as CAR files.
#[derive(FromArgs)]
#[argh(subcommand, name = "dag")]
pub struct Dag {
    #[argh(subcommand)]
    cmd: DagCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum DagCmd {
    Export(Export),
    Import(Import),
}

/// Write the DAG under a CID as CAR v1 (to standard output, or -o FILE).
#[derive(FromArgs)]
#[argh(subcommand, name = "export")]
struct Export {
    /// the root CID
    #[argh(positional)]
    cid: String,
    /// the CAR file to write (via FILE.part, renamed when complete)
    #[argh(option, short = 'o')]
    output: Option<PathBuf>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Store the blocks of a CAR v1 file (each checked against its CID) and pin its roots.
#[derive(FromArgs)]
#[argh(subcommand, name = "import")]
struct Import {
    /// the CAR file
    #[argh(positional)]
    file: PathBuf,
    /// do not pin the roots
    #[argh(switch)]
    no_pin: bool,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

impl Dag {
    /// Runs a `dag` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            DagCmd::Export(a) => {
                let cid: crate::ipfs::cid::Cid = a
                    .cid
                    .trim_start_matches("/ipfs/")
                    .parse()
                    .map_err(|e| CliError::Usage(format!("\"{}\" is not a CID: {e}", a.cid)))?;
                let mut c = Client::new(home, a.node.as_deref(), None)?;
                let path = format!("/ipfs/{cid}?format=car");
                let Some(target) = a.output else {
                    let stdout = std::io::stdout();
                    let mut out = stdout.lock();
                    c.get_to(&path, &mut out)?;
                    return out.flush().map_err(CliError::io(Path::new("-")));
                };
                c.progress = true;
                let n = c.download(&path, &target)?;
                println!("dag export ok {} ({n} bytes)", target.display());
                Ok(())
            }
            DagCmd::Import(a) => {
                let mut c = Client::new(home, a.node.as_deref(), a.key.as_deref())?;
                c.progress = true;
                let q = if a.no_pin { "?pin-roots=false" } else { "" };
                let v = c.post_file(&format!("/ipfs/car{q}"), &a.file)?;
                let mut failed = 0;
                if let Some(Value::List(roots)) = v.get("roots") {
                    for r in roots {
                        let cid = r.get("cid").and_then(Value::as_str).unwrap_or("");
                        match (r.get("pinned"), r.get("error").and_then(Value::as_str)) {
                            (Some(Value::Bool(true)), _) => println!("Pinned root\t{cid}\tsuccess"),
                            (_, Some(e)) => {
                                failed += 1;
                                println!("Pinned root\t{cid}\tFAILED: {e}");
                            }
                            _ => {}
                        }
                    }
                }
                let n = |k| v.get(k).and_then(Value::as_i64).unwrap_or(0);
                println!("Imported {} blocks ({} bytes)", n("blocks"), n("bytes"));
                if failed > 0 {
                    return Err(CliError::Failed(format!(
                        "{failed} roots could not be pinned"
                    )));
                }
                Ok(())
            }
        }
    }
}
