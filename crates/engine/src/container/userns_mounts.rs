//! A run's mounts through user namespaces: the volumes and binds of a
//! container with a namespace of its own are idmapped into it (a file keeps
//! the owner it has on the host), `:idmap` binds show their source's owner
//! as the container's root, and `:U` (podman's) gives the source to the
//! container's user. Each idmapped mount is staged under `subpaths/`, bound
//! by the runtime and undone once it has created the container, like a
//! volume subpath.

use std::path::{Path, PathBuf};

use berth_container::model::{MountPoint, Paths};
use berth_container::userns;
use berth_container::{ContainerError, Result};
use berth_mount::{IdMap, Syscalls};
use berth_runtime::{IdMapping, UserNamespace};

/// How one mount's ownership is handled.
pub(crate) struct Ownership {
    /// `:idmap`: the source's owner (uid, gid), shown as root.
    idmap_owner: Option<(u32, u32)>,
    /// `:U`: chown the source to the container's user.
    chown: bool,
}

impl Ownership {
    /// The mount's `:idmap` and `:U` words (in `-v`'s mode), the owner
    /// read from `source`.
    pub(crate) fn of(m: &MountPoint, source: &Path) -> Result<Ownership> {
        let words = || m.mode.split(',');
        let idmap_owner = if words().any(|w| w == "idmap") {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(source).map_err(|e| ContainerError::io(source, e))?;
            Some((meta.uid(), meta.gid()))
        } else {
            None
        };
        Ok(Ownership {
            idmap_owner,
            chown: words().any(|w| w == "U"),
        })
    }
}

/// The mount's source as the runtime should bind it: `source` itself, or
/// an idmapped copy staged at `subpaths/idmap-INDEX`.
pub(crate) fn source_for(
    paths: &Paths,
    index: usize,
    source: PathBuf,
    recursive: bool,
    container: Option<&IdMap>,
    ownership: &Ownership,
    sys: &dyn Syscalls,
) -> Result<PathBuf> {
    let container = container.filter(|m| !m.is_identity());
    let Some(map) = userns::bind_map(container, ownership.idmap_owner) else {
        return Ok(source);
    };
    let staged = paths.subpaths.join(format!("idmap-{index}"));
    std::fs::create_dir_all(&staged).map_err(|e| ContainerError::io(&staged, e))?;
    sys.bind_idmapped(&source, &staged, recursive, &map)?;
    berth_runtime::pin_source(&staged, None)?;
    Ok(staged)
}

/// `:U`: `source` and everything under it (never following a symlink)
/// owned by the ids the container's `uid`/`gid` write through the mount.
pub(crate) fn chown_to_user(
    source: &Path,
    ownership: &Ownership,
    uid: u32,
    gid: u32,
) -> Result<()> {
    if !ownership.chown {
        return Ok(());
    }
    let owner = ownership.idmap_owner;
    let uid = userns::disk_id(uid, owner.map(|o| o.0));
    let gid = userns::disk_id(gid, owner.map(|o| o.1));
    let mut pending = vec![source.to_path_buf()];
    while let Some(path) = pending.pop() {
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid))
            .map_err(|e| ContainerError::io(&path, e))?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| ContainerError::io(&path, e))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(|e| ContainerError::io(&path, e))? {
                pending.push(entry.map_err(|e| ContainerError::io(&path, e))?.path());
            }
        }
    }
    Ok(())
}

/// The runtime's view of a container's own user namespace.
pub(crate) fn user_namespace(map: Option<&IdMap>) -> Option<UserNamespace> {
    let lines = |extents: &[berth_mount::IdExtent]| {
        extents
            .iter()
            .map(|e| IdMapping {
                container: e.inside,
                host: e.outside,
                len: e.len,
            })
            .collect()
    };
    map.map(|m| UserNamespace {
        uids: lines(&m.uids),
        gids: lines(&m.gids),
    })
}
