//! How a Redis-like keyspace is laid out in one ordered byte map (sans-io).
//!
//! Every Redis key has one **meta** entry `m KEY` holding its type, its expiry and, for a
//! string, the value itself, so `GET` is one lookup. The parts of a hash, list, set or sorted
//! set are **element** entries under `e LEN KEY` (LEN = the key's length as u32 big-endian, so
//! no key's elements can run into another's); an expiring key also has an **expiry** entry
//! `x AT KEY` (AT = milliseconds since the epoch, u64 big-endian) so the sweeper finds due keys
//! in order. The whole map, in key order, is what a numbered version stores (docs/db.md).

/// The first byte of a meta entry.
pub const META: u8 = b'm';
/// The first byte of an element entry.
pub const ELEM: u8 = b'e';
/// The first byte of an expiry entry.
pub const EXPIRY: u8 = b'x';

/// Sub-space of a sorted set's elements: member -> score.
pub const Z_MEMBER: u8 = b'm';
/// Sub-space of a sorted set's elements: sortable score + member -> nothing.
pub const Z_SCORE: u8 = b's';

/// The type of a value, as `TYPE` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string (also integers, which are strings).
    String = 1,
    /// A hash of fields.
    Hash = 2,
    /// A list.
    List = 3,
    /// A set.
    Set = 4,
    /// A sorted set.
    ZSet = 5,
    /// A stream (`db/cmd_stream.rs`).
    Stream = 6,
}

impl Kind {
    /// The name `TYPE` answers.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::Stream => "stream",
        }
    }

    fn from_code(c: u8) -> Option<Kind> {
        Some(match c {
            1 => Kind::String,
            2 => Kind::Hash,
            3 => Kind::List,
            4 => Kind::Set,
            5 => Kind::ZSet,
            6 => Kind::Stream,
            _ => return None,
        })
    }
}

/// The middle of a list's sequence space: the first chunk of a new list goes here (and
/// the first element of a list in the first layout).
pub const LIST_MID: u64 = 1 << 63;

/// The gap between the sequence numbers of chunks pushed at a list's ends, so a chunk that
/// grows past its limit in the middle can be split into new chunks between its neighbours.
pub const CHUNK_STEP: u64 = 1 << 20;

/// The layout byte of a list stored in chunks (the first layout, one entry per element,
/// has none: its meta entry is 16 bytes after the expiry).
const LIST_CHUNKED: u8 = 1;

/// A key's meta entry, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// Its type.
    pub kind: Kind,
    /// When it expires (ms since the epoch), 0 = never.
    pub expire: u64,
    /// A string's value; empty for the other types.
    pub value: Vec<u8>,
    /// Elements of a hash, set or sorted set; the list's length.
    pub len: u64,
    /// A list's first sequence number: its first chunk, or, in the first layout
    /// (`chunked` false), its first element (its elements are `head .. head + len`).
    pub head: u64,
    /// A chunked list's last chunk.
    pub tail: u64,
    /// Whether a list is stored in chunks (every list written since chunks came); lists
    /// of the first layout, one entry per element, are converted on their first write.
    pub chunked: bool,
}

impl Meta {
    /// A fresh key of `kind` without expiry.
    pub fn new(kind: Kind) -> Meta {
        Meta {
            kind,
            expire: 0,
            value: Vec::new(),
            len: 0,
            head: LIST_MID,
            tail: LIST_MID,
            chunked: true,
        }
    }

    /// A string key.
    pub fn string(value: Vec<u8>) -> Meta {
        Meta {
            value,
            ..Meta::new(Kind::String)
        }
    }

    /// The stored bytes: type, expiry, then the value (string), len (hash, set, zset),
    /// layout byte 1 + len + head chunk + tail chunk (list), or len + head (a list of the
    /// first layout).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.value.len() + 16);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.expire.to_be_bytes());
        match self.kind {
            Kind::String => out.extend_from_slice(&self.value),
            Kind::List => {
                if self.chunked {
                    out.push(LIST_CHUNKED);
                }
                out.extend_from_slice(&self.len.to_be_bytes());
                out.extend_from_slice(&self.head.to_be_bytes());
                if self.chunked {
                    out.extend_from_slice(&self.tail.to_be_bytes());
                }
            }
            _ => out.extend_from_slice(&self.len.to_be_bytes()),
        }
        out
    }

    /// Like [`Meta::decode`], reusing the buffer for a string's value.
    pub fn decode_owned(mut b: Vec<u8>) -> Option<Meta> {
        if b.first() == Some(&(Kind::String as u8)) && b.len() >= 9 {
            let expire = u64::from_be_bytes(b[1..9].try_into().ok()?);
            b.drain(..9);
            let mut m = Meta::string(b);
            m.expire = expire;
            return Some(m);
        }
        Meta::decode(&b)
    }

    /// The stored bytes of a string key, without building a [`Meta`].
    pub fn encode_string(expire: u64, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + value.len());
        out.push(Kind::String as u8);
        out.extend_from_slice(&expire.to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    /// Decodes stored bytes; `None` if they are not a meta entry this code wrote.
    pub fn decode(b: &[u8]) -> Option<Meta> {
        let kind = Kind::from_code(*b.first()?)?;
        let expire = u64::from_be_bytes(b.get(1..9)?.try_into().ok()?);
        let rest = &b[9..];
        let mut m = Meta::new(kind);
        m.expire = expire;
        match kind {
            Kind::String => m.value = rest.to_vec(),
            Kind::List => {
                let rest = match rest.len() {
                    16 => {
                        m.chunked = false;
                        rest
                    }
                    25 if rest[0] == LIST_CHUNKED => {
                        m.tail = u64::from_be_bytes(rest[17..].try_into().ok()?);
                        &rest[1..17]
                    }
                    _ => return None,
                };
                m.len = u64::from_be_bytes(rest[..8].try_into().ok()?);
                m.head = u64::from_be_bytes(rest[8..].try_into().ok()?);
            }
            _ => m.len = u64::from_be_bytes(rest.try_into().ok()?),
        }
        Some(m)
    }
}

/// Runs `f` with `m KEY`, built on the stack for keys that fit (every command reads one).
pub fn with_meta<R>(key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; 96];
    match buf.get_mut(..key.len() + 1) {
        Some(b) => {
            b[0] = META;
            b[1..].copy_from_slice(key);
            f(b)
        }
        None => f(&meta(key)),
    }
}

/// `m KEY`.
pub fn meta(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(META);
    k.extend_from_slice(key);
    k
}

/// `e LEN KEY`: the prefix of every element of `key`.
pub fn elem_prefix(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + key.len() + 16);
    k.push(ELEM);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// `e LEN KEY SUB`.
pub fn elem(key: &[u8], sub: &[u8]) -> Vec<u8> {
    let mut k = elem_prefix(key);
    k.extend_from_slice(sub);
    k
}

/// `e LEN KEY SEQ`: a list's chunk (or, in the first layout, element) `seq`.
pub fn list_elem(key: &[u8], seq: u64) -> Vec<u8> {
    elem(key, &seq.to_be_bytes())
}

/// `e LEN KEY m MEMBER`: a sorted set member's score.
pub fn z_member(key: &[u8], member: &[u8]) -> Vec<u8> {
    let mut k = elem_prefix(key);
    k.push(Z_MEMBER);
    k.extend_from_slice(member);
    k
}

/// `e LEN KEY s SCORE MEMBER`: a sorted set's score index.
pub fn z_score(key: &[u8], score: f64, member: &[u8]) -> Vec<u8> {
    let mut k = z_score_prefix(key);
    k.extend_from_slice(&sortable(score));
    k.extend_from_slice(member);
    k
}

/// `e LEN KEY s`.
pub fn z_score_prefix(key: &[u8]) -> Vec<u8> {
    let mut k = elem_prefix(key);
    k.push(Z_SCORE);
    k
}

/// `x AT KEY`.
pub fn expiry(at: u64, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.push(EXPIRY);
    k.extend_from_slice(&at.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// The smallest byte string greater than every string starting with `p` (`p` must not be
/// all 0xff; ours never are, they start with a tag byte).
pub fn prefix_end(p: &[u8]) -> Vec<u8> {
    let mut e = p.to_vec();
    while let Some(last) = e.last_mut() {
        if *last == 0xff {
            e.pop();
        } else {
            *last += 1;
            return e;
        }
    }
    vec![0xff; p.len() + 1]
}

/// A score as 8 bytes that sort like the number (-inf first, +inf last; NaN never stored).
pub fn sortable(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f }; // -0 sorts as 0
    let b = f.to_bits();
    let b = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    b.to_be_bytes()
}

/// Inverse of [`sortable`].
pub fn unsortable(b: [u8; 8]) -> f64 {
    let b = u64::from_be_bytes(b);
    let b = if b >> 63 == 1 { b & !(1 << 63) } else { !b };
    f64::from_bits(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_sort_like_numbers() {
        let v = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::INFINITY,
        ];
        for w in v.windows(2) {
            assert!(sortable(w[0]) <= sortable(w[1]), "{} {}", w[0], w[1]);
            assert_eq!(unsortable(sortable(w[1])), w[1]);
        }
    }

    #[test]
    fn meta_round_trips_and_refuses_garbage() {
        let mut m = Meta::new(Kind::List);
        m.len = 3;
        m.head = LIST_MID - 2;
        m.tail = LIST_MID + 5;
        m.expire = 77;
        assert_eq!(m.encode().len(), 9 + 25);
        assert_eq!(Meta::decode(&m.encode()), Some(m.clone()));
        // The first layout's meta entry (len + head) still reads, as a list not chunked.
        let mut old = vec![3];
        old.extend_from_slice(&77u64.to_be_bytes());
        old.extend_from_slice(&3u64.to_be_bytes());
        old.extend_from_slice(&(LIST_MID - 2).to_be_bytes());
        let o = Meta::decode(&old).unwrap();
        assert!(!o.chunked);
        assert_eq!((o.len, o.head, o.expire), (3, LIST_MID - 2, 77));
        assert_eq!(o.encode(), old);
        let s = Meta::string(b"v".to_vec());
        assert_eq!(Meta::decode(&s.encode()), Some(s));
        assert_eq!(Meta::decode(&[9, 0]), None);
        assert_eq!(Meta::decode(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 1]), None);
    }

    #[test]
    fn element_prefixes_of_different_keys_do_not_nest() {
        let a = elem_prefix(b"a");
        let ab = elem_prefix(b"ab");
        assert!(!ab.starts_with(&a));
        assert_eq!(prefix_end(b"m\xff"), b"n".to_vec());
    }
}
