//! Who may read a block by its CID, and what a writer's change may take into a Mimei: the
//! one rule behind every door that hands out blocks by CID (`/ipfs/`, and `/mm/`, `/mf/`,
//! `/tpt/` through it; `IpfsCat`, `IpfsLs`, `MFOpenByPath` of an IPFS path, `MFOpenMacFile`;
//! bitswap to peers) and behind every change of a Mimei's roots (`Mimeis::set_cur` and the
//! version functions take a [`verdict`]).
//!
//! **The rule** (docs/security.md, "Blocks by CID"). A block is served when it carries the
//! public mark (added plainly), belongs to no Mimei, is an empty file or folder (nothing to
//! hide, and in every Mimei), or belongs to a Mimei the reader may read (the read right, or
//! write, which reads `cur`). The owner reads every block. The index is `store::tags`; the
//! rights are the Mimei's own (`Rights::check` on its verified header), decided once per
//! Mimei per [`BlockAccess`].
//!
//! **A writer takes only what it may read.** A change that links a block of other Mimeis
//! (not public) is refused unless the writer may read one of them ([`verdict`]); a synced
//! version skips such blocks instead ([`synced_verdict`]), so a sync is not refused for a
//! block shared with a private Mimei here, and the block stays unreadable through it.

use std::fmt;

use crate::api::{ApiError, NodeState, Rights as SessionRights, Session};
use crate::ipfs::{Cid, Multihash};
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiId, Right};
use crate::pki::LeitherId;
use crate::store::StoreError;
use crate::store::blocks::Blocks;
use crate::store::tags::{Tags, Verdict};

/// Who is reading or writing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// The node's owner: reads every block.
    Owner,
    /// A user, a visitor, or a peer (a node is the user its key is): what Mimeis grant it.
    User(LeitherId),
    /// No one known: what `*` grants.
    Guest,
}

impl Who {
    /// Who a live session stands for.
    pub fn of(session: &Session) -> Result<Who, ApiError> {
        if session.rights == SessionRights::Owner {
            return Ok(Who::Owner);
        }
        Ok(match super::session::uid(session)? {
            Some(u) => Who::User(u),
            None => Who::Guest,
        })
    }

    fn user(&self) -> Option<&LeitherId> {
        match self {
            Who::User(u) => Some(u),
            _ => None,
        }
    }
}

/// Why a block was not handed out.
#[derive(Debug)]
#[non_exhaustive]
pub enum BlockError {
    /// The block is content of Mimeis the reader may not read, and was not added as public.
    Private {
        /// The block.
        cid: Cid,
    },
    /// The session the request named is unknown or expired (it was needed: the block is not
    /// public).
    Session {
        /// The HTTP status of that refusal.
        status: u16,
        /// Its message.
        message: String,
    },
    /// The store failed.
    Store(StoreError),
}

impl BlockError {
    /// The HTTP status for the front doors.
    pub fn http_status(&self) -> u16 {
        match self {
            BlockError::Private { .. } => 403,
            BlockError::Session { status, .. } => *status,
            BlockError::Store(_) => 500,
        }
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Private { cid } => write!(
                f,
                "block {cid} is content of a private Mimei you may not read: a block is served \
                 by its CID only when it was added as public, is in no Mimei, or is in a Mimei \
                 you may read (pass such a session: ?sid=SID or Authorization: Bearer SID)"
            ),
            BlockError::Session { message, .. } => f.write_str(message),
            BlockError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BlockError {}

impl From<StoreError> for BlockError {
    fn from(e: StoreError) -> Self {
        BlockError::Store(e)
    }
}

/// The multihashes of the empty UnixFS folder, the empty UnixFS file (dag-pb) and the empty
/// raw block: in countless Mimeis (a new file is empty), and they hide nothing.
fn empty_node(cid: &Cid) -> bool {
    const EMPTY: [&[u8]; 3] = [
        &[0x0a, 0x02, 0x08, 0x01],
        &[0x0a, 0x04, 0x08, 0x02, 0x18, 0x00],
        &[],
    ];
    // Cheap: three hashes of at most six bytes, only for blocks that are not public.
    EMPTY.iter().any(|b| Multihash::sha2_256(b) == *cid.hash())
}

/// One reader's checks, with the Mimeis already decided remembered (a file of a thousand
/// blocks verifies its Mimei's header once).
pub struct BlockAccess<'s> {
    state: &'s NodeState,
    who: Option<Who>,
    sid: Option<String>,
    /// The session named did not resolve: reading goes on as a guest, and a refusal is this.
    stale: Option<BlockError>,
    within: Option<MimeiId>,
    /// Mimeis decided for the reader, and for a guest.
    decided: Vec<(MimeiId, bool)>,
    decided_guest: Vec<(MimeiId, bool)>,
    restricted: bool,
}

/// Most Mimeis remembered per [`BlockAccess`] (a block records at most 64).
const MAX_DECIDED: usize = 256;

impl<'s> BlockAccess<'s> {
    /// Checks for `who`.
    pub fn new(state: &'s NodeState, who: Who) -> Self {
        BlockAccess {
            state,
            who: Some(who),
            sid: None,
            stale: None,
            within: None,
            decided: Vec::new(),
            decided_guest: Vec::new(),
            restricted: false,
        }
    }

    /// Checks for the session `sid` names (`None`: a guest), looked up only when a block is
    /// not public: a stale session does not stop public content.
    pub fn for_sid(state: &'s NodeState, sid: Option<String>) -> Self {
        BlockAccess {
            state,
            who: sid.is_none().then_some(Who::Guest),
            sid,
            stale: None,
            within: None,
            decided: Vec::new(),
            decided_guest: Vec::new(),
            restricted: false,
        }
    }

    /// Whether a block passed that a guest could not have had: what was read must not go to
    /// a shared cache.
    pub fn restricted(&self) -> bool {
        self.restricted
    }

    /// Reading inside Mimei `mid`, which the door found the reader may read (`/mm/`, `/mf/`,
    /// `/tpt/`, `MFOpenMacFile`): blocks recorded as its content pass without a further
    /// check, and so do full blocks (past `MAX_MIMEIS` the index cannot say).
    pub fn within(mut self, mid: MimeiId) -> Self {
        self.within = Some(mid);
        self
    }

    /// Who reads: the session is looked up the first time it matters. One that does not
    /// resolve reads as a guest (what `*` grants is still served) and is remembered as the
    /// answer to a refusal: the client should sign in again.
    fn who(&mut self) -> Who {
        if self.who.is_none() {
            let sid = self.sid.take().unwrap_or_default();
            let who = match super::session::touch(self.state, &sid).and_then(|s| Who::of(&s)) {
                Ok(w) => w,
                Err(e) => {
                    self.stale = Some(BlockError::Session {
                        status: e.http_status(),
                        message: e.to_string(),
                    });
                    Who::Guest
                }
            };
            self.who = Some(who);
        }
        self.who.clone().unwrap_or(Who::Guest)
    }

    /// Whether the reader may read one of `tags`' Mimeis.
    fn may_read_one(&mut self, tags: &Tags) -> bool {
        let who = self.who();
        if who == Who::Owner {
            return true;
        }
        one_readable(self.state, who.user(), tags, &mut self.decided)
    }

    /// Whether the reader may have `cid` (stored or not: tags may come before the block).
    pub fn check(&mut self, cid: &Cid) -> Result<(), BlockError> {
        let tags = Blocks::new(&self.state.store).tags(cid)?;
        if tags.open() || empty_node(cid) {
            return Ok(());
        }
        let inside = self
            .within
            .is_some_and(|m| tags.has(m.as_bytes()) || tags.full());
        if inside || self.may_read_one(&tags) {
            if !self.restricted && !one_readable(self.state, None, &tags, &mut self.decided_guest) {
                self.restricted = true;
            }
            return Ok(());
        }
        Err(match &self.stale {
            Some(BlockError::Session { status, message }) => BlockError::Session {
                status: *status,
                message: message.clone(),
            },
            _ => BlockError::Private { cid: *cid },
        })
    }
}

/// Whether `user` (`None`: a guest) may read one of `tags`' Mimeis, with the answers so far
/// in `decided` (each Mimei's header is verified once).
fn one_readable(
    state: &NodeState,
    user: Option<&LeitherId>,
    tags: &Tags,
    decided: &mut Vec<(MimeiId, bool)>,
) -> bool {
    for m in &tags.mimeis {
        let mid = MimeiId::from_bytes(*m);
        if let Some((_, ok)) = decided.iter().find(|(d, _)| *d == mid) {
            if *ok {
                return true;
            }
            continue;
        }
        let ok = may_read(state, user, &mid);
        if decided.len() < MAX_DECIDED {
            decided.push((mid, ok));
        }
        if ok {
            return true;
        }
    }
    false
}

/// Whether `user` (`None`: a guest) may read Mimei `mid` here: its read right, or write
/// (which reads `cur`). A Mimei not here (or whose header fails) grants nothing.
fn may_read(state: &NodeState, user: Option<&LeitherId>, mid: &MimeiId) -> bool {
    match Mimeis::new(&state.store).header(mid) {
        Ok(h) => {
            let r = h.rights();
            r.check(user, Right::READ).is_ok() || r.check(user, Right::WRITE).is_ok()
        }
        Err(_) => false,
    }
}

/// What a change by `who` may take into a Mimei: a block of other Mimeis (not public) only
/// when `who` may read one of them; otherwise the change is refused.
pub fn verdict<'a>(state: &'a NodeState, who: &'a Who) -> impl FnMut(&Tags) -> Verdict + 'a {
    let mut access = BlockAccess::new(state, who.clone());
    move |tags: &Tags| {
        if access.may_read_one(tags) {
            Verdict::Take
        } else {
            Verdict::Refuse
        }
    }
}

/// What a version that came from the network, signed by `signer`, takes: as [`verdict`],
/// but a block the signer may not read here is skipped, not refused.
pub fn synced_verdict<'a>(
    state: &'a NodeState,
    signer: &LeitherId,
) -> impl FnMut(&Tags) -> Verdict + 'a {
    let mut access = BlockAccess::new(state, Who::User(*signer));
    move |tags: &Tags| {
        if access.may_read_one(tags) {
            Verdict::Take
        } else {
            Verdict::Skip
        }
    }
}

/// What the node's own changes take (its `mmroot`, a database version it builds from the
/// Mimei's own entries, the index built for an older store): everything.
pub fn node_verdict(_: &Tags) -> Verdict {
    Verdict::Take
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::Codec;
    use crate::ipfs::cid::Version;

    #[test]
    fn the_empty_nodes_are_known() {
        let dir = Cid::of_block(Version::V0, Codec::DagPb, &[0x0a, 0x02, 0x08, 0x01]);
        assert_eq!(
            dir.to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
        assert!(empty_node(&dir));
        let file = Cid::of_block(
            Version::V0,
            Codec::DagPb,
            &[0x0a, 0x04, 0x08, 0x02, 0x18, 0x00],
        );
        assert_eq!(
            file.to_string(),
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
        );
        assert!(empty_node(&file));
        assert!(!empty_node(&Cid::of_block(Version::V1, Codec::Raw, b"x")));
    }
}
