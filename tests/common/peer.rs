//! A peer program run by a test (helia, js-libp2p, kubo's driver): a child process killed and
//! reaped when dropped, its stdout read line by line on a thread (so it can be waited for with
//! a timeout), its stderr collected on another (the last 32-64 KiB kept), and one JSON command
//! a line on stdin answered by one JSON line on stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leither::api::Value;
use leither::api::json;

/// A child process that is killed and reaped when dropped, with its stdout read line by line
/// on a thread (so it can be waited for with a timeout) and its stderr collected on another.
pub struct Proc {
    pub what: String,
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub lines: Receiver<String>,
    pub stderr: Arc<Mutex<String>>,
    /// How long a dropped process may take to exit once its stdin is closed.
    pub grace: Duration,
}

impl Proc {
    pub fn spawn(what: &str, cmd: &mut Command, with_stdin: bool) -> Proc {
        let mut child = cmd
            .stdin(if with_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if let Ok(mut s) = sink.lock() {
                    // Keep the end: a peer (kubo) can be chatty.
                    s.push_str(&text);
                    if s.len() > 64 * 1024 {
                        let cut = s.len() - 32 * 1024;
                        let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                        s.drain(..cut);
                    }
                }
            }
        });
        Proc {
            what: what.to_string(),
            child,
            stdin,
            lines,
            stderr,
            grace: Duration::from_millis(500),
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The next stdout line within `timeout`; panics (with the process's stderr) if there is
    /// none, because it exited or took too long.
    pub fn next_line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!(
                "{}: no answer within {timeout:?}; stderr:\n{}",
                self.what,
                self.stderr()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.wait_exit(Duration::from_secs(2));
                panic!(
                    "{}: exited ({status:?}) without an answer; stderr:\n{}",
                    self.what,
                    self.stderr()
                )
            }
        }
    }

    /// The next stdout line that is a JSON object, decoded; an `{"error": ...}` panics.
    pub fn next_json(&mut self, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.next_line(left);
            if !line.trim_start().starts_with('{') {
                continue; // a stray log line from a library
            }
            let v = json::decode(line.as_bytes(), &json::JsonLimits::default())
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", self.what));
            if let Some(err) = v.get("error") {
                panic!(
                    "{}: {}\nstderr:\n{}",
                    self.what,
                    err.as_str().unwrap_or("(not a string)"),
                    self.stderr()
                );
            }
            return v;
        }
    }

    /// Sends one JSON command line (helia_node.mjs) and returns its answer.
    pub fn command(&mut self, line: &str, timeout: Duration) -> Value {
        let stdin = self.stdin.as_mut().expect("started with stdin");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| {
                panic!(
                    "{}: cannot send {line}: {e}; stderr:\n{}",
                    self.what,
                    self.stderr()
                )
            });
        self.next_json(timeout)
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }
}

impl Proc {
    /// Closes stdin (the peer programs exit when it closes), waits up to [`Proc::grace`],
    /// then kills and reaps the process. Dropping does this too; calling it again is harmless.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        if self.wait_exit(self.grace).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}
