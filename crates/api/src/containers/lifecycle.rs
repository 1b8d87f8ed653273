//! Status changes: start, stop, restart, kill, pause, unpause, rm, rename,
//! prune and wait. Their events are the engine's.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::container::prune::ContainerPruneFilter;
use berth_engine::container::rm::RemoveRequest;
use berth_engine::container::stop::StopRequest;
use berth_engine::container::wait::WaitCondition;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::{streams, Shared};

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Docker quirk: a change to the state the container is in already is 304
/// Not Modified, not an error.
fn changed(done: bool) -> Response {
    if done {
        no_content()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    }
}

pub(super) async fn start(
    State(server): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let started = server
        .with_engine(move |engine| Ok(engine.container_start(&id, false)?.started))
        .await?;
    Ok(changed(started))
}

/// `t` (or `timeout`) and `signal`, as `stop` and `restart` take them.
fn stop_request(q: &Query) -> Result<StopRequest, ApiError> {
    Ok(StopRequest {
        timeout: q.int("t")?.or(q.int("timeout")?),
        signal: q.text("signal"),
    })
}

pub(super) async fn stop(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let req = stop_request(&q)?;
    let stopped = server
        .with_engine(move |engine| Ok(engine.container_stop(&id, &req)?))
        .await?;
    Ok(changed(stopped))
}

pub(super) async fn restart(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let req = stop_request(&q)?;
    server
        .with_engine(move |engine| Ok(engine.container_restart(&id, &req)?))
        .await?;
    Ok(no_content())
}

pub(super) async fn kill(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let signal = q.text("signal");
    server
        .with_engine(move |engine| Ok(engine.container_kill(&id, signal.as_deref())?))
        .await?;
    Ok(no_content())
}

pub(super) async fn pause(
    State(server): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    server
        .with_engine(move |engine| Ok(engine.container_pause(&id)?))
        .await?;
    Ok(no_content())
}

pub(super) async fn unpause(
    State(server): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    server
        .with_engine(move |engine| Ok(engine.container_unpause(&id)?))
        .await?;
    Ok(no_content())
}

pub(super) async fn remove(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let req = RemoveRequest {
        force: q.bool("force"),
        volumes: q.bool("v"),
    };
    server
        .with_engine(move |engine| {
            if q.bool("link") {
                Ok(engine.container_remove_link(&id)?)
            } else {
                Ok(engine.container_remove(&id, req)?)
            }
        })
        .await?;
    Ok(no_content())
}

/// `DELETE /containers/PARENT/ALIAS`: Docker quirk, a legacy link's name
/// stands for the linked container: with `link=1` the link goes (`docker rm
/// --link`), without it the linked container is removed.
pub(super) async fn remove_by_link_name(
    State(server): State<Shared>,
    Path((parent, alias)): Path<(String, String)>,
    q: Query,
) -> Result<Response, ApiError> {
    let name = format!("{parent}/{alias}");
    if q.bool("link") {
        server
            .with_engine(move |engine| Ok(engine.container_remove_link(&name)?))
            .await?;
        return Ok(no_content());
    }
    let child = server
        .with_engine(move |engine| Ok(engine.container_linked(&name)?))
        .await?;
    remove(State(server), Path(child), q).await
}

pub(super) async fn rename(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let name = q
        .text("name")
        .ok_or_else(|| ApiError::bad_request("Neither old nor new names may be empty"))?;
    server
        .with_engine(move |engine| Ok(engine.container_rename(&id, &name)?))
        .await?;
    Ok(no_content())
}

pub(super) async fn prune(State(server): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let filter = ContainerPruneFilter::new(&q.filters()?.to_engine())?;
    let report = server
        .with_engine(move |engine| Ok(engine.container_prune(&filter)?))
        .await?;
    let deleted = report.deleted;
    Ok(Json(json!({
        "ContainersDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": report.reclaimed,
    })))
}

pub(super) async fn wait(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let condition = match q.text("condition").as_deref() {
        None | Some("not-running") => WaitCondition::NotRunning,
        Some("next-exit") => WaitCondition::NextExit,
        Some("removed") => WaitCondition::Removed,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid condition: \"{other}\""
            )))
        }
    };
    // Registered before answering, so that a start that follows the
    // answer is seen.
    let wait = server
        .with_engine(move |engine| Ok(engine.container_wait(&id, condition)?))
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    tokio::spawn(async move {
        let code = tokio::task::spawn_blocking(move || wait.wait())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        let body = json!({"StatusCode": code, "Error": null}).to_string();
        let _ = tx.send(Bytes::from(body)).await;
    });
    // Docker quirk: the headers go out at once (the CLI sends `start` only
    // after the wait is acknowledged); the body follows at the exit.
    let mut response = Response::new(streams::channel_body(rx));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
