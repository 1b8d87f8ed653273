//! berth-cri: the Kubernetes Container Runtime Interface (CRI v1,
//! `runtime.v1.RuntimeService` and `runtime.v1.ImageService`) over berth's
//! engine, served on a unix socket by `berth cri`.
//!
//! # Bird's-eye view
//! A front end like the CLI and `berth serve`: every request opens an
//! [`Engine`](berth_engine::Engine) on the blocking pool and calls the same
//! operations they call; the CRI's messages are translated here and nothing
//! else. A **pod sandbox** is an *infra container* (the pause image, or any
//! image whose command waits forever) that holds the pod's network, IPC and
//! (optionally) PID namespaces, its hostname, DNS configuration, published
//! ports and sysctls; the pod's containers join it (`container:INFRA`
//! modes). That is Docker's model, which berth already implements and
//! tests, so a pod gets the network setup, teardown and crash recovery of
//! any container; a pod needs no state of its own beyond labels
//! ([`meta`]), so pods survive a restart of `berth cri`.
//!
//! # Honoured or refused
//! Every CRI field either takes effect or is refused with a clear
//! `Unimplemented`/`InvalidArgument` status ([`error`]); errors from the
//! engine map to gRPC codes in one place ([`error::code`]).
//!
//! # Streaming
//! Exec, Attach and PortForward return URLs of a streaming server; the
//! server is pluggable through [`StreamUrls`]; `serve` starts
//! berth-cri-stream's server over the engine ([`EngineStreams`]).

mod authority;
mod containers;
pub mod error;
mod exec;
mod images;
mod log;
pub mod meta;
mod runtime;
mod sandbox;
mod security;
mod stats;
mod stream;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_engine::{Config, Engine};
use tonic::Status;

pub use berth_cri_stream::Config as StreamConfig;
pub use k8s_cri::v1 as api;
pub use stream::EngineStreams;

/// The version of the CRI this server speaks.
pub const CRI_VERSION: &str = "v1";
/// The pause image kubelet uses by default (1.29's).
pub const DEFAULT_PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.9";
/// The CRI's socket by default.
pub const DEFAULT_LISTEN: &str = "unix:///run/berth/cri.sock";

/// Where the streaming calls (Exec, Attach, PortForward) get their URLs:
/// a streaming server that serves Kubernetes' SPDY/WebSocket protocols and
/// reaches the containers through the engine.
pub trait StreamUrls: Send + Sync + 'static {
    fn exec(&self, req: &api::ExecRequest) -> Result<String, Status>;
    fn attach(&self, req: &api::AttachRequest) -> Result<String, Status>;
    fn port_forward(&self, req: &api::PortForwardRequest) -> Result<String, Status>;
}

/// How `berth cri` serves.
pub struct ServeOptions {
    pub config: Config,
    /// `unix:///path` (or a bare path).
    pub listen: String,
    /// The image of pods' infra containers (pulled when missing).
    pub pause_image: String,
    /// The streaming server's settings (`None`: Exec, Attach and
    /// PortForward are refused).
    pub streaming: Option<berth_cri_stream::Config>,
}

/// The CRI services over one state root.
#[derive(Clone)]
pub struct Cri {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    pause_image: String,
    streaming: Option<Arc<dyn StreamUrls>>,
}

impl Cri {
    pub fn new(config: Config, pause_image: String, streaming: Option<Arc<dyn StreamUrls>>) -> Cri {
        Cri {
            inner: Arc::new(Inner {
                config,
                pause_image,
                streaming,
            }),
        }
    }

    /// Runs `f` on an engine opened for this request, on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine, &Inner) -> Result<T, Status> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut engine = Engine::open(inner.config.clone()).map_err(error::status)?;
            f(&mut engine, &inner)
        })
        .await
        .map_err(|e| Status::internal(format!("request worker failed: {e}")))?
    }

    fn streaming(&self) -> Result<&dyn StreamUrls, Status> {
        self.inner.streaming.as_deref().ok_or_else(|| {
            error::unsupported("the streaming calls (Exec, Attach, PortForward) yet")
        })
    }
}

/// The socket path of a `--listen` value.
pub fn socket_path(listen: &str) -> Result<PathBuf, std::io::Error> {
    let path = listen.strip_prefix("unix://").unwrap_or(listen);
    if !path.starts_with('/') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("--listen {listen:?}: berth cri listens on unix:///ABSOLUTE/PATH only"),
        ));
    }
    Ok(PathBuf::from(path))
}

/// Serves the CRI on `options.listen` until SIGINT or SIGTERM.
pub fn serve(options: ServeOptions) -> std::io::Result<()> {
    let path = socket_path(&options.listen)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let streaming: Option<Arc<dyn StreamUrls>> = match options.streaming {
            Some(c) => {
                let runtime = Arc::new(EngineStreams {
                    config: options.config.clone(),
                });
                let server = berth_cri_stream::Server::start(c, runtime)
                    .await
                    .map_err(std::io::Error::other)?;
                tracing::info!("berth cri streaming on http://{}", server.local_addr());
                Some(Arc::new(server))
            }
            None => None,
        };
        let cri = Cri::new(options.config, options.pause_image, streaming);
        let listener = bind(&path)?;
        tracing::info!("berth cri listening on unix://{}", path.display());
        let result = serve_on(cri, listener, shutdown()).await;
        let _ = std::fs::remove_file(&path);
        result
    })
}

/// Binds the socket (mode 0600: the CRI is root's), replacing a stale one.
fn bind(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

/// Serves both services on `listener` until `stop` completes.
pub async fn serve_on(
    cri: Cri,
    listener: tokio::net::UnixListener,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use api::image_service_server::ImageServiceServer;
    use api::runtime_service_server::RuntimeServiceServer;
    use tokio_stream::StreamExt;
    // Clients that send the socket's path as :authority (hyperium/h2#487).
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener)
        .map(|conn| conn.map(authority::Tolerant::new));
    tonic::transport::Server::builder()
        .layer(log::LogLayer)
        .add_service(RuntimeServiceServer::new(cri.clone()))
        .add_service(ImageServiceServer::new(cri))
        .serve_with_incoming_shutdown(incoming, stop)
        .await
        .map_err(std::io::Error::other)
}
