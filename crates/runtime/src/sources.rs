//! Mount sources checked once, and verified to be what the runtime mounted.
//!
//! A volume's directory (`volumes/NAME/_data`) is berth's own and never a
//! symlink; if something made it one (or made `volumes/NAME` one), following
//! it would copy the image's files into, and mount, whatever it points at on
//! the host. [`pin_source`] opens a source once — a volume's refusing
//! symlinks below the directory it is private to, a bind source (a host path
//! the user named) following them as Docker does — and keeps it open:
//!
//! * berth's own work on the source (the copy-up into an empty volume) goes
//!   through [`PinnedSource::via_fd`], a magic link to exactly that object;
//! * the runtime mounts the source by its path (a mount cannot be bound from
//!   another mount namespace, so no descriptor can be handed to it), and
//!   [`crate::verify_created`] then checks, before the container starts,
//!   that what is mounted at each destination is the object pinned here
//!   (same device and inode): a source swapped between the check and the
//!   runtime's mount is refused.
//!
//! Pins are released by [`crate::verify_created`]; pinning a source again
//! replaces its previous pin, so a monitor that restarts its container does
//! not accumulate descriptors.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::RuntimeError;

/// A pinned source: the descriptor and its identity (device, inode).
struct Pin {
    _fd: OwnedFd,
    identity: (u64, u64),
}

static PINNED: Mutex<Option<HashMap<PathBuf, Pin>>> = Mutex::new(None);

/// A source opened at its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedSource {
    /// `/proc/<this pid>/fd/<n>`: the checked object, for this process's own
    /// use until the pins are released.
    pub via_fd: PathBuf,
}

/// Opens `source` and keeps it until the runtime's mounts are verified.
/// With `private_below`, the part of `source` below that directory must not
/// hold a symlink.
pub fn pin_source(
    source: &Path,
    private_below: Option<&Path>,
) -> Result<PinnedSource, RuntimeError> {
    let fd = match private_below.and_then(|base| Some((base, source.strip_prefix(base).ok()?))) {
        Some((base, below)) => {
            let base_fd = open(base, OFlags::PATH | OFlags::DIRECTORY)
                .map_err(|e| RuntimeError::io(base, e.into()))?;
            loop {
                match rustix::fs::openat2(
                    &base_fd,
                    below,
                    OFlags::PATH | OFlags::CLOEXEC,
                    Mode::empty(),
                    ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH,
                ) {
                    Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
                    Err(Errno::LOOP) | Err(Errno::XDEV) => return Err(swapped(source)),
                    other => break other.map_err(|e| RuntimeError::io(source, e.into()))?,
                }
            }
        }
        None => open(source, OFlags::PATH).map_err(|e| RuntimeError::io(source, e.into()))?,
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| RuntimeError::io(source, e.into()))?;
    let via_fd = PathBuf::from(format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        fd.as_raw_fd()
    ));
    let pin = Pin {
        _fd: fd,
        #[allow(clippy::unnecessary_cast)]
        identity: (st.st_dev as u64, st.st_ino as u64),
    };
    let mut pinned = PINNED.lock().unwrap_or_else(|e| e.into_inner());
    pinned
        .get_or_insert_with(HashMap::new)
        .insert(source.to_path_buf(), pin);
    Ok(PinnedSource { via_fd })
}

pub(crate) fn swapped(source: &Path) -> RuntimeError {
    RuntimeError::invalid(format!(
        "{}: a symlink was put in place of the directory berth checked; refusing to copy into \
         or mount what it points at",
        source.display()
    ))
}

fn open(path: &Path, flags: OFlags) -> Result<OwnedFd, Errno> {
    rustix::fs::open(path, flags | OFlags::CLOEXEC, Mode::empty())
}

/// The identity (device, inode) pinned for `source`, if it was pinned.
pub(crate) fn pinned_identity(source: &Path) -> Option<(u64, u64)> {
    let pinned = PINNED.lock().unwrap_or_else(|e| e.into_inner());
    pinned.as_ref()?.get(source).map(|p| p.identity)
}

/// Closes every pinned source.
pub(crate) fn release_pins() {
    let mut pinned = PINNED.lock().unwrap_or_else(|e| e.into_inner());
    *pinned = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_source_survives_being_swapped_and_symlinks_are_refused_below_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let volumes = dir.path().join("volumes");
        let data = volumes.join("v/_data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("mine"), "volume").unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();

        let pinned = pin_source(&data, Some(&volumes)).unwrap();
        let identity = pinned_identity(&data).unwrap();
        // Swapped after the check: the link still reaches the volume.
        std::fs::rename(&data, volumes.join("v/old")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &data).unwrap();
        assert_eq!(
            std::fs::read_to_string(pinned.via_fd.join("mine")).unwrap(),
            "volume"
        );
        // Swapped before the check: refused.
        let err = pin_source(&data, Some(&volumes)).unwrap_err().to_string();
        assert!(err.contains("a symlink was put in place"), "{err}");
        std::fs::remove_file(&data).unwrap();
        std::fs::rename(volumes.join("v/old"), &data).unwrap();
        std::fs::rename(volumes.join("v"), volumes.join("w")).unwrap();
        std::os::unix::fs::symlink(volumes.join("w"), volumes.join("v")).unwrap();
        assert!(pin_source(&data, Some(&volumes)).is_err());

        // A bind source follows symlinks, as Docker's do: the same directory.
        pin_source(&data, None).unwrap();
        assert_eq!(pinned_identity(&data), Some(identity));
        release_pins();
        assert_eq!(pinned_identity(&data), None);
    }
}
