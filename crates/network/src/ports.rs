//! Published ports: Docker's `-p` grammar and the host-side reservation of a
//! port (a socket bound, not listening, for as long as the container runs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, SocketAddrAny, SocketFlags, SocketType};
use serde::{Deserialize, Serialize};

use crate::{NetworkError, Result};

/// One host port forwarded to one container port. As a request (`-p`),
/// `host_port` 0 means "any free port" and `host_ip` "" means every address;
/// as a published port (`endpoint_ports`), both are concrete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    #[serde(default)]
    pub host_ip: String,
    #[serde(default)]
    pub host_port: u16,
    pub container_port: u16,
    /// "tcp" or "udp".
    pub protocol: String,
}

/// A published port as `port` and inspect show it.
pub type PublishedPort = PortBinding;

impl PortBinding {
    /// Docker's key for a container port: "80/tcp".
    pub fn port_key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }

    /// The host address shown for the binding ("0.0.0.0" for every address).
    pub fn shown_host_ip(&self) -> &str {
        if self.host_ip.is_empty() {
            "0.0.0.0"
        } else {
            &self.host_ip
        }
    }
}

/// Parses one `-p/--publish` value: `[ip:][hostPort:]containerPort[/proto]`,
/// where either port may be a range `a-b` (of equal lengths when both are).
pub fn parse_publish(spec: &str) -> Result<Vec<PortBinding>> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, proto)) => (rest, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp") {
        return Err(invalid(format!("invalid proto: {protocol}")));
    }
    // `[::1]:8080:80`: an IPv6 address is bracketed (its colons are its own).
    let (bracketed, rest) = match rest.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        Some((ip, ports)) => (Some(ip), ports),
        None => (None, rest),
    };
    let parts: Vec<&str> = match bracketed {
        Some(ip) => {
            let mut p: Vec<&str> = rest.rsplitn(2, ':').collect();
            if p.len() == 1 {
                p.push("");
            }
            p.push(ip);
            p
        }
        None => rest.rsplitn(3, ':').collect(),
    };
    let (host_ip, host_ports, container_ports) = match parts.as_slice() {
        [c] => ("", "", *c),
        [c, h] => ("", *h, *c),
        [c, h, ip] => (*ip, *h, *c),
        _ => return Err(invalid(format!("invalid port specification: {spec:?}"))),
    };
    let host_ip = host_ip.trim_start_matches('[').trim_end_matches(']');
    if !host_ip.is_empty() && host_ip.parse::<IpAddr>().is_err() {
        return Err(invalid(format!("invalid IP address: {host_ip}")));
    }
    let (c_start, c_end) = parse_range(container_ports)
        .filter(|(start, _)| *start > 0)
        .ok_or_else(|| invalid(format!("invalid containerPort: {container_ports}")))?;
    let (h_start, h_end) = if host_ports.is_empty() {
        (0, 0)
    } else {
        parse_range(host_ports).ok_or_else(|| invalid(format!("invalid hostPort: {host_ports}")))?
    };
    let count = c_end - c_start;
    if h_start != 0 && h_end - h_start != count {
        return Err(invalid(format!(
            "invalid ranges specified for container and host Ports: {container_ports} and {host_ports}"
        )));
    }
    Ok((0..=count)
        .map(|offset| PortBinding {
            host_ip: host_ip.to_string(),
            host_port: if h_start == 0 { 0 } else { h_start + offset },
            container_port: c_start + offset,
            protocol: protocol.clone(),
        })
        .collect())
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b).then_some((a, b))
}

fn invalid(message: String) -> NetworkError {
    NetworkError::InvalidArgument(message)
}

/// Binds (without listening) a socket to the binding's host address and port,
/// so the port is the container's until the socket closes. Port 0 lets the
/// kernel pick a free one; the port actually bound is returned. With `ipv6`
/// (a container on an IPv6 network), a binding on every address holds the
/// port on every IPv6 address too, as a second, IPv6-only socket.
pub(crate) fn reserve(b: &PortBinding, endpoint: &str, ipv6: bool) -> Result<(Vec<OwnedFd>, u16)> {
    let ip: IpAddr = if b.host_ip.is_empty() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        b.host_ip
            .parse()
            .map_err(|_| invalid(format!("invalid IP address: {}", b.host_ip)))?
    };
    let first = bind(b, endpoint, SocketAddr::new(ip, b.host_port))?;
    let port = match rustix::net::getsockname(&first) {
        Ok(SocketAddrAny::V4(a)) => a.port(),
        Ok(SocketAddrAny::V6(a)) => a.port(),
        _ => b.host_port,
    };
    let mut held = vec![first];
    if ipv6 && b.host_ip.is_empty() {
        held.push(bind(
            b,
            endpoint,
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        )?);
    }
    Ok((held, port))
}

fn bind(b: &PortBinding, endpoint: &str, address: SocketAddr) -> Result<OwnedFd> {
    let kind = if b.protocol == "udp" {
        SocketType::DGRAM
    } else {
        SocketType::STREAM
    };
    let family = if address.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let fd = rustix::net::socket_with(family, kind, SocketFlags::CLOEXEC, None)
        .map_err(|e| NetworkError::Conflict(format!("socket for {address}: {e}")))?;
    if address.is_ipv6() {
        rustix::net::sockopt::set_ipv6_v6only(&fd, true)
            .map_err(|e| NetworkError::Conflict(format!("socket for {address}: {e}")))?;
    }
    match rustix::net::bind(&fd, &address) {
        Ok(()) => Ok(fd),
        Err(rustix::io::Errno::ADDRINUSE) => Err(NetworkError::PortAllocated {
            endpoint: endpoint.to_string(),
            host_ip: address.ip().to_string(),
            host_port: address.port(),
        }),
        Err(e) => Err(NetworkError::Conflict(format!(
            "driver failed programming external connectivity on endpoint {endpoint}: \
             listen {}{} {address}: bind: {e}",
            b.protocol,
            if address.is_ipv4() { "4" } else { "6" }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortBinding {
        let mut v = parse_publish(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn docker_publish_forms() {
        assert_eq!(
            one("80"),
            PortBinding {
                host_ip: "".into(),
                host_port: 0,
                container_port: 80,
                protocol: "tcp".into()
            }
        );
        let b = one("8000:80/udp");
        assert_eq!(
            (b.host_port, b.container_port, b.protocol.as_str()),
            (8000, 80, "udp")
        );
        let b = one("127.0.0.1:8000:80");
        assert_eq!((b.host_ip.as_str(), b.host_port), ("127.0.0.1", 8000));
        let b = one("127.0.0.1::80");
        assert_eq!((b.host_ip.as_str(), b.host_port), ("127.0.0.1", 0));
        let b = one("[::1]:8000:80");
        assert_eq!((b.host_ip.as_str(), b.host_port), ("::1", 8000));
        let b = one("[::]::80/udp");
        assert_eq!(
            (b.host_ip.as_str(), b.host_port, b.protocol.as_str()),
            ("::", 0, "udp")
        );
        let r = parse_publish("8000-8002:80-82").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[2].host_port, r[2].container_port), (8002, 82));
    }

    #[test]
    fn bad_publish_specs_are_refused() {
        for bad in [
            "",
            "x",
            "80/sctp2",
            "a:80",
            "1.2.3:80:80",
            "8000-8001:80",
            "0",
            "70000",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_reserved_port_cannot_be_reserved_again() {
        let any = PortBinding {
            host_ip: "127.0.0.1".into(),
            host_port: 0,
            container_port: 80,
            protocol: "tcp".into(),
        };
        let (_held, port) = reserve(&any, "test", false).unwrap();
        assert_ne!(port, 0);
        let again = PortBinding {
            host_port: port,
            ..any.clone()
        };
        let err = reserve(&again, "web (abc)", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("driver failed programming external connectivity on endpoint web (abc): Bind for 127.0.0.1:{port} failed: port is already allocated")
        );
        drop(_held);
        assert!(reserve(&again, "test", false).is_ok());
    }
}
