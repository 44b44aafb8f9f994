//! Unit tests of [`super`] (the pass format): every error path, tampering, truncation, and a
//! pinned text vector.

use super::*;

const T0: u64 = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const DAY: u64 = 86_400;

fn key() -> NodeKey {
    NodeKey::from_seed(&core::array::from_fn(|i| i as u8)).unwrap()
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sample() -> Pass {
    Pass::sign(&key(), kv(&[("role", "admin"), ("app", "blog")]), T0, DAY).unwrap()
}

/// A validly signed binary pass with arbitrary (possibly rule-breaking) body bytes.
fn signed_raw(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&key().sign(body));
    out
}

fn body_of(pass: &Pass) -> Vec<u8> {
    let b = pass.to_bytes();
    b[..b.len() - SIG_LEN].to_vec()
}

fn malformed_reason(r: Result<Pass, PkiError>) -> String {
    match r {
        Err(PkiError::PassMalformed { reason }) => reason,
        other => panic!("expected PassMalformed, got {other:?}"),
    }
}

// Pinned: produced by this implementation (ed25519 signatures are deterministic) and checked
// independently: decoding the base64url and verifying the last 64 bytes as an ed25519
// signature of the rest with npm @libp2p/crypto 5.1.23 `publicKeyFromRaw(pk).verify(...)`.
// A change here is a format change: bump the version instead.
const SAMPLE_TEXT: &str = concat!(
    "ppt1.UFBUAQOhB7_zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4AAAAAGVT8QAAAAAAZVVCgAACAARyb2xlAAVh",
    "ZG1pbgADYXBwAARibG9n3k-jjiDgxMWUalFloPWwZtwFUViO2bVu_SXgIHQtiaTEfGbGykHyP0iXDvUdt8RaTGtzH-",
    "7t0NniK4DE1QLkCQ",
);

#[test]
fn sign_parse_verify_round_trip() {
    let pass = sample();
    let text = pass.to_text();
    assert!(text.starts_with("ppt1.UFBUAQ"), "{text}");
    let back = Pass::parse(&text).unwrap();
    assert_eq!(back, pass);
    assert_eq!(back.to_text(), text);
    assert_eq!(back.signer_id(), key().id());
    assert_eq!(back.public_key(), &key().public_key());
    assert_eq!(back.data(), &kv(&[("role", "admin"), ("app", "blog")])[..]);
    assert_eq!(back.get("app"), Some("blog"));
    assert_eq!(back.get("nope"), None);
    assert_eq!((back.sign_time(), back.end_time()), (T0, T0 + DAY));
    back.verify(T0).unwrap();
    back.verify(T0 + DAY - 1).unwrap();
    assert_eq!(text.parse::<Pass>().unwrap().to_string(), text);
}

#[test]
fn pinned_text_vector() {
    assert_eq!(sample().to_text(), SAMPLE_TEXT);
    let pass = Pass::parse(SAMPLE_TEXT).unwrap();
    pass.verify(T0 + 60).unwrap();
    assert_eq!(pass.signer_id().to_string(), "Vkdap1RjR0wChd9dvyvKtz2mUTV");
}

#[test]
fn surrounding_whitespace_is_ignored() {
    let text = sample().to_text();
    let pass = Pass::parse(&format!("  {text}\r\n")).unwrap();
    assert_eq!(pass.to_text(), text);
}

#[test]
fn empty_data_is_allowed() {
    let pass = Pass::sign(&key(), Vec::new(), T0, 30).unwrap();
    let back = Pass::parse(&pass.to_text()).unwrap();
    back.verify(T0 + 29).unwrap();
    assert!(back.data().is_empty());
}

#[test]
fn expired() {
    let pass = sample();
    let e = pass.verify(T0 + DAY).unwrap_err();
    let end = T0 + DAY;
    assert!(matches!(e, PkiError::PassExpired { end_time, now } if end_time == end && now == end));
    let e = pass.verify(T0 + DAY + 3 * 3_600 + 20 * 60).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pass expired at 2023-11-15 22:13:20 UTC (3h 20m ago); ask its signer for a new one"
    );
    assert!(pass.verify(u64::MAX).is_err());
}

#[test]
fn not_yet_valid() {
    let pass = sample();
    pass.verify(T0 - MAX_CLOCK_SKEW_SECS).unwrap();
    let e = pass.verify(T0 - MAX_CLOCK_SKEW_SECS - 1).unwrap_err();
    assert!(
        matches!(e, PkiError::PassNotYetValid { sign_time: T0, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("5m 1s in the future"), "{e}");
    assert!(pass.verify(0).is_err());
}

#[test]
fn tampered_byte_anywhere_is_rejected() {
    let pass = sample();
    let bytes = pass.to_bytes();
    let sig_start = bytes.len() - SIG_LEN;
    // Offsets of the value bytes "admin" and "blog" (after their u16 lengths).
    let admin = HEADER_LEN + 2 + 4 + 2;
    let blog = admin + 5 + 2 + 3 + 2;
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut t = bytes.clone();
            t[i] ^= flip;
            let result = Pass::from_bytes(&t).and_then(|p| p.verify(T0));
            let signed_content = (4..36).contains(&i)
                || (admin..admin + 5).contains(&i)
                || (blog..blog + 4).contains(&i)
                || i >= sig_start;
            match result {
                Err(PkiError::PassBadSignature) => {}
                Err(PkiError::PassMalformed { .. }) if !signed_content => {}
                // A flipped high bit in a value is not UTF-8: malformed is right too.
                Err(PkiError::PassMalformed { .. }) if flip == 0x80 => {}
                other => panic!("byte {i} ^ {flip:#x}: {other:?}"),
            }
        }
    }
}

#[test]
fn tampered_text_char_anywhere_is_rejected() {
    let text = sample().to_text();
    for i in 0..text.len() {
        for repl in ['A', 'x', '-', '.', '='] {
            let mut t = text.clone().into_bytes();
            if t[i] == repl as u8 {
                continue;
            }
            t[i] = repl as u8;
            let t = String::from_utf8(t).unwrap();
            let r = Pass::parse(&t).and_then(|p| p.verify(T0));
            assert!(r.is_err(), "char {i} -> {repl}");
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let text = sample().to_text();
    for n in 0..text.len() {
        assert!(Pass::parse(&text[..n]).is_err(), "text prefix {n}");
    }
    let bytes = sample().to_bytes();
    for n in 0..bytes.len() {
        assert!(Pass::from_bytes(&bytes[..n]).is_err(), "binary prefix {n}");
    }
}

#[test]
fn malformed_texts() {
    let big = format!("ppt1.{}", "A".repeat(MAX_TEXT_LEN));
    let cases = [
        ("", "empty"),
        ("   \n", "empty"),
        ("hello", "does not start with `ppt1.`"),
        ("PPT1.UFBUAQ", "does not start"),
        ("ppt2.UFBUAQ", "unsupported pass version"),
        ("ppt1.", "only 0 bytes"),
        ("ppt1.UFBUA", "not base64url"),
        ("ppt1.UFBU+Q", "invalid character '+' at position 9"),
        ("ppt1.UFBUAQ==", "not base64url"),
        (big.as_str(), "over the limit"),
    ];
    for (text, needle) in cases {
        let reason = malformed_reason(Pass::parse(text));
        assert!(reason.contains(needle), "{text:?}: {reason}");
    }
}

#[test]
fn malformed_layouts() {
    let good = body_of(&sample());
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        malformed_reason(Pass::from_bytes(&signed_raw(&b)))
    };
    let count_at = HEADER_LEN - 2;
    let cases: Vec<(String, &str)> = vec![
        (with(&|b| b[0] = b'X'), "wrong magic"),
        (with(&|b| b[3] = 2), "unsupported pass format version 2"),
        (
            with(&|b| b[36..44].copy_from_slice(&(T0 + DAY).to_be_bytes())),
            "end time is not after",
        ),
        (with(&|b| b[count_at + 1] = 3), "cut short in a key"),
        (with(&|b| b[count_at + 1] = 1), "unexpected bytes"),
        (
            with(&|b| b[count_at..count_at + 2].copy_from_slice(&33u16.to_be_bytes())),
            "33 entries",
        ),
        (with(&|b| b.push(0)), "1 unexpected bytes"),
        (
            with(&|b| b[HEADER_LEN + 2] = b'r' ^ 0x80),
            "a key is not UTF-8",
        ),
        (with(&|b| b[HEADER_LEN + 2] = b' '), "may only use"),
        (with(&|b| b[HEADER_LEN + 8] = 0x07), "control character"),
        (
            with(&|b| b[HEADER_LEN..HEADER_LEN + 2].copy_from_slice(&65u16.to_be_bytes())),
            "over the limit of 64",
        ),
        (
            with(&|b| b[HEADER_LEN + 6..HEADER_LEN + 8].copy_from_slice(&1025u16.to_be_bytes())),
            "over the limit of 1024",
        ),
        (
            with(&|b| b[HEADER_LEN..HEADER_LEN + 2].copy_from_slice(&60u16.to_be_bytes())),
            "cut short in a key",
        ),
    ];
    for (reason, needle) in cases {
        assert!(reason.contains(needle), "expected {needle:?} in {reason:?}");
    }
    // A repeated key, built by hand (the sample's keys differ in length).
    let mut dup = good[..count_at].to_vec();
    dup.extend_from_slice(&2u16.to_be_bytes());
    for value in [b"1", b"2"] {
        dup.extend_from_slice(&[0, 1, b'k', 0, 1, value[0]]);
    }
    let reason = malformed_reason(Pass::from_bytes(&signed_raw(&dup)));
    assert!(reason.contains("key \"k\" appears twice"), "{reason}");
}

#[test]
fn sign_refuses_bad_input() {
    let k = key();
    let bad_data = [
        (kv(&[("", "v")]), "a key is empty"),
        (kv(&[("a b", "v")]), "may only use"),
        (kv(&[("k", "line\nbreak")]), "control character"),
        (kv(&[("k", "1"), ("k", "2")]), "appears twice"),
        (kv(&[(&"k".repeat(65), "v")]), "longer than 64"),
        (kv(&[("k", &"v".repeat(1025))]), "longer than 1024"),
        (
            (0..33).map(|i| (format!("k{i}"), String::new())).collect(),
            "33 entries",
        ),
        (
            (0..4)
                .map(|i| (format!("k{i}"), "v".repeat(1000)))
                .collect(),
            "over the limit of 4096",
        ),
    ];
    for (data, needle) in bad_data {
        match Pass::sign(&k, data, T0, DAY) {
            Err(e @ PkiError::InvalidPassData { .. }) => {
                assert!(e.to_string().contains(needle), "{e}")
            }
            other => panic!("{needle}: {other:?}"),
        }
    }
    for (period, start) in [(0, T0), (MAX_PERIOD_SECS + 1, T0), (DAY, u64::MAX - 10)] {
        let r = Pass::sign(&k, Vec::new(), start, period);
        assert!(
            matches!(r, Err(PkiError::InvalidPeriod { .. })),
            "{period}: {r:?}"
        );
    }
    // The largest data that fits is accepted, and parses back.
    let data: Vec<_> = (0..3).map(|i| (format!("k{i}"), "v".repeat(900))).collect();
    let p = Pass::sign(&k, data, T0, DAY).unwrap();
    assert!(p.to_text().len() <= MAX_TEXT_LEN);
    assert_eq!(Pass::parse(&p.to_text()).unwrap(), p);
}

#[test]
fn unicode_values_round_trip() {
    let p = Pass::sign(&key(), kv(&[("name", "Zoë 李 🚀"), ("eq", "a=b")]), T0, 60).unwrap();
    let back = Pass::parse(&p.to_text()).unwrap();
    back.verify(T0).unwrap();
    assert_eq!(back.get("name"), Some("Zoë 李 🚀"));
}

#[test]
fn debug_is_compact() {
    let s = format!("{:?}", sample());
    assert!(
        s.starts_with("Pass { signer_id: LeitherId(Vkdap1RjR0wChd9dvyvKtz2mUTV)"),
        "{s}"
    );
}

#[test]
fn periods() {
    let ok = [
        ("30s", 30),
        ("10m", 600),
        ("24h", 86_400),
        ("7d", 604_800),
        ("2w", 1_209_600),
        ("1y", 31_536_000),
        (" 100y\n", MAX_PERIOD_SECS),
        ("0010m", 600),
    ];
    for (s, secs) in ok {
        assert_eq!(parse_period(s).unwrap(), secs, "{s:?}");
    }
    let bad = [
        ("", "whole number"),
        ("m", "whole number"),
        ("-5m", "whole number"),
        ("10", "unit is missing"),
        ("10x", "unknown unit"),
        ("10 m", "unknown unit"),
        ("1.5h", "unknown unit"),
        ("10mm", "unknown unit"),
        ("0s", "at least one second"),
        ("101y", "100 years"),
        ("99999999999999999999999999y", "100 years"),
        ("3153600001s", "100 years"),
    ];
    for (s, needle) in bad {
        let e = parse_period(s).unwrap_err();
        assert!(matches!(e, PkiError::InvalidPeriod { .. }));
        assert!(e.to_string().contains(needle), "{s:?}: {e}");
    }
}

#[test]
fn data_args() {
    assert_eq!(parse_data("").unwrap(), vec![]);
    assert_eq!(parse_data("  ").unwrap(), vec![]);
    assert_eq!(
        parse_data("role=admin, app = blog ,x=").unwrap(),
        kv(&[("role", "admin"), ("app", "blog"), ("x", "")])
    );
    assert_eq!(parse_data("q=a=b").unwrap(), kv(&[("q", "a=b")]));
    let bad = [
        ("a=1,", "empty item"),
        ("a=1,,b=2", "empty item"),
        ("novalue", "has no `=`"),
        ("=v", "a key is empty"),
        ("a=1,a=2", "appears twice"),
        ("k y=1", "may only use"),
    ];
    for (s, needle) in bad {
        let e = parse_data(s).unwrap_err();
        assert!(matches!(e, PkiError::InvalidPassData { .. }));
        assert!(e.to_string().contains(needle), "{s:?}: {e}");
    }
    let many: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
    assert!(
        parse_data(&many.join(","))
            .unwrap_err()
            .to_string()
            .contains("more than 32")
    );
    assert!(parse_data(&"a".repeat(5000)).is_err());
}

#[test]
fn time_formatting() {
    assert_eq!(fmt_utc(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(fmt_utc(T0), "2023-11-14 22:13:20 UTC");
    assert_eq!(fmt_utc(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(fmt_utc(4_107_542_399), "2100-02-28 23:59:59 UTC");
    assert!(!fmt_utc(u64::MAX).is_empty());
    assert_eq!(fmt_duration(0), "0s");
    assert_eq!(fmt_duration(45), "45s");
    assert_eq!(fmt_duration(301), "5m 1s");
    assert_eq!(fmt_duration(3 * 3_600 + 20 * 60 + 7), "3h 20m");
    assert_eq!(fmt_duration(2 * DAY + 300), "2d");
    assert_eq!(fmt_duration(u64::MAX), "213503982334601d 7h");
}

/// Random edits of a valid pass (a deterministic xorshift, no extra crates): parsing never
/// panics, and whatever parses round-trips to the same text.
#[test]
fn random_mutations_never_panic() {
    let text = sample().to_text();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= p";
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3_000 {
        let mut t = text.clone().into_bytes();
        for _ in 0..1 + next() % 3 {
            let at = (next() as usize) % t.len().max(1);
            let c = alphabet[(next() as usize) % alphabet.len()];
            match next() % 4 {
                0 if !t.is_empty() => t[at] = c,
                1 => t.insert(at, c),
                2 if !t.is_empty() => {
                    t.remove(at);
                }
                _ => t.truncate(at),
            }
        }
        let t = String::from_utf8(t).unwrap();
        if let Ok(p) = Pass::parse(&t) {
            assert_eq!(p.to_text(), t.trim_ascii());
            let _ = p.verify(T0);
        }
    }
}

#[test]
fn json_pass_round_trips_and_logs_in_like_ppt1() {
    let data = kv(&[("CertFor", "Self"), ("name", "Zoë")]);
    let p = Pass::sign_json(&key(), data.clone(), T0, DAY).unwrap();
    let text = p.to_text();
    assert!(text.starts_with("{\"Data\":\""), "{text}");
    assert!(text.contains("\"KeyType\":\"sodium\""), "{text}");
    let back = Pass::parse(&text).unwrap();
    back.verify(T0 + 1).unwrap();
    assert_eq!(back.to_text(), text);
    assert_eq!(back.signer_id(), key().id());
    assert_eq!(back.data(), &data[..]);
    assert_eq!((back.sign_time(), back.end_time()), (T0, T0 + DAY));
}

#[test]
fn json_pass_in_leithers_lenient_shapes() {
    // Data as JSON text, signature as a byte list, the key raw, times as numbers, no SignerID.
    let k = key();
    let data =
        r#"{"SignTime":1700000000,"EndTime":1700086400,"Userid":"h3PPmr6HVHrmaV_WAbnEP6t3x87"}"#;
    let sig = k.sign(data.as_bytes());
    let list: Vec<String> = sig.iter().map(|b| b.to_string()).collect();
    let mut d = String::new();
    crate::pki::leither_files::json_string(data, &mut d);
    let text = format!(
        "{{\"Data\":{d},\"Signature\":[{}],\"PK\":\"{}\",\"Version\":1}}",
        list.join(" ,"),
        crate::pki::leither_files::base64_std(&k.public_key())
    );
    let p = Pass::parse(&text).unwrap();
    p.verify(T0).unwrap();
    assert_eq!(p.get("Userid"), Some("h3PPmr6HVHrmaV_WAbnEP6t3x87"));
    assert_eq!(p.signer_id(), k.id());
}

#[test]
fn json_pass_refusals() {
    let good = Pass::sign_json(&key(), kv(&[("a", "b")]), T0, 60)
        .unwrap()
        .to_text();
    // Forged: the data changed after signing (another end time).
    let p = Pass::parse(&good).unwrap();
    let forged_data = String::from_utf8(p.json.as_ref().unwrap().signed.clone())
        .unwrap()
        .replace(&format!("{}", T0 + 60), &format!("{}", T0 + 999_999));
    let forged = good.replace(
        &crate::pki::leither_files::base64_std(&p.json.as_ref().unwrap().signed),
        &crate::pki::leither_files::base64_std(forged_data.as_bytes()),
    );
    let e = Pass::parse(&forged).unwrap().verify(T0).unwrap_err();
    assert!(matches!(e, PkiError::PassBadSignature), "{e}");
    // Expired.
    let e = Pass::parse(&good).unwrap().verify(T0 + 60).unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    // A SignerID that is not the key's.
    let other = good.replace(&key().id().to_string(), "h3PPmr6HVHrmaV_WAbnEP6t3x87");
    let e = Pass::parse(&other).unwrap_err();
    assert!(e.to_string().contains("not the ID of the key"), "{e}");
    for (bad, why) in [
        ("{}", "no Data"),
        ("{\"Data\":\"{}\",\"Signature\":\"\"}", "64 bytes"),
        ("{\"Data\":{}}", "nested"),
        ("{\"KeyType\":\"rsa\"}", "not supported"),
    ] {
        let e = Pass::parse(bad).unwrap_err();
        assert!(e.to_string().contains(why), "{bad}: {e}");
    }
}
