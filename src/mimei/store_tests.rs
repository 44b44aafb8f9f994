//! Tests of the Mimei tables: round trips, version numbering, verification on read, gc roots.

use super::*;
use crate::mimei::{HeaderFields, MimeiType, Rights};
use crate::pki::NodeKey;

fn take(_: &Tags) -> Verdict {
    Verdict::Take
}

fn setup(name: &str) -> (std::path::PathBuf, Store, NodeKey) {
    let h = std::env::temp_dir().join(format!("leither-mmstore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&h);
    std::fs::create_dir_all(&h).unwrap();
    let s = Store::open(&h, 1 << 20, "id").unwrap();
    (h, s, NodeKey::from_seed(&[7; 32]).unwrap())
}

fn header(key: &NodeKey) -> MimeiHeader {
    MimeiHeader::sign(
        key,
        HeaderFields {
            app: None,
            kind: MimeiType::File,
            mark: "m".into(),
            nonce: None,
            ext: String::new(),
            created: 1,
            revision: 0,
            rights: Rights::new(key.id()),
        },
    )
    .unwrap()
}

fn cid(n: u8) -> Cid {
    Cid::of_block(
        crate::ipfs::cid::Version::V1,
        crate::ipfs::cid::Codec::Raw,
        &[n],
    )
}

#[test]
fn versions_round_trip_and_numbers_are_not_reused() {
    let (h, s, key) = setup("rt");
    let m = Mimeis::new(&s);
    let hd = header(&key);
    let mid = *hd.mid();
    m.create(&hd).unwrap();
    assert!(matches!(m.create(&hd), Err(MimeiStoreError::Conflict(_))));
    assert!(matches!(
        m.root(&mid, VersionName::Last),
        Err(MimeiStoreError::NotFound(_))
    ));
    m.set_cur(&mid, Some(cid(1)), &mut take).unwrap();
    for v in 1..=2u64 {
        let rec = VersionRecord::sign(&key, mid, v, &cid(v as u8).to_bytes(), v - 1, 5).unwrap();
        m.add_version(&rec, &mut take).unwrap();
    }
    assert_eq!(m.root(&mid, VersionName::Last).unwrap(), (cid(2), Some(2)));
    assert_eq!(m.root(&mid, VersionName::Cur).unwrap(), (cid(1), None));
    m.set_release(&mid, 1).unwrap();
    assert_eq!(m.root(&mid, VersionName::Release).unwrap().1, Some(1));
    m.delete_versions(&mid, &[1, 2]).unwrap();
    assert!(m.versions(&mid).unwrap().is_empty());
    assert_eq!(m.state(&mid).unwrap().release, 0);
    // The next record must be 3: numbers are never reused.
    let again = VersionRecord::sign(&key, mid, 1, &cid(9).to_bytes(), 0, 5).unwrap();
    assert!(matches!(
        m.add_version(&again, &mut take),
        Err(MimeiStoreError::Conflict(_))
    ));
    let roots = mimei_roots(&s).unwrap();
    assert_eq!(roots, vec![cid(1)]);
    drop(s);
    std::fs::remove_dir_all(&h).unwrap();
}

#[test]
fn a_record_by_a_key_without_write_is_refused() {
    let (h, s, key) = setup("nowrite");
    let m = Mimeis::new(&s);
    let hd = header(&key);
    m.create(&hd).unwrap();
    let other = NodeKey::from_seed(&[8; 32]).unwrap();
    let rec = VersionRecord::sign(&other, *hd.mid(), 1, &cid(1).to_bytes(), 0, 5).unwrap();
    assert!(matches!(
        m.add_version(&rec, &mut take),
        Err(MimeiStoreError::Model(MimeiError::SignerNotAllowed { .. }))
    ));
    drop(s);
    std::fs::remove_dir_all(&h).unwrap();
}

#[test]
fn a_tampered_record_is_refused_on_read() {
    let (h, s, key) = setup("tamper");
    let m = Mimeis::new(&s);
    let hd = header(&key);
    let mid = *hd.mid();
    m.create(&hd).unwrap();
    let rec = VersionRecord::sign(&key, mid, 1, &cid(1).to_bytes(), 0, 5).unwrap();
    m.add_version(&rec, &mut take).unwrap();
    let mut bytes = rec.to_bytes();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let tx = s.db().begin_write().unwrap();
    tx.open_table(VERSIONS)
        .unwrap()
        .insert(version_key(&mid, 1).as_slice(), bytes.as_slice())
        .unwrap();
    tx.commit().unwrap();
    let e = m.version(&mid, 1).unwrap_err();
    assert!(matches!(e, MimeiStoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("failed verification"), "{e}");
    assert_eq!(e.http_status(), 500);
    drop(s);
    std::fs::remove_dir_all(&h).unwrap();
}
