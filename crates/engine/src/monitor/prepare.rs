//! Everything a container's run needs before the runtime creates it: the
//! rootfs mounted, volumes attached, the network set up, `/etc/hosts`,
//! `/etc/hostname` and `/etc/resolv.conf` written, and the OCI runtime's
//! input built from the container's spec.

use std::path::{Path, PathBuf};

use berth_container::model::{self, Container, MountKind, Paths};
use berth_container::{rootfs, ContainerError, Result, SharedNamespace};
use berth_mount::Linux;
use berth_runtime::{BindMount, ExtraMount, Namespace, SpecInput, Ulimit};
use berth_store::{crash, Store};

use crate::container::env::process_env;
use crate::container::userns_mounts::{self, Ownership};
use crate::container::volumes;
use crate::monitor::links::{self, Link};

/// Mounts the rootfs and volumes, sets up the network, writes the network
/// files and builds the runtime input. The sandbox (which holds the
/// container's host-port reservations) is set as soon as it exists, so that a
/// failure after it still has it torn down.
pub(super) fn spec_input(
    store: &mut Store,
    run_dir: &Path,
    paths: &Paths,
    c: &Container,
    sys: &Linux,
    sandbox_slot: &mut Option<berth_network::Sandbox>,
) -> Result<SpecInput> {
    rootfs::mount(store, &c.id, sys)?;
    if let Some(range) = berth_container::userns::range(store.db(), &c.id)? {
        crate::container::userns_access::grant(store.root(), &paths.dir, range.uid_start)?;
    }
    crash::point("start", "after-mount");
    write_etc_files(paths, c)?;
    // Its endpoints are wired while the runtime creates the container
    // (`Sandbox::ready`, before the "after-network" crash point).
    let sandbox = sandbox_slot.insert(setup_network(store, run_dir, c)?);
    let on_bridge = sandbox
        .endpoints
        .iter()
        .any(|e| e.network.name == berth_network::DEFAULT_NETWORK);
    let links = links::resolve(store, c, on_bridge)?;
    let host_gateway = host_gateway(store, sandbox);
    write_network_files(paths, c, sandbox, &links, &host_gateway)?;
    if let berth_network::Mode::Container(other) =
        berth_network::Mode::parse(&c.spec.host.network_mode)
    {
        share_network_files(store, paths, &other)?;
    }
    let network = match &sandbox.namespace {
        berth_network::Namespace::Host => Namespace::Host,
        berth_network::Namespace::Path(path) => Namespace::Path(path.clone()),
    };
    let mut mounts = Vec::new();
    rootfs::unmount_subpaths(paths, sys)?;
    let userns = berth_container::userns::id_map(store.db(), c)?;
    // `:U` sources, chowned once the container's user is known.
    let mut chowns = Vec::new();
    for (index, m) in c.spec.mounts.iter().enumerate() {
        match m.kind {
            MountKind::Volume => {
                let source = volumes::acquire(store, m, &c.id, sys)?;
                // Copy-up goes through what was checked here, and the mount
                // is verified to be it (berth_runtime::verify_created).
                let pinned = berth_runtime::pin_source(&source, Some(&store.volumes_dir()))?;
                // A subpath is opened inside the pinned volume and mounted by
                // its descriptor (berth_volume::open_subpath); the image's
                // content is never copied into a subpath (it exists, in a
                // volume that has content).
                let source = if m.subpath.is_empty() {
                    if m.copy_up && dir_is_empty(&pinned.via_fd) {
                        berth_archive::copy_up(&paths.rootfs, &m.destination, &pinned.via_fd)?;
                    }
                    source
                } else {
                    let staged = paths.subpaths.join(index.to_string());
                    berth_volume::mount_subpath(sys, &pinned.via_fd, &source, &m.subpath, &staged)?;
                    berth_runtime::pin_source(&staged, None)?;
                    staged
                };
                let ownership = Ownership::of(m, &source)?;
                chowns.push((source.clone(), ownership));
                let ownership = &chowns[chowns.len() - 1].1;
                let source = userns_mounts::source_for(
                    paths,
                    index,
                    source,
                    true,
                    userns.as_ref(),
                    ownership,
                    sys,
                )?;
                mounts.push(ExtraMount::Bind(BindMount {
                    source,
                    destination: m.destination.clone(),
                    read_only: !m.rw,
                    recursive: true,
                    read_only_non_recursive: false,
                    propagation: None,
                }));
            }
            MountKind::Bind => {
                // Verified to be what got mounted (berth_runtime::verify_created).
                berth_runtime::pin_source(&m.source, None)?;
                let ownership = Ownership::of(m, &m.source)?;
                let source = userns_mounts::source_for(
                    paths,
                    index,
                    m.source.clone(),
                    !m.non_recursive,
                    userns.as_ref(),
                    &ownership,
                    sys,
                )?;
                chowns.push((m.source.clone(), ownership));
                mounts.push(ExtraMount::Bind(BindMount {
                    source,
                    destination: m.destination.clone(),
                    read_only: !m.rw,
                    recursive: !m.non_recursive,
                    read_only_non_recursive: m.read_only_non_recursive,
                    propagation: (!m.propagation.is_empty()).then(|| m.propagation.clone()),
                }))
            }
            MountKind::Image => {
                // The image's overlay (or its subpath), staged like a volume
                // subpath and undone once the runtime has created the container.
                let staged =
                    berth_container::image_mount::stage(store, paths, &c.id, index, m, sys)?;
                berth_runtime::pin_source(&staged, None)?;
                mounts.push(ExtraMount::Bind(BindMount {
                    source: staged,
                    destination: m.destination.clone(),
                    read_only: true,
                    recursive: true,
                    read_only_non_recursive: false,
                    propagation: None,
                }));
            }
            MountKind::Tmpfs => {
                let mut options = m.tmpfs_options.clone();
                if !m.rw {
                    options.push("ro".into());
                }
                mounts.push(ExtraMount::Tmpfs {
                    destination: m.destination.clone(),
                    options,
                })
            }
        }
    }
    crash::point("start", "after-volumes");
    for (file, destination) in [
        (&paths.hosts, "/etc/hosts"),
        (&paths.hostname, "/etc/hostname"),
        (&paths.resolv_conf, "/etc/resolv.conf"),
    ] {
        mounts.push(ExtraMount::Bind(BindMount {
            source: file.clone(),
            destination: destination.to_string(),
            read_only: c.spec.host.read_only_rootfs,
            recursive: false,
            read_only_non_recursive: false,
            propagation: None,
        }));
    }
    let user = berth_runtime::resolve_container_user(
        &paths.rootfs,
        &c.spec.user,
        &c.spec.host.modes.group_add,
        !c.spec.host.modes.strict_groups,
    )?;
    for (source, ownership) in &chowns {
        userns_mounts::chown_to_user(source, ownership, user.uid, user.gid)?;
    }
    // Docker's defaults and the link variables, the container's own on top.
    let links_env = links.iter().flat_map(|l| l.env()).collect();
    let mut env = process_env(&c.spec.hostname, c.spec.tty, links_env, &[&c.spec.env]);
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(user.home_env());
    }
    let pid = match c.spec.host.modes.pid() {
        SharedNamespace::Own => Namespace::New,
        SharedNamespace::Host => Namespace::Host,
        SharedNamespace::Container(other) => Namespace::Path(pid_namespace(store, other)?),
    };
    let uts = if c.spec.host.modes.uts_host() {
        Namespace::Host
    } else {
        Namespace::New
    };
    let kernel = super::ipc::kernel_settings(store, c, sys)?;
    let init_binary = if c.spec.host.init {
        Some(init_binary().ok_or(ContainerError::InitNotFound)?)
    } else {
        None
    };
    Ok(SpecInput {
        rootfs: paths.rootfs.clone(),
        read_only_rootfs: c.spec.host.read_only_rootfs,
        args: std::iter::once(c.spec.path.clone())
            .chain(c.spec.args.iter().cloned())
            .collect(),
        env,
        cwd: if c.spec.working_dir.is_empty() {
            "/".into()
        } else {
            c.spec.working_dir.clone()
        },
        user,
        terminal: c.spec.tty,
        hostname: c.spec.hostname.clone(),
        domainname: c.spec.domainname.clone(),
        mounts,
        privileged: c.spec.host.privileged,
        masked_paths: c.spec.host.masked_paths.clone(),
        readonly_paths: c.spec.host.readonly_paths.clone(),
        cap_add: c.spec.host.cap_add.clone(),
        cap_drop: c.spec.host.cap_drop.clone(),
        no_new_privileges: c.spec.host.security.no_new_privileges,
        seccomp: c.spec.host.security.seccomp.clone(),
        apparmor: c.spec.host.security.apparmor.clone(),
        memory_bytes: (c.spec.host.memory > 0).then_some(c.spec.host.memory),
        nano_cpus: (c.spec.host.nano_cpus > 0).then_some(c.spec.host.nano_cpus),
        pids_limit: c.spec.host.pids_limit,
        resources: c.spec.host.resources.clone(),
        ulimits: c
            .spec
            .host
            .ulimits
            .iter()
            .map(|u| Ulimit {
                name: u.name.clone(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect(),
        network,
        pid,
        uts,
        init_binary,
        shm_size_bytes: c.spec.host.shm_size,
        // A rootless berth's containers have no cgroup of their own (the
        // runtime leaves them in the monitor's; limits are refused at create).
        cgroups_path: if crate::rootless::active() {
            String::new()
        } else {
            crate::container::leftovers::cgroups_path(&c.id)
        },
        oom_score_adj: Some(c.spec.host.modes.oom_score_adj as i32),
        kernel,
        user_namespace: userns_mounts::user_namespace(userns.as_ref()),
    })
}

/// Sets up the container's network namespace, endpoints and published
/// ports (berth-network); `container:NAME` joins that container's namespace.
/// The default network is first brought in line with the daemon config; a
/// container that would join it while the change waits for other containers
/// to stop is refused.
fn setup_network(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
) -> Result<berth_network::Sandbox> {
    let host = &c.spec.host;
    if let berth_network::Applied::Pending(why) = crate::network::default_bridge::apply(store)? {
        let joins_default = !host.network_disabled
            && berth_network::container_networks(
                store.db(),
                &c.id,
                &host.network_mode,
                &host.endpoint,
            )?
            .iter()
            .any(|a| a.network.name == berth_network::DEFAULT_NETWORK);
        if joins_default {
            return Err(ContainerError::Conflict(why));
        }
    }
    let joined = match berth_network::Mode::parse(&host.network_mode) {
        berth_network::Mode::Container(other) => joined_namespace(store, run_dir, &other)?,
        _ => None,
    };
    let spec = berth_network::SandboxSpec {
        container_id: &c.id,
        container_name: &c.name,
        network_mode: &host.network_mode,
        joined,
        endpoint: &host.endpoint,
        disabled: host.network_disabled,
        port_bindings: &host.port_bindings,
        publish_all: host.publish_all_ports,
        exposed_ports: &c.spec.exposed_ports,
        dns_servers: &host.dns,
    };
    Ok(berth_network::setup(store, run_dir, &spec)?)
}

fn dir_is_empty(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// The static tini that `--init` bind-mounts as /sbin/docker-init.
pub(crate) fn init_binary() -> Option<PathBuf> {
    [
        "/usr/bin/tini-static",
        "/usr/bin/docker-init",
        "/usr/bin/tini",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The namespace of the running container `reference` (following its own
/// `container:` mode, and the host's for `--network host`); `None` when it
/// does not run.
fn joined_namespace(
    store: &Store,
    run_dir: &Path,
    reference: &str,
) -> Result<Option<berth_network::Namespace>> {
    let mut other = model::find(store, reference)?;
    for _ in 0..8 {
        if other.state.status != model::Status::Running
            && other.state.status != model::Status::Paused
        {
            return Ok(None);
        }
        match berth_network::Mode::parse(&other.spec.host.network_mode) {
            berth_network::Mode::Host => return Ok(Some(berth_network::Namespace::Host)),
            berth_network::Mode::Container(next) => other = model::find(store, &next)?,
            _ => return Ok(berth_network::Namespace::of_container(run_dir, &other.id)),
        }
    }
    Ok(None)
}

/// The PID namespace of the running container `reference` (`--pid
/// container:NAME`); Docker's error when it does not run.
fn pid_namespace(store: &Store, reference: &str) -> Result<PathBuf> {
    let other = super::ipc::running_donor(store, reference, |id| {
        format!("container {id} is not running")
    })?;
    Ok(PathBuf::from(format!("/proc/{}/ns/pid", other.state.pid)))
}

/// What `--add-host NAME:host-gateway` resolves to: the gateway of the
/// container's first network, else the default bridge's (Docker uses the
/// default bridge's, docker0's address).
fn host_gateway(store: &Store, sandbox: &berth_network::Sandbox) -> String {
    sandbox
        .endpoints
        .first()
        .and_then(|e| e.gateway())
        .or_else(|| {
            berth_network::find(store.db(), berth_network::DEFAULT_NETWORK)
                .ok()
                .and_then(|n| n.gateway)
        })
        .map(|g| g.to_string())
        .unwrap_or_default()
}

/// Completes /etc/hosts as Docker orders it: `--add-host` entries, legacy
/// links (and links on user networks), then the container's own addresses under its hostname; on
/// networks with name resolution, points resolv.conf at the container's own resolver (127.0.0.11).
fn write_network_files(
    paths: &Paths,
    c: &Container,
    sandbox: &berth_network::Sandbox,
    links: &[Link],
    host_gateway: &str,
) -> Result<()> {
    let mut hosts =
        std::fs::read_to_string(&paths.hosts).map_err(|e| ContainerError::io(&paths.hosts, e))?;
    for extra in &c.spec.host.extra_hosts {
        if let Some((name, ip)) = extra.split_once(':') {
            let ip = if ip == "host-gateway" {
                host_gateway
            } else {
                ip
            };
            hosts.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    for link in links {
        hosts.push_str(&link.hosts_line());
    }
    let names = if c.spec.domainname.is_empty() {
        c.spec.hostname.clone()
    } else {
        format!("{0}.{1} {0}", c.spec.hostname, c.spec.domainname)
    };
    if let Some(ip) = sandbox.primary_ip() {
        hosts.push_str(&format!("{ip}\t{names}\n"));
    }
    if let Some(ip) = sandbox.primary_ipv6() {
        hosts.push_str(&format!("{ip}\t{names}\n"));
    }
    std::fs::write(&paths.hosts, hosts).map_err(|e| ContainerError::io(&paths.hosts, e))?;
    let nameservers = sandbox.nameservers();
    if !nameservers.is_empty() {
        let base = std::fs::read_to_string(&paths.resolv_conf)
            .map_err(|e| ContainerError::io(&paths.resolv_conf, e))?;
        let resolv = berth_network::resolv_conf(&base, &nameservers);
        std::fs::write(&paths.resolv_conf, resolv)
            .map_err(|e| ContainerError::io(&paths.resolv_conf, e))?;
    }
    Ok(())
}

/// `--network container:NAME`: the container sees NAME's /etc/hosts and
/// /etc/resolv.conf, as Docker gives it NAME's files (it refuses `--dns`
/// and `--add-host` with that mode).
fn share_network_files(store: &Store, paths: &Paths, other: &str) -> Result<()> {
    let other = model::find(store, other)?;
    let theirs = Paths::of(store, &other.id);
    for (from, to) in [
        (&theirs.hosts, &paths.hosts),
        (&theirs.resolv_conf, &paths.resolv_conf),
    ] {
        std::fs::copy(from, to).map_err(|e| ContainerError::io(from, e))?;
    }
    Ok(())
}

/// Writes the container's /etc/hosts (its fixed part), /etc/hostname and
/// /etc/resolv.conf.
fn write_etc_files(paths: &Paths, c: &Container) -> Result<()> {
    let host_network = c.spec.host.network_mode == "host";
    let hosts = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        String::from(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
             ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
        )
    };
    let hostname = if host_network {
        std::fs::read_to_string("/etc/hostname").unwrap_or_default()
    } else {
        format!("{}\n", c.spec.hostname)
    };
    let host = &c.spec.host;
    let resolv = resolv_conf(&host.dns, &host.dns_search, &host.dns_options);
    for (path, content) in [
        (&paths.hosts, hosts),
        (&paths.hostname, hostname),
        (&paths.resolv_conf, resolv),
    ] {
        std::fs::write(path, content).map_err(|e| ContainerError::io(path, e))?;
    }
    Ok(())
}

/// The host's resolv.conf, without loopback nameservers (unreachable from a
/// container's own network namespace), as Docker filters it; `--dns`,
/// `--dns-search` and `--dns-option` replace the nameservers, the search
/// domains and the options (`--dns-search .`: no search domains).
fn resolv_conf(dns: &[String], search: &[String], options: &[String]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    for line in host.lines() {
        let keyword = line.split_whitespace().next().unwrap_or_default();
        let loopback = line.contains("127.") || line.contains("::1");
        let replaced = match keyword {
            "nameserver" => !dns.is_empty() || loopback,
            "search" | "domain" => !search.is_empty(),
            "options" => !options.is_empty(),
            _ => false,
        };
        if !replaced {
            out.push_str(line);
            out.push('\n');
        }
    }
    for server in dns {
        out.push_str(&format!("nameserver {server}\n"));
    }
    let domains: Vec<&str> = search
        .iter()
        .map(String::as_str)
        .filter(|d| *d != ".")
        .collect();
    if !domains.is_empty() {
        out.push_str(&format!("search {}\n", domains.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}
