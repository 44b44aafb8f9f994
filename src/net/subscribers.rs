//! The peers that asked this node for the head of a Mimei it holds: its followers, as far as
//! this node saw them. A new version is pushed to them as well as to the providers the DHT
//! names ([`super::publish::announce`]), because the DHT keeps at most 32 providers per Mimei
//! (the closest to its key): with more followers than that, the others heard of a new version
//! only at their periodic check (`FollowSecs`). The scale simulation showed it
//! (docs/performance.md, "Simulation").
//!
//! Kept in memory, bounded: [`MAX_MIMEIS`] Mimeis (the one asked about least recently is
//! forgotten first) of [`MAX_PEERS`] peers each (the oldest is forgotten first). A peer
//! that cannot be reached is dropped ([`Subscribers::forget`]).

use std::collections::VecDeque;

use libp2p::PeerId;

use crate::mimei::MimeiId;

/// Most Mimeis whose askers are kept.
pub const MAX_MIMEIS: usize = 256;
/// Most askers kept per Mimei.
pub const MAX_PEERS: usize = 128;

/// Mimei -> the peers that asked for its head, most recent Mimei last.
#[derive(Default)]
pub struct Subscribers {
    rows: VecDeque<(MimeiId, VecDeque<PeerId>)>,
}

impl Subscribers {
    /// Notes that `peer` asked for the head of `mid`.
    pub fn note(&mut self, mid: MimeiId, peer: PeerId) {
        let mut row = match self.rows.iter().position(|(m, _)| *m == mid) {
            Some(i) => self.rows.remove(i).unwrap_or((mid, VecDeque::new())),
            None => (mid, VecDeque::new()),
        };
        if let Some(i) = row.1.iter().position(|p| *p == peer) {
            row.1.remove(i);
        }
        row.1.push_back(peer);
        while row.1.len() > MAX_PEERS {
            row.1.pop_front();
        }
        self.rows.push_back(row);
        while self.rows.len() > MAX_MIMEIS {
            self.rows.pop_front();
        }
    }

    /// The peers that asked for the head of `mid`.
    pub fn of(&self, mid: &MimeiId) -> Vec<PeerId> {
        self.rows
            .iter()
            .find(|(m, _)| m == mid)
            .map(|(_, peers)| peers.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Drops `peer` from the askers of `mid` (it could not be reached).
    pub fn forget(&mut self, mid: &MimeiId, peer: &PeerId) {
        if let Some((_, peers)) = self.rows.iter_mut().find(|(m, _)| m == mid) {
            peers.retain(|p| p != peer);
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
        for i in 0..(MAX_MIMEIS as u32 + 50) {
            for _ in 0..3 {
                s.note(mid(i), PeerId::random());
            }
        }
        assert_eq!(s.rows.len(), MAX_MIMEIS);
        // The Mimeis asked about first were forgotten first.
        assert!(s.of(&mid(0)).is_empty());
        assert_eq!(s.of(&mid(MAX_MIMEIS as u32 + 49)).len(), 3);
        let one = mid(1_000_000);
        let first = PeerId::random();
        s.note(one, first);
        for _ in 0..(MAX_PEERS * 4) {
            s.note(one, PeerId::random());
        }
        let peers = s.of(&one);
        assert_eq!(peers.len(), MAX_PEERS);
        assert!(!peers.contains(&first), "the oldest asker goes first");
    }

    #[test]
    fn an_asker_is_kept_once_and_forgotten_when_unreachable() {
        let mut s = Subscribers::default();
        let p = PeerId::random();
        s.note(mid(1), p);
        s.note(mid(1), p);
        assert_eq!(s.of(&mid(1)), vec![p]);
        s.forget(&mid(1), &p);
        assert!(s.of(&mid(1)).is_empty());
    }
}
