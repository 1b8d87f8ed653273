//! `system prune`: stopped containers, unused networks, (anonymous) volumes
//! and dangling (or all unused) images, in that order.

use berth_image::DeleteItem;

use crate::container::prune::ContainerPruneFilter;
use crate::filters::Filters;
use crate::image::ImagePruneFilter;
use crate::network::NetworkPruneFilter;
use crate::volume::VolumePruneFilter;
use crate::{Engine, Result};

/// What `system prune` asks for.
#[derive(Debug, Clone, Default)]
pub struct SystemPrune {
    /// Every unused image, not only dangling ones.
    pub all: bool,
    /// Anonymous volumes too.
    pub volumes: bool,
    /// Given to every prune (`label`, `label!`), as the docker CLI does.
    pub filters: Filters,
}

/// What it removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemPruneReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    pub images: Vec<DeleteItem>,
    /// Bytes freed by containers, volumes and images.
    pub reclaimed: u64,
}

impl Engine {
    pub fn system_prune(&mut self, request: &SystemPrune) -> Result<SystemPruneReport> {
        // Every filter is checked before anything is removed.
        let containers = ContainerPruneFilter::new(&request.filters)?;
        let networks = NetworkPruneFilter::new(&request.filters)?;
        let volumes = VolumePruneFilter::new(&request.filters)?;
        let mut image_filters = request.filters.clone();
        image_filters.add("dangling", if request.all { "false" } else { "true" });
        let images = ImagePruneFilter::new(&image_filters)?;

        let mut report = SystemPruneReport::default();
        let pruned = self.container_prune(&containers)?;
        report.containers = pruned.deleted;
        report.reclaimed += pruned.reclaimed;
        report.networks = self.network_prune(&networks)?;
        if request.volumes {
            let pruned = self.volume_prune(&volumes)?;
            report.volumes = pruned.deleted;
            report.reclaimed += pruned.reclaimed;
        }
        let pruned = self.image_prune(&images)?;
        report.images = pruned.deleted;
        report.reclaimed += pruned.reclaimed;
        Ok(report)
    }
}
