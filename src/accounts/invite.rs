//! The invitation one node gives another (Leither's `Invite` / `Accept` / `AddNode`,
//! api/Net.md section 2): a record signed by the inviting node's key, carried as one line of
//! text a person can paste. docs/security.md, "Nodes that trust each other".
//!
//! The text form is `linv1.` followed by the base64url (no padding) of this layout:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `L` `I` `N` `V` |
//! | 4 | 1 | format version, 1 |
//! | 5 | 32 | the inviting node's ed25519 public key |
//! | 37 | 8 | made, unix seconds, u64 big-endian |
//! | 45 | 8 | expires, unix seconds, u64 big-endian, after made |
//! | 53 | 8 | credit, u64 big-endian (recorded with the admission; no ledger uses it yet) |
//! | 61 | 2 | count: how many nodes may use it, u16 big-endian, 1 to [`MAX_COUNT`] |
//! | 63 | 16 | nonce (random; names the invitation in the node's table) |
//! | 79 | 1 | number of addresses, at most [`MAX_ADDRS`] |
//! | 80 | ... | each: length (u8, 1 to [`MAX_ADDR_LEN`]) and the address (printable ASCII, no `,`) |
//! | end - 64 | 64 | ed25519 signature of every byte before it |
//!
//! The addresses are where a peer reaches the inviting node: its HTTP API URLs and its libp2p
//! multiaddrs (with `/p2p/<PeerId>`). The magic keeps an invitation apart from everything
//! else the node key signs (a pass starts `PPT`), so no signature can be taken for another
//! record. Parsing is strict: exact lengths, nothing after the signature, so every
//! invitation has one text. This module is sans-io: the caller passes the time.

use std::fmt;

use crate::pki::encoding::{base64url_decode, base64url_encode};
use crate::pki::{LeitherId, NodeKey, verify};

/// Prefix of the text form; the digit is the format version.
pub const TEXT_PREFIX: &str = "linv1.";
/// First bytes of the layout.
pub const MAGIC: [u8; 4] = *b"LINV";
/// The format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Longest invitation text accepted or produced, in bytes.
pub const MAX_TEXT_LEN: usize = 4096;
/// Most addresses in one invitation.
pub const MAX_ADDRS: usize = 12;
/// Longest address, in bytes.
pub const MAX_ADDR_LEN: usize = 200;
/// Most nodes one invitation may admit (Leither's `friendCount`).
pub const MAX_COUNT: u16 = 1000;
/// Longest validity, in hours (30 days, as `SignPPT`).
pub const MAX_HOURS: u64 = 720;
/// Bytes of the nonce.
pub const NONCE_LEN: usize = 16;

const FIXED_LEN: usize = 4 + 1 + 32 + 8 + 8 + 8 + 2 + NONCE_LEN + 1;
const SIG_LEN: usize = 64;

/// Why an invitation, or an operation on invitations, was refused. Every message says what
/// is wrong and what would work.
#[derive(Debug)]
#[non_exhaustive]
pub enum InviteError {
    /// The text is not an invitation (the reason says where it broke).
    Malformed(String),
    /// The signature does not verify: the invitation was changed after it was signed.
    Tampered,
    /// The invitation is signed by another key than this node's (a forgery, or an invitation
    /// of another node sent to the wrong one).
    NotOurs {
        /// The ID of the key that signed it.
        signer: String,
    },
    /// Its validity ended.
    Expired {
        /// When, unix seconds.
        at: u64,
    },
    /// Every use it allowed was taken.
    UsedUp {
        /// How many nodes it admitted.
        count: u16,
    },
    /// The node has no such outstanding invitation: the owner withdrew it (or it expired or
    /// was used up and was forgotten).
    Withdrawn,
    /// A parameter of `Invite` is out of its range.
    BadParams(String),
    /// The node keeps its maximum of outstanding invitations.
    TooMany(usize),
    /// The node keeps the addresses of its maximum of trusted nodes.
    TooManyNodes(u64),
    /// No outstanding invitation starts with this nonce (or more than one does).
    UnknownNonce(String),
    /// The invitation names this node itself.
    Own,
    /// Calling the inviting node failed (every address tried, with the reasons).
    Unreachable(String),
    /// The inviting node refused `AddNode`; its message.
    Refused(String),
    /// A stored record does not parse; it is left as it is.
    Damaged(String),
    /// The store failed.
    Store(crate::store::StoreError),
}

impl InviteError {
    /// The HTTP status of the JSON front door.
    pub fn http_status(&self) -> u16 {
        match self {
            InviteError::Malformed(_) | InviteError::BadParams(_) | InviteError::Own => 400,
            InviteError::Tampered
            | InviteError::NotOurs { .. }
            | InviteError::Expired { .. }
            | InviteError::UsedUp { .. }
            | InviteError::Withdrawn
            | InviteError::Refused(_) => 403,
            InviteError::UnknownNonce(_) => 404,
            InviteError::Unreachable(_) => 502,
            InviteError::TooMany(_) | InviteError::TooManyNodes(_) => 503,
            InviteError::Damaged(_) | InviteError::Store(_) => 500,
        }
    }

    /// Whether a caller presenting this code guessed wrong (counted like a failed login).
    pub fn is_wrong_code(&self) -> bool {
        matches!(
            self,
            InviteError::Malformed(_)
                | InviteError::Tampered
                | InviteError::NotOurs { .. }
                | InviteError::Expired { .. }
                | InviteError::UsedUp { .. }
                | InviteError::Withdrawn
        )
    }
}

impl fmt::Display for InviteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InviteError::Malformed(why) => write!(
                f,
                "not an invitation code ({why}); paste the whole `{TEXT_PREFIX}...` line that \
                 `leither node invite` printed"
            ),
            InviteError::Tampered => write!(
                f,
                "the invitation's signature does not verify: it was changed after it was \
                 signed; ask the inviting node's owner for a fresh one"
            ),
            InviteError::NotOurs { signer } => write!(
                f,
                "this invitation was not issued by this node (it is signed by {signer}); only \
                 an invitation made here with `leither node invite` admits a node here"
            ),
            InviteError::Expired { at } => write!(
                f,
                "the invitation expired at {}; ask the inviting node's owner for a fresh one",
                crate::clock::iso8601(*at as i64)
            ),
            InviteError::UsedUp { count } => write!(
                f,
                "the invitation was used up: it admitted the {count} node(s) it allowed; ask \
                 the inviting node's owner for a fresh one"
            ),
            InviteError::Withdrawn => write!(
                f,
                "the invitation is no longer outstanding here: its owner withdrew it (`leither \
                 node uninvite`); ask for a fresh one"
            ),
            InviteError::BadParams(why) => write!(f, "{why}"),
            InviteError::TooMany(max) => write!(
                f,
                "this node keeps at most {max} outstanding invitations; withdraw some with \
                 `leither node uninvite NONCE` (`leither node invites` lists them)"
            ),
            InviteError::TooManyNodes(max) => write!(
                f,
                "this node keeps the addresses of at most {max} trusted nodes; withdraw some \
                 with `leither lpki delkey -i ID`"
            ),
            InviteError::UnknownNonce(n) => write!(
                f,
                "no outstanding invitation has the nonce {n:?}; `leither node invites` lists them"
            ),
            InviteError::Own => write!(
                f,
                "the invitation names this node itself; it is for another node to accept"
            ),
            InviteError::Unreachable(why) => {
                write!(f, "cannot reach the inviting node: {why}")
            }
            InviteError::Refused(why) => write!(f, "the inviting node refused: {why}"),
            InviteError::Damaged(why) => write!(f, "an invitation record is damaged: {why}"),
            InviteError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for InviteError {}

impl From<crate::store::StoreError> for InviteError {
    fn from(e: crate::store::StoreError) -> Self {
        InviteError::Store(e)
    }
}

/// An invitation: what the inviting node signed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Invitation {
    /// The inviting node's public key.
    pub public_key: [u8; 32],
    /// When it was made, unix seconds.
    pub made: u64,
    /// When it ends, unix seconds.
    pub expires: u64,
    /// The credit the inviting node grants (recorded, not yet spent anywhere).
    pub credit: u64,
    /// How many nodes may use it.
    pub count: u16,
    /// Its random nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Where the inviting node is reached: HTTP URLs, libp2p multiaddrs.
    pub addrs: Vec<String>,
    signature: [u8; SIG_LEN],
}

/// Whether `a` may stand in an invitation (and in `AddNode`'s list): 1 to
/// [`MAX_ADDR_LEN`] bytes of printable ASCII without `,`.
pub fn valid_addr(a: &str) -> bool {
    !a.is_empty() && a.len() <= MAX_ADDR_LEN && a.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

impl Invitation {
    /// Signs an invitation with `key`. `addrs` that are not [`valid_addr`], past
    /// [`MAX_ADDRS`], or that would make the text longer than [`MAX_TEXT_LEN`], are left out.
    /// Fails if `expires` is not after `made` or `count` is 0 or over [`MAX_COUNT`].
    pub fn sign(
        key: &NodeKey,
        made: u64,
        expires: u64,
        credit: u64,
        count: u16,
        nonce: [u8; NONCE_LEN],
        addrs: &[String],
    ) -> Result<Invitation, InviteError> {
        if expires <= made {
            return Err(InviteError::BadParams(
                "an invitation must end after it is made".into(),
            ));
        }
        if count == 0 || count > MAX_COUNT {
            return Err(InviteError::BadParams(format!(
                "an invitation admits 1 to {MAX_COUNT} nodes"
            )));
        }
        let mut inv = Invitation {
            public_key: key.public_key(),
            made,
            expires,
            credit,
            count,
            nonce,
            addrs: Vec::new(),
            signature: [0; SIG_LEN],
        };
        let mut len = FIXED_LEN + SIG_LEN;
        for a in addrs.iter().filter(|a| valid_addr(a)) {
            if inv.addrs.len() >= MAX_ADDRS || inv.addrs.contains(a) {
                continue;
            }
            if text_len_of(len + 1 + a.len()) > MAX_TEXT_LEN {
                continue;
            }
            len += 1 + a.len();
            inv.addrs.push(a.clone());
        }
        inv.signature = key.sign(&inv.body());
        Ok(inv)
    }

    fn body(&self) -> Vec<u8> {
        let addrs: usize = self.addrs.iter().map(|a| 1 + a.len()).sum();
        let mut out = Vec::with_capacity(FIXED_LEN + addrs + SIG_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.public_key);
        out.extend_from_slice(&self.made.to_be_bytes());
        out.extend_from_slice(&self.expires.to_be_bytes());
        out.extend_from_slice(&self.credit.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        // Count and lengths were bounded when the invitation was signed or parsed.
        out.push(self.addrs.len() as u8);
        for a in &self.addrs {
            out.push(a.len() as u8);
            out.extend_from_slice(a.as_bytes());
        }
        out
    }

    /// The layout, signature included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.signature);
        out
    }

    /// The text form, `linv1.<base64url>`.
    pub fn to_text(&self) -> String {
        format!("{TEXT_PREFIX}{}", base64url_encode(&self.to_bytes()))
    }

    /// Parses the text form (surrounding whitespace ignored). Checks the layout only: call
    /// [`Invitation::verify`] before trusting anything in it.
    pub fn parse(text: &str) -> Result<Invitation, InviteError> {
        let text = text.trim();
        if text.len() > MAX_TEXT_LEN {
            return Err(InviteError::Malformed(format!(
                "{} bytes, over the limit of {MAX_TEXT_LEN}",
                text.len()
            )));
        }
        let b64 = text
            .strip_prefix(TEXT_PREFIX)
            .ok_or_else(|| InviteError::Malformed(format!("it does not start {TEXT_PREFIX}")))?;
        let bytes = base64url_decode(b64)
            .map_err(|e| InviteError::Malformed(format!("not base64url: {e}")))?;
        Invitation::from_bytes(&bytes)
    }

    /// Parses the layout, with the checks of [`Invitation::parse`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Invitation, InviteError> {
        Invitation::read(bytes).map_err(InviteError::Malformed)
    }

    fn read(bytes: &[u8]) -> Result<Invitation, String> {
        if bytes.len() < FIXED_LEN + SIG_LEN {
            return Err(format!("only {} bytes, cut short", bytes.len()));
        }
        if text_len_of(bytes.len()) > MAX_TEXT_LEN {
            return Err(format!("over the limit of {MAX_TEXT_LEN} characters"));
        }
        let (body, sig) = bytes.split_at(bytes.len() - SIG_LEN);
        if body[..4] != MAGIC {
            return Err("wrong magic bytes".into());
        }
        if body[4] != VERSION {
            return Err(format!("unsupported format version {}", body[4]));
        }
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&body[at..at + 8]);
            u64::from_be_bytes(a)
        };
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(&body[5..37]);
        let made = u64_at(37);
        let expires = u64_at(45);
        let credit = u64_at(53);
        let count = u16::from_be_bytes([body[61], body[62]]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&body[63..63 + NONCE_LEN]);
        let n = usize::from(body[FIXED_LEN - 1]);
        if expires <= made {
            return Err("it ends before it is made".into());
        }
        if count == 0 || count > MAX_COUNT {
            return Err(format!("a count of {count}, outside 1 to {MAX_COUNT}"));
        }
        if n > MAX_ADDRS {
            return Err(format!("{n} addresses, more than {MAX_ADDRS}"));
        }
        let mut rest = &body[FIXED_LEN..];
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let (&len, tail) = rest.split_first().ok_or("an address is cut short")?;
            let len = usize::from(len);
            if tail.len() < len {
                return Err("an address is cut short".into());
            }
            let (a, tail) = tail.split_at(len);
            let a = std::str::from_utf8(a).map_err(|_| "an address is not text")?;
            if !valid_addr(a) {
                return Err("an address holds characters an address may not".into());
            }
            addrs.push(a.to_string());
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(format!(
                "{} unexpected bytes after the addresses",
                rest.len()
            ));
        }
        let mut signature = [0u8; SIG_LEN];
        signature.copy_from_slice(sig);
        Ok(Invitation {
            public_key,
            made,
            expires,
            credit,
            count,
            nonce,
            addrs,
            signature,
        })
    }

    /// Checks the signature with the invitation's own key, and that it has not expired at
    /// `now`. Whether that key is the right one is the caller's question.
    pub fn verify(&self, now: u64) -> Result<(), InviteError> {
        if !verify(&self.public_key, &self.body(), &self.signature) {
            return Err(InviteError::Tampered);
        }
        if now >= self.expires {
            return Err(InviteError::Expired { at: self.expires });
        }
        Ok(())
    }

    /// The inviting node's ID (as its passes present it).
    pub fn inviter(&self) -> LeitherId {
        LeitherId::from_public_key(&self.public_key)
    }

    /// The nonce as text: 22 characters of base64url, the key of the node's table.
    pub fn nonce_text(&self) -> String {
        base64url_encode(&self.nonce)
    }

    /// The addresses that are HTTP URLs (`http://`), the ones `Accept` can call.
    pub fn http_urls(&self) -> impl Iterator<Item = &str> {
        self.addrs
            .iter()
            .map(String::as_str)
            .filter(|a| a.starts_with("http://"))
    }
}

/// Characters of the text form of a layout of `n` bytes.
fn text_len_of(n: usize) -> usize {
    TEXT_PREFIX.len() + (n * 4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> Vec<String> {
        vec![
            "http://192.0.2.7:4800".into(),
            "/ip4/192.0.2.7/tcp/4801/p2p/12D3KooWExample".into(),
        ]
    }

    #[test]
    fn round_trip_and_verify() {
        let key = NodeKey::generate().unwrap();
        let inv = Invitation::sign(&key, 100, 3700, 50, 3, [7; NONCE_LEN], &addrs()).unwrap();
        let text = inv.to_text();
        assert!(text.starts_with(TEXT_PREFIX));
        let back = Invitation::parse(&format!("  {text}\n")).unwrap();
        assert_eq!(back, inv);
        assert_eq!(back.to_text(), text, "one text per invitation");
        back.verify(200).unwrap();
        assert_eq!(
            back.inviter(),
            LeitherId::from_public_key(&key.public_key())
        );
        assert_eq!(
            back.http_urls().collect::<Vec<_>>(),
            ["http://192.0.2.7:4800"]
        );
        assert!(matches!(
            back.verify(3700),
            Err(InviteError::Expired { at: 3700 })
        ));
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let key = NodeKey::generate().unwrap();
        let inv = Invitation::sign(&key, 100, 3700, 50, 3, [7; NONCE_LEN], &addrs()).unwrap();
        let bytes = inv.to_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            match Invitation::from_bytes(&b) {
                Ok(x) => assert!(x.verify(200).is_err(), "byte {i} changed went unnoticed"),
                Err(InviteError::Malformed(_)) => {}
                Err(e) => panic!("byte {i}: {e}"),
            }
        }
    }

    #[test]
    fn cut_long_and_foreign_texts_are_malformed() {
        let key = NodeKey::generate().unwrap();
        let inv = Invitation::sign(&key, 100, 3700, 0, 1, [1; NONCE_LEN], &[]).unwrap();
        let bytes = inv.to_bytes();
        for n in 0..bytes.len() {
            assert!(Invitation::from_bytes(&bytes[..n]).is_err(), "cut at {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Invitation::from_bytes(&long).is_err());
        let pass = crate::pki::Pass::sign(&key, vec![], 100, 60)
            .unwrap()
            .to_text();
        assert!(matches!(
            Invitation::parse(&pass),
            Err(InviteError::Malformed(_))
        ));
        assert!(Invitation::parse(&"x".repeat(MAX_TEXT_LEN + 1)).is_err());
        assert!(Invitation::parse("linv1.!!!").is_err());
    }

    #[test]
    fn bounds_on_signing() {
        let key = NodeKey::generate().unwrap();
        assert!(Invitation::sign(&key, 100, 100, 0, 1, [0; 16], &[]).is_err());
        assert!(Invitation::sign(&key, 100, 200, 0, 0, [0; 16], &[]).is_err());
        assert!(Invitation::sign(&key, 100, 200, 0, MAX_COUNT + 1, [0; 16], &[]).is_err());
        let many: Vec<String> = (0..40)
            .map(|i| format!("http://node{i}.example:{}", 4800 + i))
            .chain(["bad addr".to_string(), "a,b".to_string(), "x".repeat(201)])
            .collect();
        let inv = Invitation::sign(&key, 100, 200, 0, 1, [0; 16], &many).unwrap();
        assert_eq!(inv.addrs.len(), MAX_ADDRS);
        assert!(inv.addrs.iter().all(|a| valid_addr(a)));
        assert!(inv.to_text().len() <= MAX_TEXT_LEN);
        assert_eq!(Invitation::parse(&inv.to_text()).unwrap(), inv);
        // Long addresses are left out before the text passes its bound.
        let long: Vec<String> = (0..12)
            .map(|i| format!("http://{}{i}.example", "n".repeat(180)))
            .collect();
        let inv = Invitation::sign(&key, 100, 200, 0, 1, [0; 16], &long).unwrap();
        assert!(
            inv.to_text().len() <= MAX_TEXT_LEN,
            "{}",
            inv.to_text().len()
        );
        assert!(!inv.addrs.is_empty());
    }
}
