//! CAR v1 (content-addressed archive): the `?format=car` export and `ipfs dag import` input.
//!
//! ```text
//! varint(len) header                 header = dag-cbor {"roots": [CID...], "version": 1}
//! varint(len) cid block   ...        one section per block, len = cid bytes + block bytes
//! ```
//!
//! The writer produces the header's dag-cbor by hand (canonical: keys by length, CIDs as tag 42
//! byte strings with a leading `0x00`). The reader is a push parser: feed it any slices, get
//! the header then one [`Block`] per section, each one's hash checked against its CID. It holds
//! at most one section (bounded by `max_section`) and never allocates from a length it has not
//! checked.

use super::cid::{Cid, CidError};
use super::importer::Block;
use super::varint;
use core::fmt;

/// Default bound on one section: a 2 MiB block (bitswap's limit) plus its CID.
pub const DEFAULT_MAX_SECTION: usize = (2 << 20) + 128;
/// Most roots a header may list.
pub const MAX_ROOTS: usize = 1024;

/// Why a CAR stream is refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CarError {
    /// A section length varint is malformed.
    Varint(varint::VarintError),
    /// A section of length 0.
    EmptySection,
    /// A section longer than the reader's limit.
    SectionTooLarge {
        /// The declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The header is not the dag-cbor map `{roots, version}` (the reason says what is off).
    BadHeader(&'static str),
    /// A CAR version other than 1 (CARv2 files start with a `{version: 2}` pragma).
    UnsupportedVersion(u64),
    /// A block's CID does not parse, or the block does not match its CID's hash.
    Cid(CidError),
    /// The stream ended inside a section, or before the header.
    Truncated,
}

impl fmt::Display for CarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Varint(e) => write!(f, "CAR section length: {e}"),
            Self::EmptySection => f.write_str("CAR section of length 0"),
            Self::SectionTooLarge { len, max } => {
                write!(f, "CAR section of {len} bytes exceeds the limit of {max}")
            }
            Self::BadHeader(why) => write!(f, "bad CAR header: {why}"),
            Self::UnsupportedVersion(v) => write!(f, "CAR version {v} is not supported (only 1)"),
            Self::Cid(e) => write!(f, "CAR block: {e}"),
            Self::Truncated => f.write_str("CAR stream cut short"),
        }
    }
}

impl std::error::Error for CarError {}

impl From<CidError> for CarError {
    fn from(e: CidError) -> Self {
        Self::Cid(e)
    }
}

fn cbor_head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// The header section (length prefix included) naming `roots`.
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let mut cbor = Vec::with_capacity(16 + roots.len() * 42);
    cbor_head(5, 2, &mut cbor);
    cbor_head(3, 5, &mut cbor);
    cbor.extend_from_slice(b"roots");
    cbor_head(4, roots.len() as u64, &mut cbor);
    for cid in roots {
        cbor_head(6, 42, &mut cbor);
        cbor_head(2, cid.encoded_len() as u64 + 1, &mut cbor);
        cbor.push(0x00);
        cid.write_bytes(&mut cbor);
    }
    cbor_head(3, 7, &mut cbor);
    cbor.extend_from_slice(b"version");
    cbor_head(0, 1, &mut cbor);
    let mut out = Vec::with_capacity(cbor.len() + 2);
    varint::write(cbor.len() as u64, &mut out);
    out.extend_from_slice(&cbor);
    out
}

/// Appends one block section.
pub fn encode_block(cid: &Cid, data: &[u8], out: &mut Vec<u8>) {
    varint::write((cid.encoded_len() + data.len()) as u64, out);
    cid.write_bytes(out);
    out.extend_from_slice(data);
}

/// A whole CAR in memory: header then each block in order.
pub fn encode_car<'a>(roots: &[Cid], blocks: impl IntoIterator<Item = &'a Block>) -> Vec<u8> {
    let mut out = encode_header(roots);
    for b in blocks {
        encode_block(&b.cid, &b.data, &mut out);
    }
    out
}

/// A minimal, strict dag-cbor cursor for the header: definite lengths, minimal heads.
struct Cbor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cbor<'_> {
    fn head(&mut self) -> Result<(u8, u64), CarError> {
        let short = CarError::BadHeader("cut short");
        let first = *self.buf.get(self.pos).ok_or(short.clone())?;
        self.pos += 1;
        let (major, info) = (first >> 5, first & 0x1f);
        let width = match info {
            0..=23 => return Ok((major, u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(CarError::BadHeader("indefinite or reserved length")),
        };
        let bytes = self.buf.get(self.pos..self.pos + width).ok_or(short)?;
        self.pos += width;
        let n = bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        let min = match width {
            1 => 24,
            2 => 0x100,
            4 => 0x1_0000,
            _ => 0x1_0000_0000,
        };
        if n < min {
            return Err(CarError::BadHeader("non-minimal integer"));
        }
        Ok((major, n))
    }

    fn bytes(&mut self, n: u64) -> Result<&[u8], CarError> {
        let n = usize::try_from(n).map_err(|_| CarError::BadHeader("cut short"))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or(CarError::BadHeader("cut short"))?;
        let b = self
            .buf
            .get(self.pos..end)
            .ok_or(CarError::BadHeader("cut short"))?;
        self.pos = end;
        Ok(b)
    }
}

/// Decodes a header body (without its length prefix); returns the roots.
pub fn decode_header(body: &[u8]) -> Result<Vec<Cid>, CarError> {
    let mut c = Cbor { buf: body, pos: 0 };
    let (major, fields) = c.head()?;
    if major != 5 {
        return Err(CarError::BadHeader("not a map"));
    }
    let mut roots = None;
    let mut version = None;
    for _ in 0..fields.min(8) {
        let (major, n) = c.head()?;
        if major != 3 {
            return Err(CarError::BadHeader("map key is not a string"));
        }
        match c.bytes(n)? {
            b"version" if version.is_none() => {
                let (major, v) = c.head()?;
                if major != 0 {
                    return Err(CarError::BadHeader("version is not an integer"));
                }
                version = Some(v);
            }
            b"roots" if roots.is_none() => {
                let (major, count) = c.head()?;
                if major != 4 {
                    return Err(CarError::BadHeader("roots is not a list"));
                }
                if count > MAX_ROOTS as u64 {
                    return Err(CarError::BadHeader("too many roots"));
                }
                let mut list = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    if c.head()? != (6, 42) {
                        return Err(CarError::BadHeader("root is not a CID (tag 42)"));
                    }
                    let (major, n) = c.head()?;
                    if major != 2 {
                        return Err(CarError::BadHeader("root CID is not a byte string"));
                    }
                    match c.bytes(n)? {
                        [0x00, cid @ ..] => list.push(Cid::from_bytes(cid)?),
                        _ => return Err(CarError::BadHeader("root CID lacks the 0x00 prefix")),
                    }
                }
                roots = Some(list);
            }
            b"version" | b"roots" => return Err(CarError::BadHeader("duplicate key")),
            _ => return Err(CarError::BadHeader("unknown key")),
        }
    }
    match version {
        Some(1) => {}
        Some(v) => return Err(CarError::UnsupportedVersion(v)),
        None => return Err(CarError::BadHeader("no version")),
    }
    if fields != 2 || c.pos != body.len() {
        return Err(CarError::BadHeader("not exactly {roots, version}"));
    }
    roots.ok_or(CarError::BadHeader("no roots"))
}

/// What the reader yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CarItem {
    /// The header's roots (always first).
    Header(Vec<Cid>),
    /// A verified block.
    Block(Block),
}

/// Streaming CAR v1 reader (see the module doc).
#[derive(Debug)]
pub struct CarReader {
    buf: Vec<u8>,
    header_seen: bool,
    max_section: usize,
}

impl Default for CarReader {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SECTION)
    }
}

impl CarReader {
    /// A reader refusing sections longer than `max_section` bytes.
    pub fn new(max_section: usize) -> Self {
        Self {
            buf: Vec::new(),
            header_seen: false,
            max_section,
        }
    }

    /// Total length (prefix included) of the section starting `bytes`, once its length varint
    /// is complete.
    fn section_len(&self, bytes: &[u8]) -> Result<Option<usize>, CarError> {
        match varint::decode(bytes) {
            Ok((0, _)) => Err(CarError::EmptySection),
            Ok((len, n)) if len > self.max_section as u64 => {
                let _ = n;
                Err(CarError::SectionTooLarge {
                    len,
                    max: self.max_section,
                })
            }
            Ok((len, n)) => Ok(Some(n + len as usize)),
            Err(varint::VarintError::Truncated) => Ok(None),
            Err(e) => Err(CarError::Varint(e)),
        }
    }

    fn section(&mut self, section: &[u8]) -> Result<CarItem, CarError> {
        let (_, n) = varint::decode(section).map_err(CarError::Varint)?;
        let body = &section[n..];
        if !self.header_seen {
            self.header_seen = true;
            return Ok(CarItem::Header(decode_header(body)?));
        }
        let (cid, used) = Cid::read_bytes(body)?;
        let data = &body[used..];
        cid.verify(data)?;
        Ok(CarItem::Block(Block {
            cid,
            data: data.to_vec(),
        }))
    }

    /// Feeds the next bytes; returns the items they completed.
    pub fn push(&mut self, mut input: &[u8]) -> Result<Vec<CarItem>, CarError> {
        let mut items = Vec::new();
        loop {
            if self.buf.is_empty() {
                // Whole sections straight from the input, no copy.
                if let Some(total) = self.section_len(input)?
                    && input.len() >= total
                {
                    items.push(self.section(&input[..total])?);
                    input = &input[total..];
                    continue;
                }
            }
            if input.is_empty() {
                return Ok(items);
            }
            // Buffer a partial section: exactly what it still needs, or one byte of its length.
            let want = match self.section_len(&self.buf)? {
                Some(total) => total - self.buf.len(),
                None => 1,
            };
            let take = want.min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if let Some(total) = self.section_len(&self.buf)?
                && self.buf.len() == total
            {
                let section = core::mem::take(&mut self.buf);
                items.push(self.section(&section)?);
            }
        }
    }

    /// Ends the stream: an error if it stopped inside a section or before the header.
    pub fn finish(self) -> Result<(), CarError> {
        if !self.buf.is_empty() || !self.header_seen {
            return Err(CarError::Truncated);
        }
        Ok(())
    }
}

/// Reads a whole CAR from memory: the roots and every block, verified.
pub fn read_car(bytes: &[u8]) -> Result<(Vec<Cid>, Vec<Block>), CarError> {
    let mut r = CarReader::default();
    let mut roots = Vec::new();
    let mut blocks = Vec::new();
    for item in r.push(bytes)? {
        match item {
            CarItem::Header(r) => roots = r,
            CarItem::Block(b) => blocks.push(b),
        }
    }
    r.finish()?;
    Ok((roots, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::importer::{ImportOptions, import_bytes};

    fn sample() -> (Cid, Vec<Block>, Vec<u8>) {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        let opts = ImportOptions {
            chunk_size: 1000,
            ..ImportOptions::default()
        };
        let imp = import_bytes(opts, &data).unwrap();
        let car = encode_car(&[imp.root], &imp.blocks);
        (imp.root, imp.blocks, car)
    }

    #[test]
    fn header_bytes_are_canonical_dag_cbor() {
        let cid: Cid = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
            .parse()
            .unwrap();
        let h = encode_header(&[cid]);
        // a2 65"roots" 81 d8 2a 58 23 00 <34 bytes> 67"version" 01, prefixed by its length.
        assert_eq!(h[0] as usize, h.len() - 1);
        assert_eq!(&h[1..8], b"\xa2\x65roots");
        assert_eq!(&h[8..13], &[0x81, 0xd8, 0x2a, 0x58, 0x23]);
        assert_eq!(h[13], 0);
        assert_eq!(&h[14..48], &cid.to_bytes()[..]);
        assert_eq!(&h[48..], b"\x67version\x01");
        assert_eq!(decode_header(&h[1..]), Ok(vec![cid]));
    }

    #[test]
    fn round_trip_any_split() {
        let (root, blocks, car) = sample();
        assert_eq!(read_car(&car), Ok((vec![root], blocks.clone())));
        for step in [1, 2, 7, 100, 1009] {
            let mut r = CarReader::default();
            let mut got = Vec::new();
            for piece in car.chunks(step) {
                got.extend(r.push(piece).unwrap());
            }
            r.finish().unwrap();
            assert_eq!(got[0], CarItem::Header(vec![root]));
            assert_eq!(got.len(), blocks.len() + 1);
            for (item, b) in got[1..].iter().zip(&blocks) {
                assert_eq!(item, &CarItem::Block(b.clone()));
            }
        }
    }

    #[test]
    fn refuses_bad_streams() {
        let (_, blocks, car) = sample();
        // Corrupt the last byte of the last block: its hash no longer matches.
        let mut bad = car.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(read_car(&bad), Err(CarError::Cid(CidError::HashMismatch)));
        // Truncated anywhere.
        // Cut anywhere: an error, or (cut between sections) fewer blocks.
        for cut in 0..car.len() {
            if let Ok((_, got)) = read_car(&car[..cut]) {
                assert!(got.len() < blocks.len(), "prefix {cut}");
            }
        }
        // Oversized and empty sections.
        let mut r = CarReader::new(100);
        assert!(matches!(
            r.push(&[0xff, 0x7f]),
            Err(CarError::SectionTooLarge { .. })
        ));
        let mut r = CarReader::default();
        assert_eq!(r.push(&[0x00]), Err(CarError::EmptySection));
        // CARv2 pragma.
        let v2 = [
            0x0a, 0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x02,
        ];
        assert_eq!(read_car(&v2), Err(CarError::UnsupportedVersion(2)));
        // Header with an extra key, a non-minimal integer, and no CID tag.
        for h in [
            &b"\xa3\x65roots\x80\x67version\x01\x61x\x01"[..],
            &b"\xa2\x65roots\x80\x67version\x18\x01"[..],
            &b"\xa2\x65roots\x81\x01\x67version\x01"[..],
            &b"\xbf"[..],
        ] {
            assert!(decode_header(h).is_err());
        }
        assert_eq!(
            decode_header(b"\xa2\x67version\x01\x65roots\x80"),
            Ok(vec![])
        );
    }

    #[test]
    fn mutations_never_panic() {
        let (_, _, car) = sample();
        let mut s = 0xdead_beef_cafe_f00du64;
        for _ in 0..3000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let mut m = car.clone();
            let i = (s % m.len() as u64) as usize;
            m[i] = (s >> 24) as u8;
            let _ = read_car(&m);
        }
    }
}
