//! A Mimei opened for a caller: its header read, the right the caller needs checked, the
//! version name resolved. Every door that reads or changes a Mimei on a user's behalf comes
//! through here (the API's `MMOpen` and `(sid, mid, ...)` functions, `/mm/`, `/tpt/`, Lever's
//! deploy and `/entry`, RESP's `SELECT`).
//!
//! Errors are [`MimeiStoreError`]s. [`Mimeis::header`] never answers `Model`, so a `Model`
//! error from [`authorize`] or [`open`] is always the rights refusal: a door that words
//! that refusal its own way matches on it.

use crate::ipfs::Cid;
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{HeaderFields, MimeiHeader, MimeiId, MimeiType, Right, Rights, VersionName};
use crate::node::NodeState;
use crate::pki::LeitherId;

/// A Mimei the caller was found to hold a right on.
pub struct Opened {
    /// The Mimei.
    pub mid: MimeiId,
    /// Its header as stored now (rights included).
    pub header: MimeiHeader,
    /// The version the name stood for; `None` for `cur`.
    pub version: Option<u64>,
}

impl Opened {
    /// The root CID of the opened version (`cur`'s root for `cur`).
    pub fn root(&self, state: &NodeState) -> Result<Cid, MimeiStoreError> {
        let name = match self.version {
            Some(n) => VersionName::Number(n),
            None => VersionName::Cur,
        };
        Ok(Mimeis::new(&state.store).root(&self.mid, name)?.0)
    }
}

/// The header of `mid`, once `user` (`None` = a guest) is found to hold `need` on it.
pub fn authorize(
    state: &NodeState,
    user: Option<&LeitherId>,
    mid: &MimeiId,
    need: Right,
) -> Result<MimeiHeader, MimeiStoreError> {
    let header = Mimeis::new(&state.store).header(mid)?;
    header.rights().check(user, need)?;
    Ok(header)
}

/// [`authorize`], then the version `name` stands for.
pub fn open(
    state: &NodeState,
    user: Option<&LeitherId>,
    mid: &MimeiId,
    name: VersionName,
    need: Right,
) -> Result<Opened, MimeiStoreError> {
    let header = authorize(state, user, mid, need)?;
    let version = Mimeis::new(&state.store).resolve(mid, name)?;
    Ok(Opened {
        mid: *mid,
        header,
        version,
    })
}

/// The right opening `name` needs: read for a version; for `cur`, write, or read when the
/// caller reads but does not write (rights are independent bits: `cur` opens for a writer
/// without read, and for a reader). A refusal then names write, what `cur` is opened for.
pub fn open_right(header: &MimeiHeader, user: Option<&LeitherId>, name: VersionName) -> Right {
    let holds = |r| header.rights().check(user, r).is_ok();
    if name.is_writable() && !holds(Right::WRITE) && holds(Right::READ) {
        Right::READ
    } else if name.is_writable() {
        Right::WRITE
    } else {
        Right::READ
    }
}

/// The version visitors get: the one the author released, else the newest. A Mimei not on
/// this node, or one with no version yet, is `NotFound`.
pub fn release_else_last(state: &NodeState, mid: &MimeiId) -> Result<u64, MimeiStoreError> {
    let m = Mimeis::new(&state.store);
    let release = m.state(mid)?.release;
    if release != 0 {
        return Ok(release);
    }
    // `resolve(Last)` is a number or NotFound, never `None`.
    Ok(m.resolve(mid, VersionName::Last)?.unwrap_or(0))
}

/// Makes the Mimei the node authors for itself under the fixed `mark` (the node's `mmroot`,
/// the default database of RESP connections): the node key is its author and only member.
/// The mark fixes the ID, so a second call finds the same Mimei: `Ok((mid, false))` when it
/// was already here, `Ok((mid, true))` when this call made it.
pub fn create_own(
    state: &NodeState,
    kind: MimeiType,
    mark: &str,
    ext: &str,
) -> Result<(MimeiId, bool), MimeiStoreError> {
    let key = &state.key;
    let header = MimeiHeader::create(
        key,
        HeaderFields {
            app: None,
            kind,
            mark: mark.to_string(),
            nonce: None,
            ext: ext.to_string(),
            created: crate::clock::unix_now(),
            revision: 0,
            rights: Rights::new(key.id()),
        },
    )?;
    match Mimeis::new(&state.store).create(&header) {
        Ok(()) => Ok((*header.mid(), true)),
        Err(MimeiStoreError::Conflict(_)) => Ok((*header.mid(), false)),
        Err(e) => Err(e),
    }
}
