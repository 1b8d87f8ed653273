//! The one change netavark cannot make: extra addresses on a container's
//! interface (`--link-local-ip`), added with an `RTM_NEWADDR` request over a
//! netlink socket opened inside the container's network namespace.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::{NetworkError, Result};

const RTM_NEWADDR: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;

/// Adds `addresses` to `interface` in the namespace at `netns`, as Docker
/// adds link-local addresses: IPv4 as a /16, IPv6 as a /64.
pub(crate) fn add_addresses(netns: &Path, interface: &str, addresses: &[IpAddr]) -> Result<()> {
    if addresses.is_empty() {
        return Ok(());
    }
    let ns = std::fs::File::open(netns).map_err(|e| NetworkError::io(netns, e))?;
    let interface = interface.to_string();
    let addresses = addresses.to_vec();
    // A thread of its own enters the namespace (namespaces are per thread)
    // and ends with it.
    let outcome = std::thread::spawn(move || -> io::Result<()> {
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )?;
        let name = std::ffi::CString::new(interface.as_str())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a valid NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        let socket = route_socket()?;
        for (seq, ip) in addresses.iter().enumerate() {
            request(&socket, &new_address(index, *ip, seq as u32 + 1))?;
        }
        Ok(())
    })
    .join()
    .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")));
    outcome.map_err(|e| {
        NetworkError::io(
            PathBuf::from(format!("{}: link-local addresses", netns.display())),
            e,
        )
    })
}

fn route_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned from here on.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// An `RTM_NEWADDR` message: nlmsghdr, ifaddrmsg, then the attributes.
fn new_address(index: u32, ip: IpAddr, seq: u32) -> Vec<u8> {
    let (family, prefix, octets): (u8, u8, Vec<u8>) = match ip {
        IpAddr::V4(v4) => (libc::AF_INET as u8, 16, v4.octets().to_vec()),
        IpAddr::V6(v6) => (libc::AF_INET6 as u8, 64, v6.octets().to_vec()),
    };
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&0u32.to_ne_bytes()); // length, set below
    msg.extend_from_slice(&RTM_NEWADDR.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
                                                // ifaddrmsg: family, prefix length, flags, scope (universe, as Docker's).
    msg.extend_from_slice(&[family, prefix, 0, 0]);
    msg.extend_from_slice(&index.to_ne_bytes());
    let mut attribute = |kind: u16, data: &[u8]| {
        msg.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(data);
        while msg.len() % 4 != 0 {
            msg.push(0);
        }
    };
    attribute(IFA_LOCAL, &octets);
    attribute(IFA_ADDRESS, &octets);
    if let IpAddr::V4(v4) = ip {
        let host_bits = u32::MAX >> prefix;
        attribute(IFA_BROADCAST, &(u32::from(v4) | host_bits).to_be_bytes());
    }
    let length = msg.len() as u32;
    msg[..4].copy_from_slice(&length.to_ne_bytes());
    msg
}

/// Sends one request and reads the kernel's acknowledgement.
fn request(socket: &OwnedFd, msg: &[u8]) -> io::Result<()> {
    // SAFETY: msg is a valid buffer of msg.len() bytes.
    let sent = unsafe { libc::send(socket.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut reply = [0u8; 4096];
    // SAFETY: reply is a writable buffer of reply.len() bytes.
    let got = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            reply.as_mut_ptr().cast(),
            reply.len(),
            0,
        )
    };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    let reply = &reply[..got as usize];
    if reply.len() < 20 || u16::from_ne_bytes([reply[4], reply[5]]) != NLMSG_ERROR {
        return Err(io::Error::other("unexpected netlink reply"));
    }
    match i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]) {
        0 => Ok(()),
        negative => Err(io::Error::from_raw_os_error(-negative)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_aligned_and_sized() {
        let v4 = new_address(3, "169.254.8.8".parse().unwrap(), 1);
        assert_eq!(v4.len(), 16 + 8 + 3 * 8);
        assert_eq!(
            u32::from_ne_bytes(v4[..4].try_into().unwrap()) as usize,
            v4.len()
        );
        assert_eq!(&v4[v4.len() - 4..], &[169, 254, 255, 255]);
        let v6 = new_address(3, "fe80::8:8".parse().unwrap(), 2);
        assert_eq!(v6.len(), 16 + 8 + 2 * 20);
        assert_eq!(v6[17], 64);
    }
}
