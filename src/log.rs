//! The node's log: lines to stderr (when running in the foreground) and to `Leither.log` in
//! the home, rotated by size so a router's flash never fills up.
//!
//! Never log a pass, a key, a password or a session id: call sites log IDs and reasons only.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::LogLevel;

/// Name of the log file in the home.
pub const FILE_NAME: &str = "Leither.log";

/// The log file is rotated to `Leither.log.1` when it grows past this.
pub const ROTATE_BYTES: u64 = 1024 * 1024;

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
/// Logs at warn level.
#[macro_export]
macro_rules! log_warn { ($($t:tt)*) => { $crate::log::write($crate::config::LogLevel::Warn, format_args!($($t)*)) } }
/// Logs at info level.
#[macro_export]
macro_rules! log_info { ($($t:tt)*) => { $crate::log::write($crate::config::LogLevel::Info, format_args!($($t)*)) } }
/// Logs at debug level.
#[macro_export]
macro_rules! log_debug { ($($t:tt)*) => { if $crate::log::enabled($crate::config::LogLevel::Debug) { $crate::log::write($crate::config::LogLevel::Debug, format_args!($($t)*)) } } }

#[cfg(test)]
mod tests {
    #[test]
    fn rotates_by_size_and_keeps_one_old_file() {
        let home = std::env::temp_dir().join(format!("leither-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        super::init(super::LogLevel::Info, Some(&home), false).unwrap();
        let line = "x".repeat(1000);
        for _ in 0..2500 {
            crate::log_info!("{line}");
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
