//! The database write-ahead log as read back on start: arbitrary bytes must never panic,
//! and the bytes said to be good must parse to the same records again.
#![no_main]

use leither::db::wal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (records, good) = wal::parse(data);
    assert!(good <= data.len());
    let (again, good2) = wal::parse(&data[..good]);
    assert_eq!(good2, good);
    assert_eq!(again.len(), records.len());
});
