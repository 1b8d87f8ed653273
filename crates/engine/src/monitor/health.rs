//! Healthchecks, run by the monitor as dockerd runs them: on the monitor's
//! timer (no thread), one check at a time, each an exec through the
//! container's OCI runtime with the container's user, environment and
//! working directory (as `exec` builds it).
//!
//! The timer alternates between two meanings: while no check runs it is the
//! wait before the next one (the interval, or the start interval while the
//! container is `starting` within its start period, counted from the end of
//! the previous check as dockerd counts it); while a check runs it is the
//! check's timeout, after which the check is killed and recorded as failed
//! (exit -1, "Health check exceeded timeout (D)"). A check's output (stdout
//! and stderr together) is kept up to 4 KiB. Results go to the store through
//! [`state::record_health`], which also decides the status and appends the
//! `health_status` event. Checks are skipped while the container is paused
//! (dockerd stops them then).

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_container::health::LimitedOutput;
use berth_container::model::{self, Container, Status};
use berth_container::state;
use berth_container::{ContainerError, HealthConfig, HealthResult, HealthStatus, Result};
use berth_runtime::oci_spec::runtime::Process;
use berth_runtime::{ExecProcess, OciRuntime, ProcessIo};
use berth_store::Store;

use crate::container::exec::{exec_failure, exec_process};
use crate::container::exec_instances::ExecConfig;

/// The healthchecks of one run of a container.
pub(super) struct HealthChecks {
    config: HealthConfig,
    command: Vec<String>,
    /// The container's root as its processes see it.
    root: PathBuf,
    /// Built at the first check (the container's user is resolved then).
    process: Option<Process>,
    /// When the run started (for the start period).
    started: Instant,
    status: HealthStatus,
    running: Option<Check>,
}

/// A check in progress.
struct Check {
    exec: Box<dyn ExecProcess>,
    /// The read end of its stdout and stderr (non-blocking); `None` at EOF.
    output: Option<File>,
    collected: LimitedOutput,
    start: String,
    timed_out: bool,
    /// The `execID` of its `exec_*` events.
    exec_id: String,
}

fn pipe() -> Result<(File, OwnedFd)> {
    let (read, write) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
    )
    .map_err(|e| ContainerError::sys("pipe", e))?;
    // Only the monitor's end is non-blocking.
    rustix::fs::fcntl_setfl(&write, rustix::fs::OFlags::empty())
        .map_err(|e| ContainerError::sys("fcntl", e))?;
    Ok((File::from(read), write))
}

/// Go's `time.Duration` text for the timeouts dockerd reports ("30s",
/// "500ms", "1m30s").
fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        let (unit, div) = if ns < 1_000 {
            ("ns", 1)
        } else if ns < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(ns, div));
    }
    let secs = ns / 1_000_000_000;
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    let s = trim_fraction(ns % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

/// `n / div` with the fraction's trailing zeros dropped.
fn trim_fraction(n: u128, div: u128) -> String {
    let whole = n / div;
    let frac = n % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl HealthChecks {
    /// The checks of a run of `c` whose init is `pid`, started at
    /// `started`; `None` when it has no active healthcheck.
    pub(super) fn new(c: &Container, pid: i32, started: Instant) -> Option<HealthChecks> {
        let config = c.spec.healthcheck.clone().filter(|h| h.is_active())?;
        let command = config.command(&c.spec.shell)?;
        Some(HealthChecks {
            config,
            command,
            root: PathBuf::from(format!("/proc/{pid}/root")),
            process: None,
            started,
            status: HealthStatus::Starting,
            running: None,
        })
    }

    /// The wait before the next check.
    pub(super) fn next_delay(&self) -> Duration {
        self.config.next_delay(self.started.elapsed(), self.status)
    }

    /// The descriptor to poll for a running check's output (-1: none).
    pub(super) fn output_fd(&self) -> RawFd {
        self.running
            .as_ref()
            .and_then(|c| c.output.as_ref())
            .map_or(-1, |f| f.as_raw_fd())
    }

    /// The timer fired: starts a check, or kills the running one that
    /// outlived its timeout. Returns when the timer is to fire next.
    pub(super) fn on_timer(
        &mut self,
        store: &mut Store,
        c: &Container,
        runtime: &dyn OciRuntime,
    ) -> Result<Duration> {
        if let Some(check) = self.running.as_mut() {
            check.timed_out = true;
            check.exec.kill();
            // Its exit (SIGCHLD) finishes it; until then, look again soon.
            return Ok(Duration::from_millis(100));
        }
        if model::status(store, &c.id)? != Status::Running {
            return Ok(self.next_delay());
        }
        let start = berth_store::now_rfc3339();
        // dockerd runs each check as an exec, with its events.
        let exec_id = berth_store::new_id();
        let command = self.command.join(" ");
        store.write(|tx| {
            for action in ["exec_create", "exec_start"] {
                state::record(
                    tx,
                    &c.id,
                    &format!("{action}: {command}"),
                    vec![("execID", exec_id.clone())],
                )?;
            }
            Ok::<_, ContainerError>(())
        })?;
        match self.start(c, runtime) {
            Ok(check) => {
                self.running = Some(Check {
                    start,
                    exec_id,
                    ..check
                });
                Ok(self.config.timeout())
            }
            Err(e) => {
                self.record(store, &c.id, start, &exec_id, -1, e.to_string())?;
                Ok(self.next_delay())
            }
        }
    }

    fn start(&mut self, c: &Container, runtime: &dyn OciRuntime) -> Result<Check> {
        let process = match &self.process {
            Some(p) => p,
            None => {
                let req = ExecConfig {
                    cmd: self.command.clone(),
                    ..Default::default()
                };
                self.process.insert(exec_process(c, &self.root, &req)?)
            }
        };
        let (output, write) = pipe()?;
        let write_err = write
            .try_clone()
            .map_err(|e| ContainerError::sys("dup", e))?;
        let io = ProcessIo::Fds {
            stdin: None,
            stdout: Some(write),
            stderr: Some(write_err),
        };
        let exec = runtime
            .exec(&c.id, process, io, false)
            .map_err(exec_failure)?;
        Ok(Check {
            exec: exec.process,
            output: Some(output),
            collected: LimitedOutput::default(),
            start: String::new(),
            timed_out: false,
            exec_id: String::new(),
        })
    }

    /// Reads what the running check wrote.
    pub(super) fn read_output(&mut self, buf: &mut [u8]) {
        let Some(check) = self.running.as_mut() else {
            return;
        };
        while let Some(out) = check.output.as_mut() {
            match out.read(buf) {
                Ok(0) => check.output = None,
                Ok(n) => check.collected.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => check.output = None,
            }
        }
    }

    /// After SIGCHLD: records the running check if it has ended. Returns
    /// when the timer is to fire next, if it changed.
    pub(super) fn on_child_exit(
        &mut self,
        store: &mut Store,
        id: &str,
        buf: &mut [u8],
    ) -> Result<Option<Duration>> {
        let Some(check) = self.running.as_mut() else {
            return Ok(None);
        };
        let code = match check.exec.try_wait() {
            Ok(None) => return Ok(None),
            Ok(Some(code)) => Ok(code),
            Err(e) => Err(exec_failure(e)),
        };
        // What it wrote before it ended (a process it left behind may keep
        // the pipe open: whatever is there now is all that is waited for).
        self.read_output(buf);
        let check = self.running.take().expect("a running check");
        let output = check.collected.text();
        let (code, output) = match (check.timed_out, code) {
            (true, _) => {
                let timeout = go_duration(self.config.timeout());
                let message = if output.is_empty() {
                    format!("Health check exceeded timeout ({timeout})")
                } else {
                    format!("Health check exceeded timeout ({timeout}): {output}")
                };
                (-1, message)
            }
            (false, Ok(code)) => (i64::from(code), output),
            (false, Err(e)) => (-1, e.to_string()),
        };
        self.record(store, id, check.start, &check.exec_id, code, output)?;
        Ok(Some(self.next_delay()))
    }

    fn record(
        &mut self,
        store: &mut Store,
        id: &str,
        start: String,
        exec_id: &str,
        exit_code: i64,
        output: String,
    ) -> Result<()> {
        let result = HealthResult {
            start,
            end: berth_store::now_rfc3339(),
            exit_code,
            output,
        };
        let die = vec![
            ("exitCode", exit_code.to_string()),
            ("execID", exec_id.to_string()),
        ];
        let status = store.write(|tx| {
            state::record(tx, id, "exec_die", die)?;
            state::record_health(tx, id, result)
        })?;
        if let Some(status) = status {
            self.status = status;
        }
        Ok(())
    }

    /// The container's process ended: a check still running is killed and
    /// its result dropped (dockerd discards it too).
    pub(super) fn stop(&mut self) {
        if let Some(mut check) = self.running.take() {
            check.exec.kill();
            let _ = check.exec.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_go_prints_durations() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(500)), "500ms");
        assert_eq!(go_duration(ms(1000)), "1s");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
    }
}
