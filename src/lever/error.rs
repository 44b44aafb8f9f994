//! Why a Lever call or deployment failed, and the HTTP status each reason maps to.
//!
//! Lever's HTTP contract: `400` for a malformed request, `500` with a JSON error for an error
//! raised by the service's code (a Lua error, a limit hit), `404` for a missing service or
//! method. Every message says what happened and, where there is one, what to do.

use std::fmt;

/// A failed Lever operation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LeverError {
    /// `lever.json` is invalid; `field` names the field (or `lever.json` for the file).
    Manifest {
        /// The field at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The app's code could not be read or compiled at deploy (syntax errors carry file:line).
    Code(String),
    /// The request is malformed (bad URL, body that is not a JSON array, ...).
    BadRequest(String),
    /// The caller's session is unknown or has expired (log in again).
    Session(String),
    /// No such service in the environment.
    NoService {
        /// The environment.
        env: String,
        /// The service asked for.
        service: String,
    },
    /// The service has no such method.
    NoMethod {
        /// The service.
        service: String,
        /// The method asked for.
        method: String,
    },
    /// A private service called from outside its environment.
    Private {
        /// The service.
        service: String,
        /// Its environment.
        env: String,
    },
    /// The service's code raised an error (message with file:line as Lua gives it).
    Lua(String),
    /// A per-call or per-instance limit stopped the call.
    Limit(String),
    /// The node cannot take the call now (memory budget for instances full).
    Busy(String),
    /// A name the node's own routes use, or another conflict.
    Conflict(String),
    /// Reading the app's Mimei failed.
    App(String),
    /// The node could not read or write a service's own settings (its env and database) in
    /// its store.
    Settings(String),
}

impl LeverError {
    /// The HTTP status of Lever's contract.
    pub fn http_status(&self) -> u16 {
        match self {
            LeverError::Manifest { .. } | LeverError::Code(_) | LeverError::BadRequest(_) => 400,
            LeverError::NoService { .. } | LeverError::NoMethod { .. } => 404,
            LeverError::Session(_) => 401,
            LeverError::Private { .. } => 403,
            LeverError::Lua(_)
            | LeverError::Limit(_)
            | LeverError::App(_)
            | LeverError::Settings(_) => 500,
            LeverError::Busy(_) => 503,
            LeverError::Conflict(_) => 409,
        }
    }

    /// A short machine-readable code for the JSON error object.
    pub fn code(&self) -> &'static str {
        match self {
            LeverError::Manifest { .. } => "lever_json",
            LeverError::Code(_) => "code",
            LeverError::BadRequest(_) => "bad_request",
            LeverError::Session(_) => "session_expired",
            LeverError::NoService { .. } => "no_service",
            LeverError::NoMethod { .. } => "no_method",
            LeverError::Private { .. } => "private",
            LeverError::Lua(_) => "lua_error",
            LeverError::Limit(_) => "limit",
            LeverError::Busy(_) => "busy",
            LeverError::Conflict(_) => "conflict",
            LeverError::App(_) => "app",
            LeverError::Settings(_) => "settings",
        }
    }

    pub(crate) fn manifest(field: &str, message: impl Into<String>) -> LeverError {
        LeverError::Manifest {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for LeverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeverError::Manifest { field, message } => {
                write!(f, "lever.json: {field}: {message}")
            }
            LeverError::Code(m) => write!(f, "{m}"),
            LeverError::BadRequest(m) => write!(f, "{m}"),
            LeverError::Session(m) => write!(f, "{m}"),
            LeverError::NoService { env, service } => write!(
                f,
                "no service \"{service}\" in environment {env}; `leither lever ls` lists them, \
                 `leither lever deploy DIR --env {env}` adds one"
            ),
            LeverError::NoMethod { service, method } => write!(
                f,
                "service \"{service}\" has no method \"{method}\" (methods are the functions of \
                 the table its luaEntry returns)"
            ),
            LeverError::Private { service, env } => write!(
                f,
                "service \"{service}\" is private to environment {env}; only calls from inside \
                 it are answered"
            ),
            LeverError::Lua(m) => write!(f, "{m}"),
            LeverError::Limit(m) => write!(f, "{m}"),
            LeverError::Busy(m) => write!(f, "{m}"),
            LeverError::Conflict(m) => write!(f, "{m}"),
            LeverError::App(m) => write!(f, "{m}"),
            LeverError::Settings(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for LeverError {}
