//! The Mimei model: IDs, rights, signed records and version names.
//!
//! A Mimei is the unit of information: a file tree or a database with an immutable 27-character
//! ID, an author, numbered read-only versions, a writable `cur`, and rights for members. This
//! module is the model only. It is sans-io (no files, no clock: callers pass unix seconds; the
//! one effect is the operating system's random source in [`id::new_mid`] and
//! [`record::MimeiHeader::create`], each with a pure twin taking the nonce) and knows nothing of
//! the store, the network or IPFS (a root CID is plain bytes here).
//!
//! # Layout
//!
//! - [`id`]: [`MimeiId`] derivation from author, app, type and mark (`{{auto}}` = fresh), and
//!   [`MimeiType`].
//! - [`rights`]: [`Right`] bits, [`Member`] (`*` or a user), the [`Rights`] table and its checks
//!   (`MMSetRight`, `MMGetRight`).
//! - [`record`]: the signed [`MimeiHeader`] (who made the Mimei, its inputs, its rights) and
//!   [`VersionRecord`] (version number -> root CID, signed by a key with write right), in a
//!   postcard layout; bounded parsers that never panic.
//! - [`head`]: the signed [`HeadRecord`] (latest version, root CID, sequence number, end of
//!   life) a publisher puts in the DHT, and the [`HeadBundle`] of head, header and version
//!   record that travels as the DHT value and in sync.
//! - [`names`]: version names (`3`, `last`, `release`, `cur`) and `MID[:VER][/path]` with safe
//!   path normalisation, for `mimei get` and `/mm/<mid>[:ver]/path`.
//! - [`store`] and [`content`] (I/O, over the node's redb file): Mimeis stored, and the block
//!   index built once for a store older than it (`store::tags`).
//! - `wire`: the postcard subset the records use, hand-written (see its doc for why).
//!
//! Formats byte by byte, the ID derivation and the rights bits: `docs/mimei.md`.

pub mod content;
pub mod head;
pub mod id;
pub mod names;
pub mod notes;
pub mod record;
pub mod refs;
pub mod rights;
pub mod store;
pub(crate) mod wire;

pub use head::{HeadBundle, HeadRecord};
pub use id::{AUTO_MARK, MimeiId, MimeiType};
pub use names::{MimeiPath, VersionName};
pub use record::{HeaderFields, MimeiHeader, VersionRecord};
pub use rights::{Member, Right, Rights};

use core::fmt;

use crate::pki::LeitherId;

/// Everything that can go wrong in the Mimei model.
///
/// The `Display` text is for the person at the terminal or the app developer: what went wrong
/// and what to do. [`MimeiError::http_status`] gives the status for the HTTP front doors.
#[non_exhaustive]
#[derive(Debug)]
pub enum MimeiError {
    /// A Mimei type that is not `file` or `db` (nor the type byte 1 or 2).
    InvalidType {
        /// The input, quoted and shortened for display.
        input: String,
    },
    /// A mark that breaks the rules: too long, control characters, or a nonce given with a mark
    /// other than `{{auto}}` (or missing with it).
    InvalidMark {
        /// What is wrong.
        reason: String,
    },
    /// An ext (`-e`) that breaks the rules: too long or control characters.
    InvalidExt {
        /// What is wrong.
        reason: String,
    },
    /// A string that should be a 27-character Mimei ID is not one.
    InvalidMid {
        /// The input, quoted and shortened for display.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A version name that is not a number from 1, `last`, `release` or `cur`.
    InvalidVersion {
        /// The input, quoted and shortened for display.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A path inside a Mimei that is refused: `..`, an absolute or empty component, a
    /// backslash, a control character, or too long.
    InvalidPath {
        /// The input, quoted and shortened for display.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A rights value or member that cannot be used: reserved bits, an unknown name, a member
    /// that is neither `*` nor an ID, the author's own entry, or a full table.
    InvalidRights {
        /// What is wrong.
        reason: String,
    },
    /// The session lacks rights for what it asked.
    Forbidden {
        /// The user, `None` for a guest session.
        user: Option<LeitherId>,
        /// The rights it asked for and does not hold.
        missing: Right,
    },
    /// An admin who is not the author tried to grant, or change the entry of someone holding,
    /// rights that the admin does not hold itself.
    GrantBeyondOwn {
        /// The entry it tried to change.
        member: Member,
        /// The rights involved that the admin lacks.
        missing: Right,
    },
    /// A record could not be signed because its fields break a rule (version 0, previous
    /// version not below the version, empty or too long CID, a key that is not the author's).
    InvalidRecord {
        /// Which record: "version record" or "Mimei header".
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Bytes that should be a record (or rights table) are not a valid encoding: truncated,
    /// too long, bad lengths, non-canonical, or extra bytes.
    MalformedRecord {
        /// Which record: "version record", "Mimei header" or "rights table".
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A record's signature does not verify with the key it carries: it was changed after
    /// signing, or never signed by that key.
    BadSignature {
        /// Which record.
        what: &'static str,
    },
    /// A version or head record signed by a key without the write right on its Mimei.
    SignerNotAllowed {
        /// Which record: "version record" or "head record".
        what: &'static str,
        /// The Mimei the record is for.
        mid: MimeiId,
        /// Who signed it.
        signer: LeitherId,
    },
    /// A header whose Mimei ID is not the one derived from its author, app, type, mark and
    /// nonce: forged or corrupt.
    MidNotDerived {
        /// The ID the header claims.
        mid: MimeiId,
    },
    /// A record that belongs to another Mimei than the one it was checked against.
    WrongMimei {
        /// The Mimei it was checked against.
        expected: MimeiId,
        /// The Mimei the record names.
        found: MimeiId,
    },
    /// A head record that does not describe the version record it travels with: another
    /// version number or another root CID.
    HeadMismatch {
        /// The Mimei.
        mid: MimeiId,
        /// What differs.
        reason: String,
    },
    /// A head record whose end of life has passed: the publisher no longer vouches for it.
    Expired {
        /// The Mimei.
        mid: MimeiId,
        /// Its end of life, unix seconds.
        eol: u64,
        /// The time it was checked at, unix seconds.
        now: u64,
    },
    /// The operating system's random source failed while making an `{{auto}}` ID.
    Random(getrandom::Error),
}

impl MimeiError {
    /// The HTTP status for this error: 400 for malformed or unverifiable input, 403 for
    /// missing rights, 500 for a failure of this machine.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Forbidden { .. }
            | Self::GrantBeyondOwn { .. }
            | Self::SignerNotAllowed { .. } => 403,
            Self::Random(_) => 500,
            Self::InvalidType { .. }
            | Self::InvalidMark { .. }
            | Self::InvalidExt { .. }
            | Self::InvalidMid { .. }
            | Self::InvalidVersion { .. }
            | Self::InvalidPath { .. }
            | Self::InvalidRights { .. }
            | Self::InvalidRecord { .. }
            | Self::MalformedRecord { .. }
            | Self::BadSignature { .. }
            | Self::MidNotDerived { .. }
            | Self::WrongMimei { .. }
            | Self::HeadMismatch { .. }
            | Self::Expired { .. } => 400,
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl fmt::Display) -> MimeiError {
        MimeiError::MalformedRecord {
            what,
            reason: reason.to_string(),
        }
    }
}

impl fmt::Display for MimeiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidType { input } => write!(
                f,
                "{input} is not a Mimei type; use -t file or -t db (type byte 1 or 2)"
            ),
            Self::InvalidMark { reason } => write!(
                f,
                "invalid mark: {reason}. A mark is up to 256 bytes of text without control \
                 characters, or {{{{auto}}}} for a fresh ID"
            ),
            Self::InvalidExt { reason } => write!(
                f,
                "invalid ext: {reason}. An ext is up to 64 bytes of text without control \
                 characters"
            ),
            Self::InvalidMid { input, reason } => write!(
                f,
                "{input} is not a Mimei ID: {reason}. A Mimei ID is the 27 characters printed \
                 as mid= by mimei create"
            ),
            Self::InvalidVersion { input, reason } => write!(
                f,
                "{input} is not a version: {reason}. Use a version number (1, 2, ...), last, \
                 release or cur"
            ),
            Self::InvalidPath { input, reason } => write!(
                f,
                "refused path {input}: {reason}. Give a path inside the Mimei, like \
                 docs/index.html"
            ),
            Self::InvalidRights { reason } => write!(f, "invalid rights: {reason}"),
            Self::Forbidden {
                user: None,
                missing,
            } => write!(
                f,
                "a guest session lacks the {missing} right on this Mimei; guests may only read \
                 what the author lets everyone (*) read. Log in with a pass (Login) as a user \
                 who holds the right"
            ),
            Self::Forbidden {
                user: Some(user),
                missing,
            } => write!(
                f,
                "user {user} lacks the {missing} right on this Mimei; ask its author or an \
                 admin to grant it: mimei setright MID {user} {missing}"
            ),
            Self::GrantBeyondOwn { member, missing } => write!(
                f,
                "cannot change the rights of {member}: that involves {missing}, which this \
                 admin does not hold; an admin can only grant or revoke rights it holds itself. \
                 Ask the author"
            ),
            Self::InvalidRecord { what, reason } => {
                write!(f, "cannot sign the {what}: {reason}")
            }
            Self::MalformedRecord { what, reason } => write!(
                f,
                "malformed {what}: {reason}. It was corrupted on disk or in transit, or made by \
                 an incompatible program; sync it again from the author or another provider"
            ),
            Self::BadSignature { what } => write!(
                f,
                "the {what}'s signature is invalid: it was changed after signing or not signed \
                 by the key it names; refused. Sync it again from the author or another \
                 provider"
            ),
            Self::SignerNotAllowed { what, mid, signer } => write!(
                f,
                "{what} for Mimei {mid} is signed by {signer}, who holds no write right on it; \
                 refused. Only the author and members granted write may make versions"
            ),
            Self::MidNotDerived { mid } => write!(
                f,
                "the header of Mimei {mid} is not derived from its own author, app, type and \
                 mark: forged or corrupt; refused. Sync it again from the author"
            ),
            Self::WrongMimei { expected, found } => write!(
                f,
                "the record is for Mimei {found}, not {expected}; refused"
            ),
            Self::HeadMismatch { mid, reason } => write!(
                f,
                "the head record of Mimei {mid} does not match the version record sent with it: \
                 {reason}; refused. Fetch the head again from the DHT or the publisher"
            ),
            Self::Expired { mid, eol, now } => write!(
                f,
                "the head record of Mimei {mid} expired at {eol} (unix seconds; it is now \
                 {now}), so its publisher no longer vouches for it; refused. Look for a newer \
                 head, or check this machine's clock"
            ),
            Self::Random(e) => write!(
                f,
                "the system random source failed ({e}); cannot make an {{{{auto}}}} Mimei ID. \
                 Check that /dev/urandom is available and try again, or give a mark with -m"
            ),
        }
    }
}

impl std::error::Error for MimeiError {}
