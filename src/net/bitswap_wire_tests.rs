//! Unit tests of [`super`] (the bitswap message codec): vectors from @helia/bitswap decoded and
//! re-encoded byte for byte, protobuf leniency (unknown fields, explicit defaults, merged
//! wantlists, 1.0 blocks), every bound, payload prefixes good and bad, and the framing.

use super::*;

const VECTORS: &str = include_str!("bitswap_vectors.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vectors() -> Vec<(&'static str, Vec<u8>)> {
    VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            (name, unhex(hex))
        })
        .collect()
}

fn vector(name: &str) -> Message {
    let (_, bytes) = vectors().into_iter().find(|(n, _)| *n == name).unwrap();
    Message::decode(&bytes).unwrap()
}

fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

const RAW_HELLO: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
const V0_DIR: &str = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
const V1_DIR: &str = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
const ID_HI: &str = "bafkqaatine";
const EMPTY_DIR: &[u8] = &[0x0a, 0x02, 0x08, 0x01];

fn want(c: &str) -> WantEntry {
    WantEntry {
        cid: cid(c),
        priority: 1,
        cancel: false,
        want_type: WantType::Block,
        send_dont_have: false,
    }
}

/// A message with a bit of everything.
fn sample() -> Message {
    Message {
        wantlist: vec![
            WantEntry {
                want_type: WantType::Have,
                send_dont_have: true,
                ..want(RAW_HELLO)
            },
            WantEntry {
                priority: i32::MIN,
                cancel: true,
                ..want(V0_DIR)
            },
        ],
        full: true,
        blocks: vec![
            (cid(V1_DIR), EMPTY_DIR.to_vec()),
            (cid(RAW_HELLO), b"hello world\n".to_vec()),
            (Cid::of_block(Version::V1, Codec::Raw, b""), Vec::new()),
        ],
        presences: vec![
            (cid(ID_HI), Presence::DontHave),
            (cid(V0_DIR), Presence::Have),
        ],
        pending_bytes: i32::MAX,
    }
}

#[test]
fn helia_vectors_decode_and_re_encode_byte_for_byte() {
    let all = vectors();
    assert_eq!(all.len(), 8, "every vector in the file is tested");
    for (name, bytes) in all {
        let msg = Message::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (c, data) in &msg.blocks {
            assert!(c.verify(data).is_ok(), "{name}: blocks are self-certifying");
        }
        if name.starts_with("decodeonly_") {
            let again = msg.encode();
            assert!(again.len() < bytes.len(), "{name}: defaults are left out");
            assert_eq!(Message::decode(&again).unwrap(), msg);
        } else {
            assert_eq!(msg.encode(), bytes, "{name}");
        }
    }
}

#[test]
fn helia_vectors_mean_what_the_generator_says() {
    let m = vector("wantlist_have_dont_have");
    assert!(m.full);
    assert_eq!(m.wantlist.len(), 4);
    assert_eq!(
        m.wantlist[0],
        WantEntry {
            want_type: WantType::Have,
            send_dont_have: true,
            ..want(RAW_HELLO)
        }
    );
    assert_eq!(m.wantlist[1].cid, cid(V0_DIR));
    assert_eq!(m.wantlist[1].priority, i32::MAX);
    assert_eq!(m.wantlist[2].priority, -5);
    assert_eq!(m.wantlist[2].want_type, WantType::Have);
    assert_eq!(
        (m.wantlist[3].cid, m.wantlist[3].cancel),
        (cid(ID_HI), true)
    );
    assert_eq!(m.wantlist[3].priority, 0);

    let m = vector("wantlist_partial");
    assert!(!m.full);
    assert!(m.wantlist[0].send_dont_have);
    assert_eq!(m.wantlist[0].want_type, WantType::Block);

    let m = vector("payload_v0_dagpb");
    assert_eq!(m.blocks, vec![(cid(V0_DIR), EMPTY_DIR.to_vec())]);
    assert_eq!(m.blocks[0].0.version(), Version::V0);
    let m = vector("payload_v1_raw");
    assert_eq!(m.blocks, vec![(cid(RAW_HELLO), b"hello world\n".to_vec())]);
    let m = vector("payload_identity");
    assert_eq!(m.blocks, vec![(cid(ID_HI), b"hi".to_vec())]);

    let m = vector("presences");
    assert_eq!(
        m.presences,
        vec![
            (cid(RAW_HELLO), Presence::Have),
            (cid(V0_DIR), Presence::DontHave)
        ]
    );
    assert_eq!(m.pending_bytes, 1234);

    let m = vector("mixed");
    assert_eq!(m.blocks.len(), 2);
    assert_eq!(m.blocks[1].0, cid(V1_DIR));
    assert_eq!(m.pending_bytes, -1);
    assert_eq!(m.presences, vec![(cid(ID_HI), Presence::DontHave)]);

    let m = vector("decodeonly_explicit_defaults");
    assert_eq!(m.wantlist, vec![want(RAW_HELLO)]);
    assert!(!m.full);
}

#[test]
fn round_trip() {
    let m = sample();
    let bytes = m.encode();
    assert_eq!(Message::decode(&bytes).unwrap(), m);
    assert!(!m.is_empty());
    let empty = Message::default();
    assert!(empty.is_empty());
    assert_eq!(empty.encode(), Vec::<u8>::new());
    assert_eq!(Message::decode(&[]).unwrap(), empty);
    // A full but empty wantlist is still sent: it clears the peer's view of ours.
    let clear = Message {
        full: true,
        ..Message::default()
    };
    assert_eq!(clear.encode(), [0x0a, 0x02, 0x10, 0x01]);
    assert_eq!(Message::decode(&clear.encode()).unwrap(), clear);
}

#[test]
fn prefixes_are_go_cid_prefix_bytes() {
    assert_eq!(prefix_of(&cid(V0_DIR)), [0x00, 0x70, 0x12, 0x20]);
    assert_eq!(prefix_of(&cid(V1_DIR)), [0x01, 0x70, 0x12, 0x20]);
    assert_eq!(prefix_of(&cid(RAW_HELLO)), [0x01, 0x55, 0x12, 0x20]);
    assert_eq!(prefix_of(&cid(ID_HI)), [0x01, 0x55, 0x00, 0x02]);
    let cbor = Cid::of_block(Version::V1, Codec::DagCbor, b"\xa0");
    assert_eq!(prefix_of(&cbor), [0x01, 0x71, 0x12, 0x20]);
    assert_eq!(cid_from_prefix(&prefix_of(&cbor), b"\xa0"), Ok(cbor));
}

fn payload(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    let mut block = Vec::new();
    proto::write_bytes_field(1, prefix, &mut block);
    proto::write_bytes_field(2, data, &mut block);
    let mut out = Vec::new();
    proto::write_bytes_field(3, &block, &mut out);
    out
}

#[test]
fn bad_prefixes_are_refused_with_reasons() {
    for (prefix, data, says) in [
        (&[][..], &b"x"[..], "version"),
        (&[0x01, 0x55, 0x13, 0x40], b"x", "hash 0x13"),
        (&[0x01, 0x55, 0x12, 0x10], b"x", "digest length of 16"),
        (
            &[0x01, 0x55, 0x00, 0x02],
            b"abc",
            "identity digest length of 2",
        ),
        (
            &[0x00, 0x55, 0x12, 0x20],
            b"x",
            "CIDv0 prefix with codec 0x55",
        ),
        (&[0x02, 0x55, 0x12, 0x20], b"x", "CID version 2"),
        (&[0x01, 0x29, 0x12, 0x20], b"x", "0x29"),
        (&[0x01, 0x55, 0x12, 0x20, 0x00], b"x", "1 bytes after"),
        (&[0x01, 0x55, 0x12], b"x", "digest length"),
        (&[0x81, 0x00, 0x55, 0x12, 0x20], b"x", "not minimally"),
    ] {
        let e = Message::decode(&payload(prefix, data)).unwrap_err();
        assert!(
            matches!(e, BitswapWireError::BadPrefix { .. }),
            "{prefix:02x?}: {e}"
        );
        assert!(e.to_string().contains(says), "{prefix:02x?}: {e}");
    }
    // An identity block too long for an identity CID.
    let big = [7u8; MAX_DIGEST_LEN + 1];
    let prefix = [0x01, 0x55, 0x00, (MAX_DIGEST_LEN + 1) as u8];
    assert!(Message::decode(&payload(&prefix, &big)).is_err());
}

#[test]
fn bitswap_1_0_blocks_are_cidv0() {
    let mut bytes = Vec::new();
    proto::write_bytes_field(2, EMPTY_DIR, &mut bytes);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.blocks, vec![(cid(V0_DIR), EMPTY_DIR.to_vec())]);
    // Re-encoded as a 1.1 payload, which decodes to the same value.
    assert_eq!(m.encode(), payload(&[0, 0x70, 0x12, 0x20], EMPTY_DIR));
    assert_eq!(Message::decode(&m.encode()).unwrap(), m);
}

#[test]
fn unknown_fields_are_skipped_at_every_level() {
    // Fields 9 (varint), 10 (len), 11 (fixed32), 12 (fixed64) appended to a body.
    fn junk(out: &mut Vec<u8>) {
        proto::write_varint_field(9, u64::MAX, out);
        proto::write_bytes_field(10, b"whatever", out);
        out.extend_from_slice(&[11 << 3 | 5, 1, 2, 3, 4]);
        out.extend_from_slice(&[12 << 3 | 1, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
    let mut entry = Vec::new();
    junk(&mut entry);
    proto::write_bytes_field(1, &cid(RAW_HELLO).to_bytes(), &mut entry);
    junk(&mut entry);
    let mut wl = Vec::new();
    junk(&mut wl);
    proto::write_bytes_field(1, &entry, &mut wl);
    let mut presence = Vec::new();
    proto::write_varint_field(2, 1, &mut presence);
    junk(&mut presence);
    proto::write_bytes_field(1, &cid(V0_DIR).to_bytes(), &mut presence);
    let mut block = Vec::new();
    junk(&mut block);
    proto::write_bytes_field(2, b"hi", &mut block);
    proto::write_bytes_field(1, &[0x01, 0x55, 0x00, 0x02], &mut block);
    let mut body = Vec::new();
    junk(&mut body);
    proto::write_varint_field(5, 7, &mut body);
    proto::write_bytes_field(4, &presence, &mut body);
    proto::write_bytes_field(3, &block, &mut body);
    proto::write_bytes_field(1, &wl, &mut body);
    junk(&mut body);
    let m = Message::decode(&body).unwrap();
    assert_eq!(
        m,
        Message {
            wantlist: vec![WantEntry {
                priority: 0,
                ..want(RAW_HELLO)
            }],
            full: false,
            blocks: vec![(cid(ID_HI), b"hi".to_vec())],
            presences: vec![(cid(V0_DIR), Presence::DontHave)],
            pending_bytes: 7,
        }
    );
    // Groups (wire types 3 and 4) and the undefined 6 and 7 are refused.
    for wt in [3u8, 4, 6, 7] {
        assert!(matches!(
            Message::decode(&[9 << 3 | wt, 0]),
            Err(BitswapWireError::Protobuf(_))
        ));
    }
    // A known field with the wrong wire type.
    assert!(Message::decode(&[5 << 3 | 2, 0]).is_err());
    assert!(Message::decode(&[1 << 3, 0]).is_err());
}

#[test]
fn repeated_wantlists_merge_and_last_scalar_wins() {
    let one = Message {
        wantlist: vec![want(RAW_HELLO)],
        full: true,
        pending_bytes: 1,
        ..Message::default()
    };
    let two = Message {
        wantlist: vec![want(V0_DIR)],
        pending_bytes: 2,
        ..Message::default()
    };
    let mut bytes = one.encode();
    bytes.extend_from_slice(&two.encode());
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.wantlist, vec![want(RAW_HELLO), want(V0_DIR)]);
    assert!(m.full, "the second wantlist does not mention full");
    assert_eq!(m.pending_bytes, 2);
}

#[test]
fn bad_cids_and_enums_are_refused() {
    let entry_with = |cid_bytes: &[u8], extra: &[u8]| {
        let mut e = Vec::new();
        proto::write_bytes_field(1, cid_bytes, &mut e);
        e.extend_from_slice(extra);
        let mut wl = Vec::new();
        proto::write_bytes_field(1, &e, &mut wl);
        let mut out = Vec::new();
        proto::write_bytes_field(1, &wl, &mut out);
        out
    };
    let good = cid(RAW_HELLO).to_bytes();
    assert!(Message::decode(&entry_with(&good, &[])).is_ok());
    let e = Message::decode(&entry_with(&[], &[])).unwrap_err();
    assert!(
        matches!(
            e,
            BitswapWireError::BadCid {
                what: "want entry CID",
                ..
            }
        ),
        "{e}"
    );
    assert!(Message::decode(&entry_with(&good[..10], &[])).is_err());
    let e = Message::decode(&entry_with(&good, &[4 << 3, 2])).unwrap_err();
    assert_eq!(
        e,
        BitswapWireError::UnknownEnum {
            what: "want type",
            value: 2
        }
    );
    let mut p = Vec::new();
    proto::write_bytes_field(1, &good, &mut p);
    proto::write_varint_field(2, 2, &mut p);
    let mut body = Vec::new();
    proto::write_bytes_field(4, &p, &mut body);
    assert!(matches!(
        Message::decode(&body),
        Err(BitswapWireError::UnknownEnum {
            what: "presence type",
            ..
        })
    ));
    let mut body = Vec::new();
    proto::write_bytes_field(4, &[], &mut body);
    assert!(matches!(
        Message::decode(&body),
        Err(BitswapWireError::BadCid {
            what: "block presence CID",
            ..
        })
    ));
}

#[test]
fn bounds_are_enforced() {
    let long = vec![0u8; MAX_MESSAGE_LEN + 1];
    assert_eq!(
        Message::decode(&long),
        Err(BitswapWireError::MessageTooLong {
            len: MAX_MESSAGE_LEN as u64 + 1
        })
    );
    let m = Message {
        wantlist: vec![want(ID_HI); MAX_ENTRIES],
        ..Message::default()
    };
    assert_eq!(
        Message::decode(&m.encode()).unwrap().wantlist.len(),
        MAX_ENTRIES
    );
    let m = Message {
        wantlist: vec![want(ID_HI); MAX_ENTRIES + 1],
        ..Message::default()
    };
    assert_eq!(
        Message::decode(&m.encode()),
        Err(BitswapWireError::TooManyEntries {
            what: "want entries"
        })
    );
    let m = Message {
        presences: vec![(cid(ID_HI), Presence::Have); MAX_ENTRIES + 1],
        ..Message::default()
    };
    assert!(matches!(
        Message::decode(&m.encode()),
        Err(BitswapWireError::TooManyEntries {
            what: "block presences"
        })
    ));
    let max = vec![1u8; MAX_BLOCK_LEN];
    let ok = Message {
        blocks: vec![(Cid::of_block(Version::V1, Codec::Raw, &max), max.clone())],
        ..Message::default()
    };
    assert_eq!(Message::decode(&ok.encode()).unwrap(), ok);
    let big = vec![1u8; MAX_BLOCK_LEN + 1];
    let too_big = payload(&[0x01, 0x55, 0x12, 0x20], &big);
    assert_eq!(
        Message::decode(&too_big),
        Err(BitswapWireError::BlockTooLong {
            len: MAX_BLOCK_LEN + 1
        })
    );
    let mut v10 = Vec::new();
    proto::write_bytes_field(2, &big, &mut v10);
    assert!(matches!(
        Message::decode(&v10),
        Err(BitswapWireError::BlockTooLong { .. })
    ));
}

#[test]
fn truncation_anywhere_never_panics_and_mid_field_cuts_fail() {
    let m = sample();
    let bytes = m.encode();
    // A cut at a top-level field boundary is a shorter valid message; anywhere else it is
    // cut short. The sample has 7 top-level fields: wantlist, 3 blocks, 2 presences, pending.
    let fields = 1 + m.blocks.len() + m.presences.len() + 1;
    assert_eq!(fields, 7);
    let ok_cuts = (0..bytes.len())
        .filter(|&cut| Message::decode(&bytes[..cut]).is_ok())
        .count();
    assert_eq!(
        ok_cuts, fields,
        "cuts at 0 and after each field but the last"
    );
}

#[test]
fn frames_round_trip_in_any_chunking() {
    let bodies = [
        sample().encode(),
        Vec::new(),
        vec![0xab; 300],
        Message::default().encode(),
    ];
    let mut stream = Vec::new();
    for b in &bodies {
        stream.extend_from_slice(&frame(b));
    }
    assert_eq!(frame(&[0xab; 300])[..2], [0xac, 0x02]);
    for chunk in 1..=stream.len() {
        let mut r = FrameReader::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            r.push(piece).unwrap();
            while let Some(body) = r.pop() {
                got.push(body);
            }
        }
        assert_eq!(got, bodies, "chunk size {chunk}");
        assert_eq!(r.buffered(), 0);
    }
}

#[test]
fn frame_reader_refuses_long_frames_before_buffering() {
    let mut header = Vec::new();
    varint::write(MAX_MESSAGE_LEN as u64 + 1, &mut header);
    let mut r = FrameReader::new();
    r.push(&header[..1]).unwrap();
    let e = r.push(&header[1..]).unwrap_err();
    assert_eq!(
        e,
        BitswapWireError::MessageTooLong {
            len: MAX_MESSAGE_LEN as u64 + 1
        }
    );
    assert_eq!(r.buffered(), 0);
    // The error is final.
    assert_eq!(r.push(&frame(b"ok")), Err(e));
    assert_eq!(r.pop(), None);

    // Exactly the limit is accepted and waits for its body.
    let mut header = Vec::new();
    varint::write(MAX_MESSAGE_LEN as u64, &mut header);
    let mut r = FrameReader::new();
    r.push(&header).unwrap();
    assert_eq!(r.pop(), None);

    // A second frame's header is checked even while the first is unpopped.
    let mut r = FrameReader::new();
    let mut two = frame(b"first");
    two.extend_from_slice(&[0xff; 9]);
    assert!(matches!(
        r.push(&two),
        Err(BitswapWireError::BadFrameLength(VarintError::Overflow))
    ));
    let mut r = FrameReader::new();
    assert!(matches!(
        r.push(&[0x80, 0x00]),
        Err(BitswapWireError::BadFrameLength(VarintError::NotMinimal))
    ));
}

#[test]
fn errors_say_what_to_do() {
    let e = BitswapWireError::MessageTooLong { len: 5 << 20 };
    let text = e.to_string();
    assert!(text.starts_with("refused bitswap message: "), "{text}");
    assert!(text.contains("dropped"), "{text}");
}
