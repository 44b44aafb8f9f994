//! Numbers as Redis 7.0 reads and writes them, sans io: integer arguments (`string2ll`),
//! float arguments and scores (`string2d`, i.e. `strtod` over the whole argument), score range
//! bounds (`zslParseRange`: `(` for exclusive, `-inf`/`+inf`) and the `%.17g` form in which
//! Redis 7.0 replies a double over RESP2 (ZSCORE, ZINCRBY, ZRANGE WITHSCORES, ZADD INCR).
//!
//! Each parser returns `None` where Redis refuses the argument; [`NumError`] carries the
//! exact reply Redis gives then. The rules were checked against Debian's redis-server 7.0.15
//! (see the tests): integers reject `+1`, ` 1`, `01`, `-0` and anything past `i64`; floats
//! accept `inf`, `-Infinity`, `0x10`, `1e-310` (subnormal) and `.5`, and reject `nan`,
//! ` 1`, `1 `, `1e400` (overflow) and `1e-400` (underflow to zero); range bounds are read
//! by plain `strtod`, so they also accept leading blanks, the empty string (0) and `1e400`
//! (inf). Hex floats are rounded once to 64 bits and once to 53, which can differ from
//! glibc in the last bit for subnormal hex results only.

use core::fmt;

/// A numeric argument Redis would refuse, with the reply it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumError {
    /// `ERR value is not an integer or out of range` (GET-style integer arguments, INCR on a
    /// value that is not an integer).
    NotInteger,
    /// `ERR value is not a valid float` (ZADD and ZINCRBY scores, INCRBYFLOAT increments).
    NotFloat,
    /// `ERR min or max is not a float` (ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE bounds).
    MinMaxNotFloat,
}

impl NumError {
    /// The error line without the leading `-`, as Redis sends it.
    pub fn message(self) -> &'static str {
        match self {
            NumError::NotInteger => "ERR value is not an integer or out of range",
            NumError::NotFloat => "ERR value is not a valid float",
            NumError::MinMaxNotFloat => "ERR min or max is not a float",
        }
    }
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for NumError {}

/// Redis's `string2ll`: optional `-`, then `0` alone or a digit 1-9 and more digits, all of
/// the argument, within `i64`. No `+`, no blanks, no leading zeros, no `-0`.
pub fn parse_int(s: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE: 21 bytes or more can never be a valid long long.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// [`parse_int`] with Redis's error.
pub fn int_arg(s: &[u8]) -> Result<i64, NumError> {
    parse_int(s).ok_or(NumError::NotInteger)
}

/// Redis's `string2d`: `strtod` must read the whole argument, which must not start with a
/// blank, must not be NaN, and must not overflow or underflow to zero.
pub fn parse_float(s: &[u8]) -> Option<f64> {
    if s.first().is_none_or(|c| is_space(*c)) {
        return None;
    }
    let r = strtod(s);
    if r.len != s.len() || r.value.is_nan() || r.range_error {
        return None;
    }
    Some(r.value)
}

/// [`parse_float`] with Redis's error.
pub fn float_arg(s: &[u8]) -> Result<f64, NumError> {
    parse_float(s).ok_or(NumError::NotFloat)
}

/// One end of a score range: `value`, and whether the end itself is excluded (`(` prefix).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    /// The score.
    pub value: f64,
    /// `(value`: the range excludes this end.
    pub exclusive: bool,
}

impl ScoreBound {
    /// Whether `score` is on the inner side of this bound taken as a minimum.
    pub fn below(&self, score: f64) -> bool {
        if self.exclusive {
            self.value < score
        } else {
            self.value <= score
        }
    }

    /// Whether `score` is on the inner side of this bound taken as a maximum.
    pub fn above(&self, score: f64) -> bool {
        if self.exclusive {
            score < self.value
        } else {
            score <= self.value
        }
    }
}

/// `zslParseRange` for one end: an optional `(`, then `strtod`, which skips leading blanks,
/// reads the longest number it can (0 when there is none) and must stop at the end of the
/// argument or at a NUL byte; NaN is refused, overflow reads as infinity.
pub fn parse_score_bound(s: &[u8]) -> Option<ScoreBound> {
    let (exclusive, rest) = match s.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, s),
    };
    let start = rest
        .iter()
        .position(|c| !is_space(*c))
        .unwrap_or(rest.len());
    let r = strtod(&rest[start..]);
    // With no number at all strtod leaves its end pointer at the very start (before blanks).
    let end = if r.len == 0 { 0 } else { start + r.len };
    if r.value.is_nan() || rest.get(end).is_some_and(|c| *c != 0) {
        return None;
    }
    Some(ScoreBound {
        value: r.value,
        exclusive,
    })
}

/// A min/max pair for ZRANGEBYSCORE and friends, with Redis's error.
pub fn score_range(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), NumError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(NumError::MinMaxNotFloat),
    }
}

/// Appends `d` as Redis 7.0 writes a double in a RESP2 reply: `inf`/`-inf`, else C's
/// `%.17g` (`0.1` is `0.10000000000000001`, `1e17` is `1e+17`, `3` is `3`).
pub fn write_double(out: &mut Vec<u8>, d: f64) {
    if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    if d.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    // {:.16e} rounds to 17 significant digits exactly as printf does: "d.dddde[-]x".
    let sci = format!("{:.16e}", d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    out.extend_from_slice(sign.as_bytes());
    if (-4..17).contains(&exp) {
        // Fixed notation with 17 significant digits, trailing zeros (and point) removed.
        let mut s = Vec::with_capacity(24);
        if exp < 0 {
            s.extend_from_slice(b"0.");
            s.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            s.extend_from_slice(&digits);
        } else {
            let int_len = exp as usize + 1;
            s.extend_from_slice(&digits[..int_len.min(digits.len())]);
            s.push(b'.');
            s.extend_from_slice(&digits[int_len.min(digits.len())..]);
        }
        trim_fraction(&mut s);
        out.extend_from_slice(&s);
    } else {
        let mut s = Vec::with_capacity(24);
        s.extend_from_slice(&digits[..1]);
        s.push(b'.');
        s.extend_from_slice(&digits[1..]);
        trim_fraction(&mut s);
        out.extend_from_slice(&s);
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(e.to_string().as_bytes());
    }
}

/// [`write_double`] into a new string.
pub fn format_double(d: f64) -> String {
    let mut v = Vec::with_capacity(24);
    write_double(&mut v, d);
    String::from_utf8_lossy(&v).into_owned()
}

/// Drops trailing zeros of a fraction, and the point when nothing is left after it.
fn trim_fraction(s: &mut Vec<u8>) {
    if !s.contains(&b'.') {
        return;
    }
    while s.last() == Some(&b'0') {
        s.pop();
    }
    if s.last() == Some(&b'.') {
        s.pop();
    }
}

/// C's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What `strtod` makes of the start of a buffer (no leading blanks: callers skip them).
struct Strtod {
    value: f64,
    /// Bytes read; 0 when no number starts here.
    len: usize,
    /// ERANGE with a result of ±HUGE_VAL or zero: overflow, or underflow to zero.
    range_error: bool,
}

/// `strtod` in the C locale over bytes: sign, then `inf`/`infinity`, `nan[(...)]`, a hex
/// float `0x...[p...]` or a decimal `digits[.digits][e[sign]digits]`.
fn strtod(s: &[u8]) -> Strtod {
    let none = Strtod {
        value: 0.0,
        len: 0,
        range_error: false,
    };
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let starts =
        |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);
    if starts(b"infinity") {
        return Strtod {
            value: sign * f64::INFINITY,
            len: i + 8,
            range_error: false,
        };
    }
    if starts(b"inf") {
        return Strtod {
            value: sign * f64::INFINITY,
            len: i + 3,
            range_error: false,
        };
    }
    if starts(b"nan") {
        // Always refused by both callers, so how much of "nan(...)" it reads does not matter.
        return Strtod {
            value: f64::NAN,
            len: i + 3,
            range_error: false,
        };
    }
    if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        let hex_start = rest.get(2).is_some_and(u8::is_ascii_hexdigit)
            || (rest.get(2) == Some(&b'.') && rest.get(3).is_some_and(u8::is_ascii_hexdigit));
        if hex_start {
            let (value, len, range_error) = hex_float(&rest[2..]);
            return Strtod {
                value: sign * value,
                len: i + 2 + len,
                range_error,
            };
        }
    }
    // Decimal: the longest prefix of the form digits[.digits][e[sign]digits].
    let mut j = i;
    let digits = |j: &mut usize| {
        let from = *j;
        while s.get(*j).is_some_and(u8::is_ascii_digit) {
            *j += 1;
        }
        *j - from
    };
    let mut n = digits(&mut j);
    if s.get(j) == Some(&b'.') {
        let mut k = j + 1;
        let frac = digits(&mut k);
        if n + frac > 0 {
            j = k;
            n += frac;
        }
    }
    if n == 0 {
        return none;
    }
    if s.get(j).is_some_and(|c| (c | 0x20) == b'e') {
        let mut k = j + 1;
        if matches!(s.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if digits(&mut k) > 0 {
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[..j]).unwrap_or("0");
    let value: f64 = text.parse().unwrap_or(0.0);
    let mantissa_nonzero = s[i..j]
        .iter()
        .take_while(|c| (**c | 0x20) != b'e')
        .any(|c| (b'1'..=b'9').contains(c));
    let range_error = value.is_infinite() || (value == 0.0 && mantissa_nonzero);
    Strtod {
        value,
        len: j,
        range_error,
    }
}

/// The part of a hex float after `0x`: hex digits with an optional point, then an optional
/// binary exponent `p[sign]digits`. Returns (magnitude, bytes read, range error).
fn hex_float(s: &[u8]) -> (f64, usize, bool) {
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut seen_point = false;
    let mut j = 0;
    while let Some(&c) = s.get(j) {
        if c == b'.' && !seen_point {
            seen_point = true;
            j += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        if mant >> 60 == 0 {
            mant = (mant << 4) | u64::from(d);
            if seen_point {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp += 4;
            }
        }
        j += 1;
    }
    if s.get(j).is_some_and(|c| (c | 0x20) == b'p') {
        let mut k = j + 1;
        let neg = match s.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let from = k;
        let mut e: i64 = 0;
        while let Some(c) = s.get(k).filter(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(c - b'0')).min(1 << 20);
            k += 1;
        }
        if k > from {
            exp += if neg { -e } else { e };
            j = k;
        }
    }
    if mant == 0 {
        return (0.0, j, false);
    }
    if sticky {
        mant |= 1;
    }
    let mut v = mant as f64;
    // Scale in steps that stay exact until the result itself overflows or underflows.
    let mut e = exp;
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        v /= 2f64.powi(step as i32);
        e += step;
    }
    (v, j, v.is_infinite() || v == 0.0)
}

#[cfg(test)]
#[path = "num_tests.rs"]
mod tests;
