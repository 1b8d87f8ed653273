//! rtnetlink requests over a raw `NETLINK_ROUTE` socket, without a process:
//! a veth pair made with its container end already in the container's
//! namespace and its host end on the bridge (one `RTM_NEWLINK`), addresses
//! (`RTM_NEWADDR`, also `--link-local-ip`'s) and routes (`RTM_NEWROUTE`).
//! A request acts in the network namespace of the thread that opened the
//! socket: [`in_namespace`] runs a closure on a thread that entered one.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_F_NODAD: u8 = 0x02;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_STATIC: u8 = 4;
const RTN_UNICAST: u8 = 1;
const IFF_UP: u32 = 0x1;

/// The metric of a container's default route (netavark's).
const DEFAULT_ROUTE_METRIC: u32 = 100;

/// A request being built: the netlink header, the message's fixed part,
/// then attributes, some nested.
struct Message {
    buf: Vec<u8>,
    open: Vec<usize>,
}

impl Message {
    fn new(kind: u16, flags: u16, fixed: &[u8]) -> Message {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by `finish`
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // sequence, set by `finish`
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        buf.extend_from_slice(fixed);
        Message {
            buf,
            open: Vec::new(),
        }
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        self.buf
            .extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    /// Opens a nested attribute, closed by [`Message::end`]; `fixed` is
    /// what comes before its own attributes (a peer's `ifinfomsg`).
    fn begin(&mut self, kind: u16, fixed: &[u8]) -> &mut Self {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(fixed);
        self
    }

    fn end(&mut self) -> &mut Self {
        if let Some(start) = self.open.pop() {
            let length = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&length.to_ne_bytes());
        }
        self
    }

    fn finish(&mut self, seq: u32) -> &[u8] {
        let length = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&length.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

/// `ifinfomsg`: any family, the interface index, flags and the mask of
/// the flags to change.
fn ifinfomsg(index: u32, flags: u32) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m[12..16].copy_from_slice(&flags.to_ne_bytes());
    m
}

/// A `NETLINK_ROUTE` socket of the calling thread's network namespace.
pub(crate) struct Route {
    fd: OwnedFd,
    seq: u32,
}

/// A netlink socket of `protocol` (`NETLINK_ROUTE`, `NETLINK_NETFILTER`) in
/// the calling thread's network namespace.
pub(crate) fn socket(protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned from here on.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2), owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Route {
    pub(crate) fn open() -> io::Result<Route> {
        Ok(Route {
            fd: socket(libc::NETLINK_ROUTE)?,
            seq: 0,
        })
    }

    /// Sends one request and reads the kernel's acknowledgement.
    fn call(&mut self, msg: &mut Message) -> io::Result<()> {
        self.seq += 1;
        let msg = msg.finish(self.seq);
        // SAFETY: msg is a valid buffer of msg.len() bytes.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut reply = [0u8; 4096];
        // SAFETY: reply is a writable buffer of reply.len() bytes.
        let got = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
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

    /// A veth pair: `host` up on the bridge `master` (an index), its peer
    /// `peer` (with `peer_mac`, down) made in the namespace `peer_netns`.
    /// Both ends get `mtu` when given.
    pub(crate) fn add_veth(
        &mut self,
        host: &str,
        master: u32,
        mtu: Option<u32>,
        peer: &str,
        peer_mac: [u8; 6],
        peer_netns: BorrowedFd,
    ) -> io::Result<()> {
        let mut m = Message::new(
            RTM_NEWLINK,
            NLM_F_CREATE | NLM_F_EXCL,
            &ifinfomsg(0, IFF_UP),
        );
        m.attr(IFLA_IFNAME, &c_name(host));
        if let Some(mtu) = mtu {
            m.attr(IFLA_MTU, &mtu.to_ne_bytes());
        }
        m.attr(IFLA_MASTER, &master.to_ne_bytes());
        m.begin(IFLA_LINKINFO, &[]);
        m.attr(IFLA_INFO_KIND, b"veth");
        m.begin(IFLA_INFO_DATA, &[]);
        // The peer comes up later, in its namespace: a veth end cannot be
        // opened before its pair is complete (ENOTCONN).
        m.begin(VETH_INFO_PEER, &ifinfomsg(0, 0));
        m.attr(IFLA_IFNAME, &c_name(peer));
        m.attr(IFLA_ADDRESS, &peer_mac);
        if let Some(mtu) = mtu {
            m.attr(IFLA_MTU, &mtu.to_ne_bytes());
        }
        m.attr(
            IFLA_NET_NS_FD,
            &(peer_netns.as_raw_fd() as u32).to_ne_bytes(),
        );
        m.end().end().end();
        self.call(&mut m)
    }

    /// Sets the interface `index` up.
    pub(crate) fn set_up(&mut self, index: u32) -> io::Result<()> {
        self.call(&mut Message::new(RTM_NEWLINK, 0, &ifinfomsg(index, IFF_UP)))
    }

    /// Deletes the interface `index` (a veth: both ends).
    pub(crate) fn del_link(&mut self, index: u32) -> io::Result<()> {
        self.call(&mut Message::new(RTM_DELLINK, 0, &ifinfomsg(index, 0)))
    }

    /// Adds `ip/prefix` to the interface `index` (IPv6 without duplicate
    /// address detection, as netavark adds them).
    pub(crate) fn add_address(&mut self, index: u32, ip: IpAddr, prefix: u8) -> io::Result<()> {
        let (family, octets, flags): (u8, Vec<u8>, u8) = match ip {
            IpAddr::V4(v4) => (libc::AF_INET as u8, v4.octets().to_vec(), 0),
            IpAddr::V6(v6) => (libc::AF_INET6 as u8, v6.octets().to_vec(), IFA_F_NODAD),
        };
        // ifaddrmsg: family, prefix length, flags, scope (universe), index.
        let mut fixed = vec![family, prefix, flags, 0];
        fixed.extend_from_slice(&index.to_ne_bytes());
        let mut m = Message::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        m.attr(IFA_LOCAL, &octets).attr(IFA_ADDRESS, &octets);
        if let IpAddr::V4(v4) = ip {
            let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            m.attr(IFA_BROADCAST, &(u32::from(v4) | host_bits).to_be_bytes());
        }
        self.call(&mut m)
    }

    /// The default route through `gateway` on the interface `index`.
    pub(crate) fn add_default_route(&mut self, index: u32, gateway: IpAddr) -> io::Result<()> {
        let (family, octets): (u8, Vec<u8>) = match gateway {
            IpAddr::V4(v4) => (libc::AF_INET as u8, v4.octets().to_vec()),
            IpAddr::V6(v6) => (libc::AF_INET6 as u8, v6.octets().to_vec()),
        };
        // rtmsg: family, dst/src length, tos, table, protocol, scope, type, flags.
        let mut fixed = vec![
            family,
            0,
            0,
            0,
            RT_TABLE_MAIN,
            RTPROT_STATIC,
            0,
            RTN_UNICAST,
        ];
        fixed.extend_from_slice(&0u32.to_ne_bytes());
        let mut m = Message::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        m.attr(RTA_GATEWAY, &octets)
            .attr(RTA_OIF, &index.to_ne_bytes())
            .attr(RTA_PRIORITY, &DEFAULT_ROUTE_METRIC.to_ne_bytes());
        self.call(&mut m)
    }
}

/// A name as netlink takes it: NUL-terminated.
fn c_name(name: &str) -> Vec<u8> {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

/// The index of the interface `name` in the calling thread's namespace.
pub(crate) fn index(name: &str) -> io::Result<u32> {
    let name =
        std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated name.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(io::Error::last_os_error()),
        index => Ok(index),
    }
}

/// Runs `work` on a thread of its own that entered the network namespace
/// mounted at `netns` (namespaces are per thread; it ends with the thread).
pub(crate) fn in_namespace<T: Send + 'static>(
    netns: &Path,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let ns = std::fs::File::open(netns)?;
    std::thread::spawn(move || {
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )?;
        work()
    })
    .join()
    .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(m: &[u8]) -> usize {
        u32::from_ne_bytes(m[..4].try_into().unwrap()) as usize
    }

    #[test]
    fn messages_are_aligned_and_sized() {
        let mut m = Message::new(RTM_NEWADDR, 0, &[2, 16, 0, 0, 3, 0, 0, 0]);
        m.attr(IFA_LOCAL, &[169, 254, 8, 8])
            .attr(IFA_BROADCAST, &[169, 254, 255, 255]);
        let bytes = m.finish(7).to_vec();
        assert_eq!(bytes.len(), 16 + 8 + 2 * 8);
        assert_eq!(length(&bytes), bytes.len());
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 7);
        assert_eq!(&bytes[bytes.len() - 4..], &[169, 254, 255, 255]);
    }

    #[test]
    fn nested_attributes_have_their_own_length() {
        let mut m = Message::new(RTM_NEWLINK, 0, &ifinfomsg(0, IFF_UP));
        m.begin(IFLA_LINKINFO, &[]);
        m.attr(IFLA_INFO_KIND, b"veth"); // 4 + 4
        m.begin(IFLA_INFO_DATA, &[]);
        // The peer comes up later, in its namespace: a veth end cannot be
        // opened before its pair is complete (ENOTCONN).
        m.begin(VETH_INFO_PEER, &ifinfomsg(0, 0)); // 4 + 16
        m.attr(IFLA_IFNAME, &c_name("eth0")); // 4 + 5, padded to 12
        m.end().end().end();
        let bytes = m.finish(1).to_vec();
        assert_eq!(length(&bytes), bytes.len());
        let linkinfo = 32;
        let nested = |at: usize| u16::from_ne_bytes([bytes[at], bytes[at + 1]]) as usize;
        assert_eq!(nested(linkinfo), 4 + 8 + 4 + 20 + 12);
        assert_eq!(nested(linkinfo + 12), 4 + 20 + 12);
        assert_eq!(nested(linkinfo + 16), 20 + 12);
        assert_eq!(bytes.len(), linkinfo + nested(linkinfo));
    }
}
