//! Mimei databases: ordered byte-string maps whose numbered versions are content-addressed.
//!
//! - [`prolly`]: a version as a prolly tree of dag-cbor blocks (build, read, links for gc);
//!   the format is in docs/db-versions.md.

pub mod prolly;
