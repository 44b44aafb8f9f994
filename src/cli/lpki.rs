//! `lpki`: keys, certificates and passes. These work on files and need no running node;
//! certificates (`gencert`, `genpkcert`) are `pki::cert`'s format. `addkey`, `delkey` and
//! `users` (src/cli/lpki_users.rs) change who is a user of the node; `runscript`
//! (src/cli/lpki_runscript.rs) runs a Lua script on a node.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use crate::api::json;
use crate::pki::{Cert, NodeKey, Overwrite, Pass, parse_data, parse_period};

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
    Gencert(Gencert),
    Genpkcert(Genpkcert),
    #[cfg(feature = "lever")]
    Runscript(super::lpki_runscript::Runscript),
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

/// Show a key file (ID, PeerId, public key; never the secret), a certificate or a pass.
#[derive(FromArgs)]
#[argh(subcommand, name = "show")]
struct Show {
    /// the key, certificate or pass file
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

/// Make a certificate of a key (Leither's gencert): signed by the key itself, or by a CA with
/// -c. It holds the secret key (mode 0600): give others the output of genpkcert instead.
#[derive(FromArgs)]
#[argh(subcommand, name = "gencert")]
struct Gencert {
    /// the key to certify (a key file)
    #[argh(option, short = 'k')]
    key: PathBuf,
    /// what the certificate states, as "name=...,k2=v2"
    #[argh(option, short = 'm', default = "String::new()")]
    data: String,
    /// a CA's key or certificate file to sign with (default: self-signed)
    #[argh(option, short = 'c')]
    ca: Option<PathBuf>,
    /// the certificate file to write (mode 0600; never overwritten)
    #[argh(option, short = 'o')]
    out: PathBuf,
}

/// Export the public certificate of a certificate (Leither's genpkcert): the same signed
/// statement without the secret key.
#[derive(FromArgs)]
#[argh(subcommand, name = "genpkcert")]
struct Genpkcert {
    /// the certificate file (from gencert)
    #[argh(option, short = 'i')]
    input: PathBuf,
    /// the public certificate file to write
    #[argh(option, short = 'o')]
    out: PathBuf,
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
            LpkiCmd::Gencert(c) => gencert(c),
            LpkiCmd::Genpkcert(c) => genpkcert(c),
            #[cfg(feature = "lever")]
            LpkiCmd::Runscript(c) => c.run(home),
            LpkiCmd::Id(c) => {
                let key = NodeKey::load(&c.key.unwrap_or_else(node_key)).map_err(CliError::Pki)?;
                println!("{}", key.id());
                Ok(())
            }
            LpkiCmd::Signppt(c) => {
                let file = c.key.or(c.cert).unwrap_or_else(node_key);
                let key = load_signing_key(&file)?;
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
    if Cert::looks_like(&text) {
        return show_cert(path, &text);
    }
    let key = NodeKey::load(path).map_err(CliError::Pki)?;
    println!("file type is Key");
    // Leither's form of the ID line.
    println!("id= {}", key.id());
    println!("peerid: {}", key.peer_id());
    println!(
        "public key: {}",
        crate::pki::encoding::base64url_encode(&key.public_key())
    );
    Ok(())
}

/// A key to sign with from a key file or a certificate file; a public certificate is refused
/// with what to use instead.
fn load_signing_key(path: &Path) -> Result<NodeKey, CliError> {
    match NodeKey::load(path) {
        Ok(k) => Ok(k),
        Err(e) => match read_small(path) {
            Ok(t) if Cert::looks_like(&t) && Cert::parse(&t).is_ok_and(|c| c.key.is_none()) => {
                Err(CliError::Failed(format!(
                    "{} is a public certificate (genpkcert): it has no secret key to sign with; \
                     pass the certificate from gencert, or the key file",
                    path.display()
                )))
            }
            _ => Err(CliError::Pki(e)),
        },
    }
}

fn read_cert(path: &Path) -> Result<Cert, CliError> {
    let text = read_small(path)?;
    Cert::parse(&text).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
}

fn gencert(c: Gencert) -> Result<(), CliError> {
    let key = NodeKey::load(&c.key).map_err(CliError::Pki)?;
    let ca = c.ca.as_deref().map(load_signing_key).transpose()?;
    let data = parse_data(&c.data).map_err(CliError::Pki)?;
    let cert = Cert::create(&key, data, ca.as_ref()).map_err(CliError::Pki)?;
    if c.out.exists() {
        return Err(CliError::Failed(format!(
            "{} already exists; a certificate holds a secret key, so it is never replaced: \
             move it away or choose another name",
            c.out.display()
        )));
    }
    crate::fsutil::write_atomic(&c.out, cert.to_text().as_bytes(), 0o600)
        .map_err(CliError::io(&c.out))?;
    match &ca {
        None => println!("caFile is empty, self-signed"),
        Some(ca) => println!("signed by the CA {}", ca.id()),
    }
    println!("Sign Cert to file [{}] ok!", c.out.display());
    println!("id= {}", cert.id);
    println!("{}", String::from_utf8_lossy(&cert.signed));
    Ok(())
}

fn genpkcert(c: Genpkcert) -> Result<(), CliError> {
    let cert = read_cert(&c.input)?;
    if cert.is_self_signed() {
        cert.verify_with(&cert.public_key)
            .map_err(|e| CliError::Failed(format!("{}: {e}", c.input.display())))?;
    }
    let public = cert.public();
    crate::fsutil::write_atomic(&c.out, public.to_text().as_bytes(), 0o644)
        .map_err(CliError::io(&c.out))?;
    print_cert(&public);
    println!("genpkcert public key Cert[{}] ok!", c.out.display());
    Ok(())
}

/// Leither's printout of a certificate (never the secret key).
fn print_cert(cert: &Cert) {
    println!("CertPKID:{}", cert.id);
    for (k, v) in &cert.data {
        println!("{k:<8}:{v}");
    }
    let gob = crate::pki::leither_files::gob_cert_pk(&cert.public_key);
    println!(
        "CertPK  :{}",
        crate::pki::leither_files::base64url_padded(&gob)
    );
    println!("SignerID: {}", cert.signer_id);
    println!("KeyType : sodium");
    println!("Version : 1");
}

fn show_cert(path: &Path, text: &str) -> Result<(), CliError> {
    let cert =
        Cert::parse(text).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
    match cert.key {
        Some(_) => println!("file type is Cert"),
        None => println!("file type is PkCert"),
    }
    println!("id= {}", cert.id);
    print_cert(&cert);
    if cert.is_self_signed() {
        cert.verify_with(&cert.public_key)
            .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
        println!("signature: ok (self-signed)");
    } else {
        println!(
            "signature: signed by {}; check it with that CA's key",
            cert.signer_id
        );
    }
    if cert.key.is_some() {
        println!("secret key: in the file (not shown; keep the file private)");
    }
    Ok(())
}
