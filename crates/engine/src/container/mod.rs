//! Container operations, one file per operation.

mod commit;
mod cp;
pub mod create;
pub mod details;
mod diff;
mod exec;
pub mod exec_instances;
mod export;
mod kill;
pub mod list;
pub mod logs;
mod pause;
pub mod prune;
mod reconcile;
mod rename;
mod rm;
pub(crate) mod runtime;
pub mod size;
mod start;
mod stats;
mod stop;
mod top;
pub(crate) mod volumes;
mod wait;

use berth_container::Container;

use crate::{Engine, Result};

/// Status changes, under the names front ends call them by.
pub mod lifecycle {
    pub use super::kill::kill;
    pub use super::pause::{pause, unpause};
    pub use super::reconcile::{lookup, reconcile};
    pub use super::rename::rename;
    pub use super::rm::{remove, remove_stopped};
    pub use super::start::start;
    pub use super::stop::stop;
    pub use super::wait::wait;
}

/// Operations on an existing container that change no status, under the
/// names front ends call them by.
pub mod ops {
    pub use super::commit::{commit, CommitRequest};
    pub use super::cp::{archive_in, archive_out, copy_in, copy_out, stat};
    pub use super::diff::diff;
    pub use super::exec::{
        exec, prepare_exec, set_window_size, ExecRequest, ExecStdio, PreparedExec, RunningExec,
    };
    pub use super::export::export;
    pub use super::stats::{stats, Stats};
    pub use super::top::top;
}

impl Engine {
    /// Finds a container as Docker does (full ID, name, unique ID prefix),
    /// first repairing its record if its monitor died.
    pub fn container_lookup(&mut self, reference: &str) -> Result<Container> {
        Ok(lifecycle::lookup(&mut self.store, reference)?)
    }

    /// `inspect`: the container and everything shown about it.
    pub fn container_inspect(
        &mut self,
        reference: &str,
        size: bool,
    ) -> Result<details::ContainerDetails> {
        let c = self.container_lookup(reference)?;
        details::gather(
            &self.store,
            c,
            details::Detail {
                lower_dirs: true,
                size,
            },
        )
    }
}
