//! `create` and `run` flags, read into the engine's `CreateRequest`
//! (pure parsing, but for a `seccomp=FILE` profile read as Docker's CLI does).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _, Result};
use berth_engine::container::create::CreateRequest;
use berth_engine::grammar;
use berth_engine::model::{HostSpec, RestartPolicy, Ulimit};
use clap::{ArgAction, Args};

use crate::commands::resources::{parse_bytes, HostFlags};

// Flags shared by `create` and `run` (a plain comment: as a doc comment it
// would be the `about` of both when their grammar is built, deferred).
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
    pub(super) interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub(super) tty: bool,
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
    /// (docker's CLI sends "default" when not given: the default bridge)
    #[arg(long = "network", alias = "net", default_value = "default")]
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
    #[command(flatten)]
    endpoint: crate::commands::network::EndpointFlags,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout")]
    stop_timeout: Option<i64>,
    /// Size of /dev/shm
    #[arg(long = "shm-size")]
    shm_size: Option<String>,
    #[command(flatten)]
    health_log: crate::commands::health_log::HealthLogFlags,
    #[command(flatten)]
    host_flags: HostFlags,
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
    pub(super) flags: CreateFlags,
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub(super) detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub(super) detach_keys: Option<String>,
    #[command(flatten)]
    pub(super) flags: CreateFlags,
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

pub(crate) fn parse_restart(s: &str) -> Result<RestartPolicy> {
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
    Ok(RestartPolicy::from_parts(name, count).map_err(berth_engine::Error::from)?)
}

/// `--cap-add`/`--cap-drop` as the docker CLI (23 and later) sends them:
/// upper case with the `CAP_` prefix, once each, sorted; `ALL` stands alone;
/// a capability also added is not dropped.
fn effective_caps(caps: &[String], added: &[String]) -> Vec<String> {
    let normal = |c: &String| {
        let c = c.trim().to_ascii_uppercase();
        if c == "ALL" || c.starts_with("CAP_") {
            c
        } else {
            format!("CAP_{c}")
        }
    };
    let added: Vec<String> = added.iter().map(normal).collect();
    let mut out: Vec<String> = caps.iter().map(normal).collect();
    if out.iter().any(|c| c == "ALL") {
        return vec!["ALL".into()];
    }
    out.retain(|c| !added.contains(c));
    out.sort();
    out.dedup();
    out
}

/// `KEY=VALUE` stays; a bare `KEY` takes the value from the CLI's
/// environment. Unset, the docker CLI sends it bare from `-e` (the engine
/// then unsets it in the process) and drops it from an `--env-file`.
pub(super) fn resolve_env(entries: &[String], out: &mut Vec<String>, keep_unset: bool) {
    for e in entries {
        if e.contains('=') {
            out.push(e.clone());
        } else if let Ok(v) = std::env::var(e) {
            out.push(format!("{e}={v}"));
        } else if keep_unset {
            out.push(e.clone());
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
    resolve_env(&lines, out, false);
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
pub(super) fn request(flags: &CreateFlags) -> Result<CreateRequest> {
    let mut env = Vec::new();
    for file in &flags.env_file {
        read_env_file(file, &mut env)?;
    }
    resolve_env(&flags.env, &mut env, true);
    let mut args = flags.args.iter();
    let image = args
        .next()
        .cloned()
        .ok_or_else(|| anyhow!("requires at least 1 argument"))?;
    // A flag berth does not know lands here, before the image (clap takes
    // everything from the first unknown word on as IMAGE [COMMAND]):
    // Docker's words for it rather than an invalid image reference.
    if image.starts_with('-') {
        bail!(
            "unknown flag: {}\nSee 'berth run --help'.",
            image.split('=').next().unwrap_or_default()
        );
    }
    let cmd: Vec<String> = args.cloned().collect();
    let mut mounts = Vec::new();
    for m in &flags.mount {
        mounts.push(grammar::parse_mount_request(m).map_err(berth_engine::Error::from)?);
    }
    let mut tmpfs = BTreeMap::new();
    for t in &flags.tmpfs {
        let (dest, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
        tmpfs.insert(dest.to_string(), opts.to_string());
    }
    let mut port_bindings = Vec::new();
    for p in &flags.publish {
        port_bindings
            .extend(grammar::parse_publish(p).map_err(|e| {
                anyhow!("invalid argument \"{p}\" for \"-p, --publish\" flag: {e}")
            })?);
    }
    // Docker exposes every published port too.
    let mut expose = flags.expose.clone();
    expose.extend(port_bindings.iter().map(|b| b.port_key()));
    let mut host = HostSpec {
        auto_remove: flags.rm,
        restart_policy: parse_restart(&flags.restart)?,
        privileged: flags.privileged,
        read_only_rootfs: flags.read_only,
        cap_add: effective_caps(&flags.cap_add, &[]),
        cap_drop: effective_caps(&flags.cap_drop, &flags.cap_add),
        security_opt: crate::commands::security_opt::client_side(&flags.security_opt)?,
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
        endpoint: berth_engine::model::EndpointSettings {
            aliases: flags.network_alias.clone(),
            ipv4_address: flags.ip.clone().unwrap_or_default(),
            ..Default::default()
        },
        links: Vec::new(),
        dns_search: Vec::new(),
        dns_options: Vec::new(),
        network_disabled: false,
        // The engine's default runtime (`--runtime`), filled in by create.
        runtime: String::new(),
        log_config: flags.health_log.log_config()?,
        // From the resource and namespace flags, just below.
        resources: Default::default(),
        modes: Default::default(),
        // Docker's CLI has no flag for its own lists (`systempaths=unconfined`
        // is refused with the other unknown security options).
        masked_paths: None,
        readonly_paths: None,
    };
    flags.endpoint.apply(&mut host);
    flags.host_flags.apply(&mut host)?;
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
        // As the docker CLI: stdout and stderr, stdin with -i (`run -d`
        // clears them).
        attach_stdin: flags.interactive,
        // As the docker CLI: stdin is closed when the attached client ends
        // (`run -d` clears it).
        stdin_once: flags.interactive,
        attach_stdout: true,
        attach_stderr: true,
        stop_signal: flags.stop_signal.clone(),
        stop_timeout: flags.stop_timeout,
        expose,
        healthcheck: flags.health_log.healthcheck()?,
        shell: None,
        console_size: [0, 0],
        host,
        endpoints_config: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_as_the_docker_cli_sends_them() {
        let v = |s: &[&str]| s.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            effective_caps(&v(&["net_admin", "CAP_SYS_TIME", "NET_ADMIN"]), &[]),
            v(&["CAP_NET_ADMIN", "CAP_SYS_TIME"])
        );
        assert_eq!(effective_caps(&v(&["all", "chown"]), &[]), v(&["ALL"]));
        assert_eq!(
            effective_caps(&v(&["MKNOD", "CHOWN"]), &v(&["cap_chown"])),
            v(&["CAP_MKNOD"])
        );
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
}
