//! The container record: a fixed creation spec (what the user asked for, fully
//! resolved at `create`) and mutable state (what happened since). The spec is
//! stored as JSON in `containers.config` and changes after creation only
//! by `update` (resources, restart policy); state lives in plain columns so `ps` reads it without parsing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_store::rusqlite::{self, params, OptionalExtension, Row};
use berth_store::Store;
use serde::{Deserialize, Serialize};

use crate::config::{RestartPolicy, SecurityOptions};
use crate::health::{Health, HealthConfig};
use crate::logs::LogConfig;
use crate::ContainerError;

/// Everything fixed at `create` (but for `rename`, and the resources and
/// restart policy `update` changes). Field names follow Docker's Config/HostConfig.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSpec {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub tty: bool,
    pub open_stdin: bool,
    /// Config.StdinOnce: the container's stdin is closed when the first
    /// client attached to it ends (detaches, closes its input or goes away).
    #[serde(default)]
    pub stdin_once: bool,
    /// Config.AttachStdin/Stdout/Stderr: the streams the client said it
    /// attaches (false for a detached run). A record, as in Docker: an
    /// attach names its own streams.
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    pub env: Vec<String>,
    /// Config.Cmd: the user's command, or the image's CMD when none was given.
    pub cmd: Vec<String>,
    /// Config.Entrypoint: `--entrypoint` or the image's ENTRYPOINT.
    pub entrypoint: Vec<String>,
    pub working_dir: String,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    /// Config.Volumes of the image (the `VOLUME` paths).
    pub image_volumes: Vec<String>,
    /// The image's exposed ports ("80/tcp") plus `--expose`.
    pub exposed_ports: Vec<String>,
    /// The process actually run: Path + Args, as Docker reports them.
    pub path: String,
    pub args: Vec<String>,
    pub host: HostSpec,
    /// Mounts resolved at create, in the order they are applied (by destination).
    pub mounts: Vec<MountPoint>,
    /// Config.Healthcheck: the request's merged with the image's (`None`:
    /// neither has one).
    #[serde(default)]
    pub healthcheck: Option<HealthConfig>,
    /// Config.Shell: the image's `SHELL`, which `CMD-SHELL` checks run
    /// through (empty: `/bin/sh -c`).
    #[serde(default)]
    pub shell: Vec<String>,
    /// HostConfig.ConsoleSize: the terminal's first [rows, columns] (with
    /// `tty`; zero: the runtime's default until a client resizes it).
    #[serde(default)]
    pub console_size: [u16; 2],
}

/// Docker's HostConfig subset that berth implements.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostSpec {
    pub auto_remove: bool,
    pub restart_policy: RestartPolicy,
    pub privileged: bool,
    pub read_only_rootfs: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt` as given (Docker's HostConfig.SecurityOpt).
    pub security_opt: Vec<String>,
    /// What `security_opt` means, parsed at create.
    #[serde(default)]
    pub security: SecurityOptions,
    pub memory: i64,
    pub nano_cpus: i64,
    pub pids_limit: Option<i64>,
    pub ulimits: Vec<Ulimit>,
    pub init: bool,
    pub network_mode: String,
    pub shm_size: u64,
    /// `-v` strings as given (Docker's HostConfig.Binds).
    pub binds: Vec<String>,
    /// `--mount`s / `HostConfig.Mounts` as given (shown back by inspect).
    #[serde(default)]
    pub mounts: Vec<berth_volume::spec::MountRequest>,
    /// `--tmpfs` destinations and options (HostConfig.Tmpfs).
    pub tmpfs: BTreeMap<String, String>,
    pub volumes_from: Vec<String>,
    pub dns: Vec<String>,
    pub extra_hosts: Vec<String>,
    /// `-p` bindings (HostConfig.PortBindings); host port 0 = any free port.
    #[serde(default)]
    pub port_bindings: Vec<berth_network::PortBinding>,
    /// `-P` (HostConfig.PublishAllPorts).
    #[serde(default)]
    pub publish_all_ports: bool,
    /// What the container asks of its endpoint on the network mode's network:
    /// `--network-alias`, `--ip`, `--ip6`, `--mac-address`,
    /// `--link-local-ip`, links and driver options on a user network.
    #[serde(default)]
    pub endpoint: berth_network::EndpointSettings,
    /// `--link NAME:ALIAS` on the default bridge (HostConfig.Links, as given):
    /// /etc/hosts entries and Docker's link environment variables.
    #[serde(default)]
    pub links: Vec<String>,
    /// `--dns-search` and `--dns-option`: resolv.conf's `search` and `options`.
    #[serde(default)]
    pub dns_search: Vec<String>,
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// Config.NetworkDisabled: only `lo`, whatever the network mode.
    #[serde(default)]
    pub network_disabled: bool,
    /// The OCI runtime the container was created with (HostConfig.Runtime:
    /// `runc`, `crun`, `youki` or a path); every later operation uses it.
    /// Records from before it was stored were all run by runc.
    #[serde(default = "default_runtime")]
    pub runtime: String,
    /// HostConfig.LogConfig: the request's driver and options merged with
    /// the daemon's defaults, checked at create.
    #[serde(default = "LogConfig::json_file")]
    pub log_config: LogConfig,
    /// Cgroup settings beyond memory, CPUs and pids (CpuShares, Cpuset*,
    /// MemorySwap, DeviceCgroupRules...); `update` changes them.
    #[serde(flatten)]
    pub resources: berth_runtime::Resources,
    /// PidMode, UTSMode, GroupAdd, Isolation, VolumeDriver.
    #[serde(flatten)]
    pub modes: crate::HostModes,
    /// HostConfig.MaskedPaths and ReadonlyPaths: what an unprivileged
    /// container sees masked (an empty file or directory) and read-only;
    /// `None`: berth's lists (Docker's). A privileged container has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_paths: Option<Vec<String>>,
}

fn default_runtime() -> String {
    "runc".to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Volume,
    Bind,
    Tmpfs,
    /// An image's content, read-only (`--mount type=image`); its layers are
    /// held by `container_image_mounts` rows (berth_image::mounts).
    Image,
}

/// One mount of the container, as Docker's inspect `Mounts` shows it, plus what
/// berth needs to set it up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    pub kind: MountKind,
    /// Volume name ("" for binds and tmpfs); an image mount's image as named.
    pub name: String,
    /// Host path: the volume's `_data`, the bind source, "" for tmpfs and
    /// image mounts (mounted in the container's mount namespace only).
    pub source: PathBuf,
    pub destination: String,
    pub driver: String,
    pub mode: String,
    pub rw: bool,
    pub propagation: String,
    /// Fill an empty volume from the image at first mount (Docker's copy-up).
    pub copy_up: bool,
    pub anonymous: bool,
    /// tmpfs mount options (size=..., mode=...).
    pub tmpfs_options: Vec<String>,
    /// A bind of the source alone, without the mounts below it
    /// (`bind-nonrecursive`, `BindOptions.NonRecursive`).
    #[serde(default)]
    pub non_recursive: bool,
    /// A read-only bind read-only on its own mount only: its submounts stay
    /// writable (`ReadOnlyNonRecursive`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only_non_recursive: bool,
    /// A volume's (or image's) subpath mounted instead of its root (relative, cleaned).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
    Removing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Dead => "dead",
            Status::Removing => "removing",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "exited" => Status::Exited,
            "dead" => Status::Dead,
            "removing" => Status::Removing,
            _ => return None,
        })
    }

    /// A monitor is supposed to exist in these states.
    pub fn has_monitor(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Mutable state of a container.
#[derive(Debug, Clone)]
pub struct State {
    pub status: Status,
    pub pid: i32,
    pub monitor_pid: i32,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    pub restart_count: i64,
    pub stopped_by_user: bool,
    /// State.Health: `None` until a run with an active healthcheck starts.
    pub health: Option<Health>,
}

impl State {
    /// A container's state when it is created.
    pub fn created() -> State {
        State {
            status: Status::Created,
            pid: 0,
            monitor_pid: 0,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: berth_store::ZERO_TIME.to_string(),
            finished_at: berth_store::ZERO_TIME.to_string(),
            restart_count: 0,
            stopped_by_user: false,
            health: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub image_ref: String,
    pub created_at: String,
    pub spec: ContainerSpec,
    pub state: State,
}

const COLUMNS: &str =
    "id, name, image_id, image_ref, created_at, config, status, pid, monitor_pid, \
     exit_code, oom_killed, error, started_at, finished_at, restart_count, stopped_by_user, health";

/// A row as read: the container with its spec, status and health still to
/// decode.
struct RawRow {
    container: Container,
    config: String,
    status: String,
    health: String,
}

fn from_row(row: &Row) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        container: Container {
            id: row.get(0)?,
            name: row.get(1)?,
            image_id: row.get(2)?,
            image_ref: row.get(3)?,
            created_at: row.get(4)?,
            spec: ContainerSpec::default(),
            state: State {
                status: Status::Created,
                pid: row.get(7)?,
                monitor_pid: row.get(8)?,
                exit_code: row.get(9)?,
                oom_killed: row.get(10)?,
                error: row.get(11)?,
                started_at: row.get(12)?,
                finished_at: row.get(13)?,
                restart_count: row.get(14)?,
                stopped_by_user: row.get(15)?,
                health: None,
            },
        },
        config: row.get(5)?,
        status: row.get(6)?,
        health: row.get(16)?,
    })
}

fn decode(row: RawRow) -> Result<Container, ContainerError> {
    let RawRow {
        container: mut c,
        config,
        status,
        health,
    } = row;
    c.spec = serde_json::from_str(&config).map_err(|e| ContainerError::Corrupt {
        id: c.id.clone(),
        reason: e.to_string(),
    })?;
    c.state.status = parse_status(&c.id, &status)?;
    c.state.health = parse_health(&c.id, &health)?;
    Ok(c)
}

/// A health column's value: "" for none, else `State.Health`'s JSON.
pub(crate) fn parse_health(id: &str, text: &str) -> Result<Option<Health>, ContainerError> {
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| ContainerError::Corrupt {
            id: id.to_string(),
            reason: format!("health: {e}"),
        })
}

/// A status column's value; anything else is corruption, never a guess.
pub(crate) fn parse_status(id: &str, text: &str) -> Result<Status, ContainerError> {
    Status::parse(text).ok_or_else(|| ContainerError::Corrupt {
        id: id.to_string(),
        reason: format!("unknown status {text:?}"),
    })
}

impl Container {
    /// `containers/<id>/`: writable layer, bundle, logs and monitor files.
    pub fn dir(&self, store: &Store) -> PathBuf {
        container_dir(store, &self.id)
    }

    /// Docker shows names with a leading slash in inspect.
    pub fn slash_name(&self) -> String {
        format!("/{}", self.name)
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
}

pub fn container_dir(store: &Store, id: &str) -> PathBuf {
    store.containers_dir().join(id)
}

/// Paths inside a container's directory.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
    /// The init layer: mount-point placeholders between image and `diff/`.
    pub init: PathBuf,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub rootfs: PathBuf,
    pub bundle_config: PathBuf,
    pub log: PathBuf,
    pub monitor_lock: PathBuf,
    /// Present from a run's recorded exit until its monitor has torn it
    /// down (runtime state, network, volumes, rootfs); one left behind by
    /// a monitor that died tells the next command to finish the job.
    pub teardown_pending: PathBuf,
    pub attach_socket: PathBuf,
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
    /// The `/dev/shm` tmpfs of a shareable IPC namespace (`--ipc shareable`),
    /// mounted while the container runs, so others can join it.
    pub shm: PathBuf,
    /// Staging mount points of volume subpaths (one per mount, by index),
    /// bound from a descriptor for the runtime and undone once it has
    /// created the container.
    pub subpaths: PathBuf,
}

impl Paths {
    pub fn new(dir: &Path, id: &str) -> Paths {
        Paths {
            dir: dir.to_path_buf(),
            init: dir.join("init"),
            upper: dir.join("diff"),
            work: dir.join("work"),
            rootfs: dir.join("merged"),
            bundle_config: dir.join("config.json"),
            log: dir.join(format!("{id}-json.log")),
            monitor_lock: dir.join("monitor.lock"),
            teardown_pending: dir.join("teardown.pending"),
            attach_socket: dir.join("attach.sock"),
            hosts: dir.join("hosts"),
            hostname: dir.join("hostname"),
            resolv_conf: dir.join("resolv.conf"),
            shm: dir.join("shm"),
            subpaths: dir.join("subpaths"),
        }
    }

    pub fn of(store: &Store, id: &str) -> Paths {
        Paths::new(&container_dir(store, id), id)
    }
}

/// Looks a container up as Docker does: full ID, then exact name, then a unique
/// ID prefix.
pub fn find(store: &Store, reference: &str) -> Result<Container, ContainerError> {
    let name = reference.strip_prefix('/').unwrap_or(reference);
    let db = store.db();
    let by_id_or_name = db
        .query_row(
            &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1 OR name = ?2 ORDER BY id = ?1 DESC LIMIT 1"),
            params![reference, name],
            from_row,
        )
        .optional()?;
    if let Some(found) = by_id_or_name {
        return decode(found);
    }
    if !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut stmt = db.prepare(&format!(
            "SELECT {COLUMNS} FROM containers WHERE id >= ?1 AND id < ?1 || 'g' LIMIT 2"
        ))?;
        let mut rows: Vec<_> = stmt
            .query_map([reference.to_ascii_lowercase()], from_row)?
            .collect::<Result<_, _>>()?;
        match rows.len() {
            1 => return decode(rows.remove(0)),
            0 => {}
            _ => {
                return Err(ContainerError::Ambiguous(reference.to_string()));
            }
        }
    }
    Err(ContainerError::NotFound(reference.to_string()))
}

/// A container's status alone, by full ID (what a monitor checks before a
/// healthcheck).
pub fn status(store: &Store, id: &str) -> Result<Status, ContainerError> {
    let text: Option<String> = store
        .db()
        .query_row("SELECT status FROM containers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match text {
        Some(text) => parse_status(id, &text),
        None => Err(ContainerError::NotFound(id.to_string())),
    }
}

/// Every container, newest first (as `ps` lists them).
pub fn list(store: &Store) -> Result<Vec<Container>, ContainerError> {
    let mut stmt = store.db().prepare_cached(&format!(
        "SELECT {COLUMNS} FROM containers ORDER BY created_at DESC, rowid DESC"
    ))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(decode).collect()
}

/// Re-reads a container's state columns.
pub fn reload(store: &Store, c: &mut Container) -> Result<(), ContainerError> {
    *c = find(store, &c.id)?;
    Ok(())
}

/// Inserts a new container with its layer and volume references in one
/// transaction. A name already taken is reported as Docker does; a volume
/// (in `volumes_dir`) whose removal has begun is refused (the write lock
/// orders this with `volume rm`'s first transaction).
pub fn insert(
    tx: &rusqlite::Transaction,
    c: &Container,
    layer_chain_ids: &[String],
    volumes_dir: &Path,
) -> Result<(), ContainerError> {
    let taken: Option<String> = tx
        .query_row(
            "SELECT id FROM containers WHERE name = ?1",
            [&c.name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = taken {
        return Err(ContainerError::NameInUse {
            name: c.name.clone(),
            id: other,
        });
    }
    let config = serde_json::to_string(&c.spec).map_err(|e| ContainerError::Corrupt {
        id: c.id.clone(),
        reason: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO containers (id, name, image_id, image_ref, created_at, config, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'created')",
        params![c.id, c.name, c.image_id, c.image_ref, c.created_at, config],
    )?;
    for (position, chain_id) in layer_chain_ids.iter().enumerate() {
        tx.execute(
            "INSERT INTO container_layers (container_id, position, chain_id) VALUES (?1, ?2, ?3)",
            params![c.id, position as i64, chain_id],
        )?;
    }
    for m in c.spec.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        berth_volume::refuse_removing(volumes_dir, &m.name)?;
        tx.execute(
            "INSERT INTO container_volumes (container_id, destination, volume_name) VALUES (?1, ?2, ?3)",
            params![c.id, m.destination, m.name],
        )?;
    }
    Ok(())
}

/// Stores a container's changed spec (`update`: resources and restart
/// policy) with Docker's `update` event.
pub fn save_spec(store: &mut Store, c: &Container) -> Result<(), ContainerError> {
    save(store, c, true)
}

/// Stores a container's changed spec without an event (Docker emits none
/// when `rm --link` drops a link).
pub fn save_spec_quietly(store: &mut Store, c: &Container) -> Result<(), ContainerError> {
    save(store, c, false)
}

fn save(store: &mut Store, c: &Container, event: bool) -> Result<(), ContainerError> {
    let config = serde_json::to_string(&c.spec).map_err(|e| ContainerError::Corrupt {
        id: c.id.clone(),
        reason: e.to_string(),
    })?;
    store.write(|tx| {
        tx.execute(
            "UPDATE containers SET config=?2 WHERE id=?1",
            params![c.id, config],
        )?;
        if !event {
            return Ok(());
        }
        berth_store::events::append(
            tx,
            &berth_store::events::NewEvent {
                kind: berth_store::events::EventType::Container,
                action: "update",
                actor: &c.id,
                attributes: c.event_attributes(),
            },
        )
    })?;
    Ok(())
}

/// Everything under a container's writable layer, top-most first: its init
/// layer, then its image's layers (what overlayfs gets as lowerdirs).
pub fn rootfs_lowers(store: &Store, id: &str) -> Result<Vec<PathBuf>, ContainerError> {
    let init = Paths::of(store, id).init;
    let mut lowers = Vec::new();
    // Containers created before init layers existed have none.
    if init.is_dir() {
        lowers.push(init);
    }
    lowers.extend(lower_dirs(store, id)?);
    Ok(lowers)
}

/// The mount points the runtime needs in every rootfs. Docker keeps them in a
/// per-container init layer so that they never show in `diff` or `commit`.
pub const INIT_DIRS: &[&str] = &["dev", "proc", "sys", "etc"];
pub const INIT_FILES: &[&str] = &["etc/hosts", "etc/hostname", "etc/resolv.conf"];

/// Makes a new container's directories in `staged.dir` (an empty
/// directory): the init layer with its placeholders, `diff/`, `work/` and
/// `merged/`.
pub fn make_container_dirs(staged: &Paths) -> Result<(), ContainerError> {
    use std::os::unix::fs::DirBuilderExt;
    for dir in [&staged.init, &staged.upper, &staged.work, &staged.rootfs] {
        std::fs::create_dir(dir).map_err(|e| ContainerError::io(dir, e))?;
    }
    let dir = &staged.init;
    for d in INIT_DIRS {
        let path = dir.join(d);
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&path)
            .map_err(|e| ContainerError::io(&path, e))?;
    }
    for f in INIT_FILES {
        let path = dir.join(f);
        std::fs::File::create(&path).map_err(|e| ContainerError::io(&path, e))?;
    }
    Ok(())
}

/// The unpacked image layer directories of a container, top-most first.
pub fn lower_dirs(store: &Store, id: &str) -> Result<Vec<PathBuf>, ContainerError> {
    let mut stmt = store.db().prepare_cached(
        "SELECT l.dir FROM container_layers cl JOIN layers l ON l.chain_id = cl.chain_id \
         WHERE cl.container_id = ?1 ORDER BY cl.position DESC",
    )?;
    let dirs = stmt
        .query_map([id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let layers = store.layers_dir();
    Ok(dirs.into_iter().map(|d| layers.join(d)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_from_before_the_runtime_was_stored_were_run_by_runc() {
        let mut json = serde_json::to_value(HostSpec::default()).unwrap();
        json.as_object_mut().unwrap().remove("Runtime").unwrap();
        let host: HostSpec = serde_json::from_value(json).unwrap();
        assert_eq!(host.runtime, "runc");
    }
}
