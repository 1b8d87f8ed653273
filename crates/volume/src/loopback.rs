//! Image-backed sized volumes, where the root is not on btrfs: the volume's
//! data is an ext4 filesystem made in a sparse file `NAME/disk.img` of the
//! `size` asked for, mounted on `NAME/_data` through a loop device, so a
//! write past the size fails with ENOSPC inside the container.
//!
//! Crash safety:
//! * The image is made under a temporary name in the volume's staging
//!   directory and renamed to `disk.img` once `mkfs` is done; nothing is
//!   mounted before the volume's row is committed, so a create killed at any
//!   point leaves plain files that the staging sweep deletes.
//! * The filesystem is mounted when the volume is read from the store and
//!   its `_data` is not a mount yet (after its create, after a reboot),
//!   under `NAME/lock`.
//! * The loop device is bound with `LO_FLAGS_AUTOCLEAR`: it detaches itself
//!   when the last reference goes — the filesystem's unmount, or, killed
//!   between binding and mounting, this process's descriptor. Removing the
//!   volume unmounts `_data` (the local driver's `remove`), so no loop
//!   device or mount outlives it.
//! * An unmount does not end the filesystem while another mount namespace
//!   (a runtime process started while it was mounted) still holds a copy:
//!   its loop device stays bound until then. Mounting the image again goes
//!   through that same device, so the kernel hands back the live
//!   filesystem; a second device on the same image would make a second
//!   ext4 instance over it, and the two would corrupt each other.
//!
//! What it uses is the filesystem's `statfs` (O(1)).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_mount::{Linux, Mount, MountFlags, Syscalls};
use rustix::fs::{Mode, OFlags};

use crate::VolumeError;

/// The image's name in the volume's directory.
pub(crate) const IMAGE: &str = "disk.img";
const MKFS: &str = "mkfs.ext4";

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64` of linux/loop.h.
#[repr(C)]
struct LoopInfo64 {
    device: u64,
    inode: u64,
    rdevice: u64,
    offset: u64,
    sizelimit: u64,
    number: u32,
    encrypt_type: u32,
    encrypt_key_size: u32,
    flags: u32,
    file_name: [u8; 64],
    crypt_name: [u8; 64],
    encrypt_key: [u8; 32],
    init: [u64; 2],
}

/// `struct loop_config` of linux/loop.h.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// Whether the volume in `dir` is image-backed.
pub fn is_image_backed(dir: &Path) -> bool {
    dir.join(IMAGE).is_file()
}

/// Whether this host can make image-backed volumes (`mkfs.ext4` found).
pub(crate) fn available() -> bool {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(MKFS).exists())
}

/// Makes the image of `bytes` in `dir` (a staging directory) and the empty
/// mount point `data`; nothing is mounted.
pub(crate) fn create(dir: &Path, data: &Path, bytes: u64) -> Result<(), VolumeError> {
    let tmp = dir.join(format!("{IMAGE}.tmp"));
    let file = std::fs::File::create(&tmp).map_err(|e| VolumeError::io(&tmp, e))?;
    file.set_len(bytes).map_err(|e| VolumeError::io(&tmp, e))?;
    drop(file);
    // No reserved blocks (the size asked for is the user's), root owns the
    // top directory, and no lost+found in the volume (a volume that looks
    // empty is filled from the image at its first mount, as Docker's).
    let made = Command::new(MKFS)
        .args(["-q", "-F", "-m", "0", "-E", "root_owner=0:0,nodiscard"])
        .arg(&tmp)
        .output()
        .map_err(|e| VolumeError::io(Path::new(MKFS), e))?;
    if !made.status.success() {
        return Err(VolumeError::Create {
            name: String::new(),
            reason: format!(
                "{MKFS} of a {bytes}-byte image failed: {}",
                String::from_utf8_lossy(&made.stderr).trim()
            ),
        });
    }
    let _ = Command::new("debugfs")
        .args(["-w", "-R", "rmdir lost+found"])
        .arg(&tmp)
        .output();
    berth_store::crash::point("volume-loop", "after-mkfs");
    std::fs::create_dir(data).map_err(|e| VolumeError::io(data, e))?;
    let image = dir.join(IMAGE);
    std::fs::rename(&tmp, &image).map_err(|e| VolumeError::io(&image, e))
}

/// Mounts the image of the volume in `dir` on `data` unless it is mounted.
pub(crate) fn ensure_mounted(dir: &Path, data: &Path) -> Result<(), VolumeError> {
    if berth_mount::is_mountpoint(data)? {
        return Ok(());
    }
    let _lock = berth_store::FileLock::acquire(&dir.join("lock"))?;
    if berth_mount::is_mountpoint(data)? {
        return Ok(());
    }
    let image = dir.join(IMAGE);
    let (device, loop_fd) = match bound_device(&image)? {
        Some(bound) => bound,
        None => attach(&image)?,
    };
    berth_store::crash::point("volume-loop", "after-attach");
    let mounted = Linux.mount(&Mount {
        source: device.to_string_lossy().into_owned(),
        target: data.to_path_buf(),
        fstype: Some("ext4".into()),
        flags: MountFlags::NOSUID | MountFlags::NODEV,
        data: String::new(),
    });
    // The mount holds the device now (or, failed, nothing does: it goes).
    drop(loop_fd);
    mounted?;
    Ok(())
}

const LOOP_GET_STATUS64: libc::c_ulong = 0x4C05;

/// The loop device `image` is still bound to (its filesystem alive in some
/// mount namespace), and a descriptor holding it.
fn bound_device(image: &Path) -> Result<Option<(PathBuf, OwnedFd)>, VolumeError> {
    let stat = rustix::fs::stat(image).map_err(|e| VolumeError::io(image, e.into()))?;
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Only bound devices have a backing file.
        if !name.starts_with("loop") || !entry.path().join("loop/backing_file").exists() {
            continue;
        }
        let device = PathBuf::from(format!("/dev/{name}"));
        let Ok(fd) = rustix::fs::open(&device, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        else {
            continue;
        };
        // SAFETY: plain-old-data, all zeroes is its empty value.
        let mut info: LoopInfo64 = unsafe { std::mem::zeroed() };
        // SAFETY: LOOP_GET_STATUS64 writes a loop_info64 the size of ours.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), LOOP_GET_STATUS64, &mut info) };
        #[allow(clippy::unnecessary_cast)]
        if rc == 0 && info.device == stat.st_dev as u64 && info.inode == stat.st_ino as u64 {
            return Ok(Some((device, fd)));
        }
    }
    Ok(None)
}

/// Binds `image` to a free loop device, auto-clearing; its path and the
/// descriptor that holds it until the filesystem is mounted.
fn attach(image: &Path) -> Result<(PathBuf, OwnedFd), VolumeError> {
    let image_fd = rustix::fs::open(image, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| VolumeError::io(image, e.into()))?;
    let control = Path::new("/dev/loop-control");
    let control_fd = rustix::fs::open(control, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| VolumeError::io(control, e.into()))?;
    // Another process may take the free device first: try the next one.
    for _ in 0..16 {
        // SAFETY: an ioctl without argument on the loop control device.
        let number = unsafe { libc::ioctl(control_fd.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if number < 0 {
            return Err(VolumeError::io(control, std::io::Error::last_os_error()));
        }
        let device = PathBuf::from(format!("/dev/loop{number}"));
        let loop_fd = rustix::fs::open(&device, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| VolumeError::io(&device, e.into()))?;
        // SAFETY: plain-old-data, all zeroes is its empty value.
        let mut config: LoopConfig = unsafe { std::mem::zeroed() };
        config.fd = image_fd.as_raw_fd() as u32;
        config.info.flags = LO_FLAGS_AUTOCLEAR;
        // SAFETY: LOOP_CONFIGURE reads a loop_config the size of ours.
        let rc = unsafe { libc::ioctl(loop_fd.as_raw_fd(), LOOP_CONFIGURE, &config) };
        if rc == 0 {
            return Ok((device, loop_fd));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EBUSY) {
            return Err(VolumeError::io(&device, err));
        }
    }
    Err(VolumeError::io(
        control,
        std::io::Error::from_raw_os_error(libc::EBUSY),
    ))
}

/// Bytes used on the volume's filesystem mounted on `data`, and its size.
pub(crate) fn usage(data: &Path) -> Result<(u64, u64), VolumeError> {
    let fs = rustix::fs::statfs(data).map_err(|e| VolumeError::io(data, e.into()))?;
    #[allow(clippy::unnecessary_cast)]
    let (blocks, free, size) = (fs.f_blocks as u64, fs.f_bfree as u64, fs.f_bsize as u64);
    Ok((blocks.saturating_sub(free) * size, blocks * size))
}
