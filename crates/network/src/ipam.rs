//! Address management: the subnets a network gets (the pool of IPv4 /16s,
//! random IPv6 ULA /64s) and the addresses an endpoint may lease in them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::networks::Network;
use crate::{NetworkError, Result};

/// User networks get the next free /16 of 10.90.0.0/16 ..= 10.127.0.0/16.
const POOL_SECOND_OCTETS: std::ops::RangeInclusive<u8> = 90..=127;

/// How far an IPv6 address search goes before giving up (a /64 is never
/// searched through; a network this full has other problems).
const V6_SEARCH_LIMIT: u128 = 1 << 20;

/// A subnet as `--subnet` gives it, host bits cleared.
pub(crate) fn parse_subnet(s: &str) -> Result<IpNet> {
    let net: IpNet = s
        .parse()
        .map_err(|_| NetworkError::InvalidArgument(format!("invalid subnet {s}: not a CIDR")))?;
    let too_small = match net {
        IpNet::V4(n) => n.prefix_len() > 30,
        IpNet::V6(n) => n.prefix_len() > 126,
    };
    if too_small {
        return Err(NetworkError::InvalidArgument(format!(
            "invalid subnet {s}: too small for containers"
        )));
    }
    Ok(net.trunc())
}

pub(crate) fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The next /16 of berth's pool that no network and no host route uses.
pub(crate) fn next_free_subnet(taken: &[IpNet], routes: &[IpNet]) -> Result<Ipv4Net> {
    POOL_SECOND_OCTETS
        .filter_map(|octet| Ipv4Net::new(Ipv4Addr::new(10, octet, 0, 0), 16).ok())
        .find(|candidate| {
            let c = IpNet::V4(*candidate);
            !taken.iter().chain(routes).any(|t| overlaps(t, &c))
        })
        .ok_or_else(|| {
            NetworkError::Conflict(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
            )
        })
}

/// A unique local /64 (RFC 4193: fd00::/8 and a random 40-bit global ID),
/// as recent Docker versions pick for `--ipv6` without a subnet.
pub(crate) fn random_ula(taken: &[IpNet]) -> Result<Ipv6Net> {
    for _ in 0..16 {
        let id: [u8; 5] = rand::random();
        let mut octets = [0u8; 16];
        octets[0] = 0xfd;
        octets[1..6].copy_from_slice(&id);
        let net = IpNet::V6(Ipv6Net::new(Ipv6Addr::from(octets), 64).unwrap_or_default());
        if !taken.iter().any(|t| overlaps(t, &net)) {
            if let IpNet::V6(n) = net {
                return Ok(n);
            }
        }
    }
    Err(NetworkError::Conflict(
        "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network".into(),
    ))
}

/// The addresses of `range` (or the whole subnet) a container or gateway may
/// get: every one but the subnet's network and broadcast addresses.
pub(crate) fn candidates_v4(
    subnet: Ipv4Net,
    range: Option<Ipv4Net>,
) -> impl Iterator<Item = Ipv4Addr> {
    let r = range.unwrap_or(subnet);
    (u32::from(r.network())..=u32::from(r.broadcast()))
        .map(Ipv4Addr::from)
        .filter(move |ip| *ip != subnet.network() && *ip != subnet.broadcast())
}

/// As [`candidates_v4`] for IPv6 (the subnet-router anycast address
/// excluded), bounded by [`V6_SEARCH_LIMIT`].
pub(crate) fn candidates_v6(
    subnet: Ipv6Net,
    range: Option<Ipv6Net>,
) -> impl Iterator<Item = Ipv6Addr> {
    let r = range.unwrap_or(subnet);
    let start = u128::from(r.network());
    let end = u128::from(r.broadcast()).min(start.saturating_add(V6_SEARCH_LIMIT));
    (start..=end)
        .map(Ipv6Addr::from)
        .filter(move |ip| *ip != subnet.network())
}

/// Whether a static address may be leased on the network: inside the
/// subnet (Docker lets it lie outside the ip-range), neither its network,
/// broadcast or gateway address nor an auxiliary one.
pub(crate) fn check_static(network: &Network, ip: IpAddr) -> Result<()> {
    let inside = match ip {
        IpAddr::V4(v4) => network
            .subnet
            .is_some_and(|s| s.contains(&v4) && v4 != s.network() && v4 != s.broadcast()),
        IpAddr::V6(v6) => network
            .ipv6()
            .is_some_and(|p| p.subnet.contains(&v6) && v6 != p.subnet.network()),
    };
    if !inside {
        return Err(NetworkError::InvalidArgument(format!(
            "no configured subnet or ip-range contain the IP address {ip}"
        )));
    }
    if reserved(network).contains(&ip) {
        return Err(NetworkError::Conflict("Address already in use".into()));
    }
    Ok(())
}

/// The network's gateways and auxiliary addresses: never leased.
pub(crate) fn reserved(network: &Network) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = network.config.aux_addresses.values().copied().collect();
    out.extend(network.gateway.map(IpAddr::V4));
    out.extend(network.ipv6().map(|p| IpAddr::V6(p.gateway)));
    out
}

/// The host's IPv4 routes other than the default one (from /proc/net/route),
/// so a new network never shadows a network the host already reaches.
pub(crate) fn host_routes() -> Vec<IpNet> {
    host_routes_by_device()
        .into_iter()
        .map(|(_, net)| net)
        .collect()
}

/// The host's IPv4 routes other than the default one, with their device.
pub(crate) fn host_routes_by_device() -> Vec<(String, IpNet)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let device = fields.first()?.to_string();
            let dest = u32::from_str_radix(fields.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            // The kernel prints the network-order bytes as a native integer.
            let dest = Ipv4Addr::from(dest.to_ne_bytes());
            let prefix = mask.count_ones() as u8;
            let net = Ipv4Net::new(dest, prefix).ok()?;
            Some((device, IpNet::V4(net)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_skips_taken_and_routed_subnets() {
        let taken: Vec<IpNet> = vec!["10.90.0.0/16".parse().unwrap()];
        let routes: Vec<IpNet> = vec!["10.91.3.0/24".parse().unwrap()];
        assert_eq!(
            next_free_subnet(&taken, &routes).unwrap().to_string(),
            "10.92.0.0/16"
        );
    }

    #[test]
    fn host_routes_parse_proc() {
        // Every host has at least its own link routes (or none at all in an
        // isolated namespace); whatever is listed must be a proper network.
        for r in host_routes() {
            assert_eq!(r, r.trunc(), "{r}");
        }
    }

    #[test]
    fn candidates_follow_dockers_ranges() {
        let subnet: Ipv4Net = "10.200.0.0/16".parse().unwrap();
        let range: Ipv4Net = "10.200.5.0/24".parse().unwrap();
        // Docker gives the range's .0 (not the subnet's network address).
        assert_eq!(
            candidates_v4(subnet, Some(range)).next(),
            Some(Ipv4Addr::new(10, 200, 5, 0))
        );
        assert_eq!(
            candidates_v4(subnet, None).next(),
            Some(Ipv4Addr::new(10, 200, 0, 1))
        );
        let last: Ipv4Net = "10.200.255.0/24".parse().unwrap();
        assert_eq!(
            candidates_v4(subnet, Some(last)).last(),
            Some(Ipv4Addr::new(10, 200, 255, 254))
        );
        let v6: Ipv6Net = "2001:389::/64".parse().unwrap();
        assert_eq!(
            candidates_v6(v6, None).next(),
            Some("2001:389::1".parse().unwrap())
        );
    }

    #[test]
    fn ula_subnets_are_unique_local_64s() {
        let net = random_ula(&[]).unwrap();
        assert_eq!(net.prefix_len(), 64);
        assert_eq!(net.network().octets()[0], 0xfd);
    }
}
