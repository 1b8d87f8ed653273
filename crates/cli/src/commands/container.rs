//! Container commands: Docker's flags, output columns and exit codes over
//! berth-container. Docker quirks are noted where they are reproduced.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _, Result};
use berth_engine::monitor::protocol as attach;
use berth_engine::container::create::CreateRequest;
use berth_container::model::{self, Ulimit};
use berth_engine::container::{lifecycle, ops};
use berth_container::{HostSpec, RestartPolicy, Status};
use berth_engine::container::details::ContainerDetails;
use berth_engine::container::list::{ContainerFilter, ListRequest};
use berth_engine::container::logs::LogsRequest;
use berth_engine::{ErrorKind, HasKind};
use clap::{ArgAction, Args};
use serde_json::{json, Value};

use crate::format::{self, Format};
use crate::Ctx;

/// Flags shared by `create` and `run`.
#[derive(Args, Debug, Clone)]
pub struct CreateFlags {
    /// Assign a name to the container
    #[arg(long)]
    name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user")]
    user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long = "hostname")]
    hostname: Option<String>,
    /// Container NIS domain name
    #[arg(long)]
    domainname: Option<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label")]
    label: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    tty: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    rm: bool,
    /// Restart policy to apply when a container exits
    #[arg(long, default_value = "no")]
    restart: String,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    init: bool,
    /// Memory limit
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    cpus: Option<f64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit")]
    pids_limit: Option<i64>,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    read_only: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    privileged: bool,
    /// Security Options
    #[arg(long = "security-opt")]
    security_opt: Vec<String>,
    /// Ulimit options
    #[arg(long)]
    ulimit: Vec<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long)]
    mount: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from")]
    volumes_from: Vec<String>,
    /// Connect a container to a network
    #[arg(long = "network", alias = "net", default_value = "bridge")]
    network: String,
    /// Set custom DNS servers
    #[arg(long)]
    dns: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    add_host: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long)]
    expose: Vec<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    publish_all: bool,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias")]
    network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long = "ip")]
    ip: Option<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout")]
    stop_timeout: Option<i64>,
    /// Size of /dev/shm
    #[arg(long = "shm-size")]
    shm_size: Option<String>,
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    args: Vec<String>,
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    #[command(flatten)]
    flags: CreateFlags,
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    detach: bool,
    #[command(flatten)]
    flags: CreateFlags,
}

/// Docker's RAMInBytes: "512m", "1g", "1024" (bytes), "64k", case-insensitive, optional "b".
pub fn parse_bytes(s: &str) -> Result<i64> {
    let lower = s.trim().to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').unwrap_or(&lower);
    let (number, multiplier) = match trimmed.chars().last() {
        Some('k') => (&trimmed[..trimmed.len() - 1], 1i64 << 10),
        Some('m') => (&trimmed[..trimmed.len() - 1], 1 << 20),
        Some('g') => (&trimmed[..trimmed.len() - 1], 1 << 30),
        Some('t') => (&trimmed[..trimmed.len() - 1], 1 << 40),
        _ => (trimmed, 1),
    };
    let value: f64 = number.parse().map_err(|_| anyhow!("invalid size: '{s}'"))?;
    if value < 0.0 {
        bail!("invalid size: '{s}'");
    }
    Ok((value * multiplier as f64) as i64)
}

fn parse_ulimit(s: &str) -> Result<Ulimit> {
    let (name, values) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("invalid ulimit argument: {s}"))?;
    let (soft, hard) = match values.split_once(':') {
        Some((a, b)) => (a, b),
        None => (values, values),
    };
    let parse = |v: &str| {
        v.parse::<u64>()
            .map_err(|_| anyhow!("invalid ulimit argument: {s}"))
    };
    let (soft, hard) = (parse(soft)?, parse(hard)?);
    if soft > hard {
        bail!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

fn parse_restart(s: &str) -> Result<RestartPolicy> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (
            n,
            c.parse::<i64>().map_err(|_| {
                anyhow!("invalid restart policy format: maximum retry count must be an integer")
            })?,
        ),
        None => (s, 0),
    };
    if count != 0 && name != "on-failure" {
        bail!(
            "invalid restart policy format: maximum retry count can only be used with 'on-failure'"
        );
    }
    Ok(RestartPolicy::from_parts(name, count)?)
}

/// `KEY=VALUE` stays; a bare `KEY` takes the value from the CLI's environment
/// (and is dropped if unset), as Docker does.
fn resolve_env(entries: &[String], out: &mut Vec<String>) {
    for e in entries {
        if e.contains('=') {
            out.push(e.clone());
        } else if let Ok(v) = std::env::var(e) {
            out.push(format!("{e}={v}"));
        }
    }
}

fn read_env_file(path: &PathBuf, out: &mut Vec<String>) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("open {}", path.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_start().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    resolve_env(&lines, out);
    Ok(())
}

fn parse_labels(labels: &[String]) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect()
}

/// Flags -> a creation request. Nothing is touched on disk here.
fn request(flags: &CreateFlags) -> Result<CreateRequest> {
    let mut env = Vec::new();
    for file in &flags.env_file {
        read_env_file(file, &mut env)?;
    }
    resolve_env(&flags.env, &mut env);
    let mut args = flags.args.iter();
    let image = args
        .next()
        .cloned()
        .ok_or_else(|| anyhow!("requires at least 1 argument"))?;
    let cmd: Vec<String> = args.cloned().collect();
    let mut mounts = Vec::new();
    for m in &flags.mount {
        mounts.push(berth_volume::spec::parse_mount_request(m)?);
    }
    let mut tmpfs = BTreeMap::new();
    for t in &flags.tmpfs {
        let (dest, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
        tmpfs.insert(dest.to_string(), opts.to_string());
    }
    let mut port_bindings = Vec::new();
    for p in &flags.publish {
        port_bindings
            .extend(berth_network::parse_publish(p).map_err(|e| {
                anyhow!("invalid argument \"{p}\" for \"-p, --publish\" flag: {e}")
            })?);
    }
    // Docker exposes every published port too.
    let mut expose = flags.expose.clone();
    expose.extend(port_bindings.iter().map(|b| b.port_key()));
    let host = HostSpec {
        auto_remove: flags.rm,
        restart_policy: parse_restart(&flags.restart)?,
        privileged: flags.privileged,
        read_only_rootfs: flags.read_only,
        cap_add: flags.cap_add.clone(),
        cap_drop: flags.cap_drop.clone(),
        security_opt: super::security_opt::client_side(&flags.security_opt)?,
        // Parsed from security_opt at create.
        security: Default::default(),
        memory: flags
            .memory
            .as_deref()
            .map(parse_bytes)
            .transpose()?
            .unwrap_or(0),
        nano_cpus: match flags.cpus {
            Some(c) if c < 0.0 => bail!("invalid argument \"{c}\" for \"--cpus\" flag"),
            Some(c) => (c * 1e9) as i64,
            None => 0,
        },
        pids_limit: flags.pids_limit,
        ulimits: flags
            .ulimit
            .iter()
            .map(|u| parse_ulimit(u))
            .collect::<Result<_>>()?,
        init: flags.init,
        network_mode: flags.network.clone(),
        shm_size: flags
            .shm_size
            .as_deref()
            .map(parse_bytes)
            .transpose()?
            .unwrap_or(0) as u64,
        binds: flags.volume.clone(),
        mounts,
        tmpfs,
        volumes_from: flags.volumes_from.clone(),
        dns: flags.dns.clone(),
        extra_hosts: flags.add_host.clone(),
        port_bindings,
        publish_all_ports: flags.publish_all,
        network_aliases: flags.network_alias.clone(),
        ipv4_address: flags.ip.clone().unwrap_or_default(),
        // The engine's default runtime (`--runtime`), filled in by create.
        runtime: String::new(),
    };
    Ok(CreateRequest {
        name: flags.name.clone(),
        image,
        cmd: (!cmd.is_empty()).then_some(cmd),
        // Docker: --entrypoint "" resets the image's entrypoint.
        entrypoint: flags.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                Vec::new()
            } else {
                vec![e.clone()]
            }
        }),
        env,
        working_dir: flags.workdir.clone(),
        user: flags.user.clone(),
        hostname: flags.hostname.clone(),
        domainname: flags.domainname.clone().unwrap_or_default(),
        labels: parse_labels(&flags.label),
        tty: flags.tty,
        open_stdin: flags.interactive,
        stop_signal: flags.stop_signal.clone(),
        stop_timeout: flags.stop_timeout,
        expose,
        host,
    })
}

/// Container errors carry their own exit status (126/127).
pub fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let req = request(&args.flags)?;
    let c = ctx.engine()?.container_create(req)?;
    println!("{}", c.id);
    Ok(0)
}

pub fn run(ctx: &Ctx, args: RunArgs) -> Result<i32> {
    let req = request(&args.flags)?;
    let c = ctx.engine()?.container_create(req)?;
    let mut store = ctx.store()?;
    if args.detach {
        lifecycle::start(&mut store, &c.id, None)?;
        println!("{}", c.id);
        return Ok(0);
    }
    let (ours, theirs) = UnixStream::pair().context("socketpair")?;
    lifecycle::start(&mut store, &c.id, Some(&theirs))?;
    drop(theirs);
    drop(store);
    if !args.flags.tty {
        proxy_signals(ctx, &c.id);
    }
    Ok(attach_session(ours, args.flags.interactive, args.flags.tty))
}

/// Docker's `--sig-proxy` (on for attached runs without a tty): SIGINT,
/// SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received by the CLI are sent to
/// the container instead of ending the CLI. Must run before any other thread
/// is spawned, so every thread inherits the blocked mask.
fn proxy_signals(ctx: &Ctx, id: &str) {
    let root = ctx.root.clone();
    let id = id.to_string();
    // SAFETY: sigset manipulation on a local, then blocking those signals for
    // this thread (and the threads it spawns later).
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || loop {
        let mut sig = 0;
        // SAFETY: sigwait on the set blocked above.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        if let Ok(mut store) = berth_store::Store::open(&root) {
            let _ = lifecycle::kill(&mut store, &id, &sig.to_string());
        }
    });
}

/// Relays this terminal to an attach stream until the container exits;
/// returns its exit code.
fn attach_session(stream: UnixStream, stdin: bool, tty: bool) -> i32 {
    let raw = if tty {
        crate::term::RawMode::enable()
    } else {
        None
    };
    if tty {
        if let (Some((rows, cols)), Ok(mut w)) = (crate::term::size(), stream.try_clone()) {
            let _ =
                attach::write_frame(&mut w, attach::RESIZE, format!("{rows} {cols}").as_bytes());
        }
    }
    if stdin {
        if let Ok(mut writer) = stream.try_clone() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 32 * 1024];
                let mut input = std::io::stdin().lock();
                loop {
                    match input.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = attach::write_frame(&mut writer, attach::STDIN_CLOSE, &[]);
                            break;
                        }
                        Ok(n) => {
                            if attach::write_frame(&mut writer, attach::STDIN, &buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    }
    let mut reader = stream;
    let mut code = 0;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    while let Ok(Some((kind, payload))) = attach::read_frame(&mut reader) {
        match kind {
            attach::STDOUT => {
                let mut out = stdout.lock();
                let _ = out.write_all(&payload);
                let _ = out.flush();
            }
            attach::STDERR => {
                let mut err = stderr.lock();
                let _ = err.write_all(&payload);
                let _ = err.flush();
            }
            attach::EXIT => {
                code = String::from_utf8_lossy(&payload)
                    .trim()
                    .parse()
                    .unwrap_or(255);
                break;
            }
            _ => {}
        }
    }
    drop(raw);
    code
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    interactive: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Runs `f` for each container argument; errors are printed per container and
/// the command exits 1 if any failed (Docker's behaviour for multi-target commands).
fn for_each(containers: &[String], mut f: impl FnMut(&str) -> Result<()>) -> Result<i32> {
    let mut failed = false;
    for name in containers {
        if let Err(e) = f(name) {
            eprintln!("{}{}", crate::exit::prefix(&e), crate::exit::one_line(&e));
            failed = true;
        }
    }
    Ok(if failed { 1 } else { 0 })
}

pub fn start(ctx: &Ctx, args: StartArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    if args.attach || args.interactive {
        let [name] = args.containers.as_slice() else {
            bail!("you cannot start and attach multiple containers at once");
        };
        let c = lifecycle::lookup(&mut store, name)?;
        let (ours, theirs) = UnixStream::pair().context("socketpair")?;
        lifecycle::start(&mut store, &c.id, Some(&theirs))?;
        drop(theirs);
        if !c.spec.tty {
            proxy_signals(ctx, &c.id);
        }
        return Ok(attach_session(ours, args.interactive, c.spec.tty));
    }
    for_each(&args.containers, |name| {
        lifecycle::start(&mut store, name, None)?;
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "time", alias = "timeout")]
    time: Option<i64>,
    /// Signal to send to the container
    #[arg(short = 's', long)]
    signal: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn stop(ctx: &Ctx, args: StopArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for_each(&args.containers, |name| {
        if let Some(sig) = &args.signal {
            lifecycle::kill(&mut store, name, sig)?;
        }
        lifecycle::stop(&mut store, name, args.time)?;
        println!("{name}");
        Ok(())
    })
}

pub fn restart(ctx: &Ctx, args: StopArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for_each(&args.containers, |name| {
        lifecycle::stop(&mut store, name, args.time)?;
        lifecycle::start(&mut store, name, None)?;
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, default_value = "KILL")]
    signal: String,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn kill(ctx: &Ctx, args: KillArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for_each(&args.containers, |name| {
        lifecycle::kill(&mut store, name, &args.signal)?;
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct NamesArgs {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn pause(ctx: &Ctx, args: NamesArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for_each(&args.containers, |name| {
        lifecycle::pause(&mut store, name)?;
        println!("{name}");
        Ok(())
    })
}

pub fn unpause(ctx: &Ctx, args: NamesArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for_each(&args.containers, |name| {
        lifecycle::unpause(&mut store, name)?;
        println!("{name}");
        Ok(())
    })
}

pub fn wait(ctx: &Ctx, args: NamesArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for_each(&args.containers, |name| {
        let code = lifecycle::wait(&mut store, name)?;
        println!("{code}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    volumes: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn rm(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for_each(&args.containers, |name| {
        lifecycle::remove(&mut store, name, args.force, args.volumes)?;
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    container: String,
    new_name: String,
}

pub fn rename(ctx: &Ctx, args: RenameArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    lifecycle::rename(&mut store, &args.container, &args.new_name)?;
    Ok(0)
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    all: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    latest: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last")]
    last: Option<usize>,
    /// Display total file sizes
    #[arg(short = 's', long)]
    size: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
}

/// Docker's Ellipsis: at most `max` characters, the last one "…".
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// Docker's PORTS column: "0.0.0.0:8000->80/tcp" per published port (runs of
/// consecutive ports as "0.0.0.0:8000-8001->80-81/tcp"), "80/tcp" per port
/// only exposed; empty unless the container runs.
fn ports_text(d: &ContainerDetails) -> String {
    let c = &d.container;
    if !c.state.status.has_monitor() {
        return String::new();
    }
    let mut published = d.networking.published.clone();
    published.sort_by(|a, b| {
        (a.shown_host_ip(), &a.protocol, a.container_port).cmp(&(
            b.shown_host_ip(),
            &b.protocol,
            b.container_port,
        ))
    });
    // (host ip, protocol, first host port, first container port, run length)
    let mut runs: Vec<(String, String, u16, u16, u16)> = Vec::new();
    for p in &published {
        match runs.last_mut() {
            Some((ip, proto, host, container, len))
                if ip == p.shown_host_ip()
                    && *proto == p.protocol
                    && u32::from(*host) + u32::from(*len) == u32::from(p.host_port)
                    && u32::from(*container) + u32::from(*len) == u32::from(p.container_port) =>
            {
                *len += 1
            }
            _ => runs.push((
                p.shown_host_ip().to_string(),
                p.protocol.clone(),
                p.host_port,
                p.container_port,
                1,
            )),
        }
    }
    let range = |start: u16, len: u16| {
        if len > 1 {
            format!("{start}-{}", start + len - 1)
        } else {
            start.to_string()
        }
    };
    let mut parts: Vec<String> = runs
        .iter()
        .map(|(ip, proto, host, container, len)| {
            format!(
                "{ip}:{}->{}/{proto}",
                range(*host, *len),
                range(*container, *len)
            )
        })
        .collect();
    for exposed in &c.spec.exposed_ports {
        if !published.iter().any(|p| &p.port_key() == exposed) {
            parts.push(exposed.clone());
        }
    }
    parts.join(", ")
}

fn ps_row(d: &ContainerDetails, no_trunc: bool) -> Value {
    let c = &d.container;
    let command = std::iter::once(c.spec.path.clone())
        .chain(c.spec.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let command = if no_trunc {
        command
    } else {
        ellipsis(&command, 20)
    };
    let size_text = match d.size {
        Some(size) => format!(
            "{} (virtual {})",
            format::human_size(size.rw),
            format::human_size(size.root_fs)
        ),
        None => String::new(),
    };
    let labels = c
        .spec
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mounts = c
        .spec
        .mounts
        .iter()
        .map(|m| {
            if m.name.is_empty() {
                m.source.display().to_string()
            } else {
                ellipsis(&m.name, if no_trunc { usize::MAX } else { 15 })
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "ID": if no_trunc { c.id.clone() } else { c.short_id().to_string() },
        "Image": c.image_ref,
        "Command": format!("{command:?}"),
        "CreatedAt": c.created_at,
        "RunningFor": format!("{} ago", format::human_duration(format::seconds_since(&c.created_at))),
        "Ports": ports_text(d),
        "State": c.state.status.as_str(),
        "Status": berth_docker::inspect::status_text(c, format::human_duration, format::seconds_since),
        "Size": size_text,
        "Names": c.name,
        "Labels": labels,
        "Mounts": mounts,
        "Networks": c.spec.host.network_mode,
    })
}

pub fn ps(ctx: &Ctx, args: PsArgs) -> Result<i32> {
    let filters: Vec<(&str, &str)> = args
        .filter
        .iter()
        .map(|f| {
            f.split_once('=')
                .ok_or_else(|| anyhow!("bad format of filter (expected name=value)"))
        })
        .collect::<Result<_>>()?;
    let request = ListRequest {
        all: args.all,
        limit: if args.latest { Some(1) } else { args.last },
        size: args.size,
        filter: ContainerFilter::parse(filters)?,
    };
    let selected = ctx.engine()?.container_list(&request)?;
    if args.quiet {
        for d in &selected {
            let c = &d.container;
            println!(
                "{}",
                if args.no_trunc {
                    c.id.as_str()
                } else {
                    c.short_id()
                }
            );
        }
        return Ok(0);
    }
    let rows: Vec<Value> = selected.iter().map(|d| ps_row(d, args.no_trunc)).collect();
    let default = if args.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    let format = Format::parse(args.format.as_deref().unwrap_or(default))?;
    let headers = json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
        "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
    });
    format.print_rows(&headers, &rows)?;
    Ok(0)
}

/// JSON of a container for `inspect`, if `name` is one.
pub fn inspect_value(ctx: &Ctx, name: &str, size: bool) -> Result<Option<Value>> {
    match ctx.engine()?.container_inspect(name, size) {
        Ok(d) => Ok(Some(berth_docker::inspect::container(&d))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    until: Option<String>,
    container: String,
}

/// Docker's time filter values: RFC 3339, a unix timestamp, or a duration ago ("10m", "1h30m").
fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return chrono::DateTime::from_timestamp(secs as i64, 0)
            .ok_or_else(|| anyhow!("invalid time: {s}"));
    }
    let mut total = 0f64;
    let mut number = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            number.push(ch);
            continue;
        }
        let n: f64 = number
            .parse()
            .map_err(|_| anyhow!("invalid time value: {s}"))?;
        number.clear();
        total += n * match ch {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => bail!("invalid time value: {s}"),
        };
    }
    if !number.is_empty() {
        bail!("invalid time value: {s}");
    }
    Ok(chrono::Utc::now() - chrono::Duration::milliseconds((total * 1000.0) as i64))
}

pub fn logs(ctx: &Ctx, args: LogsArgs) -> Result<i32> {
    let request = LogsRequest {
        tail: match args.tail.as_str() {
            "all" | "" => None,
            n => Some(
                n.parse()
                    .map_err(|_| anyhow!("invalid value for tail: {n}"))?,
            ),
        },
        since: args.since.as_deref().map(parse_time).transpose()?,
        until: args.until.as_deref().map(parse_time).transpose()?,
        follow: args.follow,
    };
    let mut reader = ctx.engine()?.container_logs(&args.container, &request)?;
    while let Some(entries) = reader.next_batch()? {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        for e in entries {
            let line = if args.timestamps {
                format!("{} {}", e.time, e.log)
            } else {
                e.log
            };
            let _ = if e.stream == "stderr" {
                err.write_all(line.as_bytes())
            } else {
                out.write_all(line.as_bytes())
            };
        }
        let _ = out.flush();
    }
    Ok(0)
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CONTAINER COMMAND [ARG...]")]
    args: Vec<String>,
}

pub fn exec(ctx: &Ctx, args: ExecArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let mut env = Vec::new();
    resolve_env(&args.env, &mut env);
    let req = ops::ExecRequest {
        cmd: args.args[1..].to_vec(),
        env,
        user: args.user.clone(),
        working_dir: args.workdir.clone(),
        tty: args.tty,
        interactive: args.interactive,
        detach: args.detach,
        privileged: args.privileged,
    };
    ops::exec(&mut store, &args.args[0], &req).map_err(anyhow::Error::from)
}

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short = 'q', long)]
    quiet: bool,
    src: String,
    dest: String,
}

/// Splits "CONTAINER:PATH"; a local path containing ':' must start with '/' or '.' (Docker's rule).
fn split_container_path(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':')
}

pub fn cp(ctx: &Ctx, args: CpArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    match (
        split_container_path(&args.src),
        split_container_path(&args.dest),
    ) {
        (Some(_), Some(_)) => bail!("copying between containers is not supported"),
        (None, None) => bail!("must specify at least one container source"),
        (Some((container, path)), None) => {
            if args.dest == "-" {
                let out = std::io::stdout().lock();
                ops::archive_out(
                    &mut store,
                    container,
                    path,
                    args.follow_link,
                    out,
                )?;
            } else {
                ops::copy_out(
                    &mut store,
                    container,
                    path,
                    args.dest.as_ref(),
                    args.follow_link,
                )?;
            }
        }
        (None, Some((container, path))) => {
            if args.src == "-" {
                let input = std::io::stdin().lock();
                ops::archive_in(
                    &mut store,
                    container,
                    path,
                    input,
                    true,
                    args.archive,
                )?;
            } else {
                let src = PathBuf::from(&args.src);
                if std::fs::symlink_metadata(&src).is_err() {
                    bail!("lstat {}: no such file or directory", src.display());
                }
                ops::copy_in(
                    &mut store,
                    container,
                    &src,
                    path,
                    args.follow_link,
                    args.archive,
                )?;
            }
        }
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    container: String,
}

pub fn diff(ctx: &Ctx, args: DiffArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    for change in ops::diff(&mut store, &args.container)? {
        println!("{} {}", change.kind, change.path);
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long)]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long)]
    change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long)]
    message: Option<String>,
    /// Pause container during commit
    #[arg(short = 'p', long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pause: bool,
    container: String,
    repository: Option<String>,
}

pub fn commit(ctx: &Ctx, args: CommitArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let id = ops::commit(
        &mut store,
        &args.container,
        &ops::CommitRequest {
            reference: args.repository.clone(),
            changes: args.change.clone(),
            message: args.message.clone().unwrap_or_default(),
            author: args.author.clone().unwrap_or_default(),
            pause: args.pause,
        },
    )?;
    println!("{id}");
    Ok(0)
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    container: String,
}

pub fn export(ctx: &Ctx, args: ExportArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    match &args.output {
        Some(path) => {
            let tmp = path.with_extension("berth-partial");
            let file =
                std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            let result = ops::export(
                &mut store,
                &args.container,
                std::io::BufWriter::new(file),
            );
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
        }
        None => {
            if crate::term::stdout_is_terminal() {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            ops::export(
                &mut store,
                &args.container,
                std::io::stdout().lock(),
            )?;
        }
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct TopArgs {
    container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub fn top(ctx: &Ctx, args: TopArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let (header, rows) = ops::top(&mut store, &args.container, &args.ps_args)?;
    let mut lines = vec![header.join("\t")];
    lines.extend(rows.iter().map(|r| r.join("\t")));
    format::print_aligned(&lines)?;
    Ok(0)
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    no_stream: bool,
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    containers: Vec<String>,
}

pub fn stats(ctx: &Ctx, args: StatsArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let names: Vec<String> = if args.containers.is_empty() {
        model::list(&store)?
            .into_iter()
            .filter(|c| args.all || c.state.status == Status::Running)
            .map(|c| c.id)
            .collect()
    } else {
        args.containers.clone()
    };
    loop {
        let mut rows = Vec::new();
        for name in &names {
            let (c, s) = ops::stats(
                &mut store,
                name,
                std::time::Duration::from_millis(500),
            )?;
            let mem_pct = if s.memory_limit > 0 {
                s.memory_usage as f64 / s.memory_limit as f64 * 100.0
            } else {
                0.0
            };
            rows.push(json!({
                "Container": name,
                "ID": if args.no_trunc { c.id.clone() } else { c.short_id().to_string() },
                "Name": c.name,
                "CPUPerc": format!("{:.2}%", s.cpu_percent),
                "MemUsage": format!("{} / {}", binary_size(s.memory_usage), binary_size(s.memory_limit)),
                "MemPerc": format!("{mem_pct:.2}%"),
                "NetIO": format!("{} / {}", format::human_size(s.net_rx), format::human_size(s.net_tx)),
                "BlockIO": format!("{} / {}", format::human_size(s.block_read), format::human_size(s.block_write)),
                "PIDs": s.pids.to_string(),
            }));
        }
        let format = Format::parse(args.format.as_deref().unwrap_or(
            "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
        ))?;
        let headers = json!({
            "Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
            "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
            "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
        });
        format.print_rows(&headers, &rows)?;
        if args.no_stream {
            return Ok(0);
        }
    }
}

/// Docker's BytesSize (binary units: "1.5MiB").
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    let s = format!("{size:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{}", UNITS[unit])
}

#[derive(Args, Debug)]
pub struct PortArgs {
    container: String,
    private_port: Option<String>,
}

/// `port`: a running container's published ports, as "80/tcp -> 0.0.0.0:8000"
/// lines, or with PRIVATE_PORT[/PROTO] just that port's host addresses.
pub fn port(ctx: &Ctx, args: PortArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let c = lifecycle::lookup(&mut store, &args.container)?;
    let published = if c.state.status.has_monitor() {
        berth_network::published_ports(store.db(), &c.id)?
    } else {
        Vec::new()
    };
    let mut out = std::io::stdout().lock();
    match args.private_port {
        Some(p) => {
            let key = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            let matching: Vec<_> = published.iter().filter(|b| b.port_key() == key).collect();
            if matching.is_empty() {
                bail!("No public port '{key}' published for {}", args.container);
            }
            for b in matching {
                writeln!(out, "{}:{}", b.shown_host_ip(), b.host_port)?;
            }
        }
        None => {
            for b in &published {
                writeln!(
                    out,
                    "{} -> {}:{}",
                    b.port_key(),
                    b.shown_host_ip(),
                    b.host_port
                )?;
            }
        }
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    no_stdin: bool,
    container: String,
}

pub fn attach_cmd(ctx: &Ctx, args: AttachArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let c = lifecycle::lookup(&mut store, &args.container)?;
    if c.state.status != Status::Running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let socket = model::Paths::of(&store, &c.id).attach_socket;
    let stream = berth_engine::monitor::client::connect(&socket)
        .with_context(|| format!("attach to {}", c.id))?;
    Ok(attach_session(
        stream,
        !args.no_stdin && c.spec.open_stdin,
        c.spec.tty,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_like_docker() {
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert_eq!(parse_bytes("64kb").unwrap(), 64 << 10);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn restart_and_ulimit_parsing() {
        assert_eq!(
            parse_restart("on-failure:3").unwrap().maximum_retry_count(),
            3
        );
        assert!(parse_restart("always:3").is_err());
        let u = parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.soft, u.hard), (1024, 2048));
        assert!(parse_ulimit("nofile=2048:1024").is_err());
    }

    #[test]
    fn command_ellipsis_and_cp_paths() {
        assert_eq!(
            ellipsis("sh -c 'while true; do sleep 1; done'", 20),
            "sh -c 'while true; …"
        );
        assert_eq!(split_container_path("web:/etc"), Some(("web", "/etc")));
        assert_eq!(split_container_path("./a:b"), None);
        assert_eq!(split_container_path("/tmp/x"), None);
    }

    #[test]
    fn relative_times() {
        let t = parse_time("10m").unwrap();
        let ago = chrono::Utc::now() - t;
        assert!((599..=601).contains(&ago.num_seconds()));
        assert!(parse_time("10x").is_err());
    }
}
