//! The CRI server's own log, as `berth serve`'s (berth-api's `log.rs`):
//! every call at `debug` (its gRPC method, status code and duration), every
//! failed call at `warn` (a refusal: the caller's mistake or a missing
//! object) or `error` (berth failed) with the status message the client
//! got — the engine's error with its causes. Events go to `tracing`; the
//! binary chooses where they are written and in which format
//! (`berth cri --log-level/--log-format`).
//!
//! The status is read from the response's headers: tonic sends a failed
//! unary call as a trailers-only response (`grpc-status` in the headers),
//! a successful one with its status in the trailers, after the message.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::Code;
use tower_layer::Layer;
use tower_service::Service;

/// Wraps the server's routes in [`Logged`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LogLayer;

impl<S> Layer<S> for LogLayer {
    type Service = Logged<S>;
    fn layer(&self, inner: S) -> Logged<S> {
        Logged(inner)
    }
}

/// A service that logs each call once its response headers are ready.
#[derive(Clone, Debug)]
pub struct Logged<S>(S);

impl<S, B, R> Service<http::Request<B>> for Logged<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // `/runtime.v1.RuntimeService/RunPodSandbox`.
        let method = req.uri().path().to_string();
        let started = Instant::now();
        let call = self.0.call(req);
        Box::pin(async move {
            let resp = call.await;
            let duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0;
            match &resp {
                Ok(resp) => log_call(&method, resp.headers(), duration_ms),
                Err(_) => tracing::error!(%method, duration_ms, "{method}: transport failure"),
            }
            resp
        })
    }
}

fn log_call(method: &str, headers: &http::HeaderMap, duration_ms: f64) {
    let status = tonic::Status::from_header_map(headers);
    let code = status.as_ref().map_or(Code::Ok, |s| s.code());
    let code_num = code as i32;
    if let Some(status) = status.filter(|s| s.code() != Code::Ok) {
        let message = status.message();
        if is_server_failure(code) {
            tracing::error!(%method, code = ?code, code_num, duration_ms,
                "{method} returned error: {code:?}: {message}");
        } else {
            tracing::warn!(%method, code = ?code, code_num, duration_ms,
                "{method} returned error: {code:?}: {message}");
        }
    }
    tracing::debug!(%method, code = ?code, code_num, duration_ms,
        "{method} {code:?} {duration_ms:.1}ms");
}

/// The codes of berth failing rather than refusing (HTTP's 5xx, where
/// `berth serve` logs at `error`).
fn is_server_failure(code: Code) -> bool {
    matches!(
        code,
        Code::Internal | Code::Unknown | Code::Unavailable | Code::DataLoss
    )
}
