//! Unit tests of [`super`] (head records and bundles): round trips, the pinned layout, every
//! bit of a head or bundle tampered, signers without write, expiry, heads that disagree with
//! their version record, truncation anywhere, trailing and over-long input, the DHT keys.

use super::*;
use crate::mimei::id::MimeiType;
use crate::mimei::record::HeaderFields;
use crate::mimei::rights::{Member, Rights};

const T0: u64 = 1_700_000_000;
const EOL: u64 = T0 + 86_400;

fn author_key() -> NodeKey {
    NodeKey::from_seed(&core::array::from_fn(|i| i as u8)).unwrap()
}

fn other_key() -> NodeKey {
    NodeKey::from_seed(&[0x42; 32]).unwrap()
}

/// A CIDv0 as bytes: multihash sha2-256 (0x12 0x20) of 32 bytes.
fn cid() -> Vec<u8> {
    let mut c = vec![0x12, 0x20];
    c.extend_from_slice(&[0xab; 32]);
    c
}

fn header_with(rights: Rights) -> MimeiHeader {
    MimeiHeader::sign(
        &author_key(),
        HeaderFields {
            app: None,
            kind: MimeiType::File,
            mark: "blog".into(),
            nonce: None,
            ext: "html".into(),
            created: T0,
            revision: 0,
            rights,
        },
    )
    .unwrap()
}

fn header() -> MimeiHeader {
    let key = author_key();
    let mut rights = Rights::new(key.id());
    rights
        .set(Some(&key.id()), Member::Everyone, Right::READ)
        .unwrap();
    header_with(rights)
}

fn version() -> VersionRecord {
    VersionRecord::sign(&author_key(), *header().mid(), 2, &cid(), 1, T0 + 60).unwrap()
}

fn head() -> HeadRecord {
    HeadRecord::sign(&author_key(), *header().mid(), 2, &cid(), 7, EOL).unwrap()
}

fn bundle() -> HeadBundle {
    HeadBundle {
        head: head(),
        header: header(),
        version: version(),
        refs: None,
    }
}

#[test]
fn head_round_trip_and_verify() {
    let h = head();
    assert_eq!(h.mid(), header().mid());
    assert_eq!((h.version(), h.seq(), h.eol()), (2, 7, EOL));
    assert_eq!(h.root_cid(), cid());
    assert_eq!(*h.signer(), author_key().id());
    assert_eq!(*h.signer_public_key(), author_key().public_key());
    let bytes = h.to_bytes();
    let back = HeadRecord::from_bytes(&bytes).unwrap();
    assert_eq!(back, h);
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(*back.signature(), *h.signature());
    back.verify_for(&header(), &version(), T0).unwrap();
}

#[test]
fn head_layout_is_pinned() {
    let h = head();
    let key = author_key();
    let mut want = b"LMP\x01".to_vec();
    want.extend_from_slice(header().mid().as_bytes());
    want.extend_from_slice(&[0x02, 34]); // version 2, CID length 34
    want.extend_from_slice(&cid());
    want.push(0x07); // seq 7
    want.extend_from_slice(&[0x80, 0x85, 0xd5, 0xaa, 0x06]); // EOL = 1700086400
    want.extend_from_slice(key.id().as_bytes());
    want.extend_from_slice(&key.public_key());
    let signed_len = want.len();
    want.extend_from_slice(h.signature());
    assert_eq!(h.to_bytes(), want);
    assert!(crate::pki::verify(
        &key.public_key(),
        &want[..signed_len],
        h.signature()
    ));
}

#[test]
fn sign_refuses_bad_fields_and_extremes_fit() {
    let key = author_key();
    let mid = *header().mid();
    for (ver, c, reason) in [
        (0, cid(), "start at 1"),
        (1, vec![], "1 to 128"),
        (1, vec![1; record::MAX_CID_LEN + 1], "1 to 128"),
    ] {
        let e = HeadRecord::sign(&key, mid, ver, &c, 1, EOL).unwrap_err();
        assert!(
            matches!(
                e,
                MimeiError::InvalidRecord {
                    what: "head record",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains(reason), "{reason}: {e}");
    }
    let big = HeadRecord::sign(
        &key,
        mid,
        u64::MAX,
        &[7; record::MAX_CID_LEN],
        u64::MAX,
        u64::MAX,
    )
    .unwrap();
    let bytes = big.to_bytes();
    assert_eq!(bytes.len(), 300, "the largest head record");
    assert!(bytes.len() <= MAX_HEAD_RECORD_LEN);
    assert_eq!(HeadRecord::from_bytes(&bytes).unwrap(), big);
    // A layout-valid record with version 0 is refused by the parser too.
    let mut zero = head().to_bytes();
    zero[24] = 0;
    let e = HeadRecord::from_bytes(&zero).unwrap_err();
    assert!(e.to_string().contains("start at 1"), "{e}");
}

/// Every single-bit change anywhere is refused, by the parser or by verification.
fn assert_tamper_proof(bytes: &[u8], accept: impl Fn(&[u8]) -> Result<(), MimeiError>) {
    accept(bytes).unwrap();
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = bytes.to_vec();
            t[i] ^= bit;
            assert!(
                accept(&t).is_err(),
                "byte {i} bit {bit:#x} changed, still accepted"
            );
        }
    }
}

#[test]
fn tampered_head_is_refused() {
    let (h, v) = (header(), version());
    assert_tamper_proof(&head().to_bytes(), |b| {
        HeadRecord::from_bytes(b)?.verify_for(&h, &v, T0)
    });
}

#[test]
fn tampered_bundle_is_refused() {
    assert_tamper_proof(&bundle().to_bytes(), |b| {
        HeadBundle::from_bytes(b)?.verify(T0)
    });
}

#[test]
fn signer_without_write_is_refused_until_granted() {
    let other = other_key();
    let mid = *header().mid();
    let h = HeadRecord::sign(&other, mid, 2, &cid(), 1, EOL).unwrap();
    let e = h.verify_for(&header(), &version(), T0).unwrap_err();
    assert!(
        matches!(
            e,
            MimeiError::SignerNotAllowed {
                what: "head record",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().starts_with("head record for Mimei"), "{e}");
    assert_eq!(e.http_status(), 403);
    let key = author_key();
    let mut rights = header().rights().clone();
    rights
        .set(Some(&key.id()), Member::User(other.id()), Right::WRITE)
        .unwrap();
    let granted = header().with_rights(&key, rights).unwrap();
    h.verify_for(&granted, &version(), T0).unwrap();
    // The bundle: the author's version record, a writer's head.
    let b = HeadBundle {
        head: h,
        header: granted,
        version: version(),
        refs: None,
    };
    b.verify(T0).unwrap();
    assert_eq!(HeadBundle::from_bytes(&b.to_bytes()).unwrap(), b);
}

#[test]
fn expired_head_is_refused() {
    let h = head();
    h.verify_for(&header(), &version(), EOL - 1).unwrap();
    for now in [EOL, EOL + 1, u64::MAX] {
        let e = h.verify_for(&header(), &version(), now).unwrap_err();
        assert!(
            matches!(e, MimeiError::Expired { eol: EOL, .. }),
            "{now}: {e}"
        );
        assert!(e.to_string().contains("expired"), "{e}");
        assert_eq!(e.http_status(), 400);
    }
    let e = bundle().verify(EOL).unwrap_err();
    assert!(matches!(e, MimeiError::Expired { .. }), "{e}");
}

#[test]
fn head_must_match_its_version_record() {
    let key = author_key();
    let mid = *header().mid();
    let h = HeadRecord::sign(&key, mid, 3, &cid(), 8, EOL).unwrap();
    let e = h.verify_for(&header(), &version(), T0).unwrap_err();
    assert!(matches!(e, MimeiError::HeadMismatch { .. }), "{e}");
    assert!(e.to_string().contains("version 3"), "{e}");
    let mut other_cid = cid();
    other_cid[5] ^= 1;
    let h = HeadRecord::sign(&key, mid, 2, &other_cid, 8, EOL).unwrap();
    let e = h.verify_for(&header(), &version(), T0).unwrap_err();
    assert!(matches!(e, MimeiError::HeadMismatch { .. }), "{e}");
    assert!(e.to_string().contains("root CID"), "{e}");
    // A head for another Mimei, and a version record for another Mimei.
    let elsewhere = LeitherId::from_bytes([9; 20]);
    let h = HeadRecord::sign(&key, elsewhere, 2, &cid(), 8, EOL).unwrap();
    let e = h.verify_for(&header(), &version(), T0).unwrap_err();
    assert!(matches!(e, MimeiError::WrongMimei { .. }), "{e}");
    let v = VersionRecord::sign(&key, elsewhere, 2, &cid(), 1, T0).unwrap();
    let e = head().verify_for(&header(), &v, T0).unwrap_err();
    assert!(matches!(e, MimeiError::WrongMimei { .. }), "{e}");
    // The bundle catches a version record from a key without write.
    let b = HeadBundle {
        version: VersionRecord::sign(&other_key(), *header().mid(), 2, &cid(), 1, T0).unwrap(),
        ..bundle()
    };
    assert!(matches!(
        b.verify(T0),
        Err(MimeiError::SignerNotAllowed {
            what: "version record",
            ..
        })
    ));
}

#[test]
fn truncated_trailing_and_long_input_is_refused() {
    let bytes = head().to_bytes();
    for cut in 0..bytes.len() {
        let e = HeadRecord::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(
                e,
                MimeiError::MalformedRecord {
                    what: "head record",
                    ..
                }
            ),
            "{cut}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    let e = HeadRecord::from_bytes(&long).unwrap_err();
    assert!(e.to_string().contains("1 unexpected bytes"), "{e}");
    let e = HeadRecord::from_bytes(&vec![0; MAX_HEAD_RECORD_LEN + 1]).unwrap_err();
    assert!(e.to_string().contains("the limit is 384"), "{e}");
    let mut magic = bytes.clone();
    magic[3] = 2;
    assert!(HeadRecord::from_bytes(&magic).is_err());
    // A signer ID that is not the key's is refused at parse time.
    let mut swapped = bytes.clone();
    let at = bytes.len() - 64 - 32 - 20;
    swapped[at] ^= 1;
    let e = HeadRecord::from_bytes(&swapped).unwrap_err();
    assert!(
        e.to_string().contains("not the ID of the signer key"),
        "{e}"
    );

    let bytes = bundle().to_bytes();
    for cut in 0..bytes.len() {
        assert!(HeadBundle::from_bytes(&bytes[..cut]).is_err(), "{cut}");
    }
    let mut long = bytes.clone();
    long.push(0);
    let e = HeadBundle::from_bytes(&long).unwrap_err();
    assert!(
        matches!(
            e,
            MimeiError::MalformedRecord {
                what: "head bundle",
                ..
            }
        ),
        "{e}"
    );
    let e = HeadBundle::from_bytes(&vec![0; MAX_BUNDLE_LEN + 1]).unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
}

#[test]
fn bundle_round_trip_and_layout() {
    let b = bundle();
    b.verify(T0).unwrap();
    let bytes = b.to_bytes();
    let mut want = b"LMB\x01".to_vec();
    for part in [b.header.to_bytes(), b.version.to_bytes(), b.head.to_bytes()] {
        let mut w = Writer::new();
        w.bytes(&part);
        want.extend_from_slice(&w.into_vec());
    }
    assert_eq!(bytes, want);
    let back = HeadBundle::from_bytes(&bytes).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.to_bytes(), bytes);
    // The largest header, version record and head record fit together.
    const { assert!(MAX_HEAD_RECORD_LEN + 4 + 3 * 2 <= MAX_BUNDLE_LEN - 8 * 1024 - 512) };
    // A part too long for its own limit is refused by its length, before it is parsed.
    let mut w = Writer::new();
    w.array(&BUNDLE_MAGIC);
    w.varint(record::MAX_HEADER_LEN as u64 + 1);
    let e = HeadBundle::from_bytes(&w.into_vec()).unwrap_err();
    assert!(e.to_string().contains("header is longer"), "{e}");
    // Parts in the wrong order are refused.
    let mut w = Writer::new();
    w.array(&BUNDLE_MAGIC);
    w.bytes(&b.version.to_bytes());
    w.bytes(&b.header.to_bytes());
    w.bytes(&b.head.to_bytes());
    assert!(HeadBundle::from_bytes(&w.into_vec()).is_err());
}

#[test]
fn dht_keys() {
    let mid = *header().mid();
    let key = dht_record_key(&mid);
    assert_eq!(&key[..14], b"/leither/head/");
    assert_eq!(&key[14..], mid.as_bytes());
    let key = provider_key(&mid);
    assert_eq!(&key[..12], b"/leither/mm/");
    assert_eq!(&key[12..], mid.as_bytes());
    assert_eq!(key.len(), 32);
}

#[test]
fn references_travel_signed_in_a_format_2_bundle() {
    use crate::mimei::refs::RefsRecord;
    let b = bundle();
    const VV: u64 = 2;
    assert_eq!(b.version.version(), VV);
    // Without references the bundle stays format 1, as older nodes read it.
    assert_eq!(&b.to_bytes()[..4], b"LMB\x01");
    let refs = RefsRecord::sign(&author_key(), *header().mid(), VV, &cid(), 3).unwrap();
    let with = HeadBundle {
        refs: Some(refs),
        ..bundle()
    };
    let bytes = with.to_bytes();
    assert_eq!(&bytes[..4], b"LMB\x02");
    let back = HeadBundle::from_bytes(&bytes).unwrap();
    assert_eq!(back, with);
    back.verify(T0).unwrap();
    // For another version, or signed by a key without write: refused.
    let wrong = HeadBundle {
        refs: Some(RefsRecord::sign(&author_key(), *header().mid(), VV + 1, &cid(), 3).unwrap()),
        ..bundle()
    };
    assert!(wrong.verify(T0).is_err());
    let stranger = HeadBundle {
        refs: Some(RefsRecord::sign(&other_key(), *header().mid(), VV, &cid(), 3).unwrap()),
        ..bundle()
    };
    assert!(stranger.verify(T0).is_err());
    // A flipped byte anywhere in the references record fails parsing or verification.
    let start = bytes.len() - 100;
    for i in start..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 1;
        if let Ok(b) = HeadBundle::from_bytes(&t) {
            assert!(b.verify(T0).is_err(), "byte {i}");
        }
    }
}
