//! The node's state: identity, settings, store, sessions, handles, services, network.
//!
//! Built by `node` at start and shared by reference with every front door and operation
//! (`crate::ops`). Everything a node holds lives here, never in a global or a thread-local,
//! so several nodes can run in one process (tests, the scale simulation): the only statics
//! left are immutable tables and per-task values (docs/architecture.md, "State").
//! Interior mutability is `RefCell`/`Cell`: everything runs on one thread, and no borrow is
//! held across an `.await`.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::api::session::SessionTable;
use crate::config::SystemVars;
use crate::pki::NodeKey;
use crate::store::Store;

/// Most sessions a node holds at once.
pub const MAX_SESSIONS: usize = 1024;

/// Everything an API function may use.
pub struct NodeState {
    /// The home directory.
    pub home: PathBuf,
    /// The node key (`hostkey.cfg`).
    pub key: NodeKey,
    /// The settings read at start.
    pub vars: RefCell<SystemVars>,
    /// The database.
    pub store: Store,
    /// Logged-in sessions.
    pub sessions: RefCell<SessionTable>,
    /// Unix seconds when the node started.
    pub started: u64,
    /// The address the HTTP port is bound to, once bound.
    pub listen: Cell<Option<SocketAddr>>,
    /// The port HTTPS is listening on, once it is (see [`NodeState::https_port`]).
    pub https: Cell<Option<u16>>,
    /// API calls served since start.
    pub calls: Cell<u64>,
    /// (busy, total) jiffies of the machine at the previous `GetVar("cpu")`, which reports
    /// the use since then.
    pub cpu_sample: Cell<(u64, u64)>,
    /// The writable state of the database Mimeis (memtable, transactions).
    #[cfg(feature = "files")]
    pub db: RefCell<crate::db::cur::CurStore>,
    /// The open Mimei and file handles (`MMOpen`, `MFOpenByPath`).
    #[cfg(feature = "files")]
    pub mm_handles: RefCell<crate::api::fns_mimei::Handles>,
    /// The Lever services and their instances.
    #[cfg(feature = "lever")]
    pub lever: crate::lever::Lever,
    /// Scripts running and background tasks (crate::scripts).
    #[cfg(feature = "lever")]
    pub scripts: crate::scripts::Scripts,
    /// The network, once started (`None` in a node whose swarm failed to start).
    #[cfg(feature = "net")]
    pub net: std::cell::OnceCell<crate::net::Net>,
    /// Domain-name node state: reports received, reports sent, the page template.
    #[cfg(feature = "files")]
    pub dnn: crate::dnn::Dnn,
    /// The open file handles of the `MF*` functions (temporary files included).
    #[cfg(feature = "files")]
    pub mf: RefCell<crate::api::mf_handles::MfHandles>,
    /// The owner's default database Mimei once made or found (`ops::db::default_db`).
    #[cfg(feature = "files")]
    pub default_db: Cell<Option<crate::mimei::MimeiId>>,
    /// The memory budget of connections, bodies and streams (docs/security.md).
    pub budget: std::rc::Rc<crate::budget::Budget>,
    /// The rate buckets per address: calls, failed logins, password hashes
    /// ([`crate::ops::rate`]).
    pub rate: RefCell<crate::ops::rate::Limiter>,
    /// The RESP door's settings, blocked and connected clients (`resp::node`).
    #[cfg(feature = "resp")]
    pub resp: crate::resp::node::RespNode,
}

impl NodeState {
    /// The network, if it runs.
    #[cfg(feature = "net")]
    pub fn net(&self) -> Option<&crate::net::Net> {
        self.net.get()
    }

    /// The port HTTPS actually listens on: `None` when `HttpsPort` is 0, the certificate or
    /// key is not named or could not be loaded at start, or the node was built without the
    /// `tls` feature. (Whether one request came over HTTPS: [`crate::http::is_secure`].)
    pub fn https_port(&self) -> Option<u16> {
        self.https.get()
    }

    /// Assembles the state from its parts.
    pub fn new(home: PathBuf, key: NodeKey, vars: SystemVars, store: Store) -> NodeState {
        #[cfg(feature = "files")]
        let durability = crate::db::cur::Durability::parse(&vars.db_durability)
            .unwrap_or(crate::db::cur::Durability::Group);
        let budget = crate::budget::Budget::new(crate::budget::split(&vars).1);
        #[cfg(feature = "files")]
        let db = {
            let mut db = crate::db::cur::CurStore::new(durability);
            // One command's reply is built in memory: at most half the buffers' budget.
            db.tune.max_read = (budget.limit() / 2).clamp(1 << 20, crate::db::engine::MAX_READ);
            RefCell::new(db)
        };
        NodeState {
            budget,
            rate: crate::ops::rate::new_limiter(),
            #[cfg(feature = "resp")]
            resp: Default::default(),
            #[cfg(feature = "files")]
            db,
            #[cfg(feature = "files")]
            mm_handles: RefCell::new(Default::default()),
            #[cfg(feature = "lever")]
            lever: crate::lever::Lever::new(),
            #[cfg(feature = "lever")]
            scripts: Default::default(),
            #[cfg(feature = "net")]
            net: std::cell::OnceCell::new(),
            #[cfg(feature = "files")]
            dnn: crate::dnn::Dnn::default(),
            #[cfg(feature = "files")]
            mf: RefCell::new(Default::default()),
            #[cfg(feature = "files")]
            default_db: Cell::new(None),
            home,
            key,
            sessions: RefCell::new(
                SessionTable::new(MAX_SESSIONS).with_per_user(
                    vars.quotas
                        .limit(crate::accounts::quota::Quota::Sessions)
                        .try_into()
                        .unwrap_or(usize::MAX),
                ),
            ),
            vars: RefCell::new(vars),
            store,
            started: crate::clock::unix_now(),
            listen: Cell::new(None),
            https: Cell::new(None),
            calls: Cell::new(0),
            cpu_sample: Cell::new((0, 0)),
        }
    }
}
