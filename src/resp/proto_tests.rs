//! Unit tests of `proto.rs`. The error cases and the inline quoting cases were sent raw to
//! Debian's redis-server 7.0.15; the expected replies here are what it answered.

use super::*;

fn args(buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let (cmd, used) = parse(buf, &Limits::DEFAULT)
        .expect("parses")
        .expect("complete");
    (cmd.args.iter().map(|a| a.to_vec()).collect(), used)
}

fn words(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn err(buf: &[u8]) -> String {
    let e = parse(buf, &Limits::DEFAULT).expect_err("a protocol error");
    let mut out = Vec::new();
    e.write_reply(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn multibulk() {
    let buf = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n";
    let (a, used) = args(buf);
    assert_eq!(a, words(&["SET", "k", ""]));
    assert_eq!(used, 26);
    assert_eq!(args(&buf[used..]), (words(&["PING"]), 14));
    // Binary-safe: CR, LF and NUL inside a bulk.
    assert_eq!(args(b"*1\r\n$3\r\n\r\n\0\r\n").0, vec![b"\r\n\0".to_vec()]);
}

#[test]
fn every_prefix_is_incomplete() {
    let buf = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
    for n in 0..buf.len() {
        assert_eq!(parse(&buf[..n], &Limits::DEFAULT), Ok(None), "prefix {n}");
    }
    let line = b"echo 'a b' c\r\n";
    for n in 0..line.len() {
        assert_eq!(
            parse(&line[..n], &Limits::DEFAULT),
            Ok(None),
            "inline prefix {n}"
        );
    }
}

#[test]
fn parser_resumes_byte_by_byte() {
    let stream = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nset a \"b c\"\r\n*0\r\n*1\r\n$4\r\nPING\r\n";
    let mut p = Parser::new(Limits::DEFAULT);
    let mut got = Vec::new();
    let mut start = 0;
    for end in 1..=stream.len() {
        while let Some((cmd, used)) = p.parse(&stream[start..end]).expect("valid") {
            got.push(cmd.args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
            start += used;
        }
    }
    assert_eq!(start, stream.len());
    assert_eq!(
        got,
        vec![
            words(&["ECHO", "hello"]),
            words(&["set", "a", "b c"]),
            vec![],
            words(&["PING"])
        ]
    );
}

#[test]
fn empty_requests_have_no_args() {
    assert_eq!(args(b"*0\r\n"), (vec![], 4));
    assert_eq!(args(b"*-1\r\n"), (vec![], 5));
    assert_eq!(args(b"*-10\r\nPING\r\n"), (vec![], 6));
    assert_eq!(args(b"\r\n"), (vec![], 2));
    assert_eq!(args(b"\n"), (vec![], 1));
    assert_eq!(args(b"   \r\n"), (vec![], 5));
}

#[test]
fn redis_leniencies() {
    // The byte after a length line's CR and the two after a bulk are skipped unchecked.
    assert_eq!(args(b"*1\rX$4\r\nPING\r\n").0, words(&["PING"]));
    assert_eq!(args(b"*1\r\n$4\rXPING\r\n").0, words(&["PING"]));
    assert_eq!(args(b"*1\r\n$4\r\nPINGxx").0, words(&["PING"]));
}

#[test]
fn protocol_errors_as_redis_sends_them() {
    let e = |s: &str| format!("-ERR Protocol error: {s}\r\n");
    assert_eq!(err(b"*3000000000\r\n"), e("invalid multibulk length"));
    assert_eq!(err(b"*+1\r\n"), e("invalid multibulk length"));
    assert_eq!(err(b"*01\r\n"), e("invalid multibulk length"));
    assert_eq!(err(b"*x\r\n"), e("invalid multibulk length"));
    assert_eq!(err(b"*1\r\nfoo\r\n"), e("expected '$', got 'f'"));
    assert_eq!(err(b"*1\r\n\r\n"), e("expected '$', got ' '"));
    assert_eq!(err(b"*1\r\n$-1\r\n"), e("invalid bulk length"));
    assert_eq!(err(b"*1\r\n$abc\r\n"), e("invalid bulk length"));
    assert_eq!(err(b"*1\r\n$04\r\nPING\r\n"), e("invalid bulk length"));
    assert_eq!(err(b"*1\r\n$16777217\r\n"), e("invalid bulk length"));
    assert_eq!(err(b"set \"a b\r\n"), e("unbalanced quotes in request"));
    assert_eq!(err(b"set \"a\"b c\r\n"), e("unbalanced quotes in request"));
    assert_eq!(err(b"set 'a'b c\r\n"), e("unbalanced quotes in request"));
    assert_eq!(err(&[b'x'; 70_000]), e("too big inline request"));
    let mut long = vec![b'*'];
    long.extend_from_slice(&[b'1'; 70_000]);
    assert_eq!(err(&long), e("too big mbulk count string"));
    let mut long = b"*1\r\n".to_vec();
    long.extend_from_slice(&[b'$'; 70_000]);
    assert_eq!(err(&long), e("too big bulk count string"));
    // Errors are found as soon as the line is complete, not when the command is.
    assert_eq!(
        err(b"*2\r\n$3\r\nGET\r\n:1\r\n"),
        e("expected '$', got ':'")
    );
}

#[test]
fn limits_are_configurable() {
    let small = Limits {
        max_args: 2,
        max_bulk: 4,
        max_inline: 8,
        max_request: 32,
    };
    assert_eq!(
        parse(b"*3\r\n", &small),
        Err(ProtoError::InvalidMultibulkLength)
    );
    assert_eq!(
        parse(b"*1\r\n$5\r\n", &small),
        Err(ProtoError::InvalidBulkLength)
    );
    assert!(matches!(
        parse(b"*1\r\n$4\r\nabcd\r\n", &small),
        Ok(Some(_))
    ));
    assert_eq!(
        parse(b"ping ping\r\n", &small),
        Err(ProtoError::TooBigInline)
    );
    assert_eq!(parse(b"123456789", &small), Err(ProtoError::TooBigInline));
    assert_eq!(
        parse(b"*2\r\n$4\r\nabcd\r\n$4\r\nab", &small),
        Ok(None),
        "26 bytes so far"
    );
    let tight = Limits {
        max_request: 20,
        ..small
    };
    assert_eq!(
        parse(b"*2\r\n$4\r\nabcd\r\n$4\r\n", &tight),
        Err(ProtoError::TooBigRequest)
    );
    assert_eq!(
        ProtoError::TooBigRequest.to_string(),
        "Protocol error: too big request"
    );
}

#[test]
fn inline_like_sdssplitargs() {
    let a = |s: &[u8]| args(s).0;
    assert_eq!(a(b"PING\r\n"), words(&["PING"]));
    assert_eq!(a(b"set a b\n"), words(&["set", "a", "b"]));
    assert_eq!(a(b"  set\ta   b  \r\n"), words(&["set", "a", "b"]));
    assert_eq!(a(b"echo 'a\\'b'\r\n"), words(&["echo", "a'b"]));
    assert_eq!(a(b"echo \"\\x41\\n\"\r\n"), words(&["echo", "A\n"]));
    assert_eq!(
        a(b"echo \"a\\\"b\\tc\\zd\"\r\n"),
        words(&["echo", "a\"b\tczd"])
    );
    assert_eq!(a(b"ECHO \"a\"\t\r\n"), words(&["ECHO", "a"]));
    assert_eq!(a(b"echo \x0bx\r\n"), words(&["echo", "x"]));
    assert_eq!(a(b"echo ab\"c d\"\r\n"), words(&["echo", "abc d"]));
    assert_eq!(a(b"echo \"\"\r\n"), words(&["echo", ""]));
    assert_eq!(a(b"echo '\\x41'\r\n"), words(&["echo", "\\x41"]));
    // The words end at a NUL (Redis waits for more bytes there instead; see the module doc).
    assert_eq!(a(b"echo a\0b c\r\n"), words(&["echo", "a"]));
    // Words without quotes borrow the input.
    let (cmd, _) = parse(b"get key\r\n", &Limits::DEFAULT).unwrap().unwrap();
    assert!(cmd.args.iter().all(|a| matches!(a, Cow::Borrowed(_))));
    assert_eq!(cmd.name(), Some(&b"get"[..]));
}

#[test]
fn encoders() {
    let mut out = Vec::new();
    write_simple(&mut out, "OK");
    write_error(&mut out, "ERR bad\r\nthing");
    write_int(&mut out, 0);
    write_int(&mut out, -42);
    write_int(&mut out, i64::MIN);
    write_bulk(&mut out, b"a\r\nb");
    write_null_bulk(&mut out);
    write_array_header(&mut out, 2);
    write_null_array(&mut out);
    write_double(&mut out, 1.1);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "+OK\r\n-ERR bad  thing\r\n:0\r\n:-42\r\n:-9223372036854775808\r\n$4\r\na\r\nb\r\n\
         $-1\r\n*2\r\n*-1\r\n$18\r\n1.1000000000000001\r\n"
    );
}

#[test]
fn reply_tree() {
    let r = Reply::Array(vec![
        Reply::OK,
        Reply::err("syntax error"),
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into()),
        Reply::Int(7),
        Reply::Bulk(b"v".to_vec()),
        Reply::Double(f64::NEG_INFINITY),
        Reply::Nil,
        Reply::NilArray,
        Reply::Array(vec![]),
    ]);
    let mut out = Vec::new();
    r.encode(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "*9\r\n+OK\r\n-ERR syntax error\r\n\
         -WRONGTYPE Operation against a key holding the wrong kind of value\r\n:7\r\n$1\r\nv\r\n\
         $4\r\n-inf\r\n$-1\r\n*-1\r\n*0\r\n"
    );
}

#[test]
fn a_broken_contract_does_not_panic() {
    // A partial request, then buffers the parser did not see grow from it.
    let mut p = Parser::new(Limits::DEFAULT);
    assert_eq!(p.parse(b"*2\r\n$3\r\nGET\r\n$10\r\nabc"), Ok(None));
    for other in [
        &b""[..],
        b"*",
        b"*2\r\n",
        b"x\r\n",
        b"*2\r\n$3\r\nGE",
        b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
    ] {
        let _ = p.parse(other);
    }
    p.reset();
    assert_eq!(p.parse(b"PING\r\n").map(|r| r.map(|(_, n)| n)), Ok(Some(6)));
}
