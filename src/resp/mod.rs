//! RESP2, the Redis protocol, as a front door to Mimei databases: [`proto`] is the sans-io
//! codec (requests in, replies out) and [`num`] reads and writes numbers exactly as Redis
//! 7.0 does. The listener that drives them over TCP (`RespPort` in SystemVars.json) sits
//! beside them.

pub mod num;
pub mod proto;
pub mod server;
