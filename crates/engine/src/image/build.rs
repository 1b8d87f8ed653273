//! `build`: berth-build's classic builder, with its RUN, COPY and ADD steps in
//! the engine's own containers.
//!
//! A step container belongs to its build: before it is created, the build
//! marks it unfinished under its own staging (`build-step.ID`), and drops
//! the mark once the container is removed. A build killed in between
//! leaves the mark to the next command's sweep, which turns it into a flag;
//! the next [`Engine::open`] removes the container — stopping its RUN if it
//! still runs — as Docker cancels a build whose client went away.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use berth_build::{BuildError, BuildOptions, BuildOutcome, ContextSource};
use berth_build::{StepContainer, StepContainers};
use berth_container::model::Paths;
use berth_container::{rootfs, ContainerError, HostSpec};
use berth_store::{crash, new_id, Store, Unfinished};

use crate::container::attach::Output;
use crate::container::create::{self, CreateRequest};
use crate::container::lifecycle;
use crate::container::rm::RemoveRequest;
use crate::{Engine, Result};

impl Engine {
    /// `build`: an image from a Dockerfile; the classic builder's progress
    /// goes to `out`.
    pub fn image_build(
        &mut self,
        source: ContextSource,
        opts: &BuildOptions,
        out: &mut dyn Write,
    ) -> Result<BuildOutcome> {
        let mut steps = Steps {
            runtime: self.config.default_runtime.clone(),
            run_dir: self.config.run_dir.clone(),
            owned: HashMap::new(),
        };
        Ok(berth_build::build(
            &mut self.store,
            &mut steps,
            source,
            opts,
            out,
        )?)
    }
}

/// The kind of unfinished mark of a step container: `build-step.ID`.
const STEP_MARK: &str = "build-step.";

/// Removes the step containers of builds that died (see the module's doc).
/// Best effort: a container that cannot be removed now keeps its flag for
/// the next command.
pub(crate) fn remove_dead_builds_steps(store: &mut Store, run_dir: &Path) {
    for id in store.unfinished_with_prefix(STEP_MARK) {
        let req = RemoveRequest {
            force: true,
            volumes: true,
        };
        match lifecycle::remove(store, run_dir, &id, req) {
            Ok(_) | Err(ContainerError::NotFound(_)) => store.finished(&format!("{STEP_MARK}{id}")),
            Err(_) => {}
        }
    }
}

/// Build step containers are ordinary containers, never started by anyone but
/// the build, and removed by it.
struct Steps {
    runtime: String,
    run_dir: PathBuf,
    /// The marks of the step containers this build made and has not removed.
    owned: HashMap<String, Unfinished>,
}

impl StepContainers for Steps {
    fn create(&mut self, store: &mut Store, spec: StepContainer) -> Result<String, BuildError> {
        let id = new_id();
        let mark = store.mark_unfinished(&format!("{STEP_MARK}{id}"))?;
        self.owned.insert(id.clone(), mark);
        let c = create::create_with_id(
            store,
            &self.runtime,
            id,
            CreateRequest {
                image: spec.image,
                cmd: Some(spec.cmd),
                entrypoint: Some(vec![]),
                env: spec.env,
                host: HostSpec {
                    network_mode: spec.network,
                    shm_size: spec.shm_size,
                    extra_hosts: spec.extra_hosts,
                    ..Default::default()
                },
                ..Default::default()
            },
        )?;
        Ok(c.id)
    }

    fn run(&mut self, store: &mut Store, id: &str, out: &mut dyn Write) -> Result<i32, BuildError> {
        let started = match lifecycle::start(store, &self.run_dir, id, true) {
            Ok(started) => started,
            Err(ContainerError::CannotRun { code, message }) => {
                writeln!(out, "{message}").map_err(|e| BuildError::io("build output", e))?;
                return Ok(code);
            }
            Err(e) => return Err(e.into()),
        };
        crash::point("build", "step-running");
        let mut code = None;
        if let Some(attachment) = started.attachment {
            for output in attachment.split().0 {
                match output {
                    Output::Stdout(data) => {
                        out.write_all(&data)
                            .and_then(|()| out.flush())
                            .map_err(|e| BuildError::io("build output", e))?;
                    }
                    // Docker's classic builder shows a RUN's stderr in red:
                    // each write wrapped in the escape codes, one message.
                    Output::Stderr(data) => {
                        let mut red = b"\x1b[91m".to_vec();
                        red.extend_from_slice(&data);
                        red.extend_from_slice(b"\x1b[0m");
                        out.write_all(&red)
                            .and_then(|()| out.flush())
                            .map_err(|e| BuildError::io("build output", e))?;
                    }
                    Output::Exit(exit) => code = Some(exit),
                }
            }
        }
        // The monitor records the exit and unmounts before it goes away.
        let recorded = lifecycle::until_stopped(store, &self.run_dir, id)?;
        Ok(code.unwrap_or(recorded))
    }

    fn mount_root(&mut self, store: &mut Store, id: &str) -> Result<PathBuf, BuildError> {
        rootfs::mount(store, id, &berth_mount::Linux)?;
        Ok(Paths::of(store, id).rootfs)
    }

    fn unmount_root(&mut self, store: &mut Store, id: &str) -> Result<(), BuildError> {
        rootfs::unmount(store, id, &berth_mount::Linux)?;
        Ok(())
    }

    fn upper_dir(&self, store: &Store, id: &str) -> PathBuf {
        Paths::of(store, id).upper
    }

    fn remove(&mut self, store: &mut Store, id: &str) -> Result<(), BuildError> {
        let req = RemoveRequest {
            force: true,
            volumes: true,
        };
        lifecycle::remove(store, &self.run_dir, id, req)?;
        self.owned.remove(id);
        Ok(())
    }
}
