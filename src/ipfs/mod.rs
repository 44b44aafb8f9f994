//! IPFS formats, sans-io: CIDs, dag-pb, UnixFS, the file importer and exporter, CAR.
//!
//! # Layout
//!
//! - [`varint`]: unsigned LEB128 (multiformats rules and protobuf rules).
//! - [`multihash`]: sha2-256 and identity multihashes.
//! - [`base32`]: RFC 4648 base32, the text of CIDv1.
//! - [`cid`]: [`Cid`] v0/v1 over dag-pb and raw, binary and text, [`CidError`].
//! - [`proto`]: the protobuf wire format dag-pb and UnixFS share, [`PbError`].
//! - [`dagpb`]: [`PbNode`]/[`PbLink`], canonical encoding and strict decoding.
//! - [`unixfs`]: the UnixFS `Data` message.
//! - [`importer`]: [`FileImporter`], streaming, kubo-identical CIDs (balanced and trickle).
//! - [`dir`]: UnixFS directory nodes from named entries, sorted as kubo sorts them.
//! - [`hamt`]: HAMT-sharded directories (murmur3-x64-64, fanout 256) for big ones.
//! - [`car`]: CAR v1 writer and streaming, hash-verifying reader.
//! - [`exporter`]: byte ranges of UnixFS files (fetching only the blocks needed), directory
//!   listings.
//!
//! Nothing here does I/O, reads a clock or keeps global state: blocks come in as bytes (or
//! through a caller's fetch function) and go out as values. Every decoder takes untrusted
//! bytes, checks every length and never panics; each has a fuzz target in `fuzz/`.
//! The formats, kubo's defaults and what is left out are in `docs/ipfs-formats.md`.

pub mod base32;
pub mod car;
pub mod cid;
pub mod dagpb;
pub mod dir;
pub mod exporter;
pub mod hamt;
pub mod importer;
pub mod multihash;
pub mod proto;
pub mod unixfs;
pub mod varint;

#[cfg(test)]
mod importer_tests;

pub use car::{CarError, CarItem, CarReader};
pub use cid::{Cid, CidError, Codec, Version};
pub use dagpb::{PbLink, PbNode};
pub use dir::{BuiltDir, DirEntry, DirError};
pub use exporter::{ExportError, FileReader, Listing, Step};
pub use importer::{Block, FileImporter, ImportError, ImportOptions, Imported, Layout};
pub use multihash::Multihash;
pub use proto::PbError;
pub use unixfs::{DataType, UnixFs, UnixTime};
