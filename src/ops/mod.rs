//! Typed operations: what the node does, once, below every front door.
//!
//! A door (the API table's Hprose and JSON functions, the `/mm/` and `/tpt/` routes, Lever,
//! RESP, the CLI through the API) parses its input, calls one operation here and formats the
//! answer. Rights and the rules that pick a version are decided here, so two doors cannot
//! disagree on who may read a Mimei or which version a visitor gets.
//!
//! One concept per file:
//! - [`session`]: the one place a session id becomes a user;
//! - [`blocks`]: who may read a block by its CID, and what a change may take into a Mimei;
//! - [`mimei`]: a Mimei opened with a needed right, the version visitors get, Mimeis the node
//!   authors for itself;
//! - [`db`] (feature `files`): who may run a database command, the node's default database;
//! - [`rate`]: who pays which rate bucket (calls and password hashes per address).
//!
//! The UnixFS path lookup every walk shares is `ipfs::exporter::find_in`: it sits below
//! `store`, which needs it too, so it cannot live here.
//!
//! Errors are the model's (`MimeiStoreError`, `MimeiError`) or, for sessions, the API's:
//! each door maps them to its own shape (an HTTP status, a RESP `-ERR`, a Lever error).

pub mod blocks;
#[cfg(feature = "files")]
pub mod db;
pub mod mimei;
pub mod rate;
pub mod session;
