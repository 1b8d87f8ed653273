//! `GET /containers/json` and `GET /containers/{id}/json`: the engine's
//! container details in Docker's shapes (the inspect document from
//! berth-docker, the same the `berth inspect` command prints).

use axum::extract::{Path, State};
use axum::Json;
use berth_engine::container::details::ContainerDetails;
use berth_engine::container::list::{ContainerFilter, ListRequest};
use berth_engine::model::{Container, MountKind};
use bollard_stubs::models::{
    ContainerSummary, ContainerSummaryHostConfig, ContainerSummaryStateEnum, MountPoint,
    PortSummary, PortSummaryTypeEnum,
};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::Shared;

use berth_engine::units::{human_duration, unix_seconds};

fn seconds_since(rfc3339: &str) -> i64 {
    (chrono::Utc::now().timestamp() - unix_seconds(rfc3339)).max(0)
}

pub fn mount_points(c: &Container) -> Vec<MountPoint> {
    c.spec
        .mounts
        .iter()
        .filter(|m| !(m.kind == MountKind::Tmpfs && c.spec.host.tmpfs.contains_key(&m.destination)))
        .map(|m| MountPoint {
            typ: Some(
                match m.kind {
                    MountKind::Volume => "volume",
                    MountKind::Bind => "bind",
                    MountKind::Tmpfs => "tmpfs",
                    MountKind::Image => "image",
                }
                .to_string(),
            ),
            name: (!m.name.is_empty()).then(|| m.name.clone()),
            source: Some(m.source.display().to_string()),
            destination: Some(m.destination.clone()),
            driver: (!m.driver.is_empty()).then(|| m.driver.clone()),
            mode: Some(m.mode.clone()),
            rw: Some(m.rw),
            propagation: Some(m.propagation.clone()),
        })
        .collect()
}

fn summary(d: &ContainerDetails) -> Value {
    let c = &d.container;
    let command = std::iter::once(c.spec.path.clone())
        .chain(c.spec.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let network = c.spec.host.network_mode.clone();
    let s = ContainerSummary {
        id: Some(c.id.clone()),
        names: Some(berth_docker::names::list_names(
            &c.slash_name(),
            &d.link_names,
        )),
        image: Some(c.image_ref.clone()),
        image_id: Some(c.image_id.clone()),
        command: Some(command),
        created: Some(unix_seconds(&c.created_at)),
        ports: Some(
            d.networking
                .published
                .iter()
                .map(|p| PortSummary {
                    ip: Some(p.shown_host_ip().to_string()),
                    private_port: p.container_port,
                    public_port: Some(p.host_port),
                    typ: p.protocol.parse::<PortSummaryTypeEnum>().ok(),
                })
                .collect(),
        ),
        size_rw: d.size.map(|s| s.rw as i64),
        size_root_fs: d.size.map(|s| s.root_fs as i64),
        labels: Some(c.spec.labels.clone().into_iter().collect()),
        state: c
            .state
            .status
            .as_str()
            .parse::<ContainerSummaryStateEnum>()
            .ok(),
        status: Some(berth_docker::inspect::status_text(
            c,
            human_duration,
            seconds_since,
        )),
        host_config: Some(ContainerSummaryHostConfig {
            network_mode: Some(network.clone()),
            annotations: None,
        }),
        mounts: Some(mount_points(c)),
        ..Default::default()
    };
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    // The endpoints as inspect shows them (`docker ps --format '{{.Networks}}'`).
    let networks = berth_docker::inspect::container(d)["NetworkSettings"]["Networks"].take();
    v["NetworkSettings"] = json!({ "Networks": networks });
    v
}

pub(super) async fn list(
    State(server): State<Shared>,
    q: Query,
) -> Result<Json<Vec<Value>>, ApiError> {
    let filters = q.filters()?;
    let request = ListRequest {
        all: q.bool("all"),
        limit: q.int("limit")?.filter(|l| *l > 0).map(|l| l as usize),
        size: q.bool("size"),
        filter: ContainerFilter::parse(filters.pairs())?,
    };
    let rows = server
        .with_engine(move |engine| Ok(engine.container_list(&request)?))
        .await?;
    Ok(Json(rows.iter().map(summary).collect()))
}

pub(super) async fn inspect(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let size = q.bool("size");
    let d = server
        .with_engine(move |engine| Ok(engine.container_inspect(&id, size)?))
        .await?;
    Ok(Json(berth_docker::inspect::container(&d)))
}
