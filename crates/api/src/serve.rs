//! Listening: `-H unix:///path` sockets (mode 0660, owned by root and the
//! `--group`), `-H tcp://ADDR:PORT` (unauthenticated: a warning is printed),
//! and a clean stop on SIGTERM/SIGINT (sockets removed, in-flight requests
//! given a moment, streams cut).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UnixListener};

use crate::error::ApiError;
use crate::{ServeOptions, Server, DEFAULT_HOST};

/// Requests in flight and the time of the last one, so that an idle server
/// can give back the memory that serving touched.
struct Activity {
    in_flight: AtomicUsize,
    last_ms: AtomicU64,
    shed: AtomicBool,
}

static ACTIVITY: Activity = Activity {
    in_flight: AtomicUsize::new(0),
    last_ms: AtomicU64::new(0),
    shed: AtomicBool::new(false),
};

fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Middleware: counts requests in flight.
pub(crate) async fn track_activity(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    ACTIVITY.in_flight.fetch_add(1, Ordering::SeqCst);
    ACTIVITY.shed.store(false, Ordering::SeqCst);
    ACTIVITY.last_ms.store(now_ms(), Ordering::SeqCst);
    let resp = next.run(req).await;
    ACTIVITY.last_ms.store(now_ms(), Ordering::SeqCst);
    ACTIVITY.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
}

/// Once the server has been idle for a second, returns freed heap to the
/// kernel and drops the binary's code pages from the page tables (they fault
/// back in from the page cache on the next request): an idle server then
/// holds little more than its sockets.
async fn shed_memory_when_idle() {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let idle_for = now_ms().saturating_sub(ACTIVITY.last_ms.load(Ordering::SeqCst));
        if ACTIVITY.in_flight.load(Ordering::SeqCst) == 0
            && idle_for >= 1000
            && !ACTIVITY.shed.swap(true, Ordering::SeqCst)
        {
            // SAFETY: malloc_trim only returns free heap memory to the kernel.
            unsafe { libc::malloc_trim(0) };
            berth_engine::monitor::drop_readonly_file_pages();
        }
    }
}

/// One parsed `-H` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp(String),
}

impl Host {
    pub fn parse(raw: &str) -> Result<Host, ApiError> {
        if let Some(path) = raw.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(ApiError::bad_request(format!(
                    "invalid unix socket address {raw:?}: the path must be absolute"
                )));
            }
            return Ok(Host::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = raw.strip_prefix("tcp://") {
            let addr = addr.trim_end_matches('/');
            if !addr.contains(':') {
                return Err(ApiError::bad_request(format!(
                    "invalid tcp address {raw:?}: a port is required (tcp://127.0.0.1:2375)"
                )));
            }
            return Ok(Host::Tcp(addr.to_string()));
        }
        if raw.starts_with('/') {
            return Ok(Host::Unix(PathBuf::from(raw)));
        }
        Err(ApiError::bad_request(format!(
            "invalid host {raw:?}: use unix:///path or tcp://host:port"
        )))
    }
}

fn group_id(name: &str) -> Result<libc::gid_t, ApiError> {
    if let Ok(gid) = name.parse::<libc::gid_t>() {
        return Ok(gid);
    }
    let cname = std::ffi::CString::new(name)
        .map_err(|_| ApiError::bad_request(format!("invalid group name {name:?}")))?;
    // SAFETY: getgrnam with a valid C string; the result is read at once, on
    // this thread, before any other call that could reuse its buffer.
    let entry = unsafe { libc::getgrnam(cname.as_ptr()) };
    if entry.is_null() {
        return Err(ApiError::bad_request(format!("group {name} not found")));
    }
    // SAFETY: non-null pointer returned by getgrnam.
    Ok(unsafe { (*entry).gr_gid })
}

fn bind_unix(path: &Path, gid: libc::gid_t) -> Result<UnixListener, ApiError> {
    let io = |e: std::io::Error| ApiError::engine(format!("{}: {e}", path.display()));
    if path.exists() {
        // A live server answers: refuse to steal its socket. A stale one is replaced.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ApiError::conflict(format!(
                "{}: another server is listening on this socket",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(io)?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
    std::os::unix::fs::chown(path, Some(0), Some(gid)).map_err(io)?;
    Ok(listener)
}

/// Runs the server until SIGTERM or SIGINT. Blocks the calling thread.
pub fn serve(opts: ServeOptions) -> Result<(), ApiError> {
    let hosts: Vec<Host> = if opts.hosts.is_empty() {
        vec![Host::parse(DEFAULT_HOST)?]
    } else {
        opts.hosts
            .iter()
            .map(|h| Host::parse(h))
            .collect::<Result<_, _>>()?
    };
    let gid = match &opts.group {
        Some(g) => group_id(g)?,
        None => 0,
    };
    // Fail early on a state root that cannot be opened, not on the first
    // request.
    berth_engine::Engine::open(opts.config.clone())?;
    // One thread for I/O: every blocking call goes to the blocking pool, so
    // the server stays small when idle.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(256)
        .thread_keep_alive(Duration::from_secs(10))
        .build()
        .map_err(|e| ApiError::engine(format!("starting the server: {e}")))?;
    let result = runtime.block_on(run(opts, hosts, gid));
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn run(opts: ServeOptions, hosts: Vec<Host>, gid: libc::gid_t) -> Result<(), ApiError> {
    let server = Arc::new(Server {
        config: opts.config.clone(),
        events: Default::default(),
    });
    let app = crate::router(server);
    let mut sockets = Vec::new();
    let mut servers = tokio::task::JoinSet::new();
    for host in &hosts {
        match host {
            Host::Unix(path) => {
                let listener = bind_unix(path, gid)?;
                sockets.push(path.clone());
                tracing::info!("API listening on {}", path.display());
                servers.spawn(std::future::IntoFuture::into_future(axum::serve(
                    listener,
                    app.clone()
                        .into_make_service_with_connect_info::<crate::log::Client>(),
                )));
            }
            Host::Tcp(addr) => {
                let listener = TcpListener::bind(addr.as_str())
                    .await
                    .map_err(|e| ApiError::engine(format!("listen on {addr}: {e}")))?;
                tracing::warn!(
                    "API is accessible on http://{addr} without encryption or authentication: \
                     anyone who can reach it controls berth (and root on this host)"
                );
                servers.spawn(std::future::IntoFuture::into_future(axum::serve(
                    listener,
                    app.clone()
                        .into_make_service_with_connect_info::<crate::log::Client>(),
                )));
            }
        }
    }
    servers.spawn(async {
        shed_memory_when_idle().await;
        Ok::<(), std::io::Error>(())
    });
    let outcome = tokio::select! {
        _ = shutdown_signal() => Ok(()),
        Some(done) = servers.join_next() => match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ApiError::engine(format!("server: {e}"))),
            Err(e) => Err(ApiError::engine(format!("server: {e}"))),
        },
    };
    for path in &sockets {
        let _ = std::fs::remove_file(path);
    }
    servers.abort_all();
    outcome
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        assert_eq!(
            Host::parse("unix:///run/berth.sock").unwrap(),
            Host::Unix("/run/berth.sock".into())
        );
        assert_eq!(
            Host::parse("tcp://127.0.0.1:2375").unwrap(),
            Host::Tcp("127.0.0.1:2375".into())
        );
        assert!(Host::parse("tcp://127.0.0.1").is_err());
        assert!(Host::parse("unix://relative").is_err());
        assert!(Host::parse("http://x").is_err());
        assert_eq!(group_id("0").unwrap(), 0);
        assert_eq!(group_id("root").unwrap(), 0);
        assert!(group_id("no-such-group-berth").is_err());
    }
}
