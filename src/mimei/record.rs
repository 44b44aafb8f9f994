//! Signed Mimei records: the header (what the Mimei is, who made it, its rights) and the
//! version record (version number -> root CID), in the postcard layout of `docs/mimei.md`.
//!
//! Both are postcard structs whose last field is an ed25519 signature over every byte before
//! it. The first field is a 4-byte magic (`LMH\x01`, `LMV\x01`) so that a signature over one
//! kind of object can never be taken for another (passes start with `PPT\x01`).
//!
//! - [`MimeiHeader`], signed by the author: Mimei ID, author ID and key, app, type, mark,
//!   nonce, ext, created, revision, rights grants. Every node recomputes the Mimei ID from the
//!   author and the derivation inputs ([`super::id`]), so a header cannot claim someone else's
//!   Mimei. The author re-signs it with a higher `revision` when rights change; a node keeps
//!   the highest revision it has verified.
//! - [`VersionRecord`], signed by any key with the write right: Mimei ID, version number, root
//!   CID bytes, previous version, time, signer ID and key. [`VersionRecord::verify`] checks the
//!   signature and the signer's write right in the (verified) header's rights table.
//!
//! Parsing takes untrusted bytes: bounded (the input length first, then each field against its
//! limit), never panics, and accepts exactly the bytes [`VersionRecord::to_bytes`] /
//! [`MimeiHeader::to_bytes`] produce, so `from_bytes(b)?.to_bytes() == b`. A signer ID that is
//! not the hash160 of the signer key is refused at parse time: the two can never disagree.
//! Parsing checks layout only; call `verify` before trusting a record.

use super::MimeiError;
use super::id::{self, MimeiId, MimeiType, NONCE_LEN};
use super::rights::{Right, Rights};
use super::wire::{Reader, WireError, Writer};
use crate::pki::{LeitherId, NodeKey, verify};

/// First bytes of a version record: "LMV" and the format version.
pub const VERSION_MAGIC: [u8; 4] = *b"LMV\x01";
/// First bytes of a Mimei header: "LMH" and the format version.
pub const HEADER_MAGIC: [u8; 4] = *b"LMH\x01";
/// Longest root CID, in bytes (a sha2-256 CIDv1 is 36).
pub const MAX_CID_LEN: usize = 128;
/// Longest ext, in bytes of UTF-8.
pub const MAX_EXT_LEN: usize = 64;
/// Longest encoded version record accepted (the largest valid one is 300 bytes).
pub const MAX_VERSION_RECORD_LEN: usize = 512;
/// Longest encoded header accepted (the largest valid one is 6140 bytes).
pub const MAX_HEADER_LEN: usize = 8 * 1024;

const SIG_LEN: usize = 64;
const VERSION: &str = "version record";
const HEADER: &str = "Mimei header";

/// Checks an ext: at most [`MAX_EXT_LEN`] bytes, no control characters.
pub fn check_ext(ext: &str) -> Result<(), MimeiError> {
    if ext.len() > MAX_EXT_LEN {
        return Err(MimeiError::InvalidExt {
            reason: format!("it is {} bytes long, the limit is {MAX_EXT_LEN}", ext.len()),
        });
    }
    if let Some(c) = ext.chars().find(|c| c.is_control()) {
        return Err(MimeiError::InvalidExt {
            reason: format!("it contains the control character {c:?}"),
        });
    }
    Ok(())
}

/// Reads the ID and key of the signer (or author) and checks that the ID is the key's.
pub(super) fn read_signer(
    r: &mut Reader<'_>,
    what: &'static str,
    who: Who,
) -> Result<(LeitherId, [u8; 32]), MimeiError> {
    let wire = |e: WireError| MimeiError::malformed(what, e);
    let (id_field, key_field, mismatch) = match who {
        Who::Signer => (
            "signer ID",
            "signer key",
            "the signer ID is not the ID of the signer key",
        ),
        Who::Author => (
            "author ID",
            "author key",
            "the author ID is not the ID of the author key",
        ),
    };
    let bytes: [u8; 20] = r.array(id_field).map_err(wire)?;
    let pk: [u8; 32] = r.array(key_field).map_err(wire)?;
    // The 20 bytes may be either derivation of the key (records made before IDs followed
    // Leither's rule hold the legacy one); the key gives back the full ID, tail included.
    let id = LeitherId::of_key_with_bytes(&pk, &bytes)
        .ok_or_else(|| MimeiError::malformed(what, mismatch))?;
    Ok((id, pk))
}

/// Whose ID and key [`read_signer`] reads, for its error texts.
#[derive(Clone, Copy)]
pub(super) enum Who {
    Signer,
    Author,
}

/// Reads the trailing signature, refuses over-long input and trailing bytes.
pub(super) fn read_signature(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<[u8; 64], MimeiError> {
    let sig = r
        .array::<SIG_LEN>("signature")
        .map_err(|e| MimeiError::malformed(what, e))?;
    r.finish().map_err(|e| MimeiError::malformed(what, e))?;
    Ok(sig)
}

/// Refuses input longer than `max` before any field is read.
pub(super) fn refuse_long(bytes: &[u8], max: usize, what: &'static str) -> Result<(), MimeiError> {
    if bytes.len() > max {
        return Err(MimeiError::malformed(
            what,
            format!("it is {} bytes long, the limit is {max}", bytes.len()),
        ));
    }
    Ok(())
}

/// One numbered version of a Mimei, signed by a key with write right. See the module doc.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VersionRecord {
    mid: MimeiId,
    version: u64,
    root_cid: Vec<u8>,
    prev_version: u64,
    time: u64,
    signer: LeitherId,
    signer_pk: [u8; 32],
    signature: [u8; 64],
}

impl VersionRecord {
    /// Signs version `version` of `mid` with root CID `root_cid` (the bytes of
    /// `ipfs::Cid::to_bytes`). `prev_version` is the version it follows, 0 for none; it must be
    /// below `version`, which starts at 1. `time` is unix seconds.
    ///
    /// Signing does not check rights: the caller checks the signer's write right first, as
    /// every node that receives the record will ([`VersionRecord::verify`]).
    pub fn sign(
        key: &NodeKey,
        mid: MimeiId,
        version: u64,
        root_cid: &[u8],
        prev_version: u64,
        time: u64,
    ) -> Result<VersionRecord, MimeiError> {
        check_version_fields(version, root_cid.len(), prev_version).map_err(|reason| {
            MimeiError::InvalidRecord {
                what: VERSION,
                reason,
            }
        })?;
        let mut rec = VersionRecord {
            mid,
            version,
            root_cid: root_cid.to_vec(),
            prev_version,
            time,
            signer: key.id(),
            signer_pk: key.public_key(),
            signature: [0; 64],
        };
        rec.signature = key.sign(&rec.signed_bytes().into_vec());
        Ok(rec)
    }

    /// The Mimei this version belongs to.
    pub fn mid(&self) -> &MimeiId {
        &self.mid
    }
    /// The version number, from 1.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// The root CID, as `ipfs::Cid::to_bytes` wrote it (not parsed here).
    pub fn root_cid(&self) -> &[u8] {
        &self.root_cid
    }
    /// The version this one follows; 0 for none.
    pub fn prev_version(&self) -> u64 {
        self.prev_version
    }
    /// When it was signed, unix seconds (the signer's clock).
    pub fn time(&self) -> u64 {
        self.time
    }
    /// Who signed it (always the ID of [`VersionRecord::signer_public_key`]).
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
        w.array(&VERSION_MAGIC);
        w.array(self.mid.as_bytes());
        w.varint(self.version);
        w.bytes(&self.root_cid);
        w.varint(self.prev_version);
        w.varint(self.time);
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

    /// Parses [`VersionRecord::to_bytes`]. Checks the layout only: call
    /// [`VersionRecord::verify`] before trusting it. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<VersionRecord, MimeiError> {
        refuse_long(bytes, MAX_VERSION_RECORD_LEN, VERSION)?;
        let wire = |e: WireError| MimeiError::malformed(VERSION, e);
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic").map_err(wire)? != VERSION_MAGIC {
            return Err(MimeiError::malformed(
                VERSION,
                "it does not start with the version record magic LMV 0x01",
            ));
        }
        let mid = LeitherId::from_bytes(r.array("Mimei ID").map_err(wire)?);
        let version = r.varint("version number").map_err(wire)?;
        let root_cid = r.bytes("root CID", MAX_CID_LEN).map_err(wire)?.to_vec();
        let prev_version = r.varint("previous version").map_err(wire)?;
        let time = r.varint("time").map_err(wire)?;
        check_version_fields(version, root_cid.len(), prev_version)
            .map_err(|reason| MimeiError::malformed(VERSION, reason))?;
        let (signer, signer_pk) = read_signer(&mut r, VERSION, Who::Signer)?;
        let signature = read_signature(&mut r, VERSION)?;
        Ok(VersionRecord {
            mid,
            version,
            root_cid,
            prev_version,
            time,
            signer,
            signer_pk,
            signature,
        })
    }

    /// Checks the signature, then that the signer holds the write right in `rights` (the table
    /// of this record's Mimei, from its verified header).
    pub fn verify(&self, rights: &Rights) -> Result<(), MimeiError> {
        if !verify(
            &self.signer_pk,
            &self.signed_bytes().into_vec(),
            &self.signature,
        ) {
            return Err(MimeiError::BadSignature { what: VERSION });
        }
        rights
            .check(Some(&self.signer), Right::WRITE)
            .map_err(|_| MimeiError::SignerNotAllowed {
                what: VERSION,
                mid: self.mid,
                signer: self.signer,
            })
    }

    /// [`VersionRecord::verify`] against a header: also checks that the record is for the
    /// header's Mimei. The header must have been verified ([`MimeiHeader::verify`]).
    pub fn verify_for(&self, header: &MimeiHeader) -> Result<(), MimeiError> {
        if self.mid != header.mid {
            return Err(MimeiError::WrongMimei {
                expected: header.mid,
                found: self.mid,
            });
        }
        self.verify(header.rights())
    }
}

fn check_version_fields(version: u64, cid_len: usize, prev: u64) -> Result<(), String> {
    if version == 0 {
        return Err("version numbers start at 1".into());
    }
    if prev >= version {
        return Err(format!(
            "the previous version {prev} is not below the version {version}"
        ));
    }
    if cid_len == 0 || cid_len > MAX_CID_LEN {
        return Err(format!(
            "the root CID is {cid_len} bytes long; it must be 1 to {MAX_CID_LEN}"
        ));
    }
    Ok(())
}

/// What the author states in a header; [`MimeiHeader::sign`] adds the ID, key and signature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HeaderFields {
    /// The default application (`-a`), a Mimei ID, or none.
    pub app: Option<MimeiId>,
    /// File or database (`-t`).
    pub kind: MimeiType,
    /// The mark (`-m`); [`id::AUTO_MARK`] for a fresh ID.
    pub mark: String,
    /// The 16 random bytes of an `{{auto}}` mark, `None` for any other mark.
    pub nonce: Option<[u8; NONCE_LEN]>,
    /// The ext (`-e`), free text describing the content.
    pub ext: String,
    /// When the Mimei was created, unix seconds.
    pub created: u64,
    /// Starts at 0; the author signs a higher one each time the header changes (rights).
    pub revision: u64,
    /// The rights table; its author must be the signing key.
    pub rights: Rights,
}

/// The signed description of a Mimei. See the module doc.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MimeiHeader {
    mid: MimeiId,
    author_pk: [u8; 32],
    fields: HeaderFields,
    signature: [u8; 64],
}

impl MimeiHeader {
    /// Signs a header for `fields` with the author's key. The Mimei ID is derived from the
    /// author and the fields ([`id::derive`]); `fields.nonce` must be set exactly when the mark
    /// is `{{auto}}`.
    pub fn sign(key: &NodeKey, fields: HeaderFields) -> Result<MimeiHeader, MimeiError> {
        let author = key.id();
        if *fields.rights.author() != author {
            return Err(MimeiError::InvalidRecord {
                what: HEADER,
                reason: format!(
                    "its rights table is for author {}, but the signing key is {author}; only \
                     the author signs a header",
                    fields.rights.author()
                ),
            });
        }
        check_ext(&fields.ext)?;
        let mid = id::derive(
            &author,
            fields.app.as_ref(),
            fields.kind,
            &fields.mark,
            fields.nonce.as_ref(),
        )?;
        let mut header = MimeiHeader {
            mid,
            author_pk: key.public_key(),
            fields,
            signature: [0; 64],
        };
        header.signature = key.sign(&header.signed_bytes().into_vec());
        Ok(header)
    }

    /// `mimei create` / `MMCreate`: like [`MimeiHeader::sign`], but for the mark `{{auto}}`
    /// draws the nonce from the operating system (replacing `fields.nonce`).
    pub fn create(key: &NodeKey, mut fields: HeaderFields) -> Result<MimeiHeader, MimeiError> {
        let (_, nonce) = id::new_mid(&key.id(), fields.app.as_ref(), fields.kind, &fields.mark)?;
        fields.nonce = nonce;
        MimeiHeader::sign(key, fields)
    }

    /// The same header with a new rights table, signed again by the author with the next
    /// revision (`MMSetRight` on the author's node).
    pub fn with_rights(&self, key: &NodeKey, rights: Rights) -> Result<MimeiHeader, MimeiError> {
        let mut fields = self.fields.clone();
        fields.revision = fields
            .revision
            .checked_add(1)
            .ok_or(MimeiError::InvalidRecord {
                what: HEADER,
                reason: "the revision counter is exhausted".into(),
            })?;
        fields.rights = rights;
        MimeiHeader::sign(key, fields)
    }

    /// The Mimei ID.
    pub fn mid(&self) -> &MimeiId {
        &self.mid
    }
    /// The author (always the ID of [`MimeiHeader::author_public_key`]).
    pub fn author(&self) -> &LeitherId {
        self.fields.rights.author()
    }
    /// The author's ed25519 public key.
    pub fn author_public_key(&self) -> &[u8; 32] {
        &self.author_pk
    }
    /// What the author stated: app, type, mark, nonce, ext, created, revision, rights.
    pub fn fields(&self) -> &HeaderFields {
        &self.fields
    }
    /// The rights table.
    pub fn rights(&self) -> &Rights {
        &self.fields.rights
    }
    /// The ed25519 signature over every byte before it.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    fn signed_bytes(&self) -> Writer {
        let f = &self.fields;
        let mut w = Writer::new();
        w.array(&HEADER_MAGIC);
        w.array(self.mid.as_bytes());
        w.array(self.author().as_bytes());
        w.array(&self.author_pk);
        w.option_array(f.app.as_ref().map(|a| &a.as_bytes()[..]));
        w.u8(f.kind.code());
        w.bytes(f.mark.as_bytes());
        w.option_array(f.nonce.as_ref().map(|n| &n[..]));
        w.bytes(f.ext.as_bytes());
        w.varint(f.created);
        w.varint(f.revision);
        f.rights.write_grants(&mut w);
        w
    }

    /// The encoding of docs/mimei.md.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        debug_assert!(w.len() + SIG_LEN <= MAX_HEADER_LEN);
        w.array(&self.signature);
        w.into_vec()
    }

    /// Parses [`MimeiHeader::to_bytes`]. Checks the layout only: call [`MimeiHeader::verify`]
    /// before trusting it. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<MimeiHeader, MimeiError> {
        refuse_long(bytes, MAX_HEADER_LEN, HEADER)?;
        let wire = |e: WireError| MimeiError::malformed(HEADER, e);
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic").map_err(wire)? != HEADER_MAGIC {
            return Err(MimeiError::malformed(
                HEADER,
                "it does not start with the header magic LMH 0x01",
            ));
        }
        let mid = LeitherId::from_bytes(r.array("Mimei ID").map_err(wire)?);
        let (author, author_pk) = read_signer(&mut r, HEADER, Who::Author)?;
        let app = r
            .option_array("app ID")
            .map_err(wire)?
            .map(LeitherId::from_bytes);
        let code = r.u8("type").map_err(wire)?;
        let kind = MimeiType::from_code(code).ok_or_else(|| {
            MimeiError::malformed(
                HEADER,
                format!("the type {code} is neither 1 (file) nor 2 (db)"),
            )
        })?;
        let mark = r.str("mark", id::MAX_MARK_LEN).map_err(wire)?.to_owned();
        let nonce = r.option_array("nonce").map_err(wire)?;
        let ext = r.str("ext", MAX_EXT_LEN).map_err(wire)?.to_owned();
        let created = r.varint("created time").map_err(wire)?;
        let revision = r.varint("revision").map_err(wire)?;
        let rights = Rights::read_grants(author, &mut r, HEADER)?;
        let signature = read_signature(&mut r, HEADER)?;
        // The text rules, and the mark/nonce pairing, are part of the layout.
        id::check_mark(&mark).map_err(|e| MimeiError::malformed(HEADER, e))?;
        check_ext(&ext).map_err(|e| MimeiError::malformed(HEADER, e))?;
        if (mark == id::AUTO_MARK) != nonce.is_some() {
            return Err(MimeiError::malformed(
                HEADER,
                "a nonce is present exactly when the mark is {{auto}}",
            ));
        }
        Ok(MimeiHeader {
            mid,
            author_pk,
            fields: HeaderFields {
                app,
                kind,
                mark,
                nonce,
                ext,
                created,
                revision,
                rights,
            },
            signature,
        })
    }

    /// Checks the author's signature, then that the Mimei ID is the one derived from the
    /// author and the header's own inputs.
    pub fn verify(&self) -> Result<(), MimeiError> {
        if !verify(
            &self.author_pk,
            &self.signed_bytes().into_vec(),
            &self.signature,
        ) {
            return Err(MimeiError::BadSignature { what: HEADER });
        }
        let f = &self.fields;
        let derived = id::derive(
            self.author(),
            f.app.as_ref(),
            f.kind,
            &f.mark,
            f.nonce.as_ref(),
        )?;
        if derived != self.mid {
            return Err(MimeiError::MidNotDerived { mid: self.mid });
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
