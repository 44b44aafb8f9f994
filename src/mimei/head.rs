//! The signed head record a publisher puts in the DHT, and the bundle it travels in.
//!
//! A [`HeadRecord`] says "the latest version of Mimei M is V, with root CID C", signed by a key
//! with the write right on M. It carries a sequence number `seq`, which the publisher raises
//! with every head it signs for M, so a node keeps the highest `seq` it has verified and
//! refuses an older head replayed at it; and an end of life `eol` (unix seconds), after which
//! the head is void, so a stale head cannot circulate forever once its publisher stops
//! refreshing it.
//!
//! A head alone proves little to a node that has never seen the Mimei: the write right lives in
//! the header, and the root CID in the version record. So what goes into a DHT record value
//! (and our sync protocol) is a [`HeadBundle`]: head, header and version record together, which
//! [`HeadBundle::verify`] checks as a whole with no other state than the time.
//!
//! The byte layout is postcard, like `record.rs` (magic `LMP\x01`, then the fields, then an
//! ed25519 signature over every byte before it); see "Head records" in docs/mimei.md. Parsing
//! is bounded, never panics and is strict: `from_bytes(b)?.to_bytes() == b`. Parsing checks
//! the layout only; call `verify_for` (or [`HeadBundle::verify`]) before trusting anything.

use super::MimeiError;
use super::id::MimeiId;
use super::record::{
    self, MimeiHeader, VersionRecord, Who, read_signature, read_signer, refuse_long,
};
use super::refs::RefsRecord;
use super::rights::Right;
use super::wire::{Reader, WireError, Writer};
use crate::pki::{LeitherId, NodeKey, verify};

/// First bytes of a head record: "LMP" (Mimei pointer) and the format version.
pub const HEAD_MAGIC: [u8; 4] = *b"LMP\x01";
/// First bytes of a head bundle: "LMB" and the format version.
pub const BUNDLE_MAGIC: [u8; 4] = *b"LMB\x01";
/// First bytes of a head bundle that also carries a references record (format 2). A bundle
/// without references is still written as format 1, so nodes that predate references read
/// every head of a version without them.
pub const BUNDLE_MAGIC_REFS: [u8; 4] = *b"LMB\x02";
/// Longest encoded head record accepted (the largest valid one is 300 bytes).
pub const MAX_HEAD_RECORD_LEN: usize = 384;
/// Longest encoded bundle accepted: the largest header and version record, and room for the
/// head record, the magic and three length prefixes.
pub const MAX_BUNDLE_LEN: usize = record::MAX_HEADER_LEN
    + record::MAX_VERSION_RECORD_LEN
    + super::refs::MAX_REFS_RECORD_LEN
    + 512;

/// Prefix of the DHT record key under which a Mimei's [`HeadBundle`] is published.
pub const DHT_KEY_PREFIX: &[u8] = b"/leither/head/";
/// Prefix of the DHT provider key under which nodes announce that they hold a Mimei.
pub const PROVIDER_KEY_PREFIX: &[u8] = b"/leither/mm/";

const HEAD: &str = "head record";
const BUNDLE: &str = "head bundle";

/// The DHT record key of `mid`'s head: `/leither/head/` and the 20 ID bytes.
pub fn dht_record_key(mid: &MimeiId) -> Vec<u8> {
    [DHT_KEY_PREFIX, &mid.as_bytes()[..]].concat()
}

/// The DHT provider key of `mid`: `/leither/mm/` and the 20 ID bytes.
pub fn provider_key(mid: &MimeiId) -> Vec<u8> {
    [PROVIDER_KEY_PREFIX, &mid.as_bytes()[..]].concat()
}

/// The latest version of a Mimei, as its publisher vouches for it until `eol`. See the
/// module doc.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HeadRecord {
    mid: MimeiId,
    version: u64,
    root_cid: Vec<u8>,
    seq: u64,
    eol: u64,
    signer: LeitherId,
    signer_pk: [u8; 32],
    signature: [u8; 64],
}

fn check_head_fields(version: u64, cid_len: usize) -> Result<(), String> {
    if version == 0 {
        return Err("version numbers start at 1".into());
    }
    if cid_len == 0 || cid_len > record::MAX_CID_LEN {
        return Err(format!(
            "the root CID is {cid_len} bytes long; it must be 1 to {}",
            record::MAX_CID_LEN
        ));
    }
    Ok(())
}

impl HeadRecord {
    /// Signs the head of `mid`: version `version` (from 1) with root CID `root_cid` (the bytes
    /// of `ipfs::Cid::to_bytes`, as in its version record), sequence number `seq` (above every
    /// head the key signed for `mid` before) and end of life `eol` (unix seconds).
    ///
    /// Signing checks neither rights nor the version record: every node that receives the
    /// head does ([`HeadRecord::verify_for`]).
    pub fn sign(
        key: &NodeKey,
        mid: MimeiId,
        version: u64,
        root_cid: &[u8],
        seq: u64,
        eol: u64,
    ) -> Result<HeadRecord, MimeiError> {
        check_head_fields(version, root_cid.len())
            .map_err(|reason| MimeiError::InvalidRecord { what: HEAD, reason })?;
        let mut head = HeadRecord {
            mid,
            version,
            root_cid: root_cid.to_vec(),
            seq,
            eol,
            signer: key.id(),
            signer_pk: key.public_key(),
            signature: [0; 64],
        };
        head.signature = key.sign(&head.signed_bytes().into_vec());
        Ok(head)
    }

    /// The Mimei.
    pub fn mid(&self) -> &MimeiId {
        &self.mid
    }
    /// The latest version number, from 1.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// The latest version's root CID, as `ipfs::Cid::to_bytes` wrote it (not parsed here).
    pub fn root_cid(&self) -> &[u8] {
        &self.root_cid
    }
    /// The sequence number: a node keeps the highest it has verified and refuses lower ones.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// End of life, unix seconds: the head is void from this second on.
    pub fn eol(&self) -> u64 {
        self.eol
    }
    /// Who signed it (always the ID of [`HeadRecord::signer_public_key`]).
    pub fn signer(&self) -> &LeitherId {
        &self.signer
    }
    /// The signer's ed25519 public key.
    pub fn signer_public_key(&self) -> &[u8; 32] {
        &self.signer_pk
    }
    /// The ed25519 signature over every byte before it.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    fn signed_bytes(&self) -> Writer {
        let mut w = Writer::new();
        w.array(&HEAD_MAGIC);
        w.array(self.mid.as_bytes());
        w.varint(self.version);
        w.bytes(&self.root_cid);
        w.varint(self.seq);
        w.varint(self.eol);
        w.array(self.signer.as_bytes());
        w.array(&self.signer_pk);
        w
    }

    /// The encoding of docs/mimei.md ("Head records").
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        w.array(&self.signature);
        w.into_vec()
    }

    /// Parses [`HeadRecord::to_bytes`]. Checks the layout only: call
    /// [`HeadRecord::verify_for`] before trusting it. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<HeadRecord, MimeiError> {
        refuse_long(bytes, MAX_HEAD_RECORD_LEN, HEAD)?;
        let wire = |e: WireError| MimeiError::malformed(HEAD, e);
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic").map_err(wire)? != HEAD_MAGIC {
            return Err(MimeiError::malformed(
                HEAD,
                "it does not start with the head record magic LMP 0x01",
            ));
        }
        let mid = LeitherId::from_bytes(r.array("Mimei ID").map_err(wire)?);
        let version = r.varint("version number").map_err(wire)?;
        let root_cid = r
            .bytes("root CID", record::MAX_CID_LEN)
            .map_err(wire)?
            .to_vec();
        let seq = r.varint("sequence number").map_err(wire)?;
        let eol = r.varint("end of life").map_err(wire)?;
        check_head_fields(version, root_cid.len())
            .map_err(|reason| MimeiError::malformed(HEAD, reason))?;
        let (signer, signer_pk) = read_signer(&mut r, HEAD, Who::Signer)?;
        let signature = read_signature(&mut r, HEAD)?;
        Ok(HeadRecord {
            mid,
            version,
            root_cid,
            seq,
            eol,
            signer,
            signer_pk,
            signature,
        })
    }

    /// Checks this head against the Mimei's header and the version record it names, at unix
    /// time `now`, in this order: the signature; the Mimei is the header's; the signer holds
    /// the write right in the header's rights; the version number and root CID are the
    /// version record's (and it is for the same Mimei); `eol` is after `now`.
    ///
    /// The header and version record must have been verified ([`MimeiHeader::verify`],
    /// [`VersionRecord::verify_for`]); [`HeadBundle::verify`] does all three.
    pub fn verify_for(
        &self,
        header: &MimeiHeader,
        version: &VersionRecord,
        now: u64,
    ) -> Result<(), MimeiError> {
        if !verify(
            &self.signer_pk,
            &self.signed_bytes().into_vec(),
            &self.signature,
        ) {
            return Err(MimeiError::BadSignature { what: HEAD });
        }
        for found in [header.mid(), version.mid()] {
            if *found != self.mid {
                return Err(MimeiError::WrongMimei {
                    expected: self.mid,
                    found: *found,
                });
            }
        }
        header
            .rights()
            .check(Some(&self.signer), Right::WRITE)
            .map_err(|_| MimeiError::SignerNotAllowed {
                what: HEAD,
                mid: self.mid,
                signer: self.signer,
            })?;
        if self.version != version.version() {
            return Err(MimeiError::HeadMismatch {
                mid: self.mid,
                reason: format!(
                    "the head names version {}, the version record is version {}",
                    self.version,
                    version.version()
                ),
            });
        }
        if self.root_cid != version.root_cid() {
            return Err(MimeiError::HeadMismatch {
                mid: self.mid,
                reason: format!(
                    "the head and the version record name different root CIDs for version {}",
                    self.version
                ),
            });
        }
        if self.eol <= now {
            return Err(MimeiError::Expired {
                mid: self.mid,
                eol: self.eol,
                now,
            });
        }
        Ok(())
    }
}

/// A head with what it takes to check it: the Mimei's header and the version record the head
/// names. The value of a DHT head record and of a sync answer. See the module doc.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HeadBundle {
    /// The head.
    pub head: HeadRecord,
    /// The Mimei's header: who may write, and so who may sign heads.
    pub header: MimeiHeader,
    /// The version record the head names.
    pub version: VersionRecord,
    /// The signed references of that version, when it has any (format 2).
    pub refs: Option<RefsRecord>,
}

impl HeadBundle {
    /// `LMB\x01`, then the header, version record and head record, each as a postcard byte
    /// string (varint length, then its own encoding); with references, `LMB\x02` and the
    /// references record as a fourth byte string.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.array(if self.refs.is_some() {
            &BUNDLE_MAGIC_REFS
        } else {
            &BUNDLE_MAGIC
        });
        w.bytes(&self.header.to_bytes());
        w.bytes(&self.version.to_bytes());
        w.bytes(&self.head.to_bytes());
        if let Some(r) = &self.refs {
            w.bytes(&r.to_bytes());
        }
        w.into_vec()
    }

    /// Parses [`HeadBundle::to_bytes`]: bounded, strict, never panics. Checks the layout only:
    /// call [`HeadBundle::verify`] before trusting it.
    pub fn from_bytes(bytes: &[u8]) -> Result<HeadBundle, MimeiError> {
        refuse_long(bytes, MAX_BUNDLE_LEN, BUNDLE)?;
        let wire = |e: WireError| MimeiError::malformed(BUNDLE, e);
        let mut r = Reader::new(bytes);
        let with_refs = match r.array::<4>("magic").map_err(wire)? {
            BUNDLE_MAGIC => false,
            BUNDLE_MAGIC_REFS => true,
            _ => {
                return Err(MimeiError::malformed(
                    BUNDLE,
                    "it does not start with the head bundle magic LMB 0x01 or 0x02",
                ));
            }
        };
        let header = r.bytes("header", record::MAX_HEADER_LEN).map_err(wire)?;
        let version = r
            .bytes("version record", record::MAX_VERSION_RECORD_LEN)
            .map_err(wire)?;
        let head = r.bytes("head record", MAX_HEAD_RECORD_LEN).map_err(wire)?;
        let refs = if with_refs {
            let b = r
                .bytes("references record", super::refs::MAX_REFS_RECORD_LEN)
                .map_err(wire)?;
            Some(RefsRecord::from_bytes(b)?)
        } else {
            None
        };
        r.finish().map_err(wire)?;
        Ok(HeadBundle {
            header: MimeiHeader::from_bytes(header)?,
            version: VersionRecord::from_bytes(version)?,
            head: HeadRecord::from_bytes(head)?,
            refs,
        })
    }

    /// Checks the bundle as a whole at unix time `now`: the header (signature, derived ID),
    /// the version record against it (same Mimei, signature, write right), and the head
    /// against both ([`HeadRecord::verify_for`]), and the references record, when present,
    /// against the header and the version ([`RefsRecord::verify_for`]).
    pub fn verify(&self, now: u64) -> Result<(), MimeiError> {
        self.header.verify()?;
        self.version.verify_for(&self.header)?;
        self.head.verify_for(&self.header, &self.version, now)?;
        match &self.refs {
            Some(r) => r.verify_for(&self.header, &self.version),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
