//! DHT values (`DhtPutValue`, `DhtGetValue`, `DhtGet`, ...): their keys, their signed record
//! and the rule that decides who may write a key. Sans-io: bytes in, verdicts out; the
//! driver asks [`accept`] before it keeps a value a peer sends, the API verifies every value
//! it reads with [`open`].
//!
//! **Keys.** A key is `ID/name`: the 27-character Leither ID that owns the namespace, a
//! slash, and a name of 1 to [`MAX_NAME`] bytes. The DHT record key is [`KEY_PREFIX`]
//! followed by it. A caller that gives a bare name gets their own namespace (`uid/name`).
//!
//! **Record.** `"LVAL1"`, the signing node's public key (32 bytes), the time in
//! microseconds (u64, big-endian), the value length (u16) and value (at most [`MAX_VALUE`]
//! bytes), then an ed25519 signature (64 bytes) over all that with the record key in front
//! (so a signature cannot be moved to another key).
//!
//! **Who may write.** On the node, a session writes only its own namespace (the API checks
//! this before signing). Between nodes: a value in the namespace of the node that signed it
//! (`ID` = signer) is that node's alone, since nobody else can sign as it. A user's namespace
//! (`ID` = a user of the signing node) is held for the node that wrote it first: a node that
//! already keeps a value replaces it only with a newer one signed by the same key. (A user
//! has no key on the node, so nothing stronger can be checked; the owner's own values are
//! the strong case.) A value no newer than the one kept is refused as stale.

use crate::pki::key::verify;
use crate::pki::{LeitherId, NodeKey};

/// The start of every value record key in the DHT.
pub const KEY_PREFIX: &[u8] = b"/lv/";

/// The longest name (after `ID/`).
pub const MAX_NAME: usize = 200;

/// The largest value.
pub const MAX_VALUE: usize = 4096;

const MAGIC: &[u8; 5] = b"LVAL1";
const HEAD: usize = 5 + 32 + 8 + 2;

/// A verified value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signing node's ID.
    pub signer: LeitherId,
    /// Microseconds since 1970 when it was signed.
    pub time: u64,
    /// The value.
    pub value: Vec<u8>,
}

/// Why a record was not kept.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It does not verify or breaks the namespace rule: the sender misbehaves.
    Bad(String),
    /// It is valid but not newer than the one kept (or another node holds the key).
    Stale(String),
}

/// Splits `ID/name` into the namespace and the name, checking both.
pub fn split_key(key: &str) -> Result<(LeitherId, &str), String> {
    let (id, name) = key.split_once('/').ok_or_else(|| {
        "a key is ID/name (the owner's 27-character ID, a slash, a name)".to_string()
    })?;
    let id: LeitherId = id
        .parse()
        .map_err(|e| format!("the key's namespace is not a Leither ID: {e}"))?;
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("a key's name is 1 to {MAX_NAME} bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err("a key's name has control characters".into());
    }
    Ok((id, name))
}

/// The DHT record key of `ID/name`.
pub fn record_key(key: &str) -> Vec<u8> {
    let mut k = KEY_PREFIX.to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

/// The `ID/name` of a record key, if it is one of ours.
pub fn user_key(record_key: &[u8]) -> Option<&str> {
    std::str::from_utf8(record_key.strip_prefix(KEY_PREFIX)?).ok()
}

fn signed_part(record_key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(record_key.len() + body.len());
    m.extend_from_slice(record_key);
    m.extend_from_slice(body);
    m
}

/// Signs `value` for `record_key` with the node key at `time` (microseconds).
pub fn seal(key: &NodeKey, record_key: &[u8], value: &[u8], time: u64) -> Result<Vec<u8>, String> {
    if value.len() > MAX_VALUE {
        return Err(format!(
            "the value is {} bytes, more than the limit of {MAX_VALUE}",
            value.len()
        ));
    }
    let mut out = Vec::with_capacity(HEAD + value.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&key.public_key());
    out.extend_from_slice(&time.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    let sig = key.sign(&signed_part(record_key, &out));
    out.extend_from_slice(&sig);
    Ok(out)
}

/// Verifies a record found under `record_key`: its layout, its signature, and that its key
/// is a value key (the namespace rule between nodes is [`accept`]'s).
pub fn open(record_key: &[u8], bytes: &[u8]) -> Result<Signed, String> {
    let key = user_key(record_key).ok_or("not a value key")?;
    split_key(key)?;
    if bytes.len() < HEAD + 64 || !bytes.starts_with(MAGIC) {
        return Err("not a value record".into());
    }
    let mut pk = [0u8; 32];
    pk.copy_from_slice(&bytes[5..37]);
    let mut t = [0u8; 8];
    t.copy_from_slice(&bytes[37..45]);
    let len = u16::from_be_bytes([bytes[45], bytes[46]]) as usize;
    if len > MAX_VALUE || bytes.len() != HEAD + len + 64 {
        return Err("the value's length does not match the record".into());
    }
    let body = &bytes[..HEAD + len];
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&bytes[HEAD + len..]);
    if !verify(&pk, &signed_part(record_key, body), &sig) {
        return Err("the signature does not verify".into());
    }
    Ok(Signed {
        signer: LeitherId::from_public_key(&pk),
        time: u64::from_be_bytes(t),
        value: body[HEAD..].to_vec(),
    })
}

/// Whether to keep `bytes` for `record_key` when we hold `held` (the rule in the module doc).
pub fn accept(record_key: &[u8], bytes: &[u8], held: Option<&[u8]>) -> Result<(), Refusal> {
    let new = open(record_key, bytes).map_err(Refusal::Bad)?;
    let Some(held) = held.and_then(|h| open(record_key, h).ok()) else {
        return Ok(());
    };
    let owner = user_key(record_key)
        .and_then(|k| split_key(k).ok())
        .map(|(id, _)| id);
    if held.signer != new.signer {
        // The namespace's own key beats a node that wrote a user's value.
        if owner == Some(new.signer) {
            return Ok(());
        }
        return Err(Refusal::Stale("another node holds this key".into()));
    }
    if new.time <= held.time {
        return Err(Refusal::Stale("not newer than the value kept".into()));
    }
    Ok(())
}

/// Of the values found for a key, the one to answer: those signed by the namespace's own key
/// first, then the newest.
pub fn best(owner: &LeitherId, found: &[Signed]) -> Option<usize> {
    (0..found.len()).max_by_key(|&i| (found[i].signer == *owner, found[i].time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_the_namespace_rule() {
        let a = NodeKey::generate().unwrap();
        let b = NodeKey::generate().unwrap();
        let own = format!("{}/greeting", a.id());
        let k = record_key(&own);
        let v1 = seal(&a, &k, b"hello", 10).unwrap();
        let s = open(&k, &v1).unwrap();
        assert_eq!(
            (s.signer, s.time, &s.value[..]),
            (a.id(), 10, &b"hello"[..])
        );
        // Moved to another key, cut, or flipped: refused.
        assert!(open(&record_key(&format!("{}/other", a.id())), &v1).is_err());
        assert!(open(&k, &v1[..v1.len() - 1]).is_err());
        let mut flipped = v1.clone();
        flipped[HEAD] ^= 1;
        assert!(open(&k, &flipped).is_err());
        // Newer from the same key replaces; older or equal is stale.
        let v2 = seal(&a, &k, b"hi", 11).unwrap();
        assert_eq!(accept(&k, &v2, Some(&v1)), Ok(()));
        assert!(matches!(accept(&k, &v1, Some(&v2)), Err(Refusal::Stale(_))));
        // Another node cannot take over a's namespace, nor a user's key that a holds.
        let evil = seal(&b, &k, b"mine", 99).unwrap();
        assert!(matches!(
            accept(&k, &evil, Some(&v1)),
            Err(Refusal::Stale(_))
        ));
        let user = NodeKey::generate().unwrap().id();
        let uk = record_key(&format!("{user}/x"));
        let first = seal(&a, &uk, b"1", 1).unwrap();
        let second = seal(&b, &uk, b"2", 2).unwrap();
        assert!(matches!(
            accept(&uk, &second, Some(&first)),
            Err(Refusal::Stale(_))
        ));
        // But the namespace's own key wins over a node that wrote first.
        let bk = record_key(&format!("{}/x", b.id()));
        let squat = seal(&a, &bk, b"squat", 5).unwrap();
        let real = seal(&b, &bk, b"real", 1).unwrap();
        assert_eq!(accept(&bk, &real, Some(&squat)), Ok(()));
        let found = [open(&bk, &squat).unwrap(), open(&bk, &real).unwrap()];
        assert_eq!(best(&b.id(), &found), Some(1));
        // Junk is bad, not stale.
        assert!(matches!(accept(&k, b"junk", None), Err(Refusal::Bad(_))));
        assert!(seal(&a, &k, &[0u8; MAX_VALUE + 1], 1).is_err());
    }

    #[test]
    fn keys() {
        let id = NodeKey::generate().unwrap().id();
        assert!(split_key(&format!("{id}/a/b")).is_ok());
        assert!(split_key("noslash").is_err());
        assert!(split_key("short/x").is_err());
        assert!(split_key(&format!("{id}/")).is_err());
        assert!(split_key(&format!("{id}/{}", "x".repeat(MAX_NAME + 1))).is_err());
        assert!(split_key(&format!("{id}/a\nb")).is_err());
        assert_eq!(user_key(&record_key("k")), Some("k"));
        assert_eq!(user_key(b"/other"), None);
    }
}
