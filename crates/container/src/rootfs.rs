//! A container's root filesystem: its image's layers (read-only lowerdirs,
//! shared) under its own writable layer (`diff/`), assembled by overlayfs at
//! `merged/`. Mounted while the container runs, or briefly for `cp`, `export`
//! and `commit` of a stopped container; the writable layer is kept until `rm`.

use berth_mount::{Mount, MountFlags, OverlayMount, Syscalls};
use berth_store::Store;

use crate::model::{self, Container, MountKind, Paths};
use crate::{ContainerError, Result};

/// Mounts the overlay at `merged/` unless it is already mounted.
pub fn mount(store: &Store, id: &str, sys: &dyn Syscalls) -> Result<()> {
    let paths = Paths::of(store, id);
    if berth_mount::is_mountpoint(&paths.rootfs)? {
        return Ok(());
    }
    let lowers = model::rootfs_lowers(store, id)?;
    if lowers.is_empty() {
        return Err(ContainerError::Corrupt {
            id: id.to_string(),
            reason: "no image layers recorded".into(),
        });
    }
    let overlay = OverlayMount {
        lowers,
        upper: paths.upper.clone(),
        work: paths.work.clone(),
        target: paths.rootfs.clone(),
    };
    match id_map(store, id)? {
        // A user namespace of its own: the shared layers idmapped into it,
        // the writable layer owned by its root (what it creates lands there
        // as the mapped ids).
        Some(map) if !map.is_identity() => {
            let root = (
                berth_mount::IdMap::outside(&map.uids, 0),
                berth_mount::IdMap::outside(&map.gids, 0),
            );
            for dir in [&paths.upper, &paths.work] {
                std::os::unix::fs::chown(dir, root.0, root.1)
                    .map_err(|e| ContainerError::io(dir, e))?;
            }
            sys.mount_overlay_idmapped(&overlay, &map)?
        }
        _ => sys.mount_overlay(&overlay)?,
    }
    Ok(())
}

fn id_map(store: &Store, id: &str) -> Result<Option<berth_mount::IdMap>> {
    let c = model::find(store, id)?;
    crate::userns::id_map(store.db(), &c)
}

/// Mounts the `shm/` tmpfs of a shareable IPC namespace (Docker's
/// `containers/ID/mounts/shm`) unless it is already mounted; returns its path.
pub fn mount_shm(
    store: &Store,
    id: &str,
    sys: &dyn Syscalls,
    size: u64,
) -> Result<std::path::PathBuf> {
    let paths = Paths::of(store, id);
    std::fs::create_dir_all(&paths.shm).map_err(|e| ContainerError::io(&paths.shm, e))?;
    if !berth_mount::is_mountpoint(&paths.shm)? {
        sys.mount(&Mount::tmpfs(
            &paths.shm,
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            &format!("mode=1777,size={size}"),
        ))?;
    }
    Ok(paths.shm)
}

/// Unmounts `merged/` (and a shareable IPC namespace's `shm/`) if mounted
/// (lazily, so a stray open file cannot pin it).
pub fn unmount(store: &Store, id: &str, sys: &dyn Syscalls) -> Result<()> {
    let paths = Paths::of(store, id);
    unmount_subpaths(&paths, sys)?;
    if paths.shm.exists() && berth_mount::is_mountpoint(&paths.shm)? {
        sys.unmount(&paths.shm, true)?;
    }
    if paths.rootfs.exists() && berth_mount::is_mountpoint(&paths.rootfs)? {
        sys.unmount(&paths.rootfs, true)?;
    }
    Ok(())
}

/// Undoes the staging mounts of volume subpaths (left by a run that failed
/// or crashed before its runtime created the container) and removes their
/// mount points, one by one: never a recursive delete, which would reach
/// into a volume still mounted there.
pub fn unmount_subpaths(paths: &Paths, sys: &dyn Syscalls) -> Result<()> {
    let entries = match std::fs::read_dir(&paths.subpaths) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ContainerError::io(&paths.subpaths, e)),
    };
    for entry in entries {
        let path = entry
            .map_err(|e| ContainerError::io(&paths.subpaths, e))?
            .path();
        sys.unmount(&path, true)?;
        let removed = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) => Err(e),
        };
        removed.map_err(|e| ContainerError::io(&path, e))?;
    }
    Ok(())
}

/// Runs `f` with the rootfs mounted, unmounting afterwards if it was not
/// mounted before (a running container keeps its mount).
pub fn with_mounted<T>(
    store: &Store,
    id: &str,
    sys: &dyn Syscalls,
    f: impl FnOnce(&std::path::Path) -> Result<T>,
) -> Result<T> {
    let paths = Paths::of(store, id);
    let was_mounted = berth_mount::is_mountpoint(&paths.rootfs)?;
    if !was_mounted {
        mount(store, id, sys)?;
    }
    let result = f(&paths.rootfs);
    if !was_mounted {
        if let Err(e) = unmount(store, id, sys) {
            return match result {
                Ok(_) => Err(e),
                Err(original) => Err(original.with_cleanup_failure("unmounting the rootfs", e)),
            };
        }
    }
    result
}

/// Runs `f` with the rootfs mounted *and* the container's volumes and binds
/// mounted at their destinations, as Docker does for `cp` on a stopped
/// container (a file copied to `/data` of a container with a volume there
/// lands in the volume). Destinations are resolved inside the rootfs; the
/// mounts are undone afterwards, in reverse order, whatever `f` returns.
pub fn with_mounted_storage<T>(
    store: &Store,
    c: &Container,
    sys: &dyn Syscalls,
    f: impl FnOnce(&std::path::Path) -> Result<T>,
) -> Result<T> {
    with_mounted(store, &c.id, sys, |root| {
        let mut mounted = Vec::new();
        let result = (|| {
            for m in c.spec.mounts.iter().filter(|m| m.kind != MountKind::Tmpfs) {
                let destination = std::path::Path::new(&m.destination);
                // An image mount's tree (held until bound below).
                let tree = match m.kind {
                    MountKind::Image => Some(crate::image_mount::open_mount(
                        store,
                        &c.id,
                        m,
                        &berth_mount::Linux,
                    )?),
                    _ => None,
                };
                let (source, shown) = match &tree {
                    Some(tree) => (tree.root(), crate::image_mount::shown(&m.name)),
                    None => (m.source.clone(), m.source.clone()),
                };
                // A volume (or image) subpath, resolved inside it and bound
                // by its descriptor.
                let subpath = if m.subpath.is_empty() {
                    None
                } else {
                    Some(berth_volume::open_subpath(&source, &shown, &m.subpath)?)
                };
                let is_dir = match &subpath {
                    Some(fd) => berth_volume::opened_is_dir(fd),
                    None => source.is_dir(),
                };
                let target = if is_dir {
                    berth_archive::mkdir_all_in_root(root, destination, 0o755)?
                } else {
                    // A single file bound onto a file path: make the mount point a file.
                    let parent = destination.parent().unwrap_or(std::path::Path::new("/"));
                    berth_archive::mkdir_all_in_root(root, parent, 0o755)?;
                    let flags = rustix::fs::OFlags::CREATE
                        | rustix::fs::OFlags::WRONLY
                        | rustix::fs::OFlags::CLOEXEC;
                    berth_archive::open_in_root(
                        root,
                        destination,
                        flags,
                        rustix::fs::Mode::from_raw_mode(0o644),
                    )?;
                    berth_archive::resolve_in_root(root, destination)?
                };
                // Mounted through a descriptor of the resolved destination, so
                // the mount lands inside the rootfs even if a path component
                // were swapped for a symlink after resolution (CVE-2021-30465).
                let pinned = berth_archive::open_in_root(
                    root,
                    destination,
                    rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )?;
                let via_fd = std::path::PathBuf::from(format!(
                    "/proc/self/fd/{}",
                    std::os::fd::AsRawFd::as_raw_fd(&pinned)
                ));
                match &subpath {
                    Some(fd) => berth_volume::mount_opened(sys, fd, &via_fd)?,
                    None => sys.mount(&Mount::bind(&source, &via_fd, true))?,
                }
                drop(pinned);
                drop(tree);
                mounted.push(target.clone());
                if !m.rw {
                    sys.set_readonly_recursive(&target)?;
                }
            }
            f(root)
        })();
        let mut cleanup_error = None;
        for target in mounted.iter().rev() {
            if let Err(e) = sys.unmount(target, true) {
                cleanup_error.get_or_insert(e);
            }
        }
        match (result, cleanup_error) {
            (Ok(v), None) => Ok(v),
            (Ok(_), Some(e)) => Err(e.into()),
            (Err(original), None) => Err(original),
            (Err(original), Some(e)) => {
                Err(original.with_cleanup_failure("unmounting the container's volumes", e))
            }
        }
    })
}
