//! Database Mimeis: who may run a command on one, and the node's default database.
//!
//! The API's database functions (src/api/db_call.rs) and the RESP listener
//! (src/resp/server.rs) both ask [`may_run`], so `Get` over Hprose and `GET` over redis-cli
//! are allowed for exactly the same callers.

use crate::mimei::{MimeiError, MimeiId, MimeiType, Right, Rights};
use crate::node::NodeState;
use crate::pki::LeitherId;

/// The mark of the owner's default database Mimei (what a RESP connection starts on).
pub const DEFAULT_MARK: &str = "leither-resp-default";

/// May `user` run a command that reads (`write` false) or writes the database with `rights`,
/// at `version` (`None` = `cur`)? A write needs write. A read needs read, except on `cur`,
/// which a writer may also read (what it writes it may see). The error is the refusal of the
/// right that was missing.
pub fn may_run(
    rights: &Rights,
    user: Option<&LeitherId>,
    write: bool,
    version: Option<u64>,
) -> Result<(), MimeiError> {
    if write {
        rights.check(user, Right::WRITE)
    } else if version.is_some() || rights.check(user, Right::WRITE).is_err() {
        rights.check(user, Right::READ)
    } else {
        Ok(())
    }
}

/// The owner's default database Mimei (mark [`DEFAULT_MARK`]), made on first use and then
/// remembered in the node's state.
pub fn default_db(state: &NodeState) -> Result<MimeiId, String> {
    if let Some(m) = state.default_db.get() {
        return Ok(m);
    }
    let (mid, _) = super::mimei::create_own(
        state,
        MimeiType::Db,
        DEFAULT_MARK,
        "the default database of RESP connections",
    )
    .map_err(|e| e.to_string())?;
    state.default_db.set(Some(mid));
    Ok(mid)
}
