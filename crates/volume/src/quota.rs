//! Sized volumes (`volume create --opt size=10M`) and what volumes use.
//!
//! A sized volume's `_data` is a btrfs subvolume whose qgroup limits the
//! bytes it references: a write past the limit fails inside the container
//! with EDQUOT ("Disk quota exceeded"). berth turns quotas on for the
//! filesystem at the first sized volume. Elsewhere (these kernels have no
//! XFS/ext4 project quotas) it is an ext4 image on a loop device
//! ([`crate::loopback`]): a write past the size fails with ENOSPC. Without
//! `mkfs.ext4` there, `size` is refused and nothing is created.
//!
//! What a volume uses ([`usage`]) is the kernel's qgroup accounting for a
//! subvolume (one sysfs read, whatever the number of files), its
//! filesystem's statfs for an image-backed one, and the apparent size of
//! its files ([`crate::apparent_size`], a walk) otherwise.

use std::path::Path;

use crate::{btrfs, loopback, Volume, VolumeError};

/// The `size` option in bytes (go-units' RAMInBytes, as dockerd reads it).
pub(crate) fn size_option(value: &str) -> Option<u64> {
    crate::spec::ram_in_bytes(value).filter(|b| *b > 0)
}

/// Makes `data` a subvolume limited to `bytes` on btrfs, an image of
/// `bytes` to be mounted on it elsewhere, or refuses (nothing made) when
/// neither can be made.
pub(crate) fn create_sized(data: &Path, bytes: u64) -> Result<(), VolumeError> {
    let parent = data.parent().unwrap_or(data);
    if let Some(fs) = btrfs::not_btrfs(parent)? {
        if loopback::available() {
            return loopback::create(parent, data, bytes);
        }
        // Named by volume::create, which knows the name.
        return Err(VolumeError::QuotaUnsupported {
            name: String::new(),
            fs,
        });
    }
    btrfs::enable_quotas(parent)?;
    btrfs::create_subvolume(data)?;
    let limited = btrfs::limit(data, bytes);
    if limited.is_err() {
        let _ = btrfs::delete_subvolume(data);
    }
    limited
}

/// Deletes `path` if it is a subvolume (a sized volume's data) with its
/// qgroup; false if it is not one. (A qgroup still busy while the kernel's
/// cleaner frees the subvolume's extents is dropped by the kernel itself
/// once they are freed.)
pub(crate) fn delete_if_subvolume(path: &Path) -> Result<bool, VolumeError> {
    if !btrfs::is_subvolume(path) {
        return Ok(false);
    }
    btrfs::delete_subvolume(path)?;
    Ok(true)
}

/// What a volume uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes: referenced by its subvolume when [`Usage::accounted`], else
    /// the apparent size of its files.
    pub bytes: u64,
    /// Its `size` limit, if it has one.
    pub limit: Option<u64>,
    /// Read from the kernel's quota accounting (O(1)), not walked.
    pub accounted: bool,
}

/// What `volume` uses: its qgroup's accounting if its data is a subvolume
/// with one, its filesystem's if it is image-backed, else the apparent size
/// of its files.
pub fn usage(volume: &Volume) -> Result<Usage, VolumeError> {
    let dir = volume.mountpoint.parent().unwrap_or(&volume.mountpoint);
    if loopback::is_image_backed(dir) {
        let (bytes, _) = loopback::usage(&volume.mountpoint)?;
        return Ok(Usage {
            bytes,
            limit: volume.options.get("size").and_then(|s| size_option(s)),
            accounted: true,
        });
    }
    if btrfs::is_subvolume(&volume.mountpoint) {
        if let Some((bytes, limit)) = btrfs::qgroup_usage(&volume.mountpoint)? {
            return Ok(Usage {
                bytes,
                limit,
                accounted: true,
            });
        }
    }
    Ok(Usage {
        bytes: crate::apparent_size(&volume.mountpoint)?,
        limit: None,
        accounted: false,
    })
}
