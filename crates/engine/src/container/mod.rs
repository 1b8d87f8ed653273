//! Container operations.

pub mod create;
pub mod details;
pub mod exec_instances;
pub mod lifecycle;
pub mod list;
pub mod logs;
pub mod ops;

use berth_container::Container;

use crate::{Engine, Result};

impl Engine {
    /// Finds a container as Docker does (full ID, name, unique ID prefix),
    /// first repairing its record if its monitor died.
    pub fn container_lookup(&mut self, reference: &str) -> Result<Container> {
        Ok(lifecycle::lookup(
            &mut self.store,
            &self.config.default_runtime,
            reference,
        )?)
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
