//! berth-cri-stream: the Kubernetes CRI streaming server.
//!
//! A CRI runtime answers `Exec`, `Attach` and `PortForward` with a URL; the
//! client (kubelet, crictl, critest) then connects to it over HTTP and
//! upgrades to one of Kubernetes' stream protocols:
//!
//! * remotecommand (exec, attach) over SPDY/3.1 (`v4.channel.k8s.io` down
//!   to `channel.k8s.io`: stdin, stdout, stderr, error and resize streams,
//!   the v4 JSON status carrying the exit code) or over WebSocket
//!   (`v5.channel.k8s.io`, `v4.channel.k8s.io` and their base64 forms);
//! * port-forward over SPDY (`portforward.k8s.io`: a data and an error
//!   stream per forwarded connection, paired by request id).
//!
//! Each URL carries a one-time token (kubelet's cache: random, a minute to
//! live, 1000 at most). The work itself is a [`StreamRuntime`]'s.
//!
//! Wiring into a CRI server:
//!
//! ```ignore
//! let streams = berth_cri_stream::Server::start(Config::default(), Arc::new(MyRuntime)).await?;
//! // RuntimeService/Exec:
//! let url = streams.get_exec(ExecRequest { container_id, cmd, tty, stdin, stdout, stderr })?;
//! ```

mod http;
mod io;
mod portforward;
mod remotecommand;
mod runtime;
mod server;
mod spdy;
mod token;
mod ws;

pub use io::{Hangup, StreamReader, StreamWriter, TermSize};
pub use runtime::{PortStream, RuntimeError, StreamIo, StreamRuntime};
pub use server::{AttachRequest, Config, Error, ExecRequest, PortForwardRequest, Server};
