//! Limits on what outsiders may take of the node (issue #15, "Trust nobody by default";
//! docs/security.md): connections and their slots.
//!
//! One concept per file:
//! - [`conn`]: the connection settings (`HttpMaxConnections`, ...);
//! - [`slots`]: the slots of one port and who goes when they run short.

pub mod conn;
pub mod slots;

pub use conn::ConnLimits;
