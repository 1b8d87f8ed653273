//! A [`Syscalls`] that performs nothing and records every call, for unit tests
//! of mount sequences (what is mounted where, in which order, undone how).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{IdMap, Mount, MountError, OverlayMount, Syscalls};

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Mount(Mount),
    MountOverlay(OverlayMount),
    Unmount {
        target: PathBuf,
        detach: bool,
    },
    SetReadonlyRecursive(PathBuf),
    MountOverlayIdmapped(OverlayMount, IdMap),
    BindIdmapped {
        source: PathBuf,
        target: PathBuf,
        recursive: bool,
        map: IdMap,
    },
}

/// Records calls; can be told to fail mounts onto one target, to test how
/// callers undo a half-done sequence.
#[derive(Debug, Default)]
pub struct Recording {
    calls: Mutex<Vec<Call>>,
    fail_target: Mutex<Option<PathBuf>>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock_calls().clone()
    }

    /// Makes later `mount`/`mount_overlay` calls onto `target` fail (after being
    /// recorded).
    pub fn fail_mounts_on(&self, target: &Path) {
        *self
            .fail_target
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(target.to_path_buf());
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, call: Call, target: &Path) -> Result<(), MountError> {
        self.lock_calls().push(call);
        let fail = self
            .fail_target
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if fail.as_deref() == Some(target) {
            return Err(MountError::Injected {
                target: target.to_path_buf(),
            });
        }
        Ok(())
    }
}

impl Syscalls for Recording {
    fn mount(&self, m: &Mount) -> Result<(), MountError> {
        self.record(Call::Mount(m.clone()), &m.target)
    }

    fn mount_overlay(&self, o: &OverlayMount) -> Result<(), MountError> {
        self.record(Call::MountOverlay(o.clone()), &o.target)
    }

    fn unmount(&self, target: &Path, detach: bool) -> Result<(), MountError> {
        self.lock_calls().push(Call::Unmount {
            target: target.to_path_buf(),
            detach,
        });
        Ok(())
    }

    fn set_readonly_recursive(&self, target: &Path) -> Result<(), MountError> {
        self.lock_calls()
            .push(Call::SetReadonlyRecursive(target.to_path_buf()));
        Ok(())
    }

    fn mount_overlay_idmapped(&self, o: &OverlayMount, map: &IdMap) -> Result<(), MountError> {
        self.record(
            Call::MountOverlayIdmapped(o.clone(), map.clone()),
            &o.target,
        )
    }

    fn bind_idmapped(
        &self,
        source: &Path,
        target: &Path,
        recursive: bool,
        map: &IdMap,
    ) -> Result<(), MountError> {
        let call = Call::BindIdmapped {
            source: source.to_path_buf(),
            target: target.to_path_buf(),
            recursive,
            map: map.clone(),
        };
        self.record(call, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MountFlags;

    #[test]
    fn records_calls_in_order_and_injects_failures() {
        let rec = Recording::new();
        let sys: &dyn Syscalls = &rec;
        let bind = Mount::bind(Path::new("/src"), Path::new("/dst"), true);
        sys.mount(&bind).unwrap();
        sys.set_readonly_recursive(Path::new("/dst")).unwrap();
        sys.unmount(Path::new("/dst"), true).unwrap();
        assert_eq!(
            rec.calls(),
            vec![
                Call::Mount(bind.clone()),
                Call::SetReadonlyRecursive("/dst".into()),
                Call::Unmount {
                    target: "/dst".into(),
                    detach: true
                },
            ]
        );
        assert_eq!(bind.flags, MountFlags::BIND | MountFlags::REC);

        rec.fail_mounts_on(Path::new("/bad"));
        let tmpfs = Mount::tmpfs(Path::new("/bad"), MountFlags::NOSUID, "size=1m");
        assert!(matches!(
            sys.mount(&tmpfs),
            Err(MountError::Injected { .. })
        ));
        assert_eq!(rec.calls().last(), Some(&Call::Mount(tmpfs)));
    }
}
