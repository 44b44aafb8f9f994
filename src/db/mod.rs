//! Mimei databases: a Redis-like engine over an ordered byte map (docs/db.md).
//!
//! Layers, top down: `engine` runs one command (Redis names and arguments) against a
//! [`kv::Kv`]; the `cmd_*` files hold the commands by type; `keys` lays a keyspace out in
//! the ordered map; `kv` is the map interface with the transaction overlay; `cur` is the
//! writable `cur` state of every database Mimei in one redb table with group commit; the
//! read-only numbered versions are prolly trees in the block store (`prolly`, `version`).
//! The front doors (the API table's `Set`, `Hget`, ... and the RESP listener) call
//! [`engine::exec`] and nothing below it.

pub mod cmd_bits;
pub mod cmd_check;
pub mod cmd_hash;
pub mod cmd_keys;
pub mod cmd_lcs;
pub mod cmd_list;
pub mod cmd_scan;
pub mod cmd_seq;
pub mod cmd_set;
pub mod cmd_sort;
pub mod cmd_stream;
pub mod cmd_stream_group;
pub mod cmd_string;
pub mod cmd_zalgebra;
pub mod cmd_zpop;
pub mod cmd_zrange;
pub mod cmd_zset;
pub mod cur;
pub mod dump;
pub mod engine;
pub mod glob;
pub mod keys;
pub mod kv;
pub mod ld;
pub mod list;
pub mod list_chunk;
pub mod meter;
pub mod num;
pub mod prolly;
pub mod rng;
pub mod typed;
pub mod version;
pub mod wal;

use std::fmt;

use crate::store::StoreError;

/// Largest string value or element. Redis allows 512 MB; ours must fit one entry of a
/// version's prolly tree ([`prolly::MAX_VALUE_LEN`], 256 KiB, less the meta header) so
/// every version moves between nodes as blocks of at most 1 MiB.
pub const MAX_VALUE: usize = prolly::MAX_VALUE_LEN - 64;
/// Longest key, field or member: an element entry holds a key and a member, and must fit
/// [`prolly::MAX_KEY_LEN`] (4 KiB).
pub const MAX_KEY: usize = 2000;

/// What a command can fail with. `Display` is the text Redis 7 replies (after the `-`).
#[derive(Debug)]
#[non_exhaustive]
pub enum DbError {
    /// The database underneath failed.
    Store(StoreError),
    /// The key holds another type.
    WrongType,
    /// An argument is not an integer, or the result would not be one.
    NotInteger,
    /// An argument is not a float.
    NotFloat,
    /// A score range end is not a float.
    RangeNotFloat,
    /// An increment would overflow.
    Overflow,
    /// `LSET` on a missing key.
    NoSuchKey,
    /// `LSET` past the end.
    OutOfRange,
    /// Options that do not go together, or a bad option.
    Syntax,
    /// Wrong argument count for the command (its name, lower case).
    Arity(String),
    /// The command does not exist: its name and the first arguments, as Redis quotes them.
    Unknown(String),
    /// A value over [`MAX_VALUE`].
    TooLarge,
    /// A key, field or member over [`MAX_KEY`].
    KeyTooLong,
    /// A write on a read-only version.
    ReadOnly(String),
    /// An optimistic transaction lost: another writer changed a key it used.
    Conflict(String),
    /// Anything else, with Redis's text after `ERR `.
    Other(String),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Store(e) => write!(f, "ERR the database failed: {e}"),
            DbError::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            DbError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            DbError::NotFloat => f.write_str("ERR value is not a valid float"),
            DbError::RangeNotFloat => f.write_str("ERR min or max is not a float"),
            DbError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            DbError::NoSuchKey => f.write_str("ERR no such key"),
            DbError::OutOfRange => f.write_str("ERR index out of range"),
            DbError::Syntax => f.write_str("ERR syntax error"),
            DbError::Arity(c) => write!(f, "ERR wrong number of arguments for '{c}' command"),
            DbError::Unknown(m) => f.write_str(m),
            DbError::TooLarge => write!(
                f,
                "ERR string exceeds maximum allowed size ({MAX_VALUE} bytes in a Mimei database)"
            ),
            DbError::KeyTooLong => write!(
                f,
                "ERR key, field or member longer than {MAX_KEY} bytes (the Mimei database limit)"
            ),
            DbError::ReadOnly(m) => write!(f, "READONLY {m}"),
            DbError::Conflict(m) => write!(f, "ERR transaction conflict: {m}"),
            DbError::Other(m) => write!(f, "ERR {m}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        DbError::Store(e)
    }
}

impl DbError {
    /// The HTTP status for the API front doors.
    pub fn http_status(&self) -> u16 {
        match self {
            DbError::Store(_) => 500,
            DbError::ReadOnly(_) => 403,
            DbError::Conflict(_) => 409,
            DbError::TooLarge | DbError::KeyTooLong => 413,
            _ => 400,
        }
    }
}

/// A command's answer, shaped as RESP2 shapes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Status(&'static str),
    /// `:N`.
    Int(i64),
    /// `$N bytes`.
    Bulk(Vec<u8>),
    /// `$-1`.
    Nil,
    /// `*-1`.
    NilArray,
    /// `*N ...`.
    Array(Vec<Reply>),
    /// `-ERR ...`: an error reply (the command failed, the connection goes on).
    Error(String),
    /// A double: a bulk string in RESP2 (Redis's `%.17g`), `,` in RESP3 (`ZSCORE`,
    /// `INCRBYFLOAT` answers a bulk in both, so it does not use this).
    Double(f64),
    /// Field, value, field, value...: a flat array in RESP2, a `%` map in RESP3 (`HGETALL`,
    /// `CONFIG GET`, `HELLO`).
    Map(Vec<Reply>),
    /// A set: an array in RESP2, `~` in RESP3 (`SMEMBERS`, `SINTER`...).
    Set(Vec<Reply>),
    /// Member, score, member, score...: a flat array in RESP2, an array of two-element
    /// arrays in RESP3 (`ZRANGE ... WITHSCORES`, `ZPOPMIN`, `HRANDFIELD ... WITHVALUES`).
    Pairs(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub const OK: Reply = Reply::Status("OK");

    /// A bulk string from text.
    pub fn text(s: impl Into<String>) -> Reply {
        Reply::Bulk(s.into().into_bytes())
    }

    /// The elements of an array-shaped reply (`Array`, `Map`, `Set`, `Pairs`; flat).
    pub fn into_items(self) -> Option<Vec<Reply>> {
        match self {
            Reply::Array(a) | Reply::Map(a) | Reply::Set(a) | Reply::Pairs(a) => Some(a),
            _ => None,
        }
    }

    /// An array of bulk strings.
    pub fn bulks(items: Vec<Vec<u8>>) -> Reply {
        Reply::Array(items.into_iter().map(Reply::Bulk).collect())
    }
}
