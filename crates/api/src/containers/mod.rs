//! `/containers/...` and `/commit`: Docker's container endpoints over the
//! engine's container operations. Request bodies are the Docker API's own
//! models (bollard-stubs); inspect documents come from berth-docker, the
//! same JSON the `berth inspect` command prints.

mod attach;
mod create;
mod files;
mod lifecycle;
mod list;
mod resources;
mod unsupported;
mod usage;

use axum::routing::{delete, get, post};
use axum::Router;

pub(crate) use files::changes_json;
pub use list::mount_points;

use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/containers/create", post(create::create))
        .route("/containers/json", get(list::list))
        .route("/containers/prune", post(lifecycle::prune))
        .route("/containers/{id}/json", get(list::inspect))
        .route("/containers/{id}/start", post(lifecycle::start))
        .route("/containers/{id}/stop", post(lifecycle::stop))
        .route("/containers/{id}/restart", post(lifecycle::restart))
        .route("/containers/{id}/kill", post(lifecycle::kill))
        .route("/containers/{id}/pause", post(lifecycle::pause))
        .route("/containers/{id}/unpause", post(lifecycle::unpause))
        .route("/containers/{id}/wait", post(lifecycle::wait))
        .route("/containers/{id}", delete(lifecycle::remove))
        .route(
            "/containers/{id}/{alias}",
            delete(lifecycle::remove_by_link_name),
        )
        .route("/containers/{id}/logs", get(attach::logs))
        .route("/containers/{id}/attach", post(attach::attach))
        .route("/containers/{id}/resize", post(attach::resize))
        .route(
            "/containers/{id}/archive",
            get(files::archive_get)
                .head(files::archive_head)
                .put(files::archive_put),
        )
        .route("/containers/{id}/changes", get(files::changes))
        .route("/containers/{id}/export", get(files::export))
        .route("/containers/{id}/top", get(usage::top))
        .route("/containers/{id}/stats", get(usage::stats))
        .route("/containers/{id}/rename", post(lifecycle::rename))
        .route("/containers/{id}/update", post(resources::update))
        .route("/commit", post(usage::commit))
}
