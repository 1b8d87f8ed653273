//! The path to a user-namespaced container's bundle, for its root alone.
//!
//! The OCI runtime mounts the rootfs, `/etc/hosts` and the staged binds as
//! the container's root (a host uid from berth's pool), which must traverse
//! the state root (`0710 root:root`), `containers/` and the container's
//! directory (`0700`). Each gets a POSIX ACL entry `user:UID:--x` for that uid
//! while the container exists (granted at each start, revoked at `rm`):
//! traversal only, for that uid only, and the modes the store checks stay
//! as they are (the ACL mask is `--x`, shown as the group bits of `0710`).
//! An `rm` killed after its row went leaves an entry naming a uid no
//! container holds: the next command's [`revoke_stale`] (from
//! `Engine::open`) takes it back.
//!
//! An ACL is one xattr, read, changed and written back whole: two commands
//! doing so at once (two starts, a start and an `rm`, a start and another
//! command's sweep) would each write back what they read, losing the
//! other's change. Every read-change-write here runs under [`AclLock`], an
//! exclusive `flock` on the state root directory itself (nothing else locks
//! it), which the kernel drops with the process however it ends. A revoke
//! under it takes an entry back only if no container of the root holds its
//! uid any longer (a range freed by one `rm` may be taken by the next
//! create before that `rm` revokes).

use std::path::Path;

use berth_container::{ContainerError, Result};

const XATTR: &str = "system.posix_acl_access";
const VERSION: u32 = 2;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
const NO_ID: u32 = u32::MAX;
const EXECUTE: u16 = 1;

/// `(tag, perm, id)` entries of a directory's access ACL (its mode as an
/// ACL when it has none).
fn read(dir: &Path) -> Result<Vec<(u16, u16, u32)>> {
    let mut buf = vec![0u8; 4096];
    match rustix::fs::getxattr(dir, XATTR, &mut buf) {
        Ok(n) => {
            let body = buf.get(4..n).unwrap_or_default();
            Ok(body
                .chunks_exact(8)
                .map(|e| {
                    (
                        u16::from_le_bytes([e[0], e[1]]),
                        u16::from_le_bytes([e[2], e[3]]),
                        u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
                    )
                })
                .collect())
        }
        Err(rustix::io::Errno::NODATA) => {
            use std::os::unix::fs::MetadataExt;
            let mode = std::fs::metadata(dir)
                .map_err(|e| ContainerError::io(dir, e))?
                .mode() as u16;
            Ok(vec![
                (USER_OBJ, (mode >> 6) & 7, NO_ID),
                (GROUP_OBJ, (mode >> 3) & 7, NO_ID),
                (OTHER, mode & 7, NO_ID),
            ])
        }
        Err(e) => Err(ContainerError::io(dir, e.into())),
    }
}

fn write(dir: &Path, mut entries: Vec<(u16, u16, u32)>) -> Result<()> {
    entries.retain(|e| e.0 != MASK);
    let group_class = entries
        .iter()
        .filter(|e| matches!(e.0, USER | GROUP))
        .count();
    if group_class > 0 {
        let mask = entries
            .iter()
            .filter(|e| matches!(e.0, USER | GROUP | GROUP_OBJ))
            .fold(0, |m, e| m | e.1);
        entries.push((MASK, mask, NO_ID));
    }
    entries.sort_by_key(|e| (e.0, e.2));
    let mut bytes = VERSION.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        bytes.extend(tag.to_le_bytes());
        bytes.extend(perm.to_le_bytes());
        bytes.extend(id.to_le_bytes());
    }
    rustix::fs::setxattr(dir, XATTR, &bytes, rustix::fs::XattrFlags::empty())
        .map_err(|e| ContainerError::io(dir, e.into()))
}

/// An exclusive `flock` on the state root directory, held while its
/// shared directories' ACLs are read and rewritten; released when dropped.
struct AclLock {
    _dir: std::fs::File,
}

impl AclLock {
    fn acquire(root: &Path) -> Result<AclLock> {
        let dir = std::fs::File::open(root).map_err(|e| ContainerError::io(root, e))?;
        loop {
            match rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => return Ok(AclLock { _dir: dir }),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(ContainerError::io(root, e.into())),
            }
        }
    }
}

/// Lets `uid` traverse the state root, `containers/` and `container_dir`.
pub(crate) fn grant(root: &Path, container_dir: &Path, uid: u32) -> Result<()> {
    let _lock = AclLock::acquire(root)?;
    for dir in [root, &root.join("containers"), container_dir] {
        let mut entries = read(dir)?;
        if entries.contains(&(USER, EXECUTE, uid)) {
            continue;
        }
        entries.retain(|e| !(e.0 == USER && e.2 == uid));
        entries.push((USER, EXECUTE, uid));
        write(dir, entries)?;
    }
    Ok(())
}

/// Takes back every entry on the shared directories whose uid is the
/// first of no range a container of this root holds: at `rm` once the
/// row is gone (a pod's other containers may hold the same ids), and at
/// open (what an `rm` killed between its row's delete and the revoke
/// left). The container's own directory goes with it. Writes only when
/// one is found.
pub(crate) fn revoke_stale(store: &berth_store::Store) -> Result<()> {
    revoke_unheld(store.root(), || {
        berth_container::userns::held_uids(store.db())
    })
}

/// [`revoke_stale`] with the held uids from `held_uids` (read only when an
/// entry is found).
fn revoke_unheld(root: &Path, held_uids: impl Fn() -> Result<Vec<u32>>) -> Result<()> {
    let containers = root.join("containers");
    // Most roots have no entry at all: only a root with one takes the lock.
    let has_entry = |dir: &Path| read(dir).is_ok_and(|e| e.iter().any(|e| e.0 == USER));
    if !has_entry(root) && !has_entry(&containers) {
        return Ok(());
    }
    let _lock = AclLock::acquire(root)?;
    let mut held: Option<Vec<u32>> = None;
    for dir in [root, containers.as_path()] {
        let mut entries = match read(dir) {
            Ok(entries) => entries,
            Err(_) if !dir.exists() => continue,
            Err(e) => return Err(e),
        };
        if !entries.iter().any(|e| e.0 == USER) {
            continue;
        }
        let held = match &held {
            Some(held) => held,
            None => held.insert(held_uids()?),
        };
        let before = entries.len();
        entries.retain(|e| e.0 != USER || held.contains(&e.2));
        if entries.len() != before {
            write(dir, entries)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn a_grant_lets_the_uid_traverse_and_keeps_the_mode_until_revoked() {
        let root = tempfile::tempdir().unwrap();
        let containers = root.path().join("containers");
        let dir = containers.join("c1");
        std::fs::create_dir_all(&dir).unwrap();
        for (d, mode) in [
            (root.path(), 0o710),
            (containers.as_path(), 0o700),
            (dir.as_path(), 0o700),
        ] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        grant(root.path(), &dir, 3_000_000).unwrap();
        grant(root.path(), &dir, 3_000_000).unwrap();
        let mode = |d: &Path| std::fs::metadata(d).unwrap().mode() & 0o7777;
        assert_eq!(mode(root.path()), 0o710);
        assert!(read(&containers)
            .unwrap()
            .contains(&(USER, EXECUTE, 3_000_000)));
        assert_eq!(
            read(root.path())
                .unwrap()
                .iter()
                .filter(|e| e.0 == USER)
                .count(),
            1
        );
        revoke_unheld(root.path(), || Ok(vec![3_000_000])).unwrap();
        assert!(read(root.path())
            .unwrap()
            .contains(&(USER, EXECUTE, 3_000_000)));
        revoke_unheld(root.path(), || Ok(vec![])).unwrap();
        assert!(!read(root.path()).unwrap().iter().any(|e| e.0 == USER));
        assert_eq!(mode(root.path()), 0o710);
        assert_eq!(mode(&containers), 0o700);
    }

    #[test]
    fn concurrent_grants_and_revokes_lose_none_of_each_others_entries() {
        let root = tempfile::tempdir().unwrap();
        drop(berth_store::Store::open(root.path()).unwrap());
        let threads = 6u32;
        let per_thread = 30u32;
        let held = || -> Vec<u32> {
            (0..threads)
                .flat_map(|t| {
                    (0..per_thread)
                        .step_by(2)
                        .map(move |i| 4_000_000 + t * 1000 + i)
                })
                .collect()
        };
        std::thread::scope(|s| {
            for t in 0..threads {
                let root = root.path();
                s.spawn(move || {
                    let dir = root.join(format!("containers/c{t}"));
                    std::fs::create_dir_all(&dir).unwrap();
                    for i in 0..per_thread {
                        let uid = 4_000_000 + t * 1000 + i;
                        grant(root, &dir, uid).unwrap();
                        if i % 2 == 1 {
                            // Every even uid is held to the end; this odd one is not.
                            revoke_unheld(root, || Ok(held())).unwrap();
                        }
                    }
                });
            }
        });
        let expected: Vec<u32> = (0..threads)
            .flat_map(|t| {
                (0..per_thread)
                    .filter(|i| i % 2 == 0)
                    .map(move |i| 4_000_000 + t * 1000 + i)
            })
            .collect();
        for dir in [root.path().to_path_buf(), root.path().join("containers")] {
            let mut users: Vec<u32> = read(&dir)
                .unwrap()
                .iter()
                .filter(|e| e.0 == USER)
                .map(|e| e.2)
                .collect();
            users.sort_unstable();
            assert_eq!(users, expected, "{}", dir.display());
        }
    }
}
