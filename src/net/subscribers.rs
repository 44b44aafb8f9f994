//! The peers that asked this node for the head of a Mimei it holds: its followers, as far as
//! this node saw them. A new version is pushed to them as well as to the providers the DHT
//! names ([`super::publish::announce`]), because the DHT keeps at most 32 providers per Mimei
//! (the closest to its key): with more followers than that, the others heard of a new version
//! only at their periodic check (`FollowSecs`). A follower asks the publisher itself when the
//! publisher was not among the peers it synced from (`sync.rs`), so the publisher knows its
//! followers up to the bound. The scale simulation showed why (docs/performance.md,
//! "Simulation").
//!
//! Kept in memory, bounded: [`MAX_MIMEIS`] Mimeis of [`MAX_PEERS`] peers each. Each entry is
//! refreshed when its peer asks again (a follower does every `FollowSecs`) or takes a push;
//! an unreachable peer is dropped ([`Subscribers::forget`]). A full table takes a newcomer
//! only in place of an entry not refreshed for [`STALE`], as Kademlia's buckets keep their
//! live old entries: a stranger asking under many self-made keys fills free places at most,
//! and never evicts a follower that is still there. Only a peer that asked itself, over a
//! connection its key authenticated, is ever pushed to: nobody can make this node push to
//! another peer, and it pushes at most [`MAX_PEERS`] heads per Mimei per version.

use std::collections::VecDeque;
use std::time::Duration;

use libp2p::PeerId;
use tokio::time::Instant;

use crate::mimei::MimeiId;

/// Most Mimeis whose askers are kept.
pub const MAX_MIMEIS: usize = 256;
/// Most askers kept per Mimei.
pub const MAX_PEERS: usize = 128;
/// An entry not refreshed for this long gives way to a newcomer when the table is full (ten
/// `FollowSecs` checks at the default 60 s).
pub const STALE: Duration = Duration::from_secs(600);

/// One Mimei's askers, the least recently refreshed first.
struct Row {
    mid: MimeiId,
    peers: VecDeque<(PeerId, Instant)>,
}

impl Row {
    /// When its newest entry was refreshed.
    fn fresh_at(&self) -> Option<Instant> {
        self.peers.back().map(|(_, t)| *t)
    }
}

/// Mimei -> the peers that asked for its head; the row refreshed least recently first.
#[derive(Default)]
pub struct Subscribers {
    rows: VecDeque<Row>,
}

impl Subscribers {
    /// Notes that `peer` asked for the head of `mid` (or took a push of it) at `now`. Returns
    /// false when it was not kept: the Mimei's row, or the table of rows, is full of entries
    /// refreshed within [`STALE`].
    pub fn note(&mut self, mid: MimeiId, peer: PeerId, now: Instant) -> bool {
        let stale = |t: Instant| now.saturating_duration_since(t) >= STALE;
        let i = match self.rows.iter().position(|r| r.mid == mid) {
            Some(i) => i,
            None => {
                if self.rows.len() >= MAX_MIMEIS {
                    // The row refreshed least recently goes, if nobody asked in STALE.
                    let oldest = self
                        .rows
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, r)| r.fresh_at())
                        .map(|(i, r)| (i, r.fresh_at()));
                    match oldest {
                        Some((i, at)) if at.is_none_or(stale) => {
                            self.rows.remove(i);
                        }
                        _ => return false,
                    }
                }
                self.rows.push_back(Row {
                    mid,
                    peers: VecDeque::new(),
                });
                self.rows.len() - 1
            }
        };
        let Some(row) = self.rows.get_mut(i) else {
            return false;
        };
        if let Some(j) = row.peers.iter().position(|(p, _)| *p == peer) {
            row.peers.remove(j);
        } else if row.peers.len() >= MAX_PEERS {
            match row.peers.front() {
                Some((_, t)) if stale(*t) => {
                    row.peers.pop_front();
                }
                _ => return false,
            }
        }
        row.peers.push_back((peer, now));
        true
    }

    /// The peers that asked for the head of `mid`.
    pub fn of(&self, mid: &MimeiId) -> Vec<PeerId> {
        self.rows
            .iter()
            .find(|r| r.mid == *mid)
            .map(|r| r.peers.iter().map(|(p, _)| *p).collect())
            .unwrap_or_default()
    }

    /// Drops `peer` from the askers of `mid` (it could not be reached).
    pub fn forget(&mut self, mid: &MimeiId, peer: &PeerId) {
        if let Some(r) = self.rows.iter_mut().find(|r| r.mid == *mid) {
            r.peers.retain(|(p, _)| p != peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mid(i: u32) -> MimeiId {
        let mut b = [0u8; 20];
        b[..4].copy_from_slice(&i.to_be_bytes());
        MimeiId::from_bytes(b)
    }

    #[test]
    fn a_flood_of_askers_and_mimeis_stays_bounded() {
        let mut s = Subscribers::default();
        let now = Instant::now();
        for i in 0..(MAX_MIMEIS as u32 + 50) {
            for _ in 0..3 {
                s.note(mid(i), PeerId::random(), now);
            }
        }
        assert_eq!(s.rows.len(), MAX_MIMEIS);
        let one = mid(7);
        for _ in 0..(MAX_PEERS * 4) {
            s.note(one, PeerId::random(), now);
        }
        assert_eq!(s.of(&one).len(), MAX_PEERS);
        assert!(s.rows.iter().all(|r| r.peers.len() <= MAX_PEERS));
    }

    #[test]
    fn a_stranger_with_many_keys_cannot_evict_real_followers() {
        let mut s = Subscribers::default();
        let t0 = Instant::now();
        let m = mid(1);
        let followers: Vec<PeerId> = (0..MAX_PEERS / 2).map(|_| PeerId::random()).collect();
        for f in &followers {
            assert!(s.note(m, *f, t0));
        }
        // The stranger fills the free places, then keeps asking under new keys.
        let mut kept = 0;
        for k in 0..(MAX_PEERS * 8) {
            let at = t0 + Duration::from_secs(k as u64 / 4);
            if s.note(m, PeerId::random(), at) {
                kept += 1;
            }
            // The followers ask again at their FollowSecs check.
            if k % 200 == 0 {
                for f in &followers {
                    s.note(m, *f, at);
                }
            }
        }
        assert_eq!(kept, MAX_PEERS - followers.len(), "free places only");
        let now = s.of(&m);
        assert!(
            followers.iter().all(|f| now.contains(f)),
            "no follower evicted"
        );
    }

    #[test]
    fn a_stranger_asking_for_many_mimeis_cannot_evict_rows_in_use() {
        let mut s = Subscribers::default();
        let t0 = Instant::now();
        let follower = PeerId::random();
        s.note(mid(0), follower, t0);
        let stranger = PeerId::random();
        for i in 1..(MAX_MIMEIS as u32 * 4) {
            s.note(mid(i), stranger, t0 + Duration::from_secs(1));
        }
        assert_eq!(s.rows.len(), MAX_MIMEIS);
        assert_eq!(s.of(&mid(0)), vec![follower], "the row in use stays");
        // Rows nobody refreshed within STALE give way.
        let later = t0 + STALE + Duration::from_secs(5);
        assert!(s.note(mid(1_000_000), PeerId::random(), later));
        assert_eq!(s.rows.len(), MAX_MIMEIS);
    }

    #[test]
    fn a_stale_asker_gives_way_to_a_newcomer() {
        let mut s = Subscribers::default();
        let t0 = Instant::now();
        let m = mid(2);
        let first = PeerId::random();
        s.note(m, first, t0);
        for _ in 1..MAX_PEERS {
            s.note(m, PeerId::random(), t0 + Duration::from_secs(1));
        }
        let late = PeerId::random();
        assert!(
            !s.note(m, late, t0 + Duration::from_secs(2)),
            "full of live entries"
        );
        assert!(
            s.note(m, late, t0 + STALE),
            "the stale first entry gives way"
        );
        let now = s.of(&m);
        assert!(now.contains(&late) && !now.contains(&first));
        assert_eq!(now.len(), MAX_PEERS);
    }

    #[test]
    fn an_asker_is_kept_once_and_forgotten_when_unreachable() {
        let mut s = Subscribers::default();
        let now = Instant::now();
        let p = PeerId::random();
        s.note(mid(1), p, now);
        s.note(mid(1), p, now);
        assert_eq!(s.of(&mid(1)), vec![p]);
        s.forget(&mid(1), &p);
        assert!(s.of(&mid(1)).is_empty());
    }
}
