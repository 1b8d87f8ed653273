//! A bridge network's Linux bridge lives as long as the network, not as
//! long as its last container: the first container's setup does not pay
//! for creating it (nor the last one's teardown for destroying it, which
//! costs the kernel ~40 ms).
//!
//! netavark 1.4 deletes a bridge (and the network's NAT and forwarding
//! rules) when the container it tears down was the last interface on it.
//! So each bridge berth uses holds a **keeper**: one end of a veth pair,
//! both ends down, enslaved to the bridge (`bk` and a hash of the bridge's
//! name; its peer has a `p` more). A veth, because it is the one kind of
//! interface every kernel berth runs on has (some lack `dummy`). The
//! bridge is made here with its gateway addresses, as netavark makes it,
//! when the network is created ([`ensure`]), and again whenever it is
//! missing (after a reboot, or for the default bridge at its first use).
//! netavark finds it and uses it. [`release`] (`network rm`, `prune`)
//! removes the keeper and lets netavark's own teardown, run against a
//! throw-away namespace, remove the bridge and the network's rules.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::endpoints::{Endpoint, EndpointSettings};
use crate::netavark::{self, Request};
use crate::networks::Network;
use crate::{host_dir, netns, nft, NetworkError, Result};

/// Where iproute2's `ip` is installed.
const IP_PATHS: [&str; 4] = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];

/// How long [`release`] waits for the veths of containers that just
/// stopped: the kernel destroys them in the background once their
/// namespace is gone (see `sandbox::teardown`).
const DYING_VETHS_WAIT: Duration = Duration::from_secs(3);

/// The keeper's name: `bk` and eight hex digits of the bridge's name
/// (FNV-1a), within the 15 characters of an interface name.
fn keeper_name(bridge: &str) -> String {
    let hash = bridge.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("bk{hash:08x}")
}

fn device(name: &str) -> PathBuf {
    Path::new("/sys/class/net").join(name)
}

/// Whether the keeper is enslaved to the bridge (both exist).
fn kept(bridge: &str, keeper: &str) -> bool {
    std::fs::read_link(device(keeper).join("master"))
        .is_ok_and(|target| target.file_name().is_some_and(|n| n == bridge))
}

/// The bridge's ports (its keeper included).
fn ports(bridge: &str) -> Vec<String> {
    std::fs::read_dir(device(bridge).join("brif"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Where a bridge is marked as having had netavark set up its network's
/// rules (its first container, before berth set its own): they are
/// removed with the network.
fn ruled_marker(bridge: &str) -> PathBuf {
    host_dir().join("bridges").join(bridge)
}

/// Whether the bridge's only port is berth's keeper: no container uses it.
/// Called when the store records no endpoint on it, so other ports may be
/// the veths of containers that just stopped, which the kernel destroys in
/// the background: they are waited for (up to [`DYING_VETHS_WAIT`]).
pub(crate) fn only_kept(bridge: &str) -> bool {
    let keeper = [keeper_name(bridge)];
    let deadline = Instant::now() + DYING_VETHS_WAIT;
    loop {
        let now = ports(bridge);
        if now == keeper || !now.contains(&keeper[0]) || Instant::now() >= deadline {
            return now == keeper;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Makes the network's bridge and its keeper unless they exist (two
/// `stat`s when they do). Host-wide: serialised with netavark's runs.
pub(crate) fn ensure(n: &Network) -> Result<()> {
    if !n.is_bridge() || n.interface.is_empty() {
        return Ok(());
    }
    let keeper = keeper_name(&n.interface);
    if kept(&n.interface, &keeper) && nft::has_rules(&n.interface) {
        return Ok(());
    }
    let _lock = netavark::lock()?;
    if !kept(&n.interface, &keeper) {
        make(n, &keeper)?;
    }
    nft::ensure_network(n)
}

/// Makes the bridge (unless it exists) with its keeper.
fn make(n: &Network, keeper: &str) -> Result<()> {
    let bridge = &n.interface;
    let mtu = n.mtu().map(|m| format!(" mtu {m}")).unwrap_or_default();
    let mut batch = String::new();
    let created = !device(bridge).exists();
    if created {
        // A bridge made anew (after a reboot, or deleted behind berth's
        // back) may have lost its network's rules: its next container goes
        // through netavark, which sets them again.
        let marker = ruled_marker(bridge);
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| NetworkError::io(&marker, e))?;
        }
        nft::forget_network(bridge)?;
        // As netavark makes it: the gateways' addresses with the subnets'
        // prefixes (IPv6 without duplicate address detection), up.
        batch.push_str(&format!("link add {bridge}{mtu} type bridge\n"));
        if let (Some(subnet), Some(gateway)) = (n.subnet, n.gateway) {
            let prefix = subnet.prefix_len();
            batch.push_str(&format!("address add {gateway}/{prefix} dev {bridge}\n"));
        }
        if let Some(pool) = n.ipv6() {
            let (gateway, prefix) = (pool.gateway, pool.subnet.prefix_len());
            batch.push_str(&format!(
                "address add {gateway}/{prefix} dev {bridge} nodad\n"
            ));
        }
        batch.push_str(&format!("link set {bridge} up\n"));
    }
    // The keeper has the bridge's MTU: a bridge takes its ports' smallest.
    if !device(keeper).exists() {
        batch.push_str(&format!(
            "link add {keeper}{mtu} type veth peer name {keeper}p{mtu}\n"
        ));
    }
    batch.push_str(&format!("link set {keeper}{mtu} master {bridge}\n"));
    if let Err(e) = ip_batch(&batch) {
        if created {
            let _ = ip_batch(&format!("link del {bridge}\n"));
        }
        return Err(e);
    }
    if created && n.ipv6().is_some() {
        // netavark's settings for an IPv6 bridge: no DAD, no router ads.
        for (key, value) in [("accept_dad", "0"), ("accept_ra", "0")] {
            let path = Path::new("/proc/sys/net/ipv6/conf").join(bridge).join(key);
            std::fs::write(&path, value).map_err(|e| NetworkError::io(&path, e))?;
        }
    }
    Ok(())
}

/// Removes the network's bridge and rules (`network rm`): the keeper
/// goes, then netavark's teardown of a stand-in container removes the
/// bridge, now without ports, and the network's NAT and forwarding rules,
/// as it does for a last container. A bridge with other ports (containers
/// of another berth root sharing it) is left to them.
pub(crate) fn release(n: &Network) -> Result<()> {
    if !n.is_bridge() || n.interface.is_empty() {
        return Ok(());
    }
    let bridge = &n.interface;
    let keeper = keeper_name(bridge);
    {
        let _lock = netavark::lock()?;
        if device(&keeper).exists() {
            ip_batch(&format!("link del {keeper}\n"))?;
        }
    }
    if !device(bridge).exists() {
        return nft::release_network(bridge);
    }
    let deadline = Instant::now() + DYING_VETHS_WAIT;
    while !ports(bridge).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if !ports(bridge).is_empty() {
        return Ok(());
    }
    nft::release_network(bridge)?;
    // A bridge whose rules netavark set (before berth set its own).
    let marker = ruled_marker(bridge);
    let (true, Some(ipv4), Some(_)) = (marker.exists(), n.gateway, n.subnet) else {
        return ip_batch(&format!("link del {bridge}\n"));
    };
    // The stand-in: a namespace of its own with a veth `eth0` for
    // netavark to delete, and no DNS (aardvark-dns has no record of it).
    let dir = host_dir().join("release");
    let path = dir.join("netns").join(bridge);
    let _ = netns::remove(&path);
    netns::create(&path)?;
    let outcome = in_namespace(&path, "link add eth0 type veth peer name eth1\n").and_then(|()| {
        let mut network = n.clone();
        network.dns = false;
        let stand_in = Endpoint {
            id: String::new(),
            container_id: n.id.clone(),
            container_name: String::new(),
            network,
            interface: "eth0".into(),
            ipv4,
            ipv6: n.ipv6().map(|p| p.gateway),
            mac: String::new(),
            aliases: Vec::new(),
            settings: EndpointSettings::default(),
        };
        netavark::teardown(
            &dir,
            &path,
            &Request {
                container_id: &n.id,
                container_name: "",
                endpoints: &[&stand_in],
                ports: &[],
                dns_servers: &[],
            },
        )
    });
    let removed = netns::remove(&path);
    outcome.and(removed)?;
    std::fs::remove_file(&marker).map_err(|e| NetworkError::io(&marker, e))
}

/// Runs `ip -batch` inside the namespace mounted at `netns` (from a
/// thread that entered it: a child inherits its thread's namespace).
fn in_namespace(netns: &Path, batch: &str) -> Result<()> {
    let ns = std::fs::File::open(netns).map_err(|e| NetworkError::io(netns, e))?;
    let batch = batch.to_string();
    std::thread::spawn(move || -> Result<()> {
        use std::os::fd::AsFd;
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .map_err(|e| NetworkError::io("setns", e.into()))?;
        ip_batch(&batch)
    })
    .join()
    .unwrap_or_else(|_| Err(NetworkError::Conflict("netns thread panicked".into())))
}

/// `ip -batch -` with `batch` on stdin: one process for every change.
fn ip_batch(batch: &str) -> Result<()> {
    let ip = IP_PATHS
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .ok_or_else(|| NetworkError::Ip("not found: apt-get install iproute2".into()))?;
    let mut child = Command::new(ip)
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetworkError::io(ip, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(batch.as_bytes())
            .map_err(|e| NetworkError::io(ip, e))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| NetworkError::io(ip, e))?;
    if output.status.success() {
        return Ok(());
    }
    Err(NetworkError::Ip(format!(
        "{}: {}",
        batch.trim().replace('\n', "; "),
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepers_are_interface_names_per_bridge() {
        let a = keeper_name("berth0");
        assert_eq!(a.len(), 10);
        assert_ne!(a, keeper_name("berth1"));
        assert_eq!(a, keeper_name("berth0"));
    }
}
