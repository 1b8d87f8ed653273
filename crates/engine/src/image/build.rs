//! `build`: berth-build's classic builder, with its RUN, COPY and ADD steps in
//! the engine's own containers.

use std::io::Write;
use std::path::PathBuf;

pub use berth_build::{BuildError, BuildOptions, BuildOutcome, ContextSource};
use berth_build::{StepContainer, StepContainers};
use berth_container::model::Paths;
use berth_container::{rootfs, ContainerError, HostSpec};
use berth_store::Store;

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

/// Build step containers are ordinary containers, never started by anyone but
/// the build, and removed by it.
struct Steps {
    runtime: String,
    run_dir: PathBuf,
}

impl StepContainers for Steps {
    fn create(&mut self, store: &mut Store, spec: StepContainer) -> Result<String, BuildError> {
        let c = create::create(
            store,
            &self.runtime,
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
        Ok(())
    }
}
