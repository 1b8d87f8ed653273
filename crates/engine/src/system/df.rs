//! `system df`: what images, containers and volumes use on disk.
//!
//! Terms, as Docker defines them:
//! * an image's **size** is the sum of its layers; its **shared size** the part
//!   in layers other images also use; the images' total counts each layer once;
//! * a container's size is [`crate::container::size`]'s;
//! * a volume's **size** is the apparent size of its data, and its **links**
//!   the containers (any state) that use it.

use std::collections::HashMap;

use berth_container::model::{self, Container};
use berth_image::ImageSummary;
use berth_volume::Volume;

use crate::container::lifecycle;
use crate::container::size::{self, ContainerSize};
use crate::{Engine, Result};

/// One image's share of the disk.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    pub image: ImageSummary,
    /// Its layers' sizes.
    pub size: u64,
    /// The part of `size` in layers other images also use.
    pub shared: u64,
}

#[derive(Debug, Clone)]
pub struct ContainerUsage {
    pub container: Container,
    pub size: ContainerSize,
}

#[derive(Debug, Clone)]
pub struct VolumeUsage {
    pub volume: Volume,
    /// Apparent size of its data; for a sized volume, what its qgroup
    /// accounts (berth_volume::usage).
    pub size: u64,
    /// Containers (any state) that use it.
    pub links: usize,
}

/// The whole of `system df`.
#[derive(Debug, Clone)]
pub struct DiskUsage {
    /// Every layer of every image, each counted once.
    pub layers_size: u64,
    pub images: Vec<ImageUsage>,
    /// Newest first.
    pub containers: Vec<ContainerUsage>,
    pub volumes: Vec<VolumeUsage>,
}

impl Engine {
    pub fn system_df(&mut self) -> Result<DiskUsage> {
        let layers = berth_image::layers::usage(&self.store)?;
        let mut users_of_layer: HashMap<&str, usize> = HashMap::new();
        for chain in layers.by_image.values() {
            for l in chain {
                *users_of_layer.entry(l.as_str()).or_default() += 1;
            }
        }
        let size_of = |l: &String| layers.sizes.get(l).copied().unwrap_or(0);
        let images = berth_image::list(&self.store)?
            .into_iter()
            .map(|image| {
                let chain = layers
                    .by_image
                    .get(&image.id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                ImageUsage {
                    size: chain.iter().map(size_of).sum(),
                    shared: chain
                        .iter()
                        .filter(|l| users_of_layer.get(l.as_str()).copied().unwrap_or(0) > 1)
                        .map(size_of)
                        .sum(),
                    image,
                }
            })
            .collect();

        let mut containers = Vec::new();
        for mut c in model::list(&self.store)? {
            lifecycle::reconcile(&mut self.store, &self.config.run_dir, &mut c)?;
            containers.push(ContainerUsage {
                size: size::size(&self.store, &c)?,
                container: c,
            });
        }
        containers.sort_by(|a, b| b.container.created_at.cmp(&a.container.created_at));

        let mut volumes = Vec::new();
        for volume in berth_volume::list(&self.store)? {
            volumes.push(VolumeUsage {
                links: berth_volume::users(&self.store, &volume.name)?.len(),
                // The qgroup's accounting of a sized volume (O(1)), else a walk.
                size: berth_volume::usage(&volume)?.bytes,
                volume,
            });
        }
        Ok(DiskUsage {
            layers_size: layers.sizes.values().sum(),
            images,
            containers,
            volumes,
        })
    }
}
