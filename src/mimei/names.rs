//! Names of versions and of files inside a Mimei: `MID[:VER][/path]`.
//!
//! The form is shared by `mimei get MID[:VER][/path]` and the gateway route
//! `/mm/<mid>[:ver]/path`:
//!
//! - `MID`: the 27-character Mimei ID.
//! - `VER` ([`VersionName`]): a version number (`1`, `2`, ... no leading zeros), `last` (the
//!   newest numbered version), `release` (the version the author released) or `cur` (the
//!   writable current state). Absent means `last` ([`MimeiPath::version_or_last`]).
//! - `path`: a file inside the Mimei's tree, `/`-separated, normalised: `.` components are
//!   dropped, `..` removes the component before it and is refused when there is none (it would
//!   leave the Mimei). Refused too: an empty component (`MID//etc/passwd`: an absolute path
//!   where a relative one belongs, or `a//b`), a backslash (a Windows separator), control
//!   characters, a component over 255 bytes, an input over 4096 bytes. One trailing `/` is
//!   kept as [`MimeiPath::trailing_slash`] (a directory listing).
//!
//! [`MimeiPath::parse`] takes the text as typed (CLI, API). [`MimeiPath::parse_url`] takes the
//! part of a URL path after `/mm/` (without the query) and percent-decodes each segment after
//! splitting on `/`, so `%2e%2e` is `..` (and refused as such) and an encoded `/` or `\` inside a
//! segment is refused rather than becoming a separator.
//!
//! The normalised components never contain `/`, `\`, `.`, `..` or an empty name, so joining
//! them under a target directory (`mimei get -o DIR`) cannot leave it.

use core::fmt;
use core::str::FromStr;
use std::borrow::Cow;

use super::MimeiError;
use super::id::MimeiId;
use crate::pki::{LeitherId, PkiError, quote_input};

/// Longest `MID[:VER][/path]` input, in bytes.
pub const MAX_PATH_LEN: usize = 4096;
/// Longest path component, in bytes (the common file-name limit).
pub const MAX_COMPONENT_LEN: usize = 255;

/// Which state of a Mimei to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionName {
    /// A numbered, read-only version (from 1).
    Number(u64),
    /// The newest numbered version.
    Last,
    /// The version named by `MMRelease` / `lapp release`.
    Release,
    /// The writable current state.
    Cur,
}

impl VersionName {
    /// Whether this names the writable state (`cur`); every other name is read-only.
    pub fn is_writable(self) -> bool {
        self == VersionName::Cur
    }
}

impl fmt::Display for VersionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionName::Number(n) => write!(f, "{n}"),
            VersionName::Last => f.write_str("last"),
            VersionName::Release => f.write_str("release"),
            VersionName::Cur => f.write_str("cur"),
        }
    }
}

impl FromStr for VersionName {
    type Err = MimeiError;

    /// A number from 1 without leading zeros (one spelling per version), `last`, `release` or
    /// `cur`, in lower case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| MimeiError::InvalidVersion {
            input: quote_input(s),
            reason,
        };
        match s {
            "last" => return Ok(VersionName::Last),
            "release" => return Ok(VersionName::Release),
            "cur" => return Ok(VersionName::Cur),
            "" => return Err(invalid("it is empty")),
            _ => {}
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("it is neither a number nor a version name"));
        }
        if s == "0" {
            return Err(invalid("version numbers start at 1"));
        }
        if s.starts_with('0') {
            return Err(invalid("a version number has no leading zeros"));
        }
        s.parse::<u64>()
            .map(VersionName::Number)
            .map_err(|_| invalid("the number is too large"))
    }
}

/// A parsed `MID[:VER][/path]`. See the module doc.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MimeiPath {
    /// The Mimei.
    pub mid: MimeiId,
    /// The version, if one was named.
    pub version: Option<VersionName>,
    /// The normalised path components; empty for the root.
    pub path: Vec<String>,
    /// Whether the input ended in `/` after the ID or a component.
    pub trailing_slash: bool,
}

impl MimeiPath {
    /// Parses the text as typed: `mimei get MID[:VER][/path]`.
    pub fn parse(s: &str) -> Result<MimeiPath, MimeiError> {
        parse_segments(s, s.split('/').map(|seg| Ok(Cow::Borrowed(seg))))
    }

    /// Parses what follows `/mm/` in a URL path (no query), percent-decoding each segment.
    pub fn parse_url(s: &str) -> Result<MimeiPath, MimeiError> {
        parse_segments(s, s.split('/').map(|seg| percent_decode(seg, s)))
    }

    /// The version named, or `last` when none was.
    pub fn version_or_last(&self) -> VersionName {
        self.version.unwrap_or(VersionName::Last)
    }

    /// The path inside the Mimei, components joined by `/`, without leading slash (`""` for the
    /// root).
    pub fn path_string(&self) -> String {
        self.path.join("/")
    }
}

impl fmt::Display for MimeiPath {
    /// The canonical text: `MID[:VER][/a/b][/]`; it parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mid)?;
        if let Some(v) = self.version {
            write!(f, ":{v}")?;
        }
        for c in &self.path {
            write!(f, "/{c}")?;
        }
        if self.trailing_slash {
            f.write_str("/")?;
        }
        Ok(())
    }
}

/// Normalises a path inside a Mimei given on its own (`MFOpenByPath`): components as in the
/// module doc; one leading `/` is allowed and means the Mimei's root, as does the empty path.
pub fn normalize_path(path: &str) -> Result<Vec<String>, MimeiError> {
    let rel = path.strip_prefix('/').unwrap_or(path);
    if rel.is_empty() {
        return Ok(Vec::new());
    }
    if path.len() > MAX_PATH_LEN {
        return Err(path_error(
            path,
            format!("it is longer than {MAX_PATH_LEN} bytes"),
        ));
    }
    let (components, _) = normalize(path, rel.split('/').map(|s| Ok(Cow::Borrowed(s))))?;
    Ok(components)
}

fn path_error(input: &str, reason: String) -> MimeiError {
    MimeiError::InvalidPath {
        input: quote_input(input),
        reason,
    }
}

fn parse_segments<'a>(
    input: &str,
    mut segments: impl Iterator<Item = Result<Cow<'a, str>, MimeiError>>,
) -> Result<MimeiPath, MimeiError> {
    if input.len() > MAX_PATH_LEN {
        return Err(path_error(
            input,
            format!("it is longer than {MAX_PATH_LEN} bytes"),
        ));
    }
    // `split` yields at least one segment, even for "".
    let head = segments.next().unwrap_or(Ok(Cow::Borrowed("")))?;
    let (mid_text, version_text) = match head.split_once(':') {
        Some((m, v)) => (m, Some(v)),
        None => (&*head, None),
    };
    let mid = mid_text
        .parse::<LeitherId>()
        .map_err(|e| MimeiError::InvalidMid {
            input: quote_input(mid_text),
            reason: match e {
                PkiError::InvalidId { reason, .. } => reason,
                other => other.to_string(),
            },
        })?;
    let version = version_text.map(str::parse::<VersionName>).transpose()?;
    let (path, trailing_slash) = normalize(input, segments)?;
    Ok(MimeiPath {
        mid,
        version,
        path,
        trailing_slash,
    })
}

/// Normalises the segments that follow the root `/`; returns the components and whether the
/// last segment was empty (a trailing slash).
fn normalize<'a>(
    input: &str,
    segments: impl Iterator<Item = Result<Cow<'a, str>, MimeiError>>,
) -> Result<(Vec<String>, bool), MimeiError> {
    let mut out: Vec<String> = Vec::new();
    let mut segments = segments.peekable();
    let mut first = true;
    let mut trailing = false;
    while let Some(seg) = segments.next() {
        let seg = seg?;
        let is_last = segments.peek().is_none();
        match &*seg {
            "" if is_last => trailing = true,
            "" if first => {
                return Err(path_error(
                    input,
                    "it is absolute (starts with /); give a path relative to the Mimei's root"
                        .into(),
                ));
            }
            "" => return Err(path_error(input, "it has an empty component (//)".into())),
            "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(path_error(
                        input,
                        "its .. would leave the Mimei's root".into(),
                    ));
                }
            }
            name => {
                check_component(name).map_err(|reason| path_error(input, reason))?;
                out.push(name.to_owned());
            }
        }
        first = false;
    }
    Ok((out, trailing))
}

fn check_component(name: &str) -> Result<(), String> {
    if name.len() > MAX_COMPONENT_LEN {
        return Err(format!(
            "a component is longer than {MAX_COMPONENT_LEN} bytes"
        ));
    }
    if name.contains('\\') {
        return Err("it contains a backslash (\\), which is not a separator here".into());
    }
    if name.contains('/') {
        return Err("a component contains an encoded / (%2F)".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!("it contains the control character {c:?}"));
    }
    Ok(())
}

/// Decodes `%XX` escapes of one URL path segment. `input` is the whole path, for errors.
fn percent_decode<'a>(seg: &'a str, input: &str) -> Result<Cow<'a, str>, MimeiError> {
    if !seg.contains('%') {
        return Ok(Cow::Borrowed(seg));
    }
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digit = |j: usize| bytes.get(j).and_then(|&b| (b as char).to_digit(16));
            let hex = digit(i + 1)
                .zip(digit(i + 2))
                .map(|(hi, lo)| (hi * 16 + lo) as u8);
            let Some(b) = hex else {
                return Err(path_error(
                    input,
                    "it has a % not followed by two hex digits".into(),
                ));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| path_error(input, "its percent-escapes do not decode to UTF-8".into()))
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
