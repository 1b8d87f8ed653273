//! The real [`Syscalls`]: the only code in berth that calls `mount(2)`,
//! `umount2(2)`, the fd-based mount API and `mount_setattr(2)`.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags,
};

use crate::fslog::{kernel_log, NO_KERNEL_MESSAGE};
use crate::{IdMap, Mount, MountError, OverlayMount, Syscalls};

/// Performs mounts on the running kernel. Needs CAP_SYS_ADMIN.
#[derive(Debug, Default, Clone, Copy)]
pub struct Linux;

/// The whole option string of `mount(2)` must fit in one page, NUL included.
const MOUNT_DATA_LIMIT: usize = 4095;

fn sys_error(op: &'static str, target: &Path, source: std::io::Error) -> MountError {
    MountError::Sys {
        op,
        target: target.to_path_buf(),
        source,
    }
}

fn c_string(s: &[u8], path: &Path) -> Result<CString, MountError> {
    CString::new(s).map_err(|_| MountError::InvalidPath {
        path: path.to_path_buf(),
        reason: "contains a NUL byte",
    })
}

impl Syscalls for Linux {
    fn mount(&self, m: &Mount) -> Result<(), MountError> {
        let source = c_string(m.source.as_bytes(), &m.target)?;
        let target = c_string(m.target.as_os_str().as_bytes(), &m.target)?;
        let fstype = m
            .fstype
            .as_deref()
            .map(|t| c_string(t.as_bytes(), &m.target))
            .transpose()?;
        let data = c_string(m.data.as_bytes(), &m.target)?;
        // SAFETY: every pointer is a valid NUL-terminated string (or NULL for
        // no filesystem type) that outlives the call.
        let r = unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                fstype.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
                m.flags.bits() as libc::c_ulong,
                if m.data.is_empty() {
                    std::ptr::null()
                } else {
                    data.as_ptr().cast()
                },
            )
        };
        if r != 0 {
            return Err(sys_error(
                "mount",
                &m.target,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    fn mount_overlay(&self, o: &OverlayMount) -> Result<(), MountError> {
        for path in o.lowers.iter().chain([&o.upper, &o.work]) {
            if path.as_os_str().is_empty() {
                return Err(MountError::InvalidPath {
                    path: o.target.clone(),
                    reason: "overlay with an empty layer path",
                });
            }
        }
        if o.lowers.is_empty() {
            return Err(MountError::InvalidPath {
                path: o.target.clone(),
                reason: "overlay without a lower layer",
            });
        }
        let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
            .map_err(|e| sys_error("fsopen overlay for", &o.target, e.into()))?;
        let config = |key: &str, value: &Path| {
            fsconfig_set_string(fs.as_fd(), key, value).map_err(std::io::Error::from)
        };
        // The errno alone does not say which of hundreds of layers failed.
        let overlay_error =
            |op: &'static str, param: &Path, e: std::io::Error| MountError::Overlay {
                op,
                target: o.target.clone(),
                source: e,
                detail: format!("{}: {}", param.display(), kernel_log(fs.as_fd())),
            };
        let overlay = Path::new("overlay");
        config("source", overlay).map_err(|e| overlay_error("overlay source", overlay, e))?;
        for (index, lower) in o.lowers.iter().enumerate() {
            match config("lowerdir+", lower) {
                Ok(()) => {}
                // An older kernel does not know "lowerdir+" and rejects the very
                // first one; a later rejection is about that layer itself.
                Err(e) if index == 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                    drop(fs);
                    return mount_overlay_legacy(o);
                }
                Err(e) => {
                    return Err(overlay_error("overlay lowerdir+", lower, e));
                }
            }
        }
        if crate::in_user_namespace() {
            fsconfig_set_flag(fs.as_fd(), "userxattr")
                .map_err(|e| overlay_error("overlay userxattr", overlay, e.into()))?;
        }
        config("upperdir", &o.upper).map_err(|e| overlay_error("overlay upperdir", &o.upper, e))?;
        config("workdir", &o.work).map_err(|e| overlay_error("overlay workdir", &o.work, e))?;
        if let Err(e) = fsconfig_create(fs.as_fd()) {
            let e = std::io::Error::from(e);
            let log = kernel_log(fs.as_fd());
            // Before Linux 6.5 overlayfs had no fd-based API of its own (Debian 12's
            // 6.1 included), fsconfig only collects the options, "lowerdir+"
            // among them, and create rejects them as mount(2) would, logging
            // to dmesg, not here.
            if e.raw_os_error() == Some(libc::EINVAL) && log == NO_KERNEL_MESSAGE {
                drop(fs);
                return mount_overlay_legacy(o);
            }
            return Err(MountError::Overlay {
                op: "overlay create",
                target: o.target.clone(),
                source: e,
                detail: format!("overlay: {log}"),
            });
        }
        let mnt: OwnedFd = fsmount(
            fs.as_fd(),
            FsMountFlags::FSMOUNT_CLOEXEC,
            MountAttrFlags::empty(),
        )
        .map_err(|e| overlay_error("fsmount overlay", overlay, e.into()))?;
        move_mount(
            mnt.as_fd(),
            "",
            rustix::fs::CWD,
            &o.target,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )
        .map_err(|e| sys_error("move_mount overlay to", &o.target, e.into()))
    }

    fn unmount(&self, target: &Path, detach: bool) -> Result<(), MountError> {
        let path = c_string(target.as_os_str().as_bytes(), target)?;
        let flags = if detach { libc::MNT_DETACH } else { 0 } | libc::UMOUNT_NOFOLLOW;
        // SAFETY: valid NUL-terminated path.
        if unsafe { libc::umount2(path.as_ptr(), flags) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINVAL) {
                return Ok(());
            }
            return Err(sys_error("unmount", target, err));
        }
        Ok(())
    }

    fn set_readonly_recursive(&self, target: &Path) -> Result<(), MountError> {
        use crate::idmap::MountAttr;
        const MOUNT_ATTR_RDONLY: u64 = 0x1;
        let path = c_string(target.as_os_str().as_bytes(), target)?;
        let attr = MountAttr {
            attr_set: MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        crate::idmap::mount_setattr(
            libc::AT_FDCWD,
            &path,
            libc::AT_RECURSIVE | libc::AT_SYMLINK_NOFOLLOW,
            &attr,
        )
        .map_err(|e| sys_error("mount_setattr read-only", target, e))
    }

    fn mount_overlay_idmapped(&self, o: &OverlayMount, map: &IdMap) -> Result<(), MountError> {
        crate::idmap::overlay(o, map)
    }

    fn bind_idmapped(
        &self,
        source: &Path,
        target: &Path,
        recursive: bool,
        map: &IdMap,
    ) -> Result<(), MountError> {
        crate::idmap::bind(source, target, recursive, map)
    }
}

/// Pre-6.8 kernels: one `mount(2)` with every layer in a single "lowerdir=" string.
fn mount_overlay_legacy(o: &OverlayMount) -> Result<(), MountError> {
    for path in o.lowers.iter().chain([&o.upper, &o.work]) {
        // The legacy option string uses ',' and ':' as separators; escaping them
        // is error-prone and berth's own layer paths never contain them.
        if path
            .as_os_str()
            .as_bytes()
            .iter()
            .any(|b| b",:\\".contains(b))
        {
            return Err(MountError::InvalidPath {
                path: path.clone(),
                reason:
                    "overlay layer path contains ',', ':' or '\\', which mount(2) cannot express",
            });
        }
    }
    let lowers: Vec<_> = o.lowers.iter().map(|l| l.to_string_lossy()).collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}{}",
        lowers.join(":"),
        o.upper.to_string_lossy(),
        o.work.to_string_lossy(),
        if crate::in_user_namespace() {
            ",userxattr"
        } else {
            ""
        }
    );
    if data.len() > MOUNT_DATA_LIMIT {
        return Err(MountError::OptionsTooLong {
            target: o.target.clone(),
            len: data.len(),
            layers: o.lowers.len(),
            limit: MOUNT_DATA_LIMIT,
        });
    }
    Linux.mount(&Mount {
        source: "overlay".into(),
        target: o.target.clone(),
        fstype: Some("overlay".into()),
        flags: crate::MountFlags::empty(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn layout(root: &Path, lowers: usize, name_len: usize) -> OverlayMount {
        let lowers = (0..lowers)
            .map(|i| {
                let p = root.join(format!("{}{i:03}", "l".repeat(name_len)));
                std::fs::create_dir(&p).unwrap();
                std::fs::write(p.join(format!("f{i}")), "x").unwrap();
                p
            })
            .collect();
        let dir = |n: &str| -> PathBuf {
            let p = root.join(n);
            std::fs::create_dir(&p).unwrap();
            p
        };
        OverlayMount {
            lowers,
            upper: dir("upper"),
            work: dir("work"),
            target: dir("merged"),
        }
    }

    #[test]
    fn legacy_fallback_mounts_short_chains_and_refuses_long_ones() {
        let dir = tempfile::tempdir().unwrap();
        let short = layout(dir.path(), 3, 1);
        mount_overlay_legacy(&short).unwrap();
        assert!(short.target.join("f2").exists());
        Linux.unmount(&short.target, true).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let long = layout(dir.path(), 200, 40);
        let err = mount_overlay_legacy(&long).unwrap_err();
        assert!(
            matches!(err, MountError::OptionsTooLong { layers: 200, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("lowerdir+"), "{err}");
    }

    #[test]
    fn legacy_fallback_refuses_separator_characters() {
        let o = OverlayMount {
            lowers: vec!["/a:b".into()],
            upper: "/u".into(),
            work: "/w".into(),
            target: "/t".into(),
        };
        assert!(matches!(
            mount_overlay_legacy(&o),
            Err(MountError::InvalidPath { .. })
        ));
    }

    #[test]
    fn fd_api_failure_carries_the_kernel_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = layout(dir.path(), 1, 1);
        o.lowers.push(dir.path().join("missing"));
        let err = Linux.mount_overlay(&o).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }
}
