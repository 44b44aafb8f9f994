//! Numbers as Redis reads and writes them (sans-io): integers the way `string2ll` accepts
//! them, scores the way `strtod` does, and doubles printed with C's `%.17g` as Redis 7.0
//! replies them (`ZSCORE`, `ZINCRBY`, `WITHSCORES`).

/// Parses a signed 64-bit integer as Redis does: an optional `-`, then digits with no
/// leading zero (except `0` itself), nothing else; `None` otherwise (no `+`, no spaces).
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a score as Redis's `strtod` does: decimal or exponent notation, `inf`, `+inf`,
/// `-inf`, `infinity`; no spaces, no trailing bytes, never NaN.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let f = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if !lower
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'-' | b'+'))
            {
                return None;
            }
            lower.parse::<f64>().ok()?
        }
    };
    (!f.is_nan()).then_some(f)
}

/// One end of a score range: `(` makes it exclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    /// The score.
    pub value: f64,
    /// Whether the end itself is left out.
    pub exclusive: bool,
}

impl Bound {
    /// Parses `1.5`, `(1.5`, `-inf`, `+inf`.
    pub fn parse(b: &[u8]) -> Option<Bound> {
        match b.first() {
            Some(b'(') => Some(Bound {
                value: parse_f64(&b[1..])?,
                exclusive: true,
            }),
            _ => Some(Bound {
                value: parse_f64(b)?,
                exclusive: false,
            }),
        }
    }

    /// Whether `s` is on the right side of this lower end.
    pub fn below(&self, s: f64) -> bool {
        if self.exclusive {
            s > self.value
        } else {
            s >= self.value
        }
    }

    /// Whether `s` is on the right side of this upper end.
    pub fn above(&self, s: f64) -> bool {
        if self.exclusive {
            s < self.value
        } else {
            s <= self.value
        }
    }
}

/// A double as Redis 7.0 replies it: `inf`, `-inf`, or C's `%.17g`.
pub fn fmt_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    g17(d)
}

/// C's `printf("%.17g", d)` for a finite `d`.
fn g17(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // 17 significant digits in exponent form, rounded as printf rounds.
    let e = format!("{d:.16e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..17).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            out.push_str(&digits[..int_len]);
            let frac = digits[int_len..].trim_end_matches('0');
            if !frac.is_empty() {
                out.push('.');
                out.push_str(frac);
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(digits.trim_end_matches('0'));
        }
    } else {
        out.push_str(&digits[..1]);
        let frac = digits[1..].trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b" 1",
            b"01",
            b"-0",
            b"1a",
            b"9223372036854775808",
            b"-",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn doubles_as_printf_g17() {
        for (d, s) in [
            (1.1, "1.1000000000000001"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (1e17, "1e+17"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (3.0e16, "30000000000000000"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(fmt_double(d), s, "{d}");
        }
    }

    #[test]
    fn scores_as_strtod() {
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b"abc"), None);
        let b = Bound::parse(b"(5").unwrap();
        assert!(b.exclusive && !b.below(5.0) && b.below(5.5));
    }
}
