//! RESP2, the Redis protocol, as a front door to Mimei databases: [`proto`] is the sans-io
//! codec (requests in, replies out; numbers through `db::num`, as Redis 7.0 reads and writes
//! them) and [`server`] is the listener that drives it over TCP (`RespPort` in
//! SystemVars.json) onto the database engine (docs/db.md).

pub mod proto;
pub mod server;
