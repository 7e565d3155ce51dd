//! CPU seconds and resident memory of process groups, read from /proc, for the local driver's
//! cAdvisor-style series (`container_cpu_usage_seconds_total`, `container_memory_usage_bytes`).

/// Totals of one process group at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
}

/// Parses a `/proc/<pid>/stat` line: (process group, CPU ticks, rss in pages). The CPU is
/// the process's own (utime + stime) and that of its children it has waited for (cutime +
/// cstime), so a group's total does not drop when a short-lived child ends (a shell
/// script's commands): it only grows, as a cgroup's counter does.
pub fn parse_stat(line: &str) -> Option<(i32, u64, u64)> {
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = &line[line.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13)
    // cstime(14) ... rss(21)
    let pgrp = f.get(2)?.parse().ok()?;
    let mut ticks = 0u64;
    for i in 11..=14 {
        // cutime and cstime are signed in the kernel's format; never negative in practice.
        ticks += f.get(i)?.parse::<i64>().ok()?.max(0) as u64;
    }
    let rss: u64 = f.get(21)?.parse().ok()?;
    Some((pgrp, ticks, rss))
}

/// CPU seconds this process has used (its threads and the children it waited for).
pub fn own_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0.0, |(_, ticks, _)| ticks as f64 / 100.0)
}

/// Whether process `pid` still runs (exists and is not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')').and_then(|i| {
                s[i + 1..]
                    .split_whitespace()
                    .next()
                    .map(|st| st != "Z" && st != "X")
            })
        })
        .unwrap_or(false)
}

/// When process `pid` started (clock ticks since boot, `/proc/<pid>/stat` field 22): with the
/// pid, it names one process, so a recycled pid is never mistaken for it.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process that started at `started` still runs as `pid`.
pub fn same_alive(pid: i32, started: u64) -> bool {
    alive(pid) && start_time(pid) == Some(started)
}

/// Whether process `pid`'s environment holds the entry `entry` (`NAME=value`).
pub fn environ_has(pid: i32, entry: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|env| env.split(|b| *b == 0).any(|e| e == entry.as_bytes()))
}

/// Every live (not zombie) process in /proc with its parent and process group.
fn live_processes() -> Vec<(i32, i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut f = rest.split_whitespace();
            let state = f.next()?;
            let ppid: i32 = f.next()?.parse().ok()?;
            let pgrp: i32 = f.next()?.parse().ok()?;
            (state != "Z" && state != "X").then_some((pid, ppid, pgrp))
        })
        .collect()
}

/// Processes (not zombies) whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    live_processes()
        .into_iter()
        .filter(|p| p.2 == pgid)
        .map(|p| p.0)
        .collect()
}

/// Processes (not zombies) whose parent is `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    live_processes()
        .into_iter()
        .filter(|p| p.1 == pid)
        .map(|p| p.0)
        .collect()
}

/// Sums usage per process group over every process in /proc.
pub fn sample(groups: &[i32]) -> Vec<Usage> {
    sample_groups(groups, false)
}

/// Sums usage per process group, leaving out each group's leader (soy's supervisor of a
/// local service, which is not part of the service).
pub fn sample_without_leaders(groups: &[i32]) -> Vec<Usage> {
    sample_groups(groups, true)
}

fn sample_groups(groups: &[i32], skip_leaders: bool) -> Vec<Usage> {
    let ticks = 100.0; // USER_HZ on Linux
    let page = 4096u64;
    let mut out = vec![Usage::default(); groups.len()];
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((pgrp, cpu, rss)) = parse_stat(&stat) {
            if skip_leaders && name.to_string_lossy().parse::<i32>().ok() == Some(pgrp) {
                continue;
            }
            if let Some(i) = groups.iter().position(|g| *g == pgrp) {
                out[i].cpu_seconds += cpu as f64 / ticks;
                out[i].rss_bytes += rss * page;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let line = "123 (my (odd) name) S 1 123 123 0 -1 4194304 100 0 0 0 250 50 7 3 20 0 4 0 100 1000000 300 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some((123, 310, 300)),
            "own and reaped children's"
        );
        let me = sample(&[nix::unistd::getpgrp().as_raw()]);
        assert!(me[0].rss_bytes > 0);
        let pid = std::process::id() as i32;
        let started = start_time(pid).expect("own start time");
        assert!(same_alive(pid, started));
        assert!(!same_alive(pid, started + 1));
        let group = nix::unistd::getpgrp().as_raw();
        assert!(!group_members(group).is_empty());
    }
}
