//! Container commands: Docker's flags, output columns and exit codes over
//! the engine's container operations. Docker quirks are noted where they are
//! reproduced.

mod exec;
mod files;
mod flags;
mod lifecycle;
mod logs;
mod ps;
mod run;
mod usage;

use anyhow::Result;

pub use exec::{exec, ExecArgs};
pub use files::{commit, cp, diff, export, CommitArgs, CpArgs, DiffArgs, ExportArgs};
pub(crate) use flags::parse_restart;
pub use flags::{CreateArgs, RunArgs};
pub use lifecycle::{
    kill, pause, rename, restart, rm, stop, unpause, wait, KillArgs, NamesArgs, RenameArgs, RmArgs,
    StopArgs,
};
pub use logs::{logs, LogsArgs};
pub use ps::{inspect_value, port, ps, PortArgs, PsArgs};
pub use run::{attach, create, run, start, AttachArgs, StartArgs};
pub use usage::{stats, top, StatsArgs, TopArgs};

/// Runs `f` for each container argument; errors are printed per container and
/// the command exits 1 if any failed (Docker's behaviour for multi-target commands).
fn for_each(containers: &[String], mut f: impl FnMut(&str) -> Result<()>) -> Result<i32> {
    let mut failed = false;
    for name in containers {
        if let Err(e) = f(name) {
            eprintln!("{}{}", crate::exit::prefix(&e), crate::exit::one_line(&e));
            failed = true;
        }
    }
    Ok(if failed { 1 } else { 0 })
}
