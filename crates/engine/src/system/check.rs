//! `system check [--repair] [--quick]` (podman's command): every place where
//! berth's state could disagree with itself after a crash — the database,
//! rows against directories (containers, layers, blobs, volumes), layers and
//! blobs nothing refers to, mounts nobody owns, what stopped containers' runs
//! left (runtime state, cgroups, network namespaces, leases), staging of dead
//! processes — one typed [`Finding`] each. `repair` fixes what can be fixed
//! and checks again: a finding is repaired when the second look no longer
//! finds it. Volume data is never deleted: a volume directory without a row
//! is registered again.

use std::path::PathBuf;

use berth_image::ContentFinding;
use berth_store::staging::{self, DeadStaging};

use super::check_state;
use crate::container::leftovers::Leftover;
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

/// One inconsistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A line of SQLite's integrity or foreign-key check (not repairable here).
    Database(String),
    /// A container row whose directory is missing (repair: the row goes).
    ContainerWithoutDir { id: String },
    /// `containers/ID` without a row and not being created (repair: removed).
    ContainerDirWithoutRow { id: String },
    /// A container said to run whose monitor is gone (repair: marked exited,
    /// what it left torn down).
    MonitorGone { id: String },
    /// Something a run of a container that does not run left (repair: torn down).
    Leftover { id: String, what: Leftover },
    /// The content store (repair: gc for garbage; damaged images are not
    /// repaired).
    Content(ContentFinding),
    /// A volume removal a crash interrupted (repair: finished or rolled back).
    VolumeRemoval(PathBuf),
    /// A volume directory without a row (repair: registered again when it
    /// holds data, removed when empty).
    VolumeDirWithoutRow { name: String, holds_data: bool },
    /// A volume row without its directory (repair: made again, empty).
    VolumeWithoutDir { name: String },
    /// A mount under the root that no running container owns (repair: unmounted).
    StrayMount(PathBuf),
    /// A lease file naming the network namespace of a container of this
    /// root, which is not mounted (repair: removed).
    StaleLease { path: PathBuf, owner: PathBuf },
    /// Staging of a process that died (repair: removed).
    DeadStaging(DeadStaging),
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Database(line) => write!(f, "database: {line}"),
            Finding::ContainerWithoutDir { id } => {
                write!(f, "container {id}: record without a directory")
            }
            Finding::ContainerDirWithoutRow { id } => {
                write!(f, "container {id}: directory without a record")
            }
            Finding::MonitorGone { id } => {
                write!(
                    f,
                    "container {id}: recorded as running but its monitor is gone"
                )
            }
            Finding::Leftover { id, what } => {
                write!(f, "container {id}: not running but {what} left")
            }
            Finding::Content(c) => write!(f, "image store: {c}"),
            Finding::VolumeRemoval(p) => {
                write!(f, "volume: interrupted removal {}", p.display())
            }
            Finding::VolumeDirWithoutRow { name, holds_data } => write!(
                f,
                "volume {name}: directory without a record ({})",
                if *holds_data { "holds data" } else { "empty" }
            ),
            Finding::VolumeWithoutDir { name } => {
                write!(f, "volume {name}: record without a directory")
            }
            Finding::StrayMount(p) => {
                write!(f, "mount {}: owned by no running container", p.display())
            }
            Finding::StaleLease { path, owner } => write!(
                f,
                "address lease {}: its namespace {} is gone",
                path.display(),
                owner.display()
            ),
            Finding::DeadStaging(DeadStaging::Owner(p)) => {
                write!(f, "staging {}: its process is gone", p.display())
            }
            Finding::DeadStaging(DeadStaging::Container(p)) => write!(
                f,
                "container directory {}: made by a process that died before its record",
                p.display()
            ),
        }
    }
}

/// A finding and, when repair was asked, whether it is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub finding: Finding,
    pub repaired: bool,
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
    /// and last the content store's garbage (containers removed above may
    /// have been its last users).
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
