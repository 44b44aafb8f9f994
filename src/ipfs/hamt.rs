//! HAMT-sharded UnixFS directories, as kubo makes them for directories too big for one block.
//!
//! A shard is a dag-pb node whose `Data` is UnixFS `{Type: HAMTShard, Data: bitfield,
//! hashType: 0x22, fanout: 256}`. Each entry name is hashed with murmur3-x64-64 (the first 64
//! bits, `h1`, of murmur3 x64 128 with seed 0, taken big-endian as go-unixfs does); byte `d` of
//! that hash picks the entry's slot (0..256) in the shard at depth `d`. A slot with one entry is
//! a link named `XX` + the entry name (`XX` = the slot in two upper-case hex digits); a slot
//! with several is a link named `XX` to a sub-shard one level down. The bitfield marks the used
//! slots, big-endian, without leading zero bytes. The result depends only on the set of
//! entries, so building it from a sorted list gives kubo's CID.
//!
//! Depth is at most 8 (64 hash bits / 8 bits per level): two names whose hashes agree in all 64
//! bits are refused ([`super::dir::DirError::HashCollision`]), as go-unixfs cannot place them
//! either.

use super::cid::{Cid, Codec, Version};
use super::dagpb::{PbLink, PbNode};
use super::dir::{DirEntry, DirError};
use super::importer::Block;
use super::unixfs::{DataType, UnixFs};

/// Multicodec code of murmur3-x64-64, the UnixFS HAMT `hashType`.
pub const HASH_MURMUR3: u64 = 0x22;
/// kubo's shard fanout.
pub const FANOUT: usize = 256;
const MAX_DEPTH: usize = 8;

/// murmur3 x64 128 (seed 0) of `data`, first 64 bits (`h1`).
pub fn murmur3_x64_64(data: &[u8]) -> u64 {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    let fmix = |mut k: u64| {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    };
    let (mut h1, mut h2) = (0u64, 0u64);
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        let mut k1 = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        let mut k2 = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate() {
        if i >= 8 {
            k2 ^= u64::from(b) << ((i - 8) * 8);
        } else {
            k1 ^= u64::from(b) << (i * 8);
        }
    }
    if tail.len() > 8 {
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    }
    if !tail.is_empty() {
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1.wrapping_add(h2)
}

/// Slot of `hash` in a shard at `depth` (0-based): byte `depth` of the big-endian hash.
fn slot(hash: u64, depth: usize) -> usize {
    ((hash >> (56 - 8 * depth)) & 0xff) as usize
}

/// Builds the shard tree over `entries` (names already checked unique and valid). Returns the
/// blocks, children first, the root shard last, and the root's cumulative size.
pub fn build(entries: Vec<DirEntry>, version: Version) -> Result<(Vec<Block>, u64), DirError> {
    let mut hashed: Vec<(u64, DirEntry)> = entries
        .into_iter()
        .map(|e| (murmur3_x64_64(e.name.as_bytes()), e))
        .collect();
    // Hash order makes every slot group at every depth a contiguous run, in slot order.
    hashed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let mut blocks = Vec::new();
    let (_, tsize) = shard(&hashed, 0, version, &mut blocks)?;
    Ok((blocks, tsize))
}

/// One shard at `depth` over `entries` (sorted by hash); recursion is at most [`MAX_DEPTH`] deep.
fn shard(
    entries: &[(u64, DirEntry)],
    depth: usize,
    version: Version,
    out: &mut Vec<Block>,
) -> Result<(Cid, u64), DirError> {
    if depth == MAX_DEPTH {
        let name = entries
            .first()
            .map(|e| e.1.name.clone())
            .unwrap_or_default();
        return Err(DirError::HashCollision(name));
    }
    let mut bitfield = [0u8; FANOUT / 8];
    let mut links = Vec::new();
    let mut rest = entries;
    while let Some(first) = rest.first() {
        let s = slot(first.0, depth);
        let n = rest.iter().take_while(|e| slot(e.0, depth) == s).count();
        let (group, tail) = rest.split_at(n);
        rest = tail;
        bitfield[FANOUT / 8 - 1 - s / 8] |= 1 << (s % 8);
        if let [(_, e)] = group {
            links.push(PbLink {
                hash: e.cid,
                name: Some(format!("{s:02X}{}", e.name)),
                tsize: Some(e.tsize),
            });
        } else {
            let (cid, tsize) = shard(group, depth + 1, version, out)?;
            links.push(PbLink {
                hash: cid,
                name: Some(format!("{s:02X}")),
                tsize: Some(tsize),
            });
        }
    }
    let used = bitfield
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bitfield.len());
    let mut fs = UnixFs::new(DataType::HamtShard);
    fs.data = Some(bitfield[used..].to_vec());
    fs.hash_type = Some(HASH_MURMUR3);
    fs.fanout = Some(FANOUT as u64);
    let children: u64 = links.iter().filter_map(|l| l.tsize).sum();
    let data = PbNode {
        links,
        data: Some(fs.encode()),
    }
    .encode();
    let cid = Cid::of_block(version, Codec::DagPb, &data);
    let tsize = data.len() as u64 + children;
    out.push(Block { cid, data });
    Ok((cid, tsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_vectors() {
        // h1 of MurmurHash3_x64_128 with seed 0 (checked against @multiformats/murmur3).
        assert_eq!(murmur3_x64_64(b""), 0);
        assert_eq!(murmur3_x64_64(b"hello"), 0xcbd8_a7b3_41bd_9b02);
        assert_eq!(
            murmur3_x64_64(b"The quick brown fox jumps over the lazy dog"),
            0xe34b_bc7b_bc07_1b6c
        );
    }

    #[test]
    fn slots_take_the_hash_from_its_top_byte() {
        assert_eq!(slot(0xab00_0000_0000_00cd, 0), 0xab);
        assert_eq!(slot(0xab00_0000_0000_00cd, 7), 0xcd);
    }
}
