//! `lever`: Lua apps as Lever services, from the command line.
//!
//! `deploy` uploads an app folder exactly as `lapp uploadapp` does (it calls [`upload`]) and
//! asks the node to run that version as a service (`LeverDeploy`), handing it `lever.json`'s
//! `env` apart, since the upload leaves it out of the app. `invoke` and `stream` speak
//! Lever's own HTTP contract, so what works here works from any Lever client: `POST
//! /<service>[/<resource>]/<method>?forceenv=<env>` with a JSON array of arguments, and the
//! same path as a WebSocket (`GET`, arguments in `?args=`) for streaming methods. `ls`,
//! `logs`, `rollback` and `rm` are API functions (`LeverLs`, `LeverLogs`, `LeverRollback`,
//! `LeverRm`). Every command signs in with the key (`-k`, default the home's node key) and may
//! act on another node (`-n URL`).
//!
//! URLs and arguments are read in `lever_url`; the streaming session is `lever_stream`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use super::lapp::upload;
use super::lever_url::{LeverUrl, json_args};
use crate::api::{Value, json};

pub use super::lever_url::DEFAULT_ENV;
/// How often `logs -f` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Lever services: deploy an app, call its methods, watch and manage its services.
#[derive(FromArgs)]
#[argh(subcommand, name = "lever")]
pub struct Lever {
    #[argh(subcommand)]
    cmd: Cmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Cmd {
    Deploy(Deploy),
    Invoke(Invoke),
    Stream(Stream),
    Ls(Ls),
    Logs(Logs),
    Rollback(Rollback),
    Rm(Rm),
}

/// Upload an app folder (as lapp uploadapp) and deploy that version as a service.
#[derive(FromArgs)]
#[argh(subcommand, name = "deploy")]
struct Deploy {
    /// the app's folder (default: this directory)
    #[argh(positional, default = "PathBuf::from(\".\")")]
    dir: PathBuf,
    /// the environment (default dev.lever)
    #[argh(option, default = "DEFAULT_ENV.to_string()")]
    env: String,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with (default: the home's hostkey.cfg)
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Call a method: lever invoke lever://dev.lever/hello/sayHello '"world"'
#[derive(FromArgs)]
#[argh(subcommand, name = "invoke")]
struct Invoke {
    /// lever://ENV/SERVICE[/RESOURCE]/METHOD
    #[argh(positional)]
    url: String,
    /// the arguments, each one JSON value (quote strings: '"world"'); options go before URL
    #[argh(positional, greedy)]
    args: Vec<String>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Stream with a method: each stdin line goes as one message, each answer prints on a line.
#[derive(FromArgs)]
#[argh(subcommand, name = "stream")]
struct Stream {
    /// lever://ENV/SERVICE[/RESOURCE]/METHOD
    #[argh(positional)]
    url: String,
    /// the arguments, each one JSON value (quote strings: '"world"'); options go before URL
    #[argh(positional, greedy)]
    args: Vec<String>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// List the services and their load.
#[derive(FromArgs)]
#[argh(subcommand, name = "ls")]
struct Ls {
    /// only this environment (default: all)
    #[argh(option)]
    env: Option<String>,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Show a service's log lines; -f keeps following them.
#[derive(FromArgs)]
#[argh(subcommand, name = "logs")]
struct Logs {
    /// the service
    #[argh(positional)]
    service: String,
    /// the environment (default dev.lever)
    #[argh(option, default = "DEFAULT_ENV.to_string()")]
    env: String,
    /// keep printing new lines until Ctrl-C
    #[argh(switch, short = 'f')]
    follow: bool,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Run an earlier version of a service (default: the one before the current).
#[derive(FromArgs)]
#[argh(subcommand, name = "rollback")]
struct Rollback {
    /// the service
    #[argh(positional)]
    service: String,
    /// the app version to run
    #[argh(positional)]
    version: Option<u64>,
    /// the environment (default dev.lever)
    #[argh(option, default = "DEFAULT_ENV.to_string()")]
    env: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

/// Stop a service and remove it from its environment.
#[derive(FromArgs)]
#[argh(subcommand, name = "rm")]
struct Rm {
    /// the service
    #[argh(positional)]
    service: String,
    /// the environment (default dev.lever)
    #[argh(option, default = "DEFAULT_ENV.to_string()")]
    env: String,
    /// another node, by URL
    #[argh(option, short = 'n')]
    node: Option<String>,
    /// key file to sign in with
    #[argh(option, short = 'k')]
    key: Option<PathBuf>,
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Str(t)) => t.clone(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Float(f)) => format!("{f}"),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// `lever ls`'s table: a header and one line per service, columns padded to their widest.
pub fn ls_table(services: &[Value]) -> String {
    const COLS: [(&str, &str); 7] = [
        ("ENV", "env"),
        ("SERVICE", "name"),
        ("VERSION", "version"),
        ("INSTANCES", "instances"),
        ("CALLS", "calls"),
        ("ERRORS", "errors"),
        ("APP", "mid"),
    ];
    let mut rows: Vec<Vec<String>> = vec![COLS.iter().map(|(h, _)| h.to_string()).collect()];
    for svc in services {
        rows.push(COLS.iter().map(|(_, k)| text(svc.get(k))).collect());
    }
    let widths: Vec<usize> = (0..COLS.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A client of the node, signed in with the key.
fn signed_in(
    home: &Path,
    node: Option<&str>,
    key: Option<&Path>,
) -> Result<(Client, Value), CliError> {
    let mut c = Client::new(home, node, key)?;
    let sid = Value::Str(c.login(true)?);
    Ok((c, sid))
}

impl Lever {
    /// Runs a `lever` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            Cmd::Deploy(a) => {
                super::lapp::check_app_dir(&a.dir, true)?;
                let (mut c, sid) = signed_in(home, a.node.as_deref(), a.key.as_deref())?;
                c.progress = true;
                let up = upload(&mut c, &a.dir, true)?;
                let mut args = vec![sid, s(&a.env), s(&up.mid), Value::Int(up.ver)];
                // lever.json's env, kept out of the app: the node keeps it for the service.
                // Without one, a redeploy keeps what the service has.
                if let Some(env) = up.env {
                    if let Value::Map(vars) = &env {
                        let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
                        println!(
                            "env {} not uploaded: handed to the node for the service",
                            names.join(", ")
                        );
                    }
                    args.push(env);
                }
                let v = c.call("LeverDeploy", args)?;
                println!(
                    "Deployed {} to {}: version {} (app {})",
                    text(v.get("name")),
                    text(v.get("env")),
                    text(v.get("version")),
                    text(v.get("mid")),
                );
                // Limits the node lowered to its caps (LuaMaxTimeoutMs and friends).
                if let Some(Value::List(ws)) = v.get("warnings") {
                    for w in ws {
                        println!("warning: {}", text(Some(w)));
                    }
                }
            }
            Cmd::Invoke(a) => {
                let url = LeverUrl::parse(&a.url)?;
                let body = json_args(&a.args)?;
                let mut c = Client::new(home, a.node.as_deref(), a.key.as_deref())?;
                let (status, resp) = c.post_with_session(&url.invoke_target(), body.as_bytes())?;
                let v = json::decode(&resp, &json::JsonLimits::default());
                if status != 200 {
                    let message = match &v {
                        Ok(v) => v.get("error").and_then(Value::as_str).map(str::to_string),
                        Err(_) => None,
                    }
                    .unwrap_or_else(|| {
                        let t = String::from_utf8_lossy(&resp);
                        let line = t.lines().next().unwrap_or("").trim();
                        if line.is_empty() {
                            "the call failed with no message".to_string()
                        } else {
                            crate::api::truncate(line, 200)
                        }
                    });
                    return Err(CliError::Api { status, message });
                }
                // A method that returns nothing may answer with an empty body.
                let v = if resp.iter().all(u8::is_ascii_whitespace) {
                    Ok(Value::Null)
                } else {
                    v
                };
                let v = v.map_err(|e| {
                    CliError::Http(format!(
                        "{} answered 200 with a result that is not JSON: {e}",
                        c.base()
                    ))
                })?;
                let mut out = String::new();
                json::encode_pretty(&v, &mut out);
                println!("{out}");
            }
            Cmd::Stream(a) => {
                let url = LeverUrl::parse(&a.url)?;
                let args = json_args(&a.args)?;
                let mut c = Client::new(home, a.node.as_deref(), a.key.as_deref())?;
                let sid = c.login(true)?;
                super::lever_stream::stream(&c, &url.stream_target(&args), &sid)?;
            }
            Cmd::Ls(a) => {
                let (c, sid) = signed_in(home, a.node.as_deref(), a.key.as_deref())?;
                let env = a.env.as_deref().unwrap_or("");
                let v = c.call("LeverLs", vec![sid, s(env)])?;
                let Value::List(services) = v else {
                    return Err(CliError::Http("LeverLs answered without a list".into()));
                };
                if services.is_empty() {
                    match &a.env {
                        Some(e) => eprintln!("no services in {e}; deploy one with `lever deploy`"),
                        None => eprintln!("no services; deploy one with `lever deploy`"),
                    }
                }
                print!("{}", ls_table(&services));
            }
            Cmd::Logs(a) => {
                let (c, sid) = signed_in(home, a.node.as_deref(), a.key.as_deref())?;
                let mut since = 0i64;
                loop {
                    let v = c.call(
                        "LeverLogs",
                        vec![sid.clone(), s(&a.env), s(&a.service), Value::Int(since)],
                    )?;
                    if let Some(Value::List(lines)) = v.get("lines") {
                        for l in lines {
                            println!("{}", text(Some(l)));
                        }
                    }
                    since = v.get("next").and_then(Value::as_i64).unwrap_or(since);
                    if !a.follow {
                        break;
                    }
                    std::thread::sleep(FOLLOW_EVERY);
                }
            }
            Cmd::Rollback(a) => {
                let (c, sid) = signed_in(home, a.node.as_deref(), a.key.as_deref())?;
                let ver = a.version.unwrap_or(0).min(i64::MAX as u64) as i64;
                let v = c.call(
                    "LeverRollback",
                    vec![sid, s(&a.env), s(&a.service), Value::Int(ver)],
                )?;
                println!(
                    "Rolled back {} to version {}",
                    a.service,
                    text(v.get("version"))
                );
            }
            Cmd::Rm(a) => {
                let (c, sid) = signed_in(home, a.node.as_deref(), a.key.as_deref())?;
                c.call("LeverRm", vec![sid, s(&a.env), s(&a.service)])?;
                println!("Removed {} from {}", a.service, a.env);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_columns_line_up() {
        let svc = |env: &str, name: &str, ver: i64, calls: i64| {
            Value::map([
                ("env", s(env)),
                ("name", s(name)),
                ("mid", s("AppMid")),
                ("version", Value::Int(ver)),
                ("instances", Value::Int(1)),
                ("calls", Value::Int(calls)),
                ("errors", Value::Int(0)),
            ])
        };
        let t = ls_table(&[
            svc("dev.lever", "hello", 2, 12345),
            svc("x.y", "a-longer-name", 10, 1),
        ]);
        assert_eq!(
            t,
            "ENV        SERVICE        VERSION  INSTANCES  CALLS  ERRORS  APP\n\
             dev.lever  hello          2        1          12345  0       AppMid\n\
             x.y        a-longer-name  10       1          1      0       AppMid\n"
        );
        assert_eq!(
            ls_table(&[]),
            "ENV  SERVICE  VERSION  INSTANCES  CALLS  ERRORS  APP\n"
        );
    }
}
