//! Limits on what outsiders may take of the node (issue #15, "Trust nobody by default";
//! docs/security.md): connections and their slots, and the rate of calls and logins per
//! address.
//!
//! One concept per file:
//! - [`conn`]: the connection settings (`HttpMaxConnections`, `RespMaxConnections`, ...);
//! - [`slots`]: the slots of one port and who goes when they run short (HTTP and RESP);
//! - [`rate_limits`]: the rate settings (`RateCallsPerSec`, `LoginFailuresPerMin`, ...);
//! - [`rate`]: token buckets per address, bounded, sans-io.
//!
//! Who pays which bucket (guests, users, the owner's loopback) is decided above, in
//! [`crate::ops::rate`]; the doors (HTTP, RESP) only call it.

pub mod conn;
pub mod rate;
pub mod rate_limits;
pub mod slots;

pub use conn::{ConnLimits, deepen_backlog};
pub use rate_limits::RateLimits;

/// A setting of `keys` (name, lowest, highest, what is expected): `Ok(None)` when `key` is
/// none of them, `Ok(Some((name, n)))` when its value is a whole number in range, else
/// `Err((name, expected))`. Shared by [`ConnLimits`] and [`RateLimits`].
fn ranged(
    keys: &[(&'static str, u64, u64, &'static str)],
    key: &str,
    value: &crate::api::Value,
) -> Result<Option<(&'static str, u64)>, (&'static str, &'static str)> {
    let Some(&(name, lo, hi, expected)) = keys.iter().find(|k| k.0 == key) else {
        return Ok(None);
    };
    value
        .as_i64()
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| (lo..=hi).contains(n))
        .map(|n| Some((name, n)))
        .ok_or((name, expected))
}
