//! `mimei`: file and database Mimeis on a node, through the API table (`MMCreate`, `MMOpen`, `MF*`, ...).
//!
//! Output keeps Leither's lines: `Create MiMei  ok` / `mid= <mid>`, `MiMeiSetCid ver= N`,
//! `MiMeiAdd cid= <cid>` / `MiMeiAdd ver= N`. Every command signs in with the key (`-k`, default
//! the home's node key) and may act on another node (`-n URL`).

use std::io::Write;
use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::Value;
use crate::mimei::MimeiPath;

/// File Mimeis: create, version, read and share them.
#[derive(FromArgs)]
#[argh(subcommand, name = "mimei")]
pub struct Mimei {
    #[argh(subcommand)]
    cmd: Cmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Cmd {
    Create(Create),
    SetCid(SetCid),
    Add(Add),
    Get(Get),
    Show(Show),
    Backup(Backup),
    Restore(Restore),
    DelVer(DelVer),
    Release(Release),
    SetRight(SetRight),
    GetRight(GetRight),
    Grep(Grep),
    SetDomain(SetDomain),
    #[cfg(feature = "net")]
    Publish(super::mimei_net::Publish),
    #[cfg(feature = "net")]
    Unpublish(super::mimei_net::Unpublish),
    #[cfg(feature = "net")]
    Provide(super::mimei_net::Provide),
    #[cfg(feature = "net")]
    Unprovide(super::mimei_net::Unprovide),
    #[cfg(feature = "net")]
    FindProvs(super::mimei_net::FindProvs),
    #[cfg(feature = "net")]
    Sync(super::mimei_net::Sync),
}

/// Bind a domain to the Mimei: its DNN answers the domain with a page that opens the Mimei from
/// a live provider ("" removes the Mimei's bindings).
#[derive(FromArgs)]
#[argh(subcommand, name = "setdomain")]
struct SetDomain {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the domain (e.g. blog.example.org), or "" to unbind
    #[argh(positional)]
    domain: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// `MiMeiSetDomain` and what it did, in one place for `mimei setdomain` and `lapp setdomain`.
pub(super) fn set_domain(
    c: &super::client::Client,
    sid: Value,
    mid: &str,
    domain: &str,
    kind: &str,
) -> Result<(), CliError> {
    let v = c.call("MiMeiSetDomain", vec![sid, s(mid), s(domain), s(kind)])?;
    let target = v.get("target").and_then(|t| t.as_str()).unwrap_or("");
    if domain.is_empty() {
        println!("MiMeiSetDomain ok: {mid} has no domain now");
    } else {
        println!("MiMeiSetDomain ok: {domain} -> {target}");
    }
    match v.get("gateways") {
        Some(Value::List(g)) if !g.is_empty() => {
            let names: Vec<&str> = g.iter().filter_map(|x| x.as_str()).collect();
            println!("reported to: {}", names.join(", "));
        }
        _ => println!(
            "served by this node; name DNNs in Gateway (SystemVars.json) to have them serve it"
        ),
    }
    Ok(())
}

/// Dump a database Mimei: `mid:`, `ver:`, `Data Type KV`, then a `key value` line per key
/// (strings as they are, other types as `type` and JSON).
#[derive(FromArgs)]
#[argh(subcommand, name = "grep")]
struct Grep {
    /// the database Mimei
    #[argh(positional)]
    mid: String,
    /// version: a number, last, release or cur (default last, or cur when there is none)
    #[argh(positional)]
    ver: Option<String>,
    /// the first key to show
    #[argh(option, short = 'b')]
    begin: Option<String>,
    /// show only keys matching this glob pattern (Redis's: * ? [abc])
    #[argh(option, short = 'm')]
    r#match: Option<String>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Create a Mimei: prints `Create MiMei  ok` and `mid= <mid>`.
#[derive(FromArgs)]
#[argh(subcommand, name = "create")]
struct Create {
    /// default application, a Mimei ID
    #[argh(option, short = 'a')]
    app: Option<String>,
    /// mark: fixed text gives the same ID again; {{auto}} a fresh ID
    #[argh(option, short = 'm')]
    mark: Option<String>,
    /// ext: free text describing the content
    #[argh(option, short = 'e')]
    ext: Option<String>,
    /// type: file (default) or db
    #[argh(option, short = 't')]
    kind: Option<String>,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Put a stored CID in cur and make the next version of it.
#[derive(FromArgs)]
#[argh(subcommand, name = "setcid")]
struct SetCid {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the CID (already on the node)
    #[argh(positional)]
    cid: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Add a file and make it the next version.
#[derive(FromArgs)]
#[argh(subcommand, name = "add")]
struct Add {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the file
    #[argh(positional)]
    file: PathBuf,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Save a file of a Mimei: MID[:VER][/path] (VER: a number, last, release or cur).
#[derive(FromArgs)]
#[argh(subcommand, name = "get")]
struct Get {
    /// MID[:VER][/path]
    #[argh(positional)]
    what: String,
    /// where to write it (default: the last path segment, or the MID, in this directory)
    #[argh(option, short = 'o')]
    output: Option<PathBuf>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Show a Mimei: author, type, rights, versions.
#[derive(FromArgs)]
#[argh(subcommand, name = "show")]
struct Show {
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

/// Make the next version from cur.
#[derive(FromArgs)]
#[argh(subcommand, name = "backup")]
struct Backup {
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

/// Set cur to a version (a number, last or release).
#[derive(FromArgs)]
#[argh(subcommand, name = "restore")]
struct Restore {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the version
    #[argh(positional)]
    ver: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Delete versions.
#[derive(FromArgs)]
#[argh(subcommand, name = "delver")]
struct DelVer {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the versions
    #[argh(positional)]
    vers: Vec<String>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Name a version `release`.
#[derive(FromArgs)]
#[argh(subcommand, name = "release")]
struct Release {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the version (a number or last)
    #[argh(positional)]
    ver: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Set a member's rights: MEMBER is * or a user ID; RIGHTS none, all, read,write,... or a number.
#[derive(FromArgs)]
#[argh(subcommand, name = "setright")]
struct SetRight {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the member: * (everyone) or a user ID
    #[argh(positional)]
    member: String,
    /// the rights
    #[argh(positional)]
    rights: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Show a member's rights (without MEMBER: your own).
#[derive(FromArgs)]
#[argh(subcommand, name = "getright")]
struct GetRight {
    /// the Mimei
    #[argh(positional)]
    mid: String,
    /// the member: * (everyone) or a user ID
    #[argh(positional)]
    member: Option<String>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// A signed-in client and its session id.
pub(super) fn connect(
    home: &Path,
    node: Option<&str>,
    key: Option<&Path>,
) -> Result<(Client, Value), CliError> {
    let mut c = Client::new(home, node, key)?;
    let sid = Value::Str(c.login(true)?);
    Ok((c, sid))
}

pub(super) fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// Opens `mid` at `ver`, runs `f` with the mmsid, closes it.
pub(super) fn with_open<T>(
    c: &Client,
    sid: &Value,
    mid: &str,
    ver: &str,
    f: impl FnOnce(&Value) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let mm = c.call("MMOpen", vec![sid.clone(), s(mid), s(ver)])?;
    let r = f(&mm);
    let _ = c.call("MMClose", vec![mm]);
    r
}

pub(super) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Calls the version function `f` (`MMBackup`, `MMRestore`, `MMRelease`, `MMDelVers`) on
/// `mid` opened at cur, with `args` after the mmsid; returns its result as a number (0 when
/// it is none). `mimei` and `lapp` share it.
pub(super) fn on_cur(
    c: &Client,
    sid: &Value,
    mid: &str,
    f: &str,
    args: Vec<Value>,
) -> Result<i64, CliError> {
    with_open(c, sid, mid, "cur", |mm| {
        let mut all = vec![mm.clone()];
        all.extend(args);
        Ok(int(&c.call(f, all)?))
    })
}

/// `setcid` then `backup`: the next version. Returns its number.
pub(super) fn set_and_backup(
    c: &Client,
    sid: &Value,
    mid: &str,
    cid: &str,
) -> Result<i64, CliError> {
    with_open(c, sid, mid, "cur", |mm| {
        c.call("MFSetCid", vec![mm.clone(), s(""), s(cid)])?;
        Ok(int(&c.call("MMBackup", vec![mm.clone()])?))
    })
}

impl Mimei {
    /// Runs a `mimei` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            Cmd::Create(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let opt = |o: &Option<String>| s(o.as_deref().unwrap_or(""));
                let mid = c.call(
                    "MMCreate",
                    vec![sid, opt(&a.app), opt(&a.ext), opt(&a.mark), opt(&a.kind)],
                )?;
                println!("Create MiMei  ok");
                println!("mid= {}", mid.as_str().unwrap_or(""));
            }
            Cmd::SetCid(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let ver = set_and_backup(&c, &sid, &a.mid, &a.cid)?;
                println!("MiMeiSetCid ver= {ver}");
            }
            Cmd::Add(a) => {
                let (mut c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                // Refuse early, before the upload, if the Mimei cannot be written.
                with_open(&c, &sid, &a.mid, "cur", |_| Ok(()))?;
                let v = c.post_file("/ipfs/add", &a.file)?;
                let cid = v
                    .get("cid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                println!("MiMeiAdd cid= {cid}");
                let ver = set_and_backup(&c, &sid, &a.mid, &cid)?;
                println!("MiMeiAdd ver= {ver}");
            }
            Cmd::Get(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let p = MimeiPath::parse(&a.what).map_err(|e| CliError::Usage(e.to_string()))?;
                let target = match a.output {
                    Some(o) => o,
                    None => PathBuf::from(p.path.last().cloned().unwrap_or(p.mid.to_string())),
                };
                let ver = p.version_or_last().to_string();
                let n = with_open(&c, &sid, &p.mid.to_string(), &ver, |mm| {
                    save(&c, mm, &p.path_string(), &target)
                })?;
                println!("mimei get ok {} ({n} bytes)", target.display());
            }
            Cmd::Show(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                #[cfg(feature = "net")]
                let v = c.call("MiMeiShow", vec![sid, s(&a.mid)])?;
                #[cfg(not(feature = "net"))]
                let v = c.call("GetVar", vec![sid, s("mminfo"), s(&a.mid)])?;
                show(&v);
            }
            Cmd::SetDomain(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                set_domain(&c, sid, &a.mid, &a.domain, "mm")?;
            }
            #[cfg(feature = "net")]
            Cmd::Publish(a) => a.run(home)?,
            #[cfg(feature = "net")]
            Cmd::Unpublish(a) => a.run(home)?,
            #[cfg(feature = "net")]
            Cmd::Provide(a) => a.run(home)?,
            #[cfg(feature = "net")]
            Cmd::Unprovide(a) => a.run(home)?,
            #[cfg(feature = "net")]
            Cmd::FindProvs(a) => a.run(home)?,
            #[cfg(feature = "net")]
            Cmd::Sync(a) => a.run(home)?,
            Cmd::Backup(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let ver = on_cur(&c, &sid, &a.mid, "MMBackup", vec![])?;
                println!("MiMeiBackup ver= {ver}");
            }
            Cmd::Restore(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let ver = on_cur(&c, &sid, &a.mid, "MMRestore", vec![s(&a.ver)])?;
                println!("MiMeiRestore ver= {ver}");
            }
            Cmd::DelVer(a) => {
                if a.vers.is_empty() {
                    return Err(CliError::Usage("name the versions to delete".into()));
                }
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let list = Value::List(a.vers.iter().map(|v| s(v)).collect());
                on_cur(&c, &sid, &a.mid, "MMDelVers", vec![list])?;
                println!("MiMeiDelVer ok {}", a.vers.join(" "));
            }
            Cmd::Release(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let ver = on_cur(&c, &sid, &a.mid, "MMRelease", vec![s(&a.ver)])?;
                println!("MiMeiRelease ver= {ver}");
            }
            Cmd::SetRight(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                with_open(&c, &sid, &a.mid, "cur", |mm| {
                    c.call("MMSetRight", vec![mm.clone(), s(&a.member), s(&a.rights)])
                })?;
                println!("MiMeiSetRight ok {} {}", a.member, a.rights);
            }
            Cmd::Grep(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                grep(&c, &sid, &a)?;
            }
            Cmd::GetRight(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let mut args = vec![];
                if let Some(m) = &a.member {
                    args.push(s(m));
                }
                let bits = with_open(&c, &sid, &a.mid, "cur", |mm| {
                    args.insert(0, mm.clone());
                    Ok(int(&c.call("MMGetRight", args)?))
                })?;
                let names = crate::mimei::Right::from_bits(bits as u64)
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                println!("{names} ({bits:#x})");
            }
        }
        Ok(())
    }
}

/// Reads `path` of the open Mimei in 1 MiB pieces into `target` (via `target.part`).
fn save(c: &Client, mm: &Value, path: &str, target: &Path) -> Result<u64, CliError> {
    const PIECE: i64 = 1 << 20;
    let fs = c.call("MFOpenByPath", vec![mm.clone(), s(path), Value::Int(0)])?;
    let stat = c.call("MFStat", vec![fs.clone()])?;
    if stat.get("type").and_then(Value::as_str) == Some("dir") {
        return Err(CliError::Failed(format!(
            "\"{path}\" is a directory; name a file in it (MID[:VER]/path)"
        )));
    }
    let size = stat.get("size").and_then(Value::as_i64).unwrap_or(0);
    let mut tmp = target.to_path_buf().into_os_string();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(CliError::io(&tmp))?;
    let result = (|| {
        let mut at = 0;
        while at < size {
            let v = c.call(
                "MFGetData",
                vec![fs.clone(), Value::Int(at), Value::Int(PIECE)],
            )?;
            let bytes = match &v {
                Value::Str(t) => crate::pki::encoding::base64url_decode(t)
                    .map_err(|e| CliError::Http(format!("MFGetData sent bad base64url: {e}")))?,
                Value::Bytes(b) => b.clone(),
                _ => return Err(CliError::Http("MFGetData sent no bytes".into())),
            };
            if bytes.is_empty() {
                return Err(CliError::Http(format!(
                    "the node sent {at} of {size} bytes"
                )));
            }
            f.write_all(&bytes).map_err(CliError::io(&tmp))?;
            at += bytes.len() as i64;
        }
        f.sync_all().map_err(CliError::io(&tmp))?;
        std::fs::rename(&tmp, target).map_err(CliError::io(target))?;
        Ok(at as u64)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub(super) fn show(v: &Value) {
    let g = |k: &str| match v.get(k) {
        Some(Value::Str(t)) => t.clone(),
        Some(Value::Int(i)) => i.to_string(),
        _ => String::new(),
    };
    if v.get("author").is_none() {
        println!("mid= {} (not on this node)", g("mid"));
        show_net(v);
        return;
    }
    println!("Author: {}", g("author"));
    let app = g("app");
    if app.is_empty() {
        println!("AppType: {}", g("type"));
    } else {
        println!("AppType: {} {app}", g("type"));
    }
    println!("Ext: {}", g("ext"));
    println!("Mark: {}", g("mark"));
    println!("Create: {}", g("create"));
    let rights: Vec<String> = match v.get("rights") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    println!("Right: {} (yours: {})", rights.join(" "), g("myRights"));
    println!("cur: {}", g("cur"));
    if let Some(Value::List(vers)) = v.get("versions") {
        for r in vers {
            let f = |k| {
                r.get(k).map(|x| match x {
                    Value::Str(t) => t.clone(),
                    other => other.as_i64().unwrap_or(0).to_string(),
                })
            };
            println!(
                "ver= {} cid= {} time= {} signer= {}",
                f("ver").unwrap_or_default(),
                f("cid").unwrap_or_default(),
                f("time").unwrap_or_default(),
                f("signer").unwrap_or_default()
            );
        }
    }
    println!("release= {}", g("release"));
    println!("last= {}", g("last"));
    show_net(v);
}

/// The `from net`, `conflict` and `compare version` sections of `MiMeiShow`.
fn show_net(v: &Value) {
    let g = |k: &str| match v.get(k) {
        Some(Value::Str(t)) => t.clone(),
        _ => String::new(),
    };
    if v.get("compare").is_none() {
        return;
    }
    println!("from net:");
    match v.get("net") {
        Some(n @ Value::Map(_)) => {
            let f = |k: &str| match n.get(k) {
                Some(Value::Str(t)) => t.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(x) => x.as_i64().unwrap_or(0).to_string(),
                None => String::new(),
            };
            println!(
                "ver= {} cid= {} seq= {} eol= {} signer= {} follow= {} publish= {}",
                f("ver"),
                f("cid"),
                f("seq"),
                f("eol"),
                f("signer"),
                f("follow"),
                f("publish")
            );
        }
        _ => println!("(not published)"),
    }
    let conflict = g("conflict");
    println!(
        "conflict: {}",
        if conflict.is_empty() {
            "none"
        } else {
            conflict.as_str()
        }
    );
    println!("compare version: {}", g("compare"));
}

/// `mimei grep`: pages through the keys with `Scan` and prints each key's value.
fn grep(c: &Client, sid: &Value, a: &Grep) -> Result<(), CliError> {
    let ver = match a.ver.as_deref() {
        Some(v) => v.to_string(),
        None => {
            let info = c.call("GetVar", vec![sid.clone(), s("mminfo"), s(&a.mid)])?;
            match info.get("last").and_then(Value::as_i64) {
                Some(n) if n > 0 => n.to_string(),
                _ => "cur".to_string(),
            }
        }
    };
    with_open(c, sid, &a.mid, &ver, |mm| {
        println!("mid: {}", a.mid);
        println!("ver: {ver}");
        println!("Data Type KV");
        let mut out = std::io::stdout().lock();
        let mut cursor = a.begin.clone().unwrap_or_default();
        let pattern = s(a.r#match.as_deref().unwrap_or(""));
        // The first page starts at BEGIN itself (inclusive); later ones after the last key.
        let mut inclusive = true;
        loop {
            let args = vec![
                mm.clone(),
                s(&cursor),
                pattern.clone(),
                Value::Int(500),
                Value::Bool(inclusive),
            ];
            inclusive = false;
            let keys = match c.call("Scan", args)? {
                Value::List(l) => l,
                _ => Vec::new(),
            };
            if keys.is_empty() {
                break;
            }
            for k in &keys {
                let k = k.as_str().unwrap_or("");
                show_key(c, mm, k, &mut out)?;
                cursor = k.to_string();
            }
        }
        Ok(())
    })
}

fn show_key(c: &Client, mm: &Value, key: &str, out: &mut impl Write) -> Result<(), CliError> {
    let kind = c.call("Type", vec![mm.clone(), s(key)])?;
    let kind = kind.as_str().unwrap_or("none").to_string();
    let k = || vec![mm.clone(), s(key)];
    let value = match kind.as_str() {
        "string" => {
            let v = c.call("Get", k())?;
            let _ = writeln!(out, "{key} {}", text(&v));
            return Ok(());
        }
        // Shown as one map {field: value}, as before Hgetall answered FVPairs.
        "hash" => match c.call("Hgetall", k())? {
            Value::List(pairs) => Value::Map(
                pairs
                    .iter()
                    .map(|p| {
                        let f = p.get("Field").and_then(Value::as_str).unwrap_or("");
                        (
                            f.to_string(),
                            p.get("Value").cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            ),
            other => other,
        },
        "list" => c.call(
            "Lrange",
            [k(), vec![Value::Int(0), Value::Int(-1)]].concat(),
        )?,
        "set" => c.call("Smembers", k())?,
        "zset" => c.call(
            "Zrange",
            [k(), vec![Value::Int(0), Value::Int(-1)]].concat(),
        )?,
        _ => return Ok(()),
    };
    let mut j = String::new();
    crate::api::json::encode(&value, &mut j);
    let _ = writeln!(out, "{key} {kind} {j}");
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::Str(t) => t.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            let mut j = String::new();
            crate::api::json::encode(other, &mut j);
            j
        }
    }
}
