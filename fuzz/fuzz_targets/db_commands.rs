//! Any sequence of database commands, with any arguments, runs on a Mimei database without
//! panicking (overflow checks are on in fuzz builds), and leaves a keyspace every reader can
//! walk: after the commands, `SCAN`, `TYPE`, and a `DUMP`/`RESTORE` round trip of each key
//! answer without a panic. The input picks commands from the engine's table by index, so
//! the fuzzer reaches all of them (lists in chunks, streams, sets, sorted sets, bitmaps...).
//! A payload given to `RESTORE` is also tried with its checksum made right, so the payload
//! parser is reached past the check.
#![no_main]
use leither::db::engine::{self, COMMANDS};
use leither::db::kv::MemKv;
use leither::db::Reply;
use libfuzzer_sys::fuzz_target;

/// Commands one input may run, and arguments per command: keeps each run short.
const MAX_CMDS: usize = 64;
const MAX_ARGS: usize = 12;

fuzz_target!(|data: &[u8]| {
    let mut kv = MemKv::default();
    let mut now = 1_000_000u64;
    for cmd in data.split(|b| *b == 0xff).take(MAX_CMDS) {
        let Some((&pick, rest)) = cmd.split_first() else {
            continue;
        };
        let c = &COMMANDS[pick as usize % COMMANDS.len()];
        // Sorting and the algebra of sets are bounded by their own caps, but a fuzz run
        // is not the place to wait for them at full size; they are in the table anyway.
        let mut args: Vec<&[u8]> = vec![c.name.as_bytes()];
        args.extend(rest.split(|b| *b == 0xfe).take(MAX_ARGS));
        now += 7;
        let r = engine::exec(&mut kv, now, &args);
        if c.name == "restore"
            && let Some(payload) = args.get(3)
        {
            let mut fixed = payload.to_vec();
            fixed.extend_from_slice(&blake3::hash(payload).as_bytes()[..8]);
            let mut again = args.clone();
            again[3] = &fixed;
            let _ = engine::exec(&mut kv, now, &again);
        }
        drop(r);
    }
    // Every key reads back, and dumps and restores under another name.
    let Ok(Reply::Array(scan)) = engine::exec(&mut kv, now, &[b"scan", b"0", b"count", b"1000"])
    else {
        return;
    };
    let Some(Reply::Array(keys)) = scan.get(1).cloned() else {
        return;
    };
    for k in keys {
        let Reply::Bulk(k) = k else { continue };
        let _ = engine::exec(&mut kv, now, &[b"type", &k]);
        if let Ok(Reply::Bulk(p)) = engine::exec(&mut kv, now, &[b"dump", &k]) {
            let r = engine::exec(&mut kv, now, &[b"restore", b"\x00copy", b"0", &p, b"replace"]);
            assert!(r.is_ok(), "a DUMP payload does not RESTORE: {r:?}");
        }
    }
});
