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
//! Lever's own CLI conventions are kept where they cost little (docs/lever.md, "Lever's client
//! contract"): the global `-E/--env` (`$LEVEROS_ENV`) and `-H/--host` (`$LEVEROS_IP_PORT`),
//! relative `/SERVICE/METHOD` URLs, `invoke --pretty`, `invoke URL --` reading one bytes
//! argument from standard input (bounded by the node's body limit), a bytes result written
//! as it is, and `stream --bytes`/`--pretty`.
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
use crate::http::MAX_API_BODY;

pub use super::lever_url::DEFAULT_ENV;
/// How often `logs -f` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Lever services: deploy an app, call its methods, watch and manage its services.
#[derive(FromArgs)]
#[argh(subcommand, name = "lever")]
pub struct Lever {
    /// the environment to act on (Lever's -E; default $LEVEROS_ENV, else dev.lever); a
    /// command's own --env wins
    #[argh(option, short = 'E')]
    env: Option<String>,
    /// the node to talk to, HOST:PORT or http://HOST:PORT (Lever's -H; default
    /// $LEVEROS_IP_PORT, else the node on this home); a command's own -n wins
    #[argh(option, short = 'H')]
    host: Option<String>,
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
    /// the environment (default: -E)
    #[argh(option)]
    env: Option<String>,
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
    /// lever://ENV/SERVICE[/RESOURCE]/METHOD or /SERVICE[/RESOURCE]/METHOD
    #[argh(positional)]
    url: String,
    /// the arguments, each one JSON value (quote strings: '"world"'); options go before URL;
    /// `--` alone sends standard input as one bytes argument (Lever's form)
    #[argh(positional, greedy)]
    args: Vec<String>,
    /// print the JSON result indented (no effect on a bytes result)
    #[argh(switch)]
    pretty: bool,
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
    /// lever://ENV/SERVICE[/RESOURCE]/METHOD or /SERVICE[/RESOURCE]/METHOD
    #[argh(positional)]
    url: String,
    /// the arguments, each one JSON value (quote strings: '"world"'); options go before URL
    #[argh(positional, greedy)]
    args: Vec<String>,
    /// send standard input as chunks of bytes rather than JSON lines
    #[argh(switch)]
    bytes: bool,
    /// print each JSON message indented (no effect on bytes)
    #[argh(switch)]
    pretty: bool,
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
    /// the environment (default: -E)
    #[argh(option)]
    env: Option<String>,
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
    /// the environment (default: -E)
    #[argh(option)]
    env: Option<String>,
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
    /// the environment (default: -E)
    #[argh(option)]
    env: Option<String>,
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

/// The value of environment variable `name` when it is set and not empty.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether the raw command line put Lever's `--` (bytes from standard input) right after the
/// URL of `invoke`: argh takes `--` as the end of options, so the parsed arguments lose it.
fn dashes_after(url: &str) -> bool {
    let raw: Vec<String> = std::env::args().collect();
    let Some(i) = raw.iter().position(|a| a == "invoke") else {
        return false;
    };
    raw[i + 1..].windows(2).any(|w| w[0] == url && w[1] == "--")
}

/// Reads standard input whole, refusing more than `limit` bytes.
fn stdin_bytes(limit: usize) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin().lock(), limit as u64 + 1),
        &mut buf,
    )
    .map_err(|e| CliError::Failed(format!("reading standard input: {e}")))?;
    if buf.len() > limit {
        return Err(CliError::Failed(format!(
            "standard input holds more than {limit} bytes, the most one call's body may carry \
             (the node's MAX_API_BODY); send more with `lever stream --bytes`"
        )));
    }
    Ok(buf)
}

/// A JSON value as `invoke` and `stream` print it: one line, or indented with `--pretty`.
pub fn render(v: &Value, pretty: bool) -> String {
    let mut out = String::new();
    if pretty {
        json::encode_pretty(v, &mut out);
    } else {
        json::encode(v, &mut out);
    }
    out
}

impl Lever {
    /// The environment a command acts on: its own `--env`, else `-E`, else `$LEVEROS_ENV`,
    /// else dev.lever.
    fn env(&self, own: Option<&str>) -> String {
        own.map(str::to_string)
            .or_else(|| self.env.clone())
            .or_else(|| env_var("LEVEROS_ENV"))
            .unwrap_or_else(|| DEFAULT_ENV.to_string())
    }

    /// The node a command talks to: its own `-n`, else `-H`, else `$LEVEROS_IP_PORT`, else
    /// the node on the home (`None`).
    fn node(&self, own: Option<&str>) -> Option<String> {
        own.map(str::to_string)
            .or_else(|| self.host.clone())
            .or_else(|| env_var("LEVEROS_IP_PORT"))
    }

    /// Runs a `lever` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match &self.cmd {
            Cmd::Deploy(a) => {
                let env = self.env(a.env.as_deref());
                let node = self.node(a.node.as_deref());
                super::lapp::check_app_dir(&a.dir, true)?;
                let (mut c, sid) = signed_in(home, node.as_deref(), a.key.as_deref())?;
                c.progress = true;
                let up = upload(&mut c, &a.dir, true)?;
                let mut args = vec![sid, s(&env), s(&up.mid), Value::Int(up.ver)];
                // lever.json's env, kept out of the app: the node keeps it for the service.
                // Without one, a redeploy keeps what the service has.
                if let Some(vars) = up.env {
                    if let Value::Map(m) = &vars {
                        let names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
                        println!(
                            "env {} not uploaded: handed to the node for the service",
                            names.join(", ")
                        );
                    }
                    args.push(vars);
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
                let url = LeverUrl::parse(&a.url, &self.env(None))?;
                let node = self.node(a.node.as_deref());
                // Lever's `invoke URL --`: standard input is the one argument, as bytes.
                let (body, content_type) =
                    if a.args == ["--"] || (a.args.is_empty() && dashes_after(&a.url)) {
                        (stdin_bytes(MAX_API_BODY)?, "application/octet-stream")
                    } else {
                        (json_args(&a.args)?.into_bytes(), "application/json")
                    };
                let mut c = Client::new(home, node.as_deref(), a.key.as_deref())?;
                let (status, ctype, resp) =
                    c.post_typed(&url.invoke_target(), &body, content_type)?;
                if status == 200 && ctype.starts_with("application/octet-stream") {
                    // A bytes result goes out as it is, as Lever's CLI writes it.
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    out.write_all(&resp)
                        .and_then(|()| out.flush())
                        .map_err(|e| CliError::Failed(format!("writing standard output: {e}")))?;
                    return Ok(());
                }
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
                println!("{}", render(&v, a.pretty));
            }
            Cmd::Stream(a) => {
                let url = LeverUrl::parse(&a.url, &self.env(None))?;
                let node = self.node(a.node.as_deref());
                let args = json_args(&a.args)?;
                let mut c = Client::new(home, node.as_deref(), a.key.as_deref())?;
                let sid = c.login(true)?;
                let how = super::lever_stream::How {
                    bytes: a.bytes,
                    pretty: a.pretty,
                };
                super::lever_stream::stream(&c, &url.stream_target(&args), &sid, how)?;
            }
            Cmd::Ls(a) => {
                let node = self.node(a.node.as_deref());
                // All environments unless one is named (--env, -E or $LEVEROS_ENV).
                let env = a
                    .env
                    .clone()
                    .or_else(|| self.env.clone())
                    .or_else(|| env_var("LEVEROS_ENV"));
                let (c, sid) = signed_in(home, node.as_deref(), a.key.as_deref())?;
                let v = c.call("LeverLs", vec![sid, s(env.as_deref().unwrap_or(""))])?;
                let Value::List(services) = v else {
                    return Err(CliError::Http("LeverLs answered without a list".into()));
                };
                if services.is_empty() {
                    match &env {
                        Some(e) => eprintln!("no services in {e}; deploy one with `lever deploy`"),
                        None => eprintln!("no services; deploy one with `lever deploy`"),
                    }
                }
                print!("{}", ls_table(&services));
            }
            Cmd::Logs(a) => {
                let env = self.env(a.env.as_deref());
                let node = self.node(a.node.as_deref());
                let (c, sid) = signed_in(home, node.as_deref(), a.key.as_deref())?;
                let mut since = 0i64;
                loop {
                    let v = c.call(
                        "LeverLogs",
                        vec![sid.clone(), s(&env), s(&a.service), Value::Int(since)],
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
                let env = self.env(a.env.as_deref());
                let node = self.node(a.node.as_deref());
                let (c, sid) = signed_in(home, node.as_deref(), a.key.as_deref())?;
                let ver = a.version.unwrap_or(0).min(i64::MAX as u64) as i64;
                let v = c.call(
                    "LeverRollback",
                    vec![sid, s(&env), s(&a.service), Value::Int(ver)],
                )?;
                println!(
                    "Rolled back {} to version {}",
                    a.service,
                    text(v.get("version"))
                );
            }
            Cmd::Rm(a) => {
                let env = self.env(a.env.as_deref());
                let node = self.node(a.node.as_deref());
                let (c, sid) = signed_in(home, node.as_deref(), a.key.as_deref())?;
                c.call("LeverRm", vec![sid, s(&env), s(&a.service)])?;
                println!("Removed {} from {}", a.service, env);
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
