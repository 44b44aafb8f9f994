//! The DNN side: verified address reports, who provides what, and which domain is bound to
//! which Mimei.
//!
//! Reports ([`super::report`]) arrive at `DnnReport`. A report is kept only when its signature
//! is the node key's and its `seq` is higher than the last one kept for that node (a replay
//! is refused) and not more than [`MAX_CLOCK_AHEAD_MS`] ahead of the DNN's clock. It is
//! stored in redb (`dnn_reports`, so a restarted DNN still knows its providers) and indexed
//! in memory by Mimei. A report counts for [`REPORT_TTL`] seconds: a node that stops
//! reporting drops out of the pages.
//!
//! Domains (`dnn_domains`) go to the first node that binds them with a verified binding; the
//! same node may move or drop its binding, and another node may take the domain only once
//! the owner has not reported it for [`DOMAIN_HOLD`] seconds. So a stranger cannot take over
//! a domain that is in use, and a domain whose owner is gone does not stay dead forever.
//!
//! Bounded: at most [`MAX_NODES`] nodes, [`MAX_PER_ADDR`] of them reporting from one address,
//! and [`MAX_ENTRIES`] (node, Mimei) pairs; a report that would pass a limit is refused with a
//! clear error (503), not half-kept, and nothing already known is pushed out by it.

use std::collections::HashMap;
use std::net::IpAddr;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::DnnError;
use super::report::{Kind, Report};
use crate::mimei::MimeiId;
use crate::pki::LeitherId;
use crate::store::Store;
use crate::store::blocks::db_err;
use crate::{log_info, log_warn};

/// Reports kept: node ID -> address (17 bytes) | received at (8, LE) | report.
pub const DNN_REPORTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("dnn_reports");
/// Domains served: domain -> owner (20) | kind (1) | Mimei (20) | last seen (8, LE).
pub const DNN_DOMAINS: TableDefinition<&str, &[u8]> = TableDefinition::new("dnn_domains");

/// How long a report counts, seconds.
pub const REPORT_TTL: u64 = 30 * 60;
/// How long a domain stays with an owner that stopped reporting it, seconds.
pub const DOMAIN_HOLD: u64 = 30 * 24 * 3600;
/// How far a report's clock may be ahead of ours, milliseconds.
pub const MAX_CLOCK_AHEAD_MS: u64 = 10 * 60 * 1000;
/// Most nodes known.
pub const MAX_NODES: usize = 4096;
/// Most (node, Mimei) pairs known.
pub const MAX_ENTRIES: usize = 65_536;
/// Most nodes whose reports come from one address (a NAT may hide a few; a flood of fresh
/// keys from one host must not fill the directory).
pub const MAX_PER_ADDR: usize = 32;

/// A node's last report.
#[derive(Clone, Debug)]
pub struct Known {
    /// The report.
    pub report: Report,
    /// The address it came from.
    pub from: IpAddr,
    /// Unix seconds when it came.
    pub at: u64,
}

/// A domain binding as the DNN serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The node that bound it.
    pub owner: LeitherId,
    /// Mimei or app.
    pub kind: Kind,
    /// The Mimei.
    pub mid: MimeiId,
    /// Unix seconds when the owner last reported it.
    pub seen: u64,
}

/// What [`Directory::accept`] did with a report.
#[derive(Debug, Default)]
pub struct Accepted {
    /// Domains bound (or kept).
    pub bound: Vec<String>,
    /// Domains refused, with why.
    pub refused: Vec<(String, String)>,
}

/// The reports and their index. Loaded from the store on first use.
#[derive(Default)]
pub struct Directory {
    loaded: bool,
    nodes: HashMap<LeitherId, Known>,
    index: HashMap<MimeiId, Vec<LeitherId>>,
    entries: usize,
}

fn ip_bytes(ip: IpAddr) -> [u8; 17] {
    let mut b = [0u8; 17];
    match ip {
        IpAddr::V4(v4) => b[1..5].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => {
            b[0] = 6;
            b[1..].copy_from_slice(&v6.octets());
        }
    }
    b
}

fn ip_from(b: &[u8]) -> Option<IpAddr> {
    let b: &[u8; 17] = b.get(..17)?.try_into().ok()?;
    Some(match b[0] {
        0 => IpAddr::from(<[u8; 4]>::try_from(&b[1..5]).ok()?),
        6 => IpAddr::from(<[u8; 16]>::try_from(&b[1..17]).ok()?),
        _ => return None,
    })
}

fn encode_bound(b: &Bound) -> Vec<u8> {
    let mut v = Vec::with_capacity(49);
    v.extend_from_slice(b.owner.as_bytes());
    v.push(match b.kind {
        Kind::Mimei => 0,
        Kind::App => 1,
    });
    v.extend_from_slice(b.mid.as_bytes());
    v.extend_from_slice(&b.seen.to_le_bytes());
    v
}

fn decode_bound(v: &[u8]) -> Option<Bound> {
    if v.len() != 49 {
        return None;
    }
    Some(Bound {
        owner: LeitherId::from_bytes(v[..20].try_into().ok()?),
        kind: if v[20] == 1 { Kind::App } else { Kind::Mimei },
        mid: MimeiId::from_bytes(v[21..41].try_into().ok()?),
        seen: u64::from_le_bytes(v[41..49].try_into().ok()?),
    })
}

/// The binding of `domain`, if one is served here.
pub fn domain(store: &Store, domain: &str) -> Result<Option<Bound>, DnnError> {
    let path = store.path();
    let tx = store.db().begin_read().map_err(|e| db_err(path, e))?;
    let t = match tx.open_table(DNN_DOMAINS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(db_err(path, e).into()),
    };
    let v = t.get(domain).map_err(|e| db_err(path, e))?;
    Ok(v.and_then(|g| decode_bound(g.value())))
}

/// Every binding served here.
pub fn domains(store: &Store) -> Result<Vec<(String, Bound)>, DnnError> {
    let rows = store.rows(DNN_DOMAINS, |k: &str| k.to_string())?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, v)| Some((d, decode_bound(&v)?)))
        .collect())
}

/// Binds (or, with `target` None, unbinds) the domains `node` asks for, under the ownership
/// rule of the module doc, at unix time `now`. `wanted` is the node's whole list: a domain it
/// owned and no longer lists is released.
pub fn bind(
    store: &Store,
    node: &LeitherId,
    wanted: &[(String, Kind, MimeiId)],
    now: u64,
) -> Result<Accepted, DnnError> {
    let path = store.path();
    let mut out = Accepted::default();
    let tx = store.db().begin_write().map_err(|e| db_err(path, e))?;
    {
        let mut t = tx.open_table(DNN_DOMAINS).map_err(|e| db_err(path, e))?;
        let mut released = Vec::new();
        for row in t.iter().map_err(|e| db_err(path, e))? {
            let (k, v) = row.map_err(|e| db_err(path, e))?;
            if let Some(b) = decode_bound(v.value())
                && b.owner == *node
                && !wanted.iter().any(|(d, ..)| d == k.value())
            {
                released.push(k.value().to_string());
            }
        }
        for d in released {
            t.remove(d.as_str()).map_err(|e| db_err(path, e))?;
            log_info!("domain {d} released by node {node}");
        }
        for (d, kind, mid) in wanted {
            let held = t
                .get(d.as_str())
                .map_err(|e| db_err(path, e))?
                .and_then(|g| decode_bound(g.value()));
            if let Some(h) = &held
                && h.owner != *node
                && now.saturating_sub(h.seen) < DOMAIN_HOLD
            {
                let why = format!(
                    "{d} is bound to Mimei {} by node {}; it can be bound again {} days after that node stops reporting it",
                    h.mid,
                    h.owner,
                    DOMAIN_HOLD / 86400
                );
                log_warn!("domain binding refused for node {node}: {why}");
                out.refused.push((d.clone(), why));
                continue;
            }
            if held
                .as_ref()
                .is_none_or(|h| h.mid != *mid || h.kind != *kind)
            {
                log_info!(
                    "domain {d} bound to /{}/{mid} by node {node}",
                    kind.prefix()
                );
            }
            let b = Bound {
                owner: *node,
                kind: *kind,
                mid: *mid,
                seen: now,
            };
            t.insert(d.as_str(), encode_bound(&b).as_slice())
                .map_err(|e| db_err(path, e))?;
            out.bound.push(d.clone());
        }
    }
    tx.commit().map_err(|e| db_err(path, e))?;
    Ok(out)
}

impl Directory {
    fn load(&mut self, store: &Store, now: u64) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        let rows = store.rows(DNN_REPORTS, |_: &[u8]| ()).map(|rows| {
            rows.into_iter()
                .filter_map(|((), v)| {
                    let ip = ip_from(v.get(..17)?)?;
                    let at = u64::from_le_bytes(v.get(17..25)?.try_into().ok()?);
                    Some((ip, at, v.get(25..)?.to_vec()))
                })
                .collect::<Vec<_>>()
        });
        match rows {
            Ok(rows) => {
                for (from, at, bytes) in rows {
                    if now.saturating_sub(at) > REPORT_TTL {
                        continue;
                    }
                    // Stored reports were verified when they came; check again anyway (a
                    // damaged row must not become a provider).
                    if let Ok(report) = Report::from_bytes(&bytes)
                        && report.verify().is_ok()
                    {
                        self.insert(Known { report, from, at });
                    }
                }
            }
            Err(e) => log_warn!("DNN: cannot read the stored address reports: {e}"),
        }
    }

    fn remove(&mut self, node: &LeitherId) {
        if let Some(old) = self.nodes.remove(node) {
            for (mid, _) in &old.report.mimeis {
                if let Some(v) = self.index.get_mut(mid) {
                    v.retain(|n| n != node);
                    if v.is_empty() {
                        self.index.remove(mid);
                    }
                }
            }
            self.entries -= old.report.mimeis.len();
        }
    }

    fn insert(&mut self, k: Known) {
        let node = k.report.node();
        self.remove(&node);
        for (mid, _) in &k.report.mimeis {
            self.index.entry(*mid).or_default().push(node);
        }
        self.entries += k.report.mimeis.len();
        self.nodes.insert(node, k);
    }

    /// Verifies and keeps a report that came from `from` at `now_ms`; binds the domains it
    /// asks for. See the module doc for what is refused.
    pub fn accept(
        &mut self,
        store: &Store,
        bytes: &[u8],
        from: IpAddr,
        now_ms: u64,
    ) -> Result<(Report, Accepted), DnnError> {
        let now = now_ms / 1000;
        self.load(store, now);
        let report = Report::from_bytes(bytes).map_err(DnnError::Report)?;
        report.verify().map_err(DnnError::Report)?;
        let node = report.node();
        if report.seq > now_ms + MAX_CLOCK_AHEAD_MS {
            return Err(DnnError::Refused(format!(
                "the report of node {node} is dated {} s ahead of this DNN's clock; check the node's clock",
                (report.seq - now_ms) / 1000
            )));
        }
        if let Some(k) = self.nodes.get(&node)
            && report.seq <= k.report.seq
        {
            return Err(DnnError::Replay {
                node: node.to_string(),
            });
        }
        let wanted: Vec<(String, Kind, MimeiId)> = report
            .domains
            .iter()
            .map(|b| {
                b.verify(&node)
                    .map(|mid| (b.domain.clone(), b.kind, mid))
                    .map_err(DnnError::Report)
            })
            .collect::<Result<_, _>>()?;
        let had = self.nodes.get(&node).map_or(0, |k| k.report.mimeis.len());
        if !self.nodes.contains_key(&node)
            && self.nodes.values().filter(|k| k.from == from).count() >= MAX_PER_ADDR
        {
            self.expire(now);
            if self.nodes.values().filter(|k| k.from == from).count() >= MAX_PER_ADDR {
                return Err(DnnError::Full(format!(
                    "this DNN already knows {MAX_PER_ADDR} nodes reporting from {from}"
                )));
            }
        }
        if !self.nodes.contains_key(&node) && self.nodes.len() >= MAX_NODES {
            self.expire(now);
            if self.nodes.len() >= MAX_NODES {
                return Err(DnnError::Full(format!(
                    "this DNN knows {MAX_NODES} nodes already"
                )));
            }
        }
        if self.entries - had + report.mimeis.len() > MAX_ENTRIES {
            return Err(DnnError::Full(format!(
                "this DNN holds {MAX_ENTRIES} provider entries already"
            )));
        }
        let path = store.path();
        let tx = store.db().begin_write().map_err(|e| db_err(path, e))?;
        {
            let mut t = tx.open_table(DNN_REPORTS).map_err(|e| db_err(path, e))?;
            let mut row = Vec::with_capacity(25 + bytes.len());
            row.extend_from_slice(&ip_bytes(from));
            row.extend_from_slice(&now.to_le_bytes());
            row.extend_from_slice(bytes);
            t.insert(node.as_bytes().as_slice(), row.as_slice())
                .map_err(|e| db_err(path, e))?;
        }
        tx.commit().map_err(|e| db_err(path, e))?;
        // Most reports bind nothing, as the node's last one: then the domain table (which a
        // bind scans for the node's released names) is left alone.
        let had_domains = self
            .nodes
            .get(&node)
            .is_none_or(|k| !k.report.domains.is_empty());
        let accepted = if wanted.is_empty() && !had_domains {
            Accepted::default()
        } else {
            bind(store, &node, &wanted, now)?
        };
        self.insert(Known {
            report: report.clone(),
            from,
            at: now,
        });
        Ok((report, accepted))
    }

    /// Drops reports older than [`REPORT_TTL`] from memory.
    pub fn expire(&mut self, now: u64) {
        let old: Vec<LeitherId> = self
            .nodes
            .iter()
            .filter(|(_, k)| now.saturating_sub(k.at) > REPORT_TTL)
            .map(|(n, _)| *n)
            .collect();
        for n in old {
            self.remove(&n);
        }
    }

    /// The live reports of nodes that hold `mid` (at `min_version` or later), with the
    /// version each holds.
    pub fn providers(
        &mut self,
        store: &Store,
        mid: &MimeiId,
        min_version: u64,
        now: u64,
    ) -> Vec<(&Known, u64)> {
        self.load(store, now);
        let Some(nodes) = self.index.get(mid) else {
            return Vec::new();
        };
        nodes
            .iter()
            .filter_map(|n| self.nodes.get(n))
            .filter(|k| now.saturating_sub(k.at) <= REPORT_TTL)
            .filter_map(|k| {
                let v = k.report.mimeis.iter().find(|(m, _)| m == mid)?.1;
                (v >= min_version).then_some((k, v))
            })
            .collect()
    }

    /// Every live report (for `DnnStatus`).
    pub fn all(&mut self, store: &Store, now: u64) -> Vec<&Known> {
        self.load(store, now);
        self.nodes
            .values()
            .filter(|k| now.saturating_sub(k.at) <= REPORT_TTL)
            .collect()
    }
}
