//! `volume ls`: the store's volumes and, as dockerd lists every driver's
//! volumes, those the volume plugins list that the store does not have.

use std::collections::BTreeMap;

use berth_volume::plugin::{self, PluginDriver};
use berth_volume::{Volume, VolumeError};

use crate::filters::name_match;
use crate::volume::VolumeFilter;
use crate::{Engine, Result};

/// What `volume ls` shows: the volumes and, as dockerd's `Warnings`, what
/// went wrong asking the plugins (such a plugin's volumes are listed from
/// the store alone).
#[derive(Debug, Clone, Default)]
pub struct VolumeList {
    pub volumes: Vec<Volume>,
    pub warnings: Vec<String>,
}

impl Engine {
    /// The volumes `filter` selects, by name.
    pub fn volume_list(&self, filter: &VolumeFilter) -> Result<VolumeList> {
        let mut warnings = Vec::new();
        let stored = berth_volume::list(&self.store)?;
        // Every plugin named by a volume or found on disk, activated once.
        let mut names: Vec<String> = stored
            .iter()
            .filter(|v| v.driver != berth_volume::LOCAL_DRIVER)
            .map(|v| v.driver.clone())
            .collect();
        let scanned: Vec<String> = plugin::discovery::scan()
            .into_iter()
            .map(|f| f.name)
            .collect();
        names.extend(scanned.iter().cloned());
        names.sort();
        names.dedup();
        let mut drivers: BTreeMap<String, PluginDriver> = BTreeMap::new();
        for name in names {
            match PluginDriver::open(&name) {
                Ok(d) => {
                    drivers.insert(name, d);
                }
                // Not a volume driver: nothing of it to list.
                Err(VolumeError::NotVolumeDriver(_)) => {}
                Err(e) => warnings.push(e.to_string()),
            }
        }
        let mut all = Vec::new();
        for v in stored {
            let Some(driver) = drivers.get(&v.driver) else {
                all.push(v);
                continue;
            };
            match plugin::describe_with(driver, v.clone()) {
                Ok(described) => all.push(described),
                Err(e) => {
                    warnings.push(e.to_string());
                    all.push(v);
                }
            }
        }
        let known: Vec<String> = all.iter().map(|v| v.name.clone()).collect();
        for name in &scanned {
            if let Some(driver) = drivers.get(name) {
                match plugin::foreign_volumes(driver, &known) {
                    Ok(foreign) => all.extend(foreign),
                    Err(e) => warnings.push(e.to_string()),
                }
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let mut volumes = Vec::new();
        for v in all {
            if (!filter.drivers.is_empty() && !filter.drivers.contains(&v.driver))
                || (!filter.names.is_empty() && !name_match(&filter.names, &v.name))
                || !filter.labels.matches(&v.labels)
            {
                continue;
            }
            if let Some(dangling) = filter.dangling {
                if berth_volume::users(&self.store, &v.name)?.is_empty() != dangling {
                    continue;
                }
            }
            volumes.push(v);
        }
        Ok(VolumeList { volumes, warnings })
    }
}
