//! The HTTP server behind the URLs: routes `/exec/TOKEN`, `/attach/TOKEN`
//! and `/portforward/TOKEN` to the protocol the client asks for.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_error::{ErrorKind, HasKind};
use tokio::net::{TcpListener, TcpStream};

use crate::http::{self, Request};
use crate::remotecommand::{self, Target};
use crate::runtime::StreamRuntime;
use crate::token::TokenCache;
use crate::{portforward, spdy, ws};

/// How the server listens and how long what it hands out lasts.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks one (containerd's default is
    /// 127.0.0.1 with a free port).
    pub listen: SocketAddr,
    /// `host:port` the URLs name, when not the listening address (a
    /// wildcard listen address cannot be dialled).
    pub advertise: Option<String>,
    /// How long a URL may wait for its connection (kubelet: 1 minute).
    pub token_ttl: Duration,
    /// How many URLs may wait at once (kubelet: 1000).
    pub max_in_flight: usize,
    /// How long a client may take to open its streams (kubelet: 30 s).
    pub stream_creation_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            token_ttl: Duration::from_secs(60),
            max_in_flight: 1000,
            stream_creation_timeout: Duration::from_secs(30),
        }
    }
}

/// A refused request for a URL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("missing required container_id")]
    MissingContainerId,
    #[error("missing required pod_sandbox_id")]
    MissingPodSandboxId,
    #[error("tty and stderr cannot both be true")]
    TtyAndStderr,
    #[error("one of stdin, stdout, or stderr must be set")]
    NoStreams,
    #[error("maximum number of in-flight requests exceeded")]
    TooManyInFlight,
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl HasKind for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::TooManyInFlight => ErrorKind::Unavailable,
            Error::Listen { source, .. } => berth_error::io_kind(source),
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// What a CRI `ExecRequest` asks for.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub container_id: String,
    pub cmd: Vec<String>,
    pub tty: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// What a CRI `AttachRequest` asks for.
#[derive(Debug, Clone, Default)]
pub struct AttachRequest {
    pub container_id: String,
    pub stdin: bool,
    pub tty: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// What a CRI `PortForwardRequest` asks for (the ports come with each
/// forwarded connection).
#[derive(Debug, Clone, Default)]
pub struct PortForwardRequest {
    pub pod_sandbox_id: String,
}

enum Pending {
    Command(Target),
    PortForward(String),
}

struct Shared {
    tokens: Mutex<TokenCache<Pending>>,
    runtime: Arc<dyn StreamRuntime>,
    config: Config,
}

/// The streaming server: hands out one-time URLs and serves them.
pub struct Server {
    shared: Arc<Shared>,
    base: String,
    addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Listens and serves on the current tokio runtime until dropped.
    pub async fn start(config: Config, runtime: Arc<dyn StreamRuntime>) -> Result<Server, Error> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: config.listen,
            source,
        })?;
        let base = format!(
            "http://{}",
            config.advertise.clone().unwrap_or_else(|| addr.to_string())
        );
        let shared = Arc::new(Shared {
            tokens: Mutex::new(TokenCache::new(config.token_ttl, config.max_in_flight)),
            runtime,
            config,
        });
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve_connection(conn, s.clone()));
            }
        });
        Ok(Server {
            shared,
            base,
            addr,
            accept,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn url(&self, kind: &str, pending: Pending) -> Result<String, Error> {
        let mut tokens = self.shared.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let token = tokens.insert(pending).ok_or(Error::TooManyInFlight)?;
        Ok(format!("{}/{kind}/{token}", self.base))
    }

    /// The URL to answer a CRI `Exec` with.
    pub fn get_exec(&self, req: ExecRequest) -> Result<String, Error> {
        check_streams(
            &req.container_id,
            req.tty,
            req.stdin,
            req.stdout,
            req.stderr,
        )?;
        self.url(
            "exec",
            Pending::Command(Target {
                container_id: req.container_id,
                cmd: Some(req.cmd),
                stdin: req.stdin,
                stdout: req.stdout,
                stderr: req.stderr,
                tty: req.tty,
            }),
        )
    }

    /// The URL to answer a CRI `Attach` with.
    pub fn get_attach(&self, req: AttachRequest) -> Result<String, Error> {
        check_streams(
            &req.container_id,
            req.tty,
            req.stdin,
            req.stdout,
            req.stderr,
        )?;
        self.url(
            "attach",
            Pending::Command(Target {
                container_id: req.container_id,
                cmd: None,
                stdin: req.stdin,
                stdout: req.stdout,
                stderr: req.stderr,
                tty: req.tty,
            }),
        )
    }

    /// The URL to answer a CRI `PortForward` with.
    pub fn get_port_forward(&self, req: PortForwardRequest) -> Result<String, Error> {
        if req.pod_sandbox_id.is_empty() {
            return Err(Error::MissingPodSandboxId);
        }
        self.url("portforward", Pending::PortForward(req.pod_sandbox_id))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// kubelet's checks of an exec or attach request.
fn check_streams(
    container_id: &str,
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
) -> Result<(), Error> {
    if container_id.is_empty() {
        return Err(Error::MissingContainerId);
    }
    if tty && stderr {
        return Err(Error::TtyAndStderr);
    }
    if !stdin && !stdout && !stderr {
        return Err(Error::NoStreams);
    }
    Ok(())
}

async fn serve_connection(mut conn: TcpStream, shared: Arc<Shared>) {
    let _ = conn.set_nodelay(true);
    let Ok((req, early)) = http::read_request(&mut conn).await else {
        return;
    };
    let mut parts = req
        .path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_matches('/')
        .split('/');
    let (kind, token) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let known = matches!(kind, "exec" | "attach" | "portforward")
        && parts.next().is_none()
        && matches!(req.method.as_str(), "GET" | "POST");
    let pending = if known {
        let mut tokens = shared.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.consume(token)
    } else {
        None
    };
    let Some(pending) = pending else {
        let _ = http::error(&mut conn, "404 Not Found", &[], "404 page not found").await;
        return;
    };
    match pending {
        Pending::Command(target) if req.is_websocket() => {
            serve_ws_command(conn, req, early, target, shared).await
        }
        Pending::Command(target) => {
            let Some(protocol) =
                spdy_handshake(&mut conn, &req, &remotecommand::SPDY_PROTOCOLS).await
            else {
                return;
            };
            let session = spdy::start(conn, early);
            let timeout = shared.config.stream_creation_timeout;
            remotecommand::serve_spdy(session, protocol, target, shared.runtime.clone(), timeout)
                .await;
        }
        Pending::PortForward(_) if req.is_websocket() => {
            let msg = "websocket port forwarding is not supported: use SPDY";
            let _ = http::error(&mut conn, "400 Bad Request", &[], msg).await;
        }
        Pending::PortForward(sandbox) => {
            let Some(_) = spdy_handshake(&mut conn, &req, &[portforward::PROTOCOL]).await else {
                return;
            };
            let session = spdy::start(conn, early);
            let timeout = shared.config.stream_creation_timeout;
            portforward::serve_spdy(session, sandbox, shared.runtime.clone(), timeout).await;
        }
    }
}

/// Kubernetes' SPDY upgrade: the protocol chosen, or the refusal sent.
async fn spdy_handshake(
    conn: &mut TcpStream,
    req: &Request,
    protocols: &[&'static str],
) -> Option<&'static str> {
    if !req.is_spdy() {
        let msg = "unable to upgrade: missing upgrade headers in request";
        let _ = http::error(conn, "400 Bad Request", &[], msg).await;
        return None;
    }
    let client = req.values("X-Stream-Protocol-Version");
    if client.is_empty() {
        let msg = "unable to upgrade: X-Stream-Protocol-Version is required";
        let _ = http::error(conn, "400 Bad Request", &[], msg).await;
        return None;
    }
    let Some(protocol) = http::negotiate(&client, protocols) else {
        let msg = format!(
            "unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{}]",
            client.join(" "),
            protocols.join(" ")
        );
        let accepted: Vec<(&str, &str)> = protocols
            .iter()
            .map(|p| ("X-Accepted-Stream-Protocol-Versions", *p))
            .collect();
        let _ = http::error(conn, "403 Forbidden", &accepted, &msg).await;
        return None;
    };
    let headers = [
        ("Connection", "Upgrade"),
        ("Upgrade", "SPDY/3.1"),
        ("X-Stream-Protocol-Version", protocol),
    ];
    http::switching(conn, &headers).await.ok()?;
    Some(protocol)
}

async fn serve_ws_command(
    mut conn: TcpStream,
    req: Request,
    early: Vec<u8>,
    target: Target,
    shared: Arc<Shared>,
) {
    let client = req.values("Sec-WebSocket-Protocol");
    // No protocol named is the binary channel protocol.
    let protocol = if client.is_empty() {
        Some("channel.k8s.io")
    } else {
        http::negotiate(&client, &remotecommand::WS_PROTOCOLS)
    };
    let (Some(protocol), Some(key)) = (protocol, req.values("Sec-WebSocket-Key").pop()) else {
        let msg = format!(
            "requested protocol(s) are not supported: [{}]; supports [{}]",
            client.join(" "),
            remotecommand::WS_PROTOCOLS.join(" ")
        );
        let _ = http::error(&mut conn, "400 Bad Request", &[], &msg).await;
        return;
    };
    let accept = ws::accept_key(&key);
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept.as_str()),
    ];
    if !client.is_empty() {
        headers.push(("Sec-WebSocket-Protocol", protocol));
    }
    if http::switching(&mut conn, &headers).await.is_err() {
        return;
    }
    let framing = ws::Framing {
        base64: protocol.contains("base64"),
    };
    let (readers, out, hangup) = ws::start(conn, early, framing, &[0, 4]);
    remotecommand::serve_ws(
        readers,
        out,
        hangup,
        protocol,
        target,
        shared.runtime.clone(),
    )
    .await;
}
