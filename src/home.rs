//! The node's home directory: where it is, and making or updating it (`leither init`).
//!
//! Where: `--home DIR`, else `LEITHER_HOME`, else the directory holding the binary when it is
//! writable (as Leither does), else `~/.leither`. The OpenWrt package passes `--home` from UCI
//! (`/etc/leither`, data on the overlay or a USB disk); the Raspberry Pi image uses the data
//! partition (`/data/leither`).

use std::path::{Path, PathBuf};

use crate::config::{self, ConfigError, SystemVars};
use crate::pki::{NodeKey, Overwrite, PkiError};

/// The node key file in the home.
pub const KEY_FILE: &str = "hostkey.cfg";

/// Picks the home directory.
pub fn resolve(flag: Option<&Path>) -> PathBuf {
    if let Some(h) = flag {
        return h.to_path_buf();
    }
    if let Some(h) = std::env::var_os("LEITHER_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        && crate::fsutil::dir_is_writable(&dir)
    {
        return dir;
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".leither"),
        None => PathBuf::from(".leither"),
    }
}

/// What went wrong making or reading a home.
#[derive(Debug)]
#[non_exhaustive]
pub enum HomeError {
    /// The directory could not be made.
    Create {
        /// The home.
        home: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The settings file is bad.
    Config(ConfigError),
    /// The key file is bad, unsafe or could not be written.
    Key(PkiError),
}

impl std::fmt::Display for HomeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HomeError::Create { home, error } => write!(
                f,
                "cannot create the home directory {}: {error}; pick another with --home",
                home.display()
            ),
            HomeError::Config(e) => e.fmt(f),
            HomeError::Key(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for HomeError {}

/// Changes `leither init` makes to the settings (None keeps the current value).
#[derive(Debug, Default, Clone)]
pub struct InitChanges {
    /// `-p PORT`.
    pub port: Option<u16>,
    /// `-b BOOTSTRAP[,BOOTSTRAP...]`.
    pub bootstrap: Option<Vec<String>>,
    /// `-l ADDR`: the address to listen on.
    pub listen: Option<String>,
}

/// What `init` did.
#[derive(Debug)]
pub struct InitReport {
    /// The settings now in force.
    pub vars: SystemVars,
    /// The node key.
    pub key: NodeKey,
    /// True when a new key was made (false: the existing one was kept).
    pub new_key: bool,
    /// True when the settings file was new.
    pub new_vars: bool,
}

/// Creates or updates the home: settings with `changes` applied (unknown keys kept), and the
/// node key (made once, kept forever after).
pub fn init(home: &Path, changes: &InitChanges) -> Result<InitReport, HomeError> {
    std::fs::create_dir_all(home).map_err(|error| HomeError::Create {
        home: home.to_path_buf(),
        error,
    })?;
    let vars_path = home.join(config::FILE_NAME);
    let new_vars = !vars_path.exists();
    let mut vars = if new_vars {
        SystemVars::default()
    } else {
        config::load(home).map_err(HomeError::Config)?
    };
    if let Some(p) = changes.port {
        vars.service_port = p;
        // The libp2p port follows: the next one, or any free one with a free HTTP port.
        vars.swarm_port = if p == 0 { 0 } else { p.saturating_add(1) };
    }
    if let Some(b) = &changes.bootstrap {
        vars.bootstrap = b.clone();
    }
    if let Some(l) = &changes.listen {
        vars.listen_addr = l.clone();
    }
    if new_vars || changes.port.is_some() || changes.bootstrap.is_some() || changes.listen.is_some()
    {
        config::save(home, &vars).map_err(HomeError::Config)?;
    }
    let (key, new_key) = load_or_make_key(home)?;
    Ok(InitReport {
        vars,
        key,
        new_key,
        new_vars,
    })
}

/// Loads `hostkey.cfg`, making it when the home has none.
pub fn load_or_make_key(home: &Path) -> Result<(NodeKey, bool), HomeError> {
    let key_path = home.join(KEY_FILE);
    if key_path.exists() {
        return Ok((NodeKey::load(&key_path).map_err(HomeError::Key)?, false));
    }
    let key = NodeKey::generate().map_err(HomeError::Key)?;
    key.save(&key_path, Overwrite::Refuse)
        .map_err(HomeError::Key)?;
    Ok((key, true))
}

/// Reads an existing home for `run`: settings and key (both made with defaults if absent,
/// so `leither run` alone starts a node).
pub fn open(home: &Path) -> Result<InitReport, HomeError> {
    init(home, &InitChanges::default())
}
