//! A version's references, signed so they travel with its head (docs/mimei.md, "References in
//! the head").
//!
//! References (`MMAddRef`) are kept beside each version as local notes (`notes.rs`). When a
//! version is published, its references go out in two parts:
//!
//! - the **list block**: a raw IPFS block (CIDv1, sha2-256) holding the references sorted by
//!   ID with their counts, fetched over bitswap like any block, so its size (at most
//!   [`MAX_REFS`] references of [`MAX_REF_ID`] bytes: under 1.4 MiB) never weighs on the head;
//! - the **references record** ([`RefsRecord`], magic `LMR\x01`): "version V of Mimei M has
//!   these N references, listed in block C", signed by a key with the write right, carried in
//!   the head bundle beside the version record.
//!
//! A node that syncs verifies the record against the header (same Mimei, same version, signer
//! holds write), fetches the block (whose bytes bitswap checks against C), checks that it
//! parses and holds N references, and keeps them as that version's references.
//!
//! Parsing is bounded, strict (`from_bytes(b)?.to_bytes() == b`) and never panics.

use std::collections::BTreeMap;

use super::MimeiError;
use super::notes::{MAX_REF_ID, MAX_REFS};
use super::record::{
    MAX_CID_LEN, MimeiHeader, VersionRecord, Who, read_signature, read_signer, refuse_long,
};
use super::wire::{Reader, WireError, Writer};
use super::{MimeiId, Right};
use crate::pki::{LeitherId, NodeKey, verify};

/// First bytes of a references record: "LMR" and the format version.
pub const REFS_MAGIC: [u8; 4] = *b"LMR\x01";
/// First bytes of a reference list block: "LRL" and the format version.
pub const LIST_MAGIC: [u8; 4] = *b"LRL\x01";
/// Longest encoded references record (the largest valid one is under 300 bytes).
pub const MAX_REFS_RECORD_LEN: usize = 384;
/// Longest reference list block: every reference at its longest, with its count.
pub const MAX_LIST_LEN: usize = 8 + MAX_REFS * (2 + MAX_REF_ID + 10);

const RECORD: &str = "references record";
const LIST: &str = "reference list";

/// The signed statement of a version's references. See the module doc.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefsRecord {
    mid: MimeiId,
    version: u64,
    list_cid: Vec<u8>,
    count: u64,
    signer: LeitherId,
    signer_pk: [u8; 32],
    signature: [u8; 64],
}

/// The bytes of a reference list block for `refs` (sorted, no zero counts).
pub fn list_bytes(refs: &BTreeMap<String, u64>) -> Vec<u8> {
    let mut w = Writer::new();
    w.array(&LIST_MAGIC);
    w.varint(refs.len() as u64);
    for (id, n) in refs {
        w.bytes(id.as_bytes());
        w.varint(*n);
    }
    w.into_vec()
}

/// Parses a reference list block: bounded, strict (sorted, unique, counts above 0).
pub fn parse_list(bytes: &[u8]) -> Result<BTreeMap<String, u64>, MimeiError> {
    refuse_long(bytes, MAX_LIST_LEN, LIST)?;
    let wire = |e: WireError| MimeiError::malformed(LIST, e);
    let mut r = Reader::new(bytes);
    if r.array::<4>("magic").map_err(wire)? != LIST_MAGIC {
        return Err(MimeiError::malformed(
            LIST,
            "it does not start with LRL 0x01",
        ));
    }
    let n = r.length("count", MAX_REFS).map_err(wire)?;
    let mut out = BTreeMap::new();
    let mut prev: Option<&str> = None;
    for _ in 0..n {
        let id = r.str("reference", MAX_REF_ID).map_err(wire)?;
        let count = r.varint("reference count").map_err(wire)?;
        if id.is_empty() || count == 0 || prev.is_some_and(|p| p >= id) {
            return Err(MimeiError::malformed(
                LIST,
                "references must be non-empty, sorted, unique and counted at least once",
            ));
        }
        prev = Some(id);
        out.insert(id.to_string(), count);
    }
    r.finish().map_err(wire)?;
    Ok(out)
}

impl RefsRecord {
    /// Signs that version `version` of `mid` has `count` references listed in the block
    /// `list_cid` (the bytes of `ipfs::Cid::to_bytes`). The caller checks the write right.
    pub fn sign(
        key: &NodeKey,
        mid: MimeiId,
        version: u64,
        list_cid: &[u8],
        count: u64,
    ) -> Result<RefsRecord, MimeiError> {
        check(version, list_cid.len(), count).map_err(|reason| MimeiError::InvalidRecord {
            what: RECORD,
            reason,
        })?;
        let mut rec = RefsRecord {
            mid,
            version,
            list_cid: list_cid.to_vec(),
            count,
            signer: key.id(),
            signer_pk: key.public_key(),
            signature: [0; 64],
        };
        rec.signature = key.sign(&rec.signed_bytes().into_vec());
        Ok(rec)
    }

    /// The Mimei.
    pub fn mid(&self) -> &MimeiId {
        &self.mid
    }
    /// The version whose references these are.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// The CID of the list block, as `ipfs::Cid::to_bytes` wrote it.
    pub fn list_cid(&self) -> &[u8] {
        &self.list_cid
    }
    /// How many distinct references the list holds.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn signed_bytes(&self) -> Writer {
        let mut w = Writer::new();
        w.array(&REFS_MAGIC);
        w.array(self.mid.as_bytes());
        w.varint(self.version);
        w.bytes(&self.list_cid);
        w.varint(self.count);
        w.array(self.signer.as_bytes());
        w.array(&self.signer_pk);
        w
    }

    /// The encoding of docs/mimei.md.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        w.array(&self.signature);
        w.into_vec()
    }

    /// Parses [`RefsRecord::to_bytes`]; layout only (call [`RefsRecord::verify_for`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<RefsRecord, MimeiError> {
        refuse_long(bytes, MAX_REFS_RECORD_LEN, RECORD)?;
        let wire = |e: WireError| MimeiError::malformed(RECORD, e);
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic").map_err(wire)? != REFS_MAGIC {
            return Err(MimeiError::malformed(
                RECORD,
                "it does not start with LMR 0x01",
            ));
        }
        let mid = LeitherId::from_bytes(r.array("Mimei ID").map_err(wire)?);
        let version = r.varint("version number").map_err(wire)?;
        let list_cid = r.bytes("list CID", MAX_CID_LEN).map_err(wire)?.to_vec();
        let count = r.varint("count").map_err(wire)?;
        check(version, list_cid.len(), count).map_err(|e| MimeiError::malformed(RECORD, e))?;
        let (signer, signer_pk) = read_signer(&mut r, RECORD, Who::Signer)?;
        let signature = read_signature(&mut r, RECORD)?;
        Ok(RefsRecord {
            mid,
            version,
            list_cid,
            count,
            signer,
            signer_pk,
            signature,
        })
    }

    /// Checks that it is about `version`'s Mimei and number, that its signature holds, and
    /// that the signer has the write right in the (verified) header.
    pub fn verify_for(
        &self,
        header: &MimeiHeader,
        version: &VersionRecord,
    ) -> Result<(), MimeiError> {
        if self.mid != *header.mid() {
            return Err(MimeiError::WrongMimei {
                expected: *header.mid(),
                found: self.mid,
            });
        }
        if self.version != version.version() {
            return Err(MimeiError::InvalidRecord {
                what: RECORD,
                reason: format!(
                    "it is about version {}, but the head names version {}",
                    self.version,
                    version.version()
                ),
            });
        }
        if !verify(
            &self.signer_pk,
            &self.signed_bytes().into_vec(),
            &self.signature,
        ) {
            return Err(MimeiError::BadSignature { what: RECORD });
        }
        header
            .rights()
            .check(Some(&self.signer), Right::WRITE)
            .map_err(|_| MimeiError::SignerNotAllowed {
                what: RECORD,
                mid: self.mid,
                signer: self.signer,
            })
    }
}

fn check(version: u64, cid_len: usize, count: u64) -> Result<(), String> {
    if version == 0 {
        return Err("version numbers start at 1".into());
    }
    if cid_len == 0 || cid_len > MAX_CID_LEN {
        return Err(format!(
            "the list CID is {cid_len} bytes; it must be 1 to {MAX_CID_LEN}"
        ));
    }
    if count == 0 || count > MAX_REFS as u64 {
        return Err(format!("{count} references; a version has 1 to {MAX_REFS}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trips_and_refuses_disorder() {
        let mut refs = BTreeMap::new();
        refs.insert("QmA".to_string(), 2);
        refs.insert("h3PPmr6HVHrmaV_WAbnEP6t3x87".to_string(), 1);
        let b = list_bytes(&refs);
        assert_eq!(parse_list(&b).unwrap(), refs);
        assert!(parse_list(&b[..b.len() - 1]).is_err());
        // Out of order, a zero count, a huge count claim: refused, no panic.
        let mut w = Writer::new();
        w.array(&LIST_MAGIC);
        w.varint(2);
        w.bytes(b"b");
        w.varint(1);
        w.bytes(b"a");
        w.varint(1);
        assert!(parse_list(&w.into_vec()).is_err());
        let mut w = Writer::new();
        w.array(&LIST_MAGIC);
        w.varint(1);
        w.bytes(b"a");
        w.varint(0);
        assert!(parse_list(&w.into_vec()).is_err());
        assert!(parse_list(&[b'L', b'R', b'L', 1, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
