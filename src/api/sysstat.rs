//! The machine's load for `GetVar` `cpu`, `disk` and `virtualmemory`, in the shapes of the Go
//! library Leither uses (gopsutil): `[]float64`, `disk.UsageStat` and `mem.VirtualMemoryStat`.
//!
//! Read from `/proc/stat`, `/proc/meminfo` and `statvfs(2)` on Linux: a few small reads, no
//! sampling sleep. CPU use is measured between two calls (the first call: since boot), so a
//! caller that polls sees its own interval. Other systems answer zeros.
//!
//! The maps use gopsutil's JSON names (`total`, `usedPercent`, ...); [`disk_type`] and
//! [`memory_type`] give the gob types with Go's field names and kinds (`uint64`), so
//! `GetVarObj(&lapi.StatUsage{}, "", "disk")` decodes.

use std::cell::Cell;
use std::path::Path;

use super::Value;
use super::gob::{Field, GobType};

/// The most bytes read from one /proc file (they are a few KiB).
const MAX_PROC: u64 = 64 * 1024;

fn read_proc(path: &str) -> String {
    use std::io::Read;
    let mut s = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(MAX_PROC).read_to_string(&mut s);
    }
    s
}

/// Busy and total jiffies from the `cpu` line of /proc/stat.
fn cpu_jiffies(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(10)
        .filter_map(|t| t.parse().ok())
        .collect();
    if n.len() < 4 {
        return None;
    }
    let total: u64 = n.iter().fold(0u64, |a, b| a.saturating_add(*b));
    // idle + iowait are not busy.
    let idle = n[3].saturating_add(n.get(4).copied().unwrap_or(0));
    Some((total.saturating_sub(idle), total))
}

/// `cpu`: `[percent]`, the whole machine's use since the previous read (gopsutil's
/// `cpu.Percent(0, false)`). `last` is the node's previous sample (`NodeState::cpu_sample`).
pub fn cpu(last: &Cell<(u64, u64)>) -> Value {
    let Some((busy, total)) = cpu_jiffies(&read_proc("/proc/stat")) else {
        return Value::List(vec![Value::Float(0.0)]);
    };
    let (b0, t0) = last.replace((busy, total));
    let (db, dt) = if total > t0 && busy >= b0 {
        (busy - b0, total - t0)
    } else {
        (busy, total)
    };
    let pct = if dt == 0 {
        0.0
    } else {
        db as f64 * 100.0 / dt as f64
    };
    Value::List(vec![Value::Float(pct)])
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn u(n: u64) -> Value {
    Value::Int(n.min(i64::MAX as u64) as i64)
}

/// `virtualmemory`: from /proc/meminfo, in bytes.
pub fn memory() -> Value {
    memory_from(&read_proc("/proc/meminfo"))
}

fn memory_from(info: &str) -> Value {
    let kb = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            .saturating_mul(1024)
    };
    let total = kb("MemTotal");
    let free = kb("MemFree");
    let buffers = kb("Buffers");
    let cached = kb("Cached").saturating_add(kb("SReclaimable"));
    let available = match kb("MemAvailable") {
        0 => free.saturating_add(buffers).saturating_add(cached),
        a => a,
    };
    let used = total.saturating_sub(available);
    Value::map([
        ("total", u(total)),
        ("available", u(available)),
        ("used", u(used)),
        ("usedPercent", Value::Float(percent(used, total))),
        ("free", u(free)),
        ("active", u(kb("Active"))),
        ("inactive", u(kb("Inactive"))),
        ("buffers", u(buffers)),
        ("cached", u(cached)),
        ("swapTotal", u(kb("SwapTotal"))),
        ("swapFree", u(kb("SwapFree"))),
        ("shared", u(kb("Shmem"))),
    ])
}

/// `disk`: the file system holding `path` (the node's home).
pub fn disk(path: &Path) -> Value {
    let (fstype, total, free, avail, files, ffree) = statvfs(path).unwrap_or_default();
    // As df and gopsutil: used excludes the blocks reserved for root.
    let used = total.saturating_sub(free);
    let inodes_used = files.saturating_sub(ffree);
    Value::map([
        ("path", Value::Str(path.display().to_string())),
        ("fstype", Value::Str(fstype)),
        ("total", u(total)),
        ("free", u(avail)),
        ("used", u(used)),
        (
            "usedPercent",
            Value::Float(percent(used, used.saturating_add(avail))),
        ),
        ("inodesTotal", u(files)),
        ("inodesUsed", u(inodes_used)),
        ("inodesFree", u(ffree)),
        (
            "inodesUsedPercent",
            Value::Float(percent(inodes_used, files)),
        ),
    ])
}

// The field types of `statfs` differ between targets (u32 on mips, u64 on x86_64).
#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_cast)]
fn statvfs(path: &Path) -> Option<(String, u64, u64, u64, u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statfs the call fills.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let bs = st.f_bsize as u64;
    let fstype = match st.f_type as i64 {
        0xEF53 => "ext2/ext3",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2468_5246 => "jffs2",
        0x7371_7368 => "squashfs",
        0x4d44 => "msdos",
        0xF2F5_2010 => "f2fs",
        0x6969 => "nfs",
        0x6573_5546 => "fuse",
        _ => "",
    };
    Some((
        fstype.to_string(),
        (st.f_blocks as u64).saturating_mul(bs),
        (st.f_bfree as u64).saturating_mul(bs),
        (st.f_bavail as u64).saturating_mul(bs),
        st.f_files as u64,
        st.f_ffree as u64,
    ))
}

#[cfg(not(target_os = "linux"))]
fn statvfs(_path: &Path) -> Option<(String, u64, u64, u64, u64, u64)> {
    None
}

/// gopsutil's `disk.UsageStat` as gob sees it.
pub fn disk_type() -> GobType {
    let uints = ["total", "free", "used"];
    let mut f = vec![
        Field::new("path", GobType::String),
        Field::new("fstype", GobType::String),
    ];
    f.extend(uints.iter().map(|k| Field::new(k, GobType::Uint)));
    f.push(Field::new("usedPercent", GobType::Float));
    for k in ["inodesTotal", "inodesUsed", "inodesFree"] {
        f.push(Field::new(k, GobType::Uint));
    }
    f.push(Field::new("inodesUsedPercent", GobType::Float));
    GobType::Struct("UsageStat".into(), f)
}

/// gopsutil's `mem.VirtualMemoryStat` (the fields we fill) as gob sees it.
pub fn memory_type() -> GobType {
    let mut f = Vec::new();
    for k in ["total", "available", "used"] {
        f.push(Field::new(k, GobType::Uint));
    }
    f.push(Field::new("usedPercent", GobType::Float));
    for k in [
        "free",
        "active",
        "inactive",
        "buffers",
        "cached",
        "swapTotal",
        "swapFree",
        "shared",
    ] {
        f.push(Field::new(k, GobType::Uint));
    }
    GobType::Struct("VirtualMemoryStat".into(), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_line_parses_and_bad_input_does_not() {
        let (busy, total) = cpu_jiffies("cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!((busy, total), (20, 100));
        assert_eq!(cpu_jiffies("cpu x y"), None);
        assert_eq!(cpu_jiffies(""), None);
    }

    #[test]
    fn meminfo_in_bytes() {
        let v = memory_from("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\n");
        assert_eq!(v.get("total"), Some(&Value::Int(1_024_000)));
        assert_eq!(v.get("used"), Some(&Value::Int(614_400)));
        assert_eq!(v.get("usedPercent"), Some(&Value::Float(60.0)));
        assert_eq!(memory_from("garbage").get("total"), Some(&Value::Int(0)));
    }

    #[test]
    fn disk_and_memory_encode_as_their_go_types() {
        let d = disk(Path::new("/"));
        assert!(super::super::gob::encode(&disk_type(), &d).is_ok());
        let m = memory_from("MemTotal: 1000 kB\n");
        let bytes = super::super::gob::encode(&memory_type(), &m).unwrap();
        // The struct definition carries Go's field names.
        assert!(bytes.windows(11).any(|w| w == b"UsedPercent"));
    }
}
