//! [`NetError`]: what can go wrong in the network, said so that the person at the terminal
//! knows what to do.

use core::fmt;

use crate::mimei::MimeiError;
use crate::mimei::store::MimeiStoreError;
use crate::store::StoreError;

/// Why a network operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetError {
    /// The swarm is not running (it failed to start, or the node is stopping).
    Off,
    /// An address that is not a multiaddr we can dial (`/ip4/1.2.3.4/tcp/4801[/p2p/ID]`).
    BadAddr {
        /// The input, shortened.
        input: String,
        /// Why.
        reason: String,
    },
    /// Not a PeerId (`12D3KooW...`) nor a 27-character Leither ID.
    BadPeer {
        /// The input, shortened.
        input: String,
    },
    /// A dial failed.
    Dial {
        /// What was dialled.
        addr: String,
        /// Why it failed.
        reason: String,
    },
    /// Nothing was found: no such peer, no provider, no head.
    NotFound(String),
    /// A record or message from a peer failed verification; the peer was dropped.
    Refused(String),
    /// A head that is not newer than the one known (a replay, or an old record still
    /// travelling the DHT). Refused without blaming the sender.
    Replay(String),
    /// The peer or the DHT did not answer in time.
    Timeout(String),
    /// A filter that does not parse, or one that is not there.
    Filter(String),
    /// A Mimei rule (no write right to publish, no version yet).
    Mimei(MimeiStoreError),
    /// The store failed.
    Store(StoreError),
    /// A sync could not finish (blocks missing at every provider, a conflict); the text says
    /// what was fetched and how to resume.
    Sync(String),
}

impl NetError {
    /// The HTTP status for the front doors.
    pub fn http_status(&self) -> u16 {
        match self {
            NetError::Off => 503,
            NetError::BadAddr { .. } | NetError::BadPeer { .. } | NetError::Filter(_) => 400,
            NetError::Dial { .. } => 502,
            NetError::NotFound(_) => 404,
            NetError::Refused(_) | NetError::Replay(_) => 422,
            NetError::Timeout(_) => 504,
            NetError::Mimei(e) => e.http_status(),
            NetError::Store(_) => 500,
            NetError::Sync(_) => 409,
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Off => write!(
                f,
                "the network is not running on this node (see Leither.log for why it did not start)"
            ),
            NetError::BadAddr { input, reason } => write!(
                f,
                "\"{input}\" is not an address to dial ({reason}); write it as /ip4/1.2.3.4/tcp/4801/p2p/12D3KooW..."
            ),
            NetError::BadPeer { input } => write!(
                f,
                "\"{input}\" is neither a PeerId (12D3KooW...) nor a 27-character Leither ID"
            ),
            NetError::Dial { addr, reason } => write!(f, "cannot connect to {addr}: {reason}"),
            NetError::NotFound(m)
            | NetError::Refused(m)
            | NetError::Replay(m)
            | NetError::Timeout(m)
            | NetError::Filter(m)
            | NetError::Sync(m) => f.write_str(m),
            NetError::Mimei(e) => write!(f, "{e}"),
            NetError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NetError {}

impl From<StoreError> for NetError {
    fn from(e: StoreError) -> Self {
        NetError::Store(e)
    }
}

impl From<MimeiStoreError> for NetError {
    fn from(e: MimeiStoreError) -> Self {
        NetError::Mimei(e)
    }
}

impl From<MimeiError> for NetError {
    fn from(e: MimeiError) -> Self {
        NetError::Mimei(MimeiStoreError::Model(e))
    }
}
