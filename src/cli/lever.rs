//! `lever`: Lua apps as Lever services, from the command line.
//!
//! `deploy` uploads an app folder exactly as `lapp uploadapp` does (it calls [`upload`]) and
//! asks the node to run that version as a service (`LeverDeploy`). `invoke` and `stream` speak
//! Lever's own HTTP contract, so what works here works from any Lever client: `POST
//! /<service>[/<resource>]/<method>?forceenv=<env>` with a JSON array of arguments, and the
//! same path as a WebSocket (`GET`, arguments in `?args=`) for streaming methods. `ls`,
//! `logs`, `rollback` and `rm` are API functions (`LeverLs`, `LeverLogs`, `LeverRollback`,
//! `LeverRm`). Every command signs in with the key (`-k`, default the home's node key) and may
//! act on another node (`-n URL`).
//!
//! URLs are Lever's: `lever://ENV/SERVICE[/RESOURCE]/METHOD`, where ENV holds a dot
//! (`dev.lever`); when the first segment has no dot it is the service and the environment is
//! [`DEFAULT_ENV`].

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use super::lapp::upload;
use super::ws_client::{Message, WsStream, op};
use crate::api::{Value, json};

/// The environment when none is named.
pub const DEFAULT_ENV: &str = "dev.lever";
/// How often `logs -f` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);
/// How long `stream` waits on the socket before it looks at its input again.
const STREAM_POLL: Duration = Duration::from_millis(200);
/// How long `stream` waits for the node once the input has ended and nothing comes.
const STREAM_IDLE_AFTER_EOF: Duration = Duration::from_secs(300);

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
    /// the arguments, each one JSON value (quote strings: '"world"')
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
    /// the arguments, each one JSON value (quote strings: '"world"')
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

/// A parsed `lever://` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct LeverUrl {
    /// The environment (`dev.lever` when the URL names none).
    pub env: String,
    /// The service.
    pub service: String,
    /// The resource, for sticky routing.
    pub resource: Option<String>,
    /// The method.
    pub method: String,
}

impl LeverUrl {
    /// Parses `lever://ENV/SERVICE[/RESOURCE]/METHOD` (see the module doc).
    pub fn parse(url: &str) -> Result<LeverUrl, CliError> {
        let usage = |why: &str| {
            CliError::Usage(format!(
                "{why} in \"{}\": write lever://ENV/SERVICE[/RESOURCE]/METHOD, e.g. \
                 lever://dev.lever/hello/sayHello",
                crate::api::truncate(url, 200)
            ))
        };
        let rest = url
            .strip_prefix("lever://")
            .ok_or_else(|| usage("no lever:// scheme"))?;
        let mut segs: Vec<&str> = rest.split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return Err(usage("an empty segment"));
        }
        let env = if segs.first().is_some_and(|s| s.contains('.')) {
            segs.remove(0).to_string()
        } else {
            DEFAULT_ENV.to_string()
        };
        let (service, resource, method) = match segs[..] {
            [s, m] => (s, None, m),
            [s, r, m] => (s, Some(r.to_string()), m),
            [] | [_] => return Err(usage("no method")),
            _ => return Err(usage("too many segments")),
        };
        Ok(LeverUrl {
            env,
            service: service.to_string(),
            resource,
            method: method.to_string(),
        })
    }

    /// The HTTP path of a call, without the query: `/SERVICE[/RESOURCE]/METHOD`, each segment
    /// percent-encoded.
    pub fn path(&self) -> String {
        let enc = crate::http::gateway::percent_encode;
        let mut p = format!("/{}", enc(&self.service));
        if let Some(r) = &self.resource {
            p.push('/');
            p.push_str(&enc(r));
        }
        p.push('/');
        p.push_str(&enc(&self.method));
        p
    }

    /// The path and query of an `invoke`: `/SERVICE[/RESOURCE]/METHOD?forceenv=ENV`.
    pub fn invoke_target(&self) -> String {
        format!(
            "{}?forceenv={}",
            self.path(),
            crate::http::gateway::percent_encode(&self.env)
        )
    }

    /// The path and query of a `stream`: the invoke target and `&args=` (the JSON array).
    pub fn stream_target(&self, args: &str) -> String {
        format!(
            "{}&args={}",
            self.invoke_target(),
            crate::http::gateway::percent_encode(args)
        )
    }
}

/// The JSON arguments of `invoke` and `stream`, as one JSON array.
pub fn json_args(args: &[String]) -> Result<String, CliError> {
    let mut values = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let v = json::decode(a.as_bytes(), &json::JsonLimits::default()).map_err(|e| {
            CliError::Usage(format!(
                "argument {} ({}) is not JSON ({e}); each argument is one JSON value, so \
                 quote strings as JSON, e.g. '\"world\"'",
                i + 1,
                crate::api::truncate(a, 60)
            ))
        })?;
        values.push(v);
    }
    let mut out = String::new();
    json::encode(&Value::List(values), &mut out);
    Ok(out)
}

/// The text message for one line of `stream`'s input: the line when it is JSON, else the line
/// as a JSON string.
pub fn line_message(line: &str) -> String {
    if json::decode(line.as_bytes(), &json::JsonLimits::default()).is_ok() {
        return line.to_string();
    }
    let mut out = String::new();
    json::encode(&Value::Str(line.to_string()), &mut out);
    out
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
                super::lapp::check_app_dir(&a.dir)?;
                let (mut c, sid) = signed_in(home, a.node.as_deref(), a.key.as_deref())?;
                c.progress = true;
                let up = upload(&mut c, &a.dir)?;
                let v = c.call(
                    "LeverDeploy",
                    vec![sid, s(&a.env), s(&up.mid), Value::Int(up.ver)],
                )?;
                println!(
                    "Deployed {} to {}: version {} (app {})",
                    text(v.get("name")),
                    text(v.get("env")),
                    text(v.get("version")),
                    text(v.get("mid")),
                );
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
                stream(&c, &url.stream_target(&args), &sid)?;
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

/// How standard input ended.
enum Input {
    /// End of input; the end marker was sent.
    Done,
    /// Reading or sending failed.
    Failed(CliError),
}

/// `lever stream`: opens the WebSocket at `target`, sends standard input from a thread (one
/// text message per line, then an empty binary frame as the end of input) and prints each
/// text message of the node on its own line until the node's Close.
fn stream(c: &Client, target: &str, sid: &str) -> Result<(), CliError> {
    let socket = super::client::connect(c.base())?;
    let host = super::client::host_port(c.base()).to_string();
    let mut ws = WsStream::open(
        socket,
        &host,
        target,
        &[format!("Authorization: Bearer {sid}")],
        STREAM_POLL,
    )?;
    let (done_tx, done_rx) = mpsc::channel();
    let w = ws.writer();
    std::thread::spawn(move || {
        let _ = done_tx.send(send_input(&w));
    });
    let w = ws.writer();
    let mut input_ended: Option<Instant> = None;
    let mut last_heard = Instant::now();
    loop {
        match done_rx.try_recv() {
            Ok(Input::Done) => input_ended = Some(Instant::now()),
            Ok(Input::Failed(e)) => {
                let _ = w.close(1000);
                return Err(e);
            }
            Err(_) => {}
        }
        let m = match ws.poll_message()? {
            None => {
                if input_ended.is_some() && last_heard.elapsed() > STREAM_IDLE_AFTER_EOF {
                    let _ = w.close(1000);
                    return Err(CliError::Failed(format!(
                        "the node sent nothing for {} s after the input ended; giving up",
                        STREAM_IDLE_AFTER_EOF.as_secs()
                    )));
                }
                continue;
            }
            Some(m) => m,
        };
        last_heard = Instant::now();
        match m {
            Message::Text(t) => println!("{t}"),
            Message::Binary(b) if b.is_empty() => {}
            Message::Binary(b) => eprintln!("(the node sent {} bytes of binary data)", b.len()),
            Message::Ping(p) => w.send(op::PONG, &p)?,
            Message::Pong => {}
            Message::Close(code, reason) => {
                let _ = w.close(code.unwrap_or(1000));
                return match code {
                    None | Some(1000) => Ok(()),
                    Some(code) if reason.is_empty() => Err(CliError::Failed(format!(
                        "the node ended the stream with code {code}"
                    ))),
                    Some(code) => Err(CliError::Failed(format!(
                        "the node ended the stream: {reason} (code {code})"
                    ))),
                };
            }
        }
    }
}

/// Sends each line of standard input as a text message, then the end marker (an empty binary
/// frame). Lines are bounded by the message limit.
fn send_input(w: &super::ws_client::WsWriter) -> Input {
    let limit = super::ws_client::MAX_MESSAGE;
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let mut n = 0u64;
    loop {
        let mut buf = Vec::new();
        let read = std::io::Read::take(&mut lock, limit as u64 + 2).read_until(b'\n', &mut buf);
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                return Input::Failed(CliError::Failed(format!("reading standard input: {e}")));
            }
        }
        n += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        if buf.len() > limit {
            return Input::Failed(CliError::Failed(format!(
                "input line {n} is longer than {limit} bytes, the limit of one message"
            )));
        }
        let line = String::from_utf8_lossy(&buf);
        if let Err(e) = w.send(op::TEXT, line_message(&line).as_bytes()) {
            return Input::Failed(e.into());
        }
    }
    match w.send(op::BINARY, b"") {
        Ok(()) => Input::Done,
        Err(e) => Input::Failed(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> LeverUrl {
        LeverUrl::parse(u).unwrap()
    }

    #[test]
    fn urls() {
        let u = url("lever://dev.lever/hello/sayHello");
        assert_eq!(
            u,
            LeverUrl {
                env: "dev.lever".into(),
                service: "hello".into(),
                resource: None,
                method: "sayHello".into()
            }
        );
        assert_eq!(u.invoke_target(), "/hello/sayHello?forceenv=dev.lever");
        let u = url("lever://prod.example.com/chat/room%201/send");
        assert_eq!(u.env, "prod.example.com");
        assert_eq!(u.resource.as_deref(), Some("room%201"));
        assert_eq!(u.path(), "/chat/room%25201/send");
        // No dot in the first segment: it is the service, in dev.lever.
        let u = url("lever://hello/sayHello");
        assert_eq!((u.env.as_str(), u.service.as_str()), ("dev.lever", "hello"));
        let u = url("lever://hello/res/m");
        assert_eq!(u.resource.as_deref(), Some("res"));
        assert_eq!(
            u.stream_target("[\"a b\",1]"),
            "/hello/res/m?forceenv=dev.lever&args=%5B%22a%20b%22%2C1%5D"
        );
        for bad in [
            "http://x/y",
            "lever://",
            "lever://dev.lever/hello",
            "lever://hello",
            "lever://dev.lever//m",
            "lever://a/b/c/d",
            "lever://dev.lever/a/b/c/d",
            "lever://hello/m/",
        ] {
            let e = LeverUrl::parse(bad).unwrap_err();
            assert!(matches!(e, CliError::Usage(_)), "{bad}");
            assert!(e.to_string().contains("lever://ENV/SERVICE"), "{bad}: {e}");
        }
    }

    #[test]
    fn arguments_are_json() {
        let a = |v: &[&str]| json_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(a(&[]).unwrap(), "[]");
        assert_eq!(
            a(&["\"world\"", "3", "{\"k\":[true,null]}"]).unwrap(),
            "[\"world\",3,{\"k\":[true,null]}]"
        );
        let e = a(&["1", "world"]).unwrap_err();
        assert!(matches!(e, CliError::Usage(_)));
        let e = e.to_string();
        assert!(
            e.contains("argument 2 (world)") && e.contains("'\"world\"'"),
            "{e}"
        );
        assert_eq!(line_message("{\"a\":1}"), "{\"a\":1}");
        assert_eq!(line_message("hello \"you\""), "\"hello \\\"you\\\"\"");
        assert_eq!(line_message(""), "\"\"");
    }

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
