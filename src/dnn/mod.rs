//! Domain-name nodes (DNN): the page that picks a live provider in the visitor's browser, the
//! address reports that tell a DNN where providers are, and domain bindings.
//!
//! Any node can be a DNN. Home nodes name theirs in `Gateway` (SystemVars.json) and send each
//! a signed [`report::Report`] of their HTTP addresses, the Mimeis they hold and the domains
//! they bind ([`reporter`]), at start, every `GatewaySecs` and whenever an address changes. A
//! DNN verifies and keeps them ([`directory`]). A visitor opening `/mm/<mid>`, `/tpt/<appid>`
//! or a bound domain's `/` on the DNN gets [`page`]: `temp.html` filled with the candidates
//! [`addr::offers`] picked for the visitor's address; its script fetches the content from the
//! first live one. Nothing of the content passes through the DNN. docs/dnn.md has the whole
//! picture; `src/http/dnn.rs` the routes.
//!
//! Sans-io cores: [`addr`], [`report`], [`page`]. Io: [`directory`] (redb), [`reporter`]
//! (HTTP client task), [`ifaddrs`] (the interfaces), and the state here.

pub mod addr;
pub mod directory;
pub mod ifaddrs;
pub mod page;
pub mod report;
pub mod reporter;

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::time::SystemTime;

use redb::TableDefinition;

use crate::mimei::MimeiId;
use crate::store::blocks::db_err;
use crate::store::{Store, StoreError};
use report::{Kind, ReportError};

/// The domains this node binds (and reports to its DNNs): domain -> kind (1) | Mimei (20).
pub const DNN_BINDS: TableDefinition<&str, &[u8]> = TableDefinition::new("dnn_binds");

/// Why a DNN operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum DnnError {
    /// A report or binding that does not parse or verify (400).
    Report(ReportError),
    /// A report not newer than the one kept (409).
    Replay {
        /// The node.
        node: String,
    },
    /// Refused for a stated reason (403).
    Refused(String),
    /// At a bound (503).
    Full(String),
    /// Not found (404).
    NotFound(String),
    /// A bad argument (400).
    BadInput(String),
    /// The store failed.
    Store(StoreError),
}

impl DnnError {
    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        match self {
            DnnError::Report(_) | DnnError::BadInput(_) => 400,
            DnnError::Replay { .. } => 409,
            DnnError::Refused(_) => 403,
            DnnError::Full(_) => 503,
            DnnError::NotFound(_) => 404,
            DnnError::Store(_) => 500,
        }
    }
}

impl fmt::Display for DnnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnnError::Report(e) => e.fmt(f),
            DnnError::Replay { node } => write!(
                f,
                "this DNN has a newer report of node {node}: replayed or out-of-order report refused"
            ),
            DnnError::Refused(m) | DnnError::Full(m) | DnnError::NotFound(m) => {
                write!(f, "{m}")
            }
            DnnError::BadInput(m) => write!(f, "{m}"),
            DnnError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for DnnError {}

impl From<StoreError> for DnnError {
    fn from(e: StoreError) -> Self {
        DnnError::Store(e)
    }
}

/// How the last report to one DNN went.
#[derive(Clone, Debug, Default)]
pub struct GatewayStatus {
    /// The DNN's URL (from `Gateway`).
    pub url: String,
    /// Whether it accepted the last report.
    pub ok: bool,
    /// Unix seconds of the last attempt (0: none yet).
    pub at: u64,
    /// What went wrong, or what the DNN said.
    pub message: String,
}

/// The template in use: the home's `temp.html` while it is valid, else the built-in one.
#[derive(Default)]
struct TemplateCache {
    /// The file's modification time when it was read (None: no file).
    mtime: Option<SystemTime>,
    /// Whether it was read at all.
    read: bool,
    /// The override, if it is valid.
    text: Option<String>,
}

/// The node's DNN state.
#[derive(Default)]
pub struct Dnn {
    /// Reports received (as a DNN).
    pub directory: RefCell<directory::Directory>,
    /// How reporting to each DNN went (as a home node).
    pub gateways: RefCell<Vec<GatewayStatus>>,
    /// Wakes the reporter (a binding changed).
    pub wake: tokio::sync::Notify,
    template: RefCell<TemplateCache>,
}

/// Largest `temp.html` read.
pub const MAX_TEMPLATE_FILE: u64 = 64 * 1024;

impl Dnn {
    /// The template for a page: `home/temp.html` when present and valid, else the built-in
    /// one. A broken override is logged once (per change of the file) and not used.
    pub fn template(&self, home: &Path) -> String {
        let path = home.join("temp.html");
        let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let mut c = self.template.borrow_mut();
        if !c.read || c.mtime != mtime {
            c.read = true;
            c.mtime = mtime;
            c.text = None;
            if mtime.is_some() {
                match read_template(&path) {
                    Ok(t) => {
                        crate::log_info!("DNN page: using {}", path.display());
                        c.text = Some(t);
                    }
                    Err(e) => crate::log_error!(
                        "DNN page: {} cannot be used ({e}); serving the built-in page until it is fixed",
                        path.display()
                    ),
                }
            }
        }
        c.text.clone().unwrap_or_else(|| page::BUILTIN.to_string())
    }
}

fn read_template(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_TEMPLATE_FILE {
        return Err(format!(
            "it is {} bytes; the limit is {MAX_TEMPLATE_FILE}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_string())?;
    page::check(&text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// This node's own bindings (what it reports to its DNNs): `(domain, kind, mid)`.
pub fn own_binds(store: &Store) -> Result<Vec<(String, Kind, MimeiId)>, DnnError> {
    let rows = store.rows(DNN_BINDS, |k: &str| k.to_string())?;
    Ok(rows
        .into_iter()
        .filter_map(|(domain, v)| {
            let mid = <[u8; 20]>::try_from(v.get(1..)?).ok()?;
            let kind = if v[0] == 1 { Kind::App } else { Kind::Mimei };
            Some((domain, kind, MimeiId::from_bytes(mid)))
        })
        .collect())
}

/// Sets (`Some`) or removes (`None`) one of this node's bindings.
pub fn set_own_bind(
    store: &Store,
    domain: &str,
    target: Option<(Kind, MimeiId)>,
) -> Result<(), DnnError> {
    let path = store.path();
    let tx = store.db().begin_write().map_err(|e| db_err(path, e))?;
    {
        let mut t = tx.open_table(DNN_BINDS).map_err(|e| db_err(path, e))?;
        match target {
            Some((kind, mid)) => {
                let mut v = vec![u8::from(kind == Kind::App)];
                v.extend_from_slice(mid.as_bytes());
                t.insert(domain, v.as_slice())
                    .map_err(|e| db_err(path, e))?;
            }
            None => {
                t.remove(domain).map_err(|e| db_err(path, e))?;
            }
        }
    }
    tx.commit().map_err(|e| db_err(path, e))?;
    Ok(())
}
