//! Runs one command, named and argued as Redis names and argues it, against a [`Kv`]: the
//! one entry point of every front door (the API table's database functions, RESP).
//!
//! [`Ctx`] holds what a command needs besides its arguments: the map and the time. Its
//! helpers load a key's meta entry (dropping it when it has expired), enforce the type, and
//! remove a key with all its elements. The per-type commands live in the `cmd_*` files.

use std::borrow::Cow;

use super::keys::{self, Kind, Meta};
use super::kv::Kv;
use super::meter::Mode;
use super::typed::{self, Values};
use super::{
    DbError, MAX_KEY, MAX_VALUE, Reply, cmd_check, cmd_hash, cmd_keys, cmd_list, cmd_seq, cmd_set,
    cmd_stream, cmd_stream_group, cmd_string, cmd_zalgebra, cmd_zpop, cmd_zrange, cmd_zset,
};
use super::{cmd_bits, cmd_lcs, cmd_scan, cmd_sort, dump};

/// What a command returns.
pub type CmdResult = Result<Reply, DbError>;

/// A command: `arity` counts the name as Redis does (negative: at least that many).
pub struct Command {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis's arity.
    pub arity: i32,
    /// Whether it may write.
    pub write: bool,
    /// The implementation; `args[0]` is the name.
    pub run: fn(&mut Ctx<'_>, &[&[u8]]) -> CmdResult,
}

macro_rules! cmd {
    ($name:literal, $arity:expr, $write:expr, $run:path) => {
        Command {
            name: $name,
            arity: $arity,
            write: $write,
            run: $run,
        }
    };
}

/// Every command of the engine.
pub static COMMANDS: &[Command] = &[
    // strings
    cmd!("get", 2, false, cmd_string::get),
    cmd!("set", -3, true, cmd_string::set),
    cmd!("setnx", 3, true, cmd_string::setnx),
    cmd!("setex", 4, true, cmd_string::setex),
    cmd!("psetex", 4, true, cmd_string::psetex),
    cmd!("getset", 3, true, cmd_string::getset),
    cmd!("getdel", 2, true, cmd_string::getdel),
    cmd!("mget", -2, false, cmd_string::mget),
    cmd!("mset", -3, true, cmd_string::mset),
    cmd!("msetnx", -3, true, cmd_string::msetnx),
    cmd!("incr", 2, true, cmd_string::incr),
    cmd!("decr", 2, true, cmd_string::decr),
    cmd!("incrby", 3, true, cmd_string::incrby),
    cmd!("decrby", 3, true, cmd_string::decrby),
    cmd!("append", 3, true, cmd_string::append),
    cmd!("strlen", 2, false, cmd_string::strlen),
    cmd!("incrbyfloat", 3, true, cmd_string::incrbyfloat),
    cmd!("getex", -2, true, cmd_string::getex),
    cmd!("getrange", 4, false, cmd_string::getrange),
    cmd!("substr", 4, false, cmd_string::getrange),
    cmd!("setrange", 4, true, cmd_string::setrange),
    cmd!("lcs", -3, false, cmd_lcs::lcs),
    // bitmaps (strings)
    cmd!("setbit", 4, true, cmd_bits::setbit),
    cmd!("getbit", 3, false, cmd_bits::getbit),
    cmd!("bitcount", -2, false, cmd_bits::bitcount),
    cmd!("bitpos", -3, false, cmd_bits::bitpos),
    cmd!("bitop", -4, true, cmd_bits::bitop),
    cmd!("bitfield", -2, true, cmd_bits::bitfield),
    cmd!("bitfield_ro", -2, false, cmd_bits::bitfield_ro),
    // hashes
    cmd!("hset", -4, true, cmd_hash::hset),
    cmd!("hmset", -4, true, cmd_hash::hmset),
    cmd!("hsetnx", 4, true, cmd_hash::hsetnx),
    cmd!("hget", 3, false, cmd_hash::hget),
    cmd!("hmget", -3, false, cmd_hash::hmget),
    cmd!("hgetall", 2, false, cmd_hash::hgetall),
    cmd!("hkeys", 2, false, cmd_hash::hkeys),
    cmd!("hvals", 2, false, cmd_hash::hvals),
    cmd!("hdel", -3, true, cmd_hash::hdel),
    cmd!("hlen", 2, false, cmd_hash::hlen),
    cmd!("hexists", 3, false, cmd_hash::hexists),
    cmd!("hstrlen", 3, false, cmd_hash::hstrlen),
    cmd!("hincrby", 4, true, cmd_hash::hincrby),
    cmd!("hincrbyfloat", 4, true, cmd_hash::hincrbyfloat),
    cmd!("hrandfield", -2, false, cmd_hash::hrandfield),
    cmd!("hscan", -3, false, cmd_scan::hscan),
    cmd!("hclear", 2, true, cmd_hash::hclear),
    cmd!("hfscan", -3, false, cmd_hash::hfscan),
    cmd!("hfrevscan", -3, false, cmd_hash::hfrevscan),
    // lists
    cmd!("lpush", -3, true, cmd_list::lpush),
    cmd!("rpush", -3, true, cmd_list::rpush),
    cmd!("lpushx", -3, true, cmd_list::lpushx),
    cmd!("rpushx", -3, true, cmd_list::rpushx),
    cmd!("lpop", -2, true, cmd_list::lpop),
    cmd!("rpop", -2, true, cmd_list::rpop),
    cmd!("lrange", 4, false, cmd_list::lrange),
    cmd!("lindex", 3, false, cmd_list::lindex),
    cmd!("llen", 2, false, cmd_list::llen),
    cmd!("lset", 4, true, cmd_list::lset),
    cmd!("lmove", 5, true, cmd_list::lmove),
    cmd!("rpoplpush", 3, true, cmd_list::rpoplpush),
    cmd!("lmpop", -4, true, cmd_list::lmpop),
    cmd!("linsert", 5, true, cmd_list::linsert),
    cmd!("lrem", 4, true, cmd_list::lrem),
    cmd!("ltrim", 4, true, cmd_list::ltrim),
    cmd!("lpos", -3, false, cmd_list::lpos),
    cmd!("lclear", 2, true, cmd_list::lclear),
    // sets
    cmd!("sadd", -3, true, cmd_set::sadd),
    cmd!("srem", -3, true, cmd_set::srem),
    cmd!("smembers", 2, false, cmd_set::smembers),
    cmd!("sismember", 3, false, cmd_set::sismember),
    cmd!("scard", 2, false, cmd_set::scard),
    cmd!("sinter", -2, false, cmd_set::sinter),
    cmd!("sunion", -2, false, cmd_set::sunion),
    cmd!("sdiff", -2, false, cmd_set::sdiff),
    cmd!("smismember", -3, false, cmd_set::smismember),
    cmd!("sinterstore", -3, true, cmd_set::sinterstore),
    cmd!("sunionstore", -3, true, cmd_set::sunionstore),
    cmd!("sdiffstore", -3, true, cmd_set::sdiffstore),
    cmd!("sintercard", -3, false, cmd_set::sintercard),
    cmd!("smove", 4, true, cmd_set::smove),
    cmd!("spop", -2, true, cmd_set::spop),
    cmd!("srandmember", -2, false, cmd_set::srandmember),
    cmd!("sclear", 2, true, cmd_set::sclear),
    // sorted sets
    cmd!("zadd", -4, true, cmd_zset::zadd),
    cmd!("zrem", -3, true, cmd_zset::zrem),
    cmd!("zscore", 3, false, cmd_zset::zscore),
    cmd!("zmscore", -3, false, cmd_zset::zmscore),
    cmd!("zrank", 3, false, cmd_zset::zrank),
    cmd!("zrevrank", 3, false, cmd_zset::zrevrank),
    cmd!("zcard", 2, false, cmd_zset::zcard),
    cmd!("zincrby", 4, true, cmd_zset::zincrby),
    cmd!("zclear", 2, true, cmd_zset::zclear),
    cmd!("zcount", 4, false, cmd_zrange::zcount),
    cmd!("zlexcount", 4, false, cmd_zrange::zlexcount),
    cmd!("zrange", -4, false, cmd_zrange::zrange),
    cmd!("zrangestore", -5, true, cmd_zrange::zrangestore),
    cmd!("zrevrange", -4, false, cmd_zrange::zrevrange),
    cmd!("zrangebyscore", -4, false, cmd_zrange::zrangebyscore),
    cmd!("zrevrangebyscore", -4, false, cmd_zrange::zrevrangebyscore),
    cmd!("zrangebylex", -4, false, cmd_zrange::zrangebylex),
    cmd!("zrevrangebylex", -4, false, cmd_zrange::zrevrangebylex),
    cmd!("zremrangebyscore", 4, true, cmd_zrange::zremrangebyscore),
    cmd!("zremrangebyrank", 4, true, cmd_zrange::zremrangebyrank),
    cmd!("zremrangebylex", 4, true, cmd_zrange::zremrangebylex),
    cmd!("zunion", -3, false, cmd_zalgebra::zunion),
    cmd!("zunionstore", -4, true, cmd_zalgebra::zunionstore),
    cmd!("zinter", -3, false, cmd_zalgebra::zinter),
    cmd!("zinterstore", -4, true, cmd_zalgebra::zinterstore),
    cmd!("zdiff", -3, false, cmd_zalgebra::zdiff),
    cmd!("zdiffstore", -4, true, cmd_zalgebra::zdiffstore),
    cmd!("zintercard", -3, false, cmd_zalgebra::zintercard),
    cmd!("zpopmin", -2, true, cmd_zpop::zpopmin),
    cmd!("zpopmax", -2, true, cmd_zpop::zpopmax),
    cmd!("zmpop", -4, true, cmd_zpop::zmpop),
    cmd!("zrandmember", -2, false, cmd_zpop::zrandmember),
    // streams
    cmd!("xadd", -5, true, cmd_stream::xadd),
    cmd!("xrange", -4, false, cmd_stream::xrange),
    cmd!("xrevrange", -4, false, cmd_stream::xrevrange),
    cmd!("xlen", 2, false, cmd_stream::xlen),
    cmd!("xdel", -3, true, cmd_stream::xdel),
    cmd!("xtrim", -4, true, cmd_stream::xtrim),
    cmd!("xread", -4, false, cmd_stream::xread),
    cmd!("xsetid", -3, true, cmd_stream::xsetid),
    cmd!("xinfo", -2, false, cmd_stream::xinfo),
    cmd!("xgroup", -2, true, cmd_stream_group::xgroup),
    cmd!("xreadgroup", -7, true, cmd_stream_group::xreadgroup),
    cmd!("xack", -4, true, cmd_stream_group::xack),
    cmd!("xpending", -3, false, cmd_stream_group::xpending),
    cmd!("xclaim", -6, true, cmd_stream_group::xclaim),
    cmd!("xautoclaim", -6, true, cmd_stream_group::xautoclaim),
    // Leither's sequence
    cmd!("zaddwithseq", -3, true, cmd_seq::zaddwithseq),
    cmd!("getlastseq", 1, false, cmd_seq::getlastseq),
    // Leither's CheckIntegrity
    cmd!("checkkey", 3, false, cmd_check::checkkey),
    cmd!("repairkey", 3, true, cmd_check::repairkey),
    // keys
    cmd!("del", -2, true, cmd_keys::del),
    cmd!("unlink", -2, true, cmd_keys::del),
    cmd!("exists", -2, false, cmd_keys::exists),
    cmd!("type", 2, false, cmd_keys::type_),
    cmd!("expire", -3, true, cmd_keys::expire),
    cmd!("pexpire", -3, true, cmd_keys::pexpire),
    cmd!("expireat", -3, true, cmd_keys::expireat),
    cmd!("pexpireat", -3, true, cmd_keys::pexpireat),
    cmd!("ttl", 2, false, cmd_keys::ttl),
    cmd!("pttl", 2, false, cmd_keys::pttl),
    cmd!("persist", 2, true, cmd_keys::persist),
    cmd!("scan", -2, false, cmd_keys::scan),
    cmd!("kscan", -2, false, cmd_keys::kscan),
    cmd!("keys", 2, false, cmd_keys::keys),
    cmd!("dbsize", 1, false, cmd_keys::dbsize),
    cmd!("flushdb", -1, true, cmd_keys::flushdb),
    cmd!("touch", -2, false, cmd_keys::touch),
    cmd!("expiretime", 2, false, cmd_keys::expiretime),
    cmd!("pexpiretime", 2, false, cmd_keys::pexpiretime),
    cmd!("rename", 3, true, cmd_keys::rename),
    cmd!("renamenx", 3, true, cmd_keys::renamenx),
    cmd!("copy", -3, true, cmd_keys::copy),
    cmd!("randomkey", 1, false, cmd_keys::randomkey),
    cmd!("dump", 2, false, dump::dump_cmd),
    cmd!("restore", -4, true, dump::restore_cmd),
    cmd!("sort", -2, true, cmd_sort::sort),
    cmd!("sort_ro", -2, false, cmd_sort::sort_ro),
    // element scans of sets and sorted sets (cmd_scan.rs, with HSCAN)
    cmd!("sscan", -3, false, cmd_scan::sscan),
    cmd!("zscan", -3, false, cmd_scan::zscan),
];

/// The command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    // Lower-cased into a stack buffer, then one hash lookup: this runs for every command.
    let mut buf = [0u8; 24];
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    INDEX.with(|i| i.get(&*lower).copied())
}

thread_local! {
    static INDEX: std::collections::HashMap<&'static [u8], &'static Command, Fnv> =
        COMMANDS.iter().map(|c| (c.name.as_bytes(), c)).collect();
}

/// FNV-1a for the command index: names are short and not chosen by an attacker who could
/// gain anything from collisions (the table is fixed), so SipHash's cost buys nothing here.
#[derive(Default, Clone, Copy)]
struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// The reply of Redis 7 to a command it does not know.
pub fn unknown(args: &[&[u8]]) -> DbError {
    let mut m = format!(
        "ERR unknown command '{}', with args beginning with: ",
        clip(args.first().copied().unwrap_or_default())
    );
    for a in args.iter().skip(1) {
        m.push('\'');
        m.push_str(&clip(a));
        m.push_str("' ");
    }
    DbError::Unknown(m)
}

fn clip(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(128)]).into_owned()
}

/// Checks the arity of `cmd` against `args` (name included).
pub fn check_arity(cmd: &Command, args: &[&[u8]]) -> Result<(), DbError> {
    let n = args.len() as i32;
    if (cmd.arity > 0 && n != cmd.arity) || (cmd.arity < 0 && n < -cmd.arity) {
        return Err(DbError::Arity(cmd.name.to_string()));
    }
    Ok(())
}

/// Runs `args` (`args[0]` the command name) on `kv` at `now_ms`, values given plain (as a
/// Redis client gives and sees them).
pub fn exec(kv: &mut dyn Kv, now_ms: u64, args: &[&[u8]]) -> CmdResult {
    exec_values(kv, now_ms, args, Values::Plain)
}

/// Like [`exec`], with the values of arguments and replies in the form `values` says
/// (the API door gives and takes them stored, `db/typed.rs`).
pub fn exec_values(kv: &mut dyn Kv, now_ms: u64, args: &[&[u8]], values: Values) -> CmdResult {
    exec_tuned(kv, now_ms, args, values, Tune::default())
}

/// Like [`exec_values`], under the node's settings `tune` (the RESP door's `CONFIG SET`).
pub fn exec_tuned(
    kv: &mut dyn Kv,
    now_ms: u64,
    args: &[&[u8]],
    values: Values,
    tune: Tune,
) -> CmdResult {
    let name = args.first().copied().unwrap_or_default();
    let cmd = lookup(name).ok_or_else(|| unknown(args))?;
    check_arity(cmd, args)?;
    if let Some(why) = kv.read_only().filter(|_| cmd.write) {
        return Err(DbError::ReadOnly(why));
    }
    match super::meter::mode(cmd.name, cmd.write, args) {
        Mode::Plain => {
            let mut ctx = Ctx {
                kv,
                now: now_ms,
                values,
                tune,
            };
            (cmd.run)(&mut ctx, args)
        }
        Mode::Metered => {
            let mut metered = super::meter::Metered::new(kv, tune.max_read);
            let mut ctx = Ctx {
                kv: &mut metered,
                now: now_ms,
                values,
                tune,
            };
            (cmd.run)(&mut ctx, args)
        }
        Mode::Atomic => {
            let mut top = super::kv::Overlay::default();
            let r = {
                let mut metered = super::meter::Metered::new(&mut *kv, tune.max_read);
                let mut layered = top.over(&mut metered);
                let mut ctx = Ctx {
                    kv: &mut layered,
                    now: now_ms,
                    values,
                    tune,
                };
                (cmd.run)(&mut ctx, args)?
            };
            top.apply(kv)?;
            Ok(r)
        }
    }
}

/// The node's settings that change how commands store what they write (each node has its
/// own: several nodes may run in one process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tune {
    /// Redis's `stream-node-max-entries`: entries a stream node takes (0 = no limit).
    pub stream_node_max_entries: u64,
    /// The most bytes (keys and values) one command may read ([`super::meter`]).
    pub max_read: usize,
}

/// [`Tune::max_read`] unless the node's memory says less: above the 64 MiB some commands
/// gather at most ([`super::cmd_string::MAX_GATHER`]; they answer less, or their own error,
/// first), a bound for every other command.
pub const MAX_READ: usize = 128 << 20;

impl Default for Tune {
    fn default() -> Tune {
        Tune {
            stream_node_max_entries: super::cmd_stream::NODE_MAX,
            max_read: MAX_READ,
        }
    }
}

/// What a command runs with.
pub struct Ctx<'a> {
    /// The map.
    pub kv: &'a mut dyn Kv,
    /// Milliseconds since the epoch.
    pub now: u64,
    /// How values come in arguments and go out in replies.
    pub values: Values,
    /// The node's settings.
    pub tune: Tune,
}

impl Ctx<'_> {
    /// The stored form of value argument `v`: plain values starting with a marker are
    /// escaped; stored ones are already in that form.
    pub fn store_val<'v>(&self, v: &'v [u8]) -> Cow<'v, [u8]> {
        match self.values {
            Values::Plain => typed::escape(v),
            Values::Stored => Cow::Borrowed(v),
        }
    }

    /// Stored bytes `v` in the form a reply gives values.
    pub fn reply_val(&self, v: Vec<u8>) -> Vec<u8> {
        match self.values {
            Values::Plain => typed::unescape(v),
            Values::Stored => v,
        }
    }

    /// Stored bytes `v` as a bulk reply.
    pub fn bulk(&self, v: Vec<u8>) -> Reply {
        Reply::Bulk(self.reply_val(v))
    }

    /// The live meta entry of `key`: an expired key reads as absent (and is removed when
    /// the map is writable).
    pub fn meta(&mut self, key: &[u8]) -> Result<Option<Meta>, DbError> {
        if key.len() > MAX_KEY {
            return Err(DbError::KeyTooLong);
        }
        self.kv.note(key, false);
        let kv = &mut *self.kv;
        let Some(raw) = keys::with_meta(key, |k| kv.get(k))? else {
            return Ok(None);
        };
        let m = Meta::decode_owned(raw).ok_or_else(|| {
            DbError::Other(format!(
                "the stored entry of key {:?} is damaged; delete the key",
                String::from_utf8_lossy(key)
            ))
        })?;
        if m.expire != 0 && m.expire <= self.now {
            if self.kv.read_only().is_none() {
                self.remove(key, &m)?;
            }
            return Ok(None);
        }
        Ok(Some(m))
    }

    /// Like [`Ctx::meta`], but a key of another type is `WRONGTYPE`.
    pub fn typed(&mut self, key: &[u8], kind: Kind) -> Result<Option<Meta>, DbError> {
        match self.meta(key)? {
            Some(m) if m.kind != kind => Err(DbError::WrongType),
            m => Ok(m),
        }
    }

    /// Writes `key`'s meta entry (and its expiry entry when it changed from `old`).
    pub fn put_meta(&mut self, key: &[u8], m: &Meta, old_expire: u64) -> Result<(), DbError> {
        self.put_meta_bytes(key, m.encode(), m.expire, old_expire)
    }

    /// Writes `key`'s encoded meta entry `bytes` (expiring at `expire`).
    pub fn put_meta_bytes(
        &mut self,
        key: &[u8],
        bytes: Vec<u8>,
        expire: u64,
        old_expire: u64,
    ) -> Result<(), DbError> {
        self.kv.note(key, true);
        if old_expire != expire {
            if old_expire != 0 {
                self.kv.del(&keys::expiry(old_expire, key))?;
            }
            if expire != 0 {
                self.kv.put(&keys::expiry(expire, key), &[])?;
            }
        }
        let kv = &mut *self.kv;
        keys::with_meta(key, |k| kv.put_owned(k, bytes))
    }

    /// Removes `key`: its elements, its expiry entry and its meta entry.
    pub fn remove(&mut self, key: &[u8], m: &Meta) -> Result<(), DbError> {
        self.kv.note(key, true);
        if m.kind != Kind::String {
            let p = keys::elem_prefix(key);
            let mut doomed = Vec::new();
            self.kv
                .scan(&p, &keys::prefix_end(&p), false, &mut |k, _| {
                    doomed.push(k.to_vec());
                    true
                })?;
            for k in doomed {
                self.kv.del(&k)?;
            }
        }
        if m.expire != 0 {
            self.kv.del(&keys::expiry(m.expire, key))?;
        }
        self.kv.del(&keys::meta(key))
    }

    /// Writes `m` for `key`, or removes the key when a container became empty.
    pub fn store_or_drop(&mut self, key: &[u8], m: &Meta, old_expire: u64) -> Result<(), DbError> {
        if m.kind != Kind::String && m.len == 0 {
            let mut gone = m.clone();
            gone.expire = old_expire;
            self.remove(key, &gone)
        } else {
            self.put_meta(key, m, old_expire)
        }
    }

    /// Visits the element entries of `key` under `sub` (the part after the key), in order:
    /// `f` gets the rest of the entry's key after `sub` and its value.
    pub fn elems(
        &mut self,
        key: &[u8],
        sub: &[u8],
        rev: bool,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), DbError> {
        let p = keys::elem(key, sub);
        let n = p.len();
        self.kv
            .scan(&p, &keys::prefix_end(&p), rev, &mut |k, v| f(&k[n..], v))
    }
}

/// Checks a value against [`MAX_VALUE`].
pub fn bounded(v: &[u8]) -> Result<&[u8], DbError> {
    if v.len() > MAX_VALUE {
        return Err(DbError::TooLarge);
    }
    Ok(v)
}

/// Redis's rank range `start..=stop` over `len` elements (negative counts from the end,
/// clamped to the ends): the first and last index, or `None` when it selects nothing.
pub fn index_range(start: i64, stop: i64, len: u64) -> Option<(i64, i64)> {
    let len = len as i64;
    let s = if start < 0 { start + len } else { start }.max(0);
    let e = if stop < 0 { stop + len } else { stop };
    if s > e || s >= len {
        return None;
    }
    Some((s, e.min(len - 1)))
}

/// Checks a field or member against [`MAX_KEY`].
pub fn name_ok(v: &[u8]) -> Result<&[u8], DbError> {
    if v.len() > MAX_KEY {
        return Err(DbError::KeyTooLong);
    }
    Ok(v)
}

/// An integer argument.
pub fn int_arg(b: &[u8]) -> Result<i64, DbError> {
    super::num::parse_int(b).ok_or(DbError::NotInteger)
}

/// A float argument.
pub fn float_arg(b: &[u8]) -> Result<f64, DbError> {
    super::num::parse_float(b).ok_or(DbError::NotFloat)
}

/// Whether `a` is the option `opt` (any case).
pub fn is(a: &[u8], opt: &str) -> bool {
    a.eq_ignore_ascii_case(opt.as_bytes())
}

/// Removes every key whose expiry is due, at most `limit` of them; returns how many went.
pub fn sweep(kv: &mut dyn Kv, now_ms: u64, limit: usize) -> Result<usize, DbError> {
    let mut due: Vec<Vec<u8>> = Vec::new();
    let from = [keys::EXPIRY];
    let to = keys::expiry(now_ms.saturating_add(1), b"");
    kv.scan(&from, &to, false, &mut |k, _| {
        due.push(k.to_vec());
        due.len() < limit
    })?;
    let mut ctx = Ctx {
        kv,
        now: now_ms,
        values: Values::Plain,
        tune: Tune::default(),
    };
    let n = due.len();
    for entry in due {
        // meta() removes an expired key with its expiry entry; an entry that does not
        // match its key's expiry (none should exist) goes too, so it is not seen again.
        let Some(key) = entry.get(9..) else {
            ctx.kv.del(&entry)?;
            continue;
        };
        let live = ctx.meta(key)?;
        if live.is_some() || ctx.kv.get(&entry)?.is_some() {
            ctx.kv.del(&entry)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
