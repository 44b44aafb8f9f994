//! `lapp`: applications as Mimeis. An app is a folder (its name is the app's name) holding
//! `lever.json`, its Lua code and its static files; it lives in one file Mimei per author and
//! name, and each upload is that Mimei's next version.
//!
//! The app's Mimei is `MMCreate(sid, "", "app", NAME, "file")`: the fixed mark NAME gives the
//! same ID again to the same author (the node), so re-uploading makes the next version of the
//! same app. The folder is added exactly as `ipfs add -r` adds it (`ipfs_dir::AddDir`, CIDv0
//! defaults, so the root is kubo's), the root goes into `cur` (`MFSetCid`) and becomes the next
//! version (`MMBackup`). The blocks are not pinned: the Mimei's versions keep them, and
//! `lapp delvers` can free them. The first upload grants everyone read (`*`=read), since
//! visitors load an app's files from `/tpt/<appid>`; `mimei setright` can change that, and
//! later uploads leave the rights alone.
//!
//! Only the shape of `lever.json` is checked here (a JSON object); the node checks the rest
//! when the app is deployed as a Lever service (`leither lever deploy`, which shares
//! [`upload`]).
//!
//! `lever.json`'s `env` (a service's variables and secrets) is never uploaded: an app is
//! readable wherever it is (its first upload grants everyone read, and nodes sync it), so the
//! uploaded `lever.json` is the folder's without `env`, and `lever deploy` hands the variables
//! to the node apart (`LeverDeploy`'s `vars`), which keeps them as the service's own.
//!
//! The other commands take `-a APP`: an app ID, or a name, which stands for this node's app of
//! that name. A name is turned into its ID locally (`mimei::id::derive` with the node's ID
//! from `GetVar hostid`, which is what `MMCreate` derives), so a mistyped name never creates
//! an empty app; a name whose Mimei has no version is refused with a hint to upload it.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use super::mimei::{connect, int, on_mimei, s, with_open};
use crate::api::{Value, json};
use crate::mimei::{MimeiId, MimeiType};

/// Largest `lever.json` read.
const MAX_LEVER_JSON: u64 = 1024 * 1024;

/// Applications: upload a folder as the next version of an app, show, release, restore.
#[derive(FromArgs)]
#[argh(subcommand, name = "lapp")]
pub struct Lapp {
    #[argh(subcommand)]
    cmd: Cmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Cmd {
    UploadApp(UploadApp),
    ShowApp(ShowApp),
    Backup(Backup),
    Release(Release),
    Restore(Restore),
    DelVers(DelVers),
    SetDomain(SetDomain),
}

/// Bind a domain to the app: its DNN answers the domain with a page that opens the app from a
/// live provider.
#[derive(FromArgs)]
#[argh(subcommand, name = "setdomain")]
struct SetDomain {
    /// the app: its ID or its name
    #[argh(option, short = 'a')]
    app: String,
    /// the domain (e.g. app.example.org), or "" to unbind
    #[argh(option, short = 'd')]
    domain: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Upload a folder (named after the app) as the app's next version.
#[derive(FromArgs)]
#[argh(subcommand, name = "uploadapp")]
struct UploadApp {
    /// the app's folder; its name is the app's name
    #[argh(option, short = 'i')]
    input: PathBuf,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Show an app: its Mimei's header and versions.
#[derive(FromArgs)]
#[argh(subcommand, name = "showapp")]
struct ShowApp {
    /// the app: its ID or its name
    #[argh(option, short = 'a')]
    app: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Make the app's next version from its cur.
#[derive(FromArgs)]
#[argh(subcommand, name = "backup")]
struct Backup {
    /// the app: its ID or its name
    #[argh(option, short = 'a')]
    app: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Release a version: the one /tpt/<appid> serves to visitors.
#[derive(FromArgs)]
#[argh(subcommand, name = "release")]
struct Release {
    /// the app: its ID or its name
    #[argh(option, short = 'a')]
    app: String,
    /// the version (a number or last)
    #[argh(option, short = 'v')]
    ver: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Set the app's cur to a version.
#[derive(FromArgs)]
#[argh(subcommand, name = "restore")]
struct Restore {
    /// the app: its ID or its name
    #[argh(option, short = 'a')]
    app: String,
    /// the version (a number, last or release)
    #[argh(option, short = 'v')]
    ver: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Delete versions of an app.
#[derive(FromArgs)]
#[argh(subcommand, name = "delvers")]
struct DelVers {
    /// the app: its ID or its name
    #[argh(option, short = 'a')]
    app: String,
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

/// What an upload made.
pub(crate) struct Uploaded {
    /// The app's Mimei ID.
    pub mid: String,
    /// The version the upload made.
    pub ver: i64,
    /// The `env` of the folder's `lever.json`, which was not uploaded (module doc).
    pub env: Option<Value>,
}

/// `lever.json` as uploaded: without its `env` field. Returns the bytes to upload instead of
/// the folder's and the `env` taken out, or `None` when there is no `env` (the file goes as
/// it is, so its CID stays what `ipfs add` gives).
pub(crate) fn without_env(text: &[u8]) -> Option<(Vec<u8>, Value)> {
    let Ok(Value::Map(mut fields)) = json::decode(text, &json::JsonLimits::default()) else {
        return None;
    };
    let at = fields.iter().position(|(k, _)| k == "env")?;
    let (_, env) = fields.remove(at);
    let mut out = String::new();
    json::encode_pretty(&Value::Map(fields), &mut out);
    out.push('\n');
    Some((out.into_bytes(), env))
}

/// The app's name (the folder's), once the folder is found to be an app: a directory whose
/// name can be a mark and is not an ID, holding a `lever.json` that is a JSON object. The
/// `lever.json` is required for a Lever service (`need_lever`); a Leither app (`lapp
/// uploadapp`, as Leither's own) is any folder, and its `lever.json`, if it has one, must
/// still be an object. Returns the name and the canonical folder.
pub(crate) fn check_app_dir(dir: &Path, need_lever: bool) -> Result<(String, PathBuf), CliError> {
    read_app_dir(dir, need_lever).map(|(name, top, _)| (name, top))
}

/// [`check_app_dir`], with the bytes of the folder's `lever.json` (`None`: it has none).
fn read_app_dir(
    dir: &Path,
    need_lever: bool,
) -> Result<(String, PathBuf, Option<Vec<u8>>), CliError> {
    let top = std::fs::canonicalize(dir).map_err(CliError::io(dir))?;
    if !top.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is not a folder; an app is a folder holding lever.json",
            dir.display()
        )));
    }
    let name = top
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| super::ipfs_dir::safe_entry_name(n) && !n.starts_with('.'))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{} has no usable name; the folder's name is the app's name",
                dir.display()
            ))
        })?
        .to_string();
    crate::mimei::id::check_mark(&name).map_err(|e| {
        CliError::Usage(format!(
            "the folder name \"{name}\" cannot name an app ({e}); rename the folder"
        ))
    })?;
    if name.parse::<MimeiId>().is_ok() {
        return Err(CliError::Usage(format!(
            "the folder name \"{name}\" reads as an app ID, so `-a {name}` would be ambiguous; \
             rename the folder"
        )));
    }
    let lever = top.join("lever.json");
    let text = match std::fs::File::open(&lever) {
        Ok(f) => {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_LEVER_JSON + 1), &mut b)
                .map_err(CliError::io(&lever))?;
            b
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !need_lever => {
            return Ok((name, top, None));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::Failed(format!(
                "{} has no lever.json: an app folder holds lever.json (at least {{\"name\": \
                 \"{name}\"}}), its Lua code and its files",
                dir.display()
            )));
        }
        Err(e) => return Err(CliError::io(&lever)(e)),
    };
    if text.len() as u64 > MAX_LEVER_JSON {
        return Err(CliError::Failed(format!(
            "{} is larger than {MAX_LEVER_JSON} bytes; it should be a small JSON object",
            lever.display()
        )));
    }
    match json::decode(&text, &json::JsonLimits::default()) {
        Ok(Value::Map(_)) => Ok((name, top, Some(text))),
        Ok(other) => Err(CliError::Failed(format!(
            "{} is a JSON {}, not an object; write it as {{\"name\": \"{name}\", ...}}",
            lever.display(),
            other.kind()
        ))),
        Err(e) => Err(CliError::Failed(format!(
            "{} is not JSON ({e}); fix it and upload again",
            lever.display()
        ))),
    }
}

/// Uploads the app folder `dir` as the next version of its app (see the module doc);
/// `need_lever` as in [`check_app_dir`].
pub(crate) fn upload(c: &mut Client, dir: &Path, need_lever: bool) -> Result<Uploaded, CliError> {
    let (name, top, text) = read_app_dir(dir, need_lever)?;
    let split = text.as_deref().and_then(without_env);
    let lever_json = top.join("lever.json");
    let sid = Value::Str(c.login(true)?);
    let mid = c.call(
        "MMCreate",
        vec![sid.clone(), s(""), s("app"), s(&name), s("file")],
    )?;
    let mid = mid
        .as_str()
        .ok_or_else(|| CliError::Http("MMCreate answered without a Mimei ID".into()))?
        .to_string();
    let info = c.call("GetVar", vec![sid.clone(), s("mminfo"), s(&mid)])?;
    let first = int(info.get("last").unwrap_or(&Value::Null)) == 0;
    // Refuse early, before the upload, if the app cannot be written.
    with_open(c, &sid, &mid, "cur", |_| Ok(()))?;
    // The app's files are its content: tagged for it, as private as it is until it is open.
    let query = format!("cid-version=0&mid={mid}");
    let adder = super::ipfs_dir::AddDir {
        query: &query,
        hidden: false,
        replace: split
            .as_ref()
            .map(|(bytes, _)| (lever_json.as_path(), bytes.as_slice())),
    };
    let (root, _) = adder.dir(c, &top, &top, &name)?;
    c.call("MFSetCid", vec![sid.clone(), s(&mid), s(&root)])?;
    let ver = on_mimei(c, &sid, &mid, "MMBackup", vec![s("")])?;
    if first {
        c.call("MMSetRight", vec![sid.clone(), s(&mid), s("*"), s("read")])?;
    }
    Ok(Uploaded {
        mid,
        ver,
        env: split.map(|(_, env)| env),
    })
}

/// The Mimei ID `-a APP` names: an ID as it is; a name through this node's ID, refused when
/// that app has no version here (see the module doc).
fn resolve_app(c: &Client, sid: &Value, app: &str) -> Result<String, CliError> {
    if app.parse::<MimeiId>().is_ok() {
        return Ok(app.to_string());
    }
    let missing = || {
        CliError::Failed(format!(
            "no app named {app} on this node; upload it with `lapp uploadapp -i DIR`"
        ))
    };
    if crate::mimei::id::check_mark(app).is_err() || app.is_empty() {
        return Err(missing());
    }
    let host = c.call("GetVar", vec![sid.clone(), s("hostid")])?;
    let host = host
        .as_str()
        .and_then(|h| h.parse::<crate::pki::LeitherId>().ok())
        .ok_or_else(|| CliError::Http("GetVar hostid answered without a node ID".into()))?;
    let mid = crate::mimei::id::derive(&host, None, MimeiType::File, app, None)
        .map_err(|_| missing())?
        .to_string();
    match c.call("GetVar", vec![sid.clone(), s("mminfo"), s(&mid)]) {
        Ok(info) if int(info.get("last").unwrap_or(&Value::Null)) > 0 => Ok(mid),
        Ok(_) | Err(CliError::Api { status: 404, .. }) => Err(missing()),
        Err(e) => Err(e),
    }
}

impl Lapp {
    /// Runs a `lapp` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            Cmd::UploadApp(a) => {
                // Check the folder before signing in: a wrong folder is a usage matter.
                check_app_dir(&a.input, false)?;
                let mut c = Client::new(home, a.node.as_deref(), a.key.as_deref())?;
                c.progress = true;
                let up = upload(&mut c, &a.input, false)?;
                println!("UploadApp ok");
                println!("appid= {}", up.mid);
                println!("ver= {}", up.ver);
                if up.env.is_some() {
                    eprintln!(
                        "note: lever.json's env was not uploaded (whoever may read the app \
                         could read it); `leither lever deploy` hands it to the node, which \
                         keeps it as the service's own"
                    );
                }
            }
            Cmd::ShowApp(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let mid = resolve_app(&c, &sid, &a.app)?;
                let v = c.call("GetVar", vec![sid, s("mminfo"), s(&mid)])?;
                println!("appid= {mid}");
                super::mimei::show(&v);
            }
            Cmd::SetDomain(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let mid = resolve_app(&c, &sid, &a.app)?;
                super::mimei::set_domain(&c, sid, &mid, &a.domain, "tpt")?;
            }
            Cmd::Backup(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let mid = resolve_app(&c, &sid, &a.app)?;
                let ver = on_mimei(&c, &sid, &mid, "MMBackup", vec![s("")])?;
                println!("BackupApp ver= {ver}");
            }
            Cmd::Release(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let mid = resolve_app(&c, &sid, &a.app)?;
                let ver = on_mimei(&c, &sid, &mid, "MMRelease", vec![s(&a.ver)])?;
                println!("ReleaseApp ver= {ver}");
            }
            Cmd::Restore(a) => {
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let mid = resolve_app(&c, &sid, &a.app)?;
                let ver = on_mimei(&c, &sid, &mid, "MMRestore", vec![s(&a.ver)])?;
                println!("RestoreApp ver= {ver}");
            }
            Cmd::DelVers(a) => {
                if a.vers.is_empty() {
                    return Err(CliError::Usage(
                        "name the versions to delete: lapp delvers -a APP VER...".into(),
                    ));
                }
                let (c, sid) = connect(home, a.node.as_deref(), a.key.as_deref())?;
                let mid = resolve_app(&c, &sid, &a.app)?;
                let vers = a.vers.iter().map(|v| s(v)).collect();
                on_mimei(&c, &sid, &mid, "MMDelVers", vers)?;
                println!("DelAppVers ok {}", a.vers.join(" "));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_app_dir;

    fn folder(name: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("lapp-unit-{}-{}", std::process::id(), name.len()));
        let _ = std::fs::remove_dir_all(&d);
        let app = d.join(name);
        std::fs::create_dir_all(&app).unwrap();
        app
    }

    #[test]
    fn a_service_folder_needs_a_lever_json_object_and_a_leither_app_folder_does_not() {
        let app = folder("hello");
        let e = check_app_dir(&app, true).err().unwrap().to_string();
        assert!(e.contains("has no lever.json"), "{e}");
        // Leither's `lapp uploadapp` takes any folder.
        assert_eq!(check_app_dir(&app, false).unwrap().0, "hello");
        for need in [true, false] {
            std::fs::write(app.join("lever.json"), "[1]").unwrap();
            let e = check_app_dir(&app, need).err().unwrap().to_string();
            assert!(e.contains("not an object"), "{e}");
            std::fs::write(app.join("lever.json"), "{nope").unwrap();
            let e = check_app_dir(&app, need).err().unwrap().to_string();
            assert!(e.contains("is not JSON"), "{e}");
            std::fs::write(app.join("lever.json"), "{\"name\":\"hello\"}").unwrap();
            assert_eq!(check_app_dir(&app, need).unwrap().0, "hello");
        }
        let _ = std::fs::remove_dir_all(app.parent().unwrap());
    }
}
