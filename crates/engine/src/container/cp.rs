//! `cp` in and out of a container, and `stat` of a path in it. Paths inside
//! the container are always resolved inside its root (berth-archive's
//! openat2 RESOLVE_IN_ROOT), never by following a symlink out of it, and
//! through the container's volumes and binds (a symlink in a volume leads
//! back into the container, never onto the host).
//!
//! Docker's rules for a path a mount covers: a volume or bind holding the
//! destination receives the copy (a stopped container's are mounted for it),
//! a read-only one is refused ("mounted volume is marked read-only"), and
//! outside every mount a read-only root filesystem is refused ("container
//! rootfs is marked read-only"). A stopped container's tmpfs is gone, so a
//! copy to its path goes into the layer under it, as Docker's does. A running
//! container is reached as its processes see it, so a copy to a tmpfs path
//! goes into that tmpfs (Docker 20.10 copies into the layer the tmpfs hides,
//! moby#22020, where no process of the container can see it).
//! Which mount a copy went through comes back as a [`CopyMount`], for a
//! front end's note.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_container::model::{Container, MountKind, MountPoint, Status};
use berth_container::rootfs;
use berth_error::ErrorKind;
use berth_mount::Linux;
use berth_store::Store;

pub use berth_archive::{CopyProgress, PathStat};

use super::exec::live_root;
use super::reconcile::lookup_settled;
use crate::{Engine, Error};

/// How `cp` copies, as Docker's flags and query parameters say.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Follow a symbolic link at the source path (`-L`).
    pub follow_link: bool,
    /// Keep the files' owners (`-a`, `copyUIDGID`); else they belong to
    /// the receiving side's user.
    pub archive: bool,
    /// Refuse to replace a directory with a non-directory or the other way
    /// round (`noOverwriteDirNonDir`).
    pub no_overwrite_dir_non_dir: bool,
}

/// The mount of the container a `cp` wrote into or read from, when the
/// path is in one (nothing for the container's own filesystem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyMount {
    /// A named or anonymous volume (`subpath` "" for its whole content).
    Volume {
        name: String,
        subpath: String,
        destination: String,
    },
    /// A bind of the host path `source`.
    Bind {
        source: PathBuf,
        destination: String,
    },
    /// A running container's tmpfs: what was copied goes when it stops.
    Tmpfs { destination: String },
    /// The layer under a stopped container's tmpfs destination, which the
    /// tmpfs hides while the container runs.
    UnderTmpfs { destination: String },
    /// An image mounted read-only (`--mount type=image`): read from only.
    Image { image: String, destination: String },
}

/// Whether `path` (absolute, in-container, cleaned) is `dest` or below it.
fn covers(dest: &str, path: &str) -> bool {
    let dest = dest.trim_end_matches('/');
    let path = path
        .strip_suffix("/.")
        .unwrap_or(path)
        .trim_end_matches('/');
    dest.is_empty()
        || path == dest
        || path
            .strip_prefix(dest)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The innermost mount of `c` whose destination holds `path`.
fn mount_holding<'c>(c: &'c Container, path: &str) -> Option<&'c MountPoint> {
    c.spec
        .mounts
        .iter()
        .filter(|m| covers(&m.destination, path))
        .max_by_key(|m| m.destination.trim_end_matches('/').len())
}

fn describe(m: &MountPoint, running: bool) -> CopyMount {
    let destination = m.destination.clone();
    match m.kind {
        MountKind::Volume => CopyMount::Volume {
            name: m.name.clone(),
            subpath: m.subpath.clone(),
            destination,
        },
        MountKind::Bind => CopyMount::Bind {
            source: m.source.clone(),
            destination,
        },
        MountKind::Tmpfs if running => CopyMount::Tmpfs { destination },
        MountKind::Tmpfs => CopyMount::UnderTmpfs { destination },
        MountKind::Image => CopyMount::Image {
            image: m.name.clone(),
            destination,
        },
    }
}

/// The container and the root through which its filesystem, volumes and
/// binds included, can be reached.
struct Reached<'a> {
    container: &'a Container,
    root: &'a Path,
    running: bool,
    /// A user-namespaced container's range: what crosses is owned as the
    /// container sees it.
    ids: Option<berth_archive::IdShift>,
}

impl Reached<'_> {
    /// Which mount `path` (resolved) is in, for reading from it.
    fn source_mount(&self, path: &str) -> Option<CopyMount> {
        mount_holding(self.container, path).map(|m| describe(m, self.running))
    }

    /// Which mount the directory `dir` (resolved) is in, refused as Docker
    /// refuses a write into a read-only mount or a read-only rootfs.
    fn destination_mount(&self, dir: &str) -> crate::Result<Option<CopyMount>> {
        let held = mount_holding(self.container, dir);
        let mounted = held.filter(|m| self.running || m.kind != MountKind::Tmpfs);
        match mounted {
            Some(m) if !m.rw => Err(Error::refused(
                ErrorKind::Forbidden,
                "mounted volume is marked read-only",
            )),
            None if self.container.spec.host.read_only_rootfs => Err(Error::refused(
                ErrorKind::Forbidden,
                "container rootfs is marked read-only",
            )),
            _ => Ok(held.map(|m| describe(m, self.running))),
        }
    }
}

/// Runs `f` with the container reached: the live root of a running
/// container, or the rootfs with its storage mounted for a stopped one.
fn with_root<T>(
    store: &mut Store,
    run_dir: &Path,
    reference: &str,
    f: impl FnOnce(&Reached) -> crate::Result<T>,
) -> crate::Result<T> {
    let c: Container = lookup_settled(store, run_dir, reference)?;
    let ids = super::userns::id_shift(store.db(), &c.id)?;
    if c.state.status == Status::Running || c.state.status == Status::Paused {
        f(&Reached {
            container: &c,
            root: &live_root(&c),
            running: true,
            ids,
        })
    } else {
        // The engine's own result travels through the library's closure.
        rootfs::with_mounted_storage(store, &c, &Linux, |root| {
            Ok(f(&Reached {
                container: &c,
                root,
                running: false,
                ids,
            }))
        })?
    }
}

impl Engine {
    /// `cp HOST_PATH CONTAINER:PATH`, reporting to `progress`; the mount
    /// written into, if any.
    pub fn container_copy_in(
        &mut self,
        reference: &str,
        host_src: &Path,
        dest: &str,
        opts: CopyOptions,
        progress: &dyn CopyProgress,
    ) -> crate::Result<Option<CopyMount>> {
        with_root(&mut self.store, &self.config.run_dir, reference, |at| {
            let plan =
                berth_archive::plan_copy_into_root(at.root, host_src, dest, opts.follow_link)?;
            let dir = berth_archive::resolve_container_path(at.root, plan.extraction_dir(), true)?;
            let mount = at.destination_mount(&dir)?;
            plan.run(at.root, opts.archive, progress, at.ids)?;
            Ok(mount)
        })
    }

    /// `cp CONTAINER:PATH HOST_PATH`, reporting to `progress`; the mount
    /// read from, if any.
    pub fn container_copy_out(
        &mut self,
        reference: &str,
        src: &str,
        host_dest: &Path,
        opts: CopyOptions,
        progress: &dyn CopyProgress,
    ) -> crate::Result<Option<CopyMount>> {
        with_root(&mut self.store, &self.config.run_dir, reference, |at| {
            berth_archive::copy_from_root(at.root, src, host_dest, opts.follow_link, progress)?;
            let path = berth_archive::resolve_container_path(at.root, src, opts.follow_link)?;
            Ok(at.source_mount(&path))
        })
    }

    /// `cp CONTAINER:PATH -`: a tar stream of the path; the mount read
    /// from, if any.
    pub fn container_archive_out(
        &mut self,
        reference: &str,
        src: &str,
        opts: CopyOptions,
        out: impl Write,
    ) -> crate::Result<Option<CopyMount>> {
        with_root(&mut self.store, &self.config.run_dir, reference, |at| {
            berth_archive::archive_path(at.root, src, opts.follow_link, out, at.ids)?;
            let path = berth_archive::resolve_container_path(at.root, src, opts.follow_link)?;
            Ok(at.source_mount(&path))
        })
    }

    /// `cp - CONTAINER:DIR` (the API's archive PUT): extracts a tar stream
    /// into a directory; the mount written into, if any.
    pub fn container_archive_in(
        &mut self,
        reference: &str,
        dir: &str,
        opts: CopyOptions,
        input: impl Read,
    ) -> crate::Result<Option<CopyMount>> {
        with_root(&mut self.store, &self.config.run_dir, reference, |at| {
            // A missing directory is the extraction's own error, below.
            let mount = match berth_archive::resolve_container_path(at.root, dir, true) {
                Ok(resolved) => at.destination_mount(&resolved)?,
                Err(_) => None,
            };
            berth_archive::extract_to_dir_shifted(
                at.root,
                dir,
                input,
                opts.no_overwrite_dir_non_dir,
                opts.archive,
                at.ids,
            )?;
            Ok(mount)
        })
    }

    /// `stat` of a path in the container (the API's archive HEAD).
    pub fn container_stat_path(&mut self, reference: &str, path: &str) -> crate::Result<PathStat> {
        with_root(&mut self.store, &self.config.run_dir, reference, |at| {
            Ok(berth_archive::stat_in_root(at.root, path)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn destinations_cover_paths_by_component() {
        assert!(covers("/data", "/data"));
        assert!(covers("/data", "/data/"));
        assert!(covers("/data", "/data/."));
        assert!(covers("/data", "/data/a/b"));
        assert!(!covers("/data", "/database"));
        assert!(!covers("/data", "/data."));
        assert!(!covers("/data", "/"));
        assert!(covers("/", "/etc"));
    }
}
