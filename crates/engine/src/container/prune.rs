//! `container prune`: stopped containers.

use berth_container::model::{self, Container, Status};

use crate::container::rm::RemoveRequest;
use crate::container::{lifecycle, size};
use crate::filters::{Filters, PruneLabels};
use crate::{Engine, Result};

/// `container prune --filter`: `label`, `label!`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerPruneFilter {
    pub labels: PruneLabels,
}

impl ContainerPruneFilter {
    pub fn new(filters: &Filters) -> Result<ContainerPruneFilter> {
        filters.accept(&["label", "label!"])?;
        Ok(ContainerPruneFilter {
            labels: PruneLabels::of(filters),
        })
    }
}

/// What a container prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerPruneReport {
    /// IDs of the removed containers.
    pub deleted: Vec<String>,
    /// Bytes of their writable layers.
    pub reclaimed: u64,
}

/// Running, paused or restarting: not prunable.
pub(crate) fn is_active(c: &Container) -> bool {
    matches!(
        c.state.status,
        Status::Running | Status::Paused | Status::Restarting
    )
}

impl Engine {
    /// Removes every container that is not running and that `filter`
    /// selects.
    pub fn container_prune(
        &mut self,
        filter: &ContainerPruneFilter,
    ) -> Result<ContainerPruneReport> {
        let mut report = ContainerPruneReport::default();
        for mut c in model::list(&self.store)? {
            lifecycle::reconcile(&mut self.store, &self.config.run_dir, &mut c)?;
            if is_active(&c) || !filter.labels.matches(&c.spec.labels) {
                continue;
            }
            let freed = size::size(&self.store, &c)?.rw;
            match lifecycle::remove(
                &mut self.store,
                &self.config.run_dir,
                &c.id,
                RemoveRequest::default(),
            ) {
                Ok(()) => {
                    report.deleted.push(c.id.clone());
                    report.reclaimed += freed;
                }
                // Started or removed by someone else meanwhile: not ours to prune.
                Err(_) if model::find(&self.store, &c.id).map_or(true, |now| is_active(&now)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }
}
