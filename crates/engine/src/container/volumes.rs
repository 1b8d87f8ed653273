//! The one place the engine attaches and detaches a container's volumes
//! (berth-volume's driver calls): a monitor acquires them for a run and
//! releases them after it, `reconcile` releases a dead monitor's, `rm -v`
//! removes anonymous ones.

use std::path::PathBuf;

use berth_container::model::{Container, MountKind, MountPoint};
use berth_container::Result;
use berth_mount::Syscalls;
use berth_store::Store;
use berth_volume::VolumeError;

/// Mounts volume mount `m` for container `id`'s run; returns its host path.
pub(crate) fn acquire(
    store: &mut Store,
    m: &MountPoint,
    id: &str,
    sys: &dyn Syscalls,
) -> Result<PathBuf> {
    Ok(berth_volume::acquire(store, &m.name, id, sys)?)
}

/// Releases every volume of `c` after a run; returns the failures (name,
/// error), which must not keep the rest from being released.
pub(crate) fn release_all(
    store: &mut Store,
    c: &Container,
    sys: &dyn Syscalls,
) -> Vec<(String, VolumeError)> {
    c.spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .filter_map(|m| {
            berth_volume::release(store, &m.name, &c.id, sys)
                .err()
                .map(|e| (m.name.clone(), e))
        })
        .collect()
}

/// `rm -v`: removes `c`'s anonymous volumes, except those another container
/// still uses (`--volumes-from`), as Docker keeps them.
pub(crate) fn remove_anonymous(store: &mut Store, c: &Container) -> Result<()> {
    for m in c
        .spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && m.anonymous)
    {
        match berth_volume::remove(store, &m.name, false) {
            Ok(()) | Err(VolumeError::InUse { .. } | VolumeError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
