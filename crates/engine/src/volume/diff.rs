//! `volume diff VOL IMAGE:PATH`: what differs between a volume and what an
//! image has at a path (`A` only in the volume, `C` in both and different,
//! `D` only in the image, as `docker diff` reads a container against its
//! image; see `berth_archive::compare_trees`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_archive::Change;
use berth_container::image_mount::{self, ImageTree};
use rustix::fs::{Mode, OFlags};

use super::consistent::plain;
use crate::{Engine, Error, ErrorKind, Result};

/// A directory of an image, open read-only (the image's layers as one tree).
pub(super) struct ImageDir {
    /// Holds the tree `dir` lives in.
    _tree: ImageTree,
    pub(super) dir: OwnedFd,
    /// `IMAGE:/PATH`, for messages.
    pub(super) shown: PathBuf,
}

/// Splits `IMAGE:/PATH` (an image reference never contains ":/").
fn split_source(source: &str) -> Result<(&str, &str)> {
    match source.find(":/") {
        Some(at) if at > 0 => Ok((&source[..at], &source[at + 1..])),
        _ => Err(Error::refused(
            ErrorKind::InvalidArgument,
            format!("\"{source}\" is not IMAGE:PATH with an absolute PATH (e.g. nginx:/etc/nginx)"),
        )),
    }
}

impl Engine {
    /// `IMAGE:/PATH` opened: the path resolved inside the image (its own
    /// symlinks stay inside it); it must be a directory.
    pub(super) fn image_dir(&self, source: &str) -> Result<ImageDir> {
        let (reference, path) = split_source(source)?;
        let image = berth_image::resolve(&self.store, reference)?;
        let tree = image_mount::open_image(&self.store, reference, &image, &berth_mount::Linux)?;
        let shown = PathBuf::from(format!("{reference}:{path}"));
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = berth_archive::open_in_root(&tree.root(), Path::new(path), flags, Mode::empty())
            .map_err(|_| {
                Error::refused(
                    ErrorKind::NotFound,
                    format!("{}: no such directory in the image", shown.display()),
                )
            })?;
        Ok(ImageDir {
            _tree: tree,
            dir,
            shown,
        })
    }

    /// What differs between volume `name` and `source` (`IMAGE:/PATH`),
    /// sorted by path.
    pub fn volume_diff(&mut self, name: &str, source: &str) -> Result<Vec<Change>> {
        let volume = self.volume_inspect(name)?;
        plain(&volume, "diff")?;
        let image = self.image_dir(source)?;
        Ok(berth_archive::compare_trees(
            image.dir.as_fd(),
            &image.shown,
            &volume.mountpoint,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_split_at_the_path() {
        assert_eq!(split_source("nginx:/etc").unwrap(), ("nginx", "/etc"));
        assert_eq!(
            split_source("localhost:5000/app:v2:/srv/x").unwrap(),
            ("localhost:5000/app:v2", "/srv/x")
        );
        assert!(split_source("nginx:etc").is_err());
        assert!(split_source(":/etc").is_err());
    }
}
