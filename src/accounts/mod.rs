//! Accounts registered on this node: Leither's `Register(name, pass)` and `Login(name, pass)`.
//!
//! An account is a user whose key the node keeps for them, sealed under their password
//! ([`password`]): `Register` makes a fresh ed25519 key, so the account has an ordinary
//! 27-character user ID and can sign passes (`SignPPT`) while logged in. The node never stores
//! a password, never logs one, and holds the unsealed key only in the session's memory.
//!
//! Two redb tables: `accounts` (name → record) and `account_ids` (user ID → name). A record
//! is `1` (format) ‖ uid (27 bytes) ‖ salt (16) ‖ rounds (u32 BE) ‖ verifier (32) ‖ sealed
//! seed (32) ‖ created (u64 BE) ‖ email length (u16 BE) ‖ email; docs/storage.md.
//!
//! Who may register is the owner's choice (`Registration` in SystemVars.json: `"loopback"`,
//! the default, lets programs on the node's own machine register users, as Leither's install
//! scripts do; `"open"` anyone; `"off"` nobody). Bounds: names of 1 to 64 characters of
//! letters, digits and `_ . @ -`; passwords of 6 to 128 bytes; emails up to 128 bytes; at
//! most [`MAX_ACCOUNTS`] accounts.

pub mod admitted;
pub mod authors;
pub mod invite;
pub mod invites;
pub mod password;
pub mod quota;

use std::fmt;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::pki::{LeitherId, NodeKey};
use crate::store::Store;
use crate::store::blocks::db_err;

/// `accounts`: account name to its record (module doc).
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// `account_ids`: the account's user ID (27 characters) to its name.
pub const ACCOUNT_IDS: TableDefinition<&str, &str> = TableDefinition::new("account_ids");

/// Most accounts a node keeps.
pub const MAX_ACCOUNTS: u64 = 10_000;
/// Longest account name, in bytes.
pub const MAX_NAME: usize = 64;
/// Shortest and longest password, in bytes.
pub const PASS_LEN: std::ops::RangeInclusive<usize> = 6..=128;
/// Longest email, in bytes.
pub const MAX_EMAIL: usize = 128;

const FORMAT: u8 = 1;
const FIXED_LEN: usize = 1 + 27 + 16 + 4 + 32 + 32 + 8 + 2;

/// Why an account operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AccountError {
    /// The name breaks the naming rule (the reason says which part).
    BadName(String),
    /// The password is too short or too long.
    BadPassword,
    /// The email is too long or not text.
    BadEmail,
    /// The name is taken.
    Taken(String),
    /// Name or password wrong (one message for both, so names cannot be probed).
    WrongLogin,
    /// The node keeps its maximum of accounts.
    Full,
    /// The node admits its maximum of users ([`admitted::MAX_ADMITTED`]).
    TooManyAdmitted,
    /// Registration is not open to this caller (the setting's value).
    RegistrationClosed(String),
    /// A stored record does not parse; it is left as it is.
    Damaged(String),
    /// The store failed.
    Store(crate::store::StoreError),
}

impl AccountError {
    /// The HTTP status of the JSON front door.
    pub fn http_status(&self) -> u16 {
        match self {
            AccountError::BadName(_) | AccountError::BadPassword | AccountError::BadEmail => 400,
            AccountError::Taken(_) => 409,
            AccountError::WrongLogin => 401,
            AccountError::RegistrationClosed(_) => 403,
            AccountError::Full | AccountError::TooManyAdmitted => 503,
            AccountError::Damaged(_) | AccountError::Store(_) => 500,
        }
    }
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::BadName(why) => write!(f, "account name refused: {why}"),
            AccountError::BadPassword => write!(
                f,
                "a password must be {} to {} bytes long",
                PASS_LEN.start(),
                PASS_LEN.end()
            ),
            AccountError::BadEmail => {
                write!(f, "an email must be text of at most {MAX_EMAIL} bytes")
            }
            AccountError::Taken(name) => {
                write!(f, "the account name {name:?} is taken; choose another")
            }
            AccountError::WrongLogin => write!(f, "wrong account name or password"),
            AccountError::Full => write!(
                f,
                "this node keeps its maximum of {MAX_ACCOUNTS} accounts; ask the owner"
            ),
            AccountError::TooManyAdmitted => write!(
                f,
                "this node admits at most {} users; remove some with `leither lpki delkey -i ID`",
                admitted::MAX_ADMITTED
            ),
            AccountError::RegistrationClosed(setting) => write!(
                f,
                "registration is not open to you on this node (Registration is \"{setting}\"); \
                 the owner can register you, or set \"Registration\": \"open\" in SystemVars.json"
            ),
            AccountError::Damaged(why) => write!(f, "an account record is damaged: {why}"),
            AccountError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AccountError {}

impl From<crate::store::StoreError> for AccountError {
    fn from(e: crate::store::StoreError) -> Self {
        AccountError::Store(e)
    }
}

/// An account as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Account {
    /// The account name.
    pub name: String,
    /// Its user ID.
    pub uid: String,
    salt: [u8; 16],
    rounds: u32,
    sealed: password::Sealed,
    /// Unix seconds of the registration.
    pub created: u64,
    /// The email given at registration or later ("" if none).
    pub email: String,
}

impl Account {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(FIXED_LEN + self.email.len());
        v.push(FORMAT);
        v.extend_from_slice(self.uid.as_bytes());
        v.extend_from_slice(&self.salt);
        v.extend_from_slice(&self.rounds.to_be_bytes());
        v.extend_from_slice(&self.sealed.verifier);
        v.extend_from_slice(&self.sealed.sealed_seed);
        v.extend_from_slice(&self.created.to_be_bytes());
        v.extend_from_slice(&(self.email.len() as u16).to_be_bytes());
        v.extend_from_slice(self.email.as_bytes());
        v
    }

    fn decode(name: &str, b: &[u8]) -> Result<Account, AccountError> {
        let damaged = |why: &str| AccountError::Damaged(format!("{name}: {why}"));
        if b.len() < FIXED_LEN || b[0] != FORMAT {
            return Err(damaged("unknown format or too short"));
        }
        let take = |at: usize, n: usize| &b[at..at + n];
        let uid = std::str::from_utf8(take(1, 27))
            .map_err(|_| damaged("user ID is not text"))?
            .to_string();
        let mut salt = [0u8; 16];
        salt.copy_from_slice(take(28, 16));
        let rounds = u32::from_be_bytes(take(44, 4).try_into().unwrap_or_default());
        let mut verifier = [0u8; 32];
        verifier.copy_from_slice(take(48, 32));
        let mut sealed_seed = [0u8; 32];
        sealed_seed.copy_from_slice(take(80, 32));
        let created = u64::from_be_bytes(take(112, 8).try_into().unwrap_or_default());
        let elen = u16::from_be_bytes(take(120, 2).try_into().unwrap_or_default()) as usize;
        let email = b
            .get(FIXED_LEN..FIXED_LEN + elen)
            .and_then(|e| std::str::from_utf8(e).ok())
            .ok_or_else(|| damaged("email"))?
            .to_string();
        if rounds == 0 || rounds > password::MAX_ITERATIONS {
            return Err(damaged("round count out of range"));
        }
        Ok(Account {
            name: name.to_string(),
            uid,
            salt,
            rounds,
            sealed: password::Sealed {
                verifier,
                sealed_seed,
            },
            created,
            email,
        })
    }

    /// The account's key, if `pass` is its password.
    pub fn unlock(&self, pass: &str) -> Result<NodeKey, AccountError> {
        let seed = password::open(pass.as_bytes(), &self.salt, self.rounds, &self.sealed)
            .ok_or(AccountError::WrongLogin)?;
        NodeKey::from_seed(&seed).ok_or_else(|| AccountError::Damaged(self.name.clone()))
    }
}

/// Checks an account name against the rule in the module doc.
pub fn check_name(name: &str) -> Result<(), AccountError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(AccountError::BadName(format!(
            "a name has 1 to {MAX_NAME} characters"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')))
    {
        return Err(AccountError::BadName(format!(
            "{c:?} is not allowed; use letters, digits and _ . @ -"
        )));
    }
    Ok(())
}

fn check_pass(pass: &str) -> Result<(), AccountError> {
    if PASS_LEN.contains(&pass.len()) {
        Ok(())
    } else {
        Err(AccountError::BadPassword)
    }
}

fn check_email(email: &str) -> Result<(), AccountError> {
    if email.len() <= MAX_EMAIL && !email.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(AccountError::BadEmail)
    }
}

/// The accounts of one node's store.
pub struct Accounts<'a> {
    store: &'a Store,
}

impl<'a> Accounts<'a> {
    /// The accounts kept in `store`.
    pub fn new(store: &'a Store) -> Accounts<'a> {
        Accounts { store }
    }

    /// Registers `name` with `pass` (and an optional email); returns the new account, whose
    /// key is fresh. `now` is unix seconds.
    pub fn register(
        &self,
        name: &str,
        pass: &str,
        email: &str,
        now: u64,
    ) -> Result<Account, AccountError> {
        check_name(name)?;
        check_pass(pass)?;
        check_email(email)?;
        let key = NodeKey::generate()
            .map_err(|e| AccountError::Damaged(format!("no key could be made: {e}")))?;
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt)
            .map_err(|e| AccountError::Damaged(format!("no randomness for a salt: {e}")))?;
        let rounds = password::ITERATIONS;
        let account = Account {
            name: name.to_string(),
            uid: key.id().to_string(),
            salt,
            rounds,
            sealed: password::seal(pass.as_bytes(), &salt, rounds, &key.secret_seed()),
            created: now,
            email: email.to_string(),
        };
        self.write(|names, ids| {
            if names.get(name).map_err(|e| self.err(e))?.is_some() {
                return Err(AccountError::Taken(name.to_string()));
            }
            if names.len().map_err(|e| self.err(e))? >= MAX_ACCOUNTS {
                return Err(AccountError::Full);
            }
            names
                .insert(name, account.encode().as_slice())
                .map_err(|e| self.err(e))?;
            ids.insert(account.uid.as_str(), name)
                .map_err(|e| self.err(e))?;
            Ok(())
        })?;
        Ok(account)
    }

    /// The account named `name`, if any.
    pub fn by_name(&self, name: &str) -> Result<Option<Account>, AccountError> {
        let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(ACCOUNTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        match t.get(name).map_err(|e| self.err(e))? {
            Some(v) => Account::decode(name, v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The account whose user ID is `uid`, if any.
    pub fn by_uid(&self, uid: &LeitherId) -> Result<Option<Account>, AccountError> {
        let name = {
            let tx = self.store.db().begin_read().map_err(|e| self.err(e))?;
            let t = match tx.open_table(ACCOUNT_IDS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(self.err(e)),
            };
            match t.get(uid.to_string().as_str()).map_err(|e| self.err(e))? {
                Some(n) => n.value().to_string(),
                None => return Ok(None),
            }
        };
        self.by_name(&name)
    }

    /// Checks `pass` for `name` and gives the account and its key.
    pub fn login(&self, name: &str, pass: &str) -> Result<(Account, NodeKey), AccountError> {
        let account = self.by_name(name)?.ok_or(AccountError::WrongLogin)?;
        let key = account.unlock(pass)?;
        Ok((account, key))
    }

    /// Changes an account: a new name, a new password (sealing `key` again, which the caller
    /// holds because the user is logged in), a new email. `None` keeps a field.
    pub fn update(
        &self,
        account: &Account,
        key: Option<&NodeKey>,
        new_name: Option<&str>,
        new_pass: Option<&str>,
        new_email: Option<&str>,
    ) -> Result<Account, AccountError> {
        let mut a = account.clone();
        if let Some(n) = new_name {
            check_name(n)?;
            a.name = n.to_string();
        }
        if let Some(e) = new_email {
            check_email(e)?;
            a.email = e.to_string();
        }
        if let Some(p) = new_pass {
            check_pass(p)?;
            let key = key.ok_or_else(|| {
                AccountError::BadName(
                    "a password can be changed only by the account itself, logged in with its \
                     password"
                        .to_string(),
                )
            })?;
            let mut salt = [0u8; 16];
            getrandom::getrandom(&mut salt)
                .map_err(|e| AccountError::Damaged(format!("no randomness for a salt: {e}")))?;
            a.salt = salt;
            a.rounds = password::ITERATIONS;
            a.sealed = password::seal(p.as_bytes(), &salt, a.rounds, &key.secret_seed());
        }
        self.write(|names, ids| {
            if a.name != account.name {
                if names
                    .get(a.name.as_str())
                    .map_err(|e| self.err(e))?
                    .is_some()
                {
                    return Err(AccountError::Taken(a.name.clone()));
                }
                names
                    .remove(account.name.as_str())
                    .map_err(|e| self.err(e))?;
            }
            names
                .insert(a.name.as_str(), a.encode().as_slice())
                .map_err(|e| self.err(e))?;
            ids.insert(a.uid.as_str(), a.name.as_str())
                .map_err(|e| self.err(e))?;
            Ok(())
        })?;
        Ok(a)
    }

    fn write(
        &self,
        f: impl FnOnce(
            &mut redb::Table<&str, &[u8]>,
            &mut redb::Table<&str, &str>,
        ) -> Result<(), AccountError>,
    ) -> Result<(), AccountError> {
        let tx = self.store.db().begin_write().map_err(|e| self.err(e))?;
        {
            let mut names = tx.open_table(ACCOUNTS).map_err(|e| self.err(e))?;
            let mut ids = tx.open_table(ACCOUNT_IDS).map_err(|e| self.err(e))?;
            f(&mut names, &mut ids)?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    fn err(&self, e: impl Into<redb::Error>) -> AccountError {
        AccountError::Store(db_err(self.store.path(), e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> (Store, std::path::PathBuf) {
        let d = std::env::temp_dir().join(format!("leither-acct-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        (Store::open(&d, 1 << 20, "node").unwrap(), d)
    }

    #[test]
    fn register_login_rename_and_repass() {
        let (s, d) = store("flow");
        let a = Accounts::new(&s);
        let acct = a.register("lsb", "123456", "lsb@example.org", 5).unwrap();
        assert_eq!(acct.uid.len(), 27);
        assert!(matches!(
            a.register("lsb", "abcdef", "", 6),
            Err(AccountError::Taken(_))
        ));
        let (got, key) = a.login("lsb", "123456").unwrap();
        assert_eq!(got.uid, acct.uid);
        assert_eq!(
            key.id().to_string(),
            acct.uid,
            "the sealed key is the account's"
        );
        assert!(matches!(
            a.login("lsb", "1234567"),
            Err(AccountError::WrongLogin)
        ));
        assert!(matches!(
            a.login("nobody", "123456"),
            Err(AccountError::WrongLogin)
        ));
        let uid: LeitherId = acct.uid.parse().unwrap();
        assert_eq!(a.by_uid(&uid).unwrap().unwrap().name, "lsb");
        let moved = a
            .update(&got, Some(&key), Some("lsb2"), Some("newpass1"), None)
            .unwrap();
        assert_eq!(moved.uid, acct.uid);
        assert!(a.by_name("lsb").unwrap().is_none());
        assert!(matches!(
            a.login("lsb2", "123456"),
            Err(AccountError::WrongLogin)
        ));
        let (_, k2) = a.login("lsb2", "newpass1").unwrap();
        assert_eq!(k2.id().to_string(), acct.uid);
        assert_eq!(a.by_uid(&uid).unwrap().unwrap().name, "lsb2");
        drop(s);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn bad_input_is_refused_and_nothing_is_stored() {
        let (s, d) = store("bad");
        let a = Accounts::new(&s);
        for name in ["", "a b", "x/y", &"n".repeat(65), "名字"] {
            assert!(matches!(
                a.register(name, "123456", "", 1),
                Err(AccountError::BadName(_))
            ));
        }
        assert!(matches!(
            a.register("ok", "12345", "", 1),
            Err(AccountError::BadPassword)
        ));
        assert!(matches!(
            a.register("ok", &"p".repeat(129), "", 1),
            Err(AccountError::BadPassword)
        ));
        assert!(matches!(
            a.register("ok", "123456", &"e".repeat(129), 1),
            Err(AccountError::BadEmail)
        ));
        assert!(a.by_name("ok").unwrap().is_none());
        drop(s);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn damaged_records_are_refused() {
        assert!(Account::decode("x", &[]).is_err());
        assert!(Account::decode("x", &[9u8; FIXED_LEN]).is_err());
        let mut b = vec![0u8; FIXED_LEN];
        b[0] = FORMAT;
        b[1..28].copy_from_slice(&[b'A'; 27]);
        // zero rounds
        assert!(Account::decode("x", &b).is_err());
        b[44..48].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Account::decode("x", &b).is_err(), "rounds bounded");
        b[44..48].copy_from_slice(&1u32.to_be_bytes());
        b[120..122].copy_from_slice(&10u16.to_be_bytes());
        assert!(Account::decode("x", &b).is_err(), "email past the end");
    }
}
