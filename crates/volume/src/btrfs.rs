//! The btrfs calls behind sized volumes: a subvolume per volume, limited by
//! its qgroup, whose accounting the kernel keeps (read from sysfs in O(1)).
//! Plain ioctls on descriptors (`linux/btrfs.h`), no btrfs-progs.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::ioctl::{ioctl, ReadOpcode, ReadWriteOpcode, Updater, WriteOpcode};

use crate::VolumeError;

const MAGIC: u8 = 0x94;
const SUPER_MAGIC: i64 = 0x9123_683e;
/// The inode number of every subvolume's root directory.
const FIRST_FREE_OBJECTID: u64 = 256;

/// `struct btrfs_ioctl_vol_args`.
#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; 4088],
}

/// `struct btrfs_ioctl_quota_ctl_args`.
#[repr(C)]
struct QuotaCtlArgs {
    cmd: u64,
    status: u64,
}

/// `struct btrfs_ioctl_qgroup_create_args`.
#[repr(C)]
struct QgroupCreateArgs {
    create: u64,
    qgroupid: u64,
}

/// `struct btrfs_ioctl_qgroup_limit_args` (with `struct btrfs_qgroup_limit`).
#[repr(C)]
struct QgroupLimitArgs {
    qgroupid: u64,
    flags: u64,
    max_rfer: u64,
    max_excl: u64,
    rsv_rfer: u64,
    rsv_excl: u64,
}

/// `struct btrfs_ioctl_ino_lookup_args`.
#[repr(C)]
struct InoLookupArgs {
    treeid: u64,
    objectid: u64,
    name: [u8; 4080],
}

/// `struct btrfs_ioctl_fs_info_args`.
#[repr(C)]
struct FsInfoArgs {
    max_id: u64,
    num_devices: u64,
    fsid: [u8; 16],
    rest: [u8; 992],
}

type SubvolCreate = WriteOpcode<MAGIC, 14, VolArgs>;
type SnapDestroy = WriteOpcode<MAGIC, 15, VolArgs>;
type InoLookup = ReadWriteOpcode<MAGIC, 18, InoLookupArgs>;
type FsInfo = ReadOpcode<MAGIC, 31, FsInfoArgs>;
type QuotaCtl = ReadWriteOpcode<MAGIC, 40, QuotaCtlArgs>;
type QgroupCreate = WriteOpcode<MAGIC, 42, QgroupCreateArgs>;
type QgroupLimit = ReadOpcode<MAGIC, 43, QgroupLimitArgs>;

const QUOTA_CTL_ENABLE: u64 = 1;
const QGROUP_LIMIT_MAX_RFER: u64 = 1;

fn open_dir(path: &Path) -> Result<OwnedFd, VolumeError> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| VolumeError::io(path, e.into()))
}

/// The filesystem `path` is on, by name, if it is not btrfs.
pub(crate) fn not_btrfs(path: &Path) -> Result<Option<String>, VolumeError> {
    let fs = rustix::fs::statfs(path).map_err(|e| VolumeError::io(path, e.into()))?;
    #[allow(clippy::unnecessary_cast)]
    let magic = fs.f_type as i64;
    Ok((magic != SUPER_MAGIC).then(|| match magic {
        0xef53 => "ext4".to_string(),
        0x5846_5342 => "xfs".to_string(),
        0x0102_1994 => "tmpfs".to_string(),
        0x794c_7630 => "overlayfs".to_string(),
        other => format!("a filesystem of type {other:#x}"),
    }))
}

fn vol_args(name: &OsStr) -> Result<VolArgs, VolumeError> {
    let bytes = name.as_bytes();
    let mut args = VolArgs {
        fd: 0,
        name: [0; 4088],
    };
    if bytes.is_empty() || bytes.len() >= args.name.len() || bytes.contains(&b'/') {
        return Err(VolumeError::io(
            Path::new(name),
            std::io::Error::from(std::io::ErrorKind::InvalidInput),
        ));
    }
    args.name[..bytes.len()].copy_from_slice(bytes);
    Ok(args)
}

fn split(path: &Path) -> Result<(&Path, &OsStr), VolumeError> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(VolumeError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::InvalidInput),
        )),
    }
}

/// Creates the subvolume `path` (its parent must exist, on btrfs).
pub(crate) fn create_subvolume(path: &Path) -> Result<(), VolumeError> {
    let (parent, name) = split(path)?;
    let dir = open_dir(parent)?;
    let mut args = vol_args(name)?;
    // SAFETY: the opcode is BTRFS_IOC_SUBVOL_CREATE and VolArgs its argument.
    unsafe { ioctl(&dir, Updater::<SubvolCreate, _>::new(&mut args)) }
        .map_err(|e| VolumeError::io(path, e.into()))
}

/// Whether `path` is the root of a btrfs subvolume (not a mount of one).
pub(crate) fn is_subvolume(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    meta.is_dir()
        && meta.ino() == FIRST_FREE_OBJECTID
        && matches!(not_btrfs(path), Ok(None))
        && !berth_mount::is_mountpoint(path).unwrap_or(true)
}

/// Deletes the subvolume `path` with everything in it, then its qgroup
/// (best effort: the kernel may still be dropping the subvolume's extents).
pub(crate) fn delete_subvolume(path: &Path) -> Result<(), VolumeError> {
    let id = subvolume_id(&open_dir(path)?, path)?;
    let (parent, name) = split(path)?;
    let dir = open_dir(parent)?;
    let mut args = vol_args(name)?;
    // SAFETY: the opcode is BTRFS_IOC_SNAP_DESTROY and VolArgs its argument.
    unsafe { ioctl(&dir, Updater::<SnapDestroy, _>::new(&mut args)) }
        .map_err(|e| VolumeError::io(path, e.into()))?;
    let mut qgroup = QgroupCreateArgs {
        create: 0,
        qgroupid: id,
    };
    // SAFETY: the opcode is BTRFS_IOC_QGROUP_CREATE and its argument.
    let _ = unsafe { ioctl(&dir, Updater::<QgroupCreate, _>::new(&mut qgroup)) };
    Ok(())
}

/// Enables quotas on the filesystem of `path` (a no-op when they are on).
pub(crate) fn enable_quotas(path: &Path) -> Result<(), VolumeError> {
    let dir = open_dir(path)?;
    let mut args = QuotaCtlArgs {
        cmd: QUOTA_CTL_ENABLE,
        status: 0,
    };
    // SAFETY: the opcode is BTRFS_IOC_QUOTA_CTL and its argument.
    unsafe { ioctl(&dir, Updater::<QuotaCtl, _>::new(&mut args)) }
        .map_err(|e| VolumeError::io(path, e.into()))
}

/// Limits the referenced bytes of subvolume `path` (its level-0 qgroup).
pub(crate) fn limit(path: &Path, bytes: u64) -> Result<(), VolumeError> {
    let dir = open_dir(path)?;
    let mut args = QgroupLimitArgs {
        // 0: the qgroup of the subvolume the descriptor is in.
        qgroupid: 0,
        flags: QGROUP_LIMIT_MAX_RFER,
        max_rfer: bytes,
        max_excl: 0,
        rsv_rfer: 0,
        rsv_excl: 0,
    };
    // SAFETY: the opcode is BTRFS_IOC_QGROUP_LIMIT and its argument.
    unsafe { ioctl(&dir, Updater::<QgroupLimit, _>::new(&mut args)) }
        .map_err(|e| VolumeError::io(path, e.into()))
}

fn subvolume_id(fd: &impl AsFd, path: &Path) -> Result<u64, VolumeError> {
    let mut args = InoLookupArgs {
        treeid: 0,
        objectid: FIRST_FREE_OBJECTID,
        name: [0; 4080],
    };
    // SAFETY: the opcode is BTRFS_IOC_INO_LOOKUP and its argument.
    unsafe { ioctl(fd, Updater::<InoLookup, _>::new(&mut args)) }
        .map_err(|e| VolumeError::io(path, e.into()))?;
    Ok(args.treeid)
}

/// `/sys/fs/btrfs/FSID/qgroups/0_ID`: the kernel's accounting of the
/// subvolume `path`, if quotas are on.
fn qgroup_dir(path: &Path) -> Result<PathBuf, VolumeError> {
    let dir = open_dir(path)?;
    let id = subvolume_id(&dir, path)?;
    let mut info = FsInfoArgs {
        max_id: 0,
        num_devices: 0,
        fsid: [0; 16],
        rest: [0; 992],
    };
    // SAFETY: the opcode is BTRFS_IOC_FS_INFO and its argument.
    unsafe { ioctl(&dir, Updater::<FsInfo, _>::new(&mut info)) }
        .map_err(|e| VolumeError::io(path, e.into()))?;
    let h: String = info.fsid.iter().map(|b| format!("{b:02x}")).collect();
    let fsid = format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    );
    Ok(PathBuf::from(format!(
        "/sys/fs/btrfs/{fsid}/qgroups/0_{id}"
    )))
}

/// Referenced bytes and limit (`None`: none) of subvolume `path`, read from
/// the kernel's qgroup accounting; `None` when there is none.
pub(crate) fn qgroup_usage(path: &Path) -> Result<Option<(u64, Option<u64>)>, VolumeError> {
    let dir = qgroup_dir(path)?;
    let read = |file: &str| -> Option<String> {
        std::fs::read_to_string(dir.join(file))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let Some(referenced) = read("referenced").and_then(|s| s.parse().ok()) else {
        return Ok(None);
    };
    let limit = read("max_referenced").and_then(|s| s.parse().ok());
    Ok(Some((
        referenced,
        limit.filter(|l| *l != u64::MAX && *l != 0),
    )))
}
