//! Bitmap commands over string values: `SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
//! BITFIELD_RO`, as Redis 7.0 answers them. Bit 0 is the most significant bit of the first
//! byte.
//!
//! A string here holds at most [`MAX_VALUE`] bytes, so `SETBIT` (or `BITFIELD`) past bit
//! `MAX_VALUE * 8 - 1` answers the database's size error (Redis's own limit, 512 MB, still
//! gives its "out of range" error). Every command touches at most one value's bytes.

use super::MAX_VALUE;
use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::{Kind, Meta};
use super::typed;
use super::{DbError, Reply};

/// Redis's limit on a string (`proto-max-bulk-len`): offsets past it are "out of range".
const REDIS_MAX_BYTES: u64 = 512 * 1024 * 1024;

fn offset_err() -> DbError {
    DbError::Other("bit offset is not an integer or out of range".into())
}

/// A bit offset argument, checked against Redis's limit.
fn bit_offset(arg: &[u8]) -> Result<u64, DbError> {
    let n = super::num::parse_int(arg).ok_or_else(offset_err)?;
    if n < 0 || (n as u64) >> 3 >= REDIS_MAX_BYTES {
        return Err(offset_err());
    }
    Ok(n as u64)
}

/// The plain bytes of string `key` (`None` when absent), `WRONGTYPE` for other types.
fn bytes(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<(Vec<u8>, u64)>, DbError> {
    Ok(ctx
        .typed(key, Kind::String)?
        .map(|m| (typed::unescape(m.value), m.expire)))
}

/// Stores plain bytes `v` as string `key`, expiring at `expire`.
fn store(ctx: &mut Ctx<'_>, key: &[u8], v: &[u8], expire: u64, old: u64) -> Result<(), DbError> {
    let mut m = Meta::string(typed::escape(v).into_owned());
    m.expire = expire;
    ctx.put_meta(key, &m, old)
}

fn bit_at(v: &[u8], i: u64) -> u8 {
    v.get((i >> 3) as usize)
        .map_or(0, |b| (b >> (7 - (i & 7))) & 1)
}

/// `SETBIT key offset 0|1`: the bit's previous value.
pub fn setbit(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let off = bit_offset(a[2])?;
    let on = match a[3] {
        b"0" => false,
        b"1" => true,
        _ => {
            return Err(DbError::Other(
                "bit is not an integer or out of range".into(),
            ));
        }
    };
    let byte = (off >> 3) as usize;
    if byte >= MAX_VALUE {
        ctx.typed(a[1], Kind::String)?;
        return Err(DbError::TooLarge);
    }
    let found = bytes(ctx, a[1])?;
    let existed = found.is_some();
    let (mut v, expire) = found.unwrap_or_default();
    let old = bit_at(&v, off);
    let grows = v.len() <= byte;
    if grows {
        v.resize(byte + 1, 0);
    }
    let mask = 1u8 << (7 - (off & 7));
    if on {
        v[byte] |= mask;
    } else {
        v[byte] &= !mask;
    }
    // As Redis: a key that neither appears, grows nor changes is not written (nor touched
    // for WATCH).
    if !existed || grows || old != u8::from(on) {
        store(ctx, a[1], &v, expire, expire)?;
    }
    Ok(Reply::Int(i64::from(old)))
}

/// `GETBIT key offset`.
pub fn getbit(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let off = bit_offset(a[2])?;
    let v = bytes(ctx, a[1])?.map(|(v, _)| v).unwrap_or_default();
    Ok(Reply::Int(i64::from(bit_at(&v, off))))
}

/// `start end [BYTE|BIT]` over a string of `len` bytes, Redis's rules (negative counts from
/// the end, clamped): the first and last bit, or `None` for an empty range.
fn bit_range(start: i64, end: i64, bit_unit: bool, len: usize) -> Option<(u64, u64)> {
    let total = if bit_unit { len as i64 * 8 } else { len as i64 };
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut s = if start < 0 { total + start } else { start };
    let mut e = if end < 0 { total + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= total {
        e = total - 1;
    }
    if s > e {
        return None;
    }
    Some(if bit_unit {
        (s as u64, e as u64)
    } else {
        (s as u64 * 8, e as u64 * 8 + 7)
    })
}

fn unit_arg(a: &[u8]) -> Result<bool, DbError> {
    if is(a, "bit") {
        Ok(true)
    } else if is(a, "byte") {
        Ok(false)
    } else {
        Err(DbError::Syntax)
    }
}

/// Ones among bits `s..=e` of `v` (all within `v`).
fn count_ones(v: &[u8], s: u64, e: u64) -> u64 {
    let (sb, eb) = ((s >> 3) as usize, (e >> 3) as usize);
    let head_mask = 0xffu8 >> (s & 7);
    let tail_mask = 0xffu8 << (7 - (e & 7));
    if sb == eb {
        return u64::from((v[sb] & head_mask & tail_mask).count_ones());
    }
    let mut n =
        u64::from((v[sb] & head_mask).count_ones()) + u64::from((v[eb] & tail_mask).count_ones());
    for b in &v[sb + 1..eb] {
        n += u64::from(b.count_ones());
    }
    n
}

/// `BITCOUNT key [start end [BYTE|BIT]]`.
pub fn bitcount(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let Some((v, _)) = bytes(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let range = match a.len() {
        2 => bit_range(0, -1, false, v.len()),
        4 | 5 => {
            let (s, e) = (int_arg(a[2])?, int_arg(a[3])?);
            let bit_unit = match a.get(4) {
                Some(u) => unit_arg(u)?,
                None => false,
            };
            bit_range(s, e, bit_unit, v.len())
        }
        _ => return Err(DbError::Syntax),
    };
    Ok(Reply::Int(
        range.map_or(0, |(s, e)| count_ones(&v, s, e)) as i64
    ))
}

/// The first bit equal to `bit` among bits `s..=e` of `v`.
fn first_bit(v: &[u8], bit: u8, s: u64, e: u64) -> Option<u64> {
    let skip = if bit == 1 { 0x00 } else { 0xff };
    let mut i = s;
    while i <= e {
        if i & 7 == 0 && i + 7 <= e && v[(i >> 3) as usize] == skip {
            i += 8;
            continue;
        }
        if bit_at(v, i) == bit {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// `BITPOS key 0|1 [start [end [BYTE|BIT]]]`: the first bit set (or clear) in the range, -1
/// when there is none; looking for a clear bit without an end reads past the string as
/// zeros.
pub fn bitpos(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let bit = match int_arg(a[2])? {
        0 => 0u8,
        1 => 1u8,
        _ => return Err(DbError::Other("The bit argument must be 1 or 0.".into())),
    };
    let Some((v, _)) = bytes(ctx, a[1])? else {
        return Ok(Reply::Int(if bit == 1 { -1 } else { 0 }));
    };
    if a.len() > 6 {
        return Err(DbError::Syntax);
    }
    let start = match a.get(3) {
        Some(s) => int_arg(s)?,
        None => 0,
    };
    let bit_unit = match a.get(5) {
        Some(u) => unit_arg(u)?,
        None => false,
    };
    let end_given = a.len() >= 5;
    let end = match a.get(4) {
        Some(e) => int_arg(e)?,
        None => -1,
    };
    let Some((s, e)) = bit_range(start, end, bit_unit, v.len()) else {
        return Ok(Reply::Int(-1));
    };
    Ok(Reply::Int(match first_bit(&v, bit, s, e) {
        Some(p) => p as i64,
        None if bit == 0 && !end_given => e as i64 + 1,
        None => -1,
    }))
}

/// `BITOP AND|OR|XOR|NOT destkey key...`: the length of the result, stored in `destkey`
/// (removed when the result is empty).
pub fn bitop(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let op = a[1];
    let not = is(op, "not");
    if !(not || is(op, "and") || is(op, "or") || is(op, "xor")) {
        return Err(DbError::Syntax);
    }
    if not && a.len() != 4 {
        return Err(DbError::Other(
            "BITOP NOT must be called with a single source key.".into(),
        ));
    }
    // One source at a time, so the memory is two values whatever the number of keys.
    let f: fn(u8, u8) -> u8 = if is(op, "and") {
        |x, y| x & y
    } else if is(op, "or") {
        |x, y| x | y
    } else {
        |x, y| x ^ y
    };
    let mut out: Option<Vec<u8>> = None;
    let mut total = 0usize;
    for k in &a[3..] {
        let v = bytes(ctx, k)?.map(|(v, _)| v).unwrap_or_default();
        total += v.len();
        if total > super::cmd_string::MAX_GATHER {
            return Err(super::cmd_string::gather_error());
        }
        match &mut out {
            None if not => out = Some(v.iter().map(|b| !b).collect()),
            None => out = Some(v),
            Some(o) => {
                if v.len() > o.len() {
                    o.resize(v.len(), 0);
                }
                for (i, x) in o.iter_mut().enumerate() {
                    *x = f(*x, v.get(i).copied().unwrap_or(0));
                }
            }
        }
    }
    let out = out.unwrap_or_default();
    let len = out.len();
    let dest = a[2];
    let old = ctx.meta(dest)?;
    if let Some(m) = &old {
        ctx.remove(dest, m)?;
    }
    if len > 0 {
        store(ctx, dest, &out, 0, 0)?;
    }
    Ok(Reply::Int(len as i64))
}

/// A `BITFIELD` integer type: signedness and width.
#[derive(Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
}

impl Field {
    fn parse(a: &[u8]) -> Result<Field, DbError> {
        let bad = || {
            DbError::Other(
                "Invalid bitfield type. Use something like i16 u8. Note that u64 is not \
                 supported but i64 is."
                    .into(),
            )
        };
        let (signed, rest) = match a.split_first() {
            Some((b'i' | b'I', r)) => (true, r),
            Some((b'u' | b'U', r)) => (false, r),
            _ => return Err(bad()),
        };
        let bits = super::num::parse_int(rest).ok_or_else(bad)?;
        let max = if signed { 64 } else { 63 };
        if !(1..=max).contains(&bits) {
            return Err(bad());
        }
        Ok(Field {
            signed,
            bits: bits as u32,
        })
    }

    /// The offset argument: bits, or `#n` for n times the width.
    fn offset(&self, a: &[u8]) -> Result<u64, DbError> {
        let n = match a.strip_prefix(b"#") {
            Some(n) => super::num::parse_int(n)
                .and_then(|n| n.checked_mul(i64::from(self.bits)))
                .ok_or_else(offset_err)?,
            None => super::num::parse_int(a).ok_or_else(offset_err)?,
        };
        if n < 0 || (n as u64) >> 3 >= REDIS_MAX_BYTES {
            return Err(offset_err());
        }
        Ok(n as u64)
    }

    fn min(&self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(&self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// `n` kept to this width's low bits, read back in its signedness.
    fn wrap(&self, n: i128) -> i128 {
        let m = 1i128 << self.bits;
        let low = n.rem_euclid(m);
        if self.signed && low > self.max() {
            low - m
        } else {
            low
        }
    }

    fn read(&self, v: &[u8], off: u64) -> i128 {
        let mut u: u64 = 0;
        for i in 0..u64::from(self.bits) {
            u = (u << 1) | u64::from(bit_at(v, off + i));
        }
        let n = i128::from(u);
        if self.signed { self.wrap(n) } else { n }
    }

    fn write(&self, v: &mut [u8], off: u64, n: i128) {
        let u = n.rem_euclid(1i128 << self.bits) as u64;
        for i in 0..u64::from(self.bits) {
            let bit = (u >> (u64::from(self.bits) - 1 - i)) & 1;
            let at = off + i;
            let mask = 1u8 << (7 - (at & 7));
            let b = &mut v[(at >> 3) as usize];
            if bit == 1 {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }
}

/// What `BITFIELD` does when a value does not fit.
#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

enum Op {
    Get,
    Set(i64),
    Incr(i64),
}

/// `BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...`: one integer (or nil, for a FAIL overflow) per GET, SET
/// (the old value) and INCRBY (the new value).
pub fn bitfield(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, a, false)
}

/// `BITFIELD_RO key [GET type offset] ...`.
pub fn bitfield_ro(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, a, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, a: &[&[u8]], read_only: bool) -> CmdResult {
    let mut ops: Vec<(Op, Field, u64, Overflow)> = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut i = 2;
    while i < a.len() {
        let left = a.len() - i - 1;
        let o = a[i];
        if is(o, "get") && left >= 2 {
            let f = Field::parse(a[i + 1])?;
            ops.push((Op::Get, f, f.offset(a[i + 2])?, ow));
            i += 3;
        } else if (is(o, "set") || is(o, "incrby")) && left >= 3 {
            if read_only {
                return Err(DbError::Other(
                    "BITFIELD_RO only supports the GET subcommand".into(),
                ));
            }
            let f = Field::parse(a[i + 1])?;
            let off = f.offset(a[i + 2])?;
            let n = int_arg(a[i + 3])?;
            let op = if is(o, "set") {
                Op::Set(n)
            } else {
                Op::Incr(n)
            };
            ops.push((op, f, off, ow));
            i += 4;
        } else if is(o, "overflow") && left >= 1 {
            let w = a[i + 1];
            ow = if is(w, "wrap") {
                Overflow::Wrap
            } else if is(w, "sat") {
                Overflow::Sat
            } else if is(w, "fail") {
                Overflow::Fail
            } else {
                return Err(DbError::Other("Invalid OVERFLOW type specified".into()));
            };
            i += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    let writes = ops.iter().any(|(op, ..)| !matches!(op, Op::Get));
    let found = bytes(ctx, a[1])?;
    let before = found.as_ref().map(|(v, _)| v.clone());
    let (mut v, expire) = match (&found, writes) {
        (None, false) => (Vec::new(), 0),
        (Some((v, e)), _) => (v.clone(), *e),
        (None, true) => (Vec::new(), 0),
    };
    if writes {
        let need = ops
            .iter()
            .filter(|(op, ..)| !matches!(op, Op::Get))
            .map(|(_, f, off, _)| ((off + u64::from(f.bits) - 1) >> 3) + 1)
            .max()
            .unwrap_or(0);
        if need > MAX_VALUE as u64 {
            return Err(DbError::TooLarge);
        }
        if (v.len() as u64) < need {
            v.resize(need as usize, 0);
        }
    }
    let mut out = Vec::with_capacity(ops.len());
    for (op, f, off, ow) in ops {
        let old = f.read(&v, off);
        let want = match op {
            Op::Get => {
                out.push(Reply::Int(old as i64));
                continue;
            }
            // An unsigned SET reads its value as the u64 of the same bits, as Redis does.
            Op::Set(n) if !f.signed => i128::from(n as u64),
            Op::Set(n) => i128::from(n),
            Op::Incr(n) => old + i128::from(n),
        };
        let fits = (f.min()..=f.max()).contains(&want);
        let new = match (fits, ow) {
            (true, _) => Some(want),
            (false, Overflow::Wrap) => Some(f.wrap(want)),
            (false, Overflow::Sat) => Some(if want > f.max() { f.max() } else { f.min() }),
            (false, Overflow::Fail) => None,
        };
        match new {
            Some(n) => {
                f.write(&mut v, off, n);
                out.push(Reply::Int(
                    if matches!(op, Op::Set(_)) { old } else { n } as i64
                ));
            }
            None => out.push(Reply::Nil),
        }
    }
    // A key that neither appears nor changes is not written (nor touched for WATCH).
    if writes && before.as_ref() != Some(&v) {
        store(ctx, a[1], &v, expire, expire)?;
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::super::engine::exec;
    use super::super::kv::MemKv;
    use super::super::{DbError, Reply};

    fn run(kv: &mut MemKv, line: &str) -> Result<Reply, DbError> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        exec(kv, 1000, &args)
    }

    fn int(kv: &mut MemKv, line: &str) -> i64 {
        match run(kv, line) {
            Ok(Reply::Int(n)) => n,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn err(kv: &mut MemKv, line: &str) -> String {
        run(kv, line).expect_err(line).to_string()
    }

    #[test]
    fn setbit_getbit_grow_and_answer_the_old_bit() {
        let mut kv = MemKv::default();
        assert_eq!(int(&mut kv, "SETBIT k 1 1"), 0);
        assert_eq!(run(&mut kv, "GET k").unwrap(), Reply::Bulk(vec![0x40]));
        assert_eq!(int(&mut kv, "SETBIT k 1 0"), 1);
        assert_eq!(int(&mut kv, "SETBIT k 17 1"), 0);
        assert_eq!(run(&mut kv, "STRLEN k").unwrap(), Reply::Int(3));
        assert_eq!(int(&mut kv, "GETBIT k 17"), 1);
        assert_eq!(int(&mut kv, "GETBIT k 10000"), 0);
        assert_eq!(int(&mut kv, "GETBIT nope 3"), 0);
        assert!(err(&mut kv, "SETBIT k -1 1").contains("out of range"));
        assert!(err(&mut kv, "SETBIT k 4294967296 1").contains("out of range"));
        assert!(err(&mut kv, "SETBIT k 0 2").contains("out of range"));
        // Past the database's value limit, within Redis's: the size error, nothing written.
        assert!(err(&mut kv, "SETBIT k 100000000 1").contains("maximum allowed size"));
        assert_eq!(run(&mut kv, "STRLEN k").unwrap(), Reply::Int(3));
        run(&mut kv, "LPUSH l a").unwrap();
        assert!(err(&mut kv, "SETBIT l 0 1").starts_with("WRONGTYPE"));
    }

    #[test]
    fn bitcount_in_bytes_and_bits() {
        let mut kv = MemKv::default();
        run(&mut kv, "SET s foobar").unwrap();
        assert_eq!(int(&mut kv, "BITCOUNT s"), 26);
        assert_eq!(int(&mut kv, "BITCOUNT s 1 1"), 6);
        assert_eq!(int(&mut kv, "BITCOUNT s 1 -2"), 18);
        assert_eq!(int(&mut kv, "BITCOUNT s 5 30 BIT"), 17);
        assert_eq!(int(&mut kv, "BITCOUNT s -2 1"), 0);
        assert_eq!(int(&mut kv, "BITCOUNT s -6 -7"), 0);
        assert_eq!(int(&mut kv, "BITCOUNT nope 0 1 bit"), 0);
        assert_eq!(err(&mut kv, "BITCOUNT s 0"), "ERR syntax error");
        assert_eq!(err(&mut kv, "BITCOUNT s 0 1 word"), "ERR syntax error");
    }

    #[test]
    fn bitpos_finds_set_and_clear_bits() {
        let mut kv = MemKv::default();
        assert_eq!(int(&mut kv, "BITPOS nope 0"), 0);
        assert_eq!(int(&mut kv, "BITPOS nope 1"), -1);
        run(&mut kv, "SETBIT s 23 1").unwrap();
        run(&mut kv, "SETBIT s 5 1").unwrap();
        assert_eq!(int(&mut kv, "BITPOS s 1"), 5);
        assert_eq!(int(&mut kv, "BITPOS s 1 1"), 23);
        assert_eq!(int(&mut kv, "BITPOS s 1 6 -1 BIT"), 23);
        assert_eq!(int(&mut kv, "BITPOS s 0"), 0);
        run(&mut kv, "SETBIT f 23 1").unwrap();
        run(&mut kv, "BITOP NOT f f").unwrap();
        run(&mut kv, "SETBIT f 23 1").unwrap();
        // All ones: no clear bit but past the end, or none when the end is given.
        assert_eq!(int(&mut kv, "BITPOS f 0"), 24);
        assert_eq!(int(&mut kv, "BITPOS f 0 0 -1"), -1);
        assert_eq!(
            err(&mut kv, "BITPOS f 2"),
            "ERR The bit argument must be 1 or 0."
        );
    }

    #[test]
    fn bitop_pads_with_zeros_and_drops_an_empty_result() {
        let mut kv = MemKv::default();
        run(&mut kv, "SET a ab").unwrap();
        run(&mut kv, "SET b a").unwrap();
        assert_eq!(int(&mut kv, "BITOP XOR d a b"), 2);
        assert_eq!(run(&mut kv, "GET d").unwrap(), Reply::Bulk(vec![0, b'b']));
        assert_eq!(int(&mut kv, "BITOP AND d a b nope"), 2);
        assert_eq!(run(&mut kv, "GET d").unwrap(), Reply::Bulk(vec![0, 0]));
        assert_eq!(int(&mut kv, "BITOP OR d a b"), 2);
        assert_eq!(run(&mut kv, "GET d").unwrap(), Reply::Bulk(b"ab".to_vec()));
        assert_eq!(int(&mut kv, "BITOP NOT d b"), 1);
        assert_eq!(run(&mut kv, "GET d").unwrap(), Reply::Bulk(vec![!b'a']));
        assert_eq!(int(&mut kv, "BITOP OR d nope1 nope2"), 0);
        assert_eq!(int(&mut kv, "EXISTS d"), 0);
        assert_eq!(
            err(&mut kv, "BITOP NOT d a b"),
            "ERR BITOP NOT must be called with a single source key."
        );
        assert_eq!(err(&mut kv, "BITOP NAND d a"), "ERR syntax error");
        run(&mut kv, "LPUSH l x").unwrap();
        assert!(err(&mut kv, "BITOP OR d a l").starts_with("WRONGTYPE"));
    }

    #[test]
    fn bitfield_get_set_incrby_and_overflow() {
        let mut kv = MemKv::default();
        let arr = |v: &[Option<i64>]| {
            Reply::Array(v.iter().map(|n| n.map_or(Reply::Nil, Reply::Int)).collect())
        };
        assert_eq!(
            run(&mut kv, "BITFIELD k SET u8 0 255 GET u8 0 GET i8 0").unwrap(),
            arr(&[Some(0), Some(255), Some(-1)])
        );
        assert_eq!(
            run(
                &mut kv,
                "BITFIELD k INCRBY u8 0 10 OVERFLOW SAT INCRBY u8 0 300"
            )
            .unwrap(),
            arr(&[Some(9), Some(255)])
        );
        assert_eq!(
            run(
                &mut kv,
                "BITFIELD k OVERFLOW FAIL INCRBY i8 #1 200 GET i8 #1"
            )
            .unwrap(),
            arr(&[None, Some(0)])
        );
        assert_eq!(
            run(&mut kv, "BITFIELD k SET i5 8 -16 INCRBY i5 8 -1").unwrap(),
            arr(&[Some(0), Some(15)])
        );
        assert_eq!(
            run(&mut kv, "BITFIELD_RO k GET u4 0").unwrap(),
            arr(&[Some(15)])
        );
        assert_eq!(
            run(&mut kv, "BITFIELD nope GET u4 0").unwrap(),
            arr(&[Some(0)])
        );
        assert_eq!(int(&mut kv, "EXISTS nope"), 0);
        assert!(err(&mut kv, "BITFIELD k GET u64 0").starts_with("ERR Invalid bitfield type"));
        assert_eq!(err(&mut kv, "BITFIELD k GET u8"), "ERR syntax error");
        assert_eq!(
            err(&mut kv, "BITFIELD k OVERFLOW NOPE"),
            "ERR Invalid OVERFLOW type specified"
        );
        assert_eq!(
            err(&mut kv, "BITFIELD_RO k SET u8 0 1"),
            "ERR BITFIELD_RO only supports the GET subcommand"
        );
        assert!(err(&mut kv, "BITFIELD k SET u8 -1 1").contains("out of range"));
        assert!(err(&mut kv, "BITFIELD k SET u8 100000000 1").contains("maximum allowed size"));
    }

    #[test]
    fn a_write_that_changes_nothing_writes_nothing() {
        use super::super::kv::Overlay;
        let mut kv = MemKv::default();
        run(&mut kv, "SETBIT k 3 1").unwrap();
        let mut txn = Overlay::default();
        let args: [&[u8]; 4] = [b"setbit", b"k", b"3", b"1"];
        assert_eq!(
            exec(&mut txn.over(&mut kv), 1000, &args).unwrap(),
            Reply::Int(1)
        );
        let args: [&[u8]; 6] = [b"bitfield", b"k", b"set", b"u1", b"3", b"1"];
        exec(&mut txn.over(&mut kv), 1000, &args).unwrap();
        assert!(txn.is_empty());
        let args: [&[u8]; 4] = [b"setbit", b"k", b"3", b"0"];
        exec(&mut txn.over(&mut kv), 1000, &args).unwrap();
        assert!(!txn.is_empty());
    }
}
