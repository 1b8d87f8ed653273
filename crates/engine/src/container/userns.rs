//! `--userns` at create: the mode checked and, for `auto`, berth's pool of
//! subordinate ids read and a range taken in the transaction that inserts
//! the container (`berth_container::userns`).
//!
//! The pool is what `/etc/subuid` and `/etc/subgid` give the user `berth`
//! (podman's is `containers`); daemon.json's `userns-auto-user` names
//! another. The user needs no passwd entry: only its subordinate ids are
//! used. A missing entry refuses the container before anything is created.

use std::path::Path;

use berth_container::model::HostSpec;
use berth_container::userns::{self, Pool, Range, UsernsMode};
use berth_container::{ContainerError, Result};

/// The user whose subordinate ids `--userns=auto` hands out by default.
const DEFAULT_POOL_USER: &str = "berth";
const SUBUID: &str = "/etc/subuid";
const SUBGID: &str = "/etc/subgid";

/// A range to record at commit.
#[derive(Debug)]
pub(crate) enum PlannedRange {
    /// `auto`: its size, the pool it comes from, and the pool's host-wide
    /// lock (held until the container's row committed).
    Auto {
        size: u32,
        pool: Pool,
        lock: super::userns_pool::PoolLock,
    },
    /// `map:`: the ids it names.
    Fixed(Range),
}

/// Checks the container's `--userns` (normalizing `host` to Docker's `""`)
/// and, for `auto`, that the pool can hold a range of the size asked; then
/// takes the pool's host-wide lock for the root at `root`.
pub(crate) fn plan(root: &Path, host: &mut HostSpec) -> Result<Option<PlannedRange>> {
    let mode = UsernsMode::parse(&host.modes.userns_mode)?;
    if mode == UsernsMode::Host {
        host.modes.userns_mode.clear();
        return Ok(None);
    }
    refuse_rootless(&host.modes.userns_mode)?;
    check_kernel(&host.modes.userns_mode)?;
    let size = match mode {
        UsernsMode::Auto { size } => size,
        UsernsMode::Map(range) => return Ok(Some(PlannedRange::Fixed(range))),
        UsernsMode::Host | UsernsMode::KeepId => return Ok(None),
    };
    let user = pool_user()?;
    let pool = Pool {
        uids: entries(Path::new(SUBUID), &user)?,
        gids: entries(Path::new(SUBGID), &user)?,
    };
    for (file, extents) in [(SUBUID, &pool.uids), (SUBGID, &pool.gids)] {
        if !extents.iter().any(|(_, count)| *count >= size) {
            return Err(ContainerError::InvalidArgument(format!(
                "--userns=auto:size={size}: no entry for user \"{user}\" in {file} holds {size} ids"
            )));
        }
    }
    let lock = super::userns_pool::lock(root)?;
    Ok(Some(PlannedRange::Auto { size, pool, lock }))
}

/// Refuses every mode but `host` in a rootless berth. `auto` would need a
/// pool beyond the user's own subordinate range, which its berth's
/// namespace already maps whole, and idmapping the image's layers needs
/// root on the host (an idmapped mount of a host filesystem is for the
/// initial namespace's root); podman honours rootless `auto` by chowning a
/// copy of the image per range, which berth does not do. `keep-id` would
/// need every host id in the namespace.
fn refuse_rootless(mode: &str) -> Result<()> {
    if !crate::rootless::active() {
        return Ok(());
    }
    Err(ContainerError::InvalidArgument(format!(
        "--userns={mode} refused: rootless berth's containers run in the user's own namespace \
         (its subordinate ids, all of them already mapped), and it has no pool of ids or idmapped \
         layers to give a container a range of its own; run it as root, or leave --userns unset"
    )))
}

/// Refuses a namespaced container where the kernel gives no user
/// namespaces (`user.max_user_namespaces` is 0 in this namespace), naming
/// the setting: the OCI runtime would fail at start with a bare errno.
fn check_kernel(mode: &str) -> Result<()> {
    match berth_mount::user_namespaces_unavailable() {
        Some(why) => Err(ContainerError::InvalidArgument(format!(
            "--userns={mode} needs a user namespace, and {why}"
        ))),
        None => Ok(()),
    }
}

/// Takes the planned range for container `id` (inside its insert's
/// transaction: the range and the row commit or vanish together): `auto`'s
/// free in this root and every other, `map:`'s as named.
pub(crate) fn record(
    tx: &berth_store::rusqlite::Transaction,
    id: &str,
    planned: &Option<PlannedRange>,
) -> Result<()> {
    match planned {
        Some(PlannedRange::Auto { size, pool, lock }) => {
            let elsewhere = super::userns_pool::held_elsewhere(lock)?;
            userns::allocate(tx, id, pool, *size, &elsewhere)?;
        }
        Some(PlannedRange::Fixed(range)) => userns::record_fixed(tx, id, range)?,
        None => {}
    }
    Ok(())
}

/// How container `id`'s files' host owners shift to the ids it sees: its
/// `--userns=auto` range (`None` in the host's ids, and for `keep-id`,
/// which maps every id to itself). `cp`, `export` and `commit` carry ids
/// as the container sees them, as they do for any other container.
pub(crate) fn id_shift(
    db: &berth_store::rusqlite::Connection,
    id: &str,
) -> Result<Option<berth_archive::IdShift>> {
    Ok(userns::range(db, id)?.map(|r| berth_archive::IdShift {
        uid_start: r.uid_start,
        gid_start: r.gid_start,
        size: r.size,
    }))
}

/// daemon.json's `userns-auto-user`, else `berth`.
fn pool_user() -> Result<String> {
    let path = berth_registry::daemon_config_path();
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DEFAULT_POOL_USER.into()),
        Err(e) => return Err(ContainerError::io(&path, e)),
    };
    let config: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| ContainerError::InvalidArgument(format!("{}: {e}", path.display())))?;
    match config.get("userns-auto-user") {
        None => Ok(DEFAULT_POOL_USER.into()),
        Some(serde_json::Value::String(user)) if !user.is_empty() => Ok(user.clone()),
        Some(other) => Err(ContainerError::InvalidArgument(format!(
            "{}: \"userns-auto-user\" must be a user name, not {other}",
            path.display()
        ))),
    }
}

/// `user`'s `NAME:START:COUNT` lines of `file` (subuid(5)).
fn entries(file: &Path, user: &str) -> Result<Vec<(u32, u32)>> {
    let missing = || {
        ContainerError::InvalidArgument(format!(
            "--userns=auto needs subordinate ids for user \"{user}\": {} has no \"{user}:START:COUNT\" entry (add one to /etc/subuid and /etc/subgid, e.g. \"{user}:2147483647:2147483648\")",
            file.display()
        ))
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(ContainerError::io(file, e)),
    };
    let found: Vec<(u32, u32)> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.trim().splitn(3, ':');
            let (name, start, count) = (fields.next()?, fields.next()?, fields.next()?);
            (name == user).then_some(())?;
            Some((start.parse().ok()?, count.parse().ok()?))
        })
        .filter(|(start, count): &(u32, u32)| *count > 0 && start.checked_add(*count).is_some())
        .collect();
    if found.is_empty() {
        return Err(missing());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_the_users_lines_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("subuid");
        std::fs::write(
            &file,
            "alice:100000:65536\nberth:1000000:500000\nberth:bad:1\n",
        )
        .unwrap();
        assert_eq!(entries(&file, "berth").unwrap(), vec![(1_000_000, 500_000)]);
        let err = entries(&file, "nobody-here").unwrap_err().to_string();
        assert!(err.contains("\"nobody-here:START:COUNT\""), "{err}");
        assert!(err.contains(&file.display().to_string()), "{err}");
    }
}
