//! A service's own settings on this node: its `env` (variables and secrets, `lever.env` in
//! its code) and its database. They are the node's, kept in its store, never in the app: an
//! app Mimei is readable wherever the app is (`/tpt/`, `/mm/`, `MFGetData`, `/ipfs/<cid>`,
//! every node that syncs it), so a secret put there is published (docs/lever.md, "env and
//! secrets"; docs/security.md, "What belongs to whom").
//!
//! The settings live as long as the service: a deploy that creates the service makes them
//! fresh (no database yet, the deploy's variables), `lever rm` deletes them, so a later deploy
//! of the same environment and name never inherits the removed service's secrets or data.
//!
//! One redb table, `lever_settings`: `ENV/NAME` (environment names hold no `/`) → record `1`
//! (format) ‖ database: `0`, or `1` and its 27-character Mimei ID ‖ variables: count (u16 BE),
//! then per variable name length (u16 BE), name, value length (u32 BE), value (UTF-8). At most
//! [`MAX_VARS`] variables of [`MAX_VARS_BYTES`] bytes in all per service, and one row per
//! deployed service (at most `MAX_SERVICES`): rows of services that are gone are removed at
//! start.
//!
//! A service deployed before the node kept settings has no row: at its first start with them
//! ([`restored`]) it gets its lever.json's env and the database its old mark named
//! (`lever-db:ENV/NAME` under the app), so an upgrade loses neither.

use std::fmt;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::LeverError;
use super::code::AppCode;
use super::manifest::MAX_ENTRIES;
use crate::api::{NodeState, Value};
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiId, MimeiType};
use crate::store::Store;

/// `lever_settings`: `ENV/NAME` to the service's settings (module doc).
pub const LEVER_SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("lever_settings");

/// Most variables of one service (as many as `lever.json`'s `env` may hold).
pub const MAX_VARS: usize = MAX_ENTRIES;
/// Most bytes of names and values of one service's variables: just under `lever.json`'s own
/// limit (so any `env` a `lever.json` can hold fits), and a name's length fits its u16.
pub const MAX_VARS_BYTES: usize = u16::MAX as usize;

const FORMAT: u8 = 1;

/// A service's variables and secrets: names to text. Its `Debug` shows names only, so a
/// value never reaches a log through a debug print.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Vars(Vec<(String, String)>);

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// Why a set of variables was refused. No variant carries a value: an error message may be
/// shown or logged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VarsError {
    /// Not an object of names to strings.
    NotAnObject {
        /// What it was instead (`a list`, ...).
        got: &'static str,
    },
    /// More than [`MAX_VARS`] variables.
    TooMany,
    /// More than [`MAX_VARS_BYTES`] bytes of names and values.
    TooBig,
    /// A value that is not a string, a number or a boolean.
    NotText {
        /// The variable.
        name: String,
        /// What its value was instead.
        got: &'static str,
    },
}

impl VarsError {
    /// The field at fault, under `base` (`env`, or `env.NAME` for one variable).
    pub fn field(&self, base: &str) -> String {
        match self {
            VarsError::NotText { name, .. } => {
                format!("{base}.{}", crate::api::truncate(name, 64))
            }
            _ => base.to_string(),
        }
    }
}

impl fmt::Display for VarsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarsError::NotAnObject { got } => {
                write!(f, "must be an object of names to strings, got {got}")
            }
            VarsError::TooMany => write!(f, "holds more than {MAX_VARS} variables"),
            VarsError::TooBig => {
                write!(
                    f,
                    "holds more than {MAX_VARS_BYTES} bytes of names and values"
                )
            }
            VarsError::NotText { got, .. } => write!(f, "must be a string, got {got}"),
        }
    }
}

impl std::error::Error for VarsError {}

impl Vars {
    /// Reads `{"NAME": "value", ...}`; numbers and booleans are taken as their text.
    pub fn parse(v: &Value) -> Result<Vars, VarsError> {
        let Value::Map(vars) = v else {
            return Err(VarsError::NotAnObject { got: v.kind() });
        };
        if vars.len() > MAX_VARS {
            return Err(VarsError::TooMany);
        }
        let mut out = Vec::with_capacity(vars.len());
        let mut bytes = 0usize;
        for (name, value) in vars {
            let text = match value {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(VarsError::NotText {
                        name: name.clone(),
                        got: other.kind(),
                    });
                }
            };
            bytes += name.len() + text.len();
            if bytes > MAX_VARS_BYTES {
                return Err(VarsError::TooBig);
            }
            out.retain(|(n, _): &(String, String)| n != name);
            out.push((name.clone(), text));
        }
        Ok(Vars(out))
    }

    /// Names and values, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The values (for the service log to mask).
    pub fn values(&self) -> Vec<String> {
        self.0.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the node keeps for one service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Its variables and secrets.
    pub vars: Vars,
    /// Its database Mimei, once made (`None` until the code first uses `db`).
    pub db: Option<MimeiId>,
}

impl Settings {
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![FORMAT];
        match &self.db {
            Some(mid) => {
                b.push(1);
                b.extend_from_slice(mid.to_string().as_bytes());
            }
            None => b.push(0),
        }
        // Bounded by Vars::parse: at most MAX_VARS entries, MAX_VARS_BYTES in all (u16::MAX).
        b.extend_from_slice(&(self.vars.0.len() as u16).to_be_bytes());
        for (k, v) in &self.vars.0 {
            b.extend_from_slice(&(k.len() as u16).to_be_bytes());
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(&(v.len() as u32).to_be_bytes());
            b.extend_from_slice(v.as_bytes());
        }
        b
    }

    fn decode(key: &str, b: &[u8]) -> Result<Settings, LeverError> {
        let damaged = || {
            LeverError::Settings(format!(
                "the settings of service {key} are damaged; redeploy it (lever rm, lever deploy)"
            ))
        };
        let mut r = Reader { b, at: 0 };
        if r.take(1).ok_or_else(damaged)? != [FORMAT] {
            return Err(damaged());
        }
        let db = match r.take(1).ok_or_else(damaged)? {
            [0] => None,
            [1] => {
                let id = r.take(27).ok_or_else(damaged)?;
                let id = std::str::from_utf8(id).map_err(|_| damaged())?;
                Some(id.parse().map_err(|_| damaged())?)
            }
            _ => return Err(damaged()),
        };
        let n = r.u16().ok_or_else(damaged)? as usize;
        if n > MAX_VARS {
            return Err(damaged());
        }
        let mut vars = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u16().ok_or_else(damaged)? as usize;
            let k = r.text(len).ok_or_else(damaged)?;
            let len = r.u32().ok_or_else(damaged)? as usize;
            let v = r.text(len).ok_or_else(damaged)?;
            vars.push((k, v));
        }
        if r.at != b.len() {
            return Err(damaged());
        }
        Ok(Settings {
            vars: Vars(vars),
            db,
        })
    }
}

/// A checked cursor over a record: every read is bounded by the bytes there are.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn text(&mut self, n: usize) -> Option<String> {
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

fn key(env: &str, name: &str) -> String {
    format!("{env}/{name}")
}

fn db_err(e: impl fmt::Display) -> LeverError {
    LeverError::Settings(format!("the node's store: {e}"))
}

/// The settings of service `name` in `env`, if the node keeps any.
pub fn load(store: &Store, env: &str, name: &str) -> Result<Option<Settings>, LeverError> {
    let k = key(env, name);
    let tx = store.db().begin_read().map_err(db_err)?;
    let t = match tx.open_table(LEVER_SETTINGS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(db_err(e)),
    };
    match t.get(k.as_str()).map_err(db_err)? {
        Some(v) => Ok(Some(Settings::decode(&k, v.value())?)),
        None => Ok(None),
    }
}

/// Writes the settings of service `name` in `env`.
pub fn save(store: &Store, env: &str, name: &str, s: &Settings) -> Result<(), LeverError> {
    let k = key(env, name);
    let tx = store.db().begin_write().map_err(db_err)?;
    {
        let mut t = tx.open_table(LEVER_SETTINGS).map_err(db_err)?;
        t.insert(k.as_str(), s.encode().as_slice())
            .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

/// Deletes the settings of service `name` in `env` (`lever rm`).
pub fn remove(store: &Store, env: &str, name: &str) -> Result<(), LeverError> {
    let k = key(env, name);
    let tx = store.db().begin_write().map_err(db_err)?;
    {
        let mut t = tx.open_table(LEVER_SETTINGS).map_err(db_err)?;
        t.remove(k.as_str()).map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

/// Deletes the settings of every service not in `keep` (`(env, name)` pairs); returns the
/// databases of the ones deleted, which stay in the store detached.
pub fn retain(store: &Store, keep: &[(String, String)]) -> Result<Vec<MimeiId>, LeverError> {
    let tx = store.db().begin_write().map_err(db_err)?;
    let mut detached = Vec::new();
    {
        let mut t = tx.open_table(LEVER_SETTINGS).map_err(db_err)?;
        let mut gone = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            let k = k.value().to_string();
            if !keep.iter().any(|(e, n)| key(e, n) == k) {
                if let Ok(s) = Settings::decode(&k, v.value()) {
                    detached.extend(s.db);
                }
                gone.push(k);
            }
        }
        for k in gone {
            t.remove(k.as_str()).map_err(db_err)?;
        }
    }
    tx.commit().map_err(db_err)?;
    Ok(detached)
}

/// The settings of a service restored at start: those the node kept, else (a service
/// deployed before the node kept them) its lever.json's env and the database its mark named,
/// which are then kept. A damaged row is logged and read as fresh settings.
pub fn restored(state: &NodeState, env: &str, name: &str, code: &AppCode) -> Settings {
    match load(&state.store, env, name) {
        Ok(Some(s)) => return s,
        Ok(None) => {}
        Err(e) => {
            crate::log_error!("Lever: {name} in {env}: {e}");
            return Settings::default();
        }
    }
    let legacy = crate::mimei::id::derive(
        &state.key.id(),
        Some(&code.mid),
        MimeiType::Db,
        &format!("lever-db:{env}/{name}"),
        None,
    )
    .ok()
    .filter(|mid| Mimeis::new(&state.store).header(mid).is_ok());
    let s = Settings {
        vars: code.manifest.env.clone().unwrap_or_default(),
        db: legacy,
    };
    if let Err(e) = save(&state.store, env, name, &s) {
        crate::log_error!("Lever: {name} in {env}: {e}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(json: &str) -> Result<Vars, VarsError> {
        let v = crate::api::json::decode(json.as_bytes(), &Default::default()).unwrap();
        Vars::parse(&v)
    }

    #[test]
    fn a_record_round_trips_and_a_damaged_one_is_refused() {
        let s = Settings {
            vars: vars(r#"{"PASS":"s3cret","N":3,"ON":true}"#).unwrap(),
            db: Some("HFR3Q9mVoS1HfeFx0MD1px5JJXI".parse().unwrap()),
        };
        let b = s.encode();
        assert_eq!(Settings::decode("e.x/s", &b).unwrap(), s);
        let empty = Settings::default();
        assert_eq!(Settings::decode("e.x/s", &empty.encode()).unwrap(), empty);
        // Every cut and a trailing byte are refused, never a panic.
        for n in 0..b.len() {
            assert!(Settings::decode("e.x/s", &b[..n]).is_err(), "{n}");
        }
        let mut long = b.clone();
        long.push(0);
        assert!(Settings::decode("e.x/s", &long).is_err());
        let mut lying = b.clone();
        lying[29] = 0xff; // the count of variables
        assert!(Settings::decode("e.x/s", &lying).is_err());
    }

    #[test]
    fn vars_are_bounded_and_never_shown() {
        let v = vars(r#"{"PASS":"s3cret","N":3}"#).unwrap();
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            vec![("PASS", "s3cret"), ("N", "3")]
        );
        let shown = format!(
            "{v:?} {:?}",
            Settings {
                vars: v.clone(),
                db: None
            }
        );
        assert!(
            shown.contains("PASS") && !shown.contains("s3cret"),
            "{shown}"
        );
        let e = vars(r#"{"K":[1]}"#).unwrap_err();
        assert_eq!(
            format!("{}: {e}", e.field("env")),
            "env.K: must be a string, got a list"
        );
        let e = vars(r#"{"K":{"x":"s3cret"}}"#).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cret"), "{e}");
        assert!(vars("[]").is_err());
        let many: Vec<String> = (0..=MAX_VARS).map(|i| format!("\"K{i}\":\"v\"")).collect();
        assert!(vars(&format!("{{{}}}", many.join(","))).is_err());
        let big = "x".repeat(MAX_VARS_BYTES);
        assert!(vars(&format!("{{\"K\":\"{big}\"}}")).is_err());
    }

    #[test]
    fn settings_are_kept_per_service_and_removed() {
        let (state, _home) = crate::api::tests::fresh_state("lever-settings");
        let store = &state.store;
        assert_eq!(load(store, "dev.lever", "a").unwrap(), None);
        let s = Settings {
            vars: vars(r#"{"PASS":"s3cret"}"#).unwrap(),
            db: None,
        };
        save(store, "dev.lever", "a", &s).unwrap();
        save(store, "dev.lever", "b", &Settings::default()).unwrap();
        assert_eq!(load(store, "dev.lever", "a").unwrap(), Some(s));
        remove(store, "dev.lever", "a").unwrap();
        assert_eq!(load(store, "dev.lever", "a").unwrap(), None);
        let db: MimeiId = "HFR3Q9mVoS1HfeFx0MD1px5JJXI".parse().unwrap();
        let with_db = Settings {
            vars: Vars::default(),
            db: Some(db),
        };
        save(store, "x.lever", "c", &with_db).unwrap();
        let keep = vec![("dev.lever".to_string(), "b".to_string())];
        assert_eq!(retain(store, &keep).unwrap(), vec![db]);
        assert!(load(store, "dev.lever", "b").unwrap().is_some());
        assert_eq!(load(store, "x.lever", "c").unwrap(), None);
    }

    /// A service a node deployed before it kept settings keeps its env and its database.
    #[test]
    fn a_service_from_before_settings_keeps_its_env_and_database() {
        use crate::ipfs::cid::{Codec, Version};
        use crate::mimei::{HeaderFields, MimeiHeader, Rights};
        let (state, _home) = crate::api::tests::fresh_state("lever-settings-legacy");
        let app: MimeiId = "HFR3Q9mVoS1HfeFx0MD1px5JJXI".parse().unwrap();
        let manifest = super::super::manifest::Manifest {
            name: "a".into(),
            env: Some(vars(r#"{"PASS":"s3cret"}"#).unwrap()),
            ..Default::default()
        };
        let code = AppCode {
            mid: app,
            version: 1,
            root: crate::ipfs::Cid::of_block(Version::V0, Codec::DagPb, b"app"),
            manifest,
            files: Default::default(),
            capped: Vec::new(),
        };
        let header = MimeiHeader::create(
            &state.key,
            HeaderFields {
                app: Some(app),
                kind: MimeiType::Db,
                mark: "lever-db:dev.lever/a".into(),
                nonce: None,
                ext: "lever-db".into(),
                created: 0,
                revision: 0,
                rights: Rights::new(state.key.id()),
            },
        )
        .unwrap();
        Mimeis::new(&state.store).create(&header).unwrap();
        let s = restored(&state, "dev.lever", "a", &code);
        assert_eq!(s.db, Some(*header.mid()));
        assert_eq!(s.vars, code.manifest.env.clone().unwrap());
        assert_eq!(
            load(&state.store, "dev.lever", "a").unwrap(),
            Some(s.clone())
        );
        // Kept settings win over lever.json from then on.
        let kept = Settings::default();
        save(&state.store, "dev.lever", "a", &kept).unwrap();
        assert_eq!(restored(&state, "dev.lever", "a", &code), kept);
        // No database under the old mark: none.
        assert_eq!(restored(&state, "dev.lever", "b", &code).db, None);
    }
}
