//! `INFO [section ...]`: Redis 7.0's sections and field names, filled with what the node
//! knows. Fields the node has no honest number for (replication offsets, keyspace hits,
//! fork counts) are left out, not made up; `role` is always `master`.

use std::fmt::Write as _;

use crate::node::NodeState;

/// The sections of `INFO` with no argument (and of `default`), in order.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
/// What `all` adds; `everything` is the same here (no modules to add).
const MORE: &[&str] = &["commandstats", "latencystats"];

/// The sections `args` (the words after `INFO`) ask for, in Redis's order.
pub fn sections(args: &[&[u8]]) -> Vec<&'static str> {
    let mut want: Vec<&'static str> = Vec::new();
    let add = |want: &mut Vec<&'static str>, s: &'static str| {
        if !want.contains(&s) {
            want.push(s);
        }
    };
    if args.is_empty() {
        return DEFAULT.to_vec();
    }
    for a in args {
        let a = a.to_ascii_lowercase();
        match a.as_slice() {
            b"default" => DEFAULT.iter().for_each(|s| add(&mut want, s)),
            b"all" | b"everything" => DEFAULT.iter().chain(MORE).for_each(|s| add(&mut want, s)),
            other => {
                if let Some(s) = DEFAULT.iter().chain(MORE).find(|s| s.as_bytes() == other) {
                    add(&mut want, s);
                }
            }
        }
    }
    let order: Vec<&'static str> = DEFAULT.iter().chain(MORE).copied().collect();
    want.sort_by_key(|s| order.iter().position(|o| o == s));
    want
}

/// The process's CPU seconds (user, system), from `getrusage`.
fn cpu() -> (f64, f64) {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return (0.0, 0.0);
    }
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (s(u.ru_utime), s(u.ru_stime))
}

fn human(b: usize) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// A database line of the keyspace section: number, keys, keys with an expiry.
pub type DbLine = (i64, u64, u64);

/// The text of `INFO` for `want` (from [`sections`]); `keyspace` gives the keyspace lines
/// when that section is wanted.
pub fn render(
    state: &NodeState,
    want: &[&'static str],
    keyspace: &mut dyn FnMut() -> Vec<DbLine>,
) -> String {
    let mut o = String::new();
    let node = &state.resp;
    let now = crate::clock::unix_now();
    for (i, s) in want.iter().enumerate() {
        if i > 0 {
            o.push_str("\r\n");
        }
        let mut title = s.to_string();
        if let Some(f) = title.get_mut(..1) {
            f.make_ascii_uppercase();
        }
        let _ = write!(o, "# {title}\r\n");
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            let _ = write!(o, "{k}:{v}\r\n");
        };
        match *s {
            "server" => {
                let up = now.saturating_sub(state.started);
                line("redis_version", &super::hello::REDIS_VERSION);
                line("leither_version", &crate::api::fns_node::VERSION);
                line("redis_mode", &"standalone");
                line("os", &std::env::consts::OS);
                line("arch_bits", &(usize::BITS));
                line("multiplexing_api", &"tokio");
                line("process_id", &std::process::id());
                line("run_id", &state.key.id());
                line("tcp_port", &state.vars.borrow().resp_port);
                line("uptime_in_seconds", &up);
                line("uptime_in_days", &(up / 86400));
            }
            "clients" => {
                line("connected_clients", &node.clients.borrow().len());
                line(
                    "maxclients",
                    &state.vars.borrow().conn.resp().max_connections,
                );
                line("blocked_clients", &node.blocked.borrow().len());
                line("tracking_clients", &0);
            }
            "memory" => {
                let used = state.budget.used();
                line("used_memory", &used);
                line("used_memory_human", &human(used));
                line("used_memory_peak", &state.budget.peak());
                line("maxmemory", &0);
                line("leither_memory_budget", &state.budget.limit());
                line("maxmemory_policy", &"noeviction");
                line("mem_allocator", &"libc");
            }
            "persistence" => {
                line("loading", &0);
                line("async_loading", &0);
                let changes =
                    super::blocking::store_seq(state).saturating_sub(node.saved_seq.get());
                line("rdb_changes_since_last_save", &changes);
                line("rdb_bgsave_in_progress", &0);
                line("rdb_last_bgsave_status", &"ok");
                line("aof_enabled", &0);
                line("aof_rewrite_in_progress", &0);
                line("aof_rewrite_scheduled", &0);
                line("aof_last_bgrewrite_status", &"ok");
                line("aof_last_write_status", &"ok");
                line("leither_durability", &state.vars.borrow().db_durability);
            }
            "stats" => {
                line("total_connections_received", &node.connections.get());
                line("total_commands_processed", &node.commands.get());
                line("total_error_replies", &node.error_replies.get());
                line("total_forks", &0);
            }
            "replication" => {
                line("role", &"master");
                line("connected_slaves", &0);
                line("master_repl_offset", &0);
            }
            "cpu" => {
                let (u, sy) = cpu();
                line("used_cpu_sys", &format_args!("{sy:.6}"));
                line("used_cpu_user", &format_args!("{u:.6}"));
                line("used_cpu_sys_children", &"0.000000");
                line("used_cpu_user_children", &"0.000000");
            }
            "cluster" => line("cluster_enabled", &0),
            "keyspace" => {
                for (n, keys, expires) in keyspace() {
                    line(
                        &format!("db{n}"),
                        &format_args!("keys={keys},expires={expires},avg_ttl=0"),
                    );
                }
            }
            "commandstats" => {
                let per = node.per_command.borrow();
                let mut names: Vec<_> = per.iter().filter(|(_, n, _)| *n > 0).collect();
                names.sort();
                for (name, calls, failed) in names {
                    line(
                        &format!("cmdstat_{name}"),
                        &format_args!(
                            "calls={calls},usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls={failed}"
                        ),
                    );
                }
            }
            "errorstats" => {
                for (code, n) in node.errors.borrow().iter() {
                    line(&format!("errorstat_{code}"), &format_args!("count={n}"));
                }
            }
            _ => {}
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::sections;

    #[test]
    fn sections_as_redis_picks_them() {
        assert_eq!(sections(&[]).len(), 11);
        assert_eq!(sections(&[b"CPU", b"sentinel"]), vec!["cpu"]);
        let all = sections(&[b"cpu", b"all"]);
        assert_eq!(all.iter().filter(|s| **s == "cpu").count(), 1);
        assert!(all.contains(&"commandstats"));
        assert!(!sections(&[b"cpu", b"default"]).contains(&"commandstats"));
        assert_eq!(sections(&[b"commandSTATS"]), vec!["commandstats"]);
    }
}
