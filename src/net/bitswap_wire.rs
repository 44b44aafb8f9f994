//! The bitswap 1.2.0 message codec (`/ipfs/bitswap/1.2.0`, specs.ipfs.tech/bitswap-protocol):
//! [`Message`] to and from its protobuf body, and the uvarint length framing of the stream
//! ([`frame`], [`FrameReader`]). Sans-io: bytes in, values out.
//!
//! ```text
//! Message   { wantlist = 1: Wantlist, blocks = 2: repeated bytes (1.0.0),
//!             payload = 3: repeated Block, blockPresences = 4: repeated BlockPresence,
//!             pendingBytes = 5: int32 }
//! Wantlist  { entries = 1: repeated Entry, full = 2: bool }
//! Entry     { block = 1: bytes (CID), priority = 2: int32, cancel = 3: bool,
//!             wantType = 4: Block 0 | Have 1, sendDontHave = 5: bool }
//! Block     { prefix = 1: bytes, data = 2: bytes }
//! Presence  { cid = 1: bytes, type = 2: Have 0 | DontHave 1 }
//! ```
//!
//! **Encoding** is canonical proto3, as boxo writes it: fields in number order, default values
//! (0, false, `Block`, `Have`) left out, the wantlist only when it has entries or is `full`,
//! every block as a 1.1 `payload` entry. **Decoding** is protobuf's, not ours: unknown fields
//! are skipped, fields may come in any order, a repeated `wantlist` merges, explicit defaults
//! are accepted (js peers send them). So `decode(encode(m)) == m`, and a decoded message
//! re-encodes to the same value, not always to the same bytes.
//!
//! **Bounds.** The body is at most [`MAX_MESSAGE_LEN`], want entries and presences at most
//! [`MAX_ENTRIES`] each, a block at most [`MAX_BLOCK_LEN`]; anything else is refused before it
//! is copied, and nothing on the way panics.
//!
//! **What a decoded block is worth.** A `payload` block's CID is rebuilt here from its prefix
//! (`varint version, varint codec, varint multihash code, varint digest length`, go-cid's
//! `Prefix.Bytes`) by hashing its data, and a 1.0 `blocks` entry is a CIDv0 of its data's
//! sha2-256: so each `(cid, data)` in [`Message::blocks`] is self-certifying, the data is what
//! the CID names. It is *not* yet known to be a block anyone wanted: the engine checks each CID
//! against its wantlist before storing anything.

use core::fmt;

use crate::ipfs::cid::{Cid, CidError, Codec, Version};
use crate::ipfs::multihash::{IDENTITY, MAX_DIGEST_LEN, Multihash, SHA2_256, SHA2_256_LEN};
use crate::ipfs::proto::{self, FIXED32, LEN, PbError, Reader, VARINT};
use crate::ipfs::varint::{self, VarintError};

/// Largest message body accepted: a full 2 MiB block plus room for wants and presences.
pub const MAX_MESSAGE_LEN: usize = 4 * 1024 * 1024 + 64 * 1024;
/// Most want entries (and, separately, most block presences) in one message.
pub const MAX_ENTRIES: usize = 8192;
/// Largest block accepted (kubo's and boxo's limit on a bitswap block).
pub const MAX_BLOCK_LEN: usize = 2 * 1024 * 1024;

/// Wire type of a 64-bit fixed-width field, which only unknown fields may use here.
const FIXED64: u8 = 1;

/// Why bytes are not a bitswap message or frame we accept. The peer that sent them is
/// broken or hostile: drop the stream.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BitswapWireError {
    /// A message body (or a frame's declared length) above [`MAX_MESSAGE_LEN`].
    MessageTooLong {
        /// The length, in bytes.
        len: u64,
    },
    /// More than [`MAX_ENTRIES`] want entries or block presences.
    TooManyEntries {
        /// "want entries" or "block presences".
        what: &'static str,
    },
    /// A block above [`MAX_BLOCK_LEN`].
    BlockTooLong {
        /// Its length, in bytes.
        len: usize,
    },
    /// The protobuf itself is malformed: cut short, a bad varint, a field of the wrong type.
    Protobuf(PbError),
    /// A want entry or presence whose CID is missing or not one this node reads.
    BadCid {
        /// Which field: "want entry CID" or "block presence CID".
        what: &'static str,
        /// What is wrong with it.
        err: CidError,
    },
    /// A payload block's prefix is malformed or names a CID this node cannot rebuild (a
    /// hash other than sha2-256 and identity, a codec other than dag-pb, raw, dag-cbor).
    BadPrefix {
        /// What is wrong.
        reason: String,
    },
    /// An enum field with a value the protocol does not define.
    UnknownEnum {
        /// "want type" or "presence type".
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// A frame's length prefix is not a minimal uvarint of at most 9 bytes.
    BadFrameLength(VarintError),
}

impl fmt::Display for BitswapWireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused bitswap message: ")?;
        match self {
            Self::MessageTooLong { len } => write!(
                f,
                "it is {len} bytes long, the limit is {MAX_MESSAGE_LEN}; the peer must split \
                 its messages"
            )?,
            Self::TooManyEntries { what } => write!(
                f,
                "more than {MAX_ENTRIES} {what}; the peer must split its messages"
            )?,
            Self::BlockTooLong { len } => write!(
                f,
                "a block of {len} bytes, the limit is {MAX_BLOCK_LEN}; blocks that large \
                 cannot be exchanged over bitswap"
            )?,
            Self::Protobuf(e) => write!(f, "malformed protobuf ({e})")?,
            Self::BadCid { what, err } => write!(f, "bad {what} ({err})")?,
            Self::BadPrefix { reason } => write!(f, "bad payload block prefix ({reason})")?,
            Self::UnknownEnum { what, value } => write!(f, "unknown {what} {value}")?,
            Self::BadFrameLength(e) => write!(f, "bad length prefix ({e})")?,
        }
        f.write_str(". The peer is broken or speaks another protocol; the stream is dropped")
    }
}

impl std::error::Error for BitswapWireError {}

impl From<PbError> for BitswapWireError {
    fn from(e: PbError) -> Self {
        Self::Protobuf(e)
    }
}

/// What a want entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WantType {
    /// Send the block (wire value 0).
    #[default]
    Block,
    /// Say whether you have it (wire value 1); a small block may be sent instead.
    Have,
}

/// A block presence: the answer to a want-have, or to a want with `send_dont_have`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The peer has the block (wire value 0).
    Have,
    /// The peer does not have it (wire value 1).
    DontHave,
}

/// One wantlist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantEntry {
    /// The block wanted (or no longer wanted).
    pub cid: Cid,
    /// Higher first; a peer's own scale.
    pub priority: i32,
    /// This entry revokes an earlier want of the same CID.
    pub cancel: bool,
    /// The block itself or only whether the peer has it.
    pub want_type: WantType,
    /// Answer `DontHave` if the peer lacks the block, rather than staying silent.
    pub send_dont_have: bool,
}

/// A bitswap message. See the module doc for what decoding guarantees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Want entries, in the order sent.
    pub wantlist: Vec<WantEntry>,
    /// The wantlist replaces the previous one instead of updating it.
    pub full: bool,
    /// Blocks, each with the CID computed from its data (self-certifying, not yet wanted).
    pub blocks: Vec<(Cid, Vec<u8>)>,
    /// Block presences.
    pub presences: Vec<(Cid, Presence)>,
    /// Bytes the sender still has queued for the receiver.
    pub pending_bytes: i32,
}

/// The go-cid `Prefix.Bytes` of `cid`: uvarints of version, codec, multihash code and digest
/// length. What a `payload` block carries instead of its CID.
pub fn prefix_of(cid: &Cid) -> Vec<u8> {
    let version = match cid.version() {
        Version::V0 => 0,
        Version::V1 => 1,
    };
    let mut out = Vec::with_capacity(4);
    for v in [
        version,
        cid.codec().code(),
        cid.hash().code(),
        cid.hash().digest().len() as u64,
    ] {
        varint::write(v, &mut out);
    }
    out
}

/// Rebuilds the CID of `data` from a payload prefix.
fn cid_from_prefix(prefix: &[u8], data: &[u8]) -> Result<Cid, BitswapWireError> {
    let bad = |reason: String| BitswapWireError::BadPrefix { reason };
    let mut rest = prefix;
    let mut fields = [0u64; 4];
    for (slot, name) in
        fields
            .iter_mut()
            .zip(["version", "codec", "multihash code", "digest length"])
    {
        let (v, n) = varint::decode(rest).map_err(|e| bad(format!("its {name}: {e}")))?;
        *slot = v;
        rest = rest.get(n..).unwrap_or_default();
    }
    if !rest.is_empty() {
        return Err(bad(format!("{} bytes after the digest length", rest.len())));
    }
    let [version, codec, code, len] = fields;
    let hash = match code {
        SHA2_256 if len == SHA2_256_LEN as u64 => Multihash::sha2_256(data),
        SHA2_256 => return Err(bad(format!("a sha2-256 digest length of {len}, not 32"))),
        IDENTITY if len == data.len() as u64 && data.len() <= MAX_DIGEST_LEN => {
            Multihash::identity(data).map_err(|e| bad(e.to_string()))?
        }
        IDENTITY => {
            return Err(bad(format!(
                "an identity digest length of {len} for {} bytes of data (at most \
                 {MAX_DIGEST_LEN}, and equal)",
                data.len()
            )));
        }
        other => {
            return Err(bad(format!(
                "hash 0x{other:x}; only sha2-256 (0x12) and identity (0x00) are supported"
            )));
        }
    };
    match version {
        0 if codec == Codec::DAG_PB => Cid::new_v0(hash).map_err(|e| bad(e.to_string())),
        0 => Err(bad(format!(
            "a CIDv0 prefix with codec 0x{codec:x}, not dag-pb"
        ))),
        1 => {
            let codec = Codec::from_code(codec).map_err(|e| bad(e.to_string()))?;
            Ok(Cid::new_v1(codec, hash))
        }
        v => Err(bad(format!("CID version {v}"))),
    }
}

/// Skips the value of an unknown field of `wire_type`.
fn skip(
    r: &mut Reader<'_>,
    field: u64,
    wire_type: u8,
    message: &'static str,
) -> Result<(), PbError> {
    match wire_type {
        VARINT => r.varint().map(drop),
        LEN => r.bytes().map(drop),
        FIXED32 => r.fixed32().map(drop),
        // Eight bytes, read as two fixed32s: proto::Reader has no fixed64 of its own.
        FIXED64 => r.fixed32().and_then(|_| r.fixed32()).map(drop),
        // Groups (3, 4) are deprecated and unused by every bitswap; 6 and 7 do not exist.
        _ => Err(PbError::WrongWireType {
            message,
            field,
            wire_type,
        }),
    }
}

/// Reads a varint field, checking its wire type.
fn varint_field(r: &mut Reader<'_>, field: u64, wire_type: u8) -> Result<u64, PbError> {
    r.expect(field, wire_type, VARINT)?;
    r.varint()
}

/// Reads a length-delimited field, checking its wire type.
fn bytes_field<'a>(r: &mut Reader<'a>, field: u64, wire_type: u8) -> Result<&'a [u8], PbError> {
    r.expect(field, wire_type, LEN)?;
    r.bytes()
}

/// An `int32` as protobuf carries it: sign-extended to 64 bits, truncated on reading.
fn int32(v: u64) -> i32 {
    v as i64 as i32
}

fn cid_field(bytes: &[u8], what: &'static str) -> Result<Cid, BitswapWireError> {
    Cid::from_bytes(bytes).map_err(|err| BitswapWireError::BadCid { what, err })
}

fn check_block(data: &[u8]) -> Result<(), BitswapWireError> {
    if data.len() > MAX_BLOCK_LEN {
        return Err(BitswapWireError::BlockTooLong { len: data.len() });
    }
    Ok(())
}

fn decode_entry(body: &[u8]) -> Result<WantEntry, BitswapWireError> {
    const M: &str = "Entry";
    let mut r = Reader::new(body, M);
    let mut cid: &[u8] = &[];
    let (mut priority, mut cancel, mut want_type, mut send_dont_have) =
        (0, false, WantType::Block, false);
    while !r.is_empty() {
        let (field, wt) = r.key()?;
        match field {
            1 => cid = bytes_field(&mut r, field, wt)?,
            2 => priority = int32(varint_field(&mut r, field, wt)?),
            3 => cancel = varint_field(&mut r, field, wt)? != 0,
            4 => {
                want_type = match varint_field(&mut r, field, wt)? {
                    0 => WantType::Block,
                    1 => WantType::Have,
                    value => {
                        return Err(BitswapWireError::UnknownEnum {
                            what: "want type",
                            value,
                        });
                    }
                }
            }
            5 => send_dont_have = varint_field(&mut r, field, wt)? != 0,
            _ => skip(&mut r, field, wt, M)?,
        }
    }
    Ok(WantEntry {
        cid: cid_field(cid, "want entry CID")?,
        priority,
        cancel,
        want_type,
        send_dont_have,
    })
}

fn decode_wantlist(body: &[u8], msg: &mut Message) -> Result<(), BitswapWireError> {
    const M: &str = "Wantlist";
    let mut r = Reader::new(body, M);
    while !r.is_empty() {
        let (field, wt) = r.key()?;
        match field {
            1 => {
                let entry = decode_entry(bytes_field(&mut r, field, wt)?)?;
                if msg.wantlist.len() >= MAX_ENTRIES {
                    return Err(BitswapWireError::TooManyEntries {
                        what: "want entries",
                    });
                }
                msg.wantlist.push(entry);
            }
            2 => msg.full = varint_field(&mut r, field, wt)? != 0,
            _ => skip(&mut r, field, wt, M)?,
        }
    }
    Ok(())
}

fn decode_payload(body: &[u8]) -> Result<(Cid, Vec<u8>), BitswapWireError> {
    const M: &str = "Block";
    let mut r = Reader::new(body, M);
    let (mut prefix, mut data): (&[u8], &[u8]) = (&[], &[]);
    while !r.is_empty() {
        let (field, wt) = r.key()?;
        match field {
            1 => prefix = bytes_field(&mut r, field, wt)?,
            2 => data = bytes_field(&mut r, field, wt)?,
            _ => skip(&mut r, field, wt, M)?,
        }
    }
    check_block(data)?;
    Ok((cid_from_prefix(prefix, data)?, data.to_vec()))
}

fn decode_presence(body: &[u8]) -> Result<(Cid, Presence), BitswapWireError> {
    const M: &str = "BlockPresence";
    let mut r = Reader::new(body, M);
    let mut cid: &[u8] = &[];
    let mut presence = Presence::Have;
    while !r.is_empty() {
        let (field, wt) = r.key()?;
        match field {
            1 => cid = bytes_field(&mut r, field, wt)?,
            2 => {
                presence = match varint_field(&mut r, field, wt)? {
                    0 => Presence::Have,
                    1 => Presence::DontHave,
                    value => {
                        return Err(BitswapWireError::UnknownEnum {
                            what: "presence type",
                            value,
                        });
                    }
                }
            }
            _ => skip(&mut r, field, wt, M)?,
        }
    }
    Ok((cid_field(cid, "block presence CID")?, presence))
}

impl Message {
    /// Whether the message carries nothing (no wants, blocks, presences or pending bytes).
    pub fn is_empty(&self) -> bool {
        self.wantlist.is_empty()
            && !self.full
            && self.blocks.is_empty()
            && self.presences.is_empty()
            && self.pending_bytes == 0
    }

    /// The protobuf body (no length prefix; see [`frame`]), canonical as the module doc says.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.wantlist.is_empty() || self.full {
            let mut wl = Vec::new();
            let mut entry = Vec::new();
            for e in &self.wantlist {
                entry.clear();
                proto::write_bytes_field(1, &e.cid.to_bytes(), &mut entry);
                if e.priority != 0 {
                    proto::write_varint_field(2, e.priority as i64 as u64, &mut entry);
                }
                if e.cancel {
                    proto::write_varint_field(3, 1, &mut entry);
                }
                if e.want_type == WantType::Have {
                    proto::write_varint_field(4, 1, &mut entry);
                }
                if e.send_dont_have {
                    proto::write_varint_field(5, 1, &mut entry);
                }
                proto::write_bytes_field(1, &entry, &mut wl);
            }
            if self.full {
                proto::write_varint_field(2, 1, &mut wl);
            }
            proto::write_bytes_field(1, &wl, &mut out);
        }
        let mut block = Vec::new();
        for (cid, data) in &self.blocks {
            block.clear();
            proto::write_bytes_field(1, &prefix_of(cid), &mut block);
            if !data.is_empty() {
                proto::write_bytes_field(2, data, &mut block);
            }
            proto::write_bytes_field(3, &block, &mut out);
        }
        for (cid, presence) in &self.presences {
            block.clear();
            proto::write_bytes_field(1, &cid.to_bytes(), &mut block);
            if *presence == Presence::DontHave {
                proto::write_varint_field(2, 1, &mut block);
            }
            proto::write_bytes_field(4, &block, &mut out);
        }
        if self.pending_bytes != 0 {
            proto::write_varint_field(5, self.pending_bytes as i64 as u64, &mut out);
        }
        out
    }

    /// Parses a message body from a peer. Bounded and never panics; see the module doc for
    /// what it accepts and what the blocks it returns are worth.
    pub fn decode(body: &[u8]) -> Result<Message, BitswapWireError> {
        const M: &str = "Message";
        if body.len() > MAX_MESSAGE_LEN {
            return Err(BitswapWireError::MessageTooLong {
                len: body.len() as u64,
            });
        }
        let mut msg = Message::default();
        let mut r = Reader::new(body, M);
        while !r.is_empty() {
            let (field, wt) = r.key()?;
            match field {
                1 => decode_wantlist(bytes_field(&mut r, field, wt)?, &mut msg)?,
                2 => {
                    // Bitswap 1.0.0: the bare block; its CID is the v0 of its sha2-256.
                    let data = bytes_field(&mut r, field, wt)?;
                    check_block(data)?;
                    let cid = Cid::of_block(Version::V0, Codec::DagPb, data);
                    msg.blocks.push((cid, data.to_vec()));
                }
                3 => msg
                    .blocks
                    .push(decode_payload(bytes_field(&mut r, field, wt)?)?),
                4 => {
                    let presence = decode_presence(bytes_field(&mut r, field, wt)?)?;
                    if msg.presences.len() >= MAX_ENTRIES {
                        return Err(BitswapWireError::TooManyEntries {
                            what: "block presences",
                        });
                    }
                    msg.presences.push(presence);
                }
                5 => msg.pending_bytes = int32(varint_field(&mut r, field, wt)?),
                _ => skip(&mut r, field, wt, M)?,
            }
        }
        Ok(msg)
    }
}

/// `body` with its uvarint length prefix, as one message goes on a bitswap stream.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + varint::MAX_LEN);
    varint::write(body.len() as u64, &mut out);
    out.extend_from_slice(body);
    out
}

/// Cuts a bitswap stream into message bodies: [`FrameReader::push`] what the socket gave,
/// then [`FrameReader::pop`] complete bodies. A declared length over [`MAX_MESSAGE_LEN`] is
/// refused as soon as its prefix is seen, before any of the body is kept, so one frame never
/// holds more than that; after an error the reader yields nothing more (drop the stream).
/// Pop every complete body after each push: frames left unpopped stay buffered.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Start of the first frame whose length prefix has not been checked yet.
    checked: usize,
    failed: Option<BitswapWireError>,
}

/// Reads a frame header at the start of `bytes`: `Ok(None)` if it is incomplete.
fn frame_header(bytes: &[u8]) -> Result<Option<(usize, usize)>, BitswapWireError> {
    match varint::decode(bytes) {
        Ok((len, _)) if len > MAX_MESSAGE_LEN as u64 => {
            Err(BitswapWireError::MessageTooLong { len })
        }
        // `len` is at most MAX_MESSAGE_LEN, so it fits in usize.
        Ok((len, n)) => Ok(Some((n, len as usize))),
        Err(VarintError::Truncated) => Ok(None),
        Err(e) => Err(BitswapWireError::BadFrameLength(e)),
    }
}

impl FrameReader {
    /// A reader with nothing buffered.
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// Appends bytes from the stream and checks every length prefix that is now complete.
    /// An error is final: the stream is broken and must be dropped.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), BitswapWireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let rest = self.buf.get(self.checked..).unwrap_or_default();
            match frame_header(rest) {
                Ok(Some((n, len))) => match self.checked.checked_add(n + len) {
                    Some(end) if end <= self.buf.len() => self.checked = end,
                    // The body is still arriving; its length is within bounds.
                    _ => return Ok(()),
                },
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.buf = Vec::new();
                    self.checked = 0;
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
    }

    /// The next complete message body, if one has arrived.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        if self.failed.is_some() {
            return None;
        }
        let (n, len) = frame_header(&self.buf).ok()??;
        let end = n.checked_add(len)?;
        let body = self.buf.get(n..end)?.to_vec();
        self.buf.drain(..end);
        self.checked = self.checked.saturating_sub(end);
        Some(body)
    }

    /// Bytes held: complete frames not yet popped and the start of the next one.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
#[path = "bitswap_wire_tests.rs"]
mod tests;
