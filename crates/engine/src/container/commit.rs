//! `commit`.

use berth_container::model::{Container, Paths, Status};
use berth_container::Result;
use berth_store::Store;

use super::reconcile::lookup;
use super::runtime::runtime_of;

/// `commit` options.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: String,
    pub author: String,
    pub pause: bool,
}

/// `commit`: a new image from the container's writable layer, its config taken
/// from the container's (Cmd, Env, Entrypoint...) with `changes` applied.
pub fn commit(store: &mut Store, reference: &str, req: &CommitRequest) -> Result<String> {
    let c = lookup(store, reference)?;
    let parent = berth_image::resolve(store, &c.image_id)?;
    let rt = runtime_of(&c)?;
    let paused = req.pause && c.state.status == Status::Running && rt.pause(&c.id).is_ok();
    let config = container_image_config(&c);
    let upper = Paths::of(store, &c.id).upper;
    let container = berth_image::CommitContainer {
        id: &c.id,
        config: &config,
    };
    let result = berth_image::commit(
        store,
        &parent,
        &upper,
        &req.changes,
        &req.message,
        &req.author,
        Some(container),
        req.reference.as_deref(),
    );
    if paused {
        let _ = rt.resume(&c.id);
    }
    Ok(result?)
}

/// The image config a commit starts from: the container's own configuration.
fn container_image_config(c: &Container) -> berth_image::ContainerConfig {
    let s = &c.spec;
    berth_image::ContainerConfig {
        hostname: s.hostname.clone(),
        user: s.user.clone(),
        env: Some(s.env.clone()),
        cmd: (!s.cmd.is_empty()).then(|| s.cmd.clone()),
        entrypoint: (!s.entrypoint.is_empty()).then(|| s.entrypoint.clone()),
        working_dir: s.working_dir.clone(),
        labels: (!s.labels.is_empty()).then(|| s.labels.clone().into_iter().collect()),
        exposed_ports: (!s.exposed_ports.is_empty()).then(|| {
            s.exposed_ports
                .iter()
                .map(|p| (p.clone(), berth_image::config::Empty {}))
                .collect()
        }),
        volumes: (!s.image_volumes.is_empty()).then(|| {
            s.image_volumes
                .iter()
                .map(|v| (v.clone(), berth_image::config::Empty {}))
                .collect()
        }),
        stop_signal: s.stop_signal.clone(),
        tty: s.tty,
        open_stdin: s.open_stdin,
        image: c.image_ref.clone(),
        ..Default::default()
    }
}
