//! Pull and push over the API: `POST /images/create?fromImage=` and
//! `POST /images/{name}/push`, with the credentials of the request's
//! `X-Registry-Auth` header and Docker's JSON progress messages.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use berth_engine::image::{
    CredentialSource, Credentials, LayerStatus, ProgressEvent, PullOptions, PushOptions,
};
use berth_engine::units::human_size;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::Shared;

/// The credentials a client sent, for any registry host: Docker's
/// `X-Registry-Auth` is the base64url of `{"username", "password",
/// "serveraddress", ...}` (`e30=`, `{}`, when the client has none).
pub struct RequestAuth(Option<Credentials>);

impl RequestAuth {
    pub fn from_headers(headers: &HeaderMap) -> Result<RequestAuth, ApiError> {
        let Some(raw) = headers.get("X-Registry-Auth").and_then(|v| v.to_str().ok()) else {
            return Ok(RequestAuth(None));
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(RequestAuth(None));
        }
        // Docker quirk: clients send URL-safe base64, some with padding,
        // some (docker-py) standard base64.
        let bytes = base64::engine::general_purpose::URL_SAFE
            .decode(raw)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(raw))
            .map_err(|_| ApiError::bad_request("invalid X-Registry-Auth header: not base64"))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid X-Registry-Auth header: {e}")))?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (username, password) = (field("username"), field("password"));
        if username.is_empty() && password.is_empty() {
            return Ok(RequestAuth(None));
        }
        Ok(RequestAuth(Some(Credentials { username, password })))
    }
}

impl CredentialSource for RequestAuth {
    fn credentials(&self, _host: &str) -> berth_engine::Result<Option<Credentials>> {
        Ok(self.0.clone())
    }
}

/// Docker's JSON progress messages, sent as the engine reports.
struct JsonProgress(mpsc::UnboundedSender<Bytes>);

impl JsonProgress {
    fn send(&self, v: Value) {
        let mut line = v.to_string();
        line.push('\n');
        let _ = self.0.send(Bytes::from(line));
    }
}

/// The text progress bar of a JSON message (old clients print it as is).
fn bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    if total == 0 {
        return human_size(done);
    }
    let filled = (done.min(total) * WIDTH / total) as usize;
    let arrow = if filled < WIDTH as usize { ">" } else { "" };
    format!(
        "[{}{arrow}{}] {}/{}",
        "=".repeat(filled),
        " ".repeat((WIDTH as usize).saturating_sub(filled + arrow.len())),
        human_size(done),
        human_size(total)
    )
}

impl berth_engine::image::Progress for JsonProgress {
    fn event(&self, event: ProgressEvent<'_>) {
        match event {
            ProgressEvent::Layer { id, status } => {
                let mut v = json!({"status": status.text(), "progressDetail": {}, "id": id});
                if let Some((done, total)) = status.bytes() {
                    v["progressDetail"] = json!({"current": done, "total": total});
                    v["progress"] = json!(bar(done, total));
                }
                if status == LayerStatus::PullComplete || status == LayerStatus::Pushed {
                    v["progressDetail"] = json!({});
                }
                self.send(v);
            }
            // The docker CLI prints this line itself.
            ProgressEvent::DefaultTag { .. } => {}
            ProgressEvent::PullingFrom { tag, repository } => {
                self.send(json!({"status": format!("Pulling from {repository}"), "id": tag}));
            }
            ProgressEvent::Digest { digest } => {
                self.send(json!({"status": format!("Digest: {digest}")}));
            }
            ProgressEvent::Status {
                reference,
                up_to_date,
            } => {
                let text = if up_to_date {
                    format!("Status: Image is up to date for {reference}")
                } else {
                    format!("Status: Downloaded newer image for {reference}")
                };
                self.send(json!({ "status": text }));
            }
            ProgressEvent::PushRefersTo { repository } => {
                self.send(
                    json!({"status": format!("The push refers to repository [{repository}]")}),
                );
            }
            ProgressEvent::Pushed { tag, digest, size } => {
                self.send(json!({"status": format!("{tag}: digest: {digest} size: {size}")}));
                self.send(json!({
                    "progressDetail": {},
                    "aux": {"Tag": tag, "Digest": digest, "Size": size},
                }));
            }
        }
    }
}

/// A pull or push running on the blocking pool, its progress streamed as
/// Docker's JSON messages and its failure as Docker's `errorDetail`.
fn stream<F>(server: &Shared, run: F) -> Response
where
    F: FnOnce(&mut berth_engine::Engine, &JsonProgress) -> berth_engine::Result<()>
        + Send
        + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let config = server.config();
    tokio::task::spawn_blocking(move || {
        let progress = JsonProgress(tx);
        let result = berth_engine::Engine::open(config).and_then(|mut e| run(&mut e, &progress));
        if let Err(e) = result {
            progress
                .send(json!({"errorDetail": {"message": e.to_string()}, "error": e.to_string()}));
        }
    });
    let body = axum::body::Body::from_stream(receiver_stream(rx));
    let mut response = body.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn receiver_stream(
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|o| o.map(Ok)))
}

/// `POST /images/create?fromImage=NAME[&tag=TAG]`: Docker pulls every tag
/// of the repository when no tag is given.
pub fn pull(
    server: &Shared,
    image: String,
    tag: Option<String>,
    platform: Option<String>,
    auth: RequestAuth,
) -> Response {
    let (name, all_tags) = match tag {
        Some(t) if t.starts_with("sha256:") => (format!("{image}@{t}"), false),
        Some(t) => (format!("{image}:{t}"), false),
        None => {
            let last = image.rsplit('/').next().unwrap_or(&image);
            let named = image.contains('@') || last.contains(':');
            (image, !named)
        }
    };
    let options = PullOptions {
        name,
        all_tags,
        platform,
    };
    stream(server, move |engine, progress| {
        engine.image_pull(&options, &auth, progress)?;
        Ok(())
    })
}

/// `POST /images/{name}/push[?tag=TAG]`: no tag pushes every tag.
pub fn push(server: &Shared, name: String, tag: Option<String>, auth: RequestAuth) -> Response {
    let options = match tag {
        Some(t) => PushOptions {
            name: format!("{name}:{t}"),
            all_tags: false,
        },
        None => PushOptions {
            name,
            all_tags: true,
        },
    };
    stream(server, move |engine, progress| {
        engine.image_push(&options, &auth, progress)?;
        Ok(())
    })
}
