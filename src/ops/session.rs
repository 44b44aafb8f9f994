//! Sessions to users: the one place a session id (or a [`Session`]) becomes the user it
//! stands for.
//!
//! Invariant: a session's `uid` is `""` (a guest) or a 27-character Leither ID, because
//! sessions are opened only by `Login` with a verified pass's signer, the node's own ID, or a
//! registered account's ID (src/api/fns_auth.rs). A `uid` that does not parse is therefore a
//! bug, reported as an internal error rather than served as a guest.

use crate::api::{ApiError, NodeState, Session};
use crate::pki::LeitherId;

/// The live session `sid` (`""` is the guest), kept alive by this use. An unknown or expired
/// session is refused: the client should sign in again, not be served as a guest.
pub fn touch(state: &NodeState, sid: &str) -> Result<Session, ApiError> {
    state
        .sessions
        .borrow_mut()
        .touch(sid, crate::clock::unix_now())
}

/// The user `s` stands for; `None` for a guest.
pub fn uid(s: &Session) -> Result<Option<LeitherId>, ApiError> {
    if s.uid.is_empty() {
        return Ok(None);
    }
    s.uid
        .parse()
        .map(Some)
        .map_err(|_| ApiError::Internal(format!("session user \"{}\" is not an ID", s.uid)))
}

/// The user the session `sid` stands for ([`touch`], then [`uid`]).
pub fn user(state: &NodeState, sid: &str) -> Result<Option<LeitherId>, ApiError> {
    uid(&touch(state, sid)?)
}
