//! Mounts as data, and the one place in berth that changes the kernel's mount table.
//!
//! # Terms
//! * A [`Mount`] is one literal `mount(2)` call written down as a value: source,
//!   target, filesystem type, `MS_*` flags and the filesystem's option string.
//!   Storage code (volumes, container root filesystems) *returns* mounts instead
//!   of performing them, so a mount sequence can be inspected and unit-tested.
//! * An [`OverlayMount`] is an overlayfs union: read-only `lowers` (top-most
//!   first, the order of overlayfs' `lowerdir=`), one writable `upper` and its
//!   scratch `work` directory on the same filesystem as `upper`.
//! * [`Syscalls`] is everything that touches the mount table. [`Linux`] performs
//!   the calls; [`Recording`] only records them, for tests of mount sequences.
//!
//! # Lifecycle
//! A caller builds mounts (e.g. [`Mount::bind`], [`Mount::tmpfs`],
//! [`Mount::from_options`]), hands them to a `Syscalls`, and later undoes each
//! with [`Syscalls::unmount`] (unmounting something no longer mounted is not an
//! error, so cleanup after a crash can simply run again). A `:ro` bind is a bind
//! followed by [`Syscalls::set_readonly_recursive`], because `MS_RDONLY` on a
//! bind applies only to its top mount, never to submounts under it.
//!
//! Idmapped mounts (`idmap.rs`) show a tree's owners through a user
//! namespace's mapping: a user-namespaced container's image layers, volumes
//! and binds, and `:idmap` binds.
//!
//! Overlays go through the fd-based mount API with one `lowerdir+` parameter per
//! layer (Linux >= 6.8), so a deep image is never limited by the single page
//! `mount(2)` allows for its whole option string. An image's layers alone make a
//! read-only overlay that can live detached, held by a descriptor only
//! (`detached.rs`: image mounts, volume seeding).

mod detached;
mod fslog;
mod idmap;
mod linux;
mod recording;
mod rootless;

use std::path::{Path, PathBuf};

pub use idmap::{IdExtent, IdMap};
pub use linux::Linux;
pub use recording::{Call, Recording};
pub use rootless::{in_user_namespace, overlay_xattr_prefix, user_namespaces_unavailable};

bitflags::bitflags! {
    /// `MS_*` flags of `mount(2)`, including the propagation ones.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct MountFlags: u64 {
        const RDONLY = libc::MS_RDONLY;
        const NOSUID = libc::MS_NOSUID;
        const NODEV = libc::MS_NODEV;
        const NOEXEC = libc::MS_NOEXEC;
        const SYNCHRONOUS = libc::MS_SYNCHRONOUS;
        const REMOUNT = libc::MS_REMOUNT;
        const MANDLOCK = libc::MS_MANDLOCK;
        const DIRSYNC = libc::MS_DIRSYNC;
        const NOATIME = libc::MS_NOATIME;
        const NODIRATIME = libc::MS_NODIRATIME;
        const BIND = libc::MS_BIND;
        const REC = libc::MS_REC;
        const UNBINDABLE = libc::MS_UNBINDABLE;
        const PRIVATE = libc::MS_PRIVATE;
        const SLAVE = libc::MS_SLAVE;
        const SHARED = libc::MS_SHARED;
        const RELATIME = libc::MS_RELATIME;
        const STRICTATIME = libc::MS_STRICTATIME;
    }
}

/// One `mount(2)` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Device, remote export, source directory of a bind, or a name such as "tmpfs".
    pub source: String,
    pub target: PathBuf,
    /// `None` for binds, moves and propagation changes.
    pub fstype: Option<String>,
    pub flags: MountFlags,
    /// The filesystem's own options ("size=64m,mode=1777"); empty for none.
    pub data: String,
}

impl Mount {
    /// A bind of `source` onto `target`; `recursive` also binds the mounts below
    /// `source` (Docker's default for binds and volumes).
    pub fn bind(source: &Path, target: &Path, recursive: bool) -> Mount {
        let mut flags = MountFlags::BIND;
        if recursive {
            flags |= MountFlags::REC;
        }
        Mount {
            source: source.to_string_lossy().into_owned(),
            target: target.to_path_buf(),
            fstype: None,
            flags,
            data: String::new(),
        }
    }

    /// A fresh tmpfs with `data` such as "size=65536k,mode=755".
    pub fn tmpfs(target: &Path, flags: MountFlags, data: &str) -> Mount {
        Mount {
            source: "tmpfs".into(),
            target: target.to_path_buf(),
            fstype: Some("tmpfs".into()),
            flags,
            data: data.into(),
        }
    }

    /// Changes the propagation of the mount at `target` (e.g. `PRIVATE | REC`).
    pub fn propagation(target: &Path, flags: MountFlags) -> Mount {
        Mount {
            source: "none".into(),
            target: target.to_path_buf(),
            fstype: None,
            flags,
            data: String::new(),
        }
    }

    /// A mount described the way `mount -t TYPE -o OPTIONS DEVICE TARGET` (and
    /// Docker's local volume driver options) describe it: the generic options
    /// among `options` become flags, the rest is passed to the filesystem.
    /// Type "none" with a `bind` option is a bind mount.
    pub fn from_options(device: &str, target: &Path, fstype: &str, options: &str) -> Mount {
        let (flags, data) = parse_options(options);
        let fstype = match fstype {
            "" | "none" if flags.contains(MountFlags::BIND) => None,
            "" => None,
            other => Some(other.to_string()),
        };
        Mount {
            source: device.into(),
            target: target.to_path_buf(),
            fstype,
            flags,
            data,
        }
    }
}

/// Splits fstab-style options into `MS_*` flags and the filesystem-specific rest
/// (kept in order, comma-joined), as mount(8) does.
pub fn parse_options(options: &str) -> (MountFlags, String) {
    let mut flags = MountFlags::empty();
    let mut data = Vec::new();
    for option in options.split(',').filter(|o| !o.is_empty()) {
        let (set, clear) = match option {
            "defaults" => (MountFlags::empty(), MountFlags::empty()),
            "ro" => (MountFlags::RDONLY, MountFlags::empty()),
            "rw" => (MountFlags::empty(), MountFlags::RDONLY),
            "nosuid" => (MountFlags::NOSUID, MountFlags::empty()),
            "suid" => (MountFlags::empty(), MountFlags::NOSUID),
            "nodev" => (MountFlags::NODEV, MountFlags::empty()),
            "dev" => (MountFlags::empty(), MountFlags::NODEV),
            "noexec" => (MountFlags::NOEXEC, MountFlags::empty()),
            "exec" => (MountFlags::empty(), MountFlags::NOEXEC),
            "sync" => (MountFlags::SYNCHRONOUS, MountFlags::empty()),
            "async" => (MountFlags::empty(), MountFlags::SYNCHRONOUS),
            "dirsync" => (MountFlags::DIRSYNC, MountFlags::empty()),
            "remount" => (MountFlags::REMOUNT, MountFlags::empty()),
            "mand" => (MountFlags::MANDLOCK, MountFlags::empty()),
            "nomand" => (MountFlags::empty(), MountFlags::MANDLOCK),
            "noatime" => (MountFlags::NOATIME, MountFlags::empty()),
            "atime" => (MountFlags::empty(), MountFlags::NOATIME),
            "nodiratime" => (MountFlags::NODIRATIME, MountFlags::empty()),
            "diratime" => (MountFlags::empty(), MountFlags::NODIRATIME),
            "relatime" => (MountFlags::RELATIME, MountFlags::empty()),
            "norelatime" => (MountFlags::empty(), MountFlags::RELATIME),
            "strictatime" => (MountFlags::STRICTATIME, MountFlags::empty()),
            "nostrictatime" => (MountFlags::empty(), MountFlags::STRICTATIME),
            "bind" => (MountFlags::BIND, MountFlags::empty()),
            "rbind" => (MountFlags::BIND | MountFlags::REC, MountFlags::empty()),
            "private" => (MountFlags::PRIVATE, MountFlags::empty()),
            "rprivate" => (MountFlags::PRIVATE | MountFlags::REC, MountFlags::empty()),
            "slave" => (MountFlags::SLAVE, MountFlags::empty()),
            "rslave" => (MountFlags::SLAVE | MountFlags::REC, MountFlags::empty()),
            "shared" => (MountFlags::SHARED, MountFlags::empty()),
            "rshared" => (MountFlags::SHARED | MountFlags::REC, MountFlags::empty()),
            "unbindable" => (MountFlags::UNBINDABLE, MountFlags::empty()),
            "runbindable" => (
                MountFlags::UNBINDABLE | MountFlags::REC,
                MountFlags::empty(),
            ),
            other => {
                data.push(other);
                continue;
            }
        };
        flags = (flags | set) - clear;
    }
    (flags, data.join(","))
}

/// An overlayfs union mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayMount {
    /// Read-only layers, top-most first.
    pub lowers: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub target: PathBuf,
}

/// Why a mount operation failed; every variant names the mount target.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("{op} {target}: {source}")]
    Sys {
        op: &'static str,
        target: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{op} {target}: {source} ({detail})")]
    Overlay {
        op: &'static str,
        target: PathBuf,
        #[source]
        source: std::io::Error,
        /// What the kernel said through the filesystem context's message log.
        detail: String,
    },
    #[error("overlay {target}: this kernel lacks \"lowerdir+\" (Linux >= 6.8) and the {len}-byte option string for {layers} layers exceeds the {limit}-byte limit of mount(2)")]
    OptionsTooLong {
        target: PathBuf,
        len: usize,
        layers: usize,
        limit: usize,
    },
    #[error("{path}: {reason}")]
    InvalidPath { path: PathBuf, reason: &'static str },
    #[error("mount {target}: mount failed (recorded)")]
    Injected { target: PathBuf },
}

impl berth_error::HasKind for MountError {
    fn kind(&self) -> berth_error::ErrorKind {
        match self {
            MountError::InvalidPath { .. } => berth_error::ErrorKind::InvalidArgument,
            _ => berth_error::ErrorKind::Internal,
        }
    }
}

/// Everything that touches the kernel's mount table.
pub trait Syscalls {
    /// Performs one literal `mount(2)`.
    fn mount(&self, m: &Mount) -> Result<(), MountError>;

    /// Mounts an overlay via the fd-based mount API: `fsopen("overlay")`,
    /// `fsconfig` "lowerdir+" per layer (Linux >= 6.8), "upperdir", "workdir",
    /// then `fsmount` + `move_mount`, so a long layer chain never hits the
    /// one-page option limit of `mount(2)`. Falls back to `mount(2)` with a single
    /// "lowerdir=a:b:c" string when "lowerdir+" is rejected and the string fits
    /// in a page; otherwise fails with [`MountError::OptionsTooLong`].
    fn mount_overlay(&self, o: &OverlayMount) -> Result<(), MountError>;

    /// Unmounts `target` (lazily with `detach`). A target that is not a mount
    /// point (EINVAL) counts as success, so cleanup is idempotent.
    fn unmount(&self, target: &Path, detach: bool) -> Result<(), MountError>;

    /// Makes the mount at `target` and every mount below it read-only
    /// (`mount_setattr(MOUNT_ATTR_RDONLY, AT_RECURSIVE)`), for `:ro` binds.
    fn set_readonly_recursive(&self, target: &Path) -> Result<(), MountError>;

    /// Mounts the overlay `o` with each lower layer idmapped through `map`
    /// (`open_tree` clone + `mount_setattr(MOUNT_ATTR_IDMAP)`, the copies
    /// handed to overlayfs by descriptor): a container in a user namespace
    /// sees the shared layers owned as on disk, without copying or chowning
    /// them. Upper and work are used as they are.
    fn mount_overlay_idmapped(&self, o: &OverlayMount, map: &IdMap) -> Result<(), MountError>;

    /// Binds `source` at `target` idmapped through `map` (see [`IdMap`]).
    fn bind_idmapped(
        &self,
        source: &Path,
        target: &Path,
        recursive: bool,
        map: &IdMap,
    ) -> Result<(), MountError>;
}

/// True if `path` is the root of a mount. Uses `statx`'s
/// `STATX_ATTR_MOUNT_ROOT` (Linux >= 5.8), without following a final symlink.
pub fn is_mountpoint(path: &Path) -> Result<bool, MountError> {
    use rustix::fs::{statx, AtFlags, StatxFlags, CWD};
    let stat = statx(
        CWD,
        path,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT,
        StatxFlags::BASIC_STATS,
    )
    .map_err(|e| MountError::Sys {
        op: "statx",
        target: path.to_path_buf(),
        source: e.into(),
    })?;
    let bit = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if stat.stx_attributes_mask & bit == 0 {
        return Err(MountError::InvalidPath {
            path: path.to_path_buf(),
            reason: "the kernel does not report STATX_ATTR_MOUNT_ROOT (Linux >= 5.8 needed)",
        });
    }
    Ok(stat.stx_attributes & bit != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let (flags, data) = parse_options("ro,nosuid,size=64m,bind,mode=1777,rw,noexec");
        assert_eq!(
            flags,
            MountFlags::NOSUID | MountFlags::BIND | MountFlags::NOEXEC
        );
        assert_eq!(data, "size=64m,mode=1777");
        let (flags, data) = parse_options("addr=127.0.0.1,vers=4,rbind,rprivate");
        assert_eq!(
            flags,
            MountFlags::BIND | MountFlags::REC | MountFlags::PRIVATE
        );
        assert_eq!(data, "addr=127.0.0.1,vers=4");
        assert_eq!(parse_options(""), (MountFlags::empty(), String::new()));
    }

    #[test]
    fn from_options_turns_none_bind_into_a_bind() {
        let m = Mount::from_options("/src", Path::new("/t"), "none", "bind,ro");
        assert_eq!(m.fstype, None);
        assert_eq!(m.flags, MountFlags::BIND | MountFlags::RDONLY);
        let m = Mount::from_options("tmpfs", Path::new("/t"), "tmpfs", "size=1m");
        assert_eq!(m.fstype.as_deref(), Some("tmpfs"));
        assert_eq!(m.data, "size=1m");
    }

    #[test]
    fn is_mountpoint_sees_proc_and_not_a_plain_dir() {
        assert!(is_mountpoint(Path::new("/proc")).unwrap());
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert!(!is_mountpoint(&dir.path().join("d")).unwrap());
        assert!(is_mountpoint(&dir.path().join("missing")).is_err());
    }
}
