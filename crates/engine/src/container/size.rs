//! A container's size, one way for every front end (`ps -s`, `inspect -s`,
//! `system df`, the API's `size=1` and `/system/df`):
//! * **SizeRw** — the bytes of its writable layer (`containers/ID/diff`),
//!   counted as `du` counts them (allocated blocks, hard links once);
//! * **SizeRootFs** — SizeRw plus the size of its image (the sum of the image's
//!   layers), as dockerd adds the layer chain's size to the writable layer's.

use berth_container::model::{Container, Paths};
use berth_error::{ErrorKind, HasKind};
use berth_store::Store;

use crate::{Engine, Result};

/// SizeRw and SizeRootFs of one container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerSize {
    pub rw: u64,
    pub root_fs: u64,
}

/// The size of `c`. A writable layer or an image that is gone (the container
/// was removed meanwhile, the image deleted with `rmi -f`) counts as 0.
pub fn size(store: &Store, c: &Container) -> Result<ContainerSize> {
    let upper = Paths::of(store, &c.id).upper;
    let rw = if upper.exists() {
        berth_archive::disk_usage(&upper)?
    } else {
        0
    };
    let image = match berth_image::size(store, &c.image_id) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(ContainerSize {
        rw,
        root_fs: rw + image,
    })
}

impl Engine {
    /// The size of `c` (see [`size`]).
    pub fn container_size(&self, c: &Container) -> Result<ContainerSize> {
        size(&self.store, c)
    }
}

#[cfg(test)]
mod tests {
    use berth_container::model::State;
    use berth_container::Status;

    use super::*;

    /// An image of one 10 000-byte file.
    fn image(store: &mut Store) -> String {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(10_000);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, "data", &[7u8; 10_000][..])
            .unwrap();
        let bytes = tar.into_inner().unwrap();
        berth_image::import(store, bytes.as_slice(), &Default::default()).unwrap()
    }

    fn container(image_id: &str) -> Container {
        Container {
            id: "c".repeat(64),
            name: "c".into(),
            image_id: image_id.into(),
            image_ref: "img".into(),
            created_at: String::new(),
            spec: Default::default(),
            state: State {
                status: Status::Created,
                pid: 0,
                monitor_pid: 0,
                exit_code: 0,
                oom_killed: false,
                error: String::new(),
                started_at: String::new(),
                finished_at: String::new(),
                restart_count: 0,
                stopped_by_user: false,
                health: None,
            },
        }
    }

    #[test]
    fn root_fs_is_the_writable_layer_plus_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("root")).unwrap();
        let id = image(&mut store);
        let c = container(&id);
        // No writable layer (yet, or any more): the image's size alone.
        assert_eq!(
            size(&store, &c).unwrap(),
            ContainerSize {
                rw: 0,
                root_fs: 10_000
            }
        );
        let upper = Paths::of(&store, &c.id).upper;
        std::fs::create_dir_all(&upper).unwrap();
        std::fs::write(upper.join("written"), vec![1u8; 5000]).unwrap();
        let with_layer = size(&store, &c).unwrap();
        // As `du` counts it: whole blocks, the directory included.
        assert_eq!(with_layer.rw, berth_archive::disk_usage(&upper).unwrap());
        assert!(with_layer.rw >= 5000, "{with_layer:?}");
        assert_eq!(with_layer.root_fs, with_layer.rw + 10_000);
        // The image deleted (`rmi -f`): only the writable layer is left.
        berth_image::remove(&mut store, &id, true).unwrap();
        assert_eq!(size(&store, &c).unwrap().root_fs, with_layer.rw);
    }
}
