//! The error every API function returns, and how each front door shows it.
//!
//! One enum for the whole table; [`ApiError::http_status`] gives the status for the JSON
//! front door (`POST /api/<Function>`), and the message ([`fmt::Display`]) is what Hprose
//! clients receive in an `E` reply and what the CLI prints.

use std::fmt;

use crate::pki::PkiError;
use crate::store::StoreError;

/// Why an API call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// No function of that name exists.
    UnknownFunction(String),
    /// The arguments do not fit the function.
    BadArguments {
        /// The function called.
        function: &'static str,
        /// What is wrong, e.g. "argument 2 (name) must be a string, got an integer".
        message: String,
    },
    /// The function needs a session and none (or an unknown one) was given.
    NoSession {
        /// The function called.
        function: &'static str,
    },
    /// The session was valid once but has expired or was logged out.
    SessionExpired,
    /// The session has too few rights for the function.
    Forbidden {
        /// The function called.
        function: &'static str,
        /// The rights it needs.
        need: &'static str,
    },
    /// A backend function (`BE*`, the sessions with values) called by a client: only an
    /// app's own running code holds them (docs/apps.md).
    NotAppCode {
        /// The function called.
        function: &'static str,
    },
    /// The session's key signed a valid pass but is not a user of this node, and the function
    /// uses the node's shared resources (docs/security.md, "Who may do what").
    NotAdmitted {
        /// The function called.
        function: &'static str,
        /// The caller's user ID.
        uid: String,
    },
    /// A per-user quota would be exceeded ([`crate::accounts::quota`]).
    Quota(crate::accounts::quota::QuotaError),
    /// A rate limit per address (or the node's password hashes) was reached
    /// ([`crate::ops::rate`]); the door adds `Retry-After`.
    RateLimited(crate::ops::rate::Limited),
    /// A pass (PPT) was refused.
    Pass(PkiError),
    /// An account operation failed (a name taken, a wrong password, registration closed).
    Account(crate::accounts::AccountError),
    /// An invitation between nodes was refused, or inviting failed
    /// ([`crate::accounts::invite`]).
    Invite(crate::accounts::invite::InviteError),
    /// A named thing does not exist (a variable, a Mimei, ...).
    NotFound(String),
    /// The node is at a limit (sessions, connections); try again later.
    Busy(String),
    /// Leither has this call, form or name, but this node does not do it; the message says
    /// why and what to use instead.
    NotSupported(String),
    /// The store failed.
    Store(StoreError),
    /// Something failed inside the node; the message says what.
    Internal(String),
    /// A Mimei operation failed: a missing right (with the reason), a bad name, a record that
    /// failed verification, a missing version.
    Mimei(crate::mimei::store::MimeiStoreError),
    /// A block asked for by its CID is content of a private Mimei the caller may not read
    /// (`ops::blocks`, docs/security.md "Blocks by CID").
    Block(crate::ops::blocks::BlockError),
    /// A database command failed (wrong type, bad number, read-only version, conflict); the
    /// text is Redis's.
    #[cfg(feature = "files")]
    Db {
        /// The function.
        function: &'static str,
        /// What failed.
        error: Box<crate::db::DbError>,
    },
    /// A Lever operation failed (deploy, rollback, a call).
    #[cfg(feature = "lever")]
    Lever(crate::lever::LeverError),
    /// A network operation failed (dial, DHT, publish, sync).
    #[cfg(feature = "net")]
    Net(Box<crate::net::NetError>),
    /// A DNN operation failed (a report refused, a domain taken).
    #[cfg(feature = "files")]
    Dnn(crate::dnn::DnnError),
}

impl ApiError {
    /// A failed database command of `function`.
    #[cfg(feature = "files")]
    pub fn db(function: &'static str, error: crate::db::DbError) -> ApiError {
        ApiError::Db {
            function,
            error: Box::new(error),
        }
    }

    /// The HTTP status for the JSON front door.
    pub fn http_status(&self) -> u16 {
        match self {
            ApiError::UnknownFunction(_) | ApiError::NotFound(_) => 404,
            ApiError::BadArguments { .. } => 400,
            ApiError::NoSession { .. } | ApiError::SessionExpired | ApiError::Pass(_) => 401,
            ApiError::Forbidden { .. }
            | ApiError::NotAdmitted { .. }
            | ApiError::NotAppCode { .. } => 403,
            ApiError::Quota(_) | ApiError::RateLimited(_) => 429,
            ApiError::Account(e) => e.http_status(),
            ApiError::Invite(e) => e.http_status(),
            ApiError::Busy(_) => 503,
            ApiError::NotSupported(_) => 501,
            ApiError::Store(_) | ApiError::Internal(_) => 500,
            ApiError::Mimei(e) => e.http_status(),
            ApiError::Block(e) => e.http_status(),
            #[cfg(feature = "files")]
            ApiError::Db { error, .. } => error.http_status(),
            #[cfg(feature = "lever")]
            ApiError::Lever(e) => e.http_status(),
            #[cfg(feature = "net")]
            ApiError::Net(e) => e.http_status(),
            #[cfg(feature = "files")]
            ApiError::Dnn(e) => e.http_status(),
        }
    }

    /// A short machine-readable code for the JSON error object.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::UnknownFunction(_) => "unknown_function",
            ApiError::BadArguments { .. } => "bad_arguments",
            ApiError::NoSession { .. } => "no_session",
            ApiError::SessionExpired => "session_expired",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotAdmitted { .. } => "not_admitted",
            ApiError::NotAppCode { .. } => "not_app_code",
            ApiError::Quota(_) => "quota",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Pass(_) => "pass_refused",
            ApiError::Account(_) => "account",
            ApiError::Invite(_) => "invite",
            ApiError::NotFound(_) => "not_found",
            ApiError::Busy(_) => "busy",
            ApiError::NotSupported(_) => "not_supported",
            ApiError::Store(_) => "store",
            ApiError::Internal(_) => "internal",
            ApiError::Mimei(_) => "mimei",
            ApiError::Block(_) => "private",
            #[cfg(feature = "files")]
            ApiError::Db { .. } => "db",
            #[cfg(feature = "lever")]
            ApiError::Lever(e) => e.code(),
            #[cfg(feature = "net")]
            ApiError::Net(_) => "net",
            #[cfg(feature = "files")]
            ApiError::Dnn(_) => "dnn",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::UnknownFunction(name) => write!(
                f,
                "Can't find this function {name}(). The node's functions are listed by an empty Hprose call, in docs/api.md and, against Leither's, in docs/compat.md"
            ),
            ApiError::BadArguments { function, message } => write!(f, "{function}: {message}"),
            ApiError::NoSession { function } => write!(
                f,
                "{function} needs a session as its first argument; call Login first"
            ),
            ApiError::SessionExpired => write!(
                f,
                "the session has expired or was logged out; call Login again"
            ),
            ApiError::Forbidden { function, need } => {
                write!(f, "{function} needs {need} rights; this session has fewer")
            }
            ApiError::NotAppCode { function } => write!(
                f,
                "{function} is a backend function: only an app's own running code holds it \
                 (`lapi` in its Lua entry, run by RunMApp or /entry); a client cannot call it, \
                 so no one can act as an app (docs/apps.md)"
            ),
            ApiError::NotAdmitted { function, uid } => write!(
                f,
                "{function} uses this node's storage or services, which only its users may: \
                 {uid} is not admitted here. The owner admits a key with \
                 `leither lpki addkey -i {uid}`; or Register an account where registration is open"
            ),
            ApiError::Quota(e) => write!(f, "{e}"),
            ApiError::RateLimited(e) => write!(f, "{e}"),
            ApiError::Pass(e) => write!(f, "pass refused: {e}"),
            ApiError::Account(e) => write!(f, "{e}"),
            ApiError::Invite(e) => write!(f, "{e}"),
            ApiError::NotFound(what) => write!(f, "{what}"),
            ApiError::Busy(what) => write!(f, "{what}"),
            ApiError::NotSupported(why) => write!(f, "{why}"),
            ApiError::Store(e) => write!(f, "{e}"),
            ApiError::Internal(e) => write!(f, "internal error: {e}"),
            ApiError::Mimei(e) => write!(f, "{e}"),
            ApiError::Block(e) => write!(f, "{e}"),
            #[cfg(feature = "files")]
            ApiError::Db { function, error } => write!(f, "{function}: {error}"),
            #[cfg(feature = "lever")]
            ApiError::Lever(e) => write!(f, "{e}"),
            #[cfg(feature = "net")]
            ApiError::Net(e) => write!(f, "{e}"),
            #[cfg(feature = "files")]
            ApiError::Dnn(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        ApiError::Account(e)
    }
}

impl From<crate::accounts::invite::InviteError> for ApiError {
    fn from(e: crate::accounts::invite::InviteError) -> Self {
        match e {
            crate::accounts::invite::InviteError::Store(e) => ApiError::Store(e),
            other => ApiError::Invite(other),
        }
    }
}

impl From<crate::accounts::quota::QuotaError> for ApiError {
    fn from(e: crate::accounts::quota::QuotaError) -> Self {
        ApiError::Quota(e)
    }
}

impl From<crate::ops::rate::Limited> for ApiError {
    fn from(e: crate::ops::rate::Limited) -> Self {
        ApiError::RateLimited(e)
    }
}

impl ApiError {
    /// Seconds a client should wait before it tries again, when the error says so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited(l) => Some(l.retry_after()),
            _ => None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl From<crate::ipfs::exporter::ExportError> for ApiError {
    fn from(e: crate::ipfs::exporter::ExportError) -> Self {
        match e {
            crate::ipfs::exporter::ExportError::Missing(c) => {
                ApiError::NotFound(format!("block {c} not found on this node"))
            }
            other => ApiError::Internal(format!("cannot read the DAG: {other}")),
        }
    }
}

impl From<crate::mimei::store::MimeiStoreError> for ApiError {
    fn from(e: crate::mimei::store::MimeiStoreError) -> Self {
        ApiError::Mimei(e)
    }
}

impl From<crate::mimei::MimeiError> for ApiError {
    fn from(e: crate::mimei::MimeiError) -> Self {
        ApiError::Mimei(e.into())
    }
}

impl From<crate::ops::blocks::BlockError> for ApiError {
    fn from(e: crate::ops::blocks::BlockError) -> Self {
        match e {
            crate::ops::blocks::BlockError::Store(e) => ApiError::Store(e),
            other => ApiError::Block(other),
        }
    }
}

impl From<PkiError> for ApiError {
    fn from(e: PkiError) -> Self {
        ApiError::Pass(e)
    }
}

#[cfg(feature = "lever")]
impl From<crate::lever::LeverError> for ApiError {
    fn from(e: crate::lever::LeverError) -> Self {
        ApiError::Lever(e)
    }
}
