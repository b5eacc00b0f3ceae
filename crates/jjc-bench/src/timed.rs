//! One command timed from outside, as exactly as a process can be: its wall time from just
//! before it is started to just after it is reaped, and its peak resident memory.
//!
//! The benchmark scripts used to take the wall time between two `date` processes around
//! `/usr/bin/time -v`: about 3.1 ms for `/bin/true`, which lives 0.8 ms. That 2.3 ms of
//! launching fell on every command alike and pulled every ratio towards 1.

use std::io;
use std::process::Command;
use std::time::Instant;

/// What one run of a command took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed {
    /// Wall time from before the command was started to after it was reaped, in seconds.
    pub seconds: f64,
    /// The command's peak resident set, in KiB (0 where the system does not say).
    pub max_rss_kib: u64,
    /// Whether the command exited with status 0.
    pub success: bool,
}

/// Runs `program` with `args`, standard streams inherited, and times it.
pub fn run(program: &str, args: &[String]) -> io::Result<Timed> {
    let mut command = Command::new(program);
    command.args(args);
    let start = Instant::now();
    let status = command.spawn()?.wait()?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Timed {
        seconds,
        max_rss_kib: children_max_rss_kib(),
        success: status.success(),
    })
}

/// The largest peak resident set of the children this process has reaped, in KiB: this
/// tool reaps one, so it is that command's.
fn children_max_rss_kib() -> u64 {
    // SAFETY: `getrusage` fills the `rusage` it is given and reads nothing else; a zeroed
    // `rusage` is a valid value of that plain C struct.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) != 0 {
            return 0;
        }
        usage
    };
    // Linux reports kilobytes.
    u64::try_from(usage.ru_maxrss).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_s_exit_and_memory_are_reported() {
        let ok = run("sh", &["-c".into(), "exit 0".into()]).expect("sh runs");
        assert!(ok.success);
        assert!(ok.seconds > 0.0);
        assert!(ok.max_rss_kib > 0, "{ok:?}");
        let failed = run("sh", &["-c".into(), "exit 3".into()]).expect("sh runs");
        assert!(!failed.success);
    }

    #[test]
    fn the_wall_time_covers_the_command() {
        let slept = run("sleep", &["0.05".into()]).expect("sleep runs");
        assert!(slept.success);
        assert!(slept.seconds >= 0.05, "{slept:?}");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(run("/nonexistent/jjc-bench-test", &[]).is_err());
    }
}
