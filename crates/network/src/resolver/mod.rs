//! A container's own resolver, as Docker's embedded DNS server: it answers
//! at 127.0.0.11:53 (UDP and TCP) inside the container's network namespace
//! (on free ports that 127.0.0.11:53 is redirected to, so the container may
//! listen on port 53 itself) for as long as the container's networking is
//! set up, and its
//! resolv.conf names it once the container is on a network with name
//! resolution.
//!
//! It answers from the store, read at each query (so a container started
//! or connected later resolves at once): the link aliases of the
//! container's endpoints (`--link NAME:ALIAS` on a user network: ALIAS and
//! ALIAS.NETWORK stand for NAME's address on that network), for that
//! container only, as Docker scopes them; then the names of the containers
//! on its networks with name resolution — container names, network aliases,
//! NAME.NETWORK — as Docker's embedded DNS does (see `name_targets`).
//! Every other query goes, unchanged, to the container's `--dns` servers
//! or the host's. No other process is involved (podman's aardvark-dns
//! held these names before).
//!
//! One thread polls the two sockets and a pipe that [`Resolver`]'s drop
//! closes; each forwarded query and each TCP connection gets a short-lived
//! thread of its own (threads created by a thread in the namespace are in
//! it too), at most [`MAX_IN_FLIGHT`] at once.

mod message;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use berth_store::Store;

use crate::endpoints::{link_target, name_targets, Endpoint};
use crate::{NetworkError, Result};
use message::{CLASS_IN, SERVFAIL};

/// Where the resolver listens in every container (Docker's address).
pub const RESOLVER_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// Queries forwarded or TCP connections served at once; more are dropped
/// (the client asks again).
const MAX_IN_FLIGHT: usize = 64;
/// How long one upstream server has to answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a TCP client may stay silent.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// The nameservers for a container's resolv.conf: its own resolver once it
/// is on a network with name resolution (none: keep the configured ones).
pub fn dns_nameservers(endpoints: &[Endpoint]) -> Vec<Ipv4Addr> {
    if endpoints.iter().any(|e| e.network.dns) {
        vec![RESOLVER_ADDRESS]
    } else {
        Vec::new()
    }
}

/// The running resolver; dropping it stops it (and waits for its thread).
#[derive(Debug)]
pub struct Resolver {
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Resolver {
    fn drop(&mut self) {
        // The pipe's other end sees the hang-up and the loop returns.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the resolver needs to answer.
struct Context {
    root: PathBuf,
    container_id: String,
    /// Where queries go when the container is on no DNS-enabled network.
    fallback: Vec<IpAddr>,
    in_flight: AtomicUsize,
}

impl Resolver {
    /// Starts the resolver of `container_id` in the namespace at `netns`;
    /// returns once it listens. `dns_servers`: the container's `--dns`.
    pub(crate) fn start(
        root: &Path,
        container_id: &str,
        netns: &Path,
        dns_servers: &[String],
    ) -> Result<Resolver> {
        let (stop_read, stop_write) = pipe()?;
        let context = Arc::new(Context {
            root: root.to_path_buf(),
            container_id: container_id.to_string(),
            fallback: fallback_servers(dns_servers),
            in_flight: AtomicUsize::new(0),
        });
        let netns = netns.to_path_buf();
        let (ready, listening) = mpsc::channel();
        // Its query threads inherit its mask.
        let thread = crate::quiet_thread::spawn("resolver", move || {
            match enter(&netns).and_then(|()| listen(&netns)) {
                Ok((udp, tcp)) => {
                    let _ = ready.send(Ok(()));
                    serve(&context, &udp, &tcp, &stop_read);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            }
        })
        .map_err(|e| NetworkError::io("resolver thread", e))?;
        let outcome = listening
            .recv()
            .unwrap_or_else(|_| Err(NetworkError::Resolver("its thread did not start".into())));
        match outcome {
            Ok(()) => Ok(Resolver {
                stop: Some(stop_write),
                thread: Some(thread),
            }),
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors, which nothing else owns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(NetworkError::io("pipe", std::io::Error::last_os_error()));
    }
    // SAFETY: both were just created and are owned here only.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Moves the calling thread into the namespace at `netns`.
fn enter(netns: &Path) -> Result<()> {
    let file = std::fs::File::open(netns).map_err(|e| NetworkError::io(netns, e))?;
    // SAFETY: setns on a namespace file this thread holds open; only the
    // calling thread changes namespace.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(NetworkError::io(netns, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Binds the resolver's sockets to free ports of 127.0.0.11 and redirects
/// 127.0.0.11:53 to them, as Docker does: port 53 itself stays free for
/// the container's own programs (a DNS server listening on 0.0.0.0:53).
fn listen(netns: &Path) -> Result<(UdpSocket, TcpListener)> {
    let address = SocketAddr::from((RESOLVER_ADDRESS, 0));
    let io = |e| NetworkError::io(netns, e);
    let udp = UdpSocket::bind(address).map_err(io)?;
    let tcp = TcpListener::bind(address).map_err(io)?;
    udp.set_nonblocking(true).map_err(io)?;
    tcp.set_nonblocking(true).map_err(io)?;
    let udp_port = udp.local_addr().map_err(io)?.port();
    let tcp_port = tcp.local_addr().map_err(io)?.port();
    redirect(udp_port, tcp_port)?;
    Ok((udp, tcp))
}

/// DNAT rules in the calling thread's namespace (the container's: they go
/// with the namespace), set over netlink in one nftables batch.
fn redirect(udp_port: u16, tcp_port: u16) -> Result<()> {
    crate::nft::redirect_resolver(RESOLVER_ADDRESS, udp_port, tcp_port)
        .map_err(|e| NetworkError::Resolver(format!("redirecting port 53: {e}")))
}

/// The container's `--dns` servers, else the host's that a container can
/// reach (not loopback ones, which are the host's own).
fn fallback_servers(dns_servers: &[String]) -> Vec<IpAddr> {
    let own: Vec<IpAddr> = dns_servers.iter().filter_map(|s| s.parse().ok()).collect();
    if !own.is_empty() {
        return own;
    }
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .filter(|ip| !ip.is_loopback())
        .collect()
}

/// The poll loop, until the stop pipe hangs up.
fn serve(context: &Arc<Context>, udp: &UdpSocket, tcp: &TcpListener, stop: &OwnedFd) {
    let mut lookup = Lookup::new(context);
    let mut buf = vec![0u8; 65535];
    loop {
        let mut fds = [udp.as_raw_fd(), tcp.as_raw_fd(), stop.as_raw_fd()].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        // SAFETY: three valid pollfd structs, owned by this frame.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if fds[2].revents != 0 {
            return;
        }
        if fds[0].revents != 0 {
            if let Ok((len, peer)) = udp.recv_from(&mut buf) {
                let query = buf[..len].to_vec();
                match lookup.decide(&query) {
                    Decision::Reply(reply) => {
                        let _ = udp.send_to(&reply, peer);
                    }
                    Decision::Forward(servers) => {
                        if let Ok(reply_socket) = udp.try_clone() {
                            spawn(context, move || {
                                if let Some(reply) = forward(&query, &servers) {
                                    let _ = reply_socket.send_to(&reply, peer);
                                }
                            });
                        }
                    }
                }
            }
        }
        if fds[1].revents != 0 {
            if let Ok((stream, _)) = tcp.accept() {
                let shared = Arc::clone(context);
                spawn(context, move || serve_tcp(&shared, stream));
            }
        }
    }
}

/// Runs `work` on a thread of its own unless too many are busy already.
fn spawn(context: &Arc<Context>, work: impl FnOnce() + Send + 'static) {
    if context.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
        context.in_flight.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    let shared = Arc::clone(context);
    let spawned = std::thread::Builder::new()
        .name("resolver-query".into())
        .spawn(move || {
            work();
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    if spawned.is_err() {
        context.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Queries of one TCP connection (a two-byte length before each message),
/// until the client closes it or stays silent.
fn serve_tcp(context: &Arc<Context>, mut stream: TcpStream) {
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(TCP_IDLE)).is_err()
        || stream.set_write_timeout(Some(TCP_IDLE)).is_err()
    {
        return;
    }
    let mut lookup = Lookup::new(context);
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut query).is_err() {
            return;
        }
        let reply = match lookup.decide(&query) {
            Decision::Reply(reply) => Some(reply),
            Decision::Forward(servers) => forward(&query, &servers),
        };
        let Some(reply) = reply else { return };
        let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).is_err() {
            return;
        }
    }
}

enum Decision {
    /// The resolver's own answer.
    Reply(Vec<u8>),
    /// For these servers, in order.
    Forward(Vec<IpAddr>),
}

/// The store as one resolver thread reads it (opened on first use and
/// again after an error), and the last upstream servers it found.
struct Lookup<'a> {
    context: &'a Context,
    store: Option<Store>,
    servers: Vec<IpAddr>,
}

impl<'a> Lookup<'a> {
    fn new(context: &'a Context) -> Lookup<'a> {
        Lookup {
            context,
            store: None,
            servers: context.fallback.clone(),
        }
    }

    fn decide(&mut self, query: &[u8]) -> Decision {
        match self.try_decide(query) {
            Ok(decision) => decision,
            Err(_) => {
                self.store = None;
                Decision::Forward(self.servers.clone())
            }
        }
    }

    fn try_decide(&mut self, query: &[u8]) -> Result<Decision> {
        let store = match &mut self.store {
            Some(store) => store,
            None => self.store.insert(Store::open(&self.context.root)?),
        };
        let db = store.db();
        let id = &self.context.container_id;
        if let Some(q) = message::question(query) {
            // Other types than A and AAAA get an empty answer: the name
            // exists (NOERROR), as Docker's resolver answers them.
            if q.qclass == CLASS_IN {
                if let Some(target) = link_target(db, id, &q.name)? {
                    let addresses: Vec<IpAddr> = std::iter::once(IpAddr::V4(target.ipv4))
                        .chain(target.ipv6.map(IpAddr::V6))
                        .collect();
                    return Ok(Decision::Reply(message::answer(query, &q, &addresses)));
                }
                let targets = name_targets(db, id, &q.name)?;
                if !targets.is_empty() {
                    let addresses: Vec<IpAddr> = targets
                        .iter()
                        .map(|t| IpAddr::V4(t.ipv4))
                        .chain(targets.iter().filter_map(|t| t.ipv6.map(IpAddr::V6)))
                        .collect();
                    return Ok(Decision::Reply(message::answer(query, &q, &addresses)));
                }
            }
        }
        Ok(Decision::Forward(self.servers.clone()))
    }
}

/// Sends `query` to each server in turn until one answers; SERVFAIL when
/// none does.
fn forward(query: &[u8], servers: &[IpAddr]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let mut buf = vec![0u8; 65535];
    for server in servers {
        let local: SocketAddr = match server {
            IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let Ok(socket) = UdpSocket::bind(local) else {
            continue;
        };
        if socket.connect((*server, 53)).is_err()
            || socket.set_read_timeout(Some(UPSTREAM_TIMEOUT)).is_err()
            || socket.send(query).is_err()
        {
            continue;
        }
        // A reply to an earlier query of the same id cannot reach this
        // fresh socket; anything not starting with the id is not a reply.
        while let Ok(len) = socket.recv(&mut buf) {
            if len >= 2 && buf[..2] == query[..2] {
                return Some(buf[..len].to_vec());
            }
        }
    }
    message::error(query, SERVFAIL)
}
