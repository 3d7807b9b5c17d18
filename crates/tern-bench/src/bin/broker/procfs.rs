//! What Linux's `/proc` says about the broker processes (and this one). Off Linux, or without
//! a pid, every reading is `None` and the report leaves the column empty.

use std::time::Duration;

/// Linux's USER_HZ, the unit of `/proc/PID/stat`'s times (fixed by the ABI).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time (user + system, all threads) of process `pid`.
pub(crate) fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses (which may hold spaces): utime and stime are
    // fields 14 and 15 of the line, 12 and 13 after the name.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let tick = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Duration::from_millis(
        (tick(11)? + tick(12)?) * 1000 / TICKS_PER_SECOND,
    ))
}

/// Resident memory of process `pid` in KiB (`VmRSS`).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// The soft open-files limit of process `pid` (`None` also when unlimited).
pub(crate) fn open_files_limit(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time this thread has used (`/proc/thread-self/schedstat`, nanoseconds).
pub(crate) fn thread_cpu() -> Option<Duration> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// Raises this process's soft open-files limit to its hard limit; returns the new soft limit.
pub(crate) fn raise_open_files_limit() -> Result<u64, String> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        // An unlimited hard limit still cannot go past the kernel's nr_open (2^20 by default).
        limit.current = Some(limit.maximum.unwrap_or(1 << 20));
        setrlimit(Resource::Nofile, limit)
            .map_err(|e| format!("cannot raise the open-files limit: {e}"))?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}
