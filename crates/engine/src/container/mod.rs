//! Container operations, one file per operation, each an `impl Engine`
//! block (`container_start`, `container_stop`, ...). Sessions on a
//! container's stdio or an exec's are [`attach::Attachment`]s.

pub mod attach;
pub mod commit;
pub mod cp;
pub mod create;
pub(crate) mod create_marks;
pub(crate) mod create_network;
pub mod details;
pub mod diff;
pub(crate) mod env;
pub(crate) mod exec;
pub mod exec_hold;
pub mod exec_instances;
pub mod exec_start;
mod exec_terminals;
mod export;
mod freezer;
mod kill;
pub(crate) mod leftovers;
pub mod list;
pub mod logs;
mod pause;
mod port_connect;
pub mod prune;
mod reconcile;
mod removal;
mod rename;
mod resize;
mod restart;
pub mod rm;
pub(crate) mod runtime;
mod settings;
mod signal;
pub mod size;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
mod unlink;
pub mod update;
mod userns;
pub(crate) mod userns_access;
pub(crate) mod userns_mounts;
mod userns_pool;
pub(crate) mod volumes;
pub mod wait;

use berth_container::Container;

use crate::{Engine, Result};

/// Status changes the engine itself makes outside the operations' files
/// (the monitor, the builder's step containers, `ps`).
pub(crate) mod lifecycle {
    pub(crate) use super::freezer::freezer_change_killed;
    pub(crate) use super::reconcile::{lookup, reconcile};
    pub(crate) use super::removal::{removal_lock, remove_own, remove_stopped, Trash};
    pub(crate) use super::rm::remove;
    pub(crate) use super::start::start;
    pub(crate) use super::wait::until_stopped;
}

impl Engine {
    /// Finds a container as Docker does (full ID, name, unique ID prefix),
    /// first repairing its record if its monitor died.
    pub fn container_lookup(&mut self, reference: &str) -> Result<Container> {
        Ok(reconcile::lookup(
            &mut self.store,
            &self.config.run_dir,
            reference,
        )?)
    }

    /// `inspect`: the container and everything shown about it.
    pub fn container_inspect(
        &mut self,
        reference: &str,
        size: bool,
    ) -> Result<details::ContainerDetails> {
        let mut c = self.container_lookup(reference)?;
        // dockerd shows a plugin volume's Source as the plugin's
        // `VolumeDriver.Path` answer at each inspect ("" if it has none).
        for m in c.spec.mounts.iter_mut().filter(|m| {
            m.kind == berth_container::model::MountKind::Volume
                && m.driver != berth_volume::LOCAL_DRIVER
                && m.source.as_os_str().is_empty()
        }) {
            m.source = berth_volume::plugin::path(&m.driver, &m.name).unwrap_or_default();
        }
        details::gather(
            &self.store,
            &self.config.run_dir,
            c,
            details::Detail {
                lower_dirs: true,
                size,
            },
        )
    }
}
