//! The CLI's way to its node: a small blocking HTTP/1.1 client for `POST /api/<Function>`.
//!
//! The CLI is a short-lived process, so plain blocking sockets are the simplest correct
//! choice (no runtime). It signs in with a pass it makes from the node key (or `-k KEY`),
//! so every write from the CLI is authenticated like any other client's.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CliError;
use super::progress::{CountWrite, Progress};
use crate::api::{Value, json};
use crate::pki::{NodeKey, Pass};

/// Largest response the CLI accepts.
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// Bytes of an upload read and sent at a time (and between two progress updates): 1/32 of
/// the syscalls of std::io::copy's 8 KiB. sendfile(2) was tried (docs/performance.md, issue
/// 18): it spared the CLI's CPU but cost the node, the side that limits an add, more.
const UPLOAD_PIECE: usize = 256 * 1024;

/// The body of an upload.
enum Body<'a> {
    /// The rest of an open file.
    File(&'a mut std::fs::File),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

impl Body<'_> {
    /// Writes the body, `len` bytes (no more, should a file grow meanwhile), to `s`, counting
    /// it into `p`.
    fn send(self, s: &mut TcpStream, len: u64, p: &mut Progress) -> std::io::Result<()> {
        match self {
            Body::File(f) => {
                let mut buf = vec![0u8; UPLOAD_PIECE];
                let mut left = len;
                while left > 0 {
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = match f.read(&mut buf[..want]) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    s.write_all(&buf[..n])?;
                    p.add(n as u64);
                    left -= n as u64;
                }
                Ok(())
            }
            Body::Bytes(b) => {
                for piece in b.chunks(UPLOAD_PIECE) {
                    s.write_all(piece)?;
                    p.add(piece.len() as u64);
                }
                Ok(())
            }
        }
    }
}

/// A connection target: base URL and how to sign in.
pub struct Client {
    base: String,
    key_file: PathBuf,
    sid: Option<String>,
    /// Show transfer progress on standard error when it is a terminal (adds and gets).
    pub progress: bool,
}

impl Client {
    /// A client of `node` (a URL such as `http://host:4800` or `host:4800`), or of the node
    /// running on `home`; signing in with `key` (default: the home's `hostkey.cfg`).
    pub fn new(home: &Path, node: Option<&str>, key: Option<&Path>) -> Result<Client, CliError> {
        let base = match node {
            Some(n) if n.starts_with("http://") => n.trim_end_matches('/').to_string(),
            Some(n) if n.starts_with("https://") => {
                return Err(CliError::Usage(
                    "https:// nodes are not supported by the CLI yet; use http://HOST:PORT"
                        .to_string(),
                ));
            }
            Some(n) => format!("http://{}", n.trim_end_matches('/')),
            None => crate::node::local_url(home).ok_or_else(|| CliError::NoNode {
                home: home.to_path_buf(),
            })?,
        };
        let key_file = key
            .map(Path::to_path_buf)
            .unwrap_or_else(|| home.join(crate::home::KEY_FILE));
        Ok(Client {
            base,
            key_file,
            sid: None,
            progress: false,
        })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Calls `function` with `args` and returns its result.
    pub fn call(&self, function: &str, args: Vec<Value>) -> Result<Value, CliError> {
        let mut body = String::new();
        json::encode(&Value::List(args), &mut body);
        let (status, resp) = post(&self.base, &format!("/api/{function}"), body.as_bytes())?;
        let v = json::decode(&resp, &json::JsonLimits::default()).map_err(|e| {
            CliError::Http(format!(
                "{} answered {status} with a body that is not JSON: {e}",
                self.base
            ))
        })?;
        if status == 200 {
            return Ok(v);
        }
        let message = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_string();
        Err(CliError::Api { status, message })
    }

    /// Signs in: as a guest, or with a pass made from the key file (owner of the local node).
    pub fn login(&mut self, with_key: bool) -> Result<String, CliError> {
        if let Some(s) = &self.sid {
            return Ok(s.clone());
        }
        let args = if with_key {
            let key = NodeKey::load(&self.key_file).map_err(CliError::Pki)?;
            let now = crate::clock::unix_now();
            let pass = Pass::sign(&key, vec![("cli".to_string(), "1".to_string())], now, 300)
                .map_err(CliError::Pki)?;
            vec![Value::Str(pass.to_text())]
        } else {
            Vec::new()
        };
        let v = self.call("Login", args)?;
        let sid = v
            .get("sid")
            .and_then(Value::as_str)
            .ok_or_else(|| CliError::Http("Login answered without a sid".to_string()))?
            .to_string();
        self.sid = Some(sid.clone());
        Ok(sid)
    }
}

impl Client {
    /// Signs in with the key when it can be read (the owner's CLI reads the owner's private
    /// content, docs/security.md "Blocks by CID"), else as a guest; later GETs carry it.
    pub fn login_reader(&mut self) -> Result<String, CliError> {
        match self.login(true) {
            Ok(sid) => Ok(sid),
            Err(CliError::Pki(_)) => self.login(false),
            Err(e) => Err(e),
        }
    }

    /// `POST path` with a JSON `body` and this client's session (signed in with the key) as
    /// `Authorization: Bearer`; returns the status and body whatever the status (Lever's
    /// routes answer errors as JSON of their own).
    pub fn post_with_session(
        &mut self,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), CliError> {
        let sid = self.login(true)?;
        post_with(
            &self.base,
            path,
            &format!("Authorization: Bearer {sid}\r\n"),
            body,
        )
    }

    /// [`Client::post_with_session`] with a body of `content_type`; also returns the answer's
    /// content type (Lever answers bytes as `application/octet-stream`).
    pub fn post_typed(
        &mut self,
        path: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<(u16, String, Vec<u8>), CliError> {
        let sid = self.login(true)?;
        post_raw(
            &self.base,
            path,
            &format!("Authorization: Bearer {sid}\r\n"),
            content_type,
            body,
        )
    }

    /// Streams `file` to `POST path` (e.g. `/ipfs/add?...`) with this client's session and
    /// returns the JSON answer.
    pub fn post_file(&mut self, path: &str, file: &Path) -> Result<Value, CliError> {
        let mut f = std::fs::File::open(file).map_err(CliError::io(file))?;
        let len = f.metadata().map_err(CliError::io(file))?.len();
        let label = format!("adding {}", file.display());
        self.post_stream(path, Body::File(&mut f), len, &label)
    }

    /// `POST path` with `bytes` as the body (a file's bytes as they are to be stored), like
    /// [`Client::post_file`].
    pub fn post_bytes(&mut self, path: &str, bytes: &[u8], label: &str) -> Result<Value, CliError> {
        self.post_stream(path, Body::Bytes(bytes), bytes.len() as u64, label)
    }

    fn post_stream(
        &mut self,
        path: &str,
        body: Body<'_>,
        len: u64,
        label: &str,
    ) -> Result<Value, CliError> {
        let sid = self.login(true)?;
        let mut s = connect(&self.base)?;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sid}\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        );
        let io = |e: std::io::Error| CliError::Connect {
            url: self.base.clone(),
            error: e,
        };
        s.write_all(head.as_bytes()).map_err(io)?;
        let mut p = if self.progress {
            Progress::new(label, Some(len))
        } else {
            Progress::off()
        };
        body.send(&mut s, len, &mut p).map_err(io)?;
        p.finish();
        let mut resp = Vec::new();
        s.take(MAX_RESPONSE).read_to_end(&mut resp).map_err(io)?;
        let (status, _, body) = parse_typed(&resp)
            .ok_or_else(|| CliError::Http(format!("{} did not answer with HTTP", self.base)))?;
        let v = json::decode(&body, &json::JsonLimits::default())
            .map_err(|e| CliError::Http(format!("answer {status} is not JSON: {e}")))?;
        if status == 200 {
            return Ok(v);
        }
        let message = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        Err(CliError::Api {
            status,
            message: message.to_string(),
        })
    }

    /// `GET path` into the file `target`, written as `target.part` and renamed once complete
    /// and synced, so an interrupted download never leaves a file that looks whole.
    pub fn download(&self, path: &str, target: &Path) -> Result<u64, CliError> {
        let mut tmp = target.as_os_str().to_owned();
        tmp.push(".part");
        let tmp = std::path::PathBuf::from(tmp);
        let mut f = std::fs::File::create(&tmp).map_err(CliError::io(&tmp))?;
        let result = self.get_to(path, &mut f).and_then(|n| {
            f.sync_all().map_err(CliError::io(&tmp))?;
            std::fs::rename(&tmp, target).map_err(CliError::io(target))?;
            Ok(n)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// `GET path`, copying a 200 answer's body to `out`; returns the bytes copied.
    pub fn get_to(&self, path: &str, out: &mut dyn Write) -> Result<u64, CliError> {
        let mut s = connect(&self.base)?;
        let io = |e: std::io::Error| CliError::Connect {
            url: self.base.clone(),
            error: e,
        };
        let auth = match &self.sid {
            Some(sid) if !sid.is_empty() => format!("Authorization: Bearer {sid}\r\n"),
            _ => String::new(),
        };
        let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
        s.write_all(head.as_bytes()).map_err(io)?;
        let mut r = std::io::BufReader::new(s);
        let mut status_line = String::new();
        std::io::BufRead::read_line(&mut r, &mut status_line).map_err(io)?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| CliError::Http(format!("{} did not answer with HTTP", self.base)))?;
        let mut length: Option<u64> = None;
        loop {
            let mut line = String::new();
            let n = std::io::BufRead::read_line(&mut r, &mut line).map_err(io)?;
            if n == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().ok();
            }
        }
        if status != 200 {
            let mut body = Vec::new();
            r.take(64 * 1024).read_to_end(&mut body).map_err(io)?;
            let v = json::decode(&body, &json::JsonLimits::default()).unwrap_or(Value::Null);
            let message = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string();
            return Err(CliError::Api { status, message });
        }
        let mut p = if self.progress {
            Progress::new(&format!("getting {path}"), length)
        } else {
            Progress::off()
        };
        let mut counted = CountWrite {
            progress: &mut p,
            inner: out,
        };
        let copied =
            std::io::copy(&mut r.take(length.unwrap_or(u64::MAX)), &mut counted).map_err(io)?;
        p.finish();
        if let Some(want) = length
            && copied != want
        {
            return Err(CliError::Http(format!(
                "the node sent {copied} of {want} bytes: a block is missing or damaged, see its Leither.log"
            )));
        }
        Ok(copied)
    }
}

/// `HOST:PORT` of a base URL.
pub(super) fn host_port(base: &str) -> &str {
    let hostport = base.strip_prefix("http://").unwrap_or(base);
    hostport.split('/').next().unwrap_or(hostport)
}

/// A connection to the node at `base`, with the CLI's timeouts.
pub(super) fn connect(base: &str) -> Result<TcpStream, CliError> {
    let hostport = host_port(base);
    let err = |e: std::io::Error| CliError::Connect {
        url: base.to_string(),
        error: e,
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
        .map_err(err)?
        .next()
        .ok_or_else(|| {
            err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            ))
        })?;
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(err)?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(300)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(300)));
    Ok(s)
}

/// One `POST` to `base` + `path`; returns the status and body.
pub fn post(base: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), CliError> {
    post_with(base, path, "", body)
}

/// [`post`] with `extra` header lines (each ending in CRLF).
fn post_with(base: &str, path: &str, extra: &str, body: &[u8]) -> Result<(u16, Vec<u8>), CliError> {
    let (status, _, body) = post_raw(base, path, extra, "application/json", body)?;
    Ok((status, body))
}

/// One `POST` with a body of `content_type`: the status, the answer's content type and body.
fn post_raw(
    base: &str,
    path: &str,
    extra: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, String, Vec<u8>), CliError> {
    let hostport = host_port(base);
    let connect_err = |e: std::io::Error| CliError::Connect {
        url: base.to_string(),
        error: e,
    };
    let mut s = connect(base)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\n{extra}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(connect_err)?;
    let mut resp = Vec::new();
    s.take(MAX_RESPONSE)
        .read_to_end(&mut resp)
        .map_err(|e| CliError::Http(format!("reading the answer of {base}: {e}")))?;
    parse_typed(&resp).ok_or_else(|| {
        CliError::Http(format!(
            "{base} did not answer with HTTP; is it a leither node?"
        ))
    })
}

/// Splits a complete HTTP/1.1 response into status and body.
#[cfg(test)]
fn parse_response(resp: &[u8]) -> Option<(u16, Vec<u8>)> {
    parse_typed(resp).map(|(status, _, body)| (status, body))
}

/// Splits a complete HTTP/1.1 response into status, content type and body.
fn parse_typed(resp: &[u8]) -> Option<(u16, String, Vec<u8>)> {
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&resp[..end]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &resp[end + 4..];
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    let body = match length {
        Some(n) if n <= body.len() => &body[..n],
        _ => body,
    };
    Some((status, content_type, body.to_vec()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_responses() {
        let r = super::parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]xx").unwrap();
        assert_eq!(r, (200, b"[]".to_vec()));
        assert!(super::parse_response(b"garbage").is_none());
    }
}
