//! `wait`: until the container exits (or is removed).

use std::path::Path;
use std::time::Duration;

use berth_container::model;
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::attach::PendingAttachment;
use super::reconcile::{lookup, reconcile, tearing_down};
use crate::monitor::client;
use crate::{Config, Engine};

/// What to wait for, as Docker's `condition`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WaitCondition {
    /// The container is not running (at once if it is not).
    #[default]
    NotRunning,
    /// The end of its current run, or of its next one.
    NextExit,
    /// Its removal after the end of its run (`--rm`).
    Removed,
}

/// A registered wait: it sees an exit that happens after it was made, even
/// one that follows at once (Docker clients wait, then start).
pub struct ExitWait {
    config: Config,
    id: String,
    condition: WaitCondition,
    until: Until,
    /// The exit code the container had when the wait was made.
    code: i32,
}

enum Until {
    /// Nothing to wait for.
    Now,
    /// The end of the run the session is on.
    Run(PendingAttachment),
    /// The monitor is on its way out: until it is gone.
    MonitorGone,
}

impl ExitWait {
    /// Blocks until the condition holds; the container's exit code (0 if it
    /// was removed before its code could be read).
    pub fn wait(self) -> crate::Result<i32> {
        let told = match self.until {
            Until::Now => return Ok(self.code),
            Until::Run(pending) => pending
                .wait()
                .and_then(|attachment| attachment.split().0.exit_code()),
            Until::MonitorGone => None,
        };
        let mut engine = Engine::open(self.config)?;
        let (store, run_dir) = (&mut engine.store, &engine.config.run_dir);
        if told.is_none() {
            // No word from the monitor: its lock goes last, after the exit
            // is recorded (or it died, and the lookup below repairs that).
            client::wait_exit(store, &self.id, Duration::from_secs(u64::MAX / 4));
        }
        if self.condition == WaitCondition::Removed {
            // The monitor tells the exit after the removal; a crashed one
            // leaves the row to the reconcile below.
            for _ in 0..100 {
                if model::find(store, &self.id).is_err() {
                    return Ok(told.unwrap_or(self.code));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let latest = match lookup(store, run_dir, &self.id) {
            Ok(c) => Some(c.state.exit_code),
            Err(ContainerError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(told.or(latest).unwrap_or(self.code))
    }
}

/// Blocks until the container has no monitor; its exit code. For the
/// builder's steps, whose monitors are the engine's own.
pub(crate) fn until_stopped(store: &mut Store, run_dir: &Path, id: &str) -> Result<i32> {
    let c = lookup(store, run_dir, id)?;
    if c.state.status.has_monitor() {
        client::wait_exit(store, &c.id, Duration::from_secs(u64::MAX / 4));
    }
    match model::find(store, &c.id) {
        Ok(mut latest) => {
            reconcile(store, run_dir, &mut latest)?;
            Ok(latest.state.exit_code)
        }
        // Removed on exit (--rm): the code is gone with it.
        Err(ContainerError::NotFound(_)) => Ok(c.state.exit_code),
        Err(e) => Err(e),
    }
}

impl Engine {
    /// `wait`: registers a wait for `condition` on the container; its
    /// [`ExitWait::wait`] blocks until the condition holds.
    pub fn container_wait(
        &mut self,
        reference: &str,
        condition: WaitCondition,
    ) -> crate::Result<ExitWait> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        let running = c.state.status.has_monitor();
        let until = if condition == WaitCondition::NotRunning && !running {
            Until::Now
        } else if tearing_down(&self.store, &c) {
            // The run that has just ended is still being torn down: a wait
            // for its exit (sent before the exit, arriving after it) gets it
            // once its monitor is gone.
            Until::MonitorGone
        } else {
            let pending = PendingAttachment::of(&self.store, &c)?;
            if running && !pending.is_running() {
                // Its monitor no longer answers: it is exiting.
                Until::MonitorGone
            } else {
                Until::Run(pending)
            }
        };
        Ok(ExitWait {
            config: self.config.clone(),
            id: c.id,
            condition,
            until,
            code: c.state.exit_code,
        })
    }
}
