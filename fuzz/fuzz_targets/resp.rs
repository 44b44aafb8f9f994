//! The RESP2 request parser follows any byte stream without panicking: it never claims more
//! bytes than it was given, never uses zero bytes for a command, and a `Parser` fed the
//! stream in small pieces finds the same commands (or the same error) as `parse` on the
//! whole buffer. The number readers take every argument too.
#![no_main]
use leither::db::num;
use leither::resp::proto::{Limits, Parser, parse};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_args: 64,
    max_bulk: 256,
    max_inline: 512,
    max_request: 2048,
};

type Args = Vec<Vec<u8>>;

/// Every command `parse` finds in `data` from its start, and how it stopped.
fn whole(data: &[u8]) -> (Vec<Args>, Option<String>) {
    let mut cmds = Vec::new();
    let mut rest = data;
    loop {
        match parse(rest, &LIMITS) {
            Ok(Some((cmd, used))) => {
                assert!(
                    used > 0 && used <= rest.len(),
                    "used {used} of {}",
                    rest.len()
                );
                for a in &cmd.args {
                    let _ = num::parse_int(a);
                    let _ = num::parse_float(a).map(num::format_double);
                    let _ = num::parse_score_bound(a);
                }
                cmds.push(cmd.args.iter().map(|a| a.to_vec()).collect());
                rest = &rest[used..];
            }
            Ok(None) => return (cmds, None),
            Err(e) => return (cmds, Some(e.to_string())),
        }
    }
}

/// The same through one `Parser`, the stream arriving `step` bytes at a time.
fn pieces(data: &[u8], step: usize) -> (Vec<Args>, Option<String>) {
    let mut p = Parser::new(LIMITS);
    let mut cmds = Vec::new();
    let mut start = 0;
    let mut end = 0;
    while end < data.len() {
        end = (end + step).min(data.len());
        loop {
            match p.parse(&data[start..end]) {
                Ok(Some((cmd, used))) => {
                    assert!(used > 0 && start + used <= end);
                    cmds.push(cmd.args.iter().map(|a| a.to_vec()).collect());
                    start += used;
                }
                Ok(None) => break,
                Err(e) => return (cmds, Some(e.to_string())),
            }
        }
    }
    (cmds, None)
}

fuzz_target!(|data: &[u8]| {
    let a = whole(data);
    // Errors that depend on how much arrived (the "too big" ones) may come earlier or
    // later in pieces; the commands before them and any other error must agree.
    let b = pieces(data, 1 + data.first().map_or(0, |c| usize::from(*c % 16)));
    let size_dependent = |e: &Option<String>| e.as_deref().is_some_and(|e| e.contains("too big"));
    if !size_dependent(&a.1) && !size_dependent(&b.1) {
        assert_eq!(a, b);
    }
});
