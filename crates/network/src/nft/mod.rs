//! Published ports and a network's NAT, set in-process in berth's own
//! nftables table `inet berth`, one atomic batch per change (see `wire`).
//!
//! The table has three base chains, each run just before the chain of the
//! same hook that iptables-nft (Docker's rules, old netavark rules) uses,
//! so that berth's translation is the one that takes (the first NAT chain
//! that maps a connection decides it):
//! * `prerouting` (nat, dstnat − 1) and `output` (nat, dstnat − 1): a
//!   container's published ports, `[ip daddr HOST_IP] | fib daddr type
//!   local`, protocol and port → `dnat` to the container's address and port.
//!   `output` makes them reach from the host itself, `127.0.0.1` included
//!   (the bridge gets `route_localnet`, as netavark sets it).
//! * `postrouting` (nat, srcnat − 1): a network's masquerade (its subnet
//!   leaving by another interface than its bridge, unless it is internal),
//!   and the masquerade of connections translated back onto the bridge
//!   from the host's loopback or from the bridge's own subnet (hairpin: a
//!   container reaching a published port of its own network).
//!
//! Every rule carries a tag (its netlink userdata, a comment as `nft list`
//! shows it): `c:<container id>` for a container's ports, `n:<bridge>` for
//! a network's rules. Removing them is
//! one dump of the table and one batch deleting the rules of that tag, and
//! works whatever state a killed process left: setup adds its rules in one
//! batch after the rows that name them are committed, teardown deletes
//! them before it deletes the rows, so the next `teardown` (the next
//! command, `system check`) finds and removes what a crash left.
//!
//! Forwarding is not NAT: a forwarded packet is dropped by any base chain
//! of the hook that drops it, and Docker sets iptables' `FORWARD` policy to
//! DROP. So a network's forwarding is accepted where that policy is, by two
//! `iptables` rules per bridge set once when the bridge first gets its
//! rules ([`ensure_network`], not per container) and removed with the
//! network (see `forward`).

mod forward;
mod wire;

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ipnet::IpNet;

use crate::endpoints::Endpoint;
use crate::networks::Network;
use crate::ports::PortBinding;
use crate::{host_dir, NetworkError, Result};
use wire::{Base, Batch, Expr, Op, Socket};

const TABLE: &str = "berth";
const NFPROTO_INET: u8 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const NF_INET_PRE_ROUTING: u32 = 0;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_INET_POST_ROUTING: u32 = 4;
/// iptables' nat chains' priorities (`NF_IP_PRI_NAT_DST`, `_SRC`).
const DSTNAT: i32 = -100;
const SRCNAT: i32 = 100;
const NFT_META_OIFNAME: u32 = 7;
const NFT_META_NFPROTO: u32 = 15;
const NFT_META_L4PROTO: u32 = 16;
const NFT_CT_STATUS: u32 = 2;
const IPS_DST_NAT: u32 = 1 << 5;
const RTN_LOCAL: u32 = 2;

fn failed(what: String, err: io::Error) -> NetworkError {
    NetworkError::io(PathBuf::from(format!("nftables: {what}")), err)
}

/// The table and its base chains, unless they exist (every batch starts
/// with them: a table deleted behind berth's back comes back).
fn batch() -> Batch {
    let mut b = Batch::new();
    b.table(NFPROTO_INET, TABLE);
    for (chain, hook, priority) in [
        ("prerouting", NF_INET_PRE_ROUTING, DSTNAT - 1),
        ("output", NF_INET_LOCAL_OUT, DSTNAT - 1),
        ("postrouting", NF_INET_POST_ROUTING, SRCNAT - 1),
    ] {
        b.base_chain(NFPROTO_INET, TABLE, chain, "nat", hook, priority);
    }
    b
}

/// A rule's tag as its userdata: a comment, in the TLV that `nft`
/// shows (`comment "c:…"`): type 0, length, the text with its NUL.
fn userdata(text: String) -> Vec<u8> {
    let mut out = vec![0, (text.len() + 1) as u8];
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    out
}

fn container_tag(container_id: &str) -> Vec<u8> {
    userdata(format!("c:{container_id}"))
}

fn network_tag(bridge: &str) -> Vec<u8> {
    userdata(format!("n:{bridge}"))
}

/// Adds to `b` the deletion of every rule tagged `tag`.
fn delete_tagged(socket: &Socket, b: &mut Batch, tag: &[u8]) -> io::Result<()> {
    for rule in socket.rules(NFPROTO_INET, TABLE)? {
        if rule.userdata == tag {
            b.delete_rule(NFPROTO_INET, TABLE, &rule.chain, rule.handle);
        }
    }
    Ok(())
}

/// Matches the packet's family and an address field (`saddr` or not) in
/// `net`.
fn address_in(net: IpNet, saddr: bool) -> Vec<Expr> {
    let (proto, offset) = match (net, saddr) {
        (IpNet::V4(_), true) => (NFPROTO_IPV4, 12),
        (IpNet::V4(_), false) => (NFPROTO_IPV4, 16),
        (IpNet::V6(_), true) => (NFPROTO_IPV6, 8),
        (IpNet::V6(_), false) => (NFPROTO_IPV6, 24),
    };
    let (network, mask) = match net {
        IpNet::V4(n) => (n.network().octets().to_vec(), n.netmask().octets().to_vec()),
        IpNet::V6(n) => (n.network().octets().to_vec(), n.netmask().octets().to_vec()),
    };
    vec![
        Expr::Meta(NFT_META_NFPROTO),
        Expr::Cmp(Op::Eq, vec![proto]),
        Expr::Payload(Base::Network, offset, network.len() as u32),
        Expr::Mask(mask),
        Expr::Cmp(Op::Eq, network),
    ]
}

fn oifname(op: Op, name: &str) -> Vec<Expr> {
    let mut value = name.as_bytes().to_vec();
    value.push(0);
    vec![Expr::Meta(NFT_META_OIFNAME), Expr::Cmp(op, value)]
}

/// The network's subnets (IPv4, and IPv6 when enabled).
fn subnets(n: &Network) -> Vec<IpNet> {
    n.subnet
        .map(IpNet::V4)
        .into_iter()
        .chain(n.ipv6().map(|p| IpNet::V6(p.subnet)))
        .collect()
}

/// Where a bridge is marked as having berth's rules (host-wide, on a
/// tmpfs: they go together at a reboot).
fn marker(bridge: &str) -> PathBuf {
    host_dir().join("nft").join(bridge)
}

/// Whether the bridge has its rules (a `stat`).
pub(crate) fn has_rules(bridge: &str) -> bool {
    marker(bridge).exists()
}

/// Gives the network its rules once per bridge: masquerade, hairpin and
/// loopback masquerade, forwarding accepted, `route_localnet` on the
/// bridge. Called with the host-wide network lock held, so two containers
/// never set them at once; a crash before the mark is written leaves rules
/// that the next call replaces.
pub(crate) fn ensure_network(n: &Network) -> Result<()> {
    let bridge = &n.interface;
    let mark = marker(bridge);
    if mark.exists() {
        return Ok(());
    }
    let tag = network_tag(bridge);
    let socket = Socket::open().map_err(|e| failed("socket".into(), e))?;
    let mut b = batch();
    delete_tagged(&socket, &mut b, &tag).map_err(|e| failed(format!("listing {TABLE}"), e))?;
    for net in subnets(n) {
        if !n.internal {
            let mut outgoing = address_in(net, true);
            outgoing.extend(oifname(Op::Neq, bridge));
            outgoing.push(Expr::Masquerade);
            b.rule(NFPROTO_INET, TABLE, "postrouting", &outgoing, &tag);
        }
        let mut hairpin = address_in(net, true);
        hairpin.extend(oifname(Op::Eq, bridge));
        hairpin.extend(translated());
        hairpin.push(Expr::Masquerade);
        b.rule(NFPROTO_INET, TABLE, "postrouting", &hairpin, &tag);
    }
    let loopback: IpNet = "127.0.0.0/8".parse().expect("a literal network");
    let mut local = address_in(loopback, true);
    local.extend(oifname(Op::Eq, bridge));
    local.push(Expr::Masquerade);
    b.rule(NFPROTO_INET, TABLE, "postrouting", &local, &tag);
    socket
        .apply(b)
        .map_err(|e| failed(format!("rules of {bridge}"), e))?;
    let key = format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet");
    std::fs::write(&key, "1").map_err(|e| NetworkError::io(&key, e))?;
    forward::accept(bridge, n.internal)?;
    let dir = host_dir().join("nft");
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
    std::fs::write(&mark, "").map_err(|e| NetworkError::io(&mark, e))
}

/// Forgets that the bridge has its rules (it was made anew: they are set
/// again with its first container).
pub(crate) fn forget_network(bridge: &str) -> Result<()> {
    let mark = marker(bridge);
    match std::fs::remove_file(&mark) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(NetworkError::io(&mark, e)),
        _ => Ok(()),
    }
}

/// Removes the network's rules (`network rm`).
pub(crate) fn release_network(bridge: &str) -> Result<()> {
    let socket = Socket::open().map_err(|e| failed("socket".into(), e))?;
    let mut b = Batch::new();
    delete_tagged(&socket, &mut b, &network_tag(bridge))
        .map_err(|e| failed(format!("listing {TABLE}"), e))?;
    socket
        .apply(b)
        .map_err(|e| failed(format!("removing the rules of {bridge}"), e))?;
    forward::remove(bridge)?;
    forget_network(bridge)
}

/// `ct status dnat`: a connection whose destination was translated.
fn translated() -> Vec<Expr> {
    vec![
        Expr::Ct(NFT_CT_STATUS),
        Expr::Mask(IPS_DST_NAT.to_ne_bytes().to_vec()),
        Expr::Cmp(Op::Neq, 0u32.to_ne_bytes().to_vec()),
    ]
}

/// The DNAT rule of one published port to the address `target`, or none
/// when the port's host address is of the other family.
fn dnat(p: &PortBinding, target: IpAddr) -> Option<Vec<Expr>> {
    let host: Option<IpAddr> = match p.host_ip.as_str() {
        "" | "0.0.0.0" | "::" => None,
        ip => Some(ip.parse().ok()?),
    };
    let any_v6 = p.host_ip == "::";
    let proto = match target {
        IpAddr::V4(_) if host.is_some_and(|h| h.is_ipv6()) || any_v6 => return None,
        IpAddr::V6(_) if host.is_some_and(|h| h.is_ipv4()) => return None,
        IpAddr::V4(_) => NFPROTO_IPV4,
        IpAddr::V6(_) => NFPROTO_IPV6,
    };
    let mut e = match host {
        Some(ip) => address_in(IpNet::from(ip), false),
        None => vec![
            Expr::Meta(NFT_META_NFPROTO),
            Expr::Cmp(Op::Eq, vec![proto]),
            Expr::FibDaddrType,
            Expr::Cmp(Op::Eq, RTN_LOCAL.to_ne_bytes().to_vec()),
        ],
    };
    e.extend(translate(
        &p.protocol,
        p.host_port,
        target,
        p.container_port,
        proto,
    ));
    Some(e)
}

/// `PROTOCOL dport PORT dnat to TARGET:TO_PORT`.
fn translate(protocol: &str, port: u16, target: IpAddr, to_port: u16, family: u8) -> Vec<Expr> {
    let l4 = if protocol == "udp" {
        libc::IPPROTO_UDP
    } else {
        libc::IPPROTO_TCP
    } as u8;
    vec![
        Expr::Meta(NFT_META_L4PROTO),
        Expr::Cmp(Op::Eq, vec![l4]),
        Expr::Payload(Base::Transport, 2, 2),
        Expr::Cmp(Op::Eq, port.to_be_bytes().to_vec()),
        Expr::Load(match target {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        }),
        Expr::Port(to_port),
        Expr::Dnat(family),
    ]
}

/// In the calling thread's network namespace (a container's, where the
/// rules go with the namespace): `ip:53` redirected to the resolver's own
/// ports on `ip`, UDP and TCP, in one batch.
pub(crate) fn redirect_resolver(ip: Ipv4Addr, udp_port: u16, tcp_port: u16) -> io::Result<()> {
    let mut b = Batch::new();
    b.table(NFPROTO_INET, TABLE);
    b.base_chain(
        NFPROTO_INET,
        TABLE,
        "output",
        "nat",
        NF_INET_LOCAL_OUT,
        DSTNAT,
    );
    for (protocol, port) in [("udp", udp_port), ("tcp", tcp_port)] {
        let mut e = address_in(IpNet::from(IpAddr::V4(ip)), false);
        e.extend(translate(protocol, 53, IpAddr::V4(ip), port, NFPROTO_IPV4));
        b.rule(
            NFPROTO_INET,
            TABLE,
            "output",
            &e,
            &userdata("resolver".into()),
        );
    }
    Socket::open()?.apply(b)
}

/// Publishes the container's ports to its endpoint `e`, in one batch.
pub(crate) fn add_ports(container_id: &str, e: &Endpoint, ports: &[PortBinding]) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    let tag = container_tag(container_id);
    let targets: Vec<IpAddr> = std::iter::once(IpAddr::V4(e.ipv4))
        .chain(e.ipv6.map(IpAddr::V6))
        .collect();
    let mut b = batch();
    for p in ports {
        for target in &targets {
            if let Some(exprs) = dnat(p, *target) {
                for chain in ["prerouting", "output"] {
                    b.rule(NFPROTO_INET, TABLE, chain, &exprs, &tag);
                }
            }
        }
    }
    Socket::open()
        .and_then(|s| s.apply(b))
        .map_err(|err| failed(format!("ports of {container_id}"), err))
}

/// Removes the container's port rules (none: nothing, one dump).
pub(crate) fn remove_ports(container_id: &str) -> Result<()> {
    let socket = Socket::open().map_err(|e| failed("socket".into(), e))?;
    let mut b = Batch::new();
    delete_tagged(&socket, &mut b, &container_tag(container_id))
        .and_then(|()| socket.apply(b))
        .map_err(|err| failed(format!("removing the ports of {container_id}"), err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(host_ip: &str) -> PortBinding {
        PortBinding {
            host_ip: host_ip.into(),
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
        }
    }

    #[test]
    fn a_port_is_translated_for_its_own_family_only() {
        let v4: IpAddr = "10.87.0.2".parse().unwrap();
        let v6: IpAddr = "fd00::2".parse().unwrap();
        assert!(dnat(&binding(""), v4).is_some());
        assert!(dnat(&binding(""), v6).is_some());
        assert!(dnat(&binding("127.0.0.1"), v4).is_some());
        assert!(dnat(&binding("127.0.0.1"), v6).is_none());
        assert!(dnat(&binding("::1"), v4).is_none());
        assert!(dnat(&binding("::"), v4).is_none());
        assert!(dnat(&binding("::"), v6).is_some());
    }
}
