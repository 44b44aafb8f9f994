//! Passwords of accounts registered on this node (`Register(name, pass)`), sans-io.
//!
//! A password is never stored. From it and a random 16-byte salt, PBKDF2-HMAC-SHA-256
//! ([`ITERATIONS`] rounds) derives 32 bytes `k`; the record keeps `SHA-256("leither-verify" ‖
//! k)` to check a login, and the account's ed25519 seed XORed with `SHA-256("leither-seal" ‖
//! k)`, so the node can sign for the user (`SignPPT`) only while the user is logged in with the
//! password, and a copy of the database alone gives neither the password nor the key.
//!
//! Rounds: 10,000. On a MIPS router's SHA-256 (about 10 MB/s) that is about 40 ms of the
//! node's one thread per login or registration: the cost of guessing stays high enough for
//! a home node while a burst of logins does not stall it for long (the rate of attempts is
//! bounded per address by the quotas of docs/security.md).

use sha2::{Digest, Sha256};

/// PBKDF2 rounds of a new record. Stored per record, so it can be raised later.
pub const ITERATIONS: u32 = 10_000;
/// Most rounds a stored record may ask for (a damaged or hostile record cannot stall the node).
pub const MAX_ITERATIONS: u32 = 1_000_000;

fn hmac_sha256(key: &[u8; 64], parts: &[&[u8]]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, b) in key.iter().enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// PBKDF2-HMAC-SHA-256 with a 32-byte output (one block). Passwords longer than 64 bytes are
/// hashed first, as HMAC does with long keys.
pub fn pbkdf2(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut key = [0u8; 64];
    if password.len() > 64 {
        key[..32].copy_from_slice(&Sha256::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let mut u = hmac_sha256(&key, &[salt, &1u32.to_be_bytes()]);
    let mut out = u;
    for _ in 1..rounds.max(1) {
        u = hmac_sha256(&key, &[&u]);
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    out
}

fn tagged(tag: &[u8], k: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(k);
    h.finalize().into()
}

/// What a record keeps of a password: the check value and the sealed seed.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Compared with what a login's password derives.
    pub verifier: [u8; 32],
    /// The account key's seed XOR the password's sealing key.
    pub sealed_seed: [u8; 32],
}

impl core::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Sealed { .. }")
    }
}

/// Seals `seed` under `password` and `salt`.
pub fn seal(password: &[u8], salt: &[u8; 16], rounds: u32, seed: &[u8; 32]) -> Sealed {
    let k = pbkdf2(password, salt, rounds);
    let pad = tagged(b"leither-seal", &k);
    let mut sealed_seed = *seed;
    for (s, p) in sealed_seed.iter_mut().zip(pad.iter()) {
        *s ^= p;
    }
    Sealed {
        verifier: tagged(b"leither-verify", &k),
        sealed_seed,
    }
}

/// The seed, if `password` is the one `sealed` was made with. Compares in constant time.
pub fn open(password: &[u8], salt: &[u8; 16], rounds: u32, sealed: &Sealed) -> Option<[u8; 32]> {
    let k = pbkdf2(password, salt, rounds.min(MAX_ITERATIONS));
    let verifier = tagged(b"leither-verify", &k);
    let diff = verifier
        .iter()
        .zip(sealed.verifier.iter())
        .fold(0u8, |d, (a, b)| d | (a ^ b));
    if diff != 0 {
        return None;
    }
    let pad = tagged(b"leither-seal", &k);
    let mut seed = sealed.sealed_seed;
    for (s, p) in seed.iter_mut().zip(pad.iter()) {
        *s ^= p;
    }
    Some(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// RFC 7914 section 11 gives PBKDF2-HMAC-SHA-256 vectors ("passwd", "salt", c=1 and
    /// "Password", "NaCl", c=80000); the first 32 bytes are our one block.
    #[test]
    fn pbkdf2_matches_rfc7914() {
        assert_eq!(
            hex(&pbkdf2(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        assert_eq!(
            hex(&pbkdf2(b"Password", b"NaCl", 80000)),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        );
    }

    #[test]
    fn seal_opens_with_the_password_only() {
        let salt = [7u8; 16];
        let seed = [42u8; 32];
        let s = seal(b"123456", &salt, 10, &seed);
        assert_ne!(s.sealed_seed, seed);
        assert_eq!(open(b"123456", &salt, 10, &s), Some(seed));
        assert_eq!(open(b"1234567", &salt, 10, &s), None);
        assert_eq!(open(b"123456", &[8u8; 16], 10, &s), None);
        let long = vec![b'x'; 200];
        let s2 = seal(&long, &salt, 3, &seed);
        assert_eq!(open(&long, &salt, 3, &s2), Some(seed));
        assert_eq!(format!("{s:?}"), "Sealed { .. }", "no secret in Debug");
    }
}
