//! Tests of the JSON codec: RFC 8259 corner cases, error positions, limits, round trips.

use super::*;

fn dec(s: &str) -> Result<Value> {
    decode(s.as_bytes(), &JsonLimits::DEFAULT)
}
fn compact(v: &Value) -> String {
    let mut out = String::new();
    encode(v, &mut out);
    out
}
fn pretty(v: &Value) -> String {
    let mut out = String::new();
    encode_pretty(v, &mut out);
    out
}
fn offset(e: &JsonError) -> usize {
    use JsonError::*;
    match e {
        InvalidUtf8 { at }
        | UnexpectedEnd { at, .. }
        | UnexpectedChar { at, .. }
        | InvalidNumber { at }
        | InvalidEscape { at }
        | LoneSurrogate { at }
        | ControlCharacter { at, .. }
        | TooDeep { at, .. }
        | TooManyItems { at, .. }
        | TrailingCharacters { at } => at.offset,
        TooLarge { .. } => usize::MAX,
    }
}

/// Documents run through Python 3.11's `json.loads` + `json.dumps(ensure_ascii=False,
/// separators=(',', ':'))` (peers/json_oracle.py). Where we differ, it is on purpose:
/// Python keeps integers beyond i64 exact and prints 1e400 as `Infinity`, which is not JSON.
#[test]
fn decodes_like_python_json() {
    let cases = [
        (
            " {\"a\" : [1, -0, 2.5e3, -1E-2, 1e400, 9223372036854775807, 9223372036854775808, -9223372036854775808], \"b\": \"x\\u00e9\\ud83d\\ude00\\n\\/\"}\n",
            // python: ...,-0.01,Infinity,9223372036854775807,9223372036854775808,...
            "{\"a\":[1,0,2500.0,-0.01,null,9223372036854775807,9.223372036854776e18,-9223372036854775808],\"b\":\"xé😀\\n/\"}",
        ),
        ("{\"k\": 1, \"k\": 2, \"j\": 3}", "{\"k\":2,\"j\":3}"),
        ("\"\\u4e2d\\u6587 中文 😀\"", "\"中文 中文 😀\""),
        (
            "[[], {}, [[[]]], {\"\": null}]",
            "[[],{},[[[]]],{\"\":null}]",
        ),
        ("\t\r\n 0 \n", "0"),
        ("[0.5, 1.0, 100, 1E2, 1e-7]", "[0.5,1.0,100,100.0,1e-7]"), // python: 1e-07
        ("\u{feff}[true,false]", "[true,false]"),
    ];
    for (doc, want) in cases {
        assert_eq!(
            compact(&dec(doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"))),
            want
        );
    }
    assert_eq!(
        dec("[9223372036854775807, -9223372036854775808, 1.0]").unwrap(),
        Value::List(vec![
            Value::Int(i64::MAX),
            Value::Int(i64::MIN),
            Value::Float(1.0)
        ])
    );
}

/// Python's error offsets for the same documents; `[01]`, `[1.]`, `nul` and `"abc` are
/// rejected by both but located differently, and Python alone accepts `NaN`, `Infinity`
/// and lone surrogates.
#[test]
fn errors_are_located_like_python() {
    let cases = [
        ("{\"a\":1,}", 7),
        ("[1,]", 3),
        ("[.5]", 1),
        ("[+1]", 1),
        ("[-]", 1),
        ("\"\\x41\"", 1),
        ("\"a\tb\"", 2),
        ("[1 2]", 3),
        ("{\"a\" 1}", 5),
        ("{1: 2}", 1),
        ("true false", 5),
        ("", 0),
        ("  ", 2),
        ("[1,\n 2,\n x]", 9),
        ("{\"a\":\n  [1,\n   \"\\q\"]}", 16),
        ("['a']", 1),
        ("[1e5", 4),
        ("{\"a\":1", 6),
        ("/* c */ 1", 0),
        ("1 // c", 2),
        ("[01]", 1),
        ("[1.]", 1),
        ("nul", 3),
        ("\"abc", 4),
        ("NaN", 0),
        ("Infinity", 0),
        ("\"\\ud800\"", 1),
        ("\"\\udc00x\"", 1),
        ("\"\\ud83dx\"", 1),
        ("\"\\u12\"", 1),
    ];
    for (doc, want) in cases {
        let e = dec(doc).expect_err(doc);
        assert_eq!(offset(&e), want, "{doc:?}: {e}");
    }
    let e = dec("{\"a\":\n  [1,\n   \"\\q\"]}").unwrap_err();
    assert_eq!(
        e,
        JsonError::InvalidEscape {
            at: Pos {
                offset: 16,
                line: 3,
                column: 5
            }
        }
    );
    assert_eq!(
        e.to_string(),
        "invalid escape at line 3, column 5 (byte 16)"
    );
    assert_eq!(
        dec("[1 2]").unwrap_err().to_string(),
        "unexpected character '2' at line 1, column 4 (byte 3); expected ',' or ']'"
    );
    assert_eq!(
        dec("").unwrap_err().to_string(),
        "JSON ends at line 1, column 1 (byte 0); expected a value"
    );
    assert_eq!(
        dec("\"a\tb\"").unwrap_err().to_string(),
        "unescaped control character U+0009 in a string at line 1, column 3 (byte 2)"
    );
    assert_eq!(
        dec("\"é\"x").unwrap_err(),
        JsonError::TrailingCharacters {
            at: Pos {
                offset: 4,
                line: 1,
                column: 4
            }
        }
    );
    assert_eq!(
        decode(b"[\"\xff\"]", &JsonLimits::DEFAULT).unwrap_err(),
        JsonError::InvalidUtf8 {
            at: Pos {
                offset: 2,
                line: 1,
                column: 3
            }
        }
    );
}

#[test]
fn limits() {
    let tight = JsonLimits {
        max_depth: 2,
        max_items: 4,
        max_bytes: 16,
    };
    assert!(decode(b"[[1]]", &tight).is_ok());
    assert_eq!(
        decode(b"[[[1]]]", &tight).unwrap_err(),
        JsonError::TooDeep {
            at: Pos {
                offset: 2,
                line: 1,
                column: 3
            },
            max: 2
        }
    );
    assert!(matches!(
        decode(b"[1,2,3,4]", &tight),
        Err(JsonError::TooManyItems { max: 4, .. })
    ));
    assert_eq!(
        decode(&[b' '; 17], &tight).unwrap_err(),
        JsonError::TooLarge { len: 17, max: 16 }
    );
    let deep = "[".repeat(100_000);
    assert!(matches!(
        dec(&deep),
        Err(JsonError::TooDeep { max: 32, .. })
    ));
}

#[test]
fn encodes_compact_and_pretty() {
    let v = Value::map([
        ("name", Value::from("leither")),
        (
            "list",
            Value::List(vec![
                Value::Int(1),
                Value::Float(2.5),
                Value::List(vec![]),
                Value::Map(vec![]),
            ]),
        ),
        (
            "nested",
            Value::map([(
                "a",
                Value::map([("b", Value::List(vec![Value::Bool(true), Value::Null]))]),
            )]),
        ),
        ("s", Value::from("é\n")),
    ]);
    // python3 -c 'json.dumps(..., indent=2, ensure_ascii=False)' on the same document:
    let python = "{\n  \"name\": \"leither\",\n  \"list\": [\n    1,\n    2.5,\n    [],\n    {}\n  ],\n  \"nested\": {\n    \"a\": {\n      \"b\": [\n        true,\n        null\n      ]\n    }\n  },\n  \"s\": \"é\\n\"\n}";
    assert_eq!(pretty(&v), python);
    assert_eq!(
        compact(&v),
        "{\"name\":\"leither\",\"list\":[1,2.5,[],{}],\"nested\":{\"a\":{\"b\":[true,null]}},\"s\":\"é\\n\"}"
    );
    assert_eq!(dec(&pretty(&v)).unwrap(), v);
    assert_eq!(pretty(&Value::Int(3)), "3");
    let odd = Value::List(vec![
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Float(-0.0),
        Value::Float(1e21),
        Value::Str("\"\\\u{1}\u{8}\u{c}\t\r\u{7f}😀".into()),
    ]);
    assert_eq!(
        compact(&odd),
        "[null,null,-0.0,1e21,\"\\\"\\\\\\u0001\\b\\f\\t\\r\u{7f}😀\"]"
    );
}

#[test]
fn bytes_are_unpadded_base64url() {
    for (bytes, text) in [
        (&b""[..], ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"\xfb\xff\xbf", "-_-_"),
    ] {
        assert_eq!(
            compact(&Value::Bytes(bytes.to_vec())),
            format!("\"{text}\"")
        );
    }
}

#[test]
fn round_trips() {
    let v = Value::List(vec![
        Value::Int(i64::MIN),
        Value::Float(0.1),
        Value::Float(-1e-300),
        Value::Float(5e-324),
        Value::Float(1.0),
        Value::Str("\u{0}\u{1f}\u{2028}𝄞".into()),
        Value::map([("", Value::Null), ("k", Value::map([]))]),
    ]);
    assert_eq!(dec(&compact(&v)).unwrap(), v);
    assert_eq!(dec(&pretty(&v)).unwrap(), v);
}
