//! `commit`.

use berth_container::model::{Container, Paths, Status};
use berth_container::state;

use berth_store::Store;

use super::pause::{pause, unpause};
use super::reconcile::lookup_settled;
use crate::{Engine, Result};

/// `commit` options.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    /// `REPOSITORY[:TAG]` to tag the image with.
    pub reference: Option<String>,
    /// Dockerfile instructions applied to the config (`-c`).
    pub changes: Vec<String>,
    pub message: String,
    pub author: String,
    pub pause: bool,
}

impl Engine {
    /// `commit`: a new image from the container's writable layer, its config
    /// taken from the container's (Cmd, Env, Entrypoint...) with `changes`
    /// applied; returns the image's ID. Records Docker's `commit` event.
    pub fn container_commit(&mut self, reference: &str, req: &CommitRequest) -> Result<String> {
        let (store, run_dir) = (&mut self.store, &self.config.run_dir);
        let c = lookup_settled(store, run_dir, reference)?;
        let parent = berth_image::resolve(store, &c.image_id)?;
        // As Docker: paused (with its events) for the time of the commit.
        let paused =
            req.pause && c.state.status == Status::Running && pause(store, run_dir, &c).is_ok();
        let committed = commit(store, &c, &parent, req);
        if paused {
            let _ = unpause(store, run_dir, &c);
        }
        committed
    }
}

/// Commits `c`'s writable layer and records Docker's `commit` event.
fn commit(
    store: &mut Store,
    c: &Container,
    parent: &berth_image::ResolvedImage,
    req: &CommitRequest,
) -> Result<String> {
    let config = container_image_config(c);
    let upper = Paths::of(store, &c.id).upper;
    let container = berth_image::CommitContainer {
        id: &c.id,
        config: &config,
        ids: super::userns::id_shift(store.db(), &c.id)?,
    };
    let image_id = berth_image::commit(
        store,
        parent,
        &upper,
        &req.changes,
        &req.message,
        &req.author,
        Some(container),
        req.reference.as_deref(),
    )?;
    // Docker's imageRef: the tag as the user would write it, in full.
    let image_ref = match &req.reference {
        Some(r) => berth_image::Reference::parse(r)?
            .with_default_tag()
            .familiar(),
        None => String::new(),
    };
    let extra = vec![
        ("comment", req.message.clone()),
        ("imageID", image_id.clone()),
        ("imageRef", image_ref),
    ];
    store.write(|tx| state::record(tx, &c.id, "commit", extra))?;
    Ok(image_id)
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
        stdin_once: s.stdin_once,
        image: c.image_ref.clone(),
        ..Default::default()
    }
}
