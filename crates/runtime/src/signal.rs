//! Signal names as `docker kill -s` / `--stop-signal` accept them.

use crate::error::RuntimeError;

/// Linux signal names without the `SIG` prefix, as Docker's signal map has them.
const SIGNALS: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// Real-time signals as numbered by the kernel (glibc reserves 32 and 33, so
/// user-visible SIGRTMIN is 34, as in Docker's table).
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// Parses "KILL", "sigkill", "SIGKILL" or "9" into a signal number.
pub fn parse_signal(raw: &str) -> Result<i32, RuntimeError> {
    let invalid = || RuntimeError::InvalidSignal(raw.to_string());
    if let Ok(number) = raw.parse::<i64>() {
        return match i32::try_from(number) {
            Ok(n) if (1..=RTMAX).contains(&n) => Ok(n),
            _ => Err(invalid()),
        };
    }
    let upper = raw.to_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, number)) = SIGNALS.iter().find(|(n, _)| *n == name) {
        return Ok(*number);
    }
    realtime(name).ok_or_else(invalid)
}

/// `RTMIN`, `RTMIN+n` (n ≤ 15), `RTMAX`, `RTMAX-n` (n ≤ 14).
fn realtime(name: &str) -> Option<i32> {
    match name {
        "RTMIN" => return Some(RTMIN),
        "RTMAX" => return Some(RTMAX),
        _ => {}
    }
    if let Some(offset) = name.strip_prefix("RTMIN+") {
        let n: i32 = offset.parse().ok()?;
        return (1..=15).contains(&n).then_some(RTMIN + n);
    }
    let offset = name.strip_prefix("RTMAX-")?;
    let n: i32 = offset.parse().ok()?;
    (1..=14).contains(&n).then_some(RTMAX - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_prefix_any_case() {
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGKILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("hup").unwrap(), 1);
        assert_eq!(parse_signal("USR1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse_signal("WINCH").unwrap(), 28);
    }

    #[test]
    fn numbers_pass_through() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("64").unwrap(), 64);
    }

    #[test]
    fn realtime_names() {
        assert_eq!(parse_signal("RTMIN").unwrap(), 34);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), 37);
        assert_eq!(parse_signal("RTMAX-1").unwrap(), 63);
        assert!(parse_signal("RTMIN+16").is_err());
    }

    #[test]
    fn bad_values_name_themselves() {
        for bad in ["0", "-1", "65", "NOPE", "SIG", ""] {
            assert_eq!(
                parse_signal(bad).unwrap_err().to_string(),
                format!("Invalid signal: {bad}")
            );
        }
    }
}
