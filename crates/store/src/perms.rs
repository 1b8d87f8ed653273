//! The state root is private, as Docker's `/var/lib/docker` is: the root is
//! `0710 root:root` and every directory below it that holds content is
//! `0700`, so no other user on the host can list, read or even reach the
//! database (every `-e SECRET=...` is in it), a container's `config.json` and
//! logs, the image layers or a container's root filesystem (whose setuid
//! binaries a host user could otherwise run: CVE-2021-41091).
//!
//! # What is made private, and how
//! * The root: `0710`, owned by root. Group root may traverse it (Docker's
//!   choice, for user-namespace remapping); nobody else may.
//! * `blobs/`, `layers/`, `containers/`, `volumes/`, `tmp/`: `0700`.
//!   These directories are the gate: nothing below them can be reached by
//!   others whatever its own mode, so the modes content needs *inside a
//!   container* stay as they are (a layer's or `diff/`'s directories, a
//!   container's `/etc/hosts`, 0644, which its non-root processes read
//!   through their own mount namespace, never through the host path).
//! * Below the gate, berth's own records are private too (defence in
//!   depth): `berth.db` and its `-wal`/`-shm` files `0600` (SQLite gives the
//!   journal files the database's mode), staging and container directories
//!   `0700` ([`crate::Store::staging_dir`]), `config.json` and logs `0600`.
//!
//! # Tightening roots made by earlier versions
//! Done when a root is opened, cheaply: the root's own mode is the marker.
//! A root already `0710` owned by root was made or tightened by this
//! version, and costs one `stat`. Otherwise the gate directories, the
//! database files and each container's directory and records are tightened
//! (one `chmod` each: no walk of layers or volumes, whose content never
//! needs it behind the gate), and the root's mode is set *last*, so a crash
//! half-way leaves the marker unset and the next open finishes the job.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::StoreError;

/// The root's mode (Docker's for `/var/lib/docker`).
pub const ROOT_MODE: u32 = 0o710;
/// Every directory directly below the root that holds content.
pub const GATES: &[&str] = &["blobs", "layers", "containers", "volumes", "tmp"];
/// Mode of the gates, of staging and container directories.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of the database and of berth's own records (config, logs).
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// The database and the journal files SQLite keeps next to it.
pub const DB_FILES: &[&str] = &["berth.db", "berth.db-wal", "berth.db-shm"];
/// Records a container directory holds that nobody else may read (matched
/// by suffix: the log is `ID-json.log`).
const CONTAINER_RECORDS: &[&str] = &["config.json", "-json.log", "monitor.log"];

/// Makes `root` private (creating it and its gates if needed); a root that
/// already carries the marker costs one `stat`.
pub fn secure_root(root: &Path) -> Result<(), StoreError> {
    if is_secured(root) {
        return Ok(());
    }
    std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, e))?;
    for gate in GATES {
        let dir = root.join(gate);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        set_mode(&dir, PRIVATE_DIR_MODE)?;
    }
    for file in DB_FILES {
        let path = root.join(file);
        if path.exists() {
            set_mode(&path, PRIVATE_FILE_MODE)?;
        }
    }
    tighten_containers(&root.join("containers"))?;
    if running_as_root() {
        std::os::unix::fs::chown(root, Some(0), Some(0)).map_err(|e| StoreError::io(root, e))?;
    }
    set_mode(root, ROOT_MODE)
}

/// Whether `root` carries the marker (its mode and owner).
fn is_secured(root: &Path) -> bool {
    std::fs::metadata(root).is_ok_and(|m| {
        m.mode() & 0o7777 == ROOT_MODE
            && (m.uid() == 0 || !running_as_root())
            && GATES.iter().all(|g| root.join(g).is_dir())
    })
}

/// Each container directory `0700`, its records `0600` (written world-readable
/// by earlier versions).
fn tighten_containers(containers: &Path) -> Result<(), StoreError> {
    let entries = std::fs::read_dir(containers).map_err(|e| StoreError::io(containers, e))?;
    for entry in entries.flatten() {
        let dir = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        set_mode(&dir, PRIVATE_DIR_MODE)?;
        for file in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = file.file_name();
            let name = name.to_string_lossy();
            if CONTAINER_RECORDS.iter().any(|r| name.ends_with(r)) || name.starts_with("exec-") {
                set_mode(&file.path(), PRIVATE_FILE_MODE)?;
            }
        }
    }
    Ok(())
}

/// Creates the database file `0600` before SQLite opens it (SQLite would
/// create it with the process's umask, typically `0644`).
pub fn create_db_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), StoreError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| StoreError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_root_made_by_an_earlier_version_is_tightened_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        // What earlier versions left: a traversable root, world-readable records.
        let container = root.join("containers/abc");
        std::fs::create_dir_all(container.join("diff/etc")).unwrap();
        for gate in GATES {
            std::fs::create_dir_all(root.join(gate)).unwrap();
            set_mode(&root.join(gate), 0o755).unwrap();
        }
        for (file, m) in [
            ("berth.db", 0o644),
            ("berth.db-wal", 0o644),
            ("containers/abc/config.json", 0o644),
            ("containers/abc/abc-json.log", 0o644),
            ("containers/abc/hosts", 0o644),
            ("containers/abc/diff/etc/passwd", 0o644),
        ] {
            std::fs::write(root.join(file), "x").unwrap();
            set_mode(&root.join(file), m).unwrap();
        }
        set_mode(&container, 0o755).unwrap();
        set_mode(&root, 0o701).unwrap();

        secure_root(&root).unwrap();
        assert_eq!(mode(&root), ROOT_MODE);
        for gate in GATES {
            assert_eq!(mode(&root.join(gate)), PRIVATE_DIR_MODE, "{gate}");
        }
        for private in [
            "berth.db",
            "berth.db-wal",
            "containers/abc/config.json",
            "containers/abc/abc-json.log",
        ] {
            assert_eq!(mode(&root.join(private)), PRIVATE_FILE_MODE, "{private}");
        }
        assert_eq!(mode(&container), PRIVATE_DIR_MODE);
        // What the container reads through its own mount namespace keeps its mode.
        assert_eq!(mode(&root.join("containers/abc/hosts")), 0o644);
        assert_eq!(mode(&root.join("containers/abc/diff/etc/passwd")), 0o644);

        // The marker is set: the next open changes nothing, even a mode an
        // administrator chose below the gate.
        set_mode(&root.join("containers/abc/config.json"), 0o640).unwrap();
        secure_root(&root).unwrap();
        assert_eq!(mode(&root.join("containers/abc/config.json")), 0o640);
    }

    #[test]
    fn the_database_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("berth.db");
        create_db_file(&db).unwrap();
        assert_eq!(mode(&db), PRIVATE_FILE_MODE);
        set_mode(&db, 0o644).unwrap();
        create_db_file(&db).unwrap();
        assert_eq!(mode(&db), 0o644, "an existing file is left to secure_root");
    }
}
