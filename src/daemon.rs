//! Process control of a node on a home directory: the lock that keeps a second node off the
//! same home, the pid and address files, detaching for `run -d`, and `stop`.
//!
//! `<home>/leither.pid` is both the pid file and the lock: the running node holds an
//! exclusive `flock` on it for its whole life. A lock that can be taken means no node runs,
//! whatever pid the file still names, so a crash never leaves a stale "already running".
//! `<home>/leither.addr` holds the `ip:port` the node listens on, for the CLI and tests;
//! `<home>/leither.ports` names every listener (HTTP, HTTPS, RESP, libp2p) with the address it
//! bound. The node writes both once every listener is bound, `leither.ports` first, so a
//! script that waits for `leither.addr` may use every port at once, even those set to 0.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};

use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The pid and lock file in the home.
pub const PID_FILE: &str = "leither.pid";
/// The address file in the home.
pub const ADDR_FILE: &str = "leither.addr";
/// The listeners file in the home: one `NAME ADDRESS` line per bound listener.
pub const PORTS_FILE: &str = "leither.ports";

/// What went wrong controlling a node process.
#[derive(Debug)]
#[non_exhaustive]
pub enum DaemonError {
    /// A node already runs on this home.
    AlreadyRunning {
        /// The home.
        home: PathBuf,
        /// Its pid, when the file says.
        pid: Option<i32>,
    },
    /// `stop` found no node running on this home.
    NotRunning {
        /// The home.
        home: PathBuf,
    },
    /// The node did not stop in time.
    StopTimeout {
        /// Its pid.
        pid: i32,
    },
    /// A system call failed.
    Io {
        /// What we were doing.
        what: String,
        /// The error.
        error: std::io::Error,
    },
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonError::AlreadyRunning { home, pid } => {
                write!(f, "a node is already running on {}", home.display())?;
                if let Some(p) = pid {
                    write!(f, " (pid {p})")?;
                }
                write!(f, "; stop it with `leither stop` or use another --home")
            }
            DaemonError::NotRunning { home } => {
                write!(f, "no node is running on {}", home.display())
            }
            DaemonError::StopTimeout { pid } => write!(
                f,
                "the node (pid {pid}) did not stop within 30 s; it may be finishing writes: check Leither.log"
            ),
            DaemonError::Io { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for DaemonError {}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DaemonError {
    let what = what.into();
    move |error| DaemonError::Io { what, error }
}

/// The held lock of a running node. Dropping it releases the lock and removes the files.
pub struct HomeLock {
    file: File,
    home: PathBuf,
}

fn try_flock(file: &File) -> bool {
    // SAFETY: flock on a valid open descriptor has no memory effects.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

fn read_pid(home: &Path) -> Option<i32> {
    std::fs::read_to_string(home.join(PID_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl HomeLock {
    /// Takes the lock of `home`, or says which node holds it.
    pub fn acquire(home: &Path) -> Result<HomeLock, DaemonError> {
        let path = home.join(PID_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(format!("opening {}", path.display())))?;
        if !try_flock(&file) {
            return Err(DaemonError::AlreadyRunning {
                home: home.to_path_buf(),
                pid: read_pid(home),
            });
        }
        let lock = HomeLock {
            file,
            home: home.to_path_buf(),
        };
        lock.write_pid()?;
        Ok(lock)
    }

    /// Writes the current pid (again, after a fork).
    pub fn write_pid(&self) -> Result<(), DaemonError> {
        use std::os::unix::fs::FileExt;
        self.file
            .set_len(0)
            .and_then(|()| {
                self.file
                    .write_all_at(format!("{}\n", std::process::id()).as_bytes(), 0)
            })
            .map_err(io("writing leither.pid"))
    }

    /// Records the address the node listens on.
    pub fn write_addr(&self, addr: std::net::SocketAddr) -> Result<(), DaemonError> {
        crate::fsutil::write_atomic(
            &self.home.join(ADDR_FILE),
            format!("{addr}\n").as_bytes(),
            0o644,
        )
        .map_err(io("writing leither.addr"))
    }

    /// Records every listener as `NAME ADDRESS` lines (`http 127.0.0.1:4800`,
    /// `swarm /ip4/127.0.0.1/tcp/4801/p2p/12D3...`), the format of docs/storage.md.
    pub fn write_ports(&self, listeners: &[(&str, String)]) -> Result<(), DaemonError> {
        let text: String = listeners
            .iter()
            .map(|(name, addr)| format!("{name} {addr}\n"))
            .collect();
        crate::fsutil::write_atomic(&self.home.join(PORTS_FILE), text.as_bytes(), 0o644)
            .map_err(io("writing leither.ports"))
    }
}

impl Drop for HomeLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.home.join(ADDR_FILE));
        let _ = std::fs::remove_file(self.home.join(PORTS_FILE));
        let _ = self.file.set_len(0);
        // The lock itself goes with the descriptor.
    }
}

/// The address of the node running on `home`, if one runs.
pub fn running_addr(home: &Path) -> Option<String> {
    let s = std::fs::read_to_string(home.join(ADDR_FILE)).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Is a node holding the lock of `home`?
pub fn is_running(home: &Path) -> bool {
    match File::open(home.join(PID_FILE)) {
        Ok(f) => !try_flock(&f),
        Err(_) => false,
    }
}

/// Asks the node on `home` to stop (SIGTERM) and waits until it has released its lock.
pub fn stop(home: &Path) -> Result<i32, DaemonError> {
    if !is_running(home) {
        return Err(DaemonError::NotRunning {
            home: home.to_path_buf(),
        });
    }
    let pid = read_pid(home).ok_or_else(|| DaemonError::NotRunning {
        home: home.to_path_buf(),
    })?;
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(DaemonError::Io {
            what: format!("signalling pid {pid}"),
            error: std::io::Error::last_os_error(),
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if !is_running(home) {
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(DaemonError::StopTimeout { pid })
}

/// The child's end of the pipe a detached node reports its start on.
pub struct ReadyPipe(File);

impl ReadyPipe {
    /// Reports success (empty message) or the reason the node could not start.
    pub fn report(mut self, result: Result<(), &str>) {
        let msg = match result {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        let _ = self.0.write_all(msg.as_bytes());
    }

    /// Reports success with notes for the user (one per line after `ok`).
    pub fn report_ok(mut self, notes: &[String]) {
        let mut msg = "ok".to_string();
        for n in notes {
            msg.push('\n');
            msg.push_str(&n.replace('\n', " "));
        }
        let _ = self.0.write_all(msg.as_bytes());
    }
}

/// The notes of a success report (`ok`, then one note per line); `None` for a failure.
pub fn ok_notes(report: &str) -> Option<Vec<String>> {
    let rest = report.strip_prefix("ok")?;
    if !rest.is_empty() && !rest.starts_with('\n') {
        return None;
    }
    Some(
        rest.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// What [`detach`] returns in each process.
pub enum Detached {
    /// In the parent: the child's pid and what it reported ("ok" or "error: ...").
    Parent {
        /// The node's pid.
        pid: i32,
        /// The report.
        report: String,
    },
    /// In the child: carry on starting the node, then report on the pipe.
    Child(ReadyPipe),
}

/// Forks: the child starts a new session with its standard streams on /dev/null and runs the
/// node; the parent waits (bounded) for the child's report. Must be called before the
/// runtime starts, while the process has one thread.
pub fn detach() -> Result<Detached, DaemonError> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two descriptors into the array we own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io("creating a pipe")(std::io::Error::last_os_error()));
    }
    // SAFETY: the descriptors are fresh and owned by nothing else.
    let (read_end, write_end) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: the process is single-threaded here (no runtime yet), so fork is sound.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io("fork")(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        drop(read_end);
        // SAFETY: setsid/open/dup2 on descriptors we own; no memory effects.
        unsafe {
            libc::setsid();
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null >= 0 {
                libc::dup2(null, 0);
                libc::dup2(null, 1);
                libc::dup2(null, 2);
                if null > 2 {
                    libc::close(null);
                }
            }
        }
        return Ok(Detached::Child(ReadyPipe(write_end)));
    }
    drop(write_end);
    let mut report = String::new();
    let mut pfd = libc::pollfd {
        fd: read_end.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes the one pollfd we own.
    let ready = unsafe { libc::poll(&mut pfd, 1, 60_000) };
    if ready <= 0 {
        report = format!("error: the node (pid {pid}) did not report within 60 s; see Leither.log");
    } else {
        // The child writes once and closes; EOF without a report means it died.
        let _ = (&read_end).take(4096).read_to_string(&mut report);
    }
    if report.is_empty() {
        report = "error: the node exited during start; see Leither.log".to_string();
    }
    Ok(Detached::Parent { pid, report })
}
