//! `mimei`: file and database Mimeis on a node, through the API table (`MMCreate`, `MMOpen`, `MF*`, ...).
//!
//! Output keeps Leither's lines: `Create MiMei  ok` / `mid= <mid>`, `MiMeiSetCid ver= N`,
//! `MiMeiAdd cid= <cid>` / `MiMeiAdd ver= N`, `mimei show`'s sections (`from local`, `from
//! net`, `conflict`, `compare version`, `Create` in ISO 8601), and `mimei get` writing the
//! content to stdout. Every command signs in with the key (`-k`, default
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
    /// what everyone is granted: none (default), read, read,write, ... or a number
    #[argh(option, short = 'r')]
    right: Option<String>,
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

/// Write a file of a Mimei to stdout, or to a file with -o: MID[:VER][/path] (VER: a number,
/// last, release or cur).
#[derive(FromArgs)]
#[argh(subcommand, name = "get")]
struct Get {
    /// MID[:VER][/path]
    #[argh(positional)]
    what: String,
    /// write it to this file instead of stdout ("-" is stdout)
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
    /// a memo kept with the version
    #[argh(option, short = 'm')]
    memo: Option<String>,
    /// clear cur's references once the version holds them
    #[argh(switch)]
    delref: bool,
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

/// Set a member's rights: MEMBER is * or a user ID; RIGHTS none, all, read,write,..., our bits
/// or a Leither rights word such as 0x07276707.
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

/// Opens `mid` at `ver`, runs `f` with the mmsid, closes it (for the `MF*` and database
/// functions, which work on a handle).
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

/// A number from a result that is one, or a string of one (Leither's `MMBackup` and
/// `MMRelease` answer with the version as a string); 0 otherwise.
pub(super) fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        .unwrap_or(0)
}

/// Calls the Mimei function `f` (`MMBackup`, `MMRestore`, `MMRelease`, `MMDelVers`, ...) in
/// Leither's form `f(sid, mid, args...)`; returns its result as a number (0 when it is none).
/// `mimei` and `lapp` share it.
pub(super) fn on_mimei(
    c: &Client,
    sid: &Value,
    mid: &str,
    f: &str,
    args: Vec<Value>,
) -> Result<i64, CliError> {
    let mut all = vec![sid.clone(), s(mid)];
    all.extend(args);
    Ok(int(&c.call(f, all)?))
}

/// `setcid` then `backup`: the next version. Returns its number.
pub(super) fn set_and_backup(
    c: &Client,
    sid: &Value,
    mid: &str,
    cid: &str,
) -> Result<i64, CliError> {
    c.call("MFSetCid", vec![sid.clone(), s(mid), s(cid)])?;
    on_mimei(c, sid, mid, "MMBackup", vec![s("")])
}

impl Mimei {
    /// Runs a `mimei` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            Cmd::Create(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let opt = |o: &Option<String>| s(o.as_deref().unwrap_or(""));
                let mut args = vec![sid, opt(&a.app), opt(&a.ext), opt(&a.mark), opt(&a.kind)];
                if let Some(r) = &a.right {
                    args.push(s(r));
                }
                let mid = c.call("MMCreate", args)?;
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
                // For the Mimei: its blocks are as private as it is (a plain add is public).
                let url = match a.mid.parse::<crate::mimei::MimeiId>() {
                    Ok(mid) => format!("/ipfs/add?mid={mid}"),
                    Err(_) => "/ipfs/add".to_string(),
                };
                let v = c.post_file(&url, &a.file)?;
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
                let target = a.output.filter(|o| o.as_os_str() != "-");
                let ver = p.version_or_last().to_string();
                let n = with_open(&c, &sid, &p.mid.to_string(), &ver, |mm| {
                    save(&c, &sid, mm, &p.path_string(), target.as_deref())
                })?;
                // Only a saved file gets a status line: stdout carries the content alone.
                if let Some(t) = target {
                    println!("mimei get ok {} ({n} bytes)", t.display());
                }
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
                let mut args = vec![s(a.memo.as_deref().unwrap_or(""))];
                if a.delref {
                    args.push(s("delref=1"));
                }
                let ver = on_mimei(&c, &sid, &a.mid, "MMBackup", args)?;
                println!("MiMeiBackup ver= {ver}");
            }
            Cmd::Restore(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let ver = on_mimei(&c, &sid, &a.mid, "MMRestore", vec![s(&a.ver)])?;
                println!("MiMeiRestore ver= {ver}");
            }
            Cmd::DelVer(a) => {
                if a.vers.is_empty() {
                    return Err(CliError::Usage("name the versions to delete".into()));
                }
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let vers = a.vers.iter().map(|v| s(v)).collect();
                on_mimei(&c, &sid, &a.mid, "MMDelVers", vers)?;
                println!("MiMeiDelVer ok {}", a.vers.join(" "));
            }
            Cmd::Release(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let ver = on_mimei(&c, &sid, &a.mid, "MMRelease", vec![s(&a.ver)])?;
                println!("MiMeiRelease ver= {ver}");
            }
            Cmd::SetRight(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                c.call(
                    "MMSetRight",
                    vec![sid, s(&a.mid), s(&a.member), s(&a.rights)],
                )?;
                println!("MiMeiSetRight ok {} {}", a.member, a.rights);
            }
            Cmd::Grep(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                grep(&c, &sid, &a)?;
            }
            Cmd::GetRight(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let member = a.member.as_deref().unwrap_or("");
                let bits = on_mimei(&c, &sid, &a.mid, "MMGetRight", vec![s(member)])?;
                let names = crate::mimei::Right::from_bits(bits as u64)
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                println!("{names} ({bits:#x})");
            }
        }
        Ok(())
    }
}

/// Reads `path` of the open Mimei `mm` in 1 MiB pieces into `target` (via `target.part`), or
/// to stdout without one.
fn save(
    c: &Client,
    sid: &Value,
    mm: &Value,
    path: &str,
    target: Option<&Path>,
) -> Result<u64, CliError> {
    let fs = c.call(
        "MFOpenByPath",
        vec![sid.clone(), mm.clone(), s(path), Value::Int(0)],
    )?;
    let r = save_open(c, &fs, path, target);
    let _ = c.call("MFClose", vec![fs]);
    r
}

fn save_open(c: &Client, fs: &Value, path: &str, target: Option<&Path>) -> Result<u64, CliError> {
    let stat = c.call("MFStat", vec![fs.clone()])?;
    if stat.get("fIsDir") == Some(&Value::Bool(true)) {
        return Err(CliError::Failed(format!(
            "\"{path}\" is a directory; name a file in it (MID[:VER]/path)"
        )));
    }
    let size = stat.get("fSize").and_then(Value::as_i64).unwrap_or(0);
    let Some(target) = target else {
        let mut out = std::io::stdout().lock();
        let stdout = Path::new("stdout");
        let n = read_pieces(c, fs, size, |b| {
            out.write_all(b).map_err(CliError::io(stdout))
        })?;
        out.flush().map_err(CliError::io(stdout))?;
        return Ok(n);
    };
    let mut tmp = target.to_path_buf().into_os_string();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(CliError::io(&tmp))?;
    let result = (|| {
        let n = read_pieces(c, fs, size, |b| f.write_all(b).map_err(CliError::io(&tmp)))?;
        f.sync_all().map_err(CliError::io(&tmp))?;
        std::fs::rename(&tmp, target).map_err(CliError::io(target))?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads the `size` bytes of the open file `fs` in 1 MiB pieces, handing each to `sink`.
fn read_pieces(
    c: &Client,
    fs: &Value,
    size: i64,
    mut sink: impl FnMut(&[u8]) -> Result<(), CliError>,
) -> Result<u64, CliError> {
    const PIECE: i64 = 1 << 20;
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
        sink(&bytes)?;
        at += bytes.len() as i64;
    }
    Ok(at as u64)
}

/// The rule under each section heading of `mimei show`, as Leither prints it.
const RULE: &str = "-------------------------------------------------------------";

/// Unix seconds as ISO 8601 in UTC (`2022-10-06T06:22:57Z`), as Leither's `Create` line.
pub(super) fn iso8601(unix: i64) -> String {
    crate::clock::iso8601(unix)
}

/// `mimei show` and `lapp showapp`: Leither's layout (a header block, then `from local`,
/// `from net`, `conflict` and `compare version` sections, then `mimei show ok`).
pub(super) fn show(v: &Value) {
    let g = |k: &str| match v.get(k) {
        Some(Value::Str(t)) => t.clone(),
        Some(Value::Int(i)) => i.to_string(),
        _ => String::new(),
    };
    println!("MiMeiShow mid= {}", g("mid"));
    if v.get("author").is_some() {
        println!("Author  : {}", g("author"));
        println!("AppType : {}", g("app"));
        println!("Ext     : {}", g("ext"));
        println!("Mark    : {}", g("mark"));
        println!("Type    : {}", g("type"));
        let created = v.get("create").and_then(Value::as_i64).unwrap_or(0);
        println!("Create  : {}", iso8601(created));
        let rights: Vec<String> = match v.get("rights") {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        println!("Right   : {} (yours: {})", rights.join(" "), g("myRights"));
        println!();
        println!("from local");
        println!("{RULE}");
        if let Some(Value::List(vers)) = v.get("versions") {
            for r in vers {
                let ver = r.get("ver").and_then(Value::as_i64).unwrap_or(0);
                let cid = r.get("cid").and_then(Value::as_str).unwrap_or("");
                println!("{ver:<8} {cid}");
            }
        }
        println!("{:<8} {}", "last", g("last"));
        println!("{:<8} {}", "release", g("release"));
        let cur = g("cur");
        if !cur.is_empty() {
            println!("{:<8} {cur}", "cur");
        }
    } else {
        println!("(not on this node)");
    }
    show_net(v);
    println!();
    println!("mimei show ok");
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
    println!();
    println!("from net");
    println!("{RULE}");
    match v.get("net") {
        Some(n @ Value::Map(_)) => {
            let f = |k: &str| match n.get(k) {
                Some(Value::Str(t)) => t.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(x) => x.as_i64().unwrap_or(0).to_string(),
                None => String::new(),
            };
            println!("{:<8} {}", f("ver"), f("cid"));
            println!("{:<8} {}", "last", f("ver"));
            println!(
                "seq= {} eol= {} signer= {} follow= {} publish= {}",
                f("seq"),
                f("eol"),
                f("signer"),
                f("follow"),
                f("publish")
            );
        }
        _ => println!("not published"),
    }
    println!();
    println!("conflict");
    println!("{RULE}");
    let conflict = g("conflict");
    println!(
        "{}",
        if conflict.is_empty() {
            "no conflict"
        } else {
            conflict.as_str()
        }
    );
    println!();
    println!("compare version");
    println!("{RULE}");
    println!("{}", g("compare"));
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

#[cfg(test)]
mod tests {
    #[test]
    fn iso8601_matches_known_dates() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00Z");
        // Leither's README shows 2022-10-06T14:22:57+08:00 for this instant.
        assert_eq!(super::iso8601(1_665_037_377), "2022-10-06T06:22:57Z");
        assert_eq!(super::iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::iso8601(-1), "1969-12-31T23:59:59Z");
    }
}
