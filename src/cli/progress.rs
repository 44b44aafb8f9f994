//! Progress of long transfers on standard error, only when it is a terminal: piped or
//! redirected output stays exactly the plain lines scripts read.
//!
//! A line `LABEL 12.0 MiB / 256.0 MiB (4%)` is rewritten in place (`\r`) at most five times a
//! second and cleared when the transfer ends.

use std::io::Write;
use std::time::{Duration, Instant};

/// Whether standard error is a terminal.
pub fn stderr_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor; 2 is always a valid argument.
    unsafe { libc::isatty(2) == 1 }
}

/// A progress line (inert when standard error is not a terminal).
pub struct Progress {
    label: String,
    total: Option<u64>,
    done: u64,
    on: bool,
    last: Option<Instant>,
}

fn human(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Progress {
    /// A progress line for `label`, of `total` bytes when known; shown only on a terminal.
    pub fn new(label: &str, total: Option<u64>) -> Progress {
        Progress {
            label: label.to_string(),
            total,
            done: 0,
            on: stderr_is_tty(),
            last: None,
        }
    }

    /// A progress line that never shows.
    pub fn off() -> Progress {
        Progress {
            label: String::new(),
            total: None,
            done: 0,
            on: false,
            last: None,
        }
    }

    /// Counts `n` more bytes and redraws when due.
    pub fn add(&mut self, n: u64) {
        self.done += n;
        if !self.on {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(200))
        {
            return;
        }
        self.last = Some(now);
        let line = match self.total {
            Some(t) if t > 0 => format!(
                "{} {} / {} ({}%)",
                self.label,
                human(self.done),
                human(t),
                self.done.saturating_mul(100) / t
            ),
            _ => format!("{} {}", self.label, human(self.done)),
        };
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r\x1b[K{line}");
        let _ = e.flush();
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.on && self.last.is_some() {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[K");
            let _ = e.flush();
        }
        self.on = false;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A writer that counts what passes through into a [`Progress`].
pub struct CountWrite<'a, W: ?Sized> {
    /// Where the count goes.
    pub progress: &'a mut Progress,
    /// The writer.
    pub inner: &'a mut W,
}

impl<W: Write + ?Sized> Write for CountWrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_well() {
        assert_eq!(super::human(10), "10 B");
        assert_eq!(super::human(3 << 20), "3.0 MiB");
    }
}
