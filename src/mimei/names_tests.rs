//! Unit tests of [`super`] (version names and `MID[:VER][/path]`), hostile paths included.

use super::*;

const MID: &str = "st2iBD1Pvfwkvm2auQceHgAdiXI";

fn mid() -> MimeiId {
    MID.parse().unwrap()
}

fn parse(s: &str) -> Result<MimeiPath, MimeiError> {
    MimeiPath::parse(s)
}

fn components(p: &MimeiPath) -> Vec<&str> {
    p.path.iter().map(String::as_str).collect()
}

#[test]
fn version_names() {
    assert_eq!("1".parse::<VersionName>().unwrap(), VersionName::Number(1));
    assert_eq!(
        "18446744073709551615".parse::<VersionName>().unwrap(),
        VersionName::Number(u64::MAX)
    );
    assert_eq!("last".parse::<VersionName>().unwrap(), VersionName::Last);
    assert_eq!(
        "release".parse::<VersionName>().unwrap(),
        VersionName::Release
    );
    assert_eq!("cur".parse::<VersionName>().unwrap(), VersionName::Cur);
    assert!(VersionName::Cur.is_writable());
    assert!(!VersionName::Last.is_writable());
    let cases = [
        ("", "empty"),
        ("0", "start at 1"),
        ("007", "leading zeros"),
        ("18446744073709551616", "too large"),
        ("LAST", "neither"),
        ("-1", "neither"),
        ("+1", "neither"),
        ("1.0", "neither"),
        (" 1", "neither"),
    ];
    for (bad, reason) in cases {
        let e = bad.parse::<VersionName>().unwrap_err();
        assert!(matches!(e, MimeiError::InvalidVersion { .. }), "{bad}: {e}");
        assert!(e.to_string().contains(reason), "{bad}: {e}");
        assert_eq!(e.http_status(), 400);
    }
    for v in [
        VersionName::Number(42),
        VersionName::Last,
        VersionName::Release,
        VersionName::Cur,
    ] {
        assert_eq!(v.to_string().parse::<VersionName>().unwrap(), v);
    }
}

#[test]
fn mid_version_and_path() {
    let p = parse(MID).unwrap();
    assert_eq!(
        (p.mid, p.version, p.path.len(), p.trailing_slash),
        (mid(), None, 0, false)
    );
    assert_eq!(p.version_or_last(), VersionName::Last);

    let p = parse(&format!("{MID}:3/docs/index.html")).unwrap();
    assert_eq!(p.version, Some(VersionName::Number(3)));
    assert_eq!(components(&p), ["docs", "index.html"]);
    assert_eq!(p.path_string(), "docs/index.html");

    let p = parse(&format!("{MID}:cur/")).unwrap();
    assert_eq!(p.version, Some(VersionName::Cur));
    assert!(p.path.is_empty() && p.trailing_slash);

    let p = parse(&format!("{MID}/a/b/")).unwrap();
    assert_eq!(components(&p), ["a", "b"]);
    assert!(p.trailing_slash);
}

#[test]
fn normalisation() {
    let cases = [
        ("./a/./b", vec!["a", "b"]),
        ("a/../b", vec!["b"]),
        ("a/b/../../c", vec!["c"]),
        ("a/..", vec![]),
        (".", vec![]),
        ("..a/b..", vec!["..a", "b.."]),
        ("...", vec!["..."]),
        ("名字/файл.txt", vec!["名字", "файл.txt"]),
        ("a b/c:d", vec!["a b", "c:d"]),
    ];
    for (path, want) in cases {
        let p = parse(&format!("{MID}/{path}")).unwrap();
        assert_eq!(components(&p), want, "{path}");
        // The canonical text parses back to the same value.
        assert_eq!(parse(&p.to_string()).unwrap(), p, "{path}");
    }
}

#[test]
fn hostile_paths_are_refused() {
    let cases = [
        ("..", "leave the Mimei"),
        ("../etc/passwd", "leave the Mimei"),
        ("a/../../etc/passwd", "leave the Mimei"),
        ("a/./../..", "leave the Mimei"),
        ("/etc/passwd", "absolute"),
        ("//etc/passwd", "absolute"),
        ("a//b", "empty component"),
        ("..\\..\\windows", "backslash"),
        ("a\\b", "backslash"),
        ("a\0b", "control character"),
        ("a\nb", "control character"),
        ("a\x1b[2J", "control character"),
    ];
    for (path, reason) in cases {
        let input = format!("{MID}/{path}");
        let e = parse(&input).unwrap_err();
        assert!(matches!(e, MimeiError::InvalidPath { .. }), "{path:?}: {e}");
        assert!(e.to_string().contains(reason), "{path:?}: {e}");
        assert_eq!(e.http_status(), 400);
        // The error shows the input escaped: no raw control characters reach a terminal.
        assert!(!e.to_string().chars().any(|c| c.is_control()), "{e:?}");
    }
    let long = format!("{MID}/{}", "a/".repeat(MAX_PATH_LEN));
    assert!(
        parse(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than 4096")
    );
    let wide = format!("{MID}/{}", "x".repeat(MAX_COMPONENT_LEN + 1));
    assert!(parse(&wide).unwrap_err().to_string().contains("255 bytes"));
    assert!(parse(&format!("{MID}/{}", "x".repeat(MAX_COMPONENT_LEN))).is_ok());
}

#[test]
fn bad_ids_and_versions() {
    let cases = [
        ("", "0 characters"),
        ("/a", "0 characters"),
        (":3", "0 characters"),
        ("st2iBD1Pvfwkvm2auQceHgAdiX", "26 characters"),
        ("st2iBD1Pvfwkvm2auQceHgAdiXIX", "28 characters"),
        ("st2iBD1Pvfwkvm2auQceHgAdiX+", "invalid character"),
    ];
    for (bad, reason) in cases {
        let e = parse(bad).unwrap_err();
        assert!(matches!(e, MimeiError::InvalidMid { .. }), "{bad}: {e}");
        assert!(e.to_string().contains(reason), "{bad}: {e}");
    }
    for bad in [":", ":0", ":latest", ":1:2", ":1x"] {
        let e = parse(&format!("{MID}{bad}/a")).unwrap_err();
        assert!(matches!(e, MimeiError::InvalidVersion { .. }), "{bad}: {e}");
    }
}

#[test]
fn url_form_decodes_each_segment() {
    let p = MimeiPath::parse_url(&format!("{MID}%3A2/my%20docs/%E5%90%8D.txt")).unwrap();
    assert_eq!(p.version, Some(VersionName::Number(2)));
    assert_eq!(components(&p), ["my docs", "名.txt"]);
    // `+` is not a space in a path.
    let p = MimeiPath::parse_url(&format!("{MID}/a+b")).unwrap();
    assert_eq!(components(&p), ["a+b"]);
    let cases = [
        ("%2e%2e/etc/passwd", "leave the Mimei"),
        ("a/%2E%2E/%2e%2e/x", "leave the Mimei"),
        ("..%2fetc%2fpasswd", "encoded /"),
        ("a%2Fb", "encoded /"),
        ("..%5c..%5cwin.ini", "backslash"),
        ("a%00b", "control character"),
        ("a%0ab", "control character"),
        ("%zz", "two hex digits"),
        ("%4", "two hex digits"),
        ("%+1", "two hex digits"),
        ("%ff%fe", "UTF-8"),
        ("%2F%2Fetc", "encoded /"),
    ];
    for (path, reason) in cases {
        let e = MimeiPath::parse_url(&format!("{MID}/{path}")).unwrap_err();
        assert!(matches!(e, MimeiError::InvalidPath { .. }), "{path}: {e}");
        assert!(e.to_string().contains(reason), "{path}: {e}");
    }
    // The CLI form does not decode: %2e%2e is an ordinary (odd) name there.
    let p = parse(&format!("{MID}/%2e%2e")).unwrap();
    assert_eq!(components(&p), ["%2e%2e"]);
}

#[test]
fn standalone_paths() {
    assert_eq!(normalize_path("").unwrap(), Vec::<String>::new());
    assert_eq!(normalize_path("/").unwrap(), Vec::<String>::new());
    assert_eq!(normalize_path("/a/./b").unwrap(), ["a", "b"]);
    assert_eq!(normalize_path("a/b/").unwrap(), ["a", "b"]);
    for bad in ["//a", "/..", "a//b", "a/../..", "a\\b"] {
        assert!(normalize_path(bad).is_err(), "{bad}");
    }
}
