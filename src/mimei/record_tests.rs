//! Unit tests of [`super`] (signed headers and version records): round trips, pinned bytes,
//! tampering anywhere, truncation anywhere, signers without rights, forged headers.

use super::*;
use crate::mimei::id::AUTO_MARK;
use crate::mimei::rights::Member;

const T0: u64 = 1_700_000_000;

/// The author of docs/mimei.md's vectors: made before IDs followed Leither's rule, so it keeps
/// its legacy ID, and its records must still verify.
fn author_key() -> NodeKey {
    NodeKey::from_seed(&core::array::from_fn(|i| i as u8))
        .unwrap()
        .into_legacy()
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

fn fields(rights: Rights) -> HeaderFields {
    HeaderFields {
        app: None,
        kind: MimeiType::File,
        mark: "blog".into(),
        nonce: None,
        ext: "html".into(),
        created: T0,
        revision: 0,
        rights,
    }
}

fn header() -> MimeiHeader {
    let key = author_key();
    let mut rights = Rights::new(key.id());
    rights
        .set(Some(&key.id()), Member::Everyone, Right::READ)
        .unwrap();
    MimeiHeader::sign(&key, fields(rights)).unwrap()
}

fn record() -> VersionRecord {
    VersionRecord::sign(&author_key(), *header().mid(), 2, &cid(), 1, T0 + 60).unwrap()
}

#[test]
fn version_record_round_trip_and_verify() {
    let h = header();
    h.verify().unwrap();
    let rec = record();
    assert_eq!(rec.mid(), h.mid());
    assert_eq!(
        (rec.version(), rec.prev_version(), rec.time()),
        (2, 1, T0 + 60)
    );
    assert_eq!(rec.root_cid(), cid());
    assert_eq!(*rec.signer(), author_key().id());
    let bytes = rec.to_bytes();
    let back = VersionRecord::from_bytes(&bytes).unwrap();
    assert_eq!(back, rec);
    assert_eq!(back.to_bytes(), bytes);
    back.verify(h.rights()).unwrap();
    back.verify_for(&h).unwrap();
}

#[test]
fn version_record_layout_is_pinned() {
    let rec = record();
    let key = author_key();
    let mut want = b"LMV\x01".to_vec();
    want.extend_from_slice(header().mid().as_bytes());
    want.extend_from_slice(&[0x02, 34]); // version 2, CID length 34
    want.extend_from_slice(&cid());
    want.push(0x01); // previous version
    want.extend_from_slice(&[0xbc, 0xe2, 0xcf, 0xaa, 0x06]); // T0 + 60 = 1700000060
    want.extend_from_slice(key.id().as_bytes());
    want.extend_from_slice(&key.public_key());
    assert_eq!(&rec.to_bytes()[..want.len()], &want[..]);
    assert_eq!(rec.to_bytes().len(), want.len() + 64);
    assert!(crate::pki::verify(
        &key.public_key(),
        &want,
        rec.signature()
    ));
}

#[test]
fn signing_checks_the_fields() {
    let key = author_key();
    let mid = *header().mid();
    let cases: [(u64, Vec<u8>, u64, &str); 5] = [
        (0, cid(), 0, "start at 1"),
        (3, cid(), 3, "not below"),
        (3, cid(), 7, "not below"),
        (1, vec![], 0, "1 to 128"),
        (1, vec![1; MAX_CID_LEN + 1], 0, "1 to 128"),
    ];
    for (ver, c, prev, reason) in cases {
        let e = VersionRecord::sign(&key, mid, ver, &c, prev, T0).unwrap_err();
        assert!(matches!(e, MimeiError::InvalidRecord { .. }), "{e}");
        assert!(e.to_string().contains(reason), "{reason}: {e}");
    }
    // Extremes are fine and round-trip.
    let rec = VersionRecord::sign(
        &key,
        mid,
        u64::MAX,
        &[7; MAX_CID_LEN],
        u64::MAX - 1,
        u64::MAX,
    )
    .unwrap();
    let bytes = rec.to_bytes();
    assert_eq!(bytes.len(), 300, "the largest record");
    assert_eq!(VersionRecord::from_bytes(&bytes).unwrap(), rec);
}

#[test]
fn signer_without_write_right_is_refused() {
    let h = header();
    let other = other_key();
    let rec = VersionRecord::sign(&other, *h.mid(), 1, &cid(), 0, T0).unwrap();
    let e = rec.verify_for(&h).unwrap_err();
    assert!(matches!(e, MimeiError::SignerNotAllowed { .. }), "{e}");
    assert!(e.to_string().contains(&other.id().to_string()), "{e}");
    assert_eq!(e.http_status(), 403);
    // Read (from *) is not enough; write granted by the author is.
    let key = author_key();
    let mut rights = h.rights().clone();
    rights
        .set(Some(&key.id()), Member::User(other.id()), Right::WRITE)
        .unwrap();
    let h2 = h.with_rights(&key, rights).unwrap();
    h2.verify().unwrap();
    assert_eq!(h2.mid(), h.mid());
    assert_eq!(h2.fields().revision, 1);
    rec.verify_for(&h2).unwrap();
    // Write granted to everyone counts for every user key.
    let mut open = Rights::new(key.id());
    open.set(Some(&key.id()), Member::Everyone, Right::WRITE)
        .unwrap();
    rec.verify(&open).unwrap();
}

#[test]
fn record_for_another_mimei_is_refused() {
    let h = header();
    let other_mid = LeitherId::from_bytes([9; 20]);
    let rec = VersionRecord::sign(&author_key(), other_mid, 1, &cid(), 0, T0).unwrap();
    let e = rec.verify_for(&h).unwrap_err();
    assert!(matches!(e, MimeiError::WrongMimei { .. }), "{e}");
}

/// Every single-bit change anywhere is refused, by the parser or by `verify`.
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
fn tampered_version_record_is_refused() {
    let h = header();
    assert_tamper_proof(&record().to_bytes(), |b| {
        VersionRecord::from_bytes(b)?.verify_for(&h)
    });
}

#[test]
fn tampered_header_is_refused() {
    let mut f = fields(Rights::new(author_key().id()));
    f.app = Some(LeitherId::from_bytes([3; 20]));
    f.mark = AUTO_MARK.into();
    f.nonce = Some([5; 16]);
    let key = author_key();
    f.rights
        .set(
            Some(&key.id()),
            Member::User(other_key().id()),
            Right::WRITE,
        )
        .unwrap();
    let h = MimeiHeader::sign(&key, f).unwrap();
    assert_tamper_proof(&h.to_bytes(), |b| MimeiHeader::from_bytes(b)?.verify());
}

#[test]
fn every_truncated_prefix_is_an_error() {
    for bytes in [record().to_bytes(), header().to_bytes()] {
        for n in 0..bytes.len() {
            assert!(
                VersionRecord::from_bytes(&bytes[..n]).is_err(),
                "prefix {n}"
            );
            assert!(MimeiHeader::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        let e = VersionRecord::from_bytes(&long)
            .err()
            .zip(MimeiHeader::from_bytes(&long).err())
            .expect("a trailing byte is refused by both parsers");
        assert!(e.0.to_string().contains("malformed"), "{}", e.0);
    }
}

#[test]
fn parsers_refuse_bad_layouts() {
    let rec = record().to_bytes();
    let cases: [(Vec<u8>, &str); 5] = [
        (vec![], "cut short in the magic"),
        (b"PPT\x01".to_vec(), "magic"),
        (vec![0; MAX_VERSION_RECORD_LEN + 1], "limit is 512"),
        // CID length 0x7f > 128? no: 200 as a varint, above the limit.
        ([&rec[..25], &[0xc8, 0x01]].concat(), "limit of 128"),
        // Padded version varint.
        ([&rec[..24], &[0x82, 0x00]].concat(), "minimal varint"),
    ];
    for (bytes, reason) in cases {
        let e = VersionRecord::from_bytes(&bytes).unwrap_err();
        assert!(matches!(e, MimeiError::MalformedRecord { .. }), "{e}");
        assert!(e.to_string().contains(reason), "{reason}: {e}");
        assert_eq!(e.http_status(), 400);
    }
    // Signer ID not matching the key: refused even with a valid-looking layout.
    let mut t = rec.clone();
    let signer_at = rec.len() - 64 - 32 - 20;
    t[signer_at] ^= 1;
    let e = VersionRecord::from_bytes(&t).unwrap_err();
    assert!(
        e.to_string().contains("not the ID of the signer key"),
        "{e}"
    );
}

#[test]
fn forged_header_for_someone_elses_mimei_is_refused() {
    // An attacker takes the author's header and signs the same fields with its own key,
    // keeping the victim's Mimei ID: the ID no longer derives from the (new) author.
    let victim = header();
    let attacker = other_key();
    let mut f = victim.fields().clone();
    f.rights = Rights::new(attacker.id());
    let own = MimeiHeader::sign(&attacker, f).unwrap();
    assert_ne!(own.mid(), victim.mid(), "its own header gets its own ID");
    let mut bytes = own.to_bytes();
    bytes[4..24].copy_from_slice(victim.mid().as_bytes());
    let forged = MimeiHeader::from_bytes(&bytes).unwrap();
    // The signature no longer covers the swapped ID...
    assert!(matches!(
        forged.verify(),
        Err(MimeiError::BadSignature { .. })
    ));
    // ...and re-signing it does not help: the ID is not derived from the attacker's inputs.
    let resigned = MimeiHeader {
        signature: attacker.sign(&forged.signed_bytes().into_vec()),
        ..forged
    };
    let e = resigned.verify().unwrap_err();
    assert!(matches!(e, MimeiError::MidNotDerived { .. }), "{e}");
}

#[test]
fn header_round_trip_and_rules() {
    let key = author_key();
    let h = MimeiHeader::create(&key, {
        let mut f = fields(Rights::new(key.id()));
        f.mark = AUTO_MARK.into();
        f
    })
    .unwrap();
    assert!(h.fields().nonce.is_some());
    h.verify().unwrap();
    let b = h.to_bytes();
    let back = MimeiHeader::from_bytes(&b).unwrap();
    assert_eq!(back, h);
    assert_eq!(back.to_bytes(), b);
    assert_eq!(back.author(), &key.id());
    // A header with a fixed mark gets the ID `derive` gives.
    let fixed = header();
    assert_eq!(
        *fixed.mid(),
        id::derive(&key.id(), None, MimeiType::File, "blog", None).unwrap()
    );
    // Only the author signs; ext and mark are checked.
    let e = MimeiHeader::sign(&other_key(), fields(Rights::new(key.id()))).unwrap_err();
    assert!(e.to_string().contains("only the author signs"), "{e}");
    let mut f = fields(Rights::new(key.id()));
    f.ext = "x".repeat(MAX_EXT_LEN + 1);
    assert!(matches!(
        MimeiHeader::sign(&key, f),
        Err(MimeiError::InvalidExt { .. })
    ));
    let mut f = fields(Rights::new(key.id()));
    f.mark = "a\nb".into();
    assert!(matches!(
        MimeiHeader::sign(&key, f),
        Err(MimeiError::InvalidMark { .. })
    ));
}

#[test]
fn largest_header_fits_the_limit() {
    let key = author_key();
    let mut rights = Rights::new(key.id());
    for i in 0..crate::mimei::rights::MAX_GRANTS {
        let mut b = [0xffu8; 20];
        b[..8].copy_from_slice(&(i as u64).to_be_bytes());
        rights
            .set(
                Some(&key.id()),
                Member::User(LeitherId::from_bytes(b)),
                Right::ALL,
            )
            .unwrap();
    }
    // The longest mark is longer than {{auto}} plus its nonce, so this is the largest header.
    let f = HeaderFields {
        app: Some(LeitherId::from_bytes([1; 20])),
        kind: MimeiType::Db,
        mark: "m".repeat(id::MAX_MARK_LEN),
        nonce: None,
        ext: "e".repeat(MAX_EXT_LEN),
        created: u64::MAX,
        revision: u64::MAX,
        rights,
    };
    let h = MimeiHeader::sign(&key, f).unwrap();
    let bytes = h.to_bytes();
    assert_eq!(bytes.len(), 6140);
    assert!(bytes.len() <= MAX_HEADER_LEN);
    assert_eq!(MimeiHeader::from_bytes(&bytes).unwrap(), h);
    h.verify().unwrap();
}

fn unhex(parts: &[&str]) -> Vec<u8> {
    let s: String = parts.concat();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The vectors of docs/mimei.md: key seed 00..1f, Mimei "blog" (file, no app), version 1 with
/// the CIDv0 of the empty UnixFS file (QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH), time
/// 1700000000; header with ext "html", * = read. Both signatures were checked with Node.js
/// `crypto.verify` (ed25519) and the fields decoded by an independent Python reader.
#[test]
fn pinned_vectors() {
    let key = author_key();
    let mid = id::derive(&key.id(), None, MimeiType::File, "blog", None).unwrap();
    let cid = unhex(&["1220bfccda787baba32b59c78450ac3d20b633360b43992c77289f9ed46d843561e6"]);
    let v = VersionRecord::sign(&key, mid, 1, &cid, 0, T0).unwrap();
    let want = unhex(&[
        "4c4d5601b2dda2043d4fbdfc24be6d9ab9071e1e001d897201221220bfccda787baba32b59c78450",
        "ac3d20b633360b43992c77289f9ed46d843561e60080e2cfaa06e30cba700faebff9cf482d3589bd",
        "1cbcc903d28003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b87844",
        "9f0558cd1f37a0af9f710d7037b24cefb9df54eab6d46828a1adc044d28c408e51e51eaa57da8d3b",
        "3e5ff1d42e1834eed8879a72a958ee627ffb39e0c806",
    ]);
    assert_eq!(v.to_bytes(), want);
    VersionRecord::from_bytes(&want)
        .unwrap()
        .verify_for(&header())
        .unwrap();
    let mut f = fields(Rights::new(key.id()));
    f.rights
        .set(Some(&key.id()), Member::Everyone, Right::READ)
        .unwrap();
    let h = MimeiHeader::sign(&key, f).unwrap();
    let want = unhex(&[
        "4c4d4801b2dda2043d4fbdfc24be6d9ab9071e1e001d8972e30cba700faebff9cf482d3589bd1cbc",
        "c903d28003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b800010462",
        "6c6f67000468746d6c80e2cfaa0600010001f6b09336a5a9a596c3a5b83625046917bcf38b4012b6",
        "082300cd16d0e6f993bce2f000de6a5f5459a93faccb183e784b6ce8bfdf8347a441f29353f34409",
        "1705",
    ]);
    assert_eq!(h.to_bytes(), want);
    MimeiHeader::from_bytes(&want).unwrap().verify().unwrap();
}
