//! UnixFS `Data` from untrusted bytes: decoding never panics, and the strict decoder only
//! accepts canonical encodings, so whatever decodes re-encodes to the same bytes.
#![no_main]
use leither::ipfs::unixfs::UnixFs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(fs) = UnixFs::decode(data) {
        assert_eq!(fs.encoded_len(), data.len());
        assert_eq!(fs.encode(), data);
    }
});
