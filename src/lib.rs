//! # leither
//!
//! One small binary that turns a router, a Raspberry Pi or a PC into a node of a
//! decentralized cloud. This crate is the whole node as a library; `src/main.rs` only calls
//! [`cli::main`].
//!
//! ## Layers
//!
//! Arrows point down only: a layer uses the ones below it, never the ones above.
//!
//! ```text
//! main.rs (argh)  ->  cli/        one file per command set; talks to the node over its API
//!                     node        assembles the services on one current_thread runtime;
//!                                 node/state.rs: NodeState, all one node holds (no globals)
//!                     daemon      home lock, pid/addr files, run -d, stop
//!                     http/       picoserve routes: /webapi/ (Hprose), /ws/, /api/ (JSON), /ipfs/ gateway
//!                                 (and the same routes over TLS on HttpsPort: http/tls.rs)
//!                     api/        the API table: each function once; codecs hprose, json
//!                     ops/        typed operations below every door: session to user, a Mimei
//!                                 opened with a needed right, release-else-last, database rights
//!                     accounts/   accounts registered on this node (Register, Login by name),
//!                                 admitted users, quotas, invitations between nodes
//!                     home        where the home is; init
//!                     mimei/      Mimei model: ids, rights, signed header and version records
//!                     store       redb tables under <home>/db/: meta, blocks, pins, gc
//!                     db/         the Redis-like engine; cur in redb, versions as prolly trees
//!                     ipfs/       sans-io IPFS formats: CID, dag-pb, UnixFS importer/exporter, CAR
//!                     pki/        ed25519 keys, Leither IDs, PeerIds, passes (PPT)
//!                     config      SystemVars.json (connection limits: limits)
//!                     budget      the memory budget connections, bodies and streams draw from
//!                     resp/       RESP2 codec (sans-io) and the redis-cli listener (feature `resp`)
//!                     lever/      Lever services over the API table (feature `lever`)
//!                     lua/        sandboxed Lua 5.4 states, limits, API bindings (feature `lever`)
//!                     log, fsutil, clock   the edges: log file, crash-safe writes, time
//! ```
//!
//! Doors (http/, api/'s functions, resp/, lever/) parse, call one operation of `ops/` and
//! format; rights and version rules are decided in `ops/`, never again in a door.
//!
//! Later layers (net/, dnn/) slot in between `api/` and `store` as
//! docs/architecture.md describes. `db::prolly`, the version format, is sans-io and used by
//! `store`'s gc to follow a version's links.
//!
//! ## One thread
//!
//! The node runs on a tokio `current_thread` runtime inside a `LocalSet`: no second runtime,
//! no threads of our own, no tokio blocking pool. State is shared with `Rc` and `RefCell`,
//! and no borrow is held across an `.await`. See docs/architecture.md.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod accounts;
pub mod alloc;
pub mod api;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
#[cfg(feature = "files")]
pub mod db;
#[cfg(feature = "files")]
pub mod dnn;
pub mod fsutil;
pub mod home;
pub mod http;
pub mod ipfs;
#[cfg(feature = "lever")]
pub mod lever;
pub mod limits;
pub mod log;
#[cfg(feature = "lever")]
pub mod lua;
pub mod mimei;
pub mod net;
pub mod node;
pub mod ops;
pub mod pki;
#[cfg(feature = "resp")]
pub mod resp;
#[cfg(feature = "lever")]
pub mod scripts;
pub mod store;
