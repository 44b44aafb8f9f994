//! `lpki`: keys and passes. These work on files and need no running node; `addkey`, `delkey`
//! and `users` (src/cli/lpki_users.rs) change who is a user of the node.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use crate::api::json;
use crate::pki::{NodeKey, Overwrite, Pass, parse_data, parse_period};

/// Keys and passes (PPT).
#[derive(FromArgs)]
#[argh(subcommand, name = "lpki")]
pub struct Lpki {
    #[argh(subcommand)]
    cmd: LpkiCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum LpkiCmd {
    Genkey(Genkey),
    Show(Show),
    Id(Id),
    Signppt(Signppt),
    Verifyppt(Verifyppt),
    Addkey(super::lpki_users::Addkey),
    Delkey(super::lpki_users::Delkey),
    Users(super::lpki_users::Users),
}

/// Make a new ed25519 key file (mode 0600).
#[derive(FromArgs)]
#[argh(subcommand, name = "genkey")]
struct Genkey {
    /// the key file to write
    #[argh(option, short = 'o')]
    out: PathBuf,
    /// overwrite an existing file
    #[argh(switch)]
    force: bool,
}

/// Show a key file (ID, PeerId, public key; never the secret) or a pass.
#[derive(FromArgs)]
#[argh(subcommand, name = "show")]
struct Show {
    /// the key or pass file
    #[argh(option, short = 'i')]
    input: PathBuf,
}

/// Print the 27-character ID of a key (default: the node key).
#[derive(FromArgs)]
#[argh(subcommand, name = "id")]
struct Id {
    /// key file (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Sign a pass: a time-limited statement of key=value data.
#[derive(FromArgs)]
#[argh(subcommand, name = "signppt")]
struct Signppt {
    /// key file to sign with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
    /// a key or certificate file holding the signing key (Leither's flag; same as -k)
    #[argh(option, short = 'c')]
    cert: Option<PathBuf>,
    /// how long the pass is valid: hours as a bare number (Leither's -p 720), or 30s, 10m, 24h,
    /// 7d, 1y
    #[argh(option, short = 'p')]
    period: String,
    /// the form to write: ppt1 (default, ours: one line, compact) or json (Leither's JSON pass)
    #[argh(option, short = 'f', default = "String::from(\"ppt1\")")]
    form: String,
    /// data, as "k=v,k2=v2"
    #[argh(option, short = 'm', default = "String::new()")]
    data: String,
    /// file to write the pass to (mode 0600; default: standard output)
    #[argh(option, short = 'o')]
    out: Option<PathBuf>,
}

/// Verify a pass file: signature and validity period.
#[derive(FromArgs)]
#[argh(subcommand, name = "verifyppt")]
struct Verifyppt {
    /// the pass file
    #[argh(option, short = 'i')]
    input: PathBuf,
}

impl Lpki {
    /// Runs an `lpki` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let node_key = || home.join(crate::home::KEY_FILE);
        match self.cmd {
            LpkiCmd::Genkey(c) => {
                let key = NodeKey::generate().map_err(CliError::Pki)?;
                let mode = if c.force {
                    Overwrite::Replace
                } else {
                    Overwrite::Refuse
                };
                key.save(&c.out, mode).map_err(CliError::Pki)?;
                println!("genkey ok: {}", c.out.display());
                println!("id: {}", key.id());
                println!("peerid: {}", key.peer_id());
                Ok(())
            }
            LpkiCmd::Show(c) => show(&c.input),
            LpkiCmd::Addkey(c) => c.run(home),
            LpkiCmd::Delkey(c) => c.run(home),
            LpkiCmd::Users(c) => c.run(home),
            LpkiCmd::Id(c) => {
                let key = NodeKey::load(&c.key.unwrap_or_else(node_key)).map_err(CliError::Pki)?;
                println!("{}", key.id());
                Ok(())
            }
            LpkiCmd::Signppt(c) => {
                let file = c.key.or(c.cert).unwrap_or_else(node_key);
                let key = NodeKey::load(&file).map_err(CliError::Pki)?;
                // Leither's -p is a number of hours.
                let period =
                    if !c.period.is_empty() && c.period.bytes().all(|b| b.is_ascii_digit()) {
                        parse_period(&format!("{}h", c.period))
                    } else {
                        parse_period(&c.period)
                    }
                    .map_err(CliError::Pki)?;
                let data = parse_data(&c.data).map_err(CliError::Pki)?;
                let now = crate::clock::unix_now();
                let pass = match c.form.as_str() {
                    "ppt1" => Pass::sign(&key, data, now, period),
                    "json" => Pass::sign_json(&key, data, now, period),
                    other => {
                        return Err(CliError::Failed(format!(
                            "unknown pass form {other:?}; use -f ppt1 or -f json"
                        )));
                    }
                }
                .map_err(CliError::Pki)?;
                let text = pass.to_text();
                match c.out {
                    Some(path) => {
                        crate::fsutil::write_atomic(&path, format!("{text}\n").as_bytes(), 0o600)
                            .map_err(CliError::io(&path))?;
                        println!("signppt ok: {}", path.display());
                        println!("signer: {}", pass.signer_id());
                        println!("end: {}", crate::log::timestamp(pass.end_time()));
                    }
                    None => println!("{text}"),
                }
                Ok(())
            }
            LpkiCmd::Verifyppt(c) => {
                let pass = read_pass(&c.input)?;
                match pass.verify(crate::clock::unix_now()) {
                    Ok(()) => {
                        print_pass(&pass);
                        println!("verifyppt ok");
                        Ok(())
                    }
                    Err(e) => Err(CliError::Failed(format!(
                        "{}: pass refused: {e}",
                        c.input.display()
                    ))),
                }
            }
        }
    }
}

/// Largest key or pass file read.
const MAX_FILE: u64 = 64 * 1024;

fn read_small(path: &Path) -> Result<String, CliError> {
    let meta = std::fs::metadata(path).map_err(CliError::io(path))?;
    if meta.len() > MAX_FILE {
        return Err(CliError::Failed(format!(
            "{} is {} bytes; key and pass files are small, is it the right file?",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(CliError::io(path))
}

fn read_pass(path: &Path) -> Result<Pass, CliError> {
    let text = read_small(path)?;
    Pass::parse(text.trim()).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
}

fn print_pass(pass: &Pass) {
    let mut s = String::new();
    json::encode_pretty(&crate::api::fns_node::pass_value(pass), &mut s);
    println!("{s}");
    println!("signed: {}", crate::log::timestamp(pass.sign_time()));
    println!("ends:   {}", crate::log::timestamp(pass.end_time()));
}

fn show(path: &Path) -> Result<(), CliError> {
    let text = read_small(path)?;
    if let Ok(pass) = Pass::parse(text.trim()) {
        print_pass(&pass);
        return Ok(());
    }
    let key = NodeKey::load(path).map_err(CliError::Pki)?;
    println!("id: {}", key.id());
    println!("peerid: {}", key.peer_id());
    println!(
        "public key: {}",
        crate::pki::encoding::base64url_encode(&key.public_key())
    );
    Ok(())
}
