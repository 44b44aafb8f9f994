//! The Lua runtime of apps: sandboxed Lua 5.4 states ([`sandbox`]), per-call limits
//! ([`meter`]), values to and from the API ([`convert`]) and the modules that bind the API
//! table with the caller's rights ([`bindings`]).
//!
//! Everything here runs on the node's one thread. A call is a coroutine driven as a future
//! (mlua's async support), so a handler that waits on I/O yields and the node goes on serving.

pub mod bindings;
pub mod convert;
pub mod leither_modules;
pub mod meter;
pub mod pattern;
pub mod sandbox;
pub mod strlib;
