//! A container's interface on a bridge, made in-process over netlink, as
//! netavark makes it but without its process nor its ~17 `iptables` runs
//! (it checks every network rule again at each setup): one `RTM_NEWLINK`
//! makes the veth pair with the host end up on the bridge and the container
//! end, with its MAC, in the container's namespace; then, from a thread in
//! that namespace, IPv6 autoconfiguration off, its addresses, the link up,
//! its default routes (none on an internal network) and its
//! `--link-local-ip` addresses.
//!
//! Every endpoint on a bridge network ([`wires`]); the network's rules
//! (masquerade, forwarding) are set once per bridge
//! (`nft::ensure_network`) and its published ports in one nftables batch
//! (`nft::add_ports`). Names on networks with name resolution are the
//! container's resolver's (`resolver`), read from the store. The veth goes
//! with the namespace at teardown.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::Path;

use crate::endpoints::{parse_mac, Endpoint};
use crate::netavark::Request;
use crate::netlink::{self, Route};
use crate::{bridges, nft, NetworkError, Result};

/// How many random host-end names are tried before giving up (a name is
/// taken only while another veth of that name exists, say one the kernel
/// is still destroying).
const NAME_TRIES: usize = 8;

/// Whether the endpoint has an interface to make: a bridge network's.
pub(crate) fn wires(e: &Endpoint) -> bool {
    let n = &e.network;
    n.is_bridge() && !n.interface.is_empty() && n.subnet.is_some()
}

/// Makes the endpoint's veth, addresses and routes; the container's
/// namespace is mounted at `netns`.
pub(crate) fn wire(netns: &Path, e: &Endpoint) -> Result<()> {
    let failed = |step: &str, err: io::Error| {
        NetworkError::io(format!("{}: {step} {}", netns.display(), e.interface), err)
    };
    let n = &e.network;
    forwarding(n.ipv6().is_some())?;
    let mac = parse_mac(&e.mac)?;
    let master = netlink::index(&n.interface).map_err(|err| failed("bridge", err))?;
    let ns = std::fs::File::open(netns).map_err(|err| NetworkError::io(netns, err))?;
    let mut socket = Route::open().map_err(|err| failed("netlink", err))?;
    let mut tries = 0;
    loop {
        let host = format!("veth{:08x}", rand::random::<u32>());
        match socket.add_veth(&host, master, n.mtu(), &e.interface, mac, ns.as_fd()) {
            Ok(()) => break,
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) && tries < NAME_TRIES => {
                // Ours in the namespace cannot exist (setup made it anew);
                // the host end's random name was taken.
                tries += 1;
            }
            Err(err) => return Err(failed("veth", err)),
        }
    }
    let interface = e.interface.clone();
    let prefix = n.subnet.map_or(32, |s| s.prefix_len());
    let ipv4 = (IpAddr::V4(e.ipv4), prefix);
    let ipv6 = e.ipv6.map(|ip| (IpAddr::V6(ip), e.ipv6_prefix_len()));
    let gateways: Vec<IpAddr> = if n.internal {
        Vec::new()
    } else {
        n.gateway
            .map(IpAddr::V4)
            .into_iter()
            .chain(e.ipv6.and(e.ipv6_gateway()).map(IpAddr::V6))
            .collect()
    };
    let link_local: Vec<IpAddr> = e
        .settings
        .link_local_ips
        .iter()
        .filter_map(|ip| ip.parse().ok())
        .collect();
    netlink::in_namespace(netns, move || {
        let index = netlink::index(&interface)?;
        let mut socket = Route::open()?;
        // netavark's: no address from router advertisements.
        let autoconf = format!("/proc/sys/net/ipv6/conf/{interface}/autoconf");
        match std::fs::write(&autoconf, "0") {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        for (ip, prefix) in std::iter::once(ipv4).chain(ipv6) {
            socket.add_address(index, ip, prefix)?;
        }
        socket.set_up(index)?;
        for gateway in gateways {
            // A second network (`network connect`): the default route
            // stays the first network's, as Docker keeps one gateway.
            match socket.add_default_route(index, gateway) {
                Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {}
                other => other?,
            }
        }
        for ip in link_local {
            socket.add_address(index, ip, if ip.is_ipv4() { 16 } else { 64 })?;
        }
        Ok(())
    })
    .map_err(|err| failed("addresses", err))
}

/// Forwarding on for the host (netavark turns it on at each setup; a
/// read when it is on).
fn forwarding(ipv6: bool) -> Result<()> {
    let mut keys = vec!["/proc/sys/net/ipv4/ip_forward"];
    if ipv6 {
        keys.push("/proc/sys/net/ipv6/conf/all/forwarding");
    }
    for key in keys {
        let on = std::fs::read_to_string(key).is_ok_and(|v| v.trim() == "1");
        if !on {
            std::fs::write(key, "1").map_err(|e| NetworkError::io(key, e))?;
        }
    }
    Ok(())
}

/// Wires the endpoints of `request` into the namespace at `netns`: the
/// bridge and its rules if missing, the interface, then the published
/// ports.
pub(crate) fn plug(netns: &Path, request: &Request) -> Result<()> {
    for e in request.endpoints {
        bridges::ensure(&e.network)?;
        if wires(e) {
            wire(netns, e)?;
        }
        berth_store::crash::point("start", "network-plugged");
        nft::add_ports(request.container_id, e, request.ports)?;
    }
    Ok(())
}

/// Undoes [`plug`] in a namespace that stays (`network disconnect`, a
/// failed `network connect`): the published ports' rules, then the
/// interfaces, deleted in-process (a veth: its host end goes with it).
pub(crate) fn unplug(netns: &Path, request: &Request) -> Result<()> {
    if !request.ports.is_empty() {
        nft::remove_ports(request.container_id)?;
    }
    let interfaces: Vec<String> = request
        .endpoints
        .iter()
        .map(|e| e.interface.clone())
        .collect();
    netlink::in_namespace(netns, move || {
        let mut socket = Route::open()?;
        for interface in interfaces {
            match netlink::index(&interface) {
                Ok(index) => socket.del_link(index)?,
                Err(err) if err.raw_os_error() == Some(libc::ENODEV) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    })
    .map_err(|err| NetworkError::io(format!("{}: deleting interfaces", netns.display()), err))
}
