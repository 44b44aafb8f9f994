//! Unit tests of [`super`] (rights bits and tables): author, member and guest checks, who may
//! set what, and the canonical encoding.

use super::*;

fn id(n: u8) -> LeitherId {
    LeitherId::from_bytes([n; 20])
}

const AUTHOR: u8 = 0x50;

/// Author 0x50; `*` reads; 0x10 writes; 0x60 is an admin with read and write.
fn table() -> Rights {
    let author = id(AUTHOR);
    let mut t = Rights::new(author);
    t.set(Some(&author), Member::Everyone, Right::READ).unwrap();
    t.set(Some(&author), Member::User(id(0x10)), Right::WRITE)
        .unwrap();
    t.set(
        Some(&author),
        Member::User(id(0x60)),
        Right::ADMIN | Right::READ | Right::WRITE,
    )
    .unwrap();
    t
}

#[test]
fn author_holds_everything_always() {
    let t = Rights::new(id(AUTHOR));
    assert_eq!(t.effective(Some(&id(AUTHOR))), Right::ALL);
    for bit in Right::NAMES.map(|(b, _)| b) {
        t.check(Some(&id(AUTHOR)), bit).unwrap();
    }
    assert_eq!(t.granted(&Member::User(id(AUTHOR))), Right::ALL);
}

#[test]
fn private_mimei_refuses_everyone_else() {
    let t = Rights::new(id(AUTHOR));
    for user in [None, Some(id(1))] {
        let e = t.check(user.as_ref(), Right::READ).unwrap_err();
        assert!(
            matches!(e, MimeiError::Forbidden { missing, .. } if missing == Right::READ),
            "{e}"
        );
        assert_eq!(e.http_status(), 403);
    }
}

#[test]
fn members_get_their_entry_plus_everyone() {
    let t = table();
    assert_eq!(t.effective(Some(&id(0x10))), Right::READ | Right::WRITE);
    t.check(Some(&id(0x10)), Right::READ | Right::WRITE)
        .unwrap();
    let e = t
        .check(Some(&id(0x10)), Right::WRITE | Right::DELETE)
        .unwrap_err();
    assert!(
        matches!(e, MimeiError::Forbidden { missing, .. } if missing == Right::DELETE),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains(&id(0x10).to_string()), "{text}");
    assert!(text.contains("delete"), "{text}");
    // A logged-in stranger gets exactly what * grants.
    assert_eq!(t.effective(Some(&id(0x99))), Right::READ);
}

#[test]
fn guests_only_read_what_everyone_may_read() {
    let mut t = table();
    assert_eq!(t.effective(None), Right::READ);
    t.check(None, Right::READ).unwrap();
    // Even if * is granted write, a guest session stays read-only.
    let author = id(AUTHOR);
    t.set(Some(&author), Member::Everyone, Right::READ | Right::WRITE)
        .unwrap();
    assert_eq!(t.effective(None), Right::READ);
    assert_eq!(t.effective(Some(&id(0x99))), Right::READ | Right::WRITE);
    let e = t.check(None, Right::WRITE).unwrap_err();
    assert!(e.to_string().contains("guest"), "{e}");
    // And a Mimei not readable by * is not readable by guests.
    t.set(Some(&author), Member::Everyone, Right::WRITE)
        .unwrap();
    assert!(t.check(None, Right::READ).is_err());
}

#[test]
fn only_admins_set_rights() {
    let mut t = table();
    for by in [None, Some(id(0x10)), Some(id(0x99))] {
        let e = t
            .set(by.as_ref(), Member::User(id(0x11)), Right::READ)
            .unwrap_err();
        assert!(
            matches!(e, MimeiError::Forbidden { missing, .. } if missing == Right::ADMIN),
            "{e}"
        );
    }
    // An admin may grant what it holds...
    t.set(Some(&id(0x60)), Member::User(id(0x11)), Right::WRITE)
        .unwrap();
    assert_eq!(t.granted(&Member::User(id(0x11))), Right::WRITE);
    // ...but not what it lacks, nor touch a member holding more than it does.
    let e = t
        .set(Some(&id(0x60)), Member::User(id(0x11)), Right::DELETE)
        .unwrap_err();
    assert!(
        matches!(e, MimeiError::GrantBeyondOwn { missing, .. } if missing == Right::DELETE),
        "{e}"
    );
    t.set(Some(&id(AUTHOR)), Member::User(id(0x12)), Right::PUBLISH)
        .unwrap();
    let e = t
        .set(Some(&id(0x60)), Member::User(id(0x12)), Right::NONE)
        .unwrap_err();
    assert!(matches!(e, MimeiError::GrantBeyondOwn { .. }), "{e}");
    assert_eq!(e.http_status(), 403);
    // Nobody changes the author's entry.
    let e = t
        .set(Some(&id(AUTHOR)), Member::User(id(AUTHOR)), Right::READ)
        .unwrap_err();
    assert!(e.to_string().contains("author always holds"), "{e}");
}

#[test]
fn setting_none_removes_and_table_stays_sorted() {
    let mut t = table();
    let author = id(AUTHOR);
    t.set(Some(&author), Member::User(id(0x10)), Right::NONE)
        .unwrap();
    t.set(Some(&author), Member::User(id(0x01)), Right::READ)
        .unwrap();
    t.set(Some(&author), Member::User(id(0x77)), Right::NONE)
        .unwrap();
    let members: Vec<Member> = t.grants().iter().map(|(m, _)| *m).collect();
    assert_eq!(
        members,
        [
            Member::Everyone,
            Member::User(id(0x01)),
            Member::User(id(0x60))
        ]
    );
}

#[test]
fn table_is_bounded() {
    let author = id(AUTHOR);
    let mut t = Rights::new(author);
    for i in 0..MAX_GRANTS {
        let mut b = [0u8; 20];
        b[..8].copy_from_slice(&(i as u64).to_be_bytes());
        t.set(
            Some(&author),
            Member::User(LeitherId::from_bytes(b)),
            Right::READ,
        )
        .unwrap();
    }
    let e = t
        .set(Some(&author), Member::Everyone, Right::READ)
        .unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
    // Changing an existing entry is still fine.
    t.set(
        Some(&author),
        Member::User(LeitherId::from_bytes([0; 20])),
        Right::WRITE,
    )
    .unwrap();
    let bytes = t.to_bytes();
    assert_eq!(Rights::from_bytes(&bytes).unwrap(), t);
}

#[test]
fn right_text_forms() {
    assert_eq!(Right::NONE.to_string(), "none");
    assert_eq!(
        Right::ALL.to_string(),
        "read,write,delete,release,publish,admin"
    );
    assert_eq!(
        "read, write".parse::<Right>().unwrap(),
        Right::READ | Right::WRITE
    );
    assert_eq!("all".parse::<Right>().unwrap(), Right::ALL);
    assert_eq!("none".parse::<Right>().unwrap(), Right::NONE);
    assert_eq!("3".parse::<Right>().unwrap(), Right::READ | Right::WRITE);
    assert_eq!("0x21".parse::<Right>().unwrap(), Right::READ | Right::ADMIN);
    for bad in [
        "0x40",
        "64",
        "0x80",
        "rw",
        "read,,write",
        "99999999999999999999",
    ] {
        let e = bad.parse::<Right>().unwrap_err();
        assert!(matches!(e, MimeiError::InvalidRights { .. }), "{bad}: {e}");
        assert_eq!(e.http_status(), 400);
    }
    let e = Right::from_bits(0x07276707).unwrap_err();
    assert!(e.to_string().contains("reserved bits"), "{e}");
}

#[test]
fn member_text_forms() {
    assert_eq!("*".parse::<Member>().unwrap(), Member::Everyone);
    let m: Member = id(3).to_string().parse().unwrap();
    assert_eq!(m, Member::User(id(3)));
    assert_eq!(m.to_string(), id(3).to_string());
    assert!("".parse::<Member>().is_err());
    assert!("**".parse::<Member>().is_err());
}

#[test]
fn encoding_is_pinned() {
    let mut t = Rights::new(id(AUTHOR));
    let author = id(AUTHOR);
    t.set(Some(&author), Member::Everyone, Right::READ).unwrap();
    t.set(Some(&author), Member::User(id(0x10)), Right::ALL)
        .unwrap();
    let mut want = vec![AUTHOR; 20];
    want.extend_from_slice(&[2, 0, 0x01, 1]);
    want.extend_from_slice(&[0x10; 20]);
    want.push(0x3f);
    assert_eq!(t.to_bytes(), want);
    assert_eq!(Rights::from_bytes(&want).unwrap(), t);
}

#[test]
fn decoding_refuses_non_canonical_tables() {
    let head = [AUTHOR; 20];
    let table = |rest: &[u8]| {
        let mut b = head.to_vec();
        b.extend_from_slice(rest);
        Rights::from_bytes(&b)
    };
    assert!(table(&[0]).is_ok());
    let user = |n: u8, bits: u8| {
        let mut e = vec![1];
        e.extend_from_slice(&[n; 20]);
        e.push(bits);
        e
    };
    let cases: [(Vec<u8>, &str); 9] = [
        ([vec![2], user(2, 1), user(1, 1)].concat(), "ascending"),
        ([vec![2], user(1, 1), user(1, 2)].concat(), "ascending"),
        ([vec![1], user(1, 0)].concat(), "empty"),
        ([vec![1], user(1, 0x40)].concat(), "reserved"),
        ([vec![1], user(AUTHOR, 1)].concat(), "author"),
        (vec![1, 3, 1], "unknown tag"),
        ([vec![1, 2], vec![1; 20], vec![0, 1]].concat(), "tail"),
        ([vec![1, 2], vec![1; 20], vec![4, 1]].concat(), "tail"),
        (vec![0x81, 0x02], "limit"),
    ];
    for (rest, reason) in cases {
        let e = table(&rest).unwrap_err();
        assert!(matches!(e, MimeiError::MalformedRecord { .. }), "{e}");
        assert!(e.to_string().contains(reason), "{reason}: {e}");
    }
    let good = t_bytes();
    for n in 0..good.len() {
        assert!(Rights::from_bytes(&good[..n]).is_err(), "prefix {n}");
    }
    let mut long = good.clone();
    long.push(0);
    assert!(Rights::from_bytes(&long).is_err());
}

fn t_bytes() -> Vec<u8> {
    table().to_bytes()
}

#[test]
fn leither_rights_words_grant_their_lowest_byte() {
    assert_eq!(
        Right::from_word(0x07276707).unwrap(),
        Right::READ | Right::WRITE
    );
    assert_eq!(Right::from_word(0x07276705).unwrap(), Right::READ);
    assert_eq!(Right::from_word(0x07276704).unwrap(), Right::READ);
    assert_eq!(Right::from_word(0x07276700).unwrap(), Right::NONE);
    // Our own bits pass as they are; between the two layouts nothing is guessed.
    assert_eq!(Right::from_word(0x21).unwrap(), Right::READ | Right::ADMIN);
    assert!(Right::from_word(0x40).is_err());
    assert_eq!(
        "0x07276707".parse::<Right>().unwrap(),
        Right::READ | Right::WRITE
    );
}

#[test]
fn leither_ids_with_tails_round_trip_as_members() {
    // Leither IDs from its reference docs whose last two bits are set (tails 1..=3), and one of
    // ours (tail 0, stored with tag 1 as before).
    let mut rights = Rights::new(id(1));
    let members = [
        "RXN74QNeiY08LRSaoeQhx3nOLTC",
        "h3PPmr6HVHrmaV_WAbnEP6t3x87",
        "xTTk7gZTywmHiR_y54TIpxQWRaa",
        "4wy6cA-uv_nPSC01ib0cvMkD0oA",
    ];
    for m in members {
        let uid: LeitherId = m.parse().unwrap();
        rights
            .set(Some(&id(1)), Member::User(uid), Right::READ)
            .unwrap();
    }
    let bytes = rights.to_bytes();
    let back = Rights::from_bytes(&bytes).unwrap();
    assert_eq!(back, rights);
    for m in members {
        let uid: LeitherId = m.parse().unwrap();
        assert_eq!(back.effective(Some(&uid)), Right::READ, "{m}");
    }
    // Same 20 bytes, other tail: a different user, with no right.
    let twin = LeitherId::from_parts(*id(9).as_bytes(), 2).unwrap();
    assert!(
        back.effective(Some(&twin)).is_empty()
            || back.effective(Some(&twin)) == back.effective(None)
    );
}
