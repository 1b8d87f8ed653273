//! `system check [--repair] [--quick]` (podman's command): every place where
//! berth's state could disagree with itself after a crash — the database,
//! rows against directories (containers, layers, blobs, volumes), layers and
//! blobs nothing refers to, mounts nobody owns, what stopped containers' runs
//! left (runtime state, cgroups, network namespaces, leases), staging of dead
//! processes — one typed [`Finding`] each. `repair` fixes what can be fixed
//! and checks again: a finding is repaired when the second look no longer
//! finds it. Volume data is never deleted: a volume directory without a row
//! is registered again. A damaged image (content missing or not matching
//! its digest) is removed; the containers made from it stay.

use berth_image::ContentFinding;
use berth_store::staging;

use super::check_state;
use super::finding::{Checked, Finding};
use crate::{Engine, Result};

/// What `system check` is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckRequest {
    /// Fix what was found.
    pub repair: bool,
    /// Skip what takes long: `PRAGMA quick_check` instead of
    /// `integrity_check`, and no re-hashing of blobs.
    pub quick: bool,
}

impl Engine {
    /// `system check`: what is inconsistent, and with `repair` fixed.
    pub fn system_check(&mut self, req: CheckRequest) -> Result<Vec<Checked>> {
        let found = self.find_all(req.quick)?;
        if !req.repair || found.is_empty() {
            return Ok(found
                .into_iter()
                .map(|finding| Checked {
                    finding,
                    repaired: false,
                })
                .collect());
        }
        self.repair(&found)?;
        let left = self.find_all(req.quick)?;
        Ok(found
            .into_iter()
            .map(|finding| Checked {
                repaired: !left.contains(&finding),
                finding,
            })
            .collect())
    }

    fn find_all(&mut self, quick: bool) -> Result<Vec<Finding>> {
        let mut found = Vec::new();
        let pragma = if quick {
            "PRAGMA quick_check"
        } else {
            "PRAGMA integrity_check"
        };
        let db = self.store.db();
        let mut stmt = db.prepare(pragma)?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        found.extend(
            lines
                .into_iter()
                .filter(|l| l != "ok")
                .map(Finding::Database),
        );
        let mut stmt = db.prepare("PRAGMA foreign_key_check")?;
        let violations = stmt
            .query_map([], |r| {
                Ok(format!(
                    "row {} of {} refers to a missing {} row",
                    r.get::<_, i64>(1).unwrap_or_default(),
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(2)?
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        found.extend(violations.into_iter().map(Finding::Database));
        found.extend(
            staging::dead_staging(self.store.root(), self.store.db())
                .into_iter()
                .map(Finding::DeadStaging),
        );
        found.extend(check_state::containers(&self.store, &self.config.run_dir)?);
        found.extend(
            berth_image::check(&self.store, quick)?
                .into_iter()
                .map(Finding::Content),
        );
        let volumes = berth_volume::unfinished(&self.store)?;
        found.extend(volumes.trash.into_iter().map(Finding::VolumeRemoval));
        found.extend(volumes.orphans_with_data.into_iter().map(|name| {
            Finding::VolumeDirWithoutRow {
                name,
                holds_data: true,
            }
        }));
        found.extend(
            volumes
                .empty_orphans
                .into_iter()
                .map(|name| Finding::VolumeDirWithoutRow {
                    name,
                    holds_data: false,
                }),
        );
        found.extend(
            volumes
                .missing_dirs
                .into_iter()
                .map(|name| Finding::VolumeWithoutDir { name }),
        );
        found.extend(check_state::mounts(&self.store)?);
        found.extend(check_state::leases(&self.store, &self.config.run_dir)?);
        Ok(found)
    }

    /// Repairs in dependency order: staging, containers (which releases
    /// mounts and leases), then what is left of mounts and leases, volumes,
    /// damaged images, and last the content store's garbage (containers
    /// and images removed above may have been its last users).
    fn repair(&mut self, found: &[Finding]) -> Result<()> {
        if found.iter().any(|f| matches!(f, Finding::DeadStaging(_))) {
            staging::sweep(self.store.root(), self.store.db());
        }
        for f in found {
            check_state::repair_container(&mut self.store, &self.config.run_dir, f)?;
        }
        for f in found {
            match f {
                Finding::StrayMount(path) => check_state::unmount(path)?,
                Finding::StaleLease { path, owner } => {
                    berth_network::remove_lease_file(&berth_network::LeaseFile {
                        path: path.clone(),
                        owner: owner.clone(),
                    })
                }
                _ => {}
            }
        }
        if found.iter().any(|f| {
            matches!(
                f,
                Finding::VolumeRemoval(_)
                    | Finding::VolumeDirWithoutRow { .. }
                    | Finding::VolumeWithoutDir { .. }
            )
        }) {
            berth_volume::repair(&mut self.store)?;
        }
        let content: Vec<ContentFinding> = found
            .iter()
            .filter_map(|f| match f {
                Finding::Content(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        if content
            .iter()
            .any(|c| matches!(c, ContentFinding::DamagedImage { .. }))
        {
            // Collects what only the damaged images used, too.
            berth_image::remove_damaged(&mut self.store, &content)?;
        }
        let collectable = |f: &Finding| matches!(f, Finding::Content(c) if c.collectable());
        if found.iter().any(|f| {
            collectable(f)
                || matches!(
                    f,
                    Finding::ContainerWithoutDir { .. } | Finding::ContainerDirWithoutRow { .. }
                )
        }) {
            berth_image::gc_layers(&mut self.store)?;
        }
        Ok(())
    }
}
