//! dag-pb from untrusted bytes: decoding never panics, and a decoded node in canonical order
//! (Links before Data) re-encodes to exactly the bytes it came from, so its CID is stable.
#![no_main]
use leither::ipfs::dagpb::PbNode;
use leither::ipfs::exporter::list_directory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = PbNode::decode(data) {
        let again = node.encode();
        assert_eq!(again.len(), node.encoded_len());
        assert_eq!(
            PbNode::decode(&again).expect("encoded node must decode"),
            node
        );
        if data.first() != Some(&0x0a) {
            assert_eq!(again, data);
        }
    }
    let _ = list_directory(data);
});
