//! Enough of the x87 80-bit `long double` for `INCRBYFLOAT` and `HINCRBYFLOAT` to answer
//! what Redis answers (sans-io): Redis reads both numbers with `strtold`, adds them in long
//! double and prints the sum with `%.17Lf`, trailing zeros dropped, so `10.6 + -300` is
//! `-289.39999999999999999` there, where f64 arithmetic would give `-289.4`.
//!
//! A value is a 64-bit significand and a binary exponent, rounded to nearest-even as the
//! x87 does. Only what fits u128 arithmetic is handled: decimal text of at most 38
//! significant digits and a decimal exponent within 38, sums below 2^127; anything else
//! (hex floats, `inf`, longer texts) answers `None` and the caller falls back to f64.

/// `(-1)^neg * m * 2^e`; `m` has its top bit set, or is 0 for zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ld {
    neg: bool,
    m: u64,
    e: i32,
}

const ZERO: Ld = Ld {
    neg: false,
    m: 0,
    e: 0,
};

/// Rounds `big * 2^e` (with `sticky`: more nonzero bits below `big`) to a 64-bit
/// significand, nearest-even. Callers give at least 66 significant bits when `sticky`.
fn round(neg: bool, big: u128, mut e: i32, sticky: bool) -> Ld {
    if big == 0 {
        return ZERO;
    }
    let bits = 128 - big.leading_zeros() as i32;
    if bits <= 64 {
        let s = 64 - bits;
        return Ld {
            neg,
            m: (big << s) as u64,
            e: e - s,
        };
    }
    let shift = bits - 64;
    let rem = big & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let mut q = big >> shift;
    e += shift;
    let up = rem > half || (rem == half && (sticky || q & 1 == 1));
    if up {
        q += 1;
        if q == 1u128 << 64 {
            q = 1u128 << 63;
            e += 1;
        }
    }
    Ld {
        neg,
        m: q as u64,
        e,
    }
}

fn bit_len(x: u128) -> u32 {
    128 - x.leading_zeros()
}

impl Ld {
    /// Reads decimal text (`-12.5`, `.5`, `3e2`, `1.5E-3`) as `strtold` rounds it; `None`
    /// for anything else or anything too long for this module.
    pub fn parse(s: &[u8]) -> Option<Ld> {
        let (neg, s) = match s.split_first()? {
            (b'-', r) => (true, r),
            (b'+', r) => (false, r),
            _ => (false, s),
        };
        let mut d: u128 = 0;
        let (mut ndig, mut frac, mut any, mut i) = (0u32, 0i32, false, 0usize);
        let mut seen_point = false;
        while i < s.len() {
            match s[i] {
                c @ b'0'..=b'9' => {
                    any = true;
                    if d == 0 && c == b'0' {
                        // Leading zeros count nothing, but still shift a fraction.
                    } else {
                        ndig += 1;
                        if ndig > 38 {
                            return None;
                        }
                        d = d * 10 + u128::from(c - b'0');
                    }
                    if seen_point {
                        frac += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if !any {
            return None;
        }
        let mut exp: i32 = 0;
        if i < s.len() {
            if !matches!(s[i], b'e' | b'E') {
                return None;
            }
            let t = &s[i + 1..];
            let (eneg, t) = match t.split_first()? {
                (b'-', r) => (true, r),
                (b'+', r) => (false, r),
                _ => (false, t),
            };
            if t.is_empty() || t.len() > 4 || !t.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n: i32 = std::str::from_utf8(t).ok()?.parse().ok()?;
            exp = if eneg { -n } else { n };
        }
        if d == 0 {
            return Some(Ld { neg, ..ZERO });
        }
        let e10 = exp - frac;
        if e10 >= 0 {
            let p = 10u128.checked_pow(e10 as u32)?;
            return Some(round(neg, d.checked_mul(p)?, 0, false));
        }
        let p = 10u128.checked_pow((-e10) as u32)?;
        // Binary long division of d by p, until 66 significant bits.
        let mut q = d / p;
        let mut r = d % p;
        let mut e = 0i32;
        while bit_len(q) < 66 {
            r <<= 1;
            q <<= 1;
            if r >= p {
                r -= p;
                q |= 1;
            }
            e -= 1;
        }
        Some(round(neg, q, e, r != 0))
    }

    /// `self + o`, rounded as the x87 rounds; `None` past this module's range.
    pub fn plus(self, o: Ld) -> Option<Ld> {
        if self.m == 0 {
            return Some(if o.m == 0 { ZERO } else { o });
        }
        if o.m == 0 {
            return Some(self);
        }
        let (a, b) = if self.e >= o.e { (self, o) } else { (o, self) };
        let d = (a.e - b.e) as u32;
        if d > 66 {
            return Some(a);
        }
        // Both on the exponent a.e - 63: a fills 127 bits, b loses at most 3 bits.
        let big_a = u128::from(a.m) << 63;
        let (big_b, lost) = if d <= 63 {
            (u128::from(b.m) << (63 - d), false)
        } else {
            let s = d - 63;
            (
                u128::from(b.m) >> s,
                u128::from(b.m) & ((1u128 << s) - 1) != 0,
            )
        };
        let e = a.e - 63;
        if a.neg == b.neg {
            return Some(round(a.neg, big_a + big_b, e, lost));
        }
        // Opposite signs: |a| >= |b| up to the lost bits when d > 0.
        if big_a >= big_b {
            let diff = big_a - big_b;
            // b was a little larger than big_b: the true difference is just below diff.
            let (diff, sticky) = if lost {
                (diff - 1, true)
            } else {
                (diff, false)
            };
            Some(round(a.neg, diff, e, sticky))
        } else {
            Some(round(b.neg, big_b - big_a, e, lost))
        }
    }

    /// The value as `%.17Lf` prints it, trailing zeros (and a bare point) dropped, `-0` as
    /// `0`; `None` past 2^127.
    pub fn to_text(self) -> Option<String> {
        const P17: u128 = 100_000_000_000_000_000;
        if self.m == 0 {
            return Some("0".into());
        }
        let m = u128::from(self.m);
        let (mut int, mut digits) = if self.e >= 0 {
            if self.e > 63 {
                return None;
            }
            (m << self.e, 0u128)
        } else {
            let s = (-self.e) as u32;
            if s >= 128 {
                (0, 0)
            } else {
                let int = if s >= 64 { 0 } else { m >> s };
                let f = m & ((1u128 << s) - 1);
                let prod = f * P17;
                let mut q = prod >> s;
                let rem = prod & ((1u128 << s) - 1);
                let half = 1u128 << (s - 1);
                if rem > half || (rem == half && q & 1 == 1) {
                    q += 1;
                }
                (int, q)
            }
        };
        if digits == P17 {
            int += 1;
            digits = 0;
        }
        let mut t = format!("{int}.{digits:017}");
        while t.ends_with('0') {
            t.pop();
        }
        if t.ends_with('.') {
            t.pop();
        }
        if self.neg && t != "0" {
            t.insert(0, '-');
        }
        Some(t)
    }
}

/// `a + b` as Redis's `INCRBYFLOAT` answers it, when both are decimal text this module
/// reads; `None` otherwise.
pub fn add_text(a: &[u8], b: &[u8]) -> Option<String> {
    Ld::parse(a)?.plus(Ld::parse(b)?)?.to_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(a: &str, b: &str) -> String {
        add_text(a.as_bytes(), b.as_bytes()).unwrap()
    }

    #[test]
    fn sums_print_as_redis_prints_them() {
        // Checked against redis-server 7.0.15 (tests/redis_diff.rs fuzzes more).
        assert_eq!(sum("10.6", "-300"), "-289.39999999999999999");
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("0", "10.5"), "10.5");
        assert_eq!(sum("17179869184", "1.5"), "17179869185.5");
        assert_eq!(sum("1", "-1.1"), "-0.1");
        assert_eq!(sum("5e3", "2e2"), "5200");
        assert_eq!(sum("1.5", "-1.5"), "0");
        assert_eq!(sum("0.1", "0.2"), "0.3");
    }

    #[test]
    fn what_it_cannot_do_exactly_it_refuses() {
        assert_eq!(Ld::parse(b"inf"), None);
        assert_eq!(Ld::parse(b"0x10"), None);
        assert_eq!(Ld::parse(b"1e400"), None);
        assert_eq!(Ld::parse(b"1.2.3"), None);
        assert_eq!(Ld::parse(b""), None);
        assert_eq!(Ld::parse(&[b'1'; 40]), None);
        assert_eq!(add_text(b"1e38", b"1e38"), None);
    }
}
