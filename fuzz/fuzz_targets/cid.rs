//! CIDs from untrusted text and bytes: parsing never panics, and whatever parses has one
//! spelling: binary re-encodes to the same bytes, and `b...`/`Qm...` text prints back to itself.
#![no_main]
use leither::ipfs::cid::Cid;
use leither::ipfs::multihash::Multihash;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cid) = Cid::from_bytes(data) {
        assert_eq!(cid.to_bytes(), data);
        let text = cid.to_string();
        assert_eq!(text.parse::<Cid>().expect("printed CID must parse"), cid);
    }
    if let Ok((cid, used)) = Cid::read_bytes(data) {
        assert_eq!(cid.to_bytes(), &data[..used]);
    }
    if let Ok(mh) = Multihash::from_bytes(data) {
        assert_eq!(mh.to_bytes(), data);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cid) = text.parse::<Cid>()
        && (text.starts_with('b') || text.starts_with("Qm"))
    {
        assert_eq!(cid.to_string(), text);
    }
});
