//! `create`: a request is validated completely into a [`ContainerSpec`] first;
//! only then are volumes, the container directory and the rows created. If any
//! side effect fails, the ones already done are undone and reported with the
//! original error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_store::events::{self, EventType, NewEvent};
use berth_store::{crash, new_id, now_rfc3339, Store};
use berth_volume::spec::{MountSource, MountSpec};

use berth_container::model::{
    self, Container, ContainerSpec, HostSpec, MountKind, MountPoint, Paths, State,
};
use berth_container::{names, ContainerError, HealthConfig, LogConfig, Result};

use crate::container::create_network::{self, NetworkPlan};

/// What a front end (CLI flags or an API body) asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub image: String,
    /// The command after the image name; `None` keeps the image's CMD.
    pub cmd: Option<Vec<String>>,
    /// `--entrypoint`; `Some(vec![])` resets the image's ENTRYPOINT.
    pub entrypoint: Option<Vec<String>>,
    /// `-e` and `--env-file` entries, already `KEY=VALUE`.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub domainname: String,
    pub labels: BTreeMap<String, String>,
    pub tty: bool,
    pub open_stdin: bool,
    /// Docker's `Config.StdinOnce`.
    pub stdin_once: bool,
    /// Docker's `Config.AttachStdin`/`AttachStdout`/`AttachStderr`: the
    /// streams the client attaches, recorded as given.
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
    pub expose: Vec<String>,
    /// `--health-*` / `Config.Healthcheck`; fields left zero (and an empty
    /// test) take the image's, `["NONE"]` disables the image's.
    pub healthcheck: Option<HealthConfig>,
    /// Config.Shell: the shell of `CMD-SHELL` checks (and of a commit's
    /// image); `None` keeps the image's.
    pub shell: Option<Vec<String>>,
    /// HostConfig.ConsoleSize: [rows, columns] of the first terminal size.
    pub console_size: [u16; 2],
    pub host: HostSpec,
    /// Docker's `NetworkingConfig.EndpointsConfig`, by network name or ID:
    /// when not empty, exactly the networks the container joins (the mode's
    /// one's settings go to `host.endpoint`).
    pub endpoints_config: BTreeMap<String, berth_network::EndpointSettings>,
}

/// A fully validated creation, ready to be committed.
struct Plan {
    container: Container,
    layer_chain_ids: Vec<String>,
    /// Volumes that do not exist yet.
    volumes_to_create: Vec<NewVolume>,
    /// The images of image mounts, by destination (held by the container).
    image_mounts: ImageMounts,
    networks: NetworkPlan,
    /// `--userns=auto`'s or `map:`'s range, taken with the row.
    userns: Option<super::userns::PlannedRange>,
}

/// A volume the container's mounts name that does not exist yet; `--mount`'s
/// `volume-opt`/`volume-label` give it its options and labels, as in Docker.
#[derive(Debug, Clone)]
struct NewVolume {
    name: String,
    /// `local` or a volume plugin's name.
    driver: String,
    anonymous: bool,
    options: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

/// Creates a container and returns it (status `created`). It runs with
/// the OCI runtime `req.host.runtime` names, or `default_runtime`
/// (`Config::default_runtime`) when that is empty, for its whole life.
pub fn create(store: &mut Store, default_runtime: &str, req: CreateRequest) -> Result<Container> {
    create_with_id(store, default_runtime, new_id(), req)
}

/// [`create`] under an ID chosen beforehand (a build marks its step
/// container as its own before the container exists).
pub(crate) fn create_with_id(
    store: &mut Store,
    default_runtime: &str,
    id: String,
    req: CreateRequest,
) -> Result<Container> {
    let plan = plan(store, default_runtime, id, req)?;
    commit(store, plan)
}

impl crate::Engine {
    /// `create`: validates the request completely, then makes the
    /// container (status `created`) and records the `create` event.
    pub fn container_create(&mut self, req: CreateRequest) -> crate::Result<Container> {
        Ok(create(&mut self.store, &self.config.default_runtime, req)?)
    }
}

fn plan(store: &Store, default_runtime: &str, id: String, req: CreateRequest) -> Result<Plan> {
    let image = berth_image::resolve(store, &req.image)?;
    let name = match &req.name {
        Some(n) if !names::is_valid_name(n) => return Err(ContainerError::InvalidName(n.clone())),
        Some(n) => n.trim_start_matches('/').to_string(),
        None => unused_random_name(store)?,
    };
    let mut host = validate_host(req.host.clone())?;
    let networks = create_network::validate(store, &mut host, &req.endpoints_config)?;
    super::settings::validate(store, &mut host, req.hostname.is_some())?;
    let userns = super::userns::plan(store.root(), &mut host)?;
    if host.runtime.is_empty() {
        host.runtime = default_runtime.to_string();
    }
    // Docker refuses a runtime it does not know at create; so does berth.
    let runtime_binary = berth_runtime::runtime_binary(&host.runtime)
        .map_err(|e| ContainerError::InvalidArgument(e.to_string()))?;
    let image_config = image.config.config().clone().unwrap_or_default();
    let (image_healthcheck, shell) = image_health_and_shell(store, &image.id)?;
    let healthcheck = HealthConfig::merge(req.healthcheck.clone(), image_healthcheck);
    if let Some(h) = &healthcheck {
        h.validate()?;
    }

    // ENTRYPOINT/CMD as Docker resolves them: a user entrypoint discards the
    // image's CMD; a user command replaces the image's CMD.
    let entrypoint = match &req.entrypoint {
        Some(e) => e.clone(),
        None => image_config.entrypoint().clone().unwrap_or_default(),
    };
    let cmd = match (&req.cmd, &req.entrypoint) {
        (Some(c), _) if !c.is_empty() => c.clone(),
        (_, Some(_)) => Vec::new(),
        _ => image_config.cmd().clone().unwrap_or_default(),
    };
    let mut full = entrypoint.iter().chain(cmd.iter()).cloned();
    let Some(path) = full.next() else {
        return Err(ContainerError::InvalidArgument(
            "no command specified".to_string(),
        ));
    };
    let args: Vec<String> = full.collect();

    let env = super::env::config_env(image_config.env().as_deref().unwrap_or_default(), &req.env)?;
    let working_dir = match &req.working_dir {
        Some(w) if !w.is_empty() && !w.starts_with('/') => {
            return Err(ContainerError::InvalidArgument(format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            )))
        }
        Some(w) => w.clone(),
        None => image_config.working_dir().clone().unwrap_or_default(),
    };
    let user = req
        .user
        .clone()
        .unwrap_or_else(|| image_config.user().clone().unwrap_or_default());
    let mut labels: BTreeMap<String, String> = image_config
        .labels()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    labels.extend(req.labels.clone());
    let image_volumes: Vec<String> = image_config
        .volumes()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut exposed_ports: Vec<String> = image_config
        .exposed_ports()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for port in &req.expose {
        let p = if port.contains('/') {
            port.clone()
        } else {
            format!("{port}/tcp")
        };
        if !exposed_ports.contains(&p) {
            exposed_ports.push(p);
        }
    }

    let (mounts, volumes_to_create, image_mounts) = plan_mounts(store, &host, &image_volumes)?;
    // crun 1.8 mounts every bind recursively: a non-recursive one is
    // refused rather than silently made recursive.
    if runtime_binary.file_name().is_some_and(|n| n == "crun")
        && mounts.iter().any(|m| m.non_recursive)
    {
        return Err(ContainerError::InvalidArgument(
            "BindOptions.NonRecursive (bind-nonrecursive): the crun runtime mounts binds recursively; use --runtime runc".into(),
        ));
    }

    let (hostname, domainname) = match (&req.hostname, create_network::joined_names(store, &host)?)
    {
        (None, Some(names)) => names,
        (h, _) => (
            h.clone().unwrap_or_else(|| id[..12].to_string()),
            req.domainname.clone(),
        ),
    };
    let spec = ContainerSpec {
        hostname,
        domainname,
        user,
        tty: req.tty,
        open_stdin: req.open_stdin,
        stdin_once: req.stdin_once,
        attach_stdin: req.attach_stdin,
        attach_stdout: req.attach_stdout,
        attach_stderr: req.attach_stderr,
        env,
        cmd,
        entrypoint,
        working_dir,
        labels,
        stop_signal: req
            .stop_signal
            .clone()
            .or_else(|| image_config.stop_signal().clone())
            .unwrap_or_default(),
        stop_timeout: req.stop_timeout,
        image_volumes,
        exposed_ports,
        path,
        args,
        host,
        mounts,
        healthcheck,
        shell: req.shell.clone().unwrap_or(shell),
        console_size: req.console_size,
    };
    let container = Container {
        id,
        name,
        image_id: image.id.clone(),
        image_ref: req.image.clone(),
        created_at: now_rfc3339(),
        spec,
        state: State::created(),
    };
    Ok(Plan {
        container,
        layer_chain_ids: image.layers.iter().map(|l| l.chain_id.clone()).collect(),
        volumes_to_create,
        image_mounts,
        networks,
        userns,
    })
}

/// What the OCI view of an image config lacks: Docker's `Healthcheck` and
/// `Shell`.
fn image_health_and_shell(
    store: &Store,
    image_id: &str,
) -> Result<(Option<HealthConfig>, Vec<String>)> {
    let bytes = berth_image::blobs::Blobs::new(store).read(image_id)?;
    let config = berth_image::ImageConfigDoc::parse(&bytes)
        .ok()
        .and_then(|doc| doc.config)
        .unwrap_or_default();
    let healthcheck = config
        .healthcheck
        .filter(|v| !v.is_null())
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ContainerError::InvalidArgument(format!("the image's Healthcheck: {e}")))?;
    Ok((healthcheck, config.shell.unwrap_or_default()))
}

fn unused_random_name(store: &Store) -> Result<String> {
    for _ in 0..32 {
        let candidate = names::random_name();
        let taken: i64 = store.db().query_row(
            "SELECT count(*) FROM containers WHERE name = ?1",
            [&candidate],
            |r| r.get(0),
        )?;
        if taken == 0 {
            return Ok(candidate);
        }
    }
    // The word lists are exhausted in practice only with thousands of
    // containers: fall back to a numbered name, as Docker does on retry.
    Ok(format!("{}{}", names::random_name(), rand::random::<u16>()))
}

fn validate_host(mut host: HostSpec) -> Result<HostSpec> {
    if host.auto_remove && !host.restart_policy.is_no() {
        return Err(ContainerError::InvalidArgument(
            "Conflicting options: --restart and --rm".into(),
        ));
    }
    // dockerd 20.10 records no mode as "default" (the default bridge).
    if host.network_mode.is_empty() {
        host.network_mode = "default".into();
    }
    if host.shm_size == 0 {
        host.shm_size = 64 * 1024 * 1024;
    }
    if host.memory < 0 || host.nano_cpus < 0 {
        return Err(ContainerError::InvalidArgument(
            "memory and cpu limits cannot be negative".into(),
        ));
    }
    if host.memory > 0 && host.memory < 6 * 1024 * 1024 {
        return Err(ContainerError::InvalidArgument(
            "Minimum memory limit allowed is 6MB".into(),
        ));
    }
    host.security = berth_container::SecurityOptions::parse(&host.security_opt)?;
    let daemon = LogConfig::from_daemon_json(&berth_registry::daemon_config_path())?;
    host.log_config = LogConfig::merge(&host.log_config, &daemon);
    host.log_config.settings()?;
    Ok(host)
}

/// Turns `-v`, `--mount`, `--tmpfs`, `--volumes-from` and the image's `VOLUME`s
/// into mount points, in the order they must be applied (parents first).
/// What each image mount holds, by destination.
type ImageMounts = Vec<(String, berth_image::mounts::Held)>;

fn plan_mounts(
    store: &Store,
    host: &HostSpec,
    image_volumes: &[String],
) -> Result<(Vec<MountPoint>, Vec<NewVolume>, ImageMounts)> {
    let mut specs: Vec<MountSpec> = Vec::new();
    for bind in &host.binds {
        specs.push(berth_volume::spec::parse_volume_flag(bind)?);
    }
    for m in &host.mounts {
        specs.push(berth_volume::spec::validate_mount(m)?);
    }
    for (dest, opts) in &host.tmpfs {
        let flag = if opts.is_empty() {
            dest.clone()
        } else {
            format!("{dest}:{opts}")
        };
        specs.push(berth_volume::spec::parse_tmpfs_flag(&flag)?);
    }
    berth_volume::spec::check_duplicates(&specs)?;

    // `--volume-driver` (HostConfig.VolumeDriver): the driver of the
    // volumes a mount does not give one (`volume-driver=`), as dockerd.
    let default_driver = match host.modes.volume_driver.as_str() {
        "" => berth_volume::LOCAL_DRIVER,
        d => d,
    };
    let mut mounts: Vec<MountPoint> = Vec::new();
    let mut to_create: Vec<NewVolume> = Vec::new();
    let mut images: ImageMounts = Vec::new();
    for spec in &specs {
        mounts.push(mount_point(
            store,
            spec,
            default_driver,
            &mut to_create,
            &mut images,
        )?);
    }
    // --volumes-from: every mount of the other container at the same path,
    // unless this container already mounts something there.
    for from in &host.volumes_from {
        let (reference, read_only) = berth_volume::spec::parse_volumes_from(from)?;
        let other = model::find(store, &reference)?;
        for m in &other.spec.mounts {
            if m.kind == MountKind::Tmpfs {
                continue;
            }
            // Docker's precedence: an explicit mount beats --volumes-from, which
            // beats an anonymous `-v /dst`.
            if let Some(i) = mounts.iter().position(|x| x.destination == m.destination) {
                if !mounts[i].anonymous {
                    continue;
                }
                let dropped = mounts.remove(i);
                to_create.retain(|v| v.name != dropped.name);
            }
            if m.kind == MountKind::Image {
                // The other container's image, held by this one too.
                let held = berth_image::mounts::held(store, &other.id, &m.destination)?
                    .ok_or_else(|| ContainerError::Corrupt {
                        id: other.id.clone(),
                        reason: format!("image mount {} holds no image", m.destination),
                    })?;
                images.push((m.destination.clone(), held));
            }
            let mut inherited = m.clone();
            inherited.copy_up = false;
            // The anonymous volume belongs to the other container; here it is shared.
            inherited.anonymous = false;
            // As dockerd: the mode string is not inherited, and `:rw` never
            // makes a read-only mount writable (RW = theirs && ours).
            inherited.mode = String::new();
            if read_only == Some(true) {
                inherited.rw = false;
            }
            mounts.push(inherited);
        }
    }
    // VOLUME paths of the image not covered by an explicit mount get a fresh
    // anonymous volume each.
    for path in image_volumes {
        let path = normalize_destination(path);
        if mounts.iter().any(|m| m.destination == path) {
            continue;
        }
        let name = new_id();
        to_create.push(NewVolume {
            name: name.clone(),
            driver: default_driver.to_string(),
            anonymous: true,
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
        });
        mounts.push(MountPoint {
            kind: MountKind::Volume,
            source: volume_source(store, &name, default_driver),
            name,
            destination: path,
            driver: default_driver.to_string(),
            mode: String::new(),
            rw: true,
            propagation: String::new(),
            copy_up: true,
            anonymous: true,
            tmpfs_options: Vec::new(),
            non_recursive: false,
            read_only_non_recursive: false,
            subpath: String::new(),
        });
    }
    mounts.sort_by(|a, b| {
        let depth = |p: &str| p.split('/').filter(|s| !s.is_empty()).count();
        depth(&a.destination)
            .cmp(&depth(&b.destination))
            .then_with(|| a.destination.cmp(&b.destination))
    });
    images.retain(|(destination, _)| {
        mounts
            .iter()
            .any(|m| m.kind == MountKind::Image && &m.destination == destination)
    });
    Ok((mounts, to_create, images))
}

fn normalize_destination(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

fn volume_data_dir(store: &Store, name: &str) -> PathBuf {
    store.volumes_dir().join(name).join("_data")
}

/// A volume mount's recorded source: a local volume's data directory; a
/// plugin volume's is the plugin's answer at mount (none until then).
fn volume_source(store: &Store, name: &str, driver: &str) -> PathBuf {
    if driver == berth_volume::LOCAL_DRIVER {
        volume_data_dir(store, name)
    } else {
        PathBuf::new()
    }
}

fn mount_point(
    store: &Store,
    spec: &MountSpec,
    default_driver: &str,
    to_create: &mut Vec<NewVolume>,
    images: &mut ImageMounts,
) -> Result<MountPoint> {
    let destination = normalize_destination(&spec.destination);
    let rw = !spec.read_only;
    let propagation = spec.propagation.clone().unwrap_or_default();
    Ok(match &spec.source {
        MountSource::Volume {
            name,
            nocopy,
            driver,
            driver_opts,
            labels,
            subpath,
        } => {
            let requested = driver.as_deref().unwrap_or(default_driver);
            let (name, anonymous): (String, bool) = match name {
                Some(n) => (n.clone(), false),
                None => (new_id(), true),
            };
            let existing = (!anonymous)
                .then(|| berth_volume::get(store, &name).ok())
                .flatten();
            if let Some(v) = &existing {
                if v.driver != requested && requested != berth_volume::LOCAL_DRIVER {
                    return Err(berth_volume::VolumeError::DriverConflict {
                        name,
                        existing: v.driver.clone(),
                        requested: requested.to_string(),
                    }
                    .into());
                }
            }
            let volume_driver = existing.as_ref().map_or(requested, |v| v.driver.as_str());
            if let Some(sub) = subpath {
                check_subpath(
                    existing.as_ref(),
                    volume_driver,
                    driver_opts,
                    &volume_data_dir(store, &name),
                    sub,
                )?;
            }
            if existing.is_none() && !to_create.iter().any(|v| v.name == name) {
                to_create.push(NewVolume {
                    name: name.clone(),
                    driver: volume_driver.to_string(),
                    anonymous,
                    options: driver_opts.clone(),
                    labels: labels.clone(),
                });
            }
            MountPoint {
                kind: MountKind::Volume,
                source: volume_source(store, &name, volume_driver),
                driver: volume_driver.to_string(),
                name,
                destination,
                mode: spec.mode_string.clone(),
                rw,
                propagation,
                copy_up: !nocopy,
                anonymous,
                tmpfs_options: Vec::new(),
                non_recursive: false,
                read_only_non_recursive: false,
                subpath: subpath.clone().unwrap_or_default(),
            }
        }
        MountSource::Bind {
            host,
            create_missing,
            recursive,
            read_only_non_recursive,
        } => {
            if !host.exists() {
                if *create_missing {
                    // Docker creates a missing -v host directory; it is not
                    // removed with the container, as in Docker.
                } else {
                    return Err(ContainerError::InvalidArgument(format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {}",
                        host.display()
                    )));
                }
            }
            MountPoint {
                kind: MountKind::Bind,
                name: String::new(),
                source: host.clone(),
                destination,
                driver: String::new(),
                mode: spec.mode_string.clone(),
                rw,
                propagation: if propagation.is_empty() {
                    "rprivate".into()
                } else {
                    propagation
                },
                copy_up: false,
                anonymous: false,
                tmpfs_options: Vec::new(),
                non_recursive: !recursive,
                read_only_non_recursive: *read_only_non_recursive,
                subpath: String::new(),
            }
        }
        MountSource::Image { reference, subpath } => {
            // dockerd 28: the image must be here (it is not pulled).
            let image = berth_image::resolve(store, reference)?;
            if let Some(sub) = subpath {
                // Resolved inside the image now, so that a missing or
                // escaping one creates nothing (dockerd checks at start).
                let tree = berth_container::image_mount::open_image(
                    store,
                    reference,
                    &image,
                    &berth_mount::Linux,
                )?;
                let shown = berth_container::image_mount::shown(reference);
                berth_volume::open_subpath(&tree.root(), &shown, sub)?;
            }
            images.push((destination.clone(), berth_image::mounts::Held::of(&image)));
            MountPoint {
                kind: MountKind::Image,
                name: reference.clone(),
                source: PathBuf::new(),
                destination,
                driver: String::new(),
                mode: String::new(),
                rw: false,
                propagation: "rprivate".into(),
                copy_up: false,
                anonymous: false,
                tmpfs_options: Vec::new(),
                non_recursive: false,
                read_only_non_recursive: false,
                subpath: subpath.clone().unwrap_or_default(),
            }
        }
        MountSource::Tmpfs { .. } => {
            let data = spec.tmpfs_data();
            let options: Vec<String> = data
                .split(',')
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect();
            MountPoint {
                kind: MountKind::Tmpfs,
                name: String::new(),
                source: PathBuf::new(),
                destination,
                driver: String::new(),
                mode: spec.mode_string.clone(),
                rw,
                propagation,
                copy_up: false,
                anonymous: false,
                tmpfs_options: options,
                non_recursive: false,
                read_only_non_recursive: false,
                subpath: String::new(),
            }
        }
    })
}

/// A volume subpath is checked at create where it can be, so that a missing
/// or escaping one creates nothing: in an existing plain volume it must
/// resolve inside it; a new plain volume is empty, so nothing resolves. A
/// volume with options (a device mount) is only seen when mounted: checked
/// at start. (dockerd checks every subpath at start only.)
fn check_subpath(
    existing: Option<&berth_volume::Volume>,
    driver: &str,
    new_options: &BTreeMap<String, String>,
    data: &std::path::Path,
    subpath: &str,
) -> Result<()> {
    // A plugin volume's data is only seen when mounted: checked at start.
    let plain = driver == berth_volume::LOCAL_DRIVER
        && match existing {
            Some(v) => !v.mounts_device(),
            None => !new_options.contains_key("type") && !new_options.contains_key("device"),
        };
    if !plain || subpath == "." {
        return Ok(());
    }
    if existing.is_none() {
        return Err(berth_volume::VolumeError::SubpathNotAccessible {
            path: data.join(subpath),
            cause: "no such file or directory".into(),
        }
        .into());
    }
    berth_volume::open_subpath(data, data, subpath)?;
    Ok(())
}

fn commit(store: &mut Store, plan: Plan) -> Result<Container> {
    let Plan {
        container,
        layer_chain_ids,
        volumes_to_create,
        image_mounts,
        networks,
        userns,
    } = plan;
    let mut created_volumes = Vec::new();
    let mut marks = Vec::new(); // held until the row commits or the volumes go
    let result = (|| -> Result<()> {
        for v in &volumes_to_create {
            if v.anonymous {
                marks.push(super::create_marks::mark(store, &v.name)?);
            }
            berth_volume::create(
                store,
                Some(&v.name),
                &v.driver,
                v.options.clone(),
                v.labels.clone(),
                v.anonymous,
            )?;
            created_volumes.push(v.name.clone());
        }
        let binds = container
            .spec
            .mounts
            .iter()
            .filter(|m| m.kind == MountKind::Bind);
        for m in binds.filter(|m| !m.source.exists()) {
            std::fs::create_dir_all(&m.source).map_err(|e| ContainerError::io(&m.source, e))?;
        }
        let staging = store.staging_dir("container")?;
        let staged = Paths::new(&staging, &container.id);
        model::make_container_dirs(&staged)?;
        crash::point("create", "after-staging");
        let final_dir = model::container_dir(store, &container.id);
        // Until the row commits, a crash leaves the directory to the next
        // command's sweep (berth_store::staging).
        let _claim = store.claim_container_dir(&container.id)?;
        std::fs::rename(&staging, &final_dir).map_err(|e| ContainerError::io(&final_dir, e))?;
        crash::point("create", "after-rename");
        let volumes_dir = store.volumes_dir();
        let inserted = store.write(|tx| {
            model::insert(tx, &container, &layer_chain_ids, &volumes_dir)?;
            super::userns::record(tx, &container.id, &userns)?;
            for (destination, held) in &image_mounts {
                berth_image::mounts::hold(tx, &container.id, destination, held)?;
            }
            networks.record(tx, &container.id)?;
            events::append(
                tx,
                &NewEvent {
                    kind: EventType::Container,
                    action: "create",
                    actor: &container.id,
                    attributes: container.event_attributes(),
                },
            )?;
            Ok(())
        });
        if let Err(e) = inserted {
            let _ = std::fs::remove_dir_all(&final_dir);
            return Err(e);
        }
        crash::point("create", "after-commit");
        Ok(())
    })();
    if let Err(err) = result {
        for name in created_volumes {
            if let Err(cleanup) = berth_volume::remove(store, &name, true) {
                return Err(err.with_cleanup_failure(format!("cleaning up volume {name}"), cleanup));
            }
        }
        return Err(err);
    }
    Ok(container)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_validation() {
        let mut h = HostSpec::default();
        h.restart_policy = berth_container::RestartPolicy::Always;
        h.auto_remove = true;
        assert!(validate_host(h)
            .unwrap_err()
            .to_string()
            .contains("--restart and --rm"));
        let mut h = HostSpec::default();
        h.security_opt = vec!["label=disable".into()];
        assert!(validate_host(h).is_err());
        let mut h = HostSpec::default();
        h.security_opt = vec!["no-new-privileges".into()];
        let h = validate_host(h).unwrap();
        assert!(h.security.no_new_privileges);
        assert_eq!(h.network_mode, "default");
        assert_eq!(h.shm_size, 64 << 20);
    }
}
