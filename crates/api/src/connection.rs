//! The connection a request came on, as the server's connect info
//! ([`crate::log::Client`]) carries it: what the log names as the client and
//! what a hijacked stream (`streams`) waits on before its first byte.

use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};

/// The connection a request came on (part of the server's connect info,
/// [`crate::log::Client`]): its descriptor, open as long as the
/// connection, hijacked or not, lives.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    fd: RawFd,
    unix: bool,
}

impl Connection {
    pub(crate) fn unix(stream: &UnixStream) -> Connection {
        Connection {
            fd: stream.as_raw_fd(),
            unix: true,
        }
    }

    pub(crate) fn tcp(stream: &TcpStream) -> Connection {
        Connection {
            fd: stream.as_raw_fd(),
            unix: false,
        }
    }

    /// Bytes this side sent that the peer has not read yet (for a TCP
    /// connection: not yet acknowledged by its kernel).
    fn unread(&self) -> Option<i32> {
        let mut n: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int; the descriptor is the
        // live connection's (the caller holds the upgraded connection).
        let rc = unsafe { libc::ioctl(self.fd, libc::TIOCOUTQ, &mut n) };
        (rc == 0).then_some(n)
    }

    /// Docker quirk (docker-py): the client reads the hijacked socket
    /// underneath its buffered HTTP reader, so bytes that reach it together
    /// with the `101` headers are lost (an exec's first output). Returns
    /// once the client has read everything sent so far: on a Unix socket
    /// the kernel counts what the peer has not read; on TCP only what it
    /// has not acknowledged, so a short pause follows. Bounded: a client
    /// that does not read before it writes gets its output after 2 s.
    pub(crate) async fn until_read(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.unread().is_some_and(|n| n > 0) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if !self.unix {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
