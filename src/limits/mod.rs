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
