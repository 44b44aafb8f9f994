//! `lever.json`: what a service is and how it runs. Sans-io: bytes in, [`Manifest`] or an error
//! naming the field out.
//!
//! Lever's fields keep their names (`name`, `description`, `private`, `maxInstanceLoad`,
//! `minInstances`, `ram`), `luaEntry` replaces `jsEntry`, and Leither adds `timeoutMs`,
//! `maxInstructions`, `env` and `cron`. Unknown fields are refused, so a typo is not silently
//! ignored (docs/lever.md lists every field with its default and range).

use crate::api::Value;
use crate::api::json::{JsonLimits, decode};

use super::LeverError;
use super::settings::Vars;

/// Largest `lever.json` read.
pub const MAX_MANIFEST: usize = 64 * 1024;
/// Most `env` entries and `cron` triggers.
pub const MAX_ENTRIES: usize = 64;

/// Path prefixes of the node's own routes: no service may take one of these names.
pub const RESERVED: &[&str] = &[
    "api",
    "webapi",
    "ws",
    "ipfs",
    "ipns",
    "mm",
    "tpt",
    "entry",
    "mf",
    "getvar",
    "ws3",
    "lever",
    "favicon.ico",
    "admin",
    "static",
    "dashboard",
];

/// A timer trigger: call `method` with `args` every `every_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    /// Period in milliseconds (at least 1 s).
    pub every_ms: u64,
    /// The method called.
    pub method: String,
    /// Its arguments.
    pub args: Vec<Value>,
}

/// The node's caps on what a `lever.json` may ask for (`LuaMaxTimeoutMs`,
/// `LuaMaxInstructions`, `LuaMaxRamMB` in SystemVars.json): one call must not hold the node's
/// one thread, or its memory, for longer or more than the owner allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Most `timeoutMs`.
    pub timeout_ms: u64,
    /// Most `maxInstructions`.
    pub max_instructions: u64,
    /// Most `ram` (MiB).
    pub ram_mb: u32,
}

impl Caps {
    /// The caps set in `vars`.
    pub fn of(vars: &crate::config::SystemVars) -> Caps {
        Caps {
            timeout_ms: vars.lua_max_timeout_ms,
            max_instructions: vars.lua_max_instructions,
            ram_mb: vars.lua_max_ram_mb,
        }
    }
}

impl Default for Caps {
    fn default() -> Self {
        Caps::of(&crate::config::SystemVars::default())
    }
}

/// A validated `lever.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The service name (also the first URL segment).
    pub name: String,
    /// Free text.
    pub description: String,
    /// The Lua file whose returned table holds the methods (default `main.lua`).
    pub lua_entry: String,
    /// Answer only calls from inside the service's environment.
    pub private: bool,
    /// Concurrent calls one instance takes before another is started (default 10).
    pub max_instance_load: f64,
    /// Instances kept running even when idle (default 0).
    pub min_instances: u32,
    /// Memory limit of one instance in MiB (default 2: an idle instance uses about 27 KB;
    /// capped by `LuaMaxRamMB`).
    pub ram_mb: u32,
    /// Wall-clock limit of one call in milliseconds (default 5 000; capped by the node's
    /// `LuaMaxTimeoutMs`, see [`Manifest::cap`]).
    pub timeout_ms: u64,
    /// Lua instructions one call may run (default 50 000 000; capped by `LuaMaxInstructions`).
    pub max_instructions: u64,
    /// `env` as this `lever.json` holds it (`None` when it has no `env` field). The values
    /// are in the app, readable by whoever reads the app: a deploy moves them into the
    /// node's own settings of the service ([`super::settings`]), where the code reads them
    /// as `lever.env`, and warns; `leither lever deploy` never uploads them.
    pub env: Option<Vars>,
    /// Timer triggers.
    pub cron: Vec<Cron>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            name: String::new(),
            description: String::new(),
            lua_entry: "main.lua".to_string(),
            private: false,
            max_instance_load: 10.0,
            min_instances: 0,
            ram_mb: 2,
            timeout_ms: 5_000,
            max_instructions: 50_000_000,
            env: None,
            cron: Vec::new(),
        }
    }
}

/// True for a service name: 1-64 of `A-Z a-z 0-9 _ - .`, not starting with `.` or `-`.
pub fn service_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// True for a relative Lua file path inside the app: segments of `A-Z a-z 0-9 _ - .`, no
/// `..`, ending in `.lua`.
pub fn lua_path_ok(path: &str) -> bool {
    path.len() <= 256
        && path.ends_with(".lua")
        && path.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        })
}

/// Parses a period such as `30s`, `5m`, `1h`, `500ms`.
pub fn parse_period(s: &str) -> Option<u64> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => return None,
    };
    let n: u64 = num.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(ms)
}

fn int_in(v: &Value, field: &str, lo: i64, hi: i64) -> Result<i64, LeverError> {
    match v.as_i64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(LeverError::manifest(
            field,
            format!("must be a whole number from {lo} to {hi}, got {}", short(v)),
        )),
    }
}

fn string(v: &Value, field: &str) -> Result<String, LeverError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| LeverError::manifest(field, format!("must be a string, got {}", v.kind())))
}

fn short(v: &Value) -> String {
    let mut s = String::new();
    crate::api::json::encode(v, &mut s);
    crate::api::truncate(&s, 40)
}

impl Manifest {
    /// Parses and validates `lever.json`.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, LeverError> {
        if bytes.len() > MAX_MANIFEST {
            return Err(LeverError::manifest(
                "lever.json",
                format!("is {} bytes; the limit is {MAX_MANIFEST}", bytes.len()),
            ));
        }
        let limits = JsonLimits {
            max_depth: 8,
            max_items: 10_000,
            max_bytes: MAX_MANIFEST,
        };
        let v = decode(bytes, &limits)
            .map_err(|e| LeverError::manifest("lever.json", format!("is not valid JSON: {e}")))?;
        let Value::Map(fields) = v else {
            return Err(LeverError::manifest(
                "lever.json",
                format!("must be a JSON object, got {}", v.kind()),
            ));
        };
        let mut m = Manifest::default();
        let mut named = false;
        for (k, v) in &fields {
            match k.as_str() {
                "name" => {
                    m.name = string(v, "name")?;
                    if !service_name_ok(&m.name) {
                        return Err(LeverError::manifest(
                            "name",
                            format!(
                                "\"{}\" is not a service name: use 1-64 letters, digits, _ - or ., \
                                 not starting with . or -",
                                crate::api::truncate(&m.name, 64)
                            ),
                        ));
                    }
                    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&m.name)) {
                        return Err(LeverError::manifest(
                            "name",
                            format!(
                                "\"{}\" is a path of the node's own routes; choose another name",
                                m.name
                            ),
                        ));
                    }
                    named = true;
                }
                "description" => m.description = string(v, "description")?,
                "luaEntry" => {
                    m.lua_entry = string(v, "luaEntry")?;
                    if !lua_path_ok(&m.lua_entry) {
                        return Err(LeverError::manifest(
                            "luaEntry",
                            format!(
                                "\"{}\" must be a relative path to a .lua file inside the app",
                                crate::api::truncate(&m.lua_entry, 64)
                            ),
                        ));
                    }
                }
                "jsEntry" => {
                    return Err(LeverError::manifest(
                        "jsEntry",
                        "Leither runs Lua, not JavaScript: name the Lua entry file in luaEntry",
                    ));
                }
                "private" => {
                    m.private = match v {
                        Value::Bool(b) => *b,
                        _ => {
                            return Err(LeverError::manifest(
                                "private",
                                format!("must be true or false, got {}", v.kind()),
                            ));
                        }
                    }
                }
                "maxInstanceLoad" => {
                    let n = match v {
                        Value::Int(i) => *i as f64,
                        Value::Float(f) => *f,
                        _ => f64::NAN,
                    };
                    if !(0.5..=10_000.0).contains(&n) {
                        return Err(LeverError::manifest(
                            "maxInstanceLoad",
                            format!("must be a number from 0.5 to 10000, got {}", short(v)),
                        ));
                    }
                    m.max_instance_load = n;
                }
                "minInstances" => m.min_instances = int_in(v, "minInstances", 0, 64)? as u32,
                "ram" => m.ram_mb = int_in(v, "ram", 1, 1024)? as u32,
                "timeoutMs" => m.timeout_ms = int_in(v, "timeoutMs", 1, 3_600_000)? as u64,
                "maxInstructions" => {
                    m.max_instructions =
                        int_in(v, "maxInstructions", 1000, 1_000_000_000_000)? as u64
                }
                "env" => {
                    let vars = Vars::parse(v)
                        .map_err(|e| LeverError::manifest(&e.field("env"), e.to_string()))?;
                    m.env = Some(vars);
                }
                "cron" => {
                    let Value::List(items) = v else {
                        return Err(LeverError::manifest(
                            "cron",
                            format!(
                                "must be a list of {{\"every\": \"30s\", \"method\": \"tick\"}}, got {}",
                                v.kind()
                            ),
                        ));
                    };
                    if items.len() > MAX_ENTRIES {
                        return Err(LeverError::manifest(
                            "cron",
                            format!("holds more than {MAX_ENTRIES} triggers"),
                        ));
                    }
                    for (i, item) in items.iter().enumerate() {
                        m.cron.push(cron(item, i)?);
                    }
                }
                other => {
                    return Err(LeverError::manifest(
                        &crate::api::truncate(other, 64),
                        "is not a lever.json field (known: name, description, luaEntry, private, \
                         maxInstanceLoad, minInstances, ram, timeoutMs, maxInstructions, env, cron)",
                    ));
                }
            }
        }
        if !named {
            return Err(LeverError::manifest(
                "name",
                "is missing: every service needs a name",
            ));
        }
        if f64::from(m.min_instances) > 0.0 && m.ram_mb as u64 * m.min_instances as u64 > 4096 {
            return Err(LeverError::manifest(
                "minInstances",
                "times ram exceeds 4096 MiB",
            ));
        }
        Ok(m)
    }

    /// Lowers the limits that ask for more than `caps` allows; one warning per limit lowered.
    /// A deploy is not refused for it: the service runs within the node's caps (an app
    /// written for a bigger node still works here, with less headroom).
    pub fn cap(&mut self, caps: &Caps) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.timeout_ms > caps.timeout_ms {
            warnings.push(format!(
                "timeoutMs {} is above this node's LuaMaxTimeoutMs; calls get {} ms",
                self.timeout_ms, caps.timeout_ms
            ));
            self.timeout_ms = caps.timeout_ms;
        }
        if self.max_instructions > caps.max_instructions {
            warnings.push(format!(
                "maxInstructions {} is above this node's LuaMaxInstructions; calls get {}",
                self.max_instructions, caps.max_instructions
            ));
            self.max_instructions = caps.max_instructions;
        }
        if self.ram_mb > caps.ram_mb {
            warnings.push(format!(
                "ram {} MiB is above this node's LuaMaxRamMB; instances get {} MiB",
                self.ram_mb, caps.ram_mb
            ));
            self.ram_mb = caps.ram_mb;
        }
        warnings
    }

    /// Instance memory limit in bytes.
    pub fn ram_bytes(&self) -> usize {
        (self.ram_mb as usize) << 20
    }
}

fn cron(item: &Value, i: usize) -> Result<Cron, LeverError> {
    let field = |f: &str| format!("cron[{i}].{f}");
    let Value::Map(_) = item else {
        return Err(LeverError::manifest(
            &format!("cron[{i}]"),
            format!("must be an object, got {}", item.kind()),
        ));
    };
    let every = item
        .get("every")
        .ok_or_else(|| LeverError::manifest(&field("every"), "is missing (e.g. \"30s\")"))?;
    let every = string(every, &field("every"))?;
    let every_ms = parse_period(&every)
        .filter(|ms| *ms >= 1000)
        .ok_or_else(|| {
            LeverError::manifest(
                &field("every"),
                format!("\"{every}\" is not a period of at least 1s (e.g. 30s, 5m, 1h)"),
            )
        })?;
    let method = item
        .get("method")
        .ok_or_else(|| LeverError::manifest(&field("method"), "is missing"))?;
    let method = string(method, &field("method"))?;
    let args = match item.get("args") {
        None => Vec::new(),
        Some(Value::List(a)) => a.clone(),
        Some(other) => {
            return Err(LeverError::manifest(
                &field("args"),
                format!("must be a list, got {}", other.kind()),
            ));
        }
    };
    if let Value::Map(keys) = item {
        for (k, _) in keys {
            if !matches!(k.as_str(), "every" | "method" | "args") {
                return Err(LeverError::manifest(
                    &field(&crate::api::truncate(k, 32)),
                    "is not a cron field (every, method, args)",
                ));
            }
        }
    }
    Ok(Cron {
        every_ms,
        method,
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        Manifest::parse(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn lever_hello_parses_with_defaults() {
        let m = Manifest::parse(
            br#"{"name":"helloService","description":"A hello service","luaEntry":"hello.lua"}"#,
        )
        .unwrap();
        assert_eq!(m.name, "helloService");
        assert_eq!(m.lua_entry, "hello.lua");
        assert_eq!(m.ram_mb, 2);
        assert!(!m.private);
        assert_eq!(m.max_instance_load, 10.0);
    }

    #[test]
    fn every_field() {
        let m = Manifest::parse(
            br#"{"name":"a.b","private":true,"maxInstanceLoad":2.5,"minInstances":1,"ram":4,
                "timeoutMs":50,"maxInstructions":100000,"env":{"KEY":"s3cret","N":3},
                "cron":[{"every":"2s","method":"tick","args":[1]}]}"#,
        )
        .unwrap();
        assert!(m.private);
        assert_eq!(m.max_instance_load, 2.5);
        assert_eq!(m.min_instances, 1);
        assert_eq!(m.ram_bytes(), 4 << 20);
        assert_eq!(m.timeout_ms, 50);
        let env = m.env.unwrap();
        assert_eq!(
            env.iter().collect::<Vec<_>>(),
            vec![("KEY", "s3cret"), ("N", "3")]
        );
        assert_eq!(m.cron[0].every_ms, 2000);
        assert_eq!(m.cron[0].args, vec![Value::Int(1)]);
    }

    #[test]
    fn errors_name_the_field() {
        assert!(err("[]").contains("lever.json: lever.json: must be a JSON object"));
        assert!(err("{").contains("is not valid JSON"));
        assert!(err(r#"{"description":"x"}"#).contains("name: is missing"));
        assert!(err(r#"{"name":"api"}"#).contains("name: \"api\" is a path of the node's own"));
        assert!(err(r#"{"name":"a b"}"#).contains("name: \"a b\" is not a service name"));
        assert!(err(r#"{"name":"a","ram":0}"#).contains("ram: must be a whole number from 1"));
        assert!(err(r#"{"name":"a","ram":"8"}"#).contains("ram:"));
        assert!(err(r#"{"name":"a","luaEntry":"../x.lua"}"#).contains("luaEntry:"));
        assert!(err(r#"{"name":"a","jsEntry":"x.js"}"#).contains("jsEntry: Leither runs Lua"));
        assert!(err(r#"{"name":"a","privat":true}"#).contains("privat: is not a lever.json field"));
        assert!(err(r#"{"name":"a","private":1}"#).contains("private: must be true or false"));
        assert!(err(r#"{"name":"a","maxInstanceLoad":0}"#).contains("maxInstanceLoad:"));
        assert!(err(r#"{"name":"a","env":{"K":[1]}}"#).contains("env.K: must be a string"));
        assert!(
            err(r#"{"name":"a","cron":[{"every":"1x","method":"t"}]}"#).contains("cron[0].every")
        );
        assert!(
            err(r#"{"name":"a","cron":[{"every":"5s"}]}"#).contains("cron[0].method: is missing")
        );
        assert!(
            err(&format!(
                "{{\"name\":\"a\",\"description\":\"{}\"}}",
                "x".repeat(70_000)
            ))
            .contains("the limit is")
        );
    }

    #[test]
    fn limits_above_the_caps_are_lowered_with_a_warning() {
        let mut m = Manifest::parse(
            br#"{"name":"a","ram":1024,"timeoutMs":3600000,"maxInstructions":1000000000000}"#,
        )
        .unwrap();
        let w = m.cap(&Caps::default());
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("LuaMaxTimeoutMs"), "{w:?}");
        assert_eq!(
            (m.timeout_ms, m.max_instructions, m.ram_mb),
            (5000, 100_000_000, 8)
        );
        // The defaults fit the default caps: no warning for a plain lever.json.
        let mut m = Manifest::parse(br#"{"name":"a"}"#).unwrap();
        assert!(m.cap(&Caps::default()).is_empty());
    }

    #[test]
    fn periods() {
        assert_eq!(parse_period("500ms"), Some(500));
        assert_eq!(parse_period("30s"), Some(30_000));
        assert_eq!(parse_period("2h"), Some(7_200_000));
        assert_eq!(parse_period("s"), None);
        assert_eq!(parse_period("10"), None);
        assert_eq!(parse_period("99999999999999999999s"), None);
    }
}
