//! An app's data Mimeis (`BEOpenAppDataNode`, `BEOpenAppDataApp`): database Mimeis that hold
//! what an app's backend keeps, made on first use and found again by the same call later.
//!
//! Each is authored by the app's identity key ([`super::app::key`]), so its ID follows from
//! the app, the kind (`node` or `app`) and the mark alone: the same call finds the same Mimei,
//! and no one else can make a Mimei of that ID first. Its rights: the app's identity holds
//! them all; this node's key holds read and write (the node signs the versions it backs up),
//! so the node's owner can read and write it too; no one else holds anything. So a plain
//! client is refused, and another app's code (whose identity differs) is refused.
//!
//! `node` is the app's data on this node; `app` is the app's own data, the one meant to travel
//! with the app between nodes. Both are made here by this node.
//!
//! Bounded: a mark is at most [`MAX_MARK`] bytes of letters, digits and `_ - .`, and one app
//! has at most [`MAX_PER_APP`] data Mimeis on a node.

use crate::api::{ApiError, NodeState};
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{HeaderFields, Member, MimeiHeader, MimeiId, MimeiType, Right, Rights};
use crate::pki::NodeKey;

/// Longest mark.
pub const MAX_MARK: usize = 64;
/// Most data Mimeis one app has on a node.
pub const MAX_PER_APP: usize = 16;

/// Which data Mimei.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `BEOpenAppDataNode`: this node's data of the app.
    Node,
    /// `BEOpenAppDataApp`: the app's own data.
    App,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Node => "node",
            Kind::App => "app",
        }
    }
}

fn header(
    identity: &NodeKey,
    node: &NodeKey,
    aid: &MimeiId,
    kind: Kind,
    mark: &str,
) -> Result<MimeiHeader, ApiError> {
    let mut rights = Rights::new(identity.id());
    rights.set(
        Some(&identity.id()),
        Member::User(node.id()),
        Right::READ | Right::WRITE,
    )?;
    Ok(MimeiHeader::create(
        identity,
        HeaderFields {
            app: Some(*aid),
            kind: MimeiType::Db,
            mark: format!("appdata.{}.{mark}", kind.word()),
            nonce: None,
            ext: format!("the {} data of app {aid}", kind.word()),
            created: crate::clock::unix_now(),
            revision: 0,
            rights,
        },
    )?)
}

/// The data Mimei `kind`/`mark` of app `aid`, made when it is not here yet.
pub fn ensure(
    state: &NodeState,
    identity: &NodeKey,
    aid: &MimeiId,
    kind: Kind,
    mark: &str,
) -> Result<MimeiId, ApiError> {
    if mark.len() > MAX_MARK
        || !mark
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        return Err(ApiError::BadArguments {
            function: match kind {
                Kind::Node => "BEOpenAppDataNode",
                Kind::App => "BEOpenAppDataApp",
            },
            message: format!(
                "mark is at most {MAX_MARK} bytes of letters, digits and _ - . (\"\" for the default)"
            ),
        });
    }
    let h = header(identity, &state.key, aid, kind, mark)?;
    let mid = *h.mid();
    let m = Mimeis::new(&state.store);
    match m.header(&mid) {
        Ok(_) => return Ok(mid),
        Err(MimeiStoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    // How many the app has: counted once per app and process (a walk over the node's
    // Mimeis), then kept, so code that asks for fresh marks in a loop costs no walk.
    let key = aid.to_string();
    let known = state.scripts.data_counts.borrow().get(&key).copied();
    let count = match known {
        Some(c) => c,
        None => {
            let me = identity.id();
            let mut count = 0usize;
            for id in m.ids()? {
                if let Ok(other) = m.header(&id)
                    && *other.rights().author() == me
                {
                    count += 1;
                }
            }
            state
                .scripts
                .data_counts
                .borrow_mut()
                .insert(key.clone(), count);
            count
        }
    };
    if count >= MAX_PER_APP {
        return Err(ApiError::Busy(format!(
            "app {aid} has {MAX_PER_APP} data Mimeis on this node, the most an app has; \
             reuse a mark"
        )));
    }
    match m.create(&h) {
        Ok(()) => {
            if let Some(c) = state.scripts.data_counts.borrow_mut().get_mut(&key) {
                *c += 1;
            }
            Ok(mid)
        }
        Err(MimeiStoreError::Conflict(_)) => Ok(mid),
        Err(e) => Err(e.into()),
    }
}
