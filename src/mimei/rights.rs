//! Rights: who may do what to a Mimei (`MMSetRight`, `MMGetRight`, `mimei setright|getright`).
//!
//! A [`Right`] is a set of bits in a `u64`, the `right` argument of Leither's
//! `MMSetRight(sid, mid, member, right)`:
//!
//! | bit | value | name | allows |
//! |---|---|---|---|
//! | 0 | `0x01` | `read` | open any version or `cur` for reading: `mimei get`, `/mm/`, `MFGetData`, `MFStat`, `MFReaddir`, `mimei show` |
//! | 1 | `0x02` | `write` | change `cur` (`MFSetData`, `MFTruncate`, `MFSetCid`, database writes) and make versions (`MMBackup`, `setcid`, `add`, `MMRestore`); sign version records others accept |
//! | 2 | `0x04` | `delete` | delete versions (`MMDelVers`, `mimei delver`) |
//! | 3 | `0x08` | `release` | name a version `release` (`MMRelease`, `lapp release`) |
//! | 4 | `0x10` | `publish` | announce and serve to the network (`MiMeiPublish`, `unpublish`, `provide`, `unprovide`) |
//! | 5 | `0x20` | `admin` | change other members' rights (`MMSetRight`) |
//!
//! Bits are independent (write does not imply read). Other bits are reserved and refused, so a
//! value meant for another layout fails loudly instead of granting something unexpected.
//!
//! **Leither's rights word.** Leither's clients and scripts pass a 64-bit word such as
//! `0x07276707` (`MMSetRight(sid, 'mmroot', '', 0x07276707)` in its setup guide) or
//! `0x07276705` (`MMCreate` in its examples); its `mimei show` prints a fresh Mimei's as
//! `7276704`. Leither documents no layout. What the values share: the high bytes stay
//! `0x072767` and only the lowest byte varies, as a Unix mode's "others" digit would
//! (4 read, 2 write, 1 execute), and the guide uses `...07` to open a folder to other users.
//! So [`Right::from_word`] reads a value above `0xff` as such a word: its lowest byte is what
//! the member (`*` when the member is `""`) gets: 4 or 1 (execute: open and run an app, which
//! needs reading) give `read`, 2 gives `write`. The high bytes describe the author's and the
//! node's own access, which our author always holds in full, so they grant nothing here.
//! Values up to `0x3f` are our bits above. `MMGetRight` answers in our bits.
//!
//! A [`Rights`] table maps members to rights. A member is a user ID or `*`, everyone. The rules:
//!
//! - The **author** holds every right, always; its entry cannot be set.
//! - A **logged-in user** holds its own entry's rights plus those of `*`.
//! - A **guest** (no user) holds only the `read` bit of `*`: guest sessions are read-only
//!   (docs/api.md, `Login`), even on a Mimei that grants everyone `write`.
//! - An admin who is not the author may grant or revoke only rights it holds itself, and may not
//!   change the entry of a member holding a right it lacks.
//!
//! The table is kept canonical (sorted by member, `*` first; no empty entries; no author entry)
//! so that it has one encoding inside the signed header (`record.rs`, docs/mimei.md).

use core::fmt;
use core::ops::BitOr;
use core::str::FromStr;

use super::MimeiError;
use super::wire::{Reader, Writer};
use crate::pki::{LeitherId, quote_input};

/// Most entries in one table (`*` included): bounds the header size.
pub const MAX_GRANTS: usize = 256;

/// A set of rights bits. See the module doc for their meaning.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Right(u64);

impl Right {
    /// No rights.
    pub const NONE: Right = Right(0);
    /// Read any version or `cur`.
    pub const READ: Right = Right(0x01);
    /// Change `cur` and make (and sign) versions.
    pub const WRITE: Right = Right(0x02);
    /// Delete versions.
    pub const DELETE: Right = Right(0x04);
    /// Name a version `release`.
    pub const RELEASE: Right = Right(0x08);
    /// Publish, provide and unpublish on the network.
    pub const PUBLISH: Right = Right(0x10);
    /// Change other members' rights.
    pub const ADMIN: Right = Right(0x20);
    /// Every defined bit.
    pub const ALL: Right = Right(0x3f);

    const NAMES: [(Right, &'static str); 6] = [
        (Right::READ, "read"),
        (Right::WRITE, "write"),
        (Right::DELETE, "delete"),
        (Right::RELEASE, "release"),
        (Right::PUBLISH, "publish"),
        (Right::ADMIN, "admin"),
    ];

    /// The rights of a `u64` from the API, refusing reserved bits.
    pub fn from_bits(bits: u64) -> Result<Right, MimeiError> {
        if bits & !Right::ALL.0 != 0 {
            return Err(MimeiError::InvalidRights {
                reason: format!(
                    "{bits:#x} sets reserved bits {:#x}; the defined bits are 0x01 read, 0x02 \
                     write, 0x04 delete, 0x08 release, 0x10 publish, 0x20 admin",
                    bits & !Right::ALL.0
                ),
            });
        }
        Ok(Right(bits))
    }

    /// A rights value from an API caller: our bits (up to `0x3f`), or a Leither rights word
    /// (above `0xff`; see the module doc). Values between are refused: they fit neither.
    pub fn from_word(bits: u64) -> Result<Right, MimeiError> {
        if bits <= Right::ALL.0 {
            return Right::from_bits(bits);
        }
        if bits <= 0xff {
            return Err(MimeiError::InvalidRights {
                reason: format!(
                    "{bits:#x} is neither our rights bits (at most 0x3f: 0x01 read, 0x02 write, \
                     0x04 delete, 0x08 release, 0x10 publish, 0x20 admin) nor a Leither rights \
                     word such as 0x07276705"
                ),
            });
        }
        let others = bits & 0xff;
        let mut r = Right::NONE;
        if others & 0x5 != 0 {
            r = r | Right::READ;
        }
        if others & 0x2 != 0 {
            r = r | Right::WRITE;
        }
        Ok(r)
    }

    /// The bits as a `u64` (the value `MMGetRight` returns).
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every bit of `other` is in `self`.
    pub const fn contains(self, other: Right) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The bits in both.
    pub const fn intersection(self, other: Right) -> Right {
        Right(self.0 & other.0)
    }

    /// The bits of `self` that are not in `other`.
    pub const fn difference(self, other: Right) -> Right {
        Right(self.0 & !other.0)
    }
}

impl BitOr for Right {
    type Output = Right;
    fn bitor(self, rhs: Right) -> Right {
        Right(self.0 | rhs.0)
    }
}

impl fmt::Display for Right {
    /// The names joined by commas (`read,write`), or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (bit, name) in Right::NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Right({self})")
    }
}

impl FromStr for Right {
    type Err = MimeiError;

    /// `none`, `all`, names joined by commas (`read,write`), or a number: decimal or `0x` hex,
    /// as Leither scripts pass it ([`Right::from_word`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let number = if let Some(hex) = s.strip_prefix("0x") {
            Some(u64::from_str_radix(hex, 16))
        } else if s.starts_with(|c: char| c.is_ascii_digit()) {
            Some(s.parse::<u64>())
        } else {
            None
        };
        if let Some(n) = number {
            let bits = n.map_err(|_| MimeiError::InvalidRights {
                reason: format!("{} is not a number of at most 64 bits", quote_input(s)),
            })?;
            return Right::from_word(bits);
        }
        match s {
            "none" => return Ok(Right::NONE),
            "all" => return Ok(Right::ALL),
            _ => {}
        }
        let mut right = Right::NONE;
        for word in s.split(',').map(str::trim) {
            let Some((bit, _)) = Right::NAMES.iter().find(|(_, name)| *name == word) else {
                return Err(MimeiError::InvalidRights {
                    reason: format!(
                        "unknown right {}; use read, write, delete, release, publish, admin \
                         (joined by commas), all, none or a number",
                        quote_input(word)
                    ),
                });
            };
            right = right | *bit;
        }
        Ok(right)
    }
}

/// Who an entry of a [`Rights`] table is for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    /// `*`: every user, and (for `read` only) guests.
    Everyone,
    /// One user, by ID.
    User(LeitherId),
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Member::Everyone => f.write_str("*"),
            Member::User(id) => id.fmt(f),
        }
    }
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Member({self})")
    }
}

impl FromStr for Member {
    type Err = MimeiError;

    /// `*` or a 27-character user ID.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(Member::Everyone);
        }
        s.parse::<LeitherId>()
            .map(Member::User)
            .map_err(|e| MimeiError::InvalidRights {
                reason: format!("a member is * (everyone) or a user ID: {e}"),
            })
    }
}

/// The rights table of one Mimei: its author and the grants to members. See the module doc.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rights {
    author: LeitherId,
    /// Sorted by member, strictly; no empty rights; never the author.
    grants: Vec<(Member, Right)>,
}

impl Rights {
    /// A table where only the author has rights: a private Mimei.
    pub fn new(author: LeitherId) -> Rights {
        Rights {
            author,
            grants: Vec::new(),
        }
    }

    /// The author, who holds every right.
    pub fn author(&self) -> &LeitherId {
        &self.author
    }

    /// The entries, sorted (`*` first, then users by ID bytes); members without rights are
    /// absent.
    pub fn grants(&self) -> &[(Member, Right)] {
        &self.grants
    }

    /// What the table grants `member` itself: [`Right::ALL`] for the author, the entry's bits
    /// otherwise (without what `*` adds).
    pub fn granted(&self, member: &Member) -> Right {
        if *member == Member::User(self.author) {
            return Right::ALL;
        }
        match self.grants.binary_search_by(|(m, _)| m.cmp(member)) {
            Ok(i) => self.grants[i].1,
            Err(_) => Right::NONE,
        }
    }

    /// The rights a session holds (`MMGetRight`): `None` is a guest.
    pub fn effective(&self, user: Option<&LeitherId>) -> Right {
        let everyone = self.granted(&Member::Everyone);
        match user {
            None => everyone.intersection(Right::READ),
            Some(id) => self.granted(&Member::User(*id)) | everyone,
        }
    }

    /// Succeeds if the session (`None` = guest) holds every bit of `needed`.
    pub fn check(&self, user: Option<&LeitherId>, needed: Right) -> Result<(), MimeiError> {
        let missing = needed.difference(self.effective(user));
        if missing.is_empty() {
            Ok(())
        } else {
            Err(MimeiError::Forbidden {
                user: user.copied(),
                missing,
            })
        }
    }

    /// `MMSetRight`: sets `member`'s entry to `right` (`NONE` removes it), on behalf of `by`.
    pub fn set(
        &mut self,
        by: Option<&LeitherId>,
        member: Member,
        right: Right,
    ) -> Result<(), MimeiError> {
        self.check(by, Right::ADMIN)?;
        if member == Member::User(self.author) {
            return Err(MimeiError::InvalidRights {
                reason: "the author always holds all rights; its entry cannot be changed".into(),
            });
        }
        let current = self.granted(&member);
        if by != Some(&self.author) {
            let mine = self.effective(by);
            let beyond = right.difference(mine) | current.difference(mine);
            if !beyond.is_empty() {
                return Err(MimeiError::GrantBeyondOwn {
                    member,
                    missing: beyond,
                });
            }
        }
        match self.grants.binary_search_by(|(m, _)| m.cmp(&member)) {
            Ok(i) if right.is_empty() => {
                self.grants.remove(i);
            }
            Ok(i) => self.grants[i].1 = right,
            Err(_) if right.is_empty() => {}
            Err(i) => {
                if self.grants.len() >= MAX_GRANTS {
                    return Err(MimeiError::InvalidRights {
                        reason: format!(
                            "the table already has {MAX_GRANTS} entries, the limit; remove one, \
                             or grant to * instead"
                        ),
                    });
                }
                self.grants.insert(i, (member, right));
            }
        }
        Ok(())
    }

    /// The table alone, in the postcard layout of docs/mimei.md: author `[u8; 20]`, then the
    /// grants.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.array(self.author.as_bytes());
        self.write_grants(&mut w);
        w.into_vec()
    }

    /// Parses [`Rights::to_bytes`]; refuses anything not in canonical form. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Rights, MimeiError> {
        let what = "rights table";
        let mut r = Reader::new(bytes);
        let author = LeitherId::from_bytes(
            r.array("author")
                .map_err(|e| MimeiError::malformed(what, e))?,
        );
        let rights = Rights::read_grants(author, &mut r, what)?;
        r.finish().map_err(|e| MimeiError::malformed(what, e))?;
        Ok(rights)
    }

    /// The grants as postcard `Vec<(Member, u64)>`, `Member` an enum: 0 = everyone,
    /// 1 = user followed by its 20 ID bytes (tail 0), 2 = user followed by its 20 ID bytes and
    /// its tail byte (1..=3; see [`LeitherId`]).
    pub(crate) fn write_grants(&self, w: &mut Writer) {
        w.varint(self.grants.len() as u64);
        for (member, right) in &self.grants {
            match member {
                Member::Everyone => w.varint(0),
                // Tag 1 keeps the bytes of tables written before IDs had tails; a Leither ID
                // whose last two bits are set needs tag 2 and one more byte.
                Member::User(id) if id.tail() == 0 => {
                    w.varint(1);
                    w.array(id.as_bytes());
                }
                Member::User(id) => {
                    w.varint(2);
                    w.array(id.as_bytes());
                    w.u8(id.tail());
                }
            }
            w.varint(right.bits());
        }
    }

    /// Reads what [`Rights::write_grants`] writes, for `author`; `what` names the record for
    /// errors.
    pub(crate) fn read_grants(
        author: LeitherId,
        r: &mut Reader<'_>,
        what: &'static str,
    ) -> Result<Rights, MimeiError> {
        let wire = |e| MimeiError::malformed(what, e);
        let bad = |reason: &str| MimeiError::malformed(what, reason);
        let count = r.length("rights count", MAX_GRANTS).map_err(wire)?;
        let mut grants: Vec<(Member, Right)> = Vec::with_capacity(count);
        for _ in 0..count {
            let member = match r.varint("rights member").map_err(wire)? {
                0 => Member::Everyone,
                1 => Member::User(LeitherId::from_bytes(
                    r.array("rights member").map_err(wire)?,
                )),
                2 => {
                    let bytes = r.array("rights member").map_err(wire)?;
                    let tail = r.u8("rights member tail").map_err(wire)?;
                    match LeitherId::from_parts(bytes, tail) {
                        Some(id) if tail != 0 => Member::User(id),
                        _ => return Err(bad("a rights member has a tail that is 0 or over 3")),
                    }
                }
                tag => {
                    return Err(bad(&format!("the rights member has an unknown tag {tag}")));
                }
            };
            let bits = r.varint("rights bits").map_err(wire)?;
            let right = Right::from_bits(bits)
                .map_err(|_| bad(&format!("the rights of {member} set reserved bits")))?;
            if right.is_empty() {
                return Err(bad(&format!("the rights entry of {member} is empty")));
            }
            if member == Member::User(author) {
                return Err(bad("the rights table has an entry for the author"));
            }
            if grants.last().is_some_and(|(prev, _)| *prev >= member) {
                return Err(bad("the rights entries are not in ascending order"));
            }
            grants.push((member, right));
        }
        Ok(Rights { author, grants })
    }
}

#[cfg(test)]
#[path = "rights_tests.rs"]
mod tests;
