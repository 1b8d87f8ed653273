//! The monitor: one small process per running container, the OCI runtime's
//! parent for the container's whole life. There is no daemon: the CLI spawns a
//! monitor (`berth __monitor ID`), which detaches (fork + setsid), becomes a
//! child subreaper, and then
//!
//! 1. takes `monitor.lock` (held until it exits: the liveness signal),
//! 2. mounts the rootfs, prepares volumes and `/etc/{hosts,hostname,resolv.conf}`,
//!    writes the OCI bundle and runs `runtime create` + `runtime start`,
//! 3. reports `{"ok":true}` or the failure to the spawning CLI over fd 3,
//! 4. copies the container's output to the json-file log and to attach clients,
//!    feeds attach clients' input to the container's stdin,
//! 5. reaps the container's init, records exit code / OOM / finish time,
//!    deletes the runtime state and unmounts the rootfs,
//! 6. applies the restart policy (same writable layer), or removes the
//!    container for `--rm`, tells attach clients the exit code, and exits.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_mount::Linux;
use berth_runtime::{BindMount, ExtraMount, Namespace, Runtime, SpecInput, Ulimit};
use berth_store::{now_rfc3339, FileLock, Store};
use serde::{Deserialize, Serialize};

pub mod attach;

use attach::FrameBuffer;
use berth_container::logs::LogWriter;
use berth_container::model::{self, Container, MountKind, Paths};
use crate::container::lifecycle;
use berth_container::{rootfs, ContainerError, Result};

/// Descriptor on which the monitor reports the first start to its spawner.
pub const SYNC_FD: RawFd = 3;
/// Descriptor of an attach client handed over at spawn time (if any).
pub const ATTACH_FD: RawFd = 4;
/// Set in the monitor's environment when [`ATTACH_FD`] is passed.
pub const ATTACH_ENV: &str = "BERTH_MONITOR_ATTACH";

/// What the monitor tells its spawner about the first start.
#[derive(Serialize, Deserialize, Debug)]
pub struct StartReport {
    pub ok: bool,
    #[serde(default)]
    pub error: String,
    /// 126/127 when the command cannot run, 125 for other failures.
    #[serde(default)]
    pub code: i32,
}

/// Where the runtime keeps its state (tmpfs: gone after a reboot, as are the
/// containers it describes).
pub fn runtime_state_root() -> PathBuf {
    PathBuf::from("/run/berth/runtime")
}

/// Entry point of `berth __monitor ID`. Returns the process exit status.
pub fn main(root: &Path, runtime_name: &str, id: &str) -> i32 {
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
    match Monitor::new(root, runtime_name, id, initial_client) {
        Ok(mut m) => {
            let status = m.run(&mut sync);
            if let Err(e) = &status {
                report(&mut sync, &e.to_string(), exit_code_of(e));
                eprintln!("monitor {id}: {e}");
            }
            0
        }
        Err(e) => {
            report(&mut sync, &e.to_string(), exit_code_of(&e));
            1
        }
    }
}

fn report(sync: &mut Option<File>, error: &str, code: i32) {
    if let Some(mut f) = sync.take() {
        let r = StartReport {
            ok: error.is_empty(),
            error: error.to_string(),
            code,
        };
        let _ = serde_json::to_writer(&mut f, &r);
    }
}

fn exit_code_of(e: &ContainerError) -> i32 {
    match e {
        ContainerError::CannotRun { code, .. } => *code,
        _ => 125,
    }
}

struct Client {
    stream: UnixStream,
    frames: FrameBuffer,
}

struct Monitor {
    store: Store,
    runtime: Runtime,
    id: String,
    paths: Paths,
    _lock: FileLock,
    clients: Vec<Client>,
    listener: UnixListener,
    sys: Linux,
    /// The running container's networking (holds its host-port reservations).
    sandbox: Option<berth_network::Sandbox>,
}

/// How a run of the container ended.
struct Exit {
    code: i32,
    oom_killed: bool,
    ran_for: Duration,
}

impl Monitor {
    fn new(
        root: &Path,
        runtime_name: &str,
        id: &str,
        initial: Option<UnixStream>,
    ) -> Result<Monitor> {
        let store = Store::open(root)?;
        let paths = Paths::of(&store, id);
        let lock = FileLock::try_acquire(&paths.monitor_lock).map_err(|e| match e {
            berth_store::LockError::WouldBlock { .. } => {
                ContainerError::Conflict(format!("container {id} is already running"))
            }
            other => other.into(),
        })?;
        let runtime = Runtime::new(runtime_name, &runtime_state_root())?;
        let _ = std::fs::remove_file(&paths.attach_socket);
        let listener = bind_short(&paths.attach_socket)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ContainerError::io(&paths.attach_socket, e))?;
        let clients = initial
            .into_iter()
            .chain(attach::connect_waiters(&paths.dir))
            .map(|stream| Client {
                stream,
                frames: FrameBuffer::default(),
            })
            .collect();
        Ok(Monitor {
            store,
            runtime,
            id: id.to_string(),
            paths,
            _lock: lock,
            clients,
            listener,
            sys: Linux,
            sandbox: None,
        })
    }

    fn run(&mut self, sync: &mut Option<File>) -> Result<()> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let container = model::find(&self.store, &self.id)?;
            let exit = match self.run_once(&container, sync) {
                Ok(exit) => exit,
                Err(e) => {
                    self.cleanup_runtime();
                    let error = e.to_string();
                    let code = exit_code_of(&e);
                    self.record_exit(code, false, &error)?;
                    if sync.is_some() {
                        report(sync, &error, code);
                        self.finish(&container)?;
                        self.notify_exit(code);
                        return Ok(());
                    }
                    Exit {
                        code,
                        oom_killed: false,
                        ran_for: Duration::ZERO,
                    }
                }
            };
            self.cleanup_runtime();
            self.record_exit(exit.code, exit.oom_killed, "")?;
            let container = model::find(&self.store, &self.id)?;
            if !should_restart(&container, exit.code) {
                // Clients (e.g. `run --rm`) learn the exit once removal is done.
                self.finish(&container)?;
                self.notify_exit(exit.code);
                return Ok(());
            }
            // Docker's backoff: doubling from 100ms, reset after 10s of running.
            if exit.ran_for >= Duration::from_secs(10) {
                backoff = Duration::from_millis(100);
            }
            self.store.write(|tx| {
                tx.execute(
                    "UPDATE containers SET status='restarting', restart_count=restart_count+1 WHERE id=?1",
                    [&self.id],
                )
            })?;
            // Only now: a client acting on the exit (e.g. `rm` after `wait`)
            // must find the container restarting, not exited.
            self.notify_exit(exit.code);
            let deadline = Instant::now() + backoff;
            while Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
                let c = model::find(&self.store, &self.id)?;
                if c.state.stopped_by_user {
                    self.store.write(|tx| {
                        tx.execute(
                            "UPDATE containers SET status='exited' WHERE id=?1",
                            [&self.id],
                        )
                    })?;
                    return Ok(());
                }
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }

    /// Final step after the last exit: `--rm` removal, then closing clients.
    fn finish(&mut self, container: &Container) -> Result<()> {
        if container.spec.host.auto_remove {
            lifecycle::remove_stopped(&mut self.store, container, true)?;
        }
        Ok(())
    }

    /// One run of the container: prepare, create, start, supervise until exit.
    fn run_once(&mut self, c: &Container, sync: &mut Option<File>) -> Result<Exit> {
        let input = self.prepare(c)?;
        let spec = berth_runtime::build_spec(&input)?;
        berth_runtime::write_bundle(&self.paths.dir, &spec)?;
        let _ = std::fs::remove_file(&self.paths.pid_file);

        let mut stdio = Stdio::new(c)?;
        if c.spec.tty {
            let console = ConsoleSocket::bind(&self.paths.dir)?;
            // The runtime connects and sends the pty master during `create`; the
            // listening socket queues it, so it is accepted afterwards.
            self.runtime
                .create(
                    &self.id,
                    &self.paths.dir,
                    &self.paths.pid_file,
                    Some(&console.path),
                    std::process::Stdio::null(),
                    std::process::Stdio::null(),
                    std::process::Stdio::null(),
                )
                .map_err(classify_start_error)?;
            let master = console.receive()?;
            stdio.set_pty(master);
        } else {
            let (stdin, stdout, stderr) = stdio.container_ends()?;
            self.runtime
                .create(
                    &self.id,
                    &self.paths.dir,
                    &self.paths.pid_file,
                    None,
                    stdin,
                    stdout,
                    stderr,
                )
                .map_err(classify_start_error)?;
        }
        let pid = read_pid(&self.paths.pid_file)?;
        self.runtime.start(&self.id).map_err(classify_start_error)?;
        let started = Instant::now();
        let started_at = now_rfc3339();
        let monitor_pid = std::process::id() as i32;
        self.store.write(|tx| {
            tx.execute(
                "UPDATE containers SET status='running', pid=?2, monitor_pid=?3, started_at=?4, \
                 exit_code=0, oom_killed=0, error='', stopped_by_user=0 WHERE id=?1",
                berth_store::rusqlite::params![self.id, pid, monitor_pid, started_at],
            )
        })?;
        report(sync, "", 0);
        let code = self.supervise(pid, &mut stdio)?;
        let oom_killed = oom_killed(&self.id);
        Ok(Exit {
            code,
            oom_killed,
            ran_for: started.elapsed(),
        })
    }

    /// Mounts the rootfs and volumes, writes the network files and builds the
    /// runtime input.
    fn prepare(&mut self, c: &Container) -> Result<SpecInput> {
        rootfs::mount(&self.store, &c.id, &self.sys)?;
        write_etc_files(&self.paths, c)?;
        let sandbox = self.setup_network(c)?;
        write_network_files(&self.paths, c, &sandbox)?;
        let network = match &sandbox.namespace {
            berth_network::Namespace::Host => Namespace::Host,
            berth_network::Namespace::Path(path) => Namespace::Path(path.clone()),
        };
        self.sandbox = Some(sandbox);
        let mut mounts = Vec::new();
        for m in &c.spec.mounts {
            match m.kind {
                MountKind::Volume => {
                    let source = berth_volume::acquire(&mut self.store, &m.name, &c.id, &self.sys)?;
                    if m.copy_up && dir_is_empty(&source) {
                        berth_archive::copy_up(&self.paths.rootfs, &m.destination, &source)?;
                    }
                    mounts.push(ExtraMount::Bind(BindMount {
                        source,
                        destination: m.destination.clone(),
                        read_only: !m.rw,
                        recursive: true,
                        propagation: None,
                    }));
                }
                MountKind::Bind => mounts.push(ExtraMount::Bind(BindMount {
                    source: m.source.clone(),
                    destination: m.destination.clone(),
                    read_only: !m.rw,
                    recursive: true,
                    propagation: (!m.propagation.is_empty()).then(|| m.propagation.clone()),
                })),
                MountKind::Tmpfs => {
                    let mut options = m.tmpfs_options.clone();
                    if !m.rw {
                        options.push("ro".into());
                    }
                    mounts.push(ExtraMount::Tmpfs {
                        destination: m.destination.clone(),
                        options,
                    })
                }
            }
        }
        for (file, destination) in [
            (&self.paths.hosts, "/etc/hosts"),
            (&self.paths.hostname, "/etc/hostname"),
            (&self.paths.resolv_conf, "/etc/resolv.conf"),
        ] {
            mounts.push(ExtraMount::Bind(BindMount {
                source: file.clone(),
                destination: destination.to_string(),
                read_only: c.spec.host.read_only_rootfs,
                recursive: false,
                propagation: None,
            }));
        }
        let user = berth_runtime::resolve_user(&self.paths.rootfs, &c.spec.user)?;
        let mut env = c.spec.env.clone();
        if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            env.insert(1.min(env.len()), format!("HOSTNAME={}", c.spec.hostname));
        }
        if c.spec.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!(
                "HOME={}",
                if user.home.is_empty() {
                    "/"
                } else {
                    &user.home
                }
            ));
        }
        let init_binary = if c.spec.host.init {
            Some(tini_path()?)
        } else {
            None
        };
        Ok(SpecInput {
            rootfs: self.paths.rootfs.clone(),
            read_only_rootfs: c.spec.host.read_only_rootfs,
            args: std::iter::once(c.spec.path.clone())
                .chain(c.spec.args.iter().cloned())
                .collect(),
            env,
            cwd: if c.spec.working_dir.is_empty() {
                "/".into()
            } else {
                c.spec.working_dir.clone()
            },
            user,
            terminal: c.spec.tty,
            hostname: c.spec.hostname.clone(),
            mounts,
            privileged: c.spec.host.privileged,
            cap_add: c.spec.host.cap_add.clone(),
            cap_drop: c.spec.host.cap_drop.clone(),
            no_new_privileges: c.spec.host.security.no_new_privileges,
            memory_bytes: (c.spec.host.memory > 0).then_some(c.spec.host.memory),
            nano_cpus: (c.spec.host.nano_cpus > 0).then_some(c.spec.host.nano_cpus),
            pids_limit: c.spec.host.pids_limit,
            ulimits: c
                .spec
                .host
                .ulimits
                .iter()
                .map(|u| Ulimit {
                    name: u.name.clone(),
                    soft: u.soft,
                    hard: u.hard,
                })
                .collect(),
            network,
            init_binary,
            shm_size_bytes: c.spec.host.shm_size,
            cgroups_path: format!("/berth/{}", c.id),
            oom_score_adj: None,
        })
    }

    /// Sets up the container's network namespace, endpoints and published
    /// ports (berth-network); `container:NAME` joins that container's namespace.
    fn setup_network(&mut self, c: &Container) -> Result<berth_network::Sandbox> {
        let host = &c.spec.host;
        let joined = match berth_network::Mode::parse(&host.network_mode) {
            berth_network::Mode::Container(other) => joined_namespace(&self.store, &other)?,
            _ => None,
        };
        let spec = berth_network::SandboxSpec {
            container_id: &c.id,
            container_name: &c.name,
            network_mode: &host.network_mode,
            joined,
            aliases: &host.network_aliases,
            ipv4: &host.ipv4_address,
            port_bindings: &host.port_bindings,
            publish_all: host.publish_all_ports,
            exposed_ports: &c.spec.exposed_ports,
            dns_servers: &host.dns,
        };
        Ok(berth_network::setup(&mut self.store, &spec)?)
    }

    /// Copies output, serves attach clients and reaps children until the
    /// container's init (`pid`) has exited and its output is drained.
    fn supervise(&mut self, pid: i32, stdio: &mut Stdio) -> Result<i32> {
        let mut log = LogWriter::open(&self.paths.log)?;
        let sigchld = SignalFd::sigchld()?;
        self.shed_setup_memory();
        let mut exit_code: Option<i32> = reap(pid);
        let mut drain_deadline: Option<Instant> = None;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            if exit_code.is_some() && stdio.out.is_none() && stdio.err.is_none() {
                break;
            }
            if let Some(deadline) = drain_deadline {
                if Instant::now() >= deadline {
                    break;
                }
            }
            let mut fds: Vec<libc::pollfd> = Vec::new();
            let push = |fds: &mut Vec<libc::pollfd>, fd: RawFd| {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
            };
            push(&mut fds, sigchld.fd.as_raw_fd());
            push(&mut fds, self.listener.as_raw_fd());
            push(&mut fds, stdio.out.as_ref().map_or(-1, |f| f.as_raw_fd()));
            push(&mut fds, stdio.err.as_ref().map_or(-1, |f| f.as_raw_fd()));
            for c in &self.clients {
                push(&mut fds, c.stream.as_raw_fd());
            }
            let timeout = if exit_code.is_some() { 100 } else { -1 };
            // SAFETY: fds is a valid array of pollfd for its length.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(ContainerError::Engine(format!("monitor poll: {err}")));
            }
            if fds[0].revents != 0 {
                sigchld.drain();
                if let Some(code) = reap(pid) {
                    exit_code = Some(code);
                    drain_deadline = Some(Instant::now() + Duration::from_secs(2));
                }
            }
            // Clients first: fds[4..] match self.clients only until a client
            // is accepted (below) or dropped by a failed broadcast.
            let mut closed = Vec::new();
            for (i, client) in self.clients.iter_mut().enumerate() {
                if fds[4 + i].revents == 0 {
                    continue;
                }
                match client.stream.read(&mut buf) {
                    Ok(0) | Err(_) => closed.push(i),
                    Ok(n) => {
                        client.frames.push(&buf[..n]);
                        while let Some((kind, payload)) = client.frames.next_frame() {
                            stdio.input(kind, &payload);
                        }
                    }
                }
            }
            for i in closed.into_iter().rev() {
                self.clients.remove(i);
            }
            if fds[1].revents != 0 {
                while let Ok((stream, _)) = self.listener.accept() {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                    self.clients.push(Client {
                        stream,
                        frames: FrameBuffer::default(),
                    });
                }
            }
            for (index, stream_kind) in [(2usize, attach::STDOUT), (3, attach::STDERR)] {
                if fds[index].revents == 0 {
                    continue;
                }
                let source = if stream_kind == attach::STDOUT {
                    &mut stdio.out
                } else {
                    &mut stdio.err
                };
                let Some(fd) = source.as_mut() else { continue };
                match fd.read(&mut buf) {
                    Ok(0) | Err(_) => *source = None,
                    Ok(n) => {
                        let _ = log.write(stream_kind, &buf[..n]);
                        self.broadcast(stream_kind, &buf[..n]);
                    }
                }
            }
        }
        let _ = log.flush();
        Ok(exit_code.unwrap_or(137))
    }

    /// An idle monitor only runs its poll loop: give back what setup touched
    /// (SQLite's page cache, freed heap, and the binary's read-only pages,
    /// which fault back in from the page cache if ever needed again).
    fn shed_setup_memory(&self) {
        let _ = self.store.db().execute_batch("PRAGMA shrink_memory");
        // SAFETY: malloc_trim only returns free heap memory to the kernel.
        unsafe { libc::malloc_trim(0) };
        drop_readonly_file_pages();
    }

    fn broadcast(&mut self, kind: u8, data: &[u8]) {
        self.clients
            .retain_mut(|c| attach::write_frame(&mut c.stream, kind, data).is_ok());
    }

    fn notify_exit(&mut self, code: i32) {
        let payload = code.to_string();
        for c in &mut self.clients {
            let _ = attach::write_frame(&mut c.stream, attach::EXIT, payload.as_bytes());
        }
    }

    /// Deletes the runtime's state, unmounts the rootfs and releases volumes.
    /// Failures are logged: they must not keep the exit from being recorded.
    fn cleanup_runtime(&mut self) {
        if let Err(e) = self.runtime.delete(&self.id, true) {
            eprintln!("monitor {}: runtime delete: {e}", self.id);
        }
        // Closing the reservations first frees the host ports for the next start.
        self.sandbox = None;
        if let Err(e) = berth_network::teardown(&mut self.store, &self.id) {
            eprintln!("monitor {}: network teardown: {e}", self.id);
        }
        if let Ok(c) = model::find(&self.store, &self.id) {
            for m in c.spec.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
                if let Err(e) = berth_volume::release(&mut self.store, &m.name, &self.id, &self.sys)
                {
                    eprintln!("monitor {}: releasing volume {}: {e}", self.id, m.name);
                }
            }
        }
        if let Err(e) = rootfs::unmount(&self.store, &self.id, &self.sys) {
            eprintln!("monitor {}: unmount: {e}", self.id);
        }
    }

    fn record_exit(&mut self, code: i32, oom_killed: bool, error: &str) -> Result<()> {
        let finished = now_rfc3339();
        self.store.write(|tx| {
            tx.execute(
                "UPDATE containers SET status='exited', pid=0, exit_code=?2, oom_killed=?3, \
                 error=?4, finished_at=?5 WHERE id=?1",
                berth_store::rusqlite::params![self.id, code, oom_killed, error, finished],
            )
        })?;
        Ok(())
    }
}

/// `MADV_DONTNEED` on the read-only segments of every loaded object (the
/// binary, libc, ...) except their `PT_GNU_RELRO` ranges: those pages still
/// hold the file's bytes, so dropping them loses nothing and they fault back in
/// from the page cache if touched. RELRO pages were written by the dynamic
/// linker before being made read-only and must be kept.
pub fn drop_readonly_file_pages() {
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        _data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the loader hands us a valid dl_phdr_info for the call.
        let info = unsafe { &*info };
        if info.dlpi_phdr.is_null() {
            return 0;
        }
        // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let base = info.dlpi_addr as usize;
        let relro = headers
            .iter()
            .find(|h| h.p_type == libc::PT_GNU_RELRO)
            .map(|h| {
                (
                    base + h.p_vaddr as usize,
                    base + (h.p_vaddr + h.p_memsz) as usize,
                )
            });
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        for h in headers
            .iter()
            .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W == 0)
        {
            let start = (base + h.p_vaddr as usize).div_ceil(page) * page;
            let end = (base + (h.p_vaddr + h.p_filesz) as usize) / page * page;
            let mut ranges = vec![(start, end)];
            if let Some((r0, r1)) = relro {
                let (r0, r1) = (r0 / page * page, r1.div_ceil(page) * page);
                ranges = vec![(start, end.min(r0)), (start.max(r1), end)];
            }
            for (a, b) in ranges.into_iter().filter(|(a, b)| a < b) {
                // SAFETY: [a, b) lies inside a read-only, file-backed segment
                // of a loaded object and outside its RELRO range.
                unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
            }
        }
        0
    }
    // SAFETY: dl_iterate_phdr calls `visit` synchronously for each object.
    unsafe { libc::dl_iterate_phdr(Some(visit), std::ptr::null_mut()) };
}

/// Docker's restart decision after an exit.
pub fn should_restart(c: &Container, code: i32) -> bool {
    c.spec
        .host
        .restart_policy
        .should_restart(code, c.state.restart_count, c.state.stopped_by_user)
}

/// Maps the runtime's failure to start a process onto Docker's exit codes.
fn classify_start_error(e: berth_runtime::RuntimeError) -> ContainerError {
    let message = e.to_string();
    let lower = message.to_lowercase();
    let code = if lower.contains("executable file not found")
        || lower.contains("no such file or directory")
    {
        127
    } else if lower.contains("permission denied") || lower.contains("exec format error") {
        126
    } else {
        return ContainerError::Runtime(e);
    };
    ContainerError::CannotRun {
        code,
        message: format!("failed to create task for container: {message}"),
    }
}

fn read_pid(path: &Path) -> Result<i32> {
    let text = std::fs::read_to_string(path).map_err(|e| ContainerError::io(path, e))?;
    text.trim()
        .parse()
        .map_err(|_| ContainerError::Engine(format!("{}: not a pid: {text:?}", path.display())))
}

/// Reaps every exited child; returns the exit status of `pid` if it was among them.
fn reap(pid: i32) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out pointer.
        let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if reaped <= 0 {
            return result;
        }
        if reaped == pid {
            result = Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else if libc::WIFSIGNALED(status) {
                128 + libc::WTERMSIG(status)
            } else {
                255
            });
        }
    }
}

/// Whether the kernel OOM-killed a process in the container's memory cgroup
/// (cgroup v1 `memory.oom_control`, or v2 `memory.events`).
fn oom_killed(id: &str) -> bool {
    let candidates = [
        format!("/sys/fs/cgroup/memory/berth/{id}/memory.oom_control"),
        format!("/sys/fs/cgroup/berth/{id}/memory.events"),
        format!("/sys/fs/cgroup/unified/berth/{id}/memory.events"),
    ];
    candidates.iter().any(|path| {
        std::fs::read_to_string(path)
            .map(|text| {
                text.lines().any(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .is_some_and(|n| n > 0)
                })
            })
            .unwrap_or(false)
    })
}

fn dir_is_empty(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// The static tini that `--init` bind-mounts as /sbin/docker-init.
fn tini_path() -> Result<PathBuf> {
    [
        "/usr/bin/tini-static",
        "/usr/bin/docker-init",
        "/usr/bin/tini",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .ok_or_else(|| ContainerError::Engine("--init needs tini: apt-get install tini".into()))
}

/// The namespace of the running container `reference` (following its own
/// `container:` mode, and the host's for `--network host`); `None` when it
/// does not run.
fn joined_namespace(store: &Store, reference: &str) -> Result<Option<berth_network::Namespace>> {
    let mut other = model::find(store, reference)?;
    for _ in 0..8 {
        if other.state.status != model::Status::Running
            && other.state.status != model::Status::Paused
        {
            return Ok(None);
        }
        match berth_network::Mode::parse(&other.spec.host.network_mode) {
            berth_network::Mode::Host => return Ok(Some(berth_network::Namespace::Host)),
            berth_network::Mode::Container(next) => other = model::find(store, &next)?,
            _ => return Ok(berth_network::Namespace::of_container(&other.id)),
        }
    }
    Ok(None)
}

/// Adds the container's address under its hostname to /etc/hosts and, on
/// networks with name resolution, points resolv.conf at aardvark-dns.
fn write_network_files(
    paths: &Paths,
    c: &Container,
    sandbox: &berth_network::Sandbox,
) -> Result<()> {
    if let Some(ip) = sandbox.primary_ip() {
        let mut hosts = std::fs::read_to_string(&paths.hosts)
            .map_err(|e| ContainerError::io(&paths.hosts, e))?;
        hosts.push_str(&format!("{ip}\t{}\n", c.spec.hostname));
        std::fs::write(&paths.hosts, hosts).map_err(|e| ContainerError::io(&paths.hosts, e))?;
    }
    let nameservers = sandbox.nameservers();
    if !nameservers.is_empty() {
        let base = std::fs::read_to_string(&paths.resolv_conf)
            .map_err(|e| ContainerError::io(&paths.resolv_conf, e))?;
        let resolv = berth_network::resolv_conf(&base, &nameservers);
        std::fs::write(&paths.resolv_conf, resolv)
            .map_err(|e| ContainerError::io(&paths.resolv_conf, e))?;
    }
    Ok(())
}

/// Writes the container's /etc/hosts, /etc/hostname and /etc/resolv.conf.
fn write_etc_files(paths: &Paths, c: &Container) -> Result<()> {
    let host_network = c.spec.host.network_mode == "host";
    let hosts = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        let mut h = String::from(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
             ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
        );
        for extra in &c.spec.host.extra_hosts {
            if let Some((name, ip)) = extra.split_once(':') {
                h.push_str(&format!("{ip}\t{name}\n"));
            }
        }
        h
    };
    let hostname = if host_network {
        std::fs::read_to_string("/etc/hostname").unwrap_or_default()
    } else {
        format!("{}\n", c.spec.hostname)
    };
    let resolv = resolv_conf(&c.spec.host.dns);
    for (path, content) in [
        (&paths.hosts, hosts),
        (&paths.hostname, hostname),
        (&paths.resolv_conf, resolv),
    ] {
        std::fs::write(path, content).map_err(|e| ContainerError::io(path, e))?;
    }
    Ok(())
}

/// The host's resolv.conf, without loopback nameservers (unreachable from a
/// container's own network namespace), as Docker filters it; `--dns` replaces
/// the nameservers.
fn resolv_conf(dns: &[String]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    for line in host.lines() {
        let is_ns = line.trim_start().starts_with("nameserver");
        let loopback = line.contains("127.") || line.contains("::1");
        if is_ns && (!dns.is_empty() || loopback) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for server in dns {
        out.push_str(&format!("nameserver {server}\n"));
    }
    out
}

/// The container's end of stdio and the monitor's end, per run.
struct Stdio {
    /// Monitor's read end of stdout (or the pty master).
    out: Option<File>,
    err: Option<File>,
    /// Monitor's write end of the container's stdin (or the pty master).
    stdin: Option<File>,
    container: Option<(
        std::process::Stdio,
        std::process::Stdio,
        std::process::Stdio,
    )>,
    pty: bool,
}

impl Stdio {
    fn new(c: &Container) -> Result<Stdio> {
        if c.spec.tty {
            return Ok(Stdio {
                out: None,
                err: None,
                stdin: None,
                container: None,
                pty: true,
            });
        }
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (stdin_container, stdin_monitor) = if c.spec.open_stdin {
            let (r, w) = pipe()?;
            (std::process::Stdio::from(r), Some(w))
        } else {
            (std::process::Stdio::null(), None)
        };
        Ok(Stdio {
            out: Some(out_r),
            err: Some(err_r),
            stdin: stdin_monitor,
            container: Some((
                stdin_container,
                std::process::Stdio::from(out_w),
                std::process::Stdio::from(err_w),
            )),
            pty: false,
        })
    }

    fn container_ends(
        &mut self,
    ) -> Result<(
        std::process::Stdio,
        std::process::Stdio,
        std::process::Stdio,
    )> {
        self.container
            .take()
            .ok_or_else(|| ContainerError::Engine("container stdio already handed out".into()))
    }

    fn set_pty(&mut self, master: OwnedFd) {
        let master = File::from(master);
        self.stdin = master.try_clone().ok();
        self.out = Some(master);
    }

    /// Applies a frame from an attach client.
    fn input(&mut self, kind: u8, payload: &[u8]) {
        match kind {
            attach::STDIN => {
                if let Some(w) = self.stdin.as_mut() {
                    if w.write_all(payload).is_err() {
                        self.stdin = None;
                    }
                }
            }
            attach::STDIN_CLOSE if !self.pty => self.stdin = None,
            attach::RESIZE if self.pty => {
                let text = String::from_utf8_lossy(payload);
                let mut parts = text
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u16>().ok());
                if let (Some(rows), Some(cols), Some(master)) =
                    (parts.next(), parts.next(), self.out.as_ref())
                {
                    let size = libc::winsize {
                        ws_row: rows,
                        ws_col: cols,
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    // SAFETY: TIOCSWINSZ with a valid winsize on our pty master.
                    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
                }
            }
            _ => {}
        }
    }
}

fn pipe() -> Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 with a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(ContainerError::Engine(format!(
            "pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: both fds were just created and are owned here.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// A signalfd for SIGCHLD (blocked, so it is only seen through the fd).
struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    fn sigchld() -> Result<SignalFd> {
        // SAFETY: sigset manipulation on a local, then sigprocmask/signalfd.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGCHLD);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(ContainerError::Engine(format!(
                    "signalfd: {}",
                    std::io::Error::last_os_error()
                )));
            }
            Ok(SignalFd {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    fn drain(&self) {
        let mut info = [0u8; 128];
        // SAFETY: reading into a local buffer from our non-blocking signalfd.
        while unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), info.len()) } > 0 {
        }
    }
}

/// Binds a unix socket at `path` even when the path is longer than
/// `sun_path` allows, by going through `/proc/self/fd/N` of its directory.
pub fn bind_short(path: &Path) -> Result<UnixListener> {
    with_short_path(path, |short| UnixListener::bind(short))
        .map_err(|e| ContainerError::io(path, e))
}

/// Connects to a unix socket at a possibly long `path` (see [`bind_short`]).
pub fn connect_short(path: &Path) -> std::io::Result<UnixStream> {
    with_short_path(path, |short| UnixStream::connect(short))
}

fn with_short_path<T>(
    path: &Path,
    f: impl FnOnce(&Path) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return f(path);
    };
    let dir = File::open(dir)?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
    f(&short)
}

/// The socket on which the runtime hands over a tty's master side.
struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
    /// Keeps the directory descriptor that `path` goes through alive.
    _dir: File,
}

impl ConsoleSocket {
    fn bind(container_dir: &Path) -> Result<ConsoleSocket> {
        let socket = container_dir.join("console.sock");
        let _ = std::fs::remove_file(&socket);
        let dir = File::open(container_dir).map_err(|e| ContainerError::io(container_dir, e))?;
        // The runtime is another process: reach the directory through our pid.
        let path = PathBuf::from(format!(
            "/proc/{}/fd/{}/console.sock",
            std::process::id(),
            dir.as_raw_fd()
        ));
        let listener = UnixListener::bind(&path).map_err(|e| ContainerError::io(&socket, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ContainerError::io(&socket, e))?;
        Ok(ConsoleSocket {
            listener,
            path,
            _dir: dir,
        })
    }

    /// Takes the pty master the runtime sent during `create`.
    fn receive(&self) -> Result<OwnedFd> {
        let _ = self.listener.set_nonblocking(false);
        match self.listener.accept() {
            Ok((stream, _)) => recv_fd(&stream),
            Err(e) => Err(ContainerError::io(&self.path, e)),
        }
    }
}

/// Receives one file descriptor sent with SCM_RIGHTS.
fn recv_fd(stream: &UnixStream) -> Result<OwnedFd> {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut control = [0u8; 64];
    // SAFETY: msghdr points at local buffers that outlive the call.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len();
        let _ = stream.set_nonblocking(false);
        let n = libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n < 0 {
            return Err(ContainerError::Engine(format!(
                "receiving the console: {}",
                std::io::Error::last_os_error()
            )));
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return Err(ContainerError::Engine(
                "the runtime sent no console descriptor".into(),
            ));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const RawFd);
        Ok(OwnedFd::from_raw_fd(fd))
    }
}
