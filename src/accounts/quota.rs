//! Per-user quotas: how much of the node's shared resources one user (an admitted key or an
//! account) may hold, and the owner's reserved share. docs/security.md, "Quotas".
//!
//! The settings are a separate block of SystemVars.json ([`Quotas`], keys `Quota*` and
//! `GrantServices`; UCI options `quota_*` and `grant_services`), parsed here so that
//! `config.rs` only hands the keys over. The owner is exempt from every quota.
//!
//! What is counted and where:
//! - sessions and open Mimei handles per user: counted in the tables that hold them
//!   (`api::session`, `api::fns_mimei`), which also keep a reserve only the owner may use;
//! - Mimeis created and bytes added per day: one redb table, `user_usage`, user ID → `1`
//!   (format) ‖ Mimeis created (u64 BE) ‖ day (u64 BE, unix days) ‖ bytes added that day
//!   (u64 BE); charged before the thing is made, so a refused call changes nothing;
//! - services deployed: counted over the deployed services (`lever`);
//! - DHT values put: counted over the node's stored values (`net::values`).

use std::fmt;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use crate::api::{ApiError, Value};
use crate::store::Store;
use crate::store::blocks::db_err;

/// `user_usage`: user ID to its counters (module doc).
pub const USER_USAGE: TableDefinition<&str, &[u8]> = TableDefinition::new("user_usage");

/// One quota setting: its SystemVars.json key, UCI option, bounds and what it counts.
pub struct QuotaKey {
    /// The SystemVars.json key.
    pub key: &'static str,
    /// The UCI option of `/etc/config/leither` (openwrt/).
    pub uci: &'static str,
    /// The default, chosen for a 64 MB router.
    pub default: u64,
    /// The largest value accepted (the smallest is 0: nothing for users).
    pub max: u64,
    /// What one unit is.
    pub what: &'static str,
}

/// Every quota, in the order written to SystemVars.json.
pub const KEYS: [QuotaKey; 6] = [
    QuotaKey {
        key: "QuotaSessions",
        uci: "quota_sessions",
        default: 16,
        max: 1000,
        what: "sessions at once",
    },
    QuotaKey {
        key: "QuotaHandles",
        uci: "quota_handles",
        default: 256,
        max: 4000,
        what: "open Mimei handles at once",
    },
    QuotaKey {
        key: "QuotaMimeis",
        uci: "quota_mimeis",
        default: 200,
        max: 10_000_000,
        what: "Mimeis created",
    },
    QuotaKey {
        key: "QuotaAddMBPerDay",
        uci: "quota_add_mb_per_day",
        default: 64,
        max: 1 << 30,
        what: "MiB of blocks added per day",
    },
    QuotaKey {
        key: "QuotaServices",
        uci: "quota_services",
        default: 4,
        max: 256,
        what: "Lever services deployed",
    },
    QuotaKey {
        key: "QuotaDhtValues",
        uci: "quota_dht_values",
        default: 64,
        max: 100_000,
        what: "DHT values stored",
    },
];

/// Index into [`KEYS`] of each quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// `QuotaSessions`.
    Sessions = 0,
    /// `QuotaHandles`.
    Handles = 1,
    /// `QuotaMimeis`.
    Mimeis = 2,
    /// `QuotaAddMBPerDay`.
    AddMbPerDay = 3,
    /// `QuotaServices`.
    Services = 4,
    /// `QuotaDhtValues`.
    DhtValues = 5,
}

impl Quota {
    /// Its setting.
    pub fn key(self) -> &'static QuotaKey {
        &KEYS[self as usize]
    }
}

/// The admission block of SystemVars.json: the quotas and `GrantServices`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quotas {
    values: [u64; 6],
    /// `GrantServices`: services `RequestService` grants to everyone who asks with a valid
    /// pass, which admits their key (default none).
    pub grant_services: Vec<String>,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            values: KEYS.map(|k| k.default),
            grant_services: Vec::new(),
        }
    }
}

impl Quotas {
    /// The limit of `q` for one user.
    pub fn limit(&self, q: Quota) -> u64 {
        self.values[q as usize]
    }

    /// Sets `q` (tests and the CLI; unchecked beyond the bound).
    pub fn set(&mut self, q: Quota, v: u64) {
        self.values[q as usize] = v.min(q.key().max);
    }

    /// Whether `key` belongs to this block.
    pub fn is_key(key: &str) -> bool {
        key == "GrantServices" || KEYS.iter().any(|k| k.key == key)
    }

    /// Reads one key of this block; on a bad value, the key and what was expected.
    pub fn parse_key(
        &mut self,
        key: &str,
        value: &Value,
    ) -> Result<(), (&'static str, &'static str)> {
        if key == "GrantServices" {
            let names = match value {
                Value::List(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>(),
                Value::Str(s) if s.is_empty() => Some(Vec::new()),
                Value::Str(s) => Some(s.split(',').map(|n| n.trim().to_string()).collect()),
                Value::Null => Some(Vec::new()),
                _ => None,
            };
            self.grant_services = names
                .filter(|n| n.len() <= 64 && n.iter().all(|s| !s.is_empty() && s.len() <= 64))
                .ok_or((
                    "GrantServices",
                    "a list of at most 64 service names granted to everyone",
                ))?;
            return Ok(());
        }
        for (i, k) in KEYS.iter().enumerate() {
            if k.key == key {
                self.values[i] = value
                    .as_i64()
                    .and_then(|v| u64::try_from(v).ok())
                    .filter(|v| *v <= k.max)
                    .ok_or((
                        k.key,
                        "a whole number from 0 up to its maximum (docs/cli.md)",
                    ))?;
            }
        }
        Ok(())
    }

    /// The block's entries for SystemVars.json.
    pub fn to_entries(&self) -> Vec<(String, Value)> {
        let mut v: Vec<(String, Value)> = KEYS
            .iter()
            .zip(self.values)
            .map(|(k, n)| (k.key.to_string(), Value::Int(n as i64)))
            .collect();
        v.push((
            "GrantServices".to_string(),
            Value::List(
                self.grant_services
                    .iter()
                    .map(|s| Value::Str(s.clone()))
                    .collect(),
            ),
        ));
        v
    }
}

/// A per-user quota would be exceeded.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaError {
    /// Which quota.
    pub quota: Quota,
    /// Its limit.
    pub limit: u64,
    /// The user.
    pub uid: String,
}

impl QuotaError {
    /// The refusal of `quota` at `limit` for `uid`.
    pub fn new(quota: Quota, limit: u64, uid: &str) -> QuotaError {
        QuotaError {
            quota,
            limit,
            uid: uid.to_string(),
        }
    }
}

impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.quota.key();
        write!(
            f,
            "quota {} reached: {} may have at most {} {}; free some, or the owner raises \
             \"{}\" in SystemVars.json (UCI option {}) and restarts the node",
            k.key, self.uid, self.limit, k.what, k.key, k.uci
        )
    }
}

impl std::error::Error for QuotaError {}

const FORMAT: u8 = 1;

/// A user's stored counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Mimeis created.
    pub mimeis: u64,
    /// The unix day of `bytes_today`.
    pub day: u64,
    /// Bytes added on `day`.
    pub bytes_today: u64,
}

impl Usage {
    fn decode(b: &[u8]) -> Usage {
        let u = |at: usize| {
            b.get(at..at + 8)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0)
        };
        if b.first() != Some(&FORMAT) {
            return Usage::default();
        }
        Usage {
            mimeis: u(1),
            day: u(9),
            bytes_today: u(17),
        }
    }

    fn encode(&self) -> [u8; 25] {
        let mut b = [0u8; 25];
        b[0] = FORMAT;
        b[1..9].copy_from_slice(&self.mimeis.to_be_bytes());
        b[9..17].copy_from_slice(&self.day.to_be_bytes());
        b[17..25].copy_from_slice(&self.bytes_today.to_be_bytes());
        b
    }
}

/// Reads `uid`'s counters.
pub fn usage(store: &Store, uid: &str) -> Result<Usage, ApiError> {
    let err = |e: redb::Error| ApiError::Store(db_err(store.path(), e));
    let tx = store.db().begin_read().map_err(|e| err(e.into()))?;
    let t = match tx.open_table(USER_USAGE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Usage::default()),
        Err(e) => return Err(err(e.into())),
    };
    Ok(t.get(uid)
        .map_err(|e| err(e.into()))?
        .map(|v| Usage::decode(v.value()))
        .unwrap_or_default())
}

/// Changes `uid`'s counters with `f` in one write, unless `f` refuses.
fn charge(
    store: &Store,
    uid: &str,
    f: impl FnOnce(&mut Usage) -> Result<(), QuotaError>,
) -> Result<(), ApiError> {
    let err = |e: redb::Error| ApiError::Store(db_err(store.path(), e));
    let tx = store.db().begin_write().map_err(|e| err(e.into()))?;
    {
        let mut t = tx.open_table(USER_USAGE).map_err(|e| err(e.into()))?;
        let mut u = t
            .get(uid)
            .map_err(|e| err(e.into()))?
            .map(|v| Usage::decode(v.value()))
            .unwrap_or_default();
        f(&mut u)?;
        t.insert(uid, u.encode().as_slice())
            .map_err(|e| err(e.into()))?;
    }
    tx.commit().map_err(|e| err(e.into()))
}

/// Counts one more Mimei created by `uid`, or refuses at `limit`.
pub fn charge_mimei(store: &Store, uid: &str, limit: u64) -> Result<(), ApiError> {
    charge(store, uid, |u| {
        if u.mimeis >= limit {
            return Err(QuotaError::new(Quota::Mimeis, limit, uid));
        }
        u.mimeis += 1;
        Ok(())
    })
}

/// Counts `bytes` added by `uid` today (`now` in unix seconds), or refuses when the day's
/// total would pass `limit_mb` MiB.
pub fn charge_bytes(
    store: &Store,
    uid: &str,
    bytes: u64,
    limit_mb: u64,
    now: u64,
) -> Result<(), ApiError> {
    let day = now / 86_400;
    charge(store, uid, |u| {
        if u.day != day {
            u.day = day;
            u.bytes_today = 0;
        }
        let total = u.bytes_today.saturating_add(bytes);
        if total > limit_mb.saturating_mul(1 << 20) {
            return Err(QuotaError::new(Quota::AddMbPerDay, limit_mb, uid));
        }
        u.bytes_today = total;
        Ok(())
    })
}

/// Charges `bytes` about to be added by `session`'s user against `QuotaAddMBPerDay`; the
/// owner is exempt. Call after [`crate::api::need_member`].
pub fn charge_add(
    store: &Store,
    session: &crate::api::Session,
    quotas: &Quotas,
    bytes: u64,
    now: u64,
) -> Result<(), ApiError> {
    if session.rights == crate::api::Rights::Owner {
        return Ok(());
    }
    charge_bytes(
        store,
        &session.uid,
        bytes,
        quotas.limit(Quota::AddMbPerDay),
        now,
    )
}

/// Charges one Mimei about to be created by `session`'s user against `QuotaMimeis`; the
/// owner is exempt.
pub fn charge_create(
    store: &Store,
    session: &crate::api::Session,
    quotas: &Quotas,
) -> Result<(), ApiError> {
    if session.rights == crate::api::Rights::Owner {
        return Ok(());
    }
    charge_mimei(store, &session.uid, quotas.limit(Quota::Mimeis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bounds() {
        let mut q = Quotas::default();
        assert_eq!(q.limit(Quota::Sessions), 16);
        q.parse_key("QuotaMimeis", &Value::Int(5)).unwrap();
        assert_eq!(q.limit(Quota::Mimeis), 5);
        assert!(q.parse_key("QuotaMimeis", &Value::Int(-1)).is_err());
        assert!(q.parse_key("QuotaServices", &Value::Int(257)).is_err());
        q.parse_key("GrantServices", &Value::Str("chat, mail".into()))
            .unwrap();
        assert_eq!(q.grant_services, ["chat", "mail"]);
        let mut back = Quotas::default();
        for (k, v) in q.to_entries() {
            assert!(Quotas::is_key(&k));
            back.parse_key(&k, &v).unwrap();
        }
        assert_eq!(back, q);
    }

    #[test]
    fn counters_refuse_at_the_limit_and_a_new_day_starts_over() {
        let d = std::env::temp_dir().join(format!("leither-quota-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let s = Store::open(&d, 1 << 20, "node").unwrap();
        charge_mimei(&s, "u", 2).unwrap();
        charge_mimei(&s, "u", 2).unwrap();
        let e = charge_mimei(&s, "u", 2).unwrap_err().to_string();
        assert!(
            e.contains("QuotaMimeis") && e.contains("quota_mimeis"),
            "{e}"
        );
        assert_eq!(usage(&s, "u").unwrap().mimeis, 2);
        charge_bytes(&s, "u", 1 << 20, 1, 0).unwrap();
        assert!(charge_bytes(&s, "u", 1, 1, 10).is_err());
        charge_bytes(&s, "u", 1, 1, 86_400).unwrap();
        drop(s);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
