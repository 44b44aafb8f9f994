//! RESP, the Redis protocol (RESP2, and RESP3 after `HELLO 3`), as a front door to Mimei
//! databases: [`proto`] is the sans-io codec (requests in, replies out; numbers through
//! `db::num`, as Redis 7.0 reads and writes them) and [`server`] is the listener that drives
//! it over TCP (`RespPort` in SystemVars.json) onto the database engine (docs/db.md). The
//! rest are the connection commands, one concept per file: [`blocking`] (BLPOP and
//! friends), [`hello`] (the protocol), [`client`] (`CLIENT`), [`config`] (`CONFIG`),
//! [`object`] (`OBJECT`), [`info`] (`INFO`), [`movekey`] (`MOVE`, `COPY ... DB`), [`swapdb`], and
//! [`node`], what the door keeps per node.

pub mod blocking;
pub mod client;
pub mod config;
pub mod hello;
pub mod info;
pub mod movekey;
pub mod node;
pub mod object;
pub mod proto;
pub mod server;
pub mod swapdb;
