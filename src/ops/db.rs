//! Database Mimeis: who may run a command on one, the node's default database, and closing
//! every handle on one when its service goes.
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

/// How many numbered databases `SELECT n` reaches, as Redis's default `databases 16`.
pub const DATABASES: i64 = 16;

/// The owner's numbered database `n` for RESP's `SELECT n`: 0 is [`default_db`], 1 to 15
/// are database Mimeis of the owner with the mark `leither-resp-db-<n>` (the same ID every
/// time: the ID follows from the owner and the mark, so it is derived, not looked up). One
/// that does not exist yet is made when `create` (the owner asks); anyone else is told to
/// wait for the owner, so a guest's `SELECT` never writes to the store. A user who is not
/// the owner reaches them with the rights the owner gave on them, like any other Mimei.
pub fn numbered_db(state: &NodeState, n: i64, create: bool) -> Result<MimeiId, String> {
    if !(0..DATABASES).contains(&n) {
        return Err("DB index is out of range".into());
    }
    if n == 0 {
        return default_db(state);
    }
    let mark = format!("leither-resp-db-{n}");
    let mid = crate::mimei::id::derive(&state.key.id(), None, MimeiType::Db, &mark, None)
        .map_err(|e| e.to_string())?;
    if crate::mimei::store::Mimeis::new(&state.store)
        .header(&mid)
        .is_ok()
    {
        return Ok(mid);
    }
    if !create {
        return Err(format!(
            "database {n} has not been made yet: the node's owner makes it with SELECT {n}"
        ));
    }
    let (made, _) = super::mimei::create_own(
        state,
        MimeiType::Db,
        &mark,
        &format!("the numbered database {n} of RESP connections (SELECT {n})"),
    )
    .map_err(|e| e.to_string())?;
    Ok(made)
}

/// Closes every Mimei handle open on the database `mid`, whoever opened it, and ends their
/// transactions unapplied: once a Lever service is removed, nothing opened before reaches its
/// database (a new one is opened, with the rights of then). Returns how many were closed.
pub fn close_handles(state: &NodeState, mid: &MimeiId) -> usize {
    let ids = state.mm_handles.borrow_mut().close_mimei(mid);
    let mut cur = state.db.borrow_mut();
    for id in &ids {
        cur.rollback(id);
    }
    ids.len()
}

#[cfg(test)]
mod tests {
    use super::may_run;
    use crate::mimei::{Member, Right, Rights};
    use crate::pki::NodeKey;

    /// The rule both the API and RESP follow: writes need write; reads need read, except
    /// that a writer may read `cur`.
    #[test]
    fn may_run_is_the_one_rule() {
        let owner = NodeKey::generate().unwrap().id();
        let (reader, writer, stranger) = (
            NodeKey::generate().unwrap().id(),
            NodeKey::generate().unwrap().id(),
            NodeKey::generate().unwrap().id(),
        );
        let mut r = Rights::new(owner);
        r.set(Some(&owner), Member::User(reader), Right::READ)
            .unwrap();
        r.set(Some(&owner), Member::User(writer), Right::WRITE)
            .unwrap();
        let ok = |u, write, version| may_run(&r, Some(u), write, version).is_ok();
        assert!(ok(&owner, true, None) && ok(&owner, false, Some(1)));
        assert!(ok(&reader, false, None) && ok(&reader, false, Some(1)));
        assert!(!ok(&reader, true, None));
        assert!(ok(&writer, true, None) && ok(&writer, false, None));
        assert!(!ok(&writer, false, Some(1)), "a version is read with read");
        assert!(!ok(&stranger, false, None) && !ok(&stranger, true, None));
        assert!(
            may_run(&r, None, false, None).is_err(),
            "a guest reads what * grants"
        );
    }
}
