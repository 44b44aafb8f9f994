//! Tests of the Hprose codec, with wire vectors captured from the real implementations.

use super::*;

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}
fn i(x: i64) -> Value {
    Value::Int(x)
}
fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}
fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}
fn req(bytes: &[u8]) -> Result<Request> {
    decode_request(bytes, &Limits::DEFAULT)
}
fn val(bytes: &[u8]) -> Result<Value> {
    decode_value(bytes, &Limits::DEFAULT)
}
fn one_call(bytes: &[u8]) -> Call {
    let mut r = req(bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.calls.len(), 1);
    r.calls.remove(0)
}
fn replies(results: &[std::result::Result<Value, String>]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_replies(&mut out, results);
    out
}
fn enc(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(&mut out, v);
    out
}

#[test]
fn peers_md_wire_examples() {
    let c = one_call(br#"Cs5"hello"a1{s5"world"}z"#);
    assert_eq!(
        (c.name.as_str(), c.args, c.by_ref),
        ("hello", vec![s("world")], false)
    );
    assert_eq!(replies(&[Ok(s("Hello world!"))]), br#"Rs12"Hello world!"z"#);

    assert_eq!(one_call(br#"Cs3"add"a2{i40;2}z"#).args, vec![i(40), i(2)]);
    assert_eq!(replies(&[Ok(i(42))]), b"Ri42;z");

    let l = list(vec![
        i(1),
        s("two"),
        Value::Float(3.5),
        Value::Null,
        Value::Bool(true),
    ]);
    assert_eq!(
        one_call(br#"Cs4"echo"a1{a5{1s3"two"d3.5;nt}}z"#).args,
        vec![l.clone()]
    );
    assert_eq!(replies(&[Ok(l)]), br#"Ra5{1s3"two"d3.5;nt}z"#);

    let m = map(vec![("name", s("leither")), ("n", i(7))]);
    assert_eq!(
        one_call(br#"Cs4"echo"a1{m2{s4"name"s7"leither"un7}}z"#).args,
        vec![m.clone()]
    );
    assert_eq!(replies(&[Ok(m)]), br#"Rm2{s4"name"s7"leither"un7}z"#);

    assert_eq!(replies(&[Err("boom".into())]), br#"Es4"boom"z"#);
    assert!(req(b"z").unwrap().is_function_list());
    assert!(req(b"").unwrap().is_function_list());
}

/// Standalone values as the real Formatters wrote them (`capture2.js`, `capture3.js`,
/// `capture_py.py` in the scratch peers folder; see docs/hprose.md).
#[test]
fn formatter_vectors_from_real_writers() {
    let f = Value::Float;
    let point = |x, y| map(vec![("x", x), ("y", y)]);
    let cases: &[(&[u8], Value)] = &[
        // npm hprose@2.0.51
        (b"d2147483648;", f(2147483648.0)),
        (b"d-2147483649;", f(-2147483649.0)),
        (b"d9007199254740992;", f(9007199254740992.0)),
        (b"d-0.25;", f(-0.25)),
        (b"d1e+21;", f(1e21)),
        (b"d1e-7;", f(1e-7)),
        (b"s5\"h\xc3\xa9llo\"", s("héllo")),
        (
            b"s4\"\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6\"",
            s("中文字符"),
        ),
        (b"s2\"\xf0\x9f\x98\x80\"", s("😀")),
        (b"s4\"a\xf0\x9f\x98\x80b\"", s("a😀b")),
        (b"u\xe4\xb8\xad", s("中")),
        (
            b"b5\"\x00\x01\x02\xff\"\"",
            Value::Bytes(vec![0, 1, 2, 255, b'"']),
        ),
        (
            b"a2{a2{1a2{2a{}}}m{}}",
            list(vec![
                list(vec![i(1), list(vec![i(2), list(vec![])])]),
                map(vec![]),
            ]),
        ),
        (
            b"m2{s4\"name\"s7\"leither\"uun}",
            map(vec![("name", s("leither")), ("u", Value::Null)]),
        ),
        (b"D20200102T030405.678;", s("2020-01-02T03:04:05.678")),
        (b"D20200102;", s("2020-01-02")),
        (b"c5\"Point\"2{s1\"x\"s1\"y\"}o0{1uy}", point(i(1), s("y"))),
        (
            b"a2{c5\"Point\"2{s1\"x\"s1\"y\"}o0{12}o0{34}}",
            list(vec![point(i(1), i(2)), point(i(3), i(4))]),
        ),
        (
            b"m2{1s3\"one\"ts3\"yes\"}",
            map(vec![("1", s("one")), ("true", s("yes"))]),
        ),
        // npm @hprose/io 3
        (b"l2147483648;", i(2147483648)),
        (b"l9007199254740991;", i(9007199254740991)),
        (b"T030405;", s("03:04:05")),
        (b"D20200102T030405.678Z", s("2020-01-02T03:04:05.678Z")),
        (
            b"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}",
            s("6e2a9f3c-1b2d-4c5e-8f70-123456789abc"),
        ),
        (
            b"l123456789012345678901234567890;",
            s("123456789012345678901234567890"),
        ),
        // PyPI hprose 1.4.3: code point counts, `u` with an astral character, 6-digit fractions
        (b"l9223372036854775808;", s("9223372036854775808")),
        (b"l-9223372036854775808;", i(i64::MIN)),
        (b"d1e+16;", f(1e16)),
        (b"d1e-07;", f(1e-7)),
        (b"u\xf0\x9f\x98\x80", s("😀")),
        (b"s3\"a\xf0\x9f\x98\x80b\"", s("a😀b")),
        (b"b\"\"", Value::Bytes(vec![])),
        (b"a{}", list(vec![])),
        (
            b"m2{1s3\"one\"2s3\"two\"}",
            map(vec![("1", s("one")), ("2", s("two"))]),
        ),
        (
            b"D20200102T030405.678901Z",
            s("2020-01-02T03:04:05.678901Z"),
        ),
        (b"D20200102T030405;", s("2020-01-02T03:04:05")),
        (b"T030405.000600;", s("03:04:05.000600")),
        // all three write shared values as references: list 0, string 1, list 2, map 3
        (
            b"a5{s13\"shared-string\"r1;a2{12}r2;m1{ukr1;}}",
            list(vec![
                s("shared-string"),
                s("shared-string"),
                list(vec![i(1), i(2)]),
                list(vec![i(1), i(2)]),
                map(vec![("k", s("shared-string"))]),
            ]),
        ),
    ];
    for (bytes, want) in cases {
        let got = val(bytes).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(bytes)));
        assert_eq!(&got, want, "{}", String::from_utf8_lossy(bytes));
    }
    for (b, v) in [
        (&b"0"[..], i(0)),
        (b"7", i(7)),
        (b"i-1;", i(-1)),
        (b"i2147483647;", i(2147483647)),
        (b"d1.5;", f(1.5)),
    ] {
        assert_eq!(val(b).unwrap(), v);
    }
    for b in [&b"N"[..], b"I+", b"I-", b"n", b"t", b"f", b"e", b"ua"] {
        assert_eq!(enc(&val(b).unwrap()), b);
    }
}

/// Request bodies the real clients POSTed to a 127.0.0.1 server.
#[test]
fn client_requests_from_real_clients() {
    let shared = || s("shared-string");
    let refs_args = vec![
        shared(),
        shared(),
        map(vec![
            ("a", shared()),
            ("b", list(vec![i(1), i(2)])),
            ("c", list(vec![i(1), i(2)])),
        ]),
    ];
    // identical from hprose@2.0.51, @hprose/rpc-core@3 and hprose 1.4.3:
    assert_eq!(
        one_call(br#"Cs4"echo"a3{s13"shared-string"r1;m3{uar1;uba2{12}ucr3;}}z"#).args,
        refs_args
    );
    let objects = one_call(br#"Cs4"echo"a2{c5"Point"2{s1"x"s1"y"}o0{12}o0{34}}z"#);
    assert_eq!(
        objects.args,
        vec![
            map(vec![("x", i(1)), ("y", i(2))]),
            map(vec![("x", i(3)), ("y", i(4))])
        ]
    );
    let noargs = one_call(br#"Cs6"noargs"z"#);
    assert_eq!((noargs.name.as_str(), noargs.args.len()), ("noargs", 0));
    // hprose@2.0.51 and 1.4.3 byref call
    let swap = one_call(br#"Cs4"swap"a2{12}tz"#);
    assert_eq!((swap.args, swap.by_ref), (vec![i(1), i(2)], true));
    // hprose@2.0.51 / rpc-core@3 (9 UTF-16 units) and hprose 1.4.3 (8 code points)
    let emoji = vec![s("😀 and 中文")];
    assert_eq!(
        one_call(b"Cs4\"echo\"a1{s9\"\xf0\x9f\x98\x80 and \xe4\xb8\xad\xe6\x96\x87\"}z").args,
        emoji
    );
    assert_eq!(
        one_call(b"Cs4\"echo\"a1{s8\"\xf0\x9f\x98\x80 and \xe4\xb8\xad\xe6\x96\x87\"}z").args,
        emoji
    );
    // hprose@2.0.51 batch: references restart with each call
    let batch =
        req(br#"Cs5"hello"a1{ua}Cs3"add"a2{12}Cs4"echo"a2{s13"shared-string"r1;}z"#).unwrap();
    let calls: Vec<_> = batch
        .calls
        .iter()
        .map(|c| (c.name.as_str(), c.args.clone()))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("hello", vec![s("a")]),
            ("add", vec![i(1), i(2)]),
            ("echo", vec![shared(), shared()])
        ]
    );
    // rpc-core@3: header map, function list call, simple mode (no references)
    let h = req(br#"Hm2{s5"token"s3"abc"un1}Cs4"echo"a1{1}z"#).unwrap();
    assert_eq!(
        h.header,
        Some(vec![("token".into(), s("abc")), ("n".into(), i(1))])
    );
    assert_eq!(h.calls[0].args, vec![i(1)]);
    let tilde = req(b"Cu~z").unwrap();
    assert!(!tilde.is_function_list() && tilde.calls[0].is_function_list());
    let simple =
        req(br#"Hm1{s6"simple"t}Cs4"echo"a2{s13"shared-string"s13"shared-string"}z"#).unwrap();
    assert_eq!(simple.calls[0].args, vec![shared(), shared()]);
    // The header's references end with it: r0 in the call's args is the args list itself.
    assert!(matches!(
        req(br#"Hm1{s1"k"s2"vv"}Cs1"f"a1{r2;}z"#),
        Err(HproseError::BadReference {
            index: 2,
            known: 1,
            ..
        })
    ));
}

#[test]
fn strings_count_utf16_units() {
    for (text, wire) in [
        ("😀", "s2\"😀\""),
        ("中文字符", "s4\"中文字符\""),
        ("a😀b", "s4\"a😀b\""),
        ("中", "u中"),
        ("é", "ué"),
        ("", "e"),
        ("👍🏽x", "s5\"👍🏽x\""),
        ("\"q\"", "s3\"\"q\"\""),
    ] {
        assert_eq!(enc(&s(text)), wire.as_bytes(), "{text}");
        assert_eq!(val(wire.as_bytes()).unwrap(), s(text));
    }
    // A surrogate pair cannot be split by the count; invalid UTF-8 is refused.
    assert!(matches!(
        val("s1\"😀x\"".as_bytes()),
        Err(HproseError::StringLength { .. })
    ));
    // ...unless the count ends inside it, which the real readers (and Python's count) accept
    assert_eq!(val("s1\"😀\"".as_bytes()).unwrap(), s("😀"));
    assert!(matches!(
        val(b"s2\"a\xff\""),
        Err(HproseError::InvalidUtf8 { offset: 4 })
    ));
    assert!(matches!(val(b"s2\"ab"), Err(HproseError::Truncated { .. })));
    assert!(matches!(
        val(b"s9\"ab\""),
        Err(HproseError::LengthExceedsInput { declared: 9, .. })
    ));
    assert!(matches!(
        val(b"s2\"abc\""),
        Err(HproseError::StringLength {
            offset: 0,
            declared: 2
        })
    ));
}

#[test]
fn references_follow_the_real_readers() {
    // the argument list is reference 0; the function name does not count
    assert!(matches!(
        req(br#"Cs4"echo"a1{r0;}z"#),
        Err(HproseError::CyclicReference { index: 0, .. })
    ));
    assert!(matches!(
        req(br#"Cs4"echo"a1{r1;}z"#),
        Err(HproseError::BadReference {
            index: 1,
            known: 1,
            ..
        })
    ));
    // u, e and numbers are not references; s, b, g, D, T, a, m, o are, in tag order
    let args = one_call(
        b"Cs1\"f\"a14{uxes2\"ss\"b1\"B\"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}D20200102;T010203Za{}m{}r1;r2;r3;r4;r5;}z",
    )
    .args;
    assert_eq!(
        &args[9..],
        &[
            s("ss"),
            Value::Bytes(b"B".to_vec()),
            s("6e2a9f3c-1b2d-4c5e-8f70-123456789abc"),
            s("2020-01-02"),
            s("01:02:03Z")
        ]
    );
    assert_eq!(
        one_call(br#"Cs1"f"a3{a1{1}m{}r1;}z"#).args[2],
        list(vec![i(1)])
    );
    assert_eq!(one_call(br#"Cs1"f"a3{a1{1}m{}r2;}z"#).args[2], map(vec![]));
    // class field names written as `s` are references, the class name is not
    let obj = one_call(br#"Cs1"f"a2{c1"P"1{s2"xx"}o0{5}r1;}z"#).args;
    assert_eq!(obj, vec![map(vec![("xx", i(5))]), s("xx")]);
    let obj = one_call(br#"Cs1"f"a2{c1"P"1{s2"xx"}o0{5}r2;}z"#).args;
    assert_eq!(obj[1], map(vec![("xx", i(5))]));
    // a finished container deep inside another is found again by its path
    let deep = one_call(br#"Cs1"f"a2{a2{a1{m1{s1"k"a1{9}}}r3;}r5;}z"#).args;
    let inner = map(vec![("k", list(vec![i(9)]))]);
    assert_eq!(
        deep[0],
        list(vec![list(vec![inner.clone()]), inner.clone()])
    );
    assert_eq!(deep[1], list(vec![i(9)]));
    // an ancestor that is still open is cyclic
    assert!(matches!(
        req(br#"Cs1"f"a1{a1{m1{uar1;}}}z"#),
        Err(HproseError::CyclicReference { index: 1, .. })
    ));
    // references and classes restart with every call of a batch
    assert!(matches!(
        req(br#"Cs1"a"a1{s3"abc"}Cs1"b"a1{r1;}z"#),
        Err(HproseError::BadReference { .. })
    ));
    assert!(matches!(
        req(br#"Cs1"a"a1{c1"P"1{ux}o0{1}}Cs1"b"a1{o0{2}}z"#),
        Err(HproseError::UnknownClass {
            index: 0,
            known: 0,
            ..
        })
    ));
    assert!(matches!(
        req(br#"Cs1"f"a1{r;}z"#),
        Err(HproseError::InvalidNumber {
            what: "reference index",
            ..
        })
    ));
}

#[test]
fn objects_decode_as_maps() {
    let v = val(br#"a3{c1"A"2{uaub}o0{1n}c1"B"0{}o1{}o0{e2}}"#).unwrap();
    assert_eq!(
        v,
        list(vec![
            map(vec![("a", i(1)), ("b", Value::Null)]),
            map(vec![]),
            map(vec![("a", s("")), ("b", i(2))])
        ])
    );
    assert!(matches!(
        val(br#"o0{}"#),
        Err(HproseError::UnknownClass {
            offset: 1,
            index: 0,
            known: 0
        })
    ));
    assert!(matches!(
        val(br#"c1"A"1{a{}}o0{1}"#),
        Err(HproseError::UnexpectedByte {
            found: b'a',
            expected: "a field name",
            ..
        })
    ));
    // duplicate keys: the last value wins, in the first key's place
    assert_eq!(
        val(br#"m3{uaubuc2ua3}"#).unwrap(),
        map(vec![("a", i(3)), ("c", i(2))])
    );
}

#[test]
fn batch_replies_keep_going_after_an_error() {
    assert_eq!(
        replies(&[Ok(i(1)), Err("boom".into()), Ok(s("ok"))]),
        br#"R1Es4"boom"Rs2"ok"z"#
    );
    assert_eq!(replies(&[Err(String::new())]), br#"Es""z"#);
    assert_eq!(replies(&[Err("é😀".into())]), "Es3\"é😀\"z".as_bytes());
}

#[test]
fn function_lists() {
    let mut v2 = Vec::new();
    encode_function_list(&mut v2, &["hello", "a"], false);
    assert_eq!(v2, br#"Fa2{s5"hello"ua}z"#);
    let mut v3 = Vec::new();
    encode_function_list(&mut v3, &["hello"], true);
    assert_eq!(v3, br#"Ra2{u~s5"hello"}z"#);
    let mut none = Vec::new();
    encode_function_list(&mut none, &[], false);
    assert_eq!(none, b"Fa{}z");
}

#[test]
fn encodes_numbers_like_the_real_writers() {
    let f = Value::Float;
    for (v, wire) in [
        (i(0), "0"),
        (i(9), "9"),
        (i(10), "i10;"),
        (i(-1), "i-1;"),
        (i(i32::MAX.into()), "i2147483647;"),
        (i(i32::MIN.into()), "i-2147483648;"),
        (i(2147483648), "l2147483648;"),
        (i(i64::MIN), "l-9223372036854775808;"),
        (f(3.5), "d3.5;"),
        (f(-0.25), "d-0.25;"),
        (f(1.0), "d1;"),
        (f(1e21), "d1e21;"),
        (f(1e-7), "d1e-7;"),
        (f(f64::NAN), "N"),
        (f(f64::INFINITY), "I+"),
        (f(f64::NEG_INFINITY), "I-"),
        (Value::Bytes(vec![]), "b\"\""),
        (list(vec![]), "a{}"),
        (map(vec![]), "m{}"),
    ] {
        assert_eq!(String::from_utf8(enc(&v)).unwrap(), wire);
    }
}

#[test]
fn round_trips() {
    let values = vec![
        Value::Null,
        Value::Bool(false),
        i(i64::MAX),
        i(-42),
        Value::Float(0.1),
        Value::Float(-1e300),
        Value::Float(5e-324),
        Value::Float(-0.0),
        Value::Float(123456789012345.0),
        Value::Float(1e15),
        s("x"),
        s("😀"),
        s("a\"b"),
        Value::Bytes(b"\x00\"z".to_vec()),
        list(vec![
            list(vec![]),
            map(vec![("", i(1)), ("😀", list(vec![s("q")]))]),
        ]),
    ];
    for v in values {
        assert_eq!(val(&enc(&v)).unwrap(), v);
    }
    assert!(matches!(val(&enc(&Value::Float(f64::NAN))).unwrap(), Value::Float(x) if x.is_nan()));
}

#[test]
fn dates_and_guids() {
    assert_eq!(val(b"D20200102Z").unwrap(), s("2020-01-02"));
    assert_eq!(
        val(b"T235960.123456789Z").unwrap(),
        s("23:59:60.123456789Z")
    );
    for bad in [
        &b"D20201302;"[..],
        b"D2020010;",
        b"D20200102X",
        b"T250000;",
        b"T010203.12;",
        b"T010203.123456789123Z",
        b"T010203",
    ] {
        assert!(
            matches!(
                val(bad),
                Err(HproseError::InvalidDate { offset: 0 } | HproseError::Truncated { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        val(b"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abx}"),
        Err(HproseError::InvalidGuid { offset: 0 })
    ));
    assert!(matches!(
        val(b"g(6e2a9f3c-1b2d-4c5e-8f70-123456789abc)"),
        Err(HproseError::InvalidGuid { offset: 0 })
    ));
}

#[test]
fn every_error_says_where() {
    let cases: &[(&[u8], HproseError, &str)] = &[
        (
            b"X",
            HproseError::UnexpectedByte {
                offset: 0,
                found: b'X',
                expected: "'C', 'H' or 'z'",
            },
            "unexpected byte 'X' at byte 0; expected 'C', 'H' or 'z'",
        ),
        (
            b"Cs1\"f\"a1{x}z",
            HproseError::UnexpectedByte {
                offset: 9,
                found: b'x',
                expected: "a value",
            },
            "unexpected byte 'x' at byte 9; expected a value",
        ),
        (
            b"Cs1\"f\"a1{1}q",
            HproseError::UnexpectedByte {
                offset: 11,
                found: b'q',
                expected: "'t', 'C' or 'z'",
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{1}tt",
            HproseError::UnexpectedByte {
                offset: 12,
                found: b't',
                expected: "'C' or 'z'",
            },
            "",
        ),
        (
            b"Cs1\"f\"\x01",
            HproseError::UnexpectedByte {
                offset: 6,
                found: 1,
                expected: "'a', 'C' or 'z'",
            },
            "unexpected byte 0x01 at byte 6; expected 'a', 'C' or 'z'",
        ),
        (
            b"Cn",
            HproseError::UnexpectedByte {
                offset: 1,
                found: b'n',
                expected: "a function name",
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{",
            HproseError::LengthExceedsInput {
                offset: 7,
                declared: 1,
            },
            "",
        ),
        (
            b"Cs1\"f\"a2{1}",
            HproseError::UnexpectedByte {
                offset: 10,
                found: b'}',
                expected: "a value",
            },
            "unexpected byte '}' at byte 10; expected a value",
        ),
        (
            b"Cs1\"f\"a1{1",
            HproseError::Truncated {
                offset: 10,
                expected: "'}' after the last element",
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{i12",
            HproseError::Truncated {
                offset: 12,
                expected: "integer",
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{i1x;}z",
            HproseError::InvalidNumber {
                offset: 10,
                what: "integer",
            },
            "invalid integer at byte 10",
        ),
        (
            b"Cs1\"f\"a1{i99999999999999999999;}z",
            HproseError::InvalidNumber {
                offset: 10,
                what: "integer",
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{dinf;}z",
            HproseError::InvalidNumber {
                offset: 10,
                what: "number",
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{d1.2.3;}z",
            HproseError::InvalidNumber {
                offset: 10,
                what: "number",
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{I*}z",
            HproseError::UnexpectedByte {
                offset: 10,
                found: b'*',
                expected: "'+' or '-'",
            },
            "",
        ),
        (
            b"Cs1\"f\"a99999999999999999999999{}z",
            HproseError::InvalidNumber {
                offset: 7,
                what: "count",
            },
            "",
        ),
        (
            b"Cs1\"f\"a9{1}z",
            HproseError::LengthExceedsInput {
                offset: 7,
                declared: 9,
            },
            "length 9 at byte 7 is more than the rest of the request holds",
        ),
        (
            b"Cs1\"f\"a1{b9\"ab\"}z",
            HproseError::LengthExceedsInput {
                offset: 10,
                declared: 9,
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{u\xff}z",
            HproseError::InvalidUtf8 { offset: 10 },
            "invalid UTF-8 at byte 10",
        ),
        (
            b"Cs1\"f\"a1{m1{a{}1}}z",
            HproseError::InvalidMapKey {
                offset: 12,
                kind: "a list",
            },
            "map key at byte 12 is a list; keys must be scalars",
        ),
        (
            b"Cs1\"f\"a2{a{}m1{r1;1}}z",
            HproseError::InvalidMapKey {
                offset: 15,
                kind: "a list",
            },
            "",
        ),
        (
            b"H1Cs1\"f\"z",
            HproseError::InvalidHeader {
                offset: 1,
                kind: "an integer",
            },
            "header at byte 1 is an integer; expected a map",
        ),
        (
            b"Cs1\"f\"zz",
            HproseError::TrailingBytes { offset: 7 },
            "unexpected bytes at byte 7 after the end of the request",
        ),
        (
            b"Cs1\"f\"a1{r5;}z",
            HproseError::BadReference {
                offset: 9,
                index: 5,
                known: 1,
            },
            "reference 5 at byte 9 names no value (only 1 precede it)",
        ),
        (
            b"Cs1\"f\"a1{r0;}z",
            HproseError::CyclicReference {
                offset: 9,
                index: 0,
            },
            "",
        ),
        (
            b"Cs1\"f\"a1{o3{}}z",
            HproseError::UnknownClass {
                offset: 10,
                index: 3,
                known: 0,
            },
            "object at byte 10 uses class 3, but only 0 are defined",
        ),
        (
            b"Cs1\"f\"a1{Es1\"e\"}z",
            HproseError::UnexpectedByte {
                offset: 9,
                found: b'E',
                expected: "a value",
            },
            "",
        ),
    ];
    for (bytes, want, text) in cases {
        let got = req(bytes).expect_err(&String::from_utf8_lossy(bytes));
        assert_eq!(&got, want, "{}", String::from_utf8_lossy(bytes));
        if !text.is_empty() {
            assert_eq!(got.to_string(), *text);
        }
    }
}

#[test]
fn limits_bound_depth_items_and_bytes() {
    let tight = Limits {
        max_depth: 3,
        max_items: 10,
        max_bytes: 64,
    };
    assert!(decode_request(br#"Cs1"f"a1{a1{1}}z"#, &tight).is_ok());
    assert!(decode_request(br#"Cs1"f"a1{a1{a1{1}}}z"#, &tight).is_ok());
    assert_eq!(
        decode_request(br#"Cs1"f"a1{a1{a1{a1{1}}}}z"#, &tight),
        Err(HproseError::TooDeep { offset: 15, max: 3 })
    );
    assert!(matches!(
        decode_request(br#"Cs1"f"a10{1111111111}z"#, &tight),
        Err(HproseError::TooManyItems { .. })
    ));
    assert!(matches!(
        decode_request(&[b'z'; 65], &tight),
        Err(HproseError::TooLarge { len: 65, max: 64 })
    ));
    // a reference copies its value, so copies count: depth, items and bytes
    let d = Limits {
        max_depth: 3,
        ..Limits::DEFAULT
    };
    assert!(decode_request(br#"Cs1"f"a2{a1{a1{1}}r1;}z"#, &d).is_ok());
    assert!(matches!(
        decode_request(br#"Cs1"f"a2{a1{a1{1}}a1{r1;}}z"#, &d),
        Err(HproseError::TooDeep { .. })
    ));
    let n = Limits {
        max_items: 12,
        ..Limits::DEFAULT
    };
    assert!(matches!(
        decode_request(br#"Cs1"f"a3{a4{1111}r1;r1;}z"#, &n),
        Err(HproseError::TooManyItems { .. })
    ));
    let b = Limits {
        max_bytes: 40,
        ..Limits::DEFAULT
    };
    assert!(matches!(
        decode_request(br#"Cs1"f"a4{s10"0123456789"r1;r1;r1;}z"#, &b),
        Err(HproseError::TooMuchData { .. })
    ));
    // class field names are copied into every object and count as text
    let objects = br#"Cs1"f"a8{c1"P"1{s10"0123456789"}o0{1}o0{1}o0{1}o0{1}o0{1}o0{1}o0{1}o0{1}}z"#;
    let b = Limits {
        max_bytes: objects.len(),
        ..Limits::DEFAULT
    };
    assert!(matches!(
        decode_request(objects, &b),
        Err(HproseError::TooMuchData { .. })
    ));
    // doubling through references stops at the limit instead of exhausting memory
    let mut laugh = br#"Cs1"f"a20{a2{11}"#.to_vec();
    for k in 1..20 {
        laugh.extend_from_slice(format!("a2{{r{k};r{k};}}").as_bytes());
    }
    laugh.extend_from_slice(b"}z");
    assert!(matches!(
        req(&laugh),
        Err(HproseError::TooManyItems { max: 100_000, .. })
    ));
}

#[test]
fn every_prefix_of_a_valid_request_is_an_error() {
    let valid: &[&[u8]] = &[
        br#"Hm2{s5"token"s3"abc"un1}Cs4"echo"a1{1}z"#,
        br#"Cs5"hello"a1{ua}Cs3"add"a2{12}Cs4"echo"a2{s13"shared-string"r1;}tz"#,
        br#"Cs4"echo"a2{c5"Point"2{s1"x"s1"y"}o0{12}o0{34}}z"#,
        b"Cs1\"f\"a9{i-5;l99999999999999999999;d1e+21;NI-b2\"\x00\xff\"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}D20200102T030405.678901Zu\xe4\xb8\xad}z",
        "Cs1\"f\"a3{s4\"a😀b\"u中T010203.100Z}z".as_bytes(),
    ];
    for v in valid {
        assert!(req(v).is_ok(), "{}", String::from_utf8_lossy(v));
        for n in 1..v.len() {
            assert!(
                req(&v[..n]).is_err(),
                "prefix {n} of {}",
                String::from_utf8_lossy(v)
            );
        }
    }
}

/// A small deterministic fuzzer: mutated valid requests and random bytes must never panic,
/// and whatever decodes re-encodes to a value that decodes the same.
#[test]
fn mutations_never_panic() {
    let seeds: &[&[u8]] = &[
        br#"Hm1{s1"k"a1{1}}Cs4"echo"a3{s13"shared-string"r1;m3{uar1;uba2{12}ucr3;}}tCs1"x"z"#,
        br#"Cs1"f"a4{c1"P"2{uaub}o0{D20200102Zg{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}}r1;b1"b"T010203.123;}z"#,
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"0123456789ilsdNI+-ntfeubgDTamcorCHzAEF{}\";.Z\xff\xe4";
    for round in 0..30_000 {
        let mut bytes = seeds[round % seeds.len()].to_vec();
        for _ in 0..1 + rand() % 4 {
            let at = (rand() as usize) % bytes.len();
            let b = alphabet[(rand() as usize) % alphabet.len()];
            match rand() % 3 {
                0 => bytes[at] = b,
                1 => bytes.insert(at, b),
                _ => {
                    bytes.remove(at);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        if let Ok(r) = req(&bytes) {
            for c in r.calls {
                let v = list(c.args);
                let again = val(&enc(&v)).expect("re-encoded args decode");
                assert_eq!(format!("{again:?}"), format!("{v:?}"));
            }
        }
    }
}

#[test]
fn websocket_framing() {
    let mut out = Vec::new();
    ws_frame(7, b"Ri42;z", &mut out);
    assert_eq!(out, b"\x00\x00\x00\x07Ri42;z");
    assert_eq!(split_ws_frame(&out).unwrap(), (7, &b"Ri42;z"[..]));
    assert_eq!(
        split_ws_frame(b"\x80\x00\x00\x01boom").unwrap(),
        (WS_ERROR_FLAG | 1, &b"boom"[..])
    );
    assert_eq!(split_ws_frame(b"\x00\x00\x00\x01").unwrap(), (1, &b""[..]));
    assert_eq!(
        split_ws_frame(b"\x00\x01"),
        Err(HproseError::ShortWsFrame { len: 2 })
    );
    assert_eq!(
        HproseError::ShortWsFrame { len: 2 }.to_string(),
        "WebSocket message of 2 bytes is shorter than its 4-byte id"
    );
}
