//! [`NodeKey`]: an ed25519 keypair, and its key file (`hostkey.cfg`, `lpki genkey -o FILE`).
//!
//! New keys are saved in Leither's `pk=`/`sk=` form (`leither_files`); the format below is the
//! one earlier versions wrote. A key read from it keeps its legacy ID (docs/identity.md).
//!
//! # Key file format (`leither-ed25519-v1`)
//!
//! UTF-8 text, at most [`MAX_KEY_FILE_LEN`] bytes, lines ending in `\n` (a `\r` before it and
//! spaces around a line are ignored):
//!
//! ```text
//! leither-ed25519-v1
//! <43 base64url characters: the 32-byte ed25519 seed (RFC 8032 secret key)>
//! # id: <27-character Leither ID>
//! # peer-id: <12D3KooW... PeerId>
//! ```
//!
//! Empty lines and lines starting with `#` are comments, allowed anywhere and never trusted: the
//! ID and PeerId written there are for people and are always re-derived from the seed. The first
//! other line must be exactly `leither-ed25519-v1`, the second the seed, and nothing else may
//! follow. The file must have no permission bits for group or others (`chmod 600`).
//!
//! Saving is crash-safe: the text goes to a temporary file in the same directory created with
//! mode 0600, is fsynced, then renamed (or hard-linked, when an existing file must not be
//! replaced) into place, and the directory is fsynced. A crash leaves the old file or the new
//! one, never a partial key.

use core::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

use ed25519_compact::{KeyPair, PublicKey, Seed, Signature};

use super::PkiError;
use super::encoding::{base64url_decode, base64url_encode};
use super::id::LeitherId;
use super::peerid::to_peer_id;

/// First line of every key file; names the key type and the format version.
pub const KEY_FILE_MAGIC: &str = "leither-ed25519-v1";
/// A key file is small; anything longer is refused unread.
pub const MAX_KEY_FILE_LEN: usize = 4096;

/// Whether [`NodeKey::save`] may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`PkiError::KeyFileExists`] if the file exists (the default for `genkey`).
    Refuse,
    /// Atomically replace an existing file.
    Replace,
}

/// An ed25519 keypair: the identity of a node (`hostkey.cfg`) or of a user.
///
/// `Debug` shows only the ID; the secret is wiped from memory when the key is dropped.
#[derive(Clone)]
pub struct NodeKey {
    kp: KeyPair,
    id: LeitherId,
    /// Read from a `leither-ed25519-v1` file made before IDs followed Leither's rule: the key
    /// keeps its hash160 ID (and that file format) so that what it stored stays its own.
    legacy: bool,
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Overwrites a buffer that held secret material. `black_box` keeps the stores from being
/// optimized away as dead; this is best effort, not a guarantee.
fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    std::hint::black_box(buf);
}

impl NodeKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<NodeKey, PkiError> {
        let mut seed = [0u8; 32];
        // An all-zero seed is refused by ed25519-compact; from a working RNG it never happens.
        for _ in 0..3 {
            getrandom::getrandom(&mut seed).map_err(PkiError::Random)?;
            if let Some(key) = NodeKey::from_seed(&seed) {
                wipe(&mut seed);
                return Ok(key);
            }
        }
        Err(PkiError::Random(getrandom::Error::UNEXPECTED))
    }

    /// The key of a 32-byte RFC 8032 seed; `None` only for the all-zero seed.
    pub fn from_seed(seed: &[u8; 32]) -> Option<NodeKey> {
        let kp = KeyPair::try_from_seed(Seed::new(*seed)).ok()?;
        let id = LeitherId::from_public_key(&kp.pk);
        Some(NodeKey {
            kp,
            id,
            legacy: false,
        })
    }

    /// The same key under the ID versions before this one gave it (hash160), as read from a
    /// `leither-ed25519-v1` file.
    pub(crate) fn into_legacy(mut self) -> NodeKey {
        self.id = LeitherId::legacy_from_public_key(&self.kp.pk);
        self.legacy = true;
        self
    }

    /// Whether `id` names this key under either derivation (see [`LeitherId::is_id_of`]).
    pub fn owns(&self, id: &LeitherId) -> bool {
        id.is_id_of(&self.kp.pk)
    }

    /// Whether this key keeps its legacy (hash160) ID, see [`NodeKey::id`].
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The 32-byte seed, for handing the same identity to libp2p
    /// (`Keypair::ed25519_from_bytes`). Never log or print it; wipe the copy when done.
    pub fn secret_seed(&self) -> [u8; 32] {
        *self.kp.sk.seed()
    }

    /// The 64-byte libsodium secret key (seed then public key), as Leither's `sk=` holds it.
    /// Never log or print it; wipe the copy when done.
    pub fn sodium_secret(&self) -> [u8; 64] {
        *self.kp.sk
    }

    /// The raw 32-byte ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        *self.kp.pk
    }

    /// The 27-character Leither ID of this key: Leither's derivation, or the legacy one for a
    /// key read from a `leither-ed25519-v1` file (docs/identity.md, "IDs made before").
    pub fn id(&self) -> LeitherId {
        self.id
    }

    /// The libp2p PeerId (`12D3KooW...`) of this key.
    pub fn peer_id(&self) -> String {
        to_peer_id(&self.kp.pk)
    }

    /// An RFC 8032 ed25519 signature of `msg` (deterministic: same key and message, same bytes).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        *self.kp.sk.sign(msg, None)
    }

    /// The key file text (see the module doc). It holds the secret: write it only to a 0600
    /// file, as [`NodeKey::save`] does.
    pub fn to_file_text(&self) -> String {
        if !self.legacy {
            return super::leither_files::key_file_text(self);
        }
        let mut seed = self.secret_seed();
        let encoded = base64url_encode(&seed);
        wipe(&mut seed);
        let mut text = String::with_capacity(192);
        text.push_str(KEY_FILE_MAGIC);
        text.push('\n');
        text.push_str(&encoded);
        text.push('\n');
        wipe(&mut encoded.into_bytes());
        text.push_str("# id: ");
        text.push_str(&self.id.to_string());
        text.push_str("\n# peer-id: ");
        text.push_str(&self.peer_id());
        text.push('\n');
        text
    }

    /// Parses key file text; `path` only names the file in errors.
    pub fn from_file_text(text: &str, path: &Path) -> Result<NodeKey, PkiError> {
        let bad = |line: usize, reason: &'static str| PkiError::MalformedKeyFile {
            path: path.to_path_buf(),
            line,
            reason,
        };
        if text.len() > MAX_KEY_FILE_LEN {
            return Err(bad(0, "it is larger than 4096 bytes"));
        }
        if super::leither_files::looks_like_leither_key(text) {
            return super::leither_files::parse_key_file(text)
                .map_err(|(line, reason)| bad(line, reason));
        }
        let mut seen_magic = false;
        let mut key = None;
        for (i, raw) in text.split('\n').enumerate() {
            let line_no = i + 1;
            let line = raw.trim_ascii();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !seen_magic {
                if line == KEY_FILE_MAGIC {
                    seen_magic = true;
                    continue;
                }
                return Err(if line.starts_with("leither-") {
                    bad(
                        line_no,
                        "unsupported key type or version (this build reads leither-ed25519-v1)",
                    )
                } else {
                    bad(line_no, "the first line must be `leither-ed25519-v1`")
                });
            }
            if key.is_some() {
                return Err(bad(line_no, "unexpected text after the seed line"));
            }
            if line.len() != 43 {
                return Err(bad(
                    line_no,
                    "the seed line must be 43 base64url characters",
                ));
            }
            let mut bytes = base64url_decode(line)
                .map_err(|_| bad(line_no, "the seed line is not valid base64url"))?;
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&bytes);
            wipe(&mut bytes);
            let parsed = NodeKey::from_seed(&seed);
            wipe(&mut seed);
            key = Some(parsed.ok_or_else(|| bad(line_no, "the seed is all zeros"))?);
        }
        match (seen_magic, key) {
            (_, Some(key)) => Ok(key.into_legacy()),
            (false, None) => Err(bad(0, "it is empty (no `leither-ed25519-v1` line)")),
            (true, None) => Err(bad(0, "the seed line is missing")),
        }
    }

    /// Reads a key file, refusing one that group or others may access, or that is malformed.
    pub fn load(path: &Path) -> Result<NodeKey, PkiError> {
        let io_err = |action: &'static str| {
            move |source| PkiError::Io {
                path: path.to_path_buf(),
                action,
                source,
            }
        };
        let file = File::open(path).map_err(io_err("open key file"))?;
        let meta = file.metadata().map_err(io_err("read the permissions of"))?;
        if !meta.is_file() {
            return Err(PkiError::MalformedKeyFile {
                path: path.to_path_buf(),
                line: 0,
                reason: "it is not a regular file",
            });
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(PkiError::KeyFileTooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
        // Sized up front so the buffer holding the secret is never reallocated (and copied).
        let mut buf = Vec::with_capacity(MAX_KEY_FILE_LEN + 1);
        let read = file
            .take(MAX_KEY_FILE_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(io_err("read key file"));
        if let Err(e) = read {
            wipe(&mut buf);
            return Err(e);
        }
        let text = match String::from_utf8(buf) {
            Ok(text) => text,
            Err(e) => {
                wipe(&mut e.into_bytes());
                return Err(PkiError::MalformedKeyFile {
                    path: path.to_path_buf(),
                    line: 0,
                    reason: "it is not UTF-8 text",
                });
            }
        };
        let key = NodeKey::from_file_text(&text, path);
        wipe(&mut text.into_bytes());
        key
    }

    /// Writes the key file crash-safely with mode 0600 (see the module doc). With
    /// [`Overwrite::Refuse`] an existing file is never touched, even if it appears concurrently.
    pub fn save(&self, path: &Path, overwrite: Overwrite) -> Result<(), PkiError> {
        let io_err = |action: &'static str, p: &Path| {
            let p = p.to_path_buf();
            move |source| PkiError::Io {
                path: p,
                action,
                source,
            }
        };
        let exists = |p: &Path| PkiError::KeyFileExists {
            path: p.to_path_buf(),
        };
        let name = path.file_name().ok_or_else(|| PkiError::Io {
            path: path.to_path_buf(),
            action: "save a key to",
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if overwrite == Overwrite::Refuse && fs::symlink_metadata(path).is_ok() {
            return Err(exists(path));
        }
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);

        let result = self
            .write_new_file(&tmp)
            .and_then(|()| install(&tmp, path, overwrite));
        if result.is_err() {
            // Best effort: the temporary file may not exist, or may already be gone.
            let _ = fs::remove_file(&tmp);
        }
        result?;
        let dir_file = File::open(dir).map_err(io_err("open directory", dir))?;
        dir_file.sync_all().map_err(io_err("sync directory", dir))
    }

    /// Creates `tmp` (mode 0600, must not exist), writes the key text and fsyncs it.
    fn write_new_file(&self, tmp: &Path) -> Result<(), PkiError> {
        let io_err = |action: &'static str| {
            move |source| PkiError::Io {
                path: tmp.to_path_buf(),
                action,
                source,
            }
        };
        let open = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp)
        };
        let mut file = match open() {
            // A leftover of an earlier crashed run with our pid: ours to remove.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(tmp).map_err(io_err("remove stale temporary file"))?;
                open()
            }
            other => other,
        }
        .map_err(io_err("create temporary key file"))?;
        let mut text = self.to_file_text().into_bytes();
        let written = file.write_all(&text);
        wipe(&mut text);
        written.map_err(io_err("write temporary key file"))?;
        file.sync_all().map_err(io_err("sync temporary key file"))
    }
}

/// Moves the fsynced temporary file to its final name.
fn install(tmp: &Path, path: &Path, overwrite: Overwrite) -> Result<(), PkiError> {
    let rename = || {
        fs::rename(tmp, path).map_err(|source| PkiError::Io {
            path: path.to_path_buf(),
            action: "rename the temporary key file to",
            source,
        })
    };
    if overwrite == Overwrite::Replace {
        return rename();
    }
    // link(2) fails if the target exists, so no concurrently created key is ever replaced.
    match fs::hard_link(tmp, path) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(PkiError::KeyFileExists {
            path: path.to_path_buf(),
        }),
        // File systems without hard links (FAT on an SD card): check, then rename.
        Err(_) if fs::symlink_metadata(path).is_ok() => Err(PkiError::KeyFileExists {
            path: path.to_path_buf(),
        }),
        Err(_) => rename(),
    }
}

/// Whether `sig` is a valid RFC 8032 ed25519 signature of `msg` by `pk`. Keys that are not
/// canonical curve points or have small order, and non-canonical signatures, never verify.
pub fn verify(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    PublicKey::new(*pk)
        .verify(msg, &Signature::new(*sig))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_hex;

    /// The path of a file named `name` in a fresh, empty directory for one test.
    fn test_path(test: &str, name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("leither-pki-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn seed_0_to_31() -> [u8; 32] {
        core::array::from_fn(|i| i as u8)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn write_mode(path: &Path, text: &str, mode: u32) {
        fs::write(path, text).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn seed_derivation_matches_js_libp2p() {
        // npm @libp2p/crypto 5.1.23 `generateKeyPairFromSeed('Ed25519', 00 01 .. 1f)`, and its
        // `sign(utf8 "leither")`: same public key and byte-identical (deterministic) signature.
        let key = NodeKey::from_seed(&seed_0_to_31()).unwrap();
        assert_eq!(
            hex(&key.public_key()),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
        );
        assert_eq!(
            key.peer_id(),
            "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"
        );
        // Leither's rule, recomputed with Python hashlib (docs/identity.md).
        assert_eq!(key.id().to_string(), "Vkdap1RjR0wChd9dvyvKtz2mUTV");
        let sig = key.sign(b"leither");
        assert_eq!(
            hex(&sig),
            "0d82b2c48d453b38cd02cabcc6f046e4d2eb8701f30ab540f6fa06267c280177\
             1a480b36dc2b329c7383599917353915023ada3a489b226d0904d2129ed6b301"
        );
        assert!(verify(&key.public_key(), b"leither", &sig));
    }

    #[test]
    fn seed_derivation_matches_libp2p_spec_key() {
        // libp2p/specs peer-ids.md test vector: private key data = seed || public key.
        let seed = test_hex("7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d");
        let key = NodeKey::from_seed(&seed).unwrap();
        assert_eq!(
            hex(&key.public_key()),
            "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
        );
    }

    #[test]
    fn sign_and_verify() {
        let key = NodeKey::generate().unwrap();
        let sig = key.sign(b"msg");
        assert!(verify(&key.public_key(), b"msg", &sig));
        assert!(!verify(&key.public_key(), b"msh", &sig));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!verify(&key.public_key(), b"msg", &bad));
        let other = NodeKey::generate().unwrap();
        assert!(!verify(&other.public_key(), b"msg", &sig));
        assert!(!verify(&[0u8; 32], b"msg", &sig));
        assert_ne!(key.id(), other.id());
    }

    #[test]
    fn all_zero_seed_is_refused() {
        assert!(NodeKey::from_seed(&[0u8; 32]).is_none());
    }

    #[test]
    fn debug_shows_only_the_id() {
        let key = NodeKey::from_seed(&seed_0_to_31()).unwrap();
        let dbg = format!("{key:?}");
        assert_eq!(
            dbg,
            "NodeKey { id: LeitherId(Vkdap1RjR0wChd9dvyvKtz2mUTV), .. }"
        );
        let seed_b64 = base64url_encode(&seed_0_to_31());
        assert!(!dbg.contains(&seed_b64));
    }

    #[test]
    fn file_text_is_documented_layout() {
        // A new key is written in Leither's form.
        let key = NodeKey::from_seed(&seed_0_to_31()).unwrap();
        let text = key.to_file_text();
        assert!(
            text.starts_with(
                "id= Vkdap1RjR0wChd9dvyvKtz2mUTV\npk=A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
            ),
            "{text}"
        );
        let back = NodeKey::from_file_text(&text, Path::new("k")).unwrap();
        assert_eq!(back.id(), key.id());
        // A key from a file of an earlier version keeps its ID and its file form.
        let v1 = "leither-ed25519-v1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n";
        let key = NodeKey::from_file_text(v1, Path::new("k")).unwrap();
        assert!(key.is_legacy());
        assert_eq!(key.id().to_string(), "4wy6cA-uv_nPSC01ib0cvMkD0oA");
        assert!(key.owns(&LeitherId::from_public_key(&key.public_key())));
        let text = key.to_file_text();
        assert_eq!(
            text,
            "leither-ed25519-v1\n\
             AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n\
             # id: 4wy6cA-uv_nPSC01ib0cvMkD0oA\n\
             # peer-id: 12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB\n"
        );
        let back = NodeKey::from_file_text(&text, Path::new("k")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }

    #[test]
    fn file_text_tolerates_comments_crlf_and_spaces() {
        let text = "# my key\r\n\r\n  leither-ed25519-v1  \r\n\
                    AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\r\n# id: wrong-and-ignored\r\n";
        let key = NodeKey::from_file_text(text, Path::new("k")).unwrap();
        assert_eq!(key.id().to_string(), "4wy6cA-uv_nPSC01ib0cvMkD0oA");
    }

    #[test]
    fn malformed_key_files() {
        let seed = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        let big = format!("leither-ed25519-v1\n{seed}\n{}", "#".repeat(5000));
        let cases: Vec<(String, usize, &str)> = vec![
            (String::new(), 0, "empty"),
            ("# only a comment\n".into(), 0, "empty"),
            ("leither-ed25519-v1\n".into(), 0, "missing"),
            (format!("ssh-ed25519\n{seed}\n"), 1, "first line"),
            (format!("leither-rsa-v9\n{seed}\n"), 1, "unsupported"),
            ("leither-ed25519-v1\nAAEC\n".into(), 2, "43 base64url"),
            (
                format!("leither-ed25519-v1\n{}+\n", &seed[..42]),
                2,
                "not valid base64url",
            ),
            // '9' as the last character sets one of the two bits no seed byte uses.
            (
                format!("leither-ed25519-v1\n{}9\n", &seed[..42]),
                2,
                "not valid base64url",
            ),
            (
                format!("leither-ed25519-v1\n{}\n", "A".repeat(43)),
                2,
                "all zeros",
            ),
            (
                format!("leither-ed25519-v1\n{seed}\n{seed}\n"),
                3,
                "unexpected text",
            ),
            (big, 0, "larger than 4096"),
        ];
        for (text, line, needle) in cases {
            let e = NodeKey::from_file_text(&text, Path::new("/x/hostkey.cfg")).unwrap_err();
            match &e {
                PkiError::MalformedKeyFile { line: l, .. } => assert_eq!(*l, line, "{e}"),
                other => panic!("unexpected {other:?}"),
            }
            let msg = e.to_string();
            assert!(msg.contains(needle), "{msg}");
            assert!(msg.starts_with("/x/hostkey.cfg"), "{msg}");
            assert!(!msg.contains(&seed[..20]), "secret leaked: {msg}");
        }
    }

    #[test]
    fn save_load_round_trip_with_mode_0600() {
        let path = test_path("roundtrip", "hostkey.cfg");
        let key = NodeKey::generate().unwrap();
        key.save(&path, Overwrite::Refuse).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let back = NodeKey::load(&path).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(back.secret_seed(), key.secret_seed());
        // Nothing but the key file is left in the directory.
        let entries: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(entries.len(), 1);
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn save_refuses_existing_unless_replace() {
        let path = test_path("exists", "user.key");
        let first = NodeKey::generate().unwrap();
        let second = NodeKey::generate().unwrap();
        first.save(&path, Overwrite::Refuse).unwrap();
        let e = second.save(&path, Overwrite::Refuse).unwrap_err();
        assert!(matches!(e, PkiError::KeyFileExists { .. }), "{e:?}");
        assert!(e.to_string().contains("already exists"));
        assert_eq!(NodeKey::load(&path).unwrap().id(), first.id());
        // A stale temporary file from a crashed run with our pid does not block saving.
        let stale = path.with_file_name(format!(".user.key.{}.tmp", std::process::id()));
        fs::write(&stale, "junk").unwrap();
        second.save(&path, Overwrite::Replace).unwrap();
        assert_eq!(NodeKey::load(&path).unwrap().id(), second.id());
        assert!(!stale.exists());
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn save_into_missing_directory_is_an_io_error() {
        let path = test_path("missing", "x")
            .with_file_name("no-such-dir")
            .join("k");
        let e = NodeKey::generate()
            .unwrap()
            .save(&path, Overwrite::Refuse)
            .unwrap_err();
        assert!(matches!(e, PkiError::Io { .. }), "{e:?}");
        assert!(e.to_string().contains("temporary key file"), "{e}");
        let e = NodeKey::generate()
            .unwrap()
            .save(Path::new("/"), Overwrite::Refuse)
            .unwrap_err();
        assert!(e.to_string().contains("no file name"), "{e}");
    }

    #[test]
    fn load_refuses_group_or_world_access() {
        let path = test_path("mode", "hostkey.cfg");
        let text = NodeKey::generate().unwrap().to_file_text();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o601, 0o610] {
            write_mode(&path, &text, mode);
            let e = NodeKey::load(&path).unwrap_err();
            match &e {
                PkiError::KeyFileTooOpen { mode: m, .. } => assert_eq!(*m, mode),
                other => panic!("unexpected {other:?}"),
            }
            if mode == 0o644 {
                assert_eq!(
                    e.to_string(),
                    format!(
                        "hostkey.cfg is readable by group or others (mode 0644); run: chmod 600 {}",
                        path.display()
                    )
                );
            }
        }
        write_mode(&path, &text, 0o400);
        assert!(NodeKey::load(&path).is_ok());
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn load_errors_name_the_file() {
        let path = test_path("load-errors", "hostkey.cfg");
        let e = NodeKey::load(&path).unwrap_err();
        assert!(matches!(e, PkiError::Io { .. }));
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");

        write_mode(&path, "leither-ed25519-v1\nnope\n", 0o600);
        let e = NodeKey::load(&path).unwrap_err();
        assert!(e.to_string().contains("hostkey.cfg line 2"), "{e}");

        fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        let e = NodeKey::load(&path).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");

        fs::write(&path, "#".repeat(MAX_KEY_FILE_LEN + 10)).unwrap();
        let e = NodeKey::load(&path).unwrap_err();
        assert!(e.to_string().contains("larger than 4096"), "{e}");

        let dir = path.parent().unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
        let e = NodeKey::load(dir).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }
}
