//! `cp` in and out of a container, and `stat` of a path in it. Paths inside
//! the container are always resolved inside its root (berth-archive's
//! openat2 RESOLVE_IN_ROOT), never by following a symlink out of it.

use std::io::{Read, Write};
use std::path::Path;

use berth_container::model::{Container, Status};
use berth_container::{rootfs, Result};
use berth_mount::Linux;
use berth_store::Store;

pub use berth_archive::PathStat;

use super::exec::live_root;
use super::reconcile::lookup_settled;
use crate::Engine;

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

/// Runs `f` with a root directory through which the container's filesystem,
/// volumes and binds included, can be reached: the live root of a running
/// container, or the rootfs with its storage mounted for a stopped one.
fn with_root<T>(
    store: &mut Store,
    run_dir: &Path,
    reference: &str,
    f: impl FnOnce(&Path) -> Result<T>,
) -> crate::Result<T> {
    let c: Container = lookup_settled(store, run_dir, reference)?;
    Ok(
        if c.state.status == Status::Running || c.state.status == Status::Paused {
            f(&live_root(&c))
        } else {
            rootfs::with_mounted_storage(store, &c, &Linux, f)
        }?,
    )
}

impl Engine {
    /// `cp HOST_PATH CONTAINER:PATH`.
    pub fn container_copy_in(
        &mut self,
        reference: &str,
        host_src: &Path,
        dest: &str,
        opts: CopyOptions,
    ) -> crate::Result<()> {
        with_root(&mut self.store, &self.config.run_dir, reference, |root| {
            Ok(berth_archive::copy_into_root(
                root,
                host_src,
                dest,
                opts.follow_link,
                opts.archive,
            )?)
        })
    }

    /// `cp CONTAINER:PATH HOST_PATH`.
    pub fn container_copy_out(
        &mut self,
        reference: &str,
        src: &str,
        host_dest: &Path,
        opts: CopyOptions,
    ) -> crate::Result<()> {
        with_root(&mut self.store, &self.config.run_dir, reference, |root| {
            Ok(berth_archive::copy_from_root(
                root,
                src,
                host_dest,
                opts.follow_link,
            )?)
        })
    }

    /// `cp CONTAINER:PATH -`: a tar stream of the path.
    pub fn container_archive_out(
        &mut self,
        reference: &str,
        src: &str,
        opts: CopyOptions,
        out: impl Write,
    ) -> crate::Result<()> {
        with_root(&mut self.store, &self.config.run_dir, reference, |root| {
            Ok(berth_archive::archive_path(
                root,
                src,
                opts.follow_link,
                out,
            )?)
        })
    }

    /// `cp - CONTAINER:DIR`: extracts a tar stream into a directory.
    pub fn container_archive_in(
        &mut self,
        reference: &str,
        dir: &str,
        opts: CopyOptions,
        input: impl Read,
    ) -> crate::Result<()> {
        with_root(&mut self.store, &self.config.run_dir, reference, |root| {
            Ok(berth_archive::extract_to_dir(
                root,
                dir,
                input,
                opts.no_overwrite_dir_non_dir,
                opts.archive,
            )?)
        })
    }

    /// `stat` of a path in the container (the API's archive HEAD).
    pub fn container_stat_path(&mut self, reference: &str, path: &str) -> crate::Result<PathStat> {
        with_root(&mut self.store, &self.config.run_dir, reference, |root| {
            Ok(berth_archive::stat_in_root(root, path)?)
        })
    }
}
