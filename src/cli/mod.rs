//! The command line: `leither [--home DIR] <command> ...`, parsed with argh.
//!
//! One file per command set. Commands that act on a node talk to it through the API table
//! over HTTP (the same door every other client uses); only `init`, `run`, `stop`, `version`
//! and the key tools in `lpki` work on files directly. Exit codes: 0 done, 1 failed, 2 usage.

pub mod call;
pub mod client;
pub mod dag;
#[cfg(feature = "net")]
pub mod dht;
pub mod files;
pub mod ipfs;
pub mod ipfs_dir;
#[cfg(feature = "files")]
pub mod lapp;
#[cfg(feature = "lever")]
pub mod lever;
#[cfg(feature = "lever")]
mod lever_stream;
#[cfg(feature = "lever")]
pub mod lever_url;
pub mod lpki;
#[cfg(feature = "lever")]
pub mod lpki_runscript;
pub mod lpki_users;
#[cfg(feature = "files")]
pub mod mimei;
#[cfg(all(feature = "net", feature = "files"))]
pub mod mimei_net;
pub mod node_cmds;
pub mod node_trust;
pub mod progress;
#[cfg(feature = "lever")]
pub mod sha1;
pub mod swarm;
#[cfg(feature = "lever")]
pub mod ws_client;
#[cfg(feature = "lever")]
pub mod ws_proto;

use std::fmt;
use std::path::{Path, PathBuf};

use argh::{EarlyExit, FromArgs};

use crate::home::HomeError;
use crate::node::NodeError;
use crate::pki::PkiError;

/// leither: one small binary that makes this machine a node of a decentralized cloud.
#[derive(FromArgs)]
pub struct Top {
    /// the node's home directory (default: $LEITHER_HOME, else the binary's directory when
    /// writable, else ~/.leither)
    #[argh(option)]
    pub home: Option<PathBuf>,

    #[argh(subcommand)]
    cmd: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Init(node_cmds::Init),
    Run(node_cmds::Run),
    Stop(node_cmds::Stop),
    Version(node_cmds::Version),
    Swarm(swarm::Swarm),
    #[cfg(feature = "net")]
    Dht(dht::Dht),
    Lpki(lpki::Lpki),
    Node(node_trust::Node),
    #[cfg(feature = "files")]
    Ipfs(ipfs::Ipfs),
    #[cfg(feature = "files")]
    Repo(ipfs::Repo),
    #[cfg(feature = "files")]
    Files(files::Files),
    #[cfg(feature = "files")]
    Dag(dag::Dag),
    #[cfg(feature = "files")]
    Mimei(mimei::Mimei),
    #[cfg(feature = "files")]
    Lapp(lapp::Lapp),
    #[cfg(feature = "lever")]
    Lever(lever::Lever),
    Call(call::CallCmd),
}

/// Why a command failed. Every variant's message says what happened and what to do.
#[derive(Debug)]
#[non_exhaustive]
pub enum CliError {
    /// The command line is wrong (exit 2).
    Usage(String),
    /// No node runs on the home and none was named with `-n`.
    NoNode {
        /// The home looked at.
        home: PathBuf,
    },
    /// The node could not be reached.
    Connect {
        /// Its URL.
        url: String,
        /// Why.
        error: std::io::Error,
    },
    /// The node answered with an error.
    Api {
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// The node's answer made no sense.
    Http(String),
    /// The home is unusable.
    Home(HomeError),
    /// Running or stopping the node failed.
    Node(NodeError),
    /// A key or pass problem.
    Pki(PkiError),
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Something was checked and found wanting (e.g. a pass that does not verify).
    Failed(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }

    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |error| CliError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => write!(f, "{m}"),
            CliError::NoNode { home } => write!(
                f,
                "no node is running on {}; start one with `leither run -d`, or name another with -n URL",
                home.display()
            ),
            CliError::Connect { url, error } => write!(
                f,
                "cannot reach the node at {url}: {error}; is it running (`leither run -d`)?"
            ),
            CliError::Api { status, message } => write!(f, "{message} (HTTP {status})"),
            CliError::Http(m) => write!(f, "{m}"),
            CliError::Home(e) => e.fmt(f),
            CliError::Node(e) => e.fmt(f),
            CliError::Pki(e) => e.fmt(f),
            CliError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            CliError::Failed(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for CliError {}

/// The argument of argh's "Unrecognized argument: X" when X looks like a Leither ID, a Mimei
/// path (`MID:VER/path`) or a handle that starts with '-'.
fn dash_id(message: &str) -> Option<&str> {
    let arg = message
        .strip_prefix("Unrecognized argument: ")?
        .lines()
        .next()?
        .trim();
    let id = arg.split([':', '/']).next()?;
    let base64url = id
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    (id.starts_with('-') && id.len() >= 20 && base64url).then_some(arg)
}

/// Leither IDs are base64url, so one in 64 starts with '-' and argh takes it for an option.
/// When that is the only trouble, parse again with `--` before the ID (everything after it is
/// then positional); if that parses, the user meant it. Otherwise the first error stands and
/// `main_with` prints how to write it.
fn dash_id_retry(program: &str, args: &[&str], first: EarlyExit) -> Result<Top, EarlyExit> {
    let Some(arg) = dash_id(&first.output) else {
        return Err(first);
    };
    let Some(at) = args.iter().position(|a| *a == arg) else {
        return Err(first);
    };
    let mut again: Vec<&str> = Vec::with_capacity(args.len() + 1);
    again.extend_from_slice(&args[..at]);
    again.push("--");
    again.extend_from_slice(&args[at..]);
    Top::from_args(&[program], &again).map_err(|_| first)
}

/// Runs the command line `args` (without the program name); returns the exit code.
pub fn main_with(program: &str, args: &[&str]) -> i32 {
    let top = match Top::from_args(&[program], args).or_else(|e| dash_id_retry(program, args, e)) {
        Ok(t) => t,
        Err(early) => {
            // --help prints to stdout and succeeds; a usage error goes to stderr with code 2.
            return match early.status {
                Ok(()) => {
                    println!("{}", early.output);
                    0
                }
                Err(()) => {
                    eprintln!("{}", early.output);
                    if let Some(id) = dash_id(&early.output) {
                        // Leither IDs are base64url: one in 64 starts with '-'.
                        eprintln!(
                            "\"{id}\" looks like an ID that starts with '-': put `--` before it, \
                             after the options (e.g. `{program} mimei show -- {id}`)."
                        );
                    }
                    eprintln!("Run `{program} --help` for usage.");
                    2
                }
            };
        }
    };
    let home = crate::home::resolve(top.home.as_deref());
    let result = match top.cmd {
        Command::Init(c) => c.run(&home),
        Command::Run(c) => c.run(&home),
        Command::Stop(c) => c.run(&home),
        Command::Version(c) => c.run(),
        Command::Swarm(c) => c.run(&home),
        #[cfg(feature = "net")]
        Command::Dht(c) => c.run(&home),
        Command::Lpki(c) => c.run(&home),
        Command::Node(c) => c.run(&home),
        #[cfg(feature = "files")]
        Command::Ipfs(c) => c.run(&home),
        #[cfg(feature = "files")]
        Command::Repo(c) => c.run(&home),
        #[cfg(feature = "files")]
        Command::Files(c) => c.run(&home),
        #[cfg(feature = "files")]
        Command::Dag(c) => c.run(&home),
        #[cfg(feature = "files")]
        Command::Mimei(c) => c.run(&home),
        #[cfg(feature = "files")]
        Command::Lapp(c) => c.run(&home),
        #[cfg(feature = "lever")]
        Command::Lever(c) => c.run(&home),
        Command::Call(c) => c.run(&home),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("leither: {e}");
            e.exit_code()
        }
    }
}

/// Runs the process's own command line; returns the exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let program = args
        .first()
        .map(|p| {
            Path::new(p)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("leither")
                .to_string()
        })
        .unwrap_or_else(|| "leither".to_string());
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    if command_of(&rest) != Some("run") {
        // A reader that stops early (`leither swarm peers | head`) ends the command quietly,
        // as it ends any Unix tool, instead of a panic on the broken pipe. The node (`run`)
        // keeps SIGPIPE ignored: it must outlive clients that go away. Sockets are not
        // affected either way: Rust writes to them with MSG_NOSIGNAL.
        // SAFETY: setting a signal's disposition to the default, before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    main_with(&program, &rest)
}

/// The command set named on a command line (`run`, `mimei`, ...), skipping `--home DIR`.
fn command_of<'a>(args: &[&'a str]) -> Option<&'a str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--home" => {
                it.next();
            }
            a if a.starts_with("--home=") => {}
            a => return Some(a),
        }
    }
    None
}
