//! `/images/...`: Docker's image endpoints over the engine's image
//! operations. Image names
//! contain slashes (`library/busybox`), so per-image routes are one catch-all
//! whose last segment names the action, as in dockerd's router.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::image::{
    DeleteItem, ImageFilter, ImagePruneFilter, ImportOptions, SearchFilters,
};
use berth_engine::units::unix_seconds;
use bollard_stubs::models::{ImageHistoryResponseItem, ImageSummary};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::registry::{self, RequestAuth};
use crate::streams::{self, BodyReader, ChannelWriter};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/images/json", get(list))
        .route("/images/create", post(create))
        .route("/images/load", post(load))
        .route("/images/get", get(save_many))
        .route("/images/prune", post(prune))
        .route("/images/search", get(search))
        .route(
            "/images/{*rest}",
            get(per_image_get).post(per_image_post).delete(remove),
        )
}

/// Splits `name/with/slashes/ACTION`.
fn split_action(rest: &str) -> (String, &str) {
    match rest.rsplit_once('/') {
        Some((name, action)) => (name.to_string(), action),
        None => (rest.to_string(), ""),
    }
}

fn summary_json(img: &berth_engine::image::ImageSummary, q: &Query) -> Value {
    let s = ImageSummary {
        id: img.id.clone(),
        parent_id: String::new(),
        repo_tags: img.repo_tags.clone(),
        repo_digests: img.repo_digests.clone(),
        created: unix_seconds(&img.created),
        size: img.size as i64,
        shared_size: -1,
        labels: img.labels.clone().into_iter().collect(),
        containers: img.containers as i64,
        manifests: None,
        descriptor: None,
    };
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    let version = q.api_version();
    // Docker quirk: API < 1.44 clients read VirtualSize; < 1.43 show untagged
    // images as "<none>:<none>".
    if version.before(1, 44) {
        v["VirtualSize"] = json!(img.size);
    }
    if version.before(1, 43) {
        if img.repo_tags.is_empty() {
            v["RepoTags"] = json!(["<none>:<none>"]);
        }
        if img.repo_digests.is_empty() {
            v["RepoDigests"] = json!(["<none>@<none>"]);
        }
    }
    v
}

async fn list(State(engine): State<Shared>, q: Query) -> Result<Json<Vec<Value>>, ApiError> {
    let filter = ImageFilter::new(&q.filters()?.to_engine())?;
    let images = engine
        .with_engine(move |engine| Ok(engine.image_list(&filter)?))
        .await?;
    Ok(Json(images.iter().map(|i| summary_json(i, &q)).collect()))
}

/// `POST /images/create`: `fromSrc=-` imports the body; `fromImage` would pull.
async fn create(
    State(engine): State<Shared>,
    q: Query,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if let Some(image) = q.text("fromImage") {
        let auth = RequestAuth::from_headers(&headers)?;
        return Ok(registry::pull(
            &engine,
            image,
            q.text("tag"),
            q.text("platform"),
            auth,
        ));
    }
    let source = q
        .text("fromSrc")
        .ok_or_else(|| ApiError::bad_request("fromSrc or fromImage is required"))?;
    if source != "-" {
        return Err(ApiError::bad_request(format!(
            "importing from a URL is not supported: {source}"
        )));
    }
    let tag = match (q.text("repo"), q.text("tag")) {
        (Some(r), Some(t)) => Some(format!("{r}:{t}")),
        (Some(r), None) => Some(r),
        (None, _) => None,
    };
    let opts = ImportOptions {
        changes: q
            .all("changes")
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect(),
        message: q.text("message"),
        tag,
    };
    let reader = BodyReader::new(body);
    let id = engine
        .with_engine(move |engine| Ok(engine.image_import(reader, &opts)?))
        .await?;
    Ok(json_lines(&[json!({"status": id})]))
}

fn json_lines(items: &[Value]) -> Response {
    let mut body = String::new();
    for i in items {
        body.push_str(&i.to_string());
        body.push('\n');
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn load(State(engine): State<Shared>, body: Body) -> Result<Response, ApiError> {
    let reader = BodyReader::new(body);
    let loaded = match engine
        .with_engine(move |engine| Ok(engine.image_load(reader)?))
        .await
    {
        Ok(loaded) => loaded,
        // Docker quirk: a bad archive is reported inside a 200 message stream
        // (docker-py raises ImageLoadError from it, the CLI prints it).
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            return Ok(json_lines(&[
                json!({"errorDetail": {"message": e.message}, "error": e.message}),
            ]));
        }
        Err(e) => return Err(e),
    };
    let mut lines = Vec::new();
    for image in &loaded {
        // Docker quirk: `quiet` (which the CLI sets whenever its output is not
        // a terminal) only silences progress; the "Loaded image" lines stay.
        for (tag, old) in &image.retagged {
            lines.push(json!({"stream": format!(
                "The image {tag} already exists, renaming the old one with ID {old} to empty string\n"
            )}));
        }
        if image.tags.is_empty() {
            lines.push(json!({"stream": format!("Loaded image ID: {}\n", image.id)}));
        }
        for tag in &image.tags {
            lines.push(json!({"stream": format!("Loaded image: {tag}\n")}));
        }
    }
    Ok(json_lines(&lines))
}

async fn save(engine: Shared, names: Vec<String>) -> Result<Response, ApiError> {
    if names.is_empty() {
        return Err(ApiError::bad_request("no images given"));
    }
    let check = names.clone();
    engine
        .with_engine(move |engine| {
            for n in &check {
                engine.image_id(n)?;
            }
            Ok(())
        })
        .await?;
    let config = engine.config();
    Ok(streams::blocking_body("application/x-tar", move |tx| {
        let saved = berth_engine::Engine::open(config)
            .and_then(|engine| engine.image_save(&names, ChannelWriter(tx)));
        if let Err(e) = saved {
            tracing::error!("save {names:?} failed after its stream began: {e}");
        }
    }))
}

async fn save_many(State(engine): State<Shared>, q: Query) -> Result<Response, ApiError> {
    save(engine, q.all("names")).await
}

async fn per_image_get(
    State(engine): State<Shared>,
    Path(rest): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let (name, action) = split_action(&rest);
    match action {
        "json" => {
            let version = q.api_version();
            let v = engine
                .with_engine(move |engine| {
                    let mut v = serde_json::to_value(engine.image_inspect(&name)?)?;
                    // Docker quirk: VirtualSize went away in API 1.44.
                    if !version.before(1, 44) {
                        if let Some(o) = v.as_object_mut() {
                            o.remove("VirtualSize");
                        }
                    }
                    Ok(v)
                })
                .await?;
            Ok(Json(v).into_response())
        }
        "history" => {
            let items = engine
                .with_engine(move |engine| Ok(engine.image_history(&name)?))
                .await?;
            let out: Vec<ImageHistoryResponseItem> = items
                .into_iter()
                .map(|h| ImageHistoryResponseItem {
                    id: h.id,
                    created: unix_seconds(&h.created),
                    created_by: h.created_by,
                    tags: h.tags,
                    size: h.size as i64,
                    comment: h.comment,
                })
                .collect();
            Ok(Json(out).into_response())
        }
        "get" => save(engine, vec![name]).await,
        _ => Err(ApiError::not_found(format!(
            "page not found: /images/{rest}"
        ))),
    }
}

async fn per_image_post(
    State(engine): State<Shared>,
    Path(rest): Path<String>,
    q: Query,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (name, action) = split_action(&rest);
    match action {
        "tag" => {
            let repo = q.text("repo").ok_or_else(|| {
                ApiError::bad_request("repository name must have at least one component")
            })?;
            let target = match q.text("tag") {
                Some(t) => format!("{repo}:{t}"),
                None => repo,
            };
            engine
                .with_engine(move |engine| Ok(engine.image_tag(&name, &target)?))
                .await?;
            Ok(StatusCode::CREATED.into_response())
        }
        "push" => {
            let auth = RequestAuth::from_headers(&headers)?;
            Ok(registry::push(&engine, name, q.text("tag"), auth))
        }
        _ => Err(ApiError::not_found(format!(
            "page not found: /images/{rest}"
        ))),
    }
}

fn delete_items(items: &[DeleteItem]) -> Vec<Value> {
    items
        .iter()
        .map(|i| match i {
            DeleteItem::Untagged(r) => json!({"Untagged": r}),
            DeleteItem::Deleted(id) => json!({"Deleted": id}),
        })
        .collect()
}

async fn remove(
    State(engine): State<Shared>,
    Path(name): Path<String>,
    q: Query,
) -> Result<Json<Vec<Value>>, ApiError> {
    let force = q.bool("force");
    let items = engine
        .with_engine(move |engine| Ok(engine.image_remove(&name, force)?))
        .await?;
    Ok(Json(delete_items(&items)))
}

async fn prune(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let filter = ImagePruneFilter::new(&q.filters()?.to_engine())?;
    let report = engine
        .with_engine(move |engine| Ok(engine.image_prune(&filter)?))
        .await?;
    let items = delete_items(&report.deleted);
    Ok(Json(json!({
        "ImagesDeleted": if items.is_empty() { Value::Null } else { Value::Array(items) },
        "SpaceReclaimed": report.reclaimed,
    })))
}

/// `GET /images/search?term=&limit=&filters=`: the registry's answer, in
/// dockerd's shape, with the request's `X-Registry-Auth` credentials.
async fn search(q: Query, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let term = q
        .text("term")
        .ok_or_else(|| ApiError::bad_request("search term is required"))?;
    let limit = q.int("limit")?.unwrap_or(0).max(0) as u32;
    let auth = RequestAuth::from_headers(&headers)?;
    let filters = q.filters()?;
    let found = tokio::task::spawn_blocking(move || {
        let filters = SearchFilters::from_pairs(filters.pairs())?;
        berth_engine::Engine::image_search(&term, limit, &filters, &auth)
    })
    .await
    .map_err(|e| ApiError::engine(e.to_string()))??;
    Ok(Json(Value::Array(
        found
            .into_iter()
            .map(|r| {
                json!({
                    "star_count": r.star_count,
                    "is_official": r.is_official,
                    "name": r.name,
                    "is_automated": r.is_automated,
                    "description": r.description,
                })
            })
            .collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_split_off_names_with_slashes() {
        assert_eq!(
            split_action("library/busybox:latest/json"),
            ("library/busybox:latest".into(), "json")
        );
    }
}
