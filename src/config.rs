//! `SystemVars.json`: the node's settings file in its home directory.
//!
//! The file is a JSON object. The keys this version understands are typed below; every other
//! key is kept as it was (in order) and written back unchanged, so a newer node's settings or
//! a user's own notes survive an `init` by an older binary. Parsing is sans-io
//! ([`SystemVars::parse`]); reading and the crash-safe write live at the edge ([`load`],
//! [`save`]).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::api::json;
use crate::api::value::Value;

/// Name of the settings file inside the home directory.
pub const FILE_NAME: &str = "SystemVars.json";

/// Default HTTP port of a node, as in Leither.
pub const DEFAULT_PORT: u16 = 4800;

/// The default libp2p port (`SwarmPort`).
pub const DEFAULT_SWARM_PORT: u16 = 4801;

/// Default memory budget of a node in MiB (a router with 64 MB of RAM keeps room for itself).
pub const DEFAULT_MAX_MEMORY_MB: u32 = 32;

/// Default `LuaMaxTimeoutMs`: the longest a Lua call may hold the node's one thread.
pub const DEFAULT_LUA_MAX_TIMEOUT_MS: u64 = 5_000;
/// Default `LuaMaxInstructions`: the most Lua instructions (and pattern-matching steps) of
/// one call.
pub const DEFAULT_LUA_MAX_INSTRUCTIONS: u64 = 100_000_000;
/// Default `LuaMaxRamMB`: the most memory one Lua instance may have (a 64 MB router).
pub const DEFAULT_LUA_MAX_RAM_MB: u32 = 8;

/// Largest settings file we read: it is a handful of keys, never megabytes.
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// How much the node logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Only failures.
    Error,
    /// Failures and things an operator should look at.
    Warn,
    /// Start, stop, and notable events (the default).
    Info,
    /// Everything, for finding bugs.
    Debug,
}

impl LogLevel {
    /// Parses `error`, `warn`, `info` or `debug` (any case).
    pub fn parse(s: &str) -> Option<LogLevel> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Some(LogLevel::Error),
            "warn" | "warning" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            _ => None,
        }
    }

    /// The name written to the settings file and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// The typed view of `SystemVars.json`, plus the keys we do not know.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemVars {
    /// `ServicePort`: the HTTP port (API, gateway, apps). 0 picks a free port at start.
    pub service_port: u16,
    /// `Bootstrap`: peers to join the network through (multiaddrs or `host:port`).
    pub bootstrap: Vec<String>,
    /// `FixedAddr`: addresses this node announces as reachable from outside (for a node with
    /// a fixed public address or a port forward); empty means "discover".
    pub fixed_addr: Vec<String>,
    /// `LAN`: true keeps the node to its local network (no public bootstrap, LAN addresses only).
    pub lan: bool,
    /// `Gateway`: domain-name nodes this node reports its addresses to.
    pub gateway: Vec<String>,
    /// `MaxMemoryMB`: the memory budget caches and app instances are sized from.
    pub max_memory_mb: u32,
    /// `LogLevel`.
    pub log_level: LogLevel,
    /// `ListenAddr`: the address the HTTP port binds to (default all interfaces).
    pub listen_addr: String,
    /// `RespPort`: the Redis-protocol (RESP2) port of the Mimei databases; 0 = off.
    pub resp_port: u16,
    /// `RespAddr`: the address the RESP port binds to (default loopback only).
    pub resp_addr: String,
    /// `DbDurability`: `"group"` (default: writes reach the disk within a second) or
    /// `"full"` (every acknowledged write is on disk); docs/db.md.
    pub db_durability: String,
    /// `SwarmPort`: the libp2p TCP port (default 4801; 0 picks a free port at start).
    pub swarm_port: u16,
    /// `Mdns`: find nodes on the LAN by multicast DNS (default true).
    pub mdns: bool,
    /// `SwarmFilters`: address ranges the swarm refuses (`swarm filters add`), kept here so
    /// they hold after a restart.
    pub swarm_filters: Vec<String>,
    /// `FollowSecs`: how often a provider checks the net head of each Mimei it follows, the
    /// backstop of the real-time push (default 60).
    pub follow_secs: u32,
    /// `GatewaySecs`: how often this node reports its addresses to the DNNs in `Gateway` when
    /// nothing changed (default 300; a change is reported within 30 s).
    pub gateway_secs: u32,
    /// `HttpsPort`: the HTTPS port, serving the same routes as `ServicePort` over TLS; 0 (the
    /// default) = no HTTPS. HTTPS starts only when `TlsCert` and `TlsKey` are named too.
    pub https_port: u16,
    /// `TlsCert`: the PEM certificate chain file for HTTPS (leaf first, as certbot's
    /// `fullchain.pem`); relative to the home unless absolute. Empty = not set.
    pub tls_cert: String,
    /// `TlsKey`: the PEM private key file for HTTPS (PKCS#8, RSA or SEC1 EC, as certbot's
    /// `privkey.pem`); relative to the home unless absolute. Empty = not set.
    pub tls_key: String,
    /// `Registration`: who may `Register` an account on this node: `"loopback"` (the
    /// default: programs on the node's own machine), `"open"` (anyone) or `"off"`.
    pub registration: String,
    /// `LuaMaxTimeoutMs`: the cap on `timeoutMs` in lever.json (default 5000).
    pub lua_max_timeout_ms: u64,
    /// `LuaMaxInstructions`: the cap on `maxInstructions` in lever.json (default 100 000 000).
    pub lua_max_instructions: u64,
    /// `LuaMaxRamMB`: the cap on `ram` in lever.json (default 8).
    pub lua_max_ram_mb: u32,
    /// Connection limits (`HttpMaxConnections`, `HttpMaxPerAddress`, ...): [`crate::limits`].
    pub conn: crate::limits::ConnLimits,
    /// Rate limits per address (`RateCallsPerSec`, `LoginFailuresPerMin`, ...):
    /// [`crate::limits::rate_limits`].
    pub rate: crate::limits::RateLimits,
    /// The admission block: per-user quotas and `GrantServices` (src/accounts/quota.rs).
    pub quotas: crate::accounts::quota::Quotas,
    /// Keys this version does not know, kept in their original order.
    pub other: Vec<(String, Value)>,
}

impl Default for SystemVars {
    fn default() -> Self {
        SystemVars {
            service_port: DEFAULT_PORT,
            bootstrap: Vec::new(),
            fixed_addr: Vec::new(),
            lan: false,
            gateway: Vec::new(),
            max_memory_mb: DEFAULT_MAX_MEMORY_MB,
            log_level: LogLevel::Info,
            listen_addr: "0.0.0.0".to_string(),
            resp_port: 0,
            resp_addr: "127.0.0.1".to_string(),
            db_durability: "group".to_string(),
            swarm_port: DEFAULT_SWARM_PORT,
            mdns: true,
            swarm_filters: Vec::new(),
            follow_secs: 60,
            gateway_secs: 300,
            https_port: 0,
            tls_cert: String::new(),
            tls_key: String::new(),
            registration: "loopback".to_string(),
            lua_max_timeout_ms: DEFAULT_LUA_MAX_TIMEOUT_MS,
            lua_max_instructions: DEFAULT_LUA_MAX_INSTRUCTIONS,
            lua_max_ram_mb: DEFAULT_LUA_MAX_RAM_MB,
            conn: Default::default(),
            rate: Default::default(),
            quotas: Default::default(),
            other: Vec::new(),
        }
    }
}

/// What is wrong with a settings file.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// The file is not valid JSON.
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with the position).
        message: String,
    },
    /// A key has a value of the wrong type or out of range.
    Field {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `ServicePort`.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// The file is larger than any settings file should be.
    TooLarge {
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            ConfigError::Syntax { path, message } => write!(
                f,
                "{} is not valid JSON: {message}; fix the file or remove it and run `leither init`",
                path.display()
            ),
            ConfigError::Field {
                path,
                field,
                expected,
            } => write!(
                f,
                "{}: field \"{field}\" must be {expected}; fix it or run `leither init` with the right option",
                path.display()
            ),
            ConfigError::TooLarge { path } => write!(
                f,
                "{} is larger than {} KiB; it is not a settings file",
                path.display(),
                MAX_FILE_BYTES / 1024
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::List(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        // A single string is accepted for convenience: "Bootstrap": "host:4800".
        Value::Str(s) if s.is_empty() => Some(Vec::new()),
        Value::Str(s) => Some(vec![s.clone()]),
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

/// A file path setting: a string (empty = not set) or null.
fn path_value(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.trim().to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn str_list(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::Str(s.clone())).collect())
}

impl SystemVars {
    /// Parses the contents of a settings file; `path` only names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<SystemVars, ConfigError> {
        let doc =
            json::decode(bytes, &json::JsonLimits::default()).map_err(|e| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let Value::Map(entries) = doc else {
            return Err(ConfigError::Syntax {
                path: path.to_path_buf(),
                message: "the top level must be an object { ... }".to_string(),
            });
        };
        let field = |field: &'static str, expected: &'static str| ConfigError::Field {
            path: path.to_path_buf(),
            field,
            expected,
        };
        let mut sv = SystemVars {
            other: Vec::new(),
            ..SystemVars::default()
        };
        for (key, value) in entries {
            match key.as_str() {
                "ServicePort" => {
                    sv.service_port = value
                        .as_i64()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or_else(|| field("ServicePort", "a port number from 0 to 65535"))?
                }
                "Bootstrap" => {
                    sv.bootstrap =
                        strings(&value).ok_or_else(|| field("Bootstrap", "a list of addresses"))?
                }
                "FixedAddr" => {
                    sv.fixed_addr =
                        strings(&value).ok_or_else(|| field("FixedAddr", "a list of addresses"))?
                }
                "Gateway" => {
                    sv.gateway = strings(&value)
                        .ok_or_else(|| field("Gateway", "a list of domain-name node URLs"))?
                }
                "LAN" => {
                    sv.lan = match value {
                        Value::Bool(b) => b,
                        _ => return Err(field("LAN", "true or false")),
                    }
                }
                "MaxMemoryMB" => {
                    sv.max_memory_mb = value
                        .as_i64()
                        .and_then(|m| u32::try_from(m).ok())
                        .filter(|m| (8..=1 << 20).contains(m))
                        .ok_or_else(|| field("MaxMemoryMB", "a number of MiB from 8 up"))?
                }
                "LogLevel" => {
                    sv.log_level = value.as_str().and_then(LogLevel::parse).ok_or_else(|| {
                        field(
                            "LogLevel",
                            "one of \"error\", \"warn\", \"info\", \"debug\"",
                        )
                    })?
                }
                "ListenAddr" => {
                    sv.listen_addr = value
                        .as_str()
                        .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
                        .map(str::to_string)
                        .ok_or_else(|| field("ListenAddr", "an IP address such as \"0.0.0.0\""))?
                }
                "RespPort" => {
                    sv.resp_port = value
                        .as_i64()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or_else(|| field("RespPort", "a port number (0 = off)"))?
                }
                "RespAddr" => {
                    sv.resp_addr = value
                        .as_str()
                        .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
                        .map(str::to_string)
                        .ok_or_else(|| field("RespAddr", "an IP address such as \"127.0.0.1\""))?
                }
                "DbDurability" => {
                    sv.db_durability = value
                        .as_str()
                        .filter(|d| matches!(*d, "group" | "full"))
                        .map(str::to_string)
                        .ok_or_else(|| field("DbDurability", "\"group\" or \"full\""))?
                }
                "SwarmPort" => {
                    sv.swarm_port = value
                        .as_i64()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or_else(|| field("SwarmPort", "a port number from 0 to 65535"))?
                }
                "Mdns" => {
                    sv.mdns = match value {
                        Value::Bool(b) => b,
                        _ => return Err(field("Mdns", "true or false")),
                    }
                }
                "SwarmFilters" => {
                    sv.swarm_filters = strings(&value).ok_or_else(|| {
                        field("SwarmFilters", "a list of ranges such as \"10.0.0.0/8\"")
                    })?
                }
                "FollowSecs" => {
                    sv.follow_secs = value
                        .as_i64()
                        .and_then(|m| u32::try_from(m).ok())
                        .filter(|m| (1..=86_400).contains(m))
                        .ok_or_else(|| field("FollowSecs", "a number of seconds from 1 to 86400"))?
                }
                "GatewaySecs" => {
                    sv.gateway_secs = value
                        .as_i64()
                        .and_then(|m| u32::try_from(m).ok())
                        .filter(|m| (1..=86_400).contains(m))
                        .ok_or_else(|| {
                            field("GatewaySecs", "a number of seconds from 1 to 86400")
                        })?
                }
                "HttpsPort" => {
                    sv.https_port = value
                        .as_i64()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or_else(|| field("HttpsPort", "a port number (0 = no HTTPS)"))?
                }
                "TlsCert" => {
                    sv.tls_cert = path_value(&value).ok_or_else(|| {
                        field("TlsCert", "the path of a PEM certificate file, as a string")
                    })?
                }
                "TlsKey" => {
                    sv.tls_key = path_value(&value).ok_or_else(|| {
                        field("TlsKey", "the path of a PEM private key file, as a string")
                    })?
                }
                "Registration" => {
                    sv.registration = value
                        .as_str()
                        .filter(|r| matches!(*r, "loopback" | "open" | "off"))
                        .map(str::to_string)
                        .ok_or_else(|| field("Registration", "\"loopback\", \"open\" or \"off\""))?
                }
                "LuaMaxTimeoutMs" => {
                    sv.lua_max_timeout_ms = value
                        .as_i64()
                        .and_then(|m| u64::try_from(m).ok())
                        .filter(|m| (10..=3_600_000).contains(m))
                        .ok_or_else(|| {
                            field(
                                "LuaMaxTimeoutMs",
                                "a number of milliseconds from 10 to 3600000",
                            )
                        })?
                }
                "LuaMaxInstructions" => {
                    sv.lua_max_instructions = value
                        .as_i64()
                        .and_then(|m| u64::try_from(m).ok())
                        .filter(|m| (1000..=1_000_000_000_000).contains(m))
                        .ok_or_else(|| {
                            field("LuaMaxInstructions", "a number from 1000 to 1000000000000")
                        })?
                }
                "LuaMaxRamMB" => {
                    sv.lua_max_ram_mb = value
                        .as_i64()
                        .and_then(|m| u32::try_from(m).ok())
                        .filter(|m| (1..=1024).contains(m))
                        .ok_or_else(|| field("LuaMaxRamMB", "a number of MiB from 1 to 1024"))?
                }
                k if crate::accounts::quota::Quotas::is_key(k) => sv
                    .quotas
                    .parse_key(k, &value)
                    .map_err(|(k, expected)| field(k, expected))?,
                // Connection and rate limits: blocks of their own (crate::limits).
                k => match sv.conn.parse_key(k, &value) {
                    Ok(true) => {}
                    Ok(false) => match sv.rate.parse_key(k, &value) {
                        Ok(true) => {}
                        Ok(false) => sv.other.push((key, value)),
                        Err((f, expected)) => return Err(field(f, expected)),
                    },
                    Err((f, expected)) => return Err(field(f, expected)),
                },
            }
        }
        sv.conn.check().map_err(|(f, e)| field(f, e))?;
        if sv.https_port != 0 && sv.https_port == sv.service_port {
            return Err(field(
                "HttpsPort",
                "a port other than ServicePort (0 = no HTTPS)",
            ));
        }
        Ok(sv)
    }

    /// The certificate and key files of HTTPS, resolved against `home`, when `HttpsPort` is
    /// set and both are named; `None` means the node serves no HTTPS.
    pub fn tls_files(&self, home: &Path) -> Option<(PathBuf, PathBuf)> {
        if self.https_port == 0 || self.tls_cert.is_empty() || self.tls_key.is_empty() {
            return None;
        }
        Some((home.join(&self.tls_cert), home.join(&self.tls_key)))
    }

    /// The document to write: known keys first (in a fixed order), then the kept ones.
    pub fn to_value(&self) -> Value {
        let mut m = vec![
            (
                "ServicePort".to_string(),
                Value::Int(i64::from(self.service_port)),
            ),
            ("Bootstrap".to_string(), str_list(&self.bootstrap)),
            ("FixedAddr".to_string(), str_list(&self.fixed_addr)),
            ("LAN".to_string(), Value::Bool(self.lan)),
            ("Gateway".to_string(), str_list(&self.gateway)),
            (
                "MaxMemoryMB".to_string(),
                Value::Int(i64::from(self.max_memory_mb)),
            ),
            (
                "LogLevel".to_string(),
                Value::Str(self.log_level.as_str().to_string()),
            ),
            (
                "ListenAddr".to_string(),
                Value::Str(self.listen_addr.clone()),
            ),
            (
                "RespPort".to_string(),
                Value::Int(i64::from(self.resp_port)),
            ),
            ("RespAddr".to_string(), Value::Str(self.resp_addr.clone())),
            (
                "DbDurability".to_string(),
                Value::Str(self.db_durability.clone()),
            ),
            (
                "SwarmPort".to_string(),
                Value::Int(i64::from(self.swarm_port)),
            ),
            ("Mdns".to_string(), Value::Bool(self.mdns)),
            ("SwarmFilters".to_string(), str_list(&self.swarm_filters)),
            (
                "FollowSecs".to_string(),
                Value::Int(i64::from(self.follow_secs)),
            ),
            (
                "GatewaySecs".to_string(),
                Value::Int(i64::from(self.gateway_secs)),
            ),
            (
                "HttpsPort".to_string(),
                Value::Int(i64::from(self.https_port)),
            ),
            ("TlsCert".to_string(), Value::Str(self.tls_cert.clone())),
            ("TlsKey".to_string(), Value::Str(self.tls_key.clone())),
            (
                "Registration".to_string(),
                Value::Str(self.registration.clone()),
            ),
            (
                "LuaMaxTimeoutMs".to_string(),
                Value::Int(self.lua_max_timeout_ms as i64),
            ),
            (
                "LuaMaxInstructions".to_string(),
                Value::Int(self.lua_max_instructions as i64),
            ),
            (
                "LuaMaxRamMB".to_string(),
                Value::Int(i64::from(self.lua_max_ram_mb)),
            ),
        ];
        m.extend(self.conn.entries());
        m.extend(self.rate.entries());
        m.extend(self.quotas.to_entries());
        m.extend(self.other.iter().cloned());
        Value::Map(m)
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        json::encode_pretty(&self.to_value(), &mut s);
        s.push('\n');
        s
    }
}

/// Reads `SystemVars.json` from `home`.
pub fn load(home: &Path) -> Result<SystemVars, ConfigError> {
    let path = home.join(FILE_NAME);
    let io = |error| ConfigError::Io {
        path: path.clone(),
        error,
    };
    let meta = std::fs::metadata(&path).map_err(io)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge { path });
    }
    let bytes = std::fs::read(&path).map_err(io)?;
    SystemVars::parse(&bytes, &path)
}

/// Writes `SystemVars.json` into `home` crash-safely (temporary file, fsync, rename).
pub fn save(home: &Path, sv: &SystemVars) -> Result<(), ConfigError> {
    let path = home.join(FILE_NAME);
    crate::fsutil::write_atomic(&path, sv.to_text().as_bytes(), 0o644)
        .map_err(|error| ConfigError::Io { path, error })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("SystemVars.json")
    }

    #[test]
    fn defaults_round_trip() {
        let sv = SystemVars::default();
        let back = SystemVars::parse(sv.to_text().as_bytes(), p()).unwrap();
        assert_eq!(sv, back);
        assert_eq!(back.service_port, 4800);
    }

    #[test]
    fn unknown_keys_are_kept_in_order() {
        let text = br#"{"Zeta": 1, "ServicePort": 4900, "Alpha": {"x": [1, 2]}}"#;
        let sv = SystemVars::parse(text, p()).unwrap();
        assert_eq!(sv.service_port, 4900);
        assert_eq!(sv.other[0].0, "Zeta");
        assert_eq!(sv.other[1].0, "Alpha");
        let again = SystemVars::parse(sv.to_text().as_bytes(), p()).unwrap();
        assert_eq!(again.other, sv.other);
    }

    #[test]
    fn bad_field_names_the_file_and_field() {
        let e = SystemVars::parse(br#"{"ServicePort": "abc"}"#, p()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("SystemVars.json"), "{msg}");
        assert!(msg.contains("ServicePort"), "{msg}");
        let e = SystemVars::parse(br#"{"ServicePort": 70000}"#, p()).unwrap_err();
        assert!(e.to_string().contains("ServicePort"));
        let e = SystemVars::parse(br#"{"LogLevel": "loud"}"#, p()).unwrap_err();
        assert!(e.to_string().contains("LogLevel"));
        let e = SystemVars::parse(br#"{"Bootstrap": [1]}"#, p()).unwrap_err();
        assert!(e.to_string().contains("Bootstrap"));
    }

    #[test]
    fn syntax_error_names_the_file() {
        let e = SystemVars::parse(b"{\"ServicePort\": 4800,", p()).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }));
        assert!(e.to_string().contains("SystemVars.json"));
        let e = SystemVars::parse(b"[1]", p()).unwrap_err();
        assert!(e.to_string().contains("object"));
    }

    #[test]
    fn https_keys_parse_validate_and_resolve() {
        let text =
            br#"{"HttpsPort": 4443, "TlsCert": "tls/fullchain.pem", "TlsKey": "/etc/k.pem"}"#;
        let sv = SystemVars::parse(text, p()).unwrap();
        assert_eq!(sv.https_port, 4443);
        let (cert, key) = sv.tls_files(Path::new("/home/n")).unwrap();
        assert_eq!(cert, Path::new("/home/n/tls/fullchain.pem"));
        assert_eq!(key, Path::new("/etc/k.pem"));
        let back = SystemVars::parse(sv.to_text().as_bytes(), p()).unwrap();
        assert_eq!(back, sv);
        // Off by default, and off until both files are named.
        assert!(SystemVars::default().tls_files(Path::new("/")).is_none());
        let sv = SystemVars::parse(br#"{"HttpsPort": 4443, "TlsCert": "c.pem"}"#, p()).unwrap();
        assert!(sv.tls_files(Path::new("/")).is_none());
        for (bad, name) in [
            (&br#"{"HttpsPort": 70000}"#[..], "HttpsPort"),
            (br#"{"HttpsPort": "443"}"#, "HttpsPort"),
            (br#"{"ServicePort": 4800, "HttpsPort": 4800}"#, "HttpsPort"),
            (br#"{"TlsCert": 5}"#, "TlsCert"),
            (br#"{"TlsKey": ["k.pem"]}"#, "TlsKey"),
        ] {
            let msg = SystemVars::parse(bad, p()).unwrap_err().to_string();
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn lua_caps_parse_and_validate() {
        let sv = SystemVars::parse(
            br#"{"LuaMaxTimeoutMs": 2000, "LuaMaxInstructions": 5000, "LuaMaxRamMB": 4}"#,
            p(),
        )
        .unwrap();
        assert_eq!(
            (
                sv.lua_max_timeout_ms,
                sv.lua_max_instructions,
                sv.lua_max_ram_mb
            ),
            (2000, 5000, 4)
        );
        assert_eq!(SystemVars::parse(sv.to_text().as_bytes(), p()).unwrap(), sv);
        assert_eq!(SystemVars::default().lua_max_timeout_ms, 5000);
        for (bad, name) in [
            (&br#"{"LuaMaxTimeoutMs": 0}"#[..], "LuaMaxTimeoutMs"),
            (br#"{"LuaMaxTimeoutMs": 3600001}"#, "LuaMaxTimeoutMs"),
            (br#"{"LuaMaxInstructions": 10}"#, "LuaMaxInstructions"),
            (br#"{"LuaMaxRamMB": 2048}"#, "LuaMaxRamMB"),
            (br#"{"LuaMaxRamMB": "8"}"#, "LuaMaxRamMB"),
        ] {
            let msg = SystemVars::parse(bad, p()).unwrap_err().to_string();
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn bootstrap_accepts_a_single_string() {
        let sv = SystemVars::parse(br#"{"Bootstrap": "a:1"}"#, p()).unwrap();
        assert_eq!(sv.bootstrap, vec!["a:1"]);
    }
}
