//! The monitor process (`berth __monitor`, the id in its environment) and
//! its poll loop.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_container::logs::LogWriter;
use berth_container::model::{self, Container, Paths};
use berth_container::state::{self, Exit, Transition};
use berth_container::{rootfs, ContainerError, Result};
use berth_mount::Linux;
use berth_runtime::OciRuntime;
use berth_store::{crash, FileLock, Store};

use super::diag;
use super::health::HealthChecks;
use super::memory::shed_setup_memory;
use super::prepare;
use super::protocol::{self, FrameBuffer, StartReport, ATTACH_ENV, ATTACH_FD, ID_ENV, SYNC_FD};
use super::reap::{ChildSignals, Reaper};
use super::stdio::ContainerStdio;
use super::timer::Timer;
use crate::container::runtime::{docker_exit_status, runtime_of};
use crate::container::{lifecycle, volumes};

/// Entry point of `berth __monitor` (the container's id in [`ID_ENV`]), with
/// the state root and run directory of the engine that spawned it.
/// Returns the process exit status.
pub fn main(root: &Path, run_dir: &Path) -> i32 {
    let Some(id) = std::env::var_os(ID_ENV).map(|v| v.to_string_lossy().into_owned()) else {
        eprintln!("monitor: {ID_ENV} is not set");
        return 125;
    };
    // Nothing it starts (the runtime) needs it.
    std::env::remove_var(ID_ENV);
    let id = id.as_str();
    // Detach: the spawner waits for this first process, the grandchild lives on.
    // SAFETY: the monitor is single-threaded at this point.
    match unsafe { libc::fork() } {
        -1 => return 125,
        0 => {}
        _ => return 0,
    }
    // SAFETY: plain prctl/fcntl with integer arguments. The handed-over fds
    // must not leak into the runtime or the container.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::fcntl(SYNC_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(ATTACH_FD, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    // SAFETY: fd 3 was set up by the spawner for us alone.
    let mut sync = Some(unsafe { File::from_raw_fd(SYNC_FD) });
    let initial_client = std::env::var_os(ATTACH_ENV).map(|_| {
        // SAFETY: fd 4 was set up by the spawner for us alone.
        unsafe { UnixStream::from_raw_fd(ATTACH_FD) }
    });
    match Monitor::new(root, run_dir, id, initial_client) {
        Ok(mut m) => {
            if let Err(e) = m.run(&mut sync) {
                report(&mut sync, &e.to_string(), exit_code_of(&e));
                diag::log(id, format_args!("{e}"));
                record_error(root, id, &e.to_string());
            }
            0
        }
        Err(e) => {
            report(&mut sync, &e.to_string(), exit_code_of(&e));
            1
        }
    }
}

/// Whether container `id` is being removed (or is gone already).
fn removing(store: &Store, id: &str) -> bool {
    model::find(store, id).map_or(true, |c| c.state.status == model::Status::Removing)
}

/// A monitor that fails after its container started records why, where
/// `inspect` and `events` show it (best effort: the store may be what failed).
fn record_error(root: &Path, id: &str, error: &str) {
    let recorded = Store::open(root)
        .map_err(ContainerError::from)
        .and_then(|mut store| store.write(|tx| state::record_monitor_error(tx, id, error)));
    if let Err(e) = recorded {
        diag::log(id, format_args!("recording the error: {e}"));
    }
}

fn report(sync: &mut Option<File>, error: &str, code: i32) {
    if let Some(mut f) = sync.take() {
        let r = StartReport {
            ok: error.is_empty(),
            error: error.to_string(),
            code,
        };
        // One write: the spawner reads until the descriptor closes, and
        // serde_json's writer would make a write(2) per token.
        if let Ok(bytes) = serde_json::to_vec(&r) {
            let _ = f.write_all(&bytes);
        }
    }
}

fn exit_code_of(e: &ContainerError) -> i32 {
    match e {
        ContainerError::CannotRun { code, .. } => *code,
        _ => 125,
    }
}

/// A runtime's failure to start the container's process; Docker's 126/127
/// when the command cannot run.
fn start_failure(e: berth_runtime::RuntimeError) -> ContainerError {
    match docker_exit_status(&e) {
        Some(code) => ContainerError::CannotRun {
            code,
            message: format!("failed to create task for container: {e}"),
        },
        None => e.into(),
    }
}

/// Docker's restart decision after an exit.
fn should_restart(c: &Container, code: i32) -> bool {
    c.spec
        .host
        .restart_policy
        .should_restart(code, c.state.restart_count, c.state.stopped_by_user)
}

/// Connects to every client waiting for this start in `container_dir`
/// (see [`super::client::AttachWaiter`]).
fn connect_waiters(container_dir: &Path) -> Vec<UnixStream> {
    let Ok(entries) = std::fs::read_dir(container_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(protocol::WAITER_PREFIX)
        })
        .filter_map(|e| {
            let path = e.path();
            let stream = protocol::connect_short(&path).ok();
            let _ = std::fs::remove_file(&path);
            stream
        })
        .collect()
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// One `poll(2)`; `false` when a signal interrupted it.
fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<bool> {
    // SAFETY: fds is a valid array of pollfd for its length.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n >= 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::Interrupted {
        Ok(false)
    } else {
        Err(ContainerError::sys("poll", err))
    }
}

struct Client {
    stream: UnixStream,
    frames: FrameBuffer,
    /// It said it relays the user's stdin ([`protocol::STDIN_ATTACH`]).
    stdin: bool,
    /// Accepted during a run and not greeted yet: until then, greeted
    /// [`protocol::LIVE`] before the run's next output, or after
    /// [`GREETING_GRACE`]; [`protocol::ENDED`] if the run ends first.
    ungreeted_since: Option<Instant>,
}

/// How long a client accepted during a run waits for its greeting while
/// the run is quiet. A run that ends meanwhile showed it nothing: its
/// session waits for the next start instead, as if it had come just after
/// the exit (compose's dockerpty starts, attaches, then starts again if
/// the container has stopped; a short run's output precedes its exit).
const GREETING_GRACE: Duration = Duration::from_millis(150);

impl Client {
    fn new(stream: UnixStream) -> Client {
        Client {
            stream,
            frames: FrameBuffer::default(),
            stdin: false,
            ungreeted_since: None,
        }
    }

    /// Greets it with `run` if it waits for its greeting; false if it went away.
    fn greet(&mut self, run: u8) -> bool {
        if self.ungreeted_since.take().is_none() {
            return true;
        }
        protocol::write_frame(&mut self.stream, run, &[]).is_ok()
    }
}

struct Monitor {
    store: Store,
    runtime: Box<dyn OciRuntime>,
    id: String,
    /// The run directory (network namespace, the runtime's state).
    run_dir: PathBuf,
    paths: Paths,
    _lock: FileLock,
    clients: Vec<Client>,
    listener: UnixListener,
    sys: Linux,
    /// The running container's networking (holds its host-port reservations).
    sandbox: Option<berth_network::Sandbox>,
    reaper: Reaper,
    timer: Timer,
}

/// How a run of the container ended.
struct RunEnd {
    code: i32,
    oom_killed: bool,
    ran_for: Duration,
    /// Why it could not start ("" when it ran).
    error: String,
}

impl Monitor {
    fn new(root: &Path, run_dir: &Path, id: &str, initial: Option<UnixStream>) -> Result<Monitor> {
        let store = Store::open(root)?;
        let paths = Paths::of(&store, id);
        let lock = FileLock::try_acquire(&paths.monitor_lock).map_err(|e| match e {
            // An `rm` holds it while it removes the container.
            berth_store::LockError::WouldBlock { .. } if removing(&store, id) => {
                ContainerError::Conflict(format!(
                    "container {id} is marked for removal and cannot be started"
                ))
            }
            berth_store::LockError::WouldBlock { .. } => {
                ContainerError::Conflict(format!("container {id} is already running"))
            }
            other => other.into(),
        })?;
        let runtime = runtime_of(&model::find(&store, id)?, run_dir)?;
        let _ = std::fs::remove_file(&paths.attach_socket);
        let listener = protocol::bind_short(&paths.attach_socket)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| ContainerError::io(&paths.attach_socket, e))?;
        let clients = initial.into_iter().map(Client::new).collect();
        Ok(Monitor {
            store,
            runtime,
            id: id.to_string(),
            run_dir: run_dir.to_path_buf(),
            paths,
            _lock: lock,
            clients,
            listener,
            sys: Linux,
            sandbox: None,
            reaper: Reaper::new(),
            timer: Timer::new()?,
        })
    }

    fn transition(&mut self, t: Transition) -> Result<()> {
        let id = &self.id;
        self.store.write(|tx| state::transition(tx, id, t))
    }

    /// Runs the container until it exits for good: with its restart policy,
    /// again after a back-off (Docker's: doubling from 100ms, reset after 10s
    /// of running), unless the user stops it meanwhile.
    ///
    /// As dockerd, an exit is recorded (status, code, finish time, `die`)
    /// as soon as the process is reaped and its output drained; the
    /// teardown follows, under the monitor's lock, which commands that need
    /// the container torn down wait for (`lookup_settled`).
    fn run(&mut self, sync: &mut Option<File>) -> Result<()> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let container = model::find(&self.store, &self.id)?;
            let outcome = self.run_once(&container, sync);
            let end = match outcome {
                Ok(end) => end,
                Err(e) => {
                    let end = RunEnd {
                        code: exit_code_of(&e),
                        oom_killed: false,
                        ran_for: Duration::ZERO,
                        error: e.to_string(),
                    };
                    if sync.is_some() {
                        // The first start failed: its caller hears why (once
                        // it is torn down); no restart.
                        self.cleanup_runtime();
                        self.transition(Transition::Die(Exit {
                            code: end.code,
                            oom_killed: false,
                            error: &end.error,
                        }))?;
                        report(sync, &end.error, end.code);
                        let trash = self.finish(&container)?;
                        self.notify_exit(end.code);
                        return self.empty(trash);
                    }
                    // A restart that could not start: no caller hears it,
                    // so it goes where a failure after start goes.
                    self.record_failure(&end.error);
                    end
                }
            };
            let exit = Exit {
                code: end.code,
                oom_killed: end.oom_killed,
                error: &end.error,
            };
            let container = model::find(&self.store, &self.id)?;
            let restart = should_restart(&container, end.code);
            self.mark_teardown_pending(end.code);
            self.transition(if restart {
                Transition::DieToRestart(exit)
            } else {
                Transition::Die(exit)
            })?;
            self.cleanup_runtime();
            if !restart {
                // Clients (e.g. `run --rm`) learn the exit once the removal
                // is done but for deleting the directory already out of
                // place: `ps -a` no longer shows it, its name is free.
                let trash = self.finish(&container)?;
                self.notify_exit(end.code);
                return self.empty(trash);
            }
            if end.ran_for >= Duration::from_secs(10) {
                backoff = Duration::from_millis(100);
            }
            // Only now: a client acting on the exit (e.g. `rm` after `wait`)
            // must find the container restarting, not exited.
            self.notify_exit(end.code);
            if !self.back_off(backoff)? {
                return Ok(());
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }

    /// Waits `delay` before a restart, serving attach clients meanwhile.
    /// Returns false (and records the container exited) when the user
    /// stopped it during the wait.
    fn back_off(&mut self, delay: Duration) -> Result<bool> {
        self.timer.arm(delay)?;
        let mut buf = vec![0u8; 4096];
        loop {
            let mut fds = vec![
                pollfd(self.timer.as_raw_fd()),
                pollfd(self.listener.as_raw_fd()),
            ];
            fds.extend(self.clients.iter().map(|c| pollfd(c.stream.as_raw_fd())));
            if !poll(&mut fds, -1)? {
                continue;
            }
            let fired = fds[0].revents != 0 && self.timer.expired();
            let mut cancelled = false;
            read_clients(&mut self.clients, &fds[2..], &mut buf, |kind, _, _| {
                cancelled |= kind == protocol::CANCEL_RESTART
            });
            if fds[1].revents != 0 {
                // The next run is theirs.
                self.accept_clients(Some(protocol::LIVE));
            }
            if fired || cancelled {
                if model::find(&self.store, &self.id)?.state.stopped_by_user {
                    self.transition(Transition::CancelRestart)?;
                    return Ok(false);
                }
                if fired {
                    return Ok(true);
                }
            }
        }
    }

    /// Final step after the last exit: `--rm` removal, but for the
    /// deletion of the container's directory, moved to the monitor's
    /// staging ([`Self::empty`] after the clients heard the exit).
    fn finish(&mut self, container: &Container) -> Result<Option<lifecycle::Trash>> {
        if container.spec.host.auto_remove {
            return lifecycle::remove_own(&mut self.store, &self.run_dir, container).map(Some);
        }
        Ok(None)
    }

    /// Deletes what [`Self::finish`] left (a monitor killed before leaves
    /// it to the next command's sweep of dead processes' staging).
    fn empty(&mut self, trash: Option<lifecycle::Trash>) -> Result<()> {
        crash::point("exit", "before-trash");
        trash.map_or(Ok(()), lifecycle::Trash::empty)
    }

    /// One run of the container: prepare, create, start, supervise until exit.
    fn run_once(&mut self, c: &Container, sync: &mut Option<File>) -> Result<RunEnd> {
        // Clients waiting for this start (the first, or a restart).
        self.clients.extend(
            connect_waiters(&self.paths.dir)
                .into_iter()
                .map(Client::new),
        );
        let input = prepare::spec_input(
            &mut self.store,
            &self.run_dir,
            &self.paths,
            c,
            &self.sys,
            &mut self.sandbox,
        )?;
        let spec = berth_runtime::build_spec(&input)?;
        berth_runtime::write_bundle(&self.paths.dir, &spec)?;
        let (mut stdio, io) = ContainerStdio::new(c)?;
        let created = self
            .runtime
            .create(&self.id, &self.paths.dir, io)
            .map_err(start_failure)?;
        if let Some(master) = created.terminal {
            stdio.set_terminal(master);
        }
        self.reaper.track(created.pid);
        // The network, wired meanwhile on a thread of berth-network's.
        if let Some(sandbox) = self.sandbox.as_mut() {
            sandbox.ready()?;
        }
        crash::point("start", "after-network");
        crash::point("start", "after-runtime-create");
        berth_runtime::verify_created(created.pid, &spec)?;
        // The container has its copies of the subpath mounts.
        rootfs::unmount_subpaths(&self.paths, &self.sys)?;
        self.runtime.start(&self.id).map_err(start_failure)?;
        crash::point("start", "after-runtime-start");
        let started = Instant::now();
        self.transition(Transition::Start {
            pid: created.pid,
            monitor_pid: std::process::id() as i32,
        })?;
        report(sync, "", 0);
        let code = self.supervise(c, created.pid, &mut stdio, started)?;
        Ok(RunEnd {
            code,
            oom_killed: super::oom::oom_killed(&self.id),
            ran_for: started.elapsed(),
            error: String::new(),
        })
    }

    /// The exit status of `pid` if it has exited (reaping what there is to reap).
    fn reaped(&mut self, pid: i32) -> Option<i32> {
        self.reaper
            .reap()
            .into_iter()
            .find(|e| e.pid == pid)
            .map(|e| e.status)
    }

    /// Copies output, serves attach clients, runs healthchecks and reaps
    /// until the container's init (`pid`, started at `started`) has exited
    /// and its output is drained.
    fn supervise(
        &mut self,
        c: &Container,
        pid: i32,
        stdio: &mut ContainerStdio,
        started: Instant,
    ) -> Result<i32> {
        let settings = c.spec.host.log_config.settings()?;
        let mut log = match settings.path(&self.paths) {
            Some(path) => Some(LogWriter::open(&path, &settings, settings.attributes(c)?)?),
            None => None,
        };
        let mut health = HealthChecks::new(c, pid, started);
        if let Some(h) = &health {
            self.timer.arm(h.next_delay())?;
        }
        let sigchld = ChildSignals::new()?;
        // It may have exited before SIGCHLD was blocked.
        let mut exit_code = self.reaped(pid);
        let mut drain_deadline: Option<Instant> = None;
        let mut buf = vec![0u8; 32 * 1024];
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(8 + self.clients.len());
        // Last: what runs from here on is all an idle monitor touches, so
        // the loop allocates nothing and stays in this function's code
        // (a healthcheck touches more: it is shed again after each).
        shed_setup_memory(&self.store);
        loop {
            if exit_code.is_some() && stdio.out.is_none() && stdio.err.is_none() {
                break;
            }
            if drain_deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                break;
            }
            let raw = |f: &Option<File>| f.as_ref().map_or(-1, |f| f.as_raw_fd());
            fds.clear();
            fds.push(pollfd(sigchld.as_raw_fd()));
            fds.push(pollfd(self.listener.as_raw_fd()));
            fds.push(pollfd(raw(&stdio.out)));
            fds.push(pollfd(raw(&stdio.err)));
            fds.push(pollfd(self.timer.as_raw_fd()));
            fds.push(pollfd(health.as_ref().map_or(-1, |h| h.output_fd())));
            for c in &self.clients {
                fds.push(pollfd(c.stream.as_raw_fd()));
            }
            let timeout = match (exit_code, self.greeting_due()) {
                (Some(_), _) => 100,
                (None, Some(due)) => due.as_millis() as i32 + 1,
                (None, None) => -1,
            };
            if !poll(&mut fds, timeout)? {
                continue;
            }
            if fds[5].revents != 0 {
                if let Some(h) = health.as_mut() {
                    h.read_output(&mut buf);
                }
            }
            if fds[0].revents != 0 {
                sigchld.drain();
                if let Some(code) = self.reaped(pid) {
                    exit_code = Some(code);
                    self.greet_waiting(protocol::ENDED, Duration::ZERO);
                    drain_deadline = Some(Instant::now() + Duration::from_secs(2));
                    if let Some(mut h) = health.take() {
                        h.stop();
                    }
                }
                if let Some(h) = health.as_mut() {
                    match h.on_child_exit(&mut self.store, &self.id, &mut buf) {
                        Ok(Some(next)) => {
                            self.timer.arm(next)?;
                            // Idle again until the next check.
                            shed_setup_memory(&self.store);
                        }
                        Ok(None) => {}
                        // The check ended but its result was not recorded:
                        // the next one still runs.
                        Err(e) => {
                            diag::log(&self.id, format_args!("healthcheck: {e}"));
                            self.timer.arm(h.next_delay())?;
                        }
                    }
                }
            }
            if fds[4].revents != 0 && self.timer.expired() {
                if let Some(h) = health.as_mut() {
                    let next = h
                        .on_timer(&mut self.store, c, &*self.runtime)
                        .unwrap_or_else(|e| {
                            diag::log(&self.id, format_args!("healthcheck: {e}"));
                            h.next_delay()
                        });
                    self.timer.arm(next)?;
                }
            }
            // Clients before accepting: fds[6..] match self.clients only until then.
            let sandbox = &mut self.sandbox;
            read_clients(
                &mut self.clients,
                &fds[6..],
                &mut buf,
                |kind, payload, client| {
                    if kind == protocol::START_RESOLVER {
                        let started = sandbox.as_mut().map_or(Ok(()), |s| s.start_resolver());
                        let answer = started.err().map(|e| e.to_string()).unwrap_or_default();
                        let _ = protocol::write_frame(client, kind, answer.as_bytes());
                    } else {
                        stdio.input(kind, payload)
                    }
                },
            );
            if fds[1].revents != 0 {
                // During the run, greeted later; after it, at once.
                self.accept_clients(exit_code.map(|_| protocol::ENDED));
            }
            self.greet_waiting(protocol::LIVE, GREETING_GRACE);
            for (index, stream_kind) in [(2usize, protocol::STDOUT), (3, protocol::STDERR)] {
                if fds[index].revents == 0 {
                    continue;
                }
                let source = if stream_kind == protocol::STDOUT {
                    &mut stdio.out
                } else {
                    &mut stdio.err
                };
                let Some(fd) = source.as_mut() else { continue };
                match fd.read(&mut buf) {
                    Ok(0) | Err(_) => *source = None,
                    Ok(n) => {
                        if let Some(log) = log.as_mut() {
                            let _ = log.write(stream_kind, &buf[..n]);
                        }
                        self.broadcast(stream_kind, &buf[..n]);
                    }
                }
            }
        }
        if let Some(log) = log.as_mut() {
            let _ = log.flush();
        }
        Ok(exit_code.unwrap_or(137))
    }

    /// Accepts the clients connecting and greets them with `greeting`
    /// ([`protocol::ENDED`], [`protocol::LIVE`]), or, with none (during a
    /// run), leaves them waiting for their greeting.
    fn accept_clients(&mut self, greeting: Option<u8>) {
        while let Ok((stream, _)) = self.listener.accept() {
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let mut client = Client::new(stream);
            client.ungreeted_since = Some(Instant::now());
            if greeting.is_none_or(|run| client.greet(run)) {
                self.clients.push(client);
            }
        }
    }

    /// When the next greeting is due (a client accepted during the run
    /// still waits for it).
    fn greeting_due(&self) -> Option<Duration> {
        self.clients
            .iter()
            .filter_map(|c| c.ungreeted_since)
            .map(|since| GREETING_GRACE.saturating_sub(since.elapsed()))
            .min()
    }

    /// Greets with `run` the clients that have waited `after` or longer.
    fn greet_waiting(&mut self, run: u8, after: Duration) {
        self.clients.retain_mut(|c| {
            c.ungreeted_since
                .is_none_or(|since| since.elapsed() < after)
                || c.greet(run)
        });
    }

    fn broadcast(&mut self, kind: u8, data: &[u8]) {
        self.clients.retain_mut(|c| {
            c.greet(protocol::LIVE) && protocol::write_frame(&mut c.stream, kind, data).is_ok()
        });
    }

    fn notify_exit(&mut self, code: i32) {
        let payload = code.to_string();
        for c in &mut self.clients {
            let _ = protocol::write_frame(&mut c.stream, protocol::EXIT, payload.as_bytes());
        }
    }

    /// Marks the teardown to come, before the exit is recorded, with the
    /// reaped process's exit code: a monitor killed from here on leaves the
    /// mark, and the next command finishes the teardown and records that
    /// code (`reconcile`).
    /// The mark appears whole (written aside, renamed into place): a kill
    /// between creating and filling it would leave an empty mark, and the
    /// run's code would be lost.
    fn mark_teardown_pending(&self, code: i32) {
        let mark = &self.paths.teardown_pending;
        let aside = mark.with_extension("pending.tmp");
        let written =
            std::fs::write(&aside, code.to_string()).and_then(|()| std::fs::rename(&aside, mark));
        if let Err(e) = written {
            diag::log(&self.id, format_args!("teardown mark: {e}"));
        }
    }

    /// Deletes the runtime's state, tears the network down, releases volumes
    /// and unmounts the rootfs. Failures are logged and recorded as the
    /// container's `State.Error` with a `monitor_error` event (the exit is
    /// recorded already); the teardown mark goes last.
    fn cleanup_runtime(&mut self) {
        crash::point("exit", "before-cleanup");
        let mut failures = Vec::new();
        if let Err(e) = self.runtime.delete(&self.id, true) {
            failures.push(format!("runtime delete: {e}"));
        }
        // Closing the reservations first frees the host ports for the next start.
        self.sandbox = None;
        if let Err(e) = berth_network::teardown(&mut self.store, &self.run_dir, &self.id) {
            failures.push(format!("network teardown: {e}"));
        }
        if let Ok(c) = model::find(&self.store, &self.id) {
            for (name, e) in volumes::release_all(&mut self.store, &c, &self.sys) {
                failures.push(format!("releasing volume {name}: {e}"));
            }
        }
        if let Err(e) = rootfs::unmount(&self.store, &self.id, &self.sys) {
            failures.push(format!("unmount: {e}"));
        }
        if !failures.is_empty() {
            self.record_failure(&failures.join("; "));
        }
        let _ = std::fs::remove_file(&self.paths.teardown_pending);
    }

    /// A failure after the container's start was reported: into the
    /// monitor's log, `State.Error` and a `monitor_error` event.
    fn record_failure(&mut self, error: &str) {
        diag::log(&self.id, format_args!("{error}"));
        let id = &self.id;
        if let Err(e) = self
            .store
            .write(|tx| state::record_monitor_error(tx, id, error))
        {
            diag::log(id, format_args!("recording the error: {e}"));
        }
    }
}

/// Reads what the clients whose poll entries (`fds`, in client order)
/// are ready sent, and hands each complete frame to `on_frame`; drops
/// the clients that hung up (a stdin client's hang-up is handed on as
/// its [`protocol::STDIN_CLOSE`]: Docker's StdinOnce counts a detach).
fn read_clients(
    clients: &mut Vec<Client>,
    fds: &[libc::pollfd],
    buf: &mut [u8],
    mut on_frame: impl FnMut(u8, &[u8], &mut UnixStream),
) {
    let mut closed = Vec::new();
    for (i, client) in clients.iter_mut().enumerate() {
        if !fds.get(i).is_some_and(|fd| fd.revents != 0) {
            continue;
        }
        match client.stream.read(buf) {
            Ok(0) | Err(_) => {
                if client.stdin {
                    on_frame(protocol::STDIN_CLOSE, &[], &mut client.stream);
                }
                closed.push(i);
            }
            Ok(n) => {
                client.frames.push(&buf[..n]);
                while let Some((kind, payload)) = client.frames.next_frame() {
                    if kind == protocol::STDIN_ATTACH {
                        client.stdin = true;
                    } else {
                        on_frame(kind, &payload, &mut client.stream);
                    }
                }
            }
        }
    }
    for i in closed.into_iter().rev() {
        clients.remove(i);
    }
}
