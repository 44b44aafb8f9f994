//! The invitations a node has outstanding, and the addresses of the nodes it trusts
//! (`Invite`, `AddNode`, `Accept`; docs/security.md, "Nodes that trust each other").
//!
//! Two redb tables:
//! - `invites`: nonce (22 characters of base64url) → `1` (format) ‖ made (u64 BE) ‖ expires
//!   (u64 BE) ‖ credit (u64 BE) ‖ count (u16 BE) ‖ left (u16 BE). At most [`MAX_OUTSTANDING`]
//!   rows; a row whose uses are all taken stays (so a late use is told "used up") until the
//!   table is full, when rows used up or expired are forgotten first.
//! - `trusted_nodes`: node ID (27 characters) → `1` (format) ‖ at (u64 BE) ‖ the node's
//!   addresses, `\n`-separated (each [`valid_addr`], at most [`MAX_NODE_ADDRS`]). At most
//!   [`super::admitted::MAX_ADMITTED`] rows. The admission itself is the `admitted` table's.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::invite::{Invitation, InviteError, valid_addr};
use crate::store::Store;
use crate::store::blocks::db_err;

/// `invites`: nonce to its row (module doc).
pub const INVITES: TableDefinition<&str, &[u8]> = TableDefinition::new("invites");
/// `trusted_nodes`: node ID to its addresses (module doc).
pub const TRUSTED_NODES: TableDefinition<&str, &[u8]> = TableDefinition::new("trusted_nodes");

/// Most invitations outstanding at once.
pub const MAX_OUTSTANDING: usize = 64;
/// Most addresses kept for one trusted node.
pub const MAX_NODE_ADDRS: usize = 16;
/// Shortest nonce prefix `withdraw` accepts.
pub const MIN_PREFIX: usize = 6;

const FORMAT: u8 = 1;
const ROW_LEN: usize = 1 + 8 + 8 + 8 + 2 + 2;

/// One outstanding invitation, as the node keeps it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Outstanding {
    /// Its nonce, as text.
    pub nonce: String,
    /// When it was made, unix seconds.
    pub made: u64,
    /// When it ends, unix seconds.
    pub expires: u64,
    /// The credit it grants.
    pub credit: u64,
    /// How many nodes it may admit.
    pub count: u16,
    /// How many uses are left.
    pub left: u16,
}

impl Outstanding {
    /// The row of a freshly signed invitation.
    pub fn of(inv: &Invitation) -> Outstanding {
        Outstanding {
            nonce: inv.nonce_text(),
            made: inv.made,
            expires: inv.expires,
            credit: inv.credit,
            count: inv.count,
            left: inv.count,
        }
    }

    fn encode(&self) -> [u8; ROW_LEN] {
        let mut v = [0u8; ROW_LEN];
        v[0] = FORMAT;
        v[1..9].copy_from_slice(&self.made.to_be_bytes());
        v[9..17].copy_from_slice(&self.expires.to_be_bytes());
        v[17..25].copy_from_slice(&self.credit.to_be_bytes());
        v[25..27].copy_from_slice(&self.count.to_be_bytes());
        v[27..29].copy_from_slice(&self.left.to_be_bytes());
        v
    }

    fn decode(nonce: &str, b: &[u8]) -> Result<Outstanding, InviteError> {
        if b.len() != ROW_LEN || b[0] != FORMAT {
            return Err(InviteError::Damaged(format!(
                "invitation {nonce}: unknown format"
            )));
        }
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[at..at + 8]);
            u64::from_be_bytes(a)
        };
        Ok(Outstanding {
            nonce: nonce.to_string(),
            made: u64_at(1),
            expires: u64_at(9),
            credit: u64_at(17),
            count: u16::from_be_bytes([b[25], b[26]]),
            left: u16::from_be_bytes([b[27], b[28]]),
        })
    }

    /// Whether it can no longer admit anyone at `now`.
    pub fn spent(&self, now: u64) -> bool {
        self.left == 0 || now >= self.expires
    }
}

/// A trusted node's addresses, as kept.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrustedNode {
    /// Its ID.
    pub id: String,
    /// When its addresses were stored, unix seconds.
    pub at: u64,
    /// Its addresses.
    pub addrs: Vec<String>,
}

/// The invitation tables of one node's store.
pub struct Invites<'a> {
    store: &'a Store,
}

impl<'a> Invites<'a> {
    /// The tables kept in `store`.
    pub fn new(store: &'a Store) -> Invites<'a> {
        Invites { store }
    }

    fn err(&self, e: impl Into<redb::Error>) -> InviteError {
        InviteError::Store(db_err(self.store.path(), e.into()))
    }

    /// Records a new outstanding invitation. A full table first forgets the rows that are
    /// used up or expired at `now`; if it is still full, [`InviteError::TooMany`].
    pub fn issue(&self, row: &Outstanding, now: u64) -> Result<(), InviteError> {
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(INVITES).map_err(|e| self.err(e))?;
            if t.len().map_err(|e| self.err(e))? as usize >= MAX_OUTSTANDING {
                let mut spent = Vec::new();
                for r in t.iter().map_err(|e| self.err(e))? {
                    let (k, v) = r.map_err(|e| self.err(e))?;
                    let o = Outstanding::decode(k.value(), v.value());
                    if o.is_ok_and(|o| o.spent(now)) {
                        spent.push(k.value().to_string());
                    }
                }
                for k in spent {
                    t.remove(k.as_str()).map_err(|e| self.err(e))?;
                }
                if t.len().map_err(|e| self.err(e))? as usize >= MAX_OUTSTANDING {
                    return Err(InviteError::TooMany(MAX_OUTSTANDING));
                }
            }
            t.insert(row.nonce.as_str(), row.encode().as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Every outstanding invitation (used-up and expired ones included until forgotten).
    pub fn list(&self) -> Result<Vec<Outstanding>, InviteError> {
        let rows = self.store.rows(INVITES, |k: &str| k.to_string())?;
        rows.iter()
            .map(|(n, v)| Outstanding::decode(n, v))
            .collect()
    }

    /// The outstanding invitation `inv` may be used now: its row exists, has uses left and
    /// has not expired. Changes nothing.
    pub fn check(&self, inv: &Invitation, now: u64) -> Result<Outstanding, InviteError> {
        let nonce = inv.nonce_text();
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(INVITES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Err(InviteError::Withdrawn),
            Err(e) => return Err(self.err(e)),
        };
        let row = match t.get(nonce.as_str()).map_err(|e| self.err(e))? {
            Some(v) => Outstanding::decode(&nonce, v.value())?,
            None => return Err(InviteError::Withdrawn),
        };
        if now >= row.expires {
            return Err(InviteError::Expired { at: row.expires });
        }
        if row.left == 0 {
            return Err(InviteError::UsedUp { count: row.count });
        }
        Ok(row)
    }

    /// Takes one use of the invitation `nonce`; answers the uses left.
    pub fn use_one(&self, nonce: &str) -> Result<u16, InviteError> {
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        let left = {
            let mut t = tx.open_table(INVITES).map_err(|e| self.err(e))?;
            let mut row = match t.get(nonce).map_err(|e| self.err(e))? {
                Some(v) => Outstanding::decode(nonce, v.value())?,
                None => return Err(InviteError::Withdrawn),
            };
            if row.left == 0 {
                return Err(InviteError::UsedUp { count: row.count });
            }
            row.left -= 1;
            t.insert(nonce, row.encode().as_slice())
                .map_err(|e| self.err(e))?;
            row.left
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(left)
    }

    /// Withdraws the invitation whose nonce is `prefix` or starts with it (at least
    /// [`MIN_PREFIX`] characters, naming one invitation); answers its row.
    pub fn withdraw(&self, prefix: &str) -> Result<Outstanding, InviteError> {
        let prefix = prefix.trim();
        if prefix.len() < MIN_PREFIX {
            return Err(InviteError::UnknownNonce(format!(
                "{} (give at least {MIN_PREFIX} characters)",
                crate::api::truncate(prefix, 32)
            )));
        }
        let matching: Vec<Outstanding> = self
            .list()?
            .into_iter()
            .filter(|o| o.nonce.starts_with(prefix))
            .collect();
        let [row] = matching.as_slice() else {
            return Err(InviteError::UnknownNonce(crate::api::truncate(prefix, 32)));
        };
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(INVITES).map_err(|e| self.err(e))?;
            t.remove(row.nonce.as_str()).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(row.clone())
    }

    /// Stores `addrs` for the trusted node `id` (replacing what was kept): the ones that are
    /// [`valid_addr`], at most [`MAX_NODE_ADDRS`]. Answers what was kept.
    pub fn set_node_addrs(
        &self,
        id: &str,
        addrs: &[String],
        now: u64,
    ) -> Result<Vec<String>, InviteError> {
        let mut kept: Vec<String> = Vec::new();
        for a in addrs.iter().filter(|a| valid_addr(a)) {
            if kept.len() < MAX_NODE_ADDRS && !kept.contains(a) {
                kept.push(a.clone());
            }
        }
        let mut rec = vec![FORMAT];
        rec.extend_from_slice(&now.to_be_bytes());
        rec.extend_from_slice(kept.join("\n").as_bytes());
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(TRUSTED_NODES).map_err(|e| self.err(e))?;
            let known = t.get(id).map_err(|e| self.err(e))?.is_some();
            if !known && t.len().map_err(|e| self.err(e))? >= super::admitted::MAX_ADMITTED {
                return Err(InviteError::TooManyNodes(super::admitted::MAX_ADMITTED));
            }
            t.insert(id, rec.as_slice()).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(kept)
    }

    /// Forgets the addresses of `id` (its admission was withdrawn); answers whether any were
    /// kept.
    pub fn forget_node(&self, id: &str) -> Result<bool, InviteError> {
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        let removed = {
            let mut t = tx.open_table(TRUSTED_NODES).map_err(|e| self.err(e))?;
            t.remove(id).map_err(|e| self.err(e))?.is_some()
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(removed)
    }

    /// Every trusted node whose addresses are kept.
    pub fn nodes(&self) -> Result<Vec<TrustedNode>, InviteError> {
        let rows = self.store.rows(TRUSTED_NODES, |k: &str| k.to_string())?;
        rows.into_iter()
            .map(|(id, v)| {
                if v.len() < 9 || v[0] != FORMAT {
                    return Err(InviteError::Damaged(format!("trusted node {id}")));
                }
                let mut a = [0u8; 8];
                a.copy_from_slice(&v[1..9]);
                let addrs = String::from_utf8_lossy(&v[9..])
                    .split('\n')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                Ok(TrustedNode {
                    id,
                    at: u64::from_be_bytes(a),
                    addrs,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::invite::NONCE_LEN;
    use crate::pki::NodeKey;

    fn store(name: &str) -> (Store, std::path::PathBuf) {
        let d = std::env::temp_dir().join(format!("leither-invites-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        (Store::open(&d, 1 << 20, "node").unwrap(), d)
    }

    fn invite(key: &NodeKey, n: u8, count: u16, expires: u64) -> Invitation {
        Invitation::sign(key, 100, expires, 5, count, [n; NONCE_LEN], &[]).unwrap()
    }

    #[test]
    fn uses_are_counted_and_refusals_name_why() {
        let (s, d) = store("uses");
        let key = NodeKey::generate().unwrap();
        let inv = invite(&key, 1, 2, 1000);
        let t = Invites::new(&s);
        assert!(matches!(t.check(&inv, 200), Err(InviteError::Withdrawn)));
        t.issue(&Outstanding::of(&inv), 200).unwrap();
        assert_eq!(t.check(&inv, 200).unwrap().left, 2);
        assert!(matches!(
            t.check(&inv, 1000),
            Err(InviteError::Expired { at: 1000 })
        ));
        assert_eq!(t.use_one(&inv.nonce_text()).unwrap(), 1);
        assert_eq!(t.use_one(&inv.nonce_text()).unwrap(), 0);
        assert!(matches!(
            t.check(&inv, 200),
            Err(InviteError::UsedUp { count: 2 })
        ));
        assert!(t.use_one(&inv.nonce_text()).is_err());
        let other = invite(&key, 2, 1, 1000);
        t.issue(&Outstanding::of(&other), 200).unwrap();
        assert!(t.withdraw("abc").is_err(), "too short a prefix");
        let w = t.withdraw(&other.nonce_text()[..8]).unwrap();
        assert_eq!(w.nonce, other.nonce_text());
        assert!(matches!(t.check(&other, 200), Err(InviteError::Withdrawn)));
        assert!(matches!(
            t.withdraw(&other.nonce_text()),
            Err(InviteError::UnknownNonce(_))
        ));
        drop(s);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_table_holds_at_most_its_bound() {
        let (s, d) = store("bound");
        let key = NodeKey::generate().unwrap();
        let t = Invites::new(&s);
        for i in 0..MAX_OUTSTANDING {
            t.issue(&Outstanding::of(&invite(&key, i as u8, 1, 1000)), 200)
                .unwrap();
        }
        let extra = invite(&key, 200, 1, 1000);
        assert!(matches!(
            t.issue(&Outstanding::of(&extra), 200),
            Err(InviteError::TooMany(MAX_OUTSTANDING))
        ));
        assert_eq!(t.list().unwrap().len(), MAX_OUTSTANDING);
        // A used-up row is forgotten to make room.
        t.use_one(&invite(&key, 3, 1, 1000).nonce_text()).unwrap();
        t.issue(&Outstanding::of(&extra), 200).unwrap();
        assert_eq!(t.list().unwrap().len(), MAX_OUTSTANDING);
        // Past every expiry, all are forgotten at the next issue.
        t.issue(&Outstanding::of(&invite(&key, 201, 1, 5000)), 1000)
            .unwrap();
        assert_eq!(t.list().unwrap().len(), 1);
        drop(s);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn node_addresses_are_bounded() {
        let (s, d) = store("addrs");
        let t = Invites::new(&s);
        let addrs: Vec<String> = (0..40)
            .map(|i| format!("http://10.0.0.{i}:4800"))
            .chain(["bad addr".to_string()])
            .collect();
        let kept = t.set_node_addrs("node", &addrs, 7).unwrap();
        assert_eq!(kept.len(), MAX_NODE_ADDRS);
        let n = t.nodes().unwrap();
        assert_eq!((n.len(), n[0].at, n[0].addrs.clone()), (1, 7, kept));
        drop(s);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
