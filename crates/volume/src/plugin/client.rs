//! One call of Docker's plugin protocol: an HTTP/1.1 `POST /Method` with a
//! JSON body to a plugin's unix socket or TCP address, answered with JSON.
//! Every call has a deadline (connect, request and the whole answer), so a
//! plugin that hangs is an error, not a stuck command.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Docker's media type of plugin requests and answers (`Accept` and
/// `Content-Type`).
pub const MEDIA_TYPE: &str = "application/vnd.docker.plugins.v1.2+json";

/// Where a plugin listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    Unix(std::path::PathBuf),
    /// `host:port`.
    Tcp(String),
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Unix(p) => write!(f, "unix://{}", p.display()),
            Addr::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// How a call failed, before the plugin's own answer is looked at.
#[derive(Debug)]
pub enum CallError {
    /// Could not reach the plugin (no socket, refused, reset mid-call).
    Unreachable(String),
    /// No complete answer within the deadline.
    Timeout(Duration),
    /// The plugin answered with an error: its `Err` field, or the body.
    Refused { err: String },
    /// An answer that is not JSON.
    BadAnswer(String),
}

/// Calls `method` (`VolumeDriver.Create`) with `body`; the answer's JSON.
pub fn call(
    addr: &Addr,
    method: &str,
    body: &Value,
    timeout: Duration,
) -> Result<Value, CallError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| CallError::Unreachable(e.to_string()))?;
    let payload = serde_json::to_vec(body).map_err(|e| CallError::BadAnswer(e.to_string()))?;
    let answer = runtime.block_on(async {
        tokio::time::timeout(timeout, exchange(addr, method, payload))
            .await
            .map_err(|_| CallError::Timeout(timeout))?
    })?;
    let (status, bytes) = answer;
    if status != StatusCode::OK {
        // Docker's plugins answer errors as {"Err": "..."}; older ones as text.
        let err = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("Err").and_then(Value::as_str).map(str::to_string))
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
        return Err(CallError::Refused { err });
    }
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&bytes).map_err(|e| CallError::BadAnswer(e.to_string()))?
    };
    // A 200 answer may still carry the error (Docker's volume protocol).
    match value.get("Err").and_then(Value::as_str) {
        Some(err) if !err.is_empty() => Err(CallError::Refused {
            err: err.to_string(),
        }),
        _ => Ok(value),
    }
}

async fn exchange(
    addr: &Addr,
    method: &str,
    payload: Vec<u8>,
) -> Result<(StatusCode, Bytes), CallError> {
    let unreachable = |e: &dyn std::fmt::Display| CallError::Unreachable(format!("{addr}: {e}"));
    let request = Request::post(format!("/{method}"))
        // Docker's name for the local end of a plugin connection.
        .header(HOST, "plugin.moby.localhost")
        .header(ACCEPT, MEDIA_TYPE)
        .header(CONTENT_TYPE, MEDIA_TYPE)
        .body(Full::new(Bytes::from(payload)))
        .map_err(|e| unreachable(&e))?;
    let response = match addr {
        Addr::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| unreachable(&e))?;
            send(TokioIo::new(stream), request).await
        }
        Addr::Tcp(host) => {
            let stream = tokio::net::TcpStream::connect(host)
                .await
                .map_err(|e| unreachable(&e))?;
            send(TokioIo::new(stream), request).await
        }
    };
    response.map_err(|e| unreachable(&e))
}

async fn send<T>(
    io: TokioIo<T>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), hyper::Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    let driven = tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    drop(sender);
    let _ = driven.await;
    Ok((status, body))
}
