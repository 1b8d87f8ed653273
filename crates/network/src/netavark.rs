//! Running netavark, now only to remove what it set for a bridge before
//! berth set its own rules (`bridges::release` of a network whose first
//! container went through netavark before berth wired bridges itself):
//! `netavark --config DIR setup|teardown NETNS` with the
//! container's networks as JSON on stdin (netavark's `NetworkOptions`, as
//! podman sends it). netavark's own state (aardvark-dns' records and process)
//! lives in the berth root's run directory. Calls are serialised host-wide by
//! a lock file, as podman does: two setups creating the same bridge or
//! iptables chains at once would trip over each other, and bridges and
//! chains are the host's whatever the run directory.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_store::FileLock;
use serde_json::{json, Value};

use crate::endpoints::Endpoint;
use crate::ports::PortBinding;
use crate::{host_dir, NetworkError, Result};

/// Where Debian (and other distributions) install podman's helpers.
const HELPER_DIRS: [&str; 4] = [
    "/usr/libexec/podman",
    "/usr/lib/podman",
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
];

/// One netavark invocation's worth of a container's networking.
pub(crate) struct Request<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub endpoints: &'a [&'a Endpoint],
    pub ports: &'a [PortBinding],
    /// `--dns` servers, which aardvark-dns forwards to for this container.
    pub dns_servers: &'a [String],
}

pub(crate) fn teardown(run_dir: &Path, netns: &Path, request: &Request) -> Result<()> {
    run("teardown", run_dir, netns, request)
}

/// The host-wide lock that serialises netavark's runs and the changes
/// berth makes to bridges itself (see `bridges`).
pub(crate) fn lock() -> Result<FileLock> {
    let dir = host_dir();
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
    Ok(FileLock::acquire(&dir.join("netavark.lock"))?)
}

fn helper(name: &str) -> Result<PathBuf> {
    let path_dirs = std::env::var_os("PATH").unwrap_or_default();
    HELPER_DIRS
        .iter()
        .map(PathBuf::from)
        .chain(std::env::split_paths(&path_dirs))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| NetworkError::Netavark {
            command: name.to_string(),
            message: format!("{name} not found: apt-get install netavark aardvark-dns"),
        })
}

fn options(request: &Request) -> Value {
    let mut networks = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    // netavark names its iptables chains and aardvark-dns files after the
    // network's name: berth gives it the bridge's, so every berth root that
    // uses the same bridge (the default `berth0`) shares the same rules.
    for e in request.endpoints {
        let n = &e.network;
        let static_ips: Vec<String> = std::iter::once(e.ipv4.to_string())
            .chain(e.ipv6.map(|ip| ip.to_string()))
            .collect();
        networks.insert(
            n.interface.clone(),
            json!({
                "aliases": dns_names(request.container_name, e),
                "interface_name": e.interface,
                "static_ips": static_ips,
                "static_mac": e.mac,
            }),
        );
        let mut subnets = vec![json!({
            "subnet": n.subnet.map(|s| s.to_string()),
            "gateway": n.gateway.map(|g| g.to_string()),
        })];
        if let Some(pool) = n.ipv6() {
            subnets.push(json!({
                "subnet": pool.subnet.to_string(),
                "gateway": pool.gateway.to_string(),
            }));
        }
        let mut driver_options = serde_json::Map::new();
        if let Some(mtu) = n.mtu() {
            driver_options.insert("mtu".into(), json!(mtu.to_string()));
        }
        info.insert(
            n.interface.clone(),
            json!({
                "name": n.interface,
                "id": n.id,
                "driver": "bridge",
                "network_interface": n.interface,
                "subnets": subnets,
                "ipv6_enabled": n.ipv6().is_some(),
                "internal": n.internal,
                "dns_enabled": n.dns,
                "ipam_options": {"driver": "host-local"},
                "options": driver_options,
            }),
        );
    }
    let ports: Vec<Value> = request
        .ports
        .iter()
        .map(|p| {
            json!({
                "host_ip": p.host_ip,
                "container_port": p.container_port,
                "host_port": p.host_port,
                "range": 1,
                "protocol": p.protocol,
            })
        })
        .collect();
    let dns: Vec<&String> = request
        .dns_servers
        .iter()
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
        .collect();
    json!({
        "container_id": request.container_id,
        "container_name": request.container_name,
        "networks": networks,
        "network_info": info,
        "port_mappings": ports,
        "dns_servers": if dns.is_empty() { Value::Null } else { json!(dns) },
    })
}

/// The names aardvark-dns answers for an endpoint besides the container's
/// name: its aliases and, as Docker's resolver does, `NAME.NETWORK` for the
/// name and each alias when the network's name can be part of a DNS name.
fn dns_names(container_name: &str, e: &Endpoint) -> Vec<String> {
    let mut names = e.aliases.clone();
    let network = &e.network.name;
    let dns_label = !network.is_empty()
        && network
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if e.network.dns && dns_label {
        let short_id = &e.container_id[..12.min(e.container_id.len())];
        let qualified: Vec<String> = std::iter::once(container_name)
            .chain(
                e.aliases
                    .iter()
                    .map(String::as_str)
                    .filter(|a| *a != short_id),
            )
            .map(|n| format!("{n}.{network}"))
            .collect();
        names.extend(qualified);
    }
    names
}

fn run(command: &str, run_dir: &Path, netns: &Path, request: &Request) -> Result<()> {
    let netavark = helper("netavark")?;
    let aardvark = helper("aardvark-dns")?;
    let dir = run_dir.join("netavark");
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
    let _lock = lock()?;
    // aardvark-dns, started by netavark, inherits netavark's stdout and stderr
    // and lives on: they go to files, not pipes that would never see EOF.
    let mut out = tempfile::tempfile().map_err(|e| NetworkError::io(&dir, e))?;
    let mut err = tempfile::tempfile().map_err(|e| NetworkError::io(&dir, e))?;
    let stdio = |f: &std::fs::File| -> Result<Stdio> {
        Ok(Stdio::from(
            f.try_clone().map_err(|e| NetworkError::io(&dir, e))?,
        ))
    };
    let mut child = Command::new(&netavark)
        .arg("--config")
        .arg(&dir)
        .arg("--aardvark-binary")
        .arg(&aardvark)
        .arg(command)
        .arg(netns)
        .stdin(Stdio::piped())
        .stdout(stdio(&out)?)
        .stderr(stdio(&err)?)
        .env_remove("RUST_LOG")
        .spawn()
        .map_err(|e| NetworkError::io(&netavark, e))?;
    let input = options(request).to_string();
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| NetworkError::io(&netavark, e))?;
    }
    let status = child.wait().map_err(|e| NetworkError::io(&netavark, e))?;
    if status.success() {
        return Ok(());
    }
    let read = |f: &mut std::fs::File| {
        let mut text = String::new();
        let _ = f.rewind();
        let _ = f.read_to_string(&mut text);
        text
    };
    let stdout = read(&mut out);
    // Errors come as {"error": "..."} on stdout; anything else is on stderr.
    let message = serde_json::from_str::<Value>(stdout.trim())
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            let stderr = read(&mut err);
            format!("{status}: {}", stderr.trim())
        });
    Err(NetworkError::Netavark {
        command: command.to_string(),
        message,
    })
}
