//! Directories for `ipfs add -r/-w` and `ipfs get`.
//!
//! **Add.** The CLI walks the folder in name order: each file streams to `POST /ipfs/add`
//! unpinned, each directory is built from its entries by `IpfsMakeDir` once its children are
//! in (bottom-up, so the root CID is kubo's `ipfs add -r`), and the top is pinned last. What
//! is not added is said on standard error, never skipped silently: hidden names (kubo skips
//! them too; `--hidden` adds them), names that are not UTF-8, special files, symlinks that
//! leave the folder and symlinks to directories (a loop could hide there). A symlink to a
//! file inside the folder adds that file's bytes.
//!
//! **Get.** A directory is written under a temporary name next to the target (`TARGET.part`,
//! which must not exist) and renamed when complete. Names come from the DAG, which anyone may
//! have crafted: a name that is empty, `.`, `..`, or holds `/`, `\` or NUL is refused and
//! reported, so nothing is ever written outside the target. Only directories and files are
//! created (`create_dir`, `create_new`), never symlinks, and a new directory holds nothing
//! to follow, so no existing link is followed either.

use std::path::{Path, PathBuf};

use super::CliError;
use super::client::Client;
use crate::api::Value;

/// Deepest directory tree written by `ipfs get`.
const MAX_GET_DEPTH: usize = 64;
/// Most entries written by one `ipfs get` (a DAG may link one directory many times).
const MAX_GET_ENTRIES: u64 = 1_000_000;

/// What to add and how.
pub struct AddDir<'a> {
    /// The query of `POST /ipfs/add` (import options), without `pin`.
    pub query: &'a str,
    /// Add hidden names (starting with `.`).
    pub hidden: bool,
    /// One file added with these bytes instead of its own (an app's `lever.json` without its
    /// `env`, which must not be published): its path as [`AddDir::dir`] walks it.
    pub replace: Option<(&'a Path, &'a [u8])>,
}

/// One added entry: CID and cumulative size.
type Added = (String, u64);

fn skipped(path: &Path, why: &str) {
    eprintln!("skipped {}: {why}", path.display());
}

impl AddDir<'_> {
    /// Adds one file unpinned; prints `added CID NAME`.
    pub fn file(&self, c: &mut Client, path: &Path, shown: &str) -> Result<Added, CliError> {
        let v = c.post_file(&format!("/ipfs/add?{}&pin=false", self.query), path)?;
        Ok(self.added(v, shown))
    }

    /// Adds `bytes` unpinned as the file `shown`; prints `added CID NAME`.
    pub fn bytes(&self, c: &mut Client, bytes: &[u8], shown: &str) -> Result<Added, CliError> {
        let to = format!("/ipfs/add?{}&pin=false", self.query);
        let v = c.post_bytes(&to, bytes, &format!("adding {shown}"))?;
        Ok(self.added(v, shown))
    }

    fn added(&self, v: Value, shown: &str) -> Added {
        let cid = v
            .get("cid")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let tsize = v.get("dagSize").and_then(Value::as_i64).unwrap_or(0) as u64;
        println!("added {cid} {shown}");
        (cid, tsize)
    }

    /// Builds a directory over `entries` with `IpfsMakeDir`.
    pub fn make_dir(
        &self,
        c: &mut Client,
        entries: Vec<(String, Added)>,
        shown: &str,
    ) -> Result<Added, CliError> {
        let sid = c.login(true)?;
        let list = entries
            .into_iter()
            .map(|(name, (cid, tsize))| {
                Value::map([
                    ("name", Value::Str(name)),
                    ("cid", Value::Str(cid)),
                    ("tsize", Value::Int(tsize as i64)),
                ])
            })
            .collect();
        let v = c.call(
            "IpfsMakeDir",
            vec![
                Value::Str(sid),
                Value::List(list),
                Value::Str(self.query.to_string()),
            ],
        )?;
        let cid = v
            .get("cid")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let tsize = v.get("dagSize").and_then(Value::as_i64).unwrap_or(0) as u64;
        if !shown.is_empty() {
            println!("added {cid} {shown}");
        }
        Ok((cid, tsize))
    }

    /// Adds the folder `dir` (canonical `top` bounds its symlinks) recursively.
    pub fn dir(
        &self,
        c: &mut Client,
        dir: &Path,
        top: &Path,
        shown: &str,
    ) -> Result<Added, CliError> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).map_err(CliError::io(dir))? {
            let e = e.map_err(CliError::io(dir))?;
            names.push(e.file_name());
        }
        names.sort();
        let mut entries = Vec::new();
        for os in names {
            let path = dir.join(&os);
            let Some(name) = os.to_str().map(str::to_string) else {
                skipped(&path, "the name is not UTF-8");
                continue;
            };
            if name.starts_with('.') && !self.hidden {
                skipped(&path, "hidden (add --hidden to include it)");
                continue;
            }
            let child_shown = format!("{shown}/{name}");
            if let Some((_, bytes)) = self.replace.filter(|(p, _)| *p == path) {
                entries.push((name, self.bytes(c, bytes, &child_shown)?));
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).map_err(CliError::io(&path))?;
            let kind = meta.file_type();
            let added = if kind.is_symlink() {
                let target = match std::fs::canonicalize(&path) {
                    Ok(t) => t,
                    Err(_) => {
                        skipped(&path, "a broken symlink");
                        continue;
                    }
                };
                if !target.starts_with(top) {
                    skipped(&path, "a symlink that leaves the folder");
                    continue;
                }
                if !target.is_file() {
                    skipped(&path, "a symlink to something other than a file");
                    continue;
                }
                self.file(c, &target, &child_shown)?
            } else if kind.is_dir() {
                self.dir(c, &path, top, &child_shown)?
            } else if kind.is_file() {
                self.file(c, &path, &child_shown)?
            } else {
                skipped(&path, "not a regular file or directory");
                continue;
            };
            entries.push((name, added));
        }
        self.make_dir(c, entries, shown)
    }
}

/// Whether a name from a DAG can be written as one entry inside a directory.
pub fn safe_entry_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Writes the directory `cid` into `target` (see the module doc). Returns (files, bytes).
pub fn get_dir(c: &mut Client, cid: &str, target: &Path) -> Result<(u64, u64), CliError> {
    let sid = c.login(false)?;
    if std::fs::symlink_metadata(target).is_ok() {
        return Err(CliError::Failed(format!(
            "{} already exists; remove it or choose another -o",
            target.display()
        )));
    }
    let mut tmp = target.as_os_str().to_os_string();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::create_dir(&tmp).map_err(|e| {
        CliError::Failed(format!(
            "cannot make {} to write into ({e}); remove it if it is left from an earlier get",
            tmp.display()
        ))
    })?;
    let mut stats = GetStats::default();
    let walked = walk(c, &sid, cid, &tmp, 0, &mut stats);
    if let Err(e) = walked {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, target).map_err(|e| {
        CliError::Failed(format!(
            "the directory is complete in {} but cannot be renamed to {}: {e}",
            tmp.display(),
            target.display()
        ))
    })?;
    if stats.refused > 0 {
        return Err(CliError::Failed(format!(
            "{} wrote {} files but refused {} entries whose names or kinds are unsafe (see above)",
            target.display(),
            stats.files,
            stats.refused
        )));
    }
    Ok((stats.files, stats.bytes))
}

#[derive(Default)]
struct GetStats {
    files: u64,
    bytes: u64,
    entries: u64,
    refused: u64,
}

fn walk(
    c: &Client,
    sid: &str,
    cid: &str,
    dir: &Path,
    depth: usize,
    stats: &mut GetStats,
) -> Result<(), CliError> {
    if depth > MAX_GET_DEPTH {
        return Err(CliError::Failed(format!(
            "{cid}: directories nested deeper than {MAX_GET_DEPTH}"
        )));
    }
    let v = c.call(
        "IpfsLs",
        vec![Value::Str(sid.to_string()), Value::Str(cid.to_string())],
    )?;
    let Some(Value::List(entries)) = v.get("entries") else {
        return Err(CliError::Http("IpfsLs answered without entries".into()));
    };
    for e in entries {
        stats.entries += 1;
        if stats.entries > MAX_GET_ENTRIES {
            return Err(CliError::Failed(format!(
                "more than {MAX_GET_ENTRIES} entries; refusing to write more"
            )));
        }
        let name = e.get("name").and_then(Value::as_str).unwrap_or("");
        let ecid = e.get("cid").and_then(Value::as_str).unwrap_or("");
        let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
        if !safe_entry_name(name) {
            eprintln!(
                "refused entry {name:?} of {cid}: a name that could leave the target directory"
            );
            stats.refused += 1;
            continue;
        }
        let path = dir.join(name);
        match kind {
            "directory" => {
                std::fs::create_dir(&path).map_err(CliError::io(&path))?;
                walk(c, sid, ecid, &path, depth + 1, stats)?;
            }
            "file" => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(CliError::io(&path))?;
                let n = c.get_to(&format!("/ipfs/{ecid}"), &mut f)?;
                f.sync_all().map_err(CliError::io(&path))?;
                stats.files += 1;
                stats.bytes += n;
            }
            other => {
                eprintln!("refused entry {name:?} of {cid}: a {other} node is not written");
                stats.refused += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_names_are_written() {
        for bad in ["", ".", "..", "a/b", "/abs", "a\\b", "nul\0"] {
            assert!(!super::safe_entry_name(bad), "{bad:?}");
        }
        for good in ["a", "..a", "a..", ".hidden", "été.txt", "with space"] {
            assert!(super::safe_entry_name(good), "{good:?}");
        }
    }
}
