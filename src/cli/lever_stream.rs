//! `lever stream`: a Lever streaming call over a WebSocket, driven from the terminal.
//!
//! Standard input is read by a thread of its own (the CLI is synchronous): each line goes as
//! one text message (the line when it is JSON, else the line as a JSON string), or with
//! `--bytes` each chunk read (up to [`BYTES_CHUNK`]) as one binary message; the end of input
//! goes as an empty binary message, Lever's end-of-input marker. The main thread prints each
//! text message of the node on its own line (indented with `--pretty`), writes each binary
//! message's bytes as they are, answers pings, and ends at the node's Close: exit
//! 0 for a normal close (1000 or none), 1 with the code and reason otherwise. The socket is
//! polled every [`STREAM_POLL`]; once the input has ended, [`STREAM_IDLE_AFTER_EOF`] of
//! silence from the node ends the command, while the input is open the user decides.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::CliError;
use super::client::Client;
use super::lever_url::line_message;
use super::ws_client::{MAX_MESSAGE, Message, WsStream, WsWriter, op};

/// How long `stream` waits on the socket before it looks at its input again.
const STREAM_POLL: Duration = Duration::from_millis(200);
/// How long `stream` waits for the node once the input has ended and nothing comes.
const STREAM_IDLE_AFTER_EOF: Duration = Duration::from_secs(300);

/// The largest chunk `--bytes` sends as one message (Lever's CLI reads 32 KiB at a time).
pub const BYTES_CHUNK: usize = 32 * 1024;

/// How `stream` reads its input and prints its output.
#[derive(Clone, Copy, Default)]
pub struct How {
    /// Standard input as chunks of bytes, not JSON lines.
    pub bytes: bool,
    /// Text messages printed indented.
    pub pretty: bool,
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
pub(super) fn stream(c: &Client, target: &str, sid: &str, how: How) -> Result<(), CliError> {
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
        let _ = done_tx.send(if how.bytes {
            send_bytes(&w)
        } else {
            send_input(&w)
        });
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
            Message::Text(t) if how.pretty => {
                match crate::api::json::decode(t.as_bytes(), &Default::default()) {
                    Ok(v) => println!("{}", super::lever::render(&v, true)),
                    Err(_) => println!("{t}"),
                }
            }
            Message::Text(t) => println!("{t}"),
            Message::Binary(b) if b.is_empty() => {}
            Message::Binary(b) => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(&b)
                    .and_then(|()| out.flush())
                    .map_err(|e| CliError::Failed(format!("writing standard output: {e}")))?;
            }
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

/// Sends standard input in chunks of at most [`BYTES_CHUNK`], each as one binary message,
/// then the end marker. A chunk is never empty, so it is never read as the end.
fn send_bytes(w: &WsWriter) -> Input {
    let mut chunk = vec![0u8; BYTES_CHUNK];
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    loop {
        let n = match std::io::Read::read(&mut lock, &mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Input::Failed(CliError::Failed(format!("reading standard input: {e}")));
            }
        };
        if let Err(e) = w.send(op::BINARY, &chunk[..n]) {
            return Input::Failed(e.into());
        }
    }
    match w.send(op::BINARY, b"") {
        Ok(()) => Input::Done,
        Err(e) => Input::Failed(e.into()),
    }
}

/// Sends each line of standard input as a text message, then the end marker (an empty binary
/// frame). Lines are bounded by the message limit.
fn send_input(w: &WsWriter) -> Input {
    let limit = MAX_MESSAGE;
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
