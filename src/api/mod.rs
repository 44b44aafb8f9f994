//! The API table: every function of the node, written once, reached through every front
//! door (Hprose over HTTP and WebSocket, JSON over HTTP, the CLI, and later Lua).
//!
//! A front door decodes a call into a name and a list of [`Value`]s and hands it to
//! [`call`]. The table ([`table::all`]) says, per function, what session it needs; the
//! dispatcher checks that before the function runs, so no function can forget it.
//!
//! Adding a function: write it in the file of its subsystem (here `fns_node.rs`), add one
//! [`ApiFn`] row to that subsystem's slice of the table (`table/<subsystem>.rs`), and bless
//! docs/api.md (a test checks they agree).

pub mod args;
#[cfg(feature = "files")]
pub mod db_call;
#[cfg(feature = "files")]
pub mod db_value;
pub mod error;
pub mod fns_auth;
#[cfg(feature = "lever")]
pub mod fns_backend;
#[cfg(feature = "files")]
pub mod fns_db;
#[cfg(feature = "files")]
pub mod fns_dnn;
pub mod fns_files;
pub mod fns_ipfs;
#[cfg(feature = "lever")]
pub mod fns_lever;
#[cfg(feature = "files")]
pub mod fns_mimei;
#[cfg(feature = "net")]
pub mod fns_net;
pub mod fns_node;
#[cfg(feature = "lever")]
pub mod fns_script;
pub mod fns_trust;
#[cfg(feature = "net")]
pub mod fns_tunnel;
pub mod fns_var;
pub mod gob;
pub mod hprose;
pub mod json;
#[cfg(feature = "files")]
pub mod mf_handles;
pub mod remote;
pub mod session;
pub mod sysstat;
pub mod table;
pub mod value;

#[cfg(test)]
pub(crate) mod tests;

use std::future::Future;
use std::pin::Pin;

/// The node's state lives in the node layer (`crate::node::NodeState`); this re-export keeps
/// the many `crate::api::NodeState` imports of the doors and tests working.
pub use crate::node::NodeState;
pub use error::ApiError;
pub use session::{Rights, Session};
pub use value::Value;

tokio::task_local! {
    /// The address of the peer on the other end of the connection a call came over (set by
    /// the HTTP front door; `DnnReport` and the DNN page need it).
    pub static REMOTE: Option<std::net::SocketAddr>;
}

/// The caller's address, when the call came over a connection that knows it.
pub fn remote_addr() -> Option<std::net::SocketAddr> {
    REMOTE.try_with(|r| *r).ok().flatten()
}

/// What an API function returns.
pub type ApiResult = Result<Value, ApiError>;

/// The future an API function returns. Not `Send`: everything runs on the node's one thread.
pub type ApiFuture<'a> = Pin<Box<dyn Future<Output = ApiResult> + 'a>>;

/// One call as a function sees it.
pub struct Call<'a> {
    /// The node.
    pub state: &'a NodeState,
    /// The caller's session, checked by the dispatcher (None for public functions).
    pub session: Option<Session>,
    /// The arguments in Leither's order (the session id, when there is one, is `args[0]`).
    pub args: Vec<Value>,
    /// The function's table entry.
    pub entry: &'static ApiFn,
}

/// Who may call a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a session (e.g. `Login`).
    Public,
    /// A session with at least these rights, passed as the first argument.
    Session(Rights),
}

impl Access {
    /// For the API reference.
    pub fn describe(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Session(Rights::Guest) => "any session",
            Access::Session(Rights::Visitor) => "signed session",
            Access::Session(Rights::User) => "user session",
            Access::Session(Rights::Owner) => "owner session",
        }
    }
}

/// A function of the table.
pub struct ApiFn {
    /// Leither's name, e.g. `GetVar`.
    pub name: &'static str,
    /// Parameters in order, e.g. `sid, name`.
    pub params: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line: what it does and returns.
    pub doc: &'static str,
    /// The implementation.
    pub run: for<'a> fn(Call<'a>) -> ApiFuture<'a>,
}

/// Finds a function by name.
pub fn lookup(name: &str) -> Option<&'static ApiFn> {
    lookup_in(table::TABLES, name)
}

/// Exact names first; then, as Hprose servers do, a case-insensitive match.
fn lookup_in(tables: &'static [&'static [ApiFn]], name: &str) -> Option<&'static ApiFn> {
    let all = || tables.iter().flat_map(|t| t.iter());
    all()
        .find(|f| f.name == name)
        .or_else(|| all().find(|f| f.name.eq_ignore_ascii_case(name)))
}

/// The names of all functions, in table order (the Hprose function list).
pub fn names() -> impl Iterator<Item = &'static str> {
    table::all().map(|f| f.name)
}

/// Calls `name` with `args`: looks it up, checks the session and rights, runs it.
pub async fn call(state: &NodeState, name: &str, args: Vec<Value>) -> ApiResult {
    call_in(table::TABLES, state, name, args).await
}

/// Calls `name` for a client of a front door (JSON, Hprose over HTTP and WebSocket): the call is first paid from
/// the rate bucket of the caller's address ([`crate::ops::rate`]: guests and visitors pay
/// `RateCallsPerSec`, a user's session `RateUserCallsPerSec`; the owner and the node's
/// loopback nothing), then made as [`call`]. The session is looked up from the first
/// argument without being extended; a call that does not carry one pays as a guest's.
/// Calls inside the node (Lua, the CLI in-process) use [`call`] and pay nothing.
pub async fn call_at_door(state: &NodeState, name: &str, args: Vec<Value>) -> ApiResult {
    let sid = args.first().and_then(Value::as_str);
    crate::ops::rate::charge_sid(
        state,
        crate::ops::rate::caller_ip(),
        sid,
        crate::limits::rate::Cost::CALL,
    )?;
    call(state, name, args).await
}

/// [`call`] on other tables (tests use one with functions the real table lacks yet).
pub async fn call_in(
    tables: &'static [&'static [ApiFn]],
    state: &NodeState,
    name: &str,
    args: Vec<Value>,
) -> ApiResult {
    let entry =
        lookup_in(tables, name).ok_or_else(|| ApiError::UnknownFunction(truncate(name, 64)))?;
    let session = match entry.access {
        Access::Public => None,
        Access::Session(need) => {
            let sid = match args.first() {
                // "" is Leither's guest session (SessionTable::touch).
                Some(Value::Str(s)) => s.as_str(),
                _ => {
                    return Err(ApiError::NoSession {
                        function: entry.name,
                    });
                }
            };
            let s = crate::ops::session::touch(state, sid)?;
            if s.rights == Rights::Visitor && need == Rights::User {
                return Err(ApiError::NotAdmitted {
                    function: entry.name,
                    uid: s.uid,
                });
            }
            if s.rights < need {
                return Err(ApiError::Forbidden {
                    function: entry.name,
                    need: need.as_str(),
                });
            }
            Some(s)
        }
    };
    (entry.run)(Call {
        state,
        session,
        args,
        entry,
    })
    .await
}

/// Refuses a session that is not a user of this node (the owner, an admitted key, an
/// account) for a `function` that uses the node's shared resources; the error tells a visitor
/// how to be admitted.
pub fn need_member(s: &Session, function: &'static str) -> Result<(), ApiError> {
    match s.rights {
        Rights::User | Rights::Owner => Ok(()),
        Rights::Visitor => Err(ApiError::NotAdmitted {
            function,
            uid: s.uid.clone(),
        }),
        Rights::Guest => Err(ApiError::Forbidden {
            function,
            need: Rights::User.as_str(),
        }),
    }
}

/// [`need_member`], then charges `bytes` about to be stored to the session's user
/// (`QuotaAddMBPerDay`; the owner is exempt).
pub fn need_member_to_add(
    state: &NodeState,
    s: &Session,
    function: &'static str,
    bytes: usize,
) -> Result<(), ApiError> {
    need_member(s, function)?;
    let quotas = state.vars.borrow().quotas.clone();
    crate::accounts::quota::charge_add(
        &state.store,
        s,
        &quotas,
        bytes as u64,
        crate::clock::unix_now(),
    )
}

/// Cuts `s` to at most `max` bytes on a character boundary (names from outside in messages).
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}
