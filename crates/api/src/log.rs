//! The server's own log, as dockerd's: every request at `debug` (method,
//! path, status, duration, client), every error response at `warn` (4xx) or
//! `error` (5xx) with the text the client was sent. Events go to `tracing`;
//! the binary chooses where they are written and in which format
//! (`berth serve --log-level/--log-format`).
//!
//! The error text is not read back from the response body (a stream for
//! attach, logs, events): [`ApiError`](crate::ApiError) attaches it to the
//! response as an [`ErrorText`] extension when it becomes a response.

use std::time::Instant;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::net::{TcpListener, UnixListener};

use crate::connection::Connection;

/// Who sent a request: the peer's uid and pid on a unix socket (as the
/// kernel reports them: `uid:0,pid:1234`), its address on TCP; and its
/// connection (for hijacked streams).
#[derive(Clone, Debug)]
pub(crate) struct Client(String, pub(crate) Connection);

impl Connected<IncomingStream<'_, UnixListener>> for Client {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Client {
        let who = match stream.io().peer_cred() {
            Ok(cred) => match cred.pid() {
                Some(pid) => format!("uid:{},pid:{pid}", cred.uid()),
                None => format!("uid:{}", cred.uid()),
            },
            Err(_) => "unix".to_string(),
        };
        Client(who, Connection::unix(stream.io()))
    }
}

impl Connected<IncomingStream<'_, TcpListener>> for Client {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Client {
        Client(
            stream.remote_addr().to_string(),
            Connection::tcp(stream.io()),
        )
    }
}

/// The message of an error response, for the log.
#[derive(Clone, Debug)]
pub(crate) struct ErrorText(pub String);

/// Middleware: logs the request once its response is ready (for a hijacked
/// stream, when it is upgraded; for a streamed body, when the body starts).
pub(crate) async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let target = match req.uri().query() {
        Some(query) => format!("{}?{query}", req.uri().path()),
        None => req.uri().path().to_string(),
    };
    let client = req
        .extensions()
        .get::<ConnectInfo<Client>>()
        .map(|info| info.0 .0.clone())
        .unwrap_or_default();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0;
    if status >= 400 {
        let text = resp
            .extensions()
            .get::<ErrorText>()
            .map(|t| t.0.as_str())
            .unwrap_or("(no message)");
        // dockerd's words: "Handler for GET /path returned error: ...".
        if status >= 500 {
            tracing::error!(%method, path = %target, status, %client,
                "Handler for {method} {target} returned error: {text}");
        } else {
            tracing::warn!(%method, path = %target, status, %client,
                "Handler for {method} {target} returned error: {text}");
        }
    }
    tracing::debug!(%method, path = %target, status, duration_ms, %client,
        "{method} {target} {status} {duration_ms:.1}ms");
    resp
}
