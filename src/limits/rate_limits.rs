//! The rate settings of `SystemVars.json` (issue #15, item 2): how many calls a second one
//! address may make as a guest or visitor and as a user, how many failed logins a minute
//! one address may have, and how many password hashes a second the whole node computes.
//!
//! A block of its own, like [`super::ConnLimits`]: [`RateLimits::parse_key`] takes the keys
//! it knows, [`RateLimits::entries`] writes them back. The buckets that apply them are
//! [`super::rate`]; who pays which is [`crate::ops::rate`].

use super::rate::Rate;
use crate::api::Value;

/// The settings, each with its `SystemVars.json` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// `RateCallsPerSec`: calls a second one address may make as a guest or visitor
    /// (default 20).
    pub calls_per_sec: u64,
    /// `RateBurst`: calls such an address may make at once (default 100: a web app loading
    /// makes dozens).
    pub burst: u64,
    /// `RateUserCallsPerSec`: calls a second one address may make with a user's session
    /// (default 100).
    pub user_calls_per_sec: u64,
    /// `RateUserBurst`: calls at once with a user's session (default 400).
    pub user_burst: u64,
    /// `LoginFailuresPerMin`: failed logins by name (and `Register` attempts) one address
    /// may have a minute; past it, no password is hashed for it (default 10).
    pub login_failures_per_min: u64,
    /// `LoginHashesPerSec`: password hashes (PBKDF2, ~10 ms on x86, ~40 ms on MIPS) the node
    /// computes a second for all addresses together (default 10).
    pub login_hashes_per_sec: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            calls_per_sec: 20,
            burst: 100,
            user_calls_per_sec: 100,
            user_burst: 400,
            login_failures_per_min: 10,
            login_hashes_per_sec: 10,
        }
    }
}

/// The keys, their ranges and what a refusal says is expected.
const KEYS: &[(&str, u64, u64, &str)] = &[
    (
        "RateCallsPerSec",
        1,
        1_000_000,
        "a number of calls from 1 to 1000000",
    ),
    (
        "RateBurst",
        1,
        1_000_000,
        "a number of calls from 1 to 1000000",
    ),
    (
        "RateUserCallsPerSec",
        1,
        1_000_000,
        "a number of calls from 1 to 1000000",
    ),
    (
        "RateUserBurst",
        1,
        1_000_000,
        "a number of calls from 1 to 1000000",
    ),
    (
        "LoginFailuresPerMin",
        1,
        100_000,
        "a number of failed logins from 1 to 100000",
    ),
    (
        "LoginHashesPerSec",
        1,
        10_000,
        "a number of hashes from 1 to 10000",
    ),
];

impl RateLimits {
    /// Takes `key` if it is one of these settings: `Ok(true)` when taken, `Ok(false)` when
    /// the key is not ours, `Err((key, expected))` when the value is out of range.
    pub fn parse_key(
        &mut self,
        key: &str,
        value: &Value,
    ) -> Result<bool, (&'static str, &'static str)> {
        let Some((name, n)) = super::ranged(KEYS, key, value)? else {
            return Ok(false);
        };
        match name {
            "RateCallsPerSec" => self.calls_per_sec = n,
            "RateBurst" => self.burst = n,
            "RateUserCallsPerSec" => self.user_calls_per_sec = n,
            "RateUserBurst" => self.user_burst = n,
            "LoginFailuresPerMin" => self.login_failures_per_min = n,
            _ => self.login_hashes_per_sec = n,
        }
        Ok(true)
    }

    /// The settings as `SystemVars.json` entries, in a fixed order.
    pub fn entries(&self) -> Vec<(String, Value)> {
        let n = |v: u64| Value::Int(v as i64);
        vec![
            (KEYS[0].0.into(), n(self.calls_per_sec)),
            (KEYS[1].0.into(), n(self.burst)),
            (KEYS[2].0.into(), n(self.user_calls_per_sec)),
            (KEYS[3].0.into(), n(self.user_burst)),
            (KEYS[4].0.into(), n(self.login_failures_per_min)),
            (KEYS[5].0.into(), n(self.login_hashes_per_sec)),
        ]
    }

    /// Calls of a guest or visitor address.
    pub fn guest(&self) -> Rate {
        Rate::per_sec(self.calls_per_sec, self.burst)
    }

    /// Calls of an address with a user's session.
    pub fn user(&self) -> Rate {
        Rate::per_sec(self.user_calls_per_sec, self.user_burst)
    }

    /// Failed logins of one address.
    pub fn login_failures(&self) -> Rate {
        Rate::per_min(self.login_failures_per_min)
    }

    /// Password hashes of the whole node.
    pub fn hashes(&self) -> Rate {
        Rate::per_sec(self.login_hashes_per_sec, self.login_hashes_per_sec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_validate_and_round_trip() {
        let mut l = RateLimits::default();
        assert_eq!(l.parse_key("Other", &Value::Int(1)), Ok(false));
        assert_eq!(l.parse_key("RateCallsPerSec", &Value::Int(5)), Ok(true));
        assert_eq!(l.guest(), Rate::per_sec(5, 100));
        assert_eq!(
            l.parse_key("LoginFailuresPerMin", &Value::Int(0)),
            Err((
                "LoginFailuresPerMin",
                "a number of failed logins from 1 to 100000"
            ))
        );
        assert!(l.parse_key("RateBurst", &Value::Str("5".into())).is_err());
        let mut again = RateLimits::default();
        for (k, v) in l.entries() {
            assert_eq!(again.parse_key(&k, &v), Ok(true));
        }
        assert_eq!(again, l);
    }
}
