//! CAR v1 from untrusted bytes: the streaming reader never panics, gives the same answer fed
//! whole or in pieces, and every block it yields matches its CID; an exporter walk over the
//! yielded blocks (from the first root) never panics either.
#![no_main]
use leither::ipfs::car::{CarItem, CarReader, read_car};
use leither::ipfs::exporter::{self, ExportError};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let whole = read_car(data);
    let mut r = CarReader::default();
    let mut items = Vec::new();
    let mut ok = true;
    for piece in data.chunks(13) {
        match r.push(piece) {
            Ok(mut got) => items.append(&mut got),
            Err(_) => {
                ok = false;
                break;
            }
        }
    }
    let ok = ok && r.finish().is_ok();
    if let Ok((roots, blocks)) = whole {
        assert!(ok, "pieces must parse where the whole does");
        assert_eq!(items.len(), blocks.len() + 1);
        let store: HashMap<_, _> = blocks.iter().map(|b| (b.cid, b.data.clone())).collect();
        for b in &blocks {
            assert!(b.cid.verify(&b.data).is_ok());
        }
        if let Some(root) = roots.first() {
            let _ = exporter::read_range(
                *root,
                3,
                4096,
                |c| store.get(c).cloned().ok_or(ExportError::Missing(*c)),
                |_| {},
            );
        }
        assert!(matches!(items.first(), Some(CarItem::Header(_))));
    }
});
