//! The node's log: lines to stderr (when running in the foreground) and to `Leither.log` in
//! the home, rotated by size so a router's flash never fills up.
//!
//! Never log a pass, a key, a password or a session id: call sites log IDs and reasons only.
//!
//! Warnings and info lines are rate-limited per call site ([`Site`]): many are caused by
//! outside clients (a refused WebSocket, a refused stream, a Logout note), and a flood of
//! them (the stress run refused 450 WebSockets a second) rotated the 1 MiB log in seconds,
//! erasing its history and writing a router's flash at 100 KB/s. A site writes a burst of
//! [`BURST`] lines, then [`PER_SECOND`] a second; the next line it writes says how many it
//! left out. Errors and debug lines are not limited.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::LogLevel;

/// Name of the log file in the home.
pub const FILE_NAME: &str = "Leither.log";

/// The log file is rotated to `Leither.log.1` when it grows past this.
pub const ROTATE_BYTES: u64 = 1024 * 1024;

/// Lines one call site may write at once (see the module doc).
pub const BURST: u32 = 20;
/// Lines a second one call site may write after its burst.
pub const PER_SECOND: u32 = 2;

/// The rate of one call site's lines: a token bucket, kept in a `static` by the macros.
#[derive(Debug)]
pub struct Site(Mutex<SiteState>);

#[derive(Debug)]
struct SiteState {
    /// Lines it may write now, in thousandths.
    tokens_milli: u64,
    /// When it was last refilled (ms since the first line of any site).
    at_ms: u64,
    /// Lines left out since its last line.
    dropped: u64,
}

impl Site {
    /// A site that has written nothing yet.
    pub const fn new() -> Site {
        Site(Mutex::new(SiteState {
            tokens_milli: BURST as u64 * 1000,
            at_ms: 0,
            dropped: 0,
        }))
    }

    /// Whether a line may be written at `now_ms`: `Some(lines left out before it)`.
    fn admit(&self, now_ms: u64) -> Option<u64> {
        let mut s = self.0.lock().ok()?;
        let refill = now_ms.saturating_sub(s.at_ms) * u64::from(PER_SECOND);
        s.tokens_milli = (s.tokens_milli + refill).min(u64::from(BURST) * 1000);
        s.at_ms = now_ms;
        if s.tokens_milli < 1000 {
            s.dropped += 1;
            return None;
        }
        s.tokens_milli -= 1000;
        Some(std::mem::take(&mut s.dropped))
    }
}

impl Default for Site {
    fn default() -> Site {
        Site::new()
    }
}

/// Milliseconds since the first rate-limited line.
fn now_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// Writes one line of call site `site` if its rate allows. Use the macros instead.
pub fn write_limited(site: &Site, level: LogLevel, args: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    match site.admit(now_ms()) {
        None => {}
        Some(0) => write(level, args),
        Some(n) => write(
            level,
            format_args!("{args} (and {n} more like this, not logged)"),
        ),
    }
}

struct Logger {
    level: LogLevel,
    stderr: bool,
    file: Option<(PathBuf, File, u64)>,
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

/// Starts logging at `level`; to `<home>/Leither.log` when `home` is given, and to stderr
/// when `stderr` is true.
pub fn init(level: LogLevel, home: Option<&Path>, stderr: bool) -> std::io::Result<()> {
    let file = match home {
        Some(h) => {
            let path = h.join(FILE_NAME);
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            Some((path, f, len))
        }
        None => None,
    };
    if let Ok(mut g) = LOGGER.lock() {
        *g = Some(Logger {
            level,
            stderr,
            file,
        });
    }
    Ok(())
}

/// Stops writing to stderr (after `run -d` detaches).
pub fn detach_stderr() {
    if let Ok(mut g) = LOGGER.lock()
        && let Some(l) = g.as_mut()
    {
        l.stderr = false;
    }
}

/// Is `level` logged?
pub fn enabled(level: LogLevel) -> bool {
    LOGGER
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|l| level <= l.level))
        .unwrap_or(level <= LogLevel::Warn)
}

/// Writes one line. Use the macros instead.
pub fn write(level: LogLevel, args: std::fmt::Arguments<'_>) {
    let Ok(mut g) = LOGGER.lock() else { return };
    let line = format!(
        "{} {:5} {}\n",
        timestamp(crate::clock::unix_now()),
        level.as_str().to_ascii_uppercase(),
        args
    );
    let Some(l) = g.as_mut() else {
        if level <= LogLevel::Warn {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        return;
    };
    if level > l.level {
        return;
    }
    if l.stderr {
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    if let Some((path, file, len)) = l.file.as_mut() {
        if *len + line.len() as u64 > ROTATE_BYTES {
            let mut old = path.clone().into_os_string();
            old.push(".1");
            let _ = std::fs::rename(&*path, &old);
            if let Ok(f) = OpenOptions::new().create(true).append(true).open(&*path) {
                *file = f;
                *len = 0;
            }
        }
        if file.write_all(line.as_bytes()).is_ok() {
            *len += line.len() as u64;
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` from unix seconds (UTC; no time-zone database on a router).
pub fn timestamp(secs: u64) -> String {
    let days = secs / 86400;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Logs at error level.
#[macro_export]
macro_rules! log_error { ($($t:tt)*) => { $crate::log::write($crate::config::LogLevel::Error, format_args!($($t)*)) } }
/// Logs at warn level, rate-limited per call site (see the module doc).
#[macro_export]
macro_rules! log_warn { ($($t:tt)*) => {{
    static SITE: $crate::log::Site = $crate::log::Site::new();
    $crate::log::write_limited(&SITE, $crate::config::LogLevel::Warn, format_args!($($t)*))
}} }
/// Logs at info level, rate-limited per call site (see the module doc).
#[macro_export]
macro_rules! log_info { ($($t:tt)*) => {{
    static SITE: $crate::log::Site = $crate::log::Site::new();
    $crate::log::write_limited(&SITE, $crate::config::LogLevel::Info, format_args!($($t)*))
}} }
/// Logs at debug level.
#[macro_export]
macro_rules! log_debug { ($($t:tt)*) => { if $crate::log::enabled($crate::config::LogLevel::Debug) { $crate::log::write($crate::config::LogLevel::Debug, format_args!($($t)*)) } } }

#[cfg(test)]
mod rate_tests {
    use super::*;

    /// A flood of one line (a stranger's refused WebSockets) rotated the log in seconds.
    #[test]
    fn log_flood_from_one_call_site_is_limited() {
        let site = Site::new();
        let written = (0..1000).filter(|_| site.admit(0).is_some()).count();
        assert_eq!(written, BURST as usize);
        // A second later, PER_SECOND more, the first saying how many were left out.
        assert_eq!(site.admit(1000), Some(1000 - u64::from(BURST)));
        assert_eq!(site.admit(1000), Some(0));
        assert_eq!(site.admit(1000), None);
        // A quiet site gets its whole burst back.
        let back = (0..100).filter(|_| site.admit(60_000).is_some()).count();
        assert_eq!(back, BURST as usize);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rotates_by_size_and_keeps_one_old_file() {
        let home = std::env::temp_dir().join(format!("leither-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        super::init(super::LogLevel::Info, Some(&home), false).unwrap();
        let line = "x".repeat(1000);
        // Unlimited writes: one call site of the macros would be rate-limited.
        for _ in 0..2500 {
            super::write(super::LogLevel::Info, format_args!("{line}"));
        }
        crate::log_debug!("not written at info level");
        let cur = std::fs::metadata(home.join(super::FILE_NAME))
            .unwrap()
            .len();
        let old = std::fs::metadata(home.join("Leither.log.1")).unwrap().len();
        assert!(cur <= super::ROTATE_BYTES && old <= super::ROTATE_BYTES);
        assert!(old > super::ROTATE_BYTES / 2);
        let text = std::fs::read_to_string(home.join(super::FILE_NAME)).unwrap();
        assert!(!text.contains("not written"));
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn timestamps() {
        assert_eq!(super::timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::timestamp(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(super::timestamp(951_782_400), "2000-02-29T00:00:00Z");
    }
}
