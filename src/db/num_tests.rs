//! Unit tests of `num.rs`: every expected value here was checked against Debian's
//! redis-server 7.0.15 (`redis-cli INCRBY`, `ZADD`, `ZSCORE`, `ZRANGEBYSCORE`).

use super::*;

#[test]
fn int_like_string2ll() {
    for (s, v) in [
        ("0", 0),
        ("1", 1),
        ("-1", -1),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
        ("1234", 1234),
    ] {
        assert_eq!(parse_int(s.as_bytes()), Some(v), "{s}");
    }
    for s in [
        "",
        "+1",
        " 1",
        "1 ",
        "01",
        "-0",
        "00",
        "-",
        "1a",
        "9223372036854775808",
        "-9223372036854775809",
        "1.0",
        "0x10",
        "123456789012345678901",
    ] {
        assert_eq!(parse_int(s.as_bytes()), None, "{s:?}");
    }
    assert_eq!(
        int_arg(b"x").map_err(|e| e.to_string()),
        Err("ERR value is not an integer or out of range".to_string())
    );
}

#[test]
fn float_like_string2d() {
    for (s, v) in [
        ("1", 1.0),
        ("-2.5", -2.5),
        ("+3", 3.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("0x10", 16.0),
        ("0x1p-2", 0.25),
        ("0X.8", 0.5),
        ("inf", f64::INFINITY),
        ("+inf", f64::INFINITY),
        ("-inf", f64::NEG_INFINITY),
        ("-Infinity", f64::NEG_INFINITY),
        ("1e-310", 1e-310),
        ("0", 0.0),
        ("0e500", 0.0),
    ] {
        assert_eq!(parse_float(s.as_bytes()), Some(v), "{s}");
    }
    for s in [
        "", " 1", "1 ", "nan", "NaN", "-nan", "1e400", "-1e400", "1e-400", "abc", "1e", "1.2.3",
        "0x", "inf ", "infinit", "1\0",
    ] {
        assert_eq!(parse_float(s.as_bytes()), None, "{s:?}");
    }
    assert_eq!(
        float_arg(b"x").unwrap_err().message(),
        "ERR value is not a valid float"
    );
}

#[test]
fn score_bounds_like_zslparserange() {
    let b = |s: &str| parse_score_bound(s.as_bytes()).map(|b| (b.value, b.exclusive));
    assert_eq!(b("1.5"), Some((1.5, false)));
    assert_eq!(b("(1.5"), Some((1.5, true)));
    assert_eq!(b("-inf"), Some((f64::NEG_INFINITY, false)));
    assert_eq!(b("+inf"), Some((f64::INFINITY, false)));
    assert_eq!(b("(+inf"), Some((f64::INFINITY, true)));
    // strtod quirks Redis inherits: blanks skipped, "" is 0, overflow is infinity.
    assert_eq!(b(""), Some((0.0, false)));
    assert_eq!(b("("), Some((0.0, true)));
    assert_eq!(b("( 0.05"), Some((0.05, true)));
    assert_eq!(b(" 2"), Some((2.0, false)));
    assert_eq!(b("1e400"), Some((f64::INFINITY, false)));
    assert_eq!(b("3\0junk"), Some((3.0, false)));
    for s in ["a", "1 ", "nan", "((1", " ", "1x", "[1"] {
        assert_eq!(b(s), None, "{s:?}");
    }
    let (min, max) = score_range(b"(1", b"2").unwrap();
    assert!(!min.below(1.0) && min.below(1.5) && max.above(2.0) && !max.above(2.1));
    assert_eq!(
        score_range(b"a", b"1").unwrap_err().to_string(),
        "ERR min or max is not a float"
    );
}

#[test]
fn doubles_like_percent_17g() {
    for (d, s) in [
        (1.1, "1.1000000000000001"),
        (0.1, "0.10000000000000001"),
        (3.6, "3.6000000000000001"),
        (0.3, "0.29999999999999999"),
        (1.0, "1"),
        (-2.0, "-2"),
        (0.0, "0"),
        (-0.0, "-0"),
        (16.0, "16"),
        (1e17, "1e+17"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (1e16, "10000000000000000"),
        (1e-310, "9.9999999999999694e-311"),
        (0.0001, "0.0001"),
        (0.00001, "1.0000000000000001e-05"),
        (1.5e300, "1.5000000000000001e+300"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (2.5, "2.5"),
        (99999999999999999.0, "1e+17"),
    ] {
        assert_eq!(format_double(d), s, "{d:e}");
    }
}
