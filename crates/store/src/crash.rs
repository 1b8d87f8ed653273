//! Named crash points for fault-injection tests.
//!
//! Operations call [`point`] at the steps where a crash must leave nothing
//! behind that the next command or `system check` would not repair. Inert
//! unless `BERTH_CRASH_AT=<op>:<point>` names it: then the process kills
//! itself with SIGKILL right there, as an OOM kill or a power cut would stop
//! it (no unwinding, no destructors, no exit handlers). The variable is
//! inherited by the monitor a command spawns, so the monitor's setup steps
//! are reached the same way.

use std::sync::OnceLock;

/// The environment variable naming the one crash point to fire.
pub const CRASH_AT_ENV: &str = "BERTH_CRASH_AT";

/// Kills the process with SIGKILL if [`CRASH_AT_ENV`] is `op:name`.
pub fn point(op: &str, name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var(CRASH_AT_ENV).ok());
    let Some(at) = at else { return };
    if at.split_once(':') == Some((op, name)) {
        // SAFETY: kill(2) on our own pid; never returns for SIGKILL.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
