//! Real containers: a busybox rootfs, a bundle from `build_spec`, run by runc through
//! `RuncCli`. Everything is asserted from inside the container.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_runtime::{
    build_exec_process, build_spec, resolve_user, write_bundle, Namespace, OciRuntime, ProcessIo,
    RuncCli, RuntimeError, SpecInput, Status, User,
};

const APPLETS: &[&str] = &["sh", "cat", "id", "ls", "grep", "wc", "sleep"];

/// Installs a Debian package when `binary` is missing (CI machines start bare).
fn ensure_installed(candidates: &[&str], package: &str) -> PathBuf {
    if let Some(found) = candidates.iter().map(PathBuf::from).find(|p| p.exists()) {
        return found;
    }
    // A fresh machine may have no package lists yet.
    let updated = Command::new("apt-get")
        .args(["update", "-q"])
        .status()
        .expect("run apt-get");
    assert!(updated.success(), "apt-get update failed");
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", package])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .expect("run apt-get");
    assert!(status.success(), "apt-get install {package} failed");
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{package} installed but none of {candidates:?} exists"))
}

fn busybox() -> PathBuf {
    ensure_installed(&["/bin/busybox", "/usr/bin/busybox"], "busybox-static")
}

fn runtime(state_root: &Path) -> RuncCli {
    ensure_installed(&["/usr/sbin/runc", "/usr/bin/runc", "/sbin/runc"], "runc");
    RuncCli::new("runc", state_root).unwrap()
}

/// A rootfs holding only a static busybox, its applet links, and passwd/group.
fn busybox_rootfs(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "etc", "proc", "sys", "dev", "tmp", "home/tester"] {
        fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    fs::copy(busybox(), rootfs.join("bin/busybox")).unwrap();
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ntester:x:1234:1234::/home/tester:/bin/sh\n",
    )
    .unwrap();
    fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntester:x:1234:\nextra:x:2000:tester\n",
    )
    .unwrap();
    rootfs
}

fn unique_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("berth-test-{tag}-{}-{nanos}", std::process::id())
}

fn input(rootfs: &Path, id: &str, user: User, script: &str) -> SpecInput {
    SpecInput {
        rootfs: rootfs.to_path_buf(),
        read_only_rootfs: false,
        args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec!["PATH=/bin".into()],
        cwd: "/".into(),
        user,
        terminal: false,
        hostname: "berthbox".into(),
        domainname: String::new(),
        mounts: vec![],
        privileged: false,
        masked_paths: None,
        readonly_paths: None,
        cap_add: vec![],
        cap_drop: vec![],
        no_new_privileges: false,
        seccomp: Default::default(),
        apparmor: Default::default(),
        memory_bytes: None,
        nano_cpus: None,
        pids_limit: None,
        resources: Default::default(),
        ulimits: vec![],
        network: Namespace::New,
        pid: Namespace::New,
        uts: Namespace::New,
        init_binary: None,
        shm_size_bytes: 64 << 20,
        cgroups_path: format!("/{id}"),
        oom_score_adj: None,
        kernel: Default::default(),
        user_namespace: None,
    }
}

/// Deletes the container however the test ends.
struct Cleanup<'a> {
    runtime: &'a RuncCli,
    id: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.runtime.delete(&self.id, true);
    }
}

fn wait_until_stopped(runtime: &RuncCli, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = runtime.state(id).unwrap().expect("container known to runc");
        if state.status == Status::Stopped {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "container {id} still {:?} after 30s",
            state.status
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `script` to completion in a fresh container and returns its stdout+stderr.
fn run_to_completion(dir: &Path, runtime: &RuncCli, spec_input: &SpecInput, id: &str) -> String {
    let bundle = dir.join(format!("bundle-{id}"));
    write_bundle(&bundle, &build_spec(spec_input).unwrap()).unwrap();
    let output_path = dir.join(format!("{id}.out"));
    let output = fs::File::create(&output_path).unwrap();
    let _cleanup = Cleanup {
        runtime,
        id: id.to_string(),
    };

    let created = runtime
        .create(
            id,
            &bundle,
            ProcessIo::Fds {
                stdin: None,
                stdout: Some(OwnedFd::from(output.try_clone().unwrap())),
                stderr: Some(OwnedFd::from(output)),
            },
        )
        .unwrap();
    assert!(created.terminal.is_none());
    let state = runtime.state(id).unwrap().unwrap();
    assert_eq!(state.status, Status::Created);
    assert_eq!(state.pid, created.pid);
    runtime.start(id).unwrap();
    wait_until_stopped(runtime, id);
    runtime.delete(id, false).unwrap();
    assert!(runtime.state(id).unwrap().is_none());
    fs::read_to_string(&output_path).unwrap()
}

const PROBE: &str = "grep -E '^Cap(Bnd|Eff):' /proc/self/status; \
    echo hostname=$(cat /proc/sys/kernel/hostname); \
    echo ids=$(id -u):$(id -g):$(id -G); \
    { echo x > /sys/kernel/uevent_helper; } 2>&1";

/// Masked paths of Docker's list that this kernel has (it may lack /proc/kcore):
/// files must read as an empty character device (/dev/null), directories as empty.
fn masked_paths_probe() -> (String, Vec<String>) {
    let mut script = String::new();
    let mut expected = Vec::new();
    let candidates = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/interrupts",
        "/proc/sched_debug",
    ];
    for file in candidates.iter().filter(|f| Path::new(f).exists()) {
        script.push_str(&format!(
            "; [ -c {file} ] && echo {file}=chardev:$(cat {file} | wc -c)"
        ));
        expected.push(format!("{file}=chardev:0"));
    }
    for dir in ["/sys/firmware", "/proc/acpi"]
        .iter()
        .filter(|d| Path::new(d).exists())
    {
        script.push_str(&format!("; echo {dir}=entries:$(ls -A {dir} | wc -l)"));
        expected.push(format!("{dir}=entries:0"));
    }
    assert!(
        expected.len() >= 2,
        "too few masked paths exist on this host to test"
    );
    (script, expected)
}

#[test]
fn root_container_has_dockers_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let runtime = runtime(&dir.path().join("state"));
    let id = unique_id("root");
    let user = resolve_user(&rootfs, "").unwrap();
    let (masked_probe, masked_expected) = masked_paths_probe();
    let script = format!("{PROBE}{masked_probe}");
    let out = run_to_completion(
        dir.path(),
        &runtime,
        &input(&rootfs, &id, user, &script),
        &id,
    );

    assert!(out.contains("CapBnd:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("hostname=berthbox"), "{out}");
    assert!(out.contains("ids=0:0:0"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    for line in masked_expected {
        assert!(out.lines().any(|l| l == line), "{line} missing in:\n{out}");
    }
}

#[test]
fn named_user_runs_with_resolved_ids_and_no_effective_caps() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let runtime = runtime(&dir.path().join("state"));
    let id = unique_id("user");
    let user = resolve_user(&rootfs, "tester").unwrap();
    assert_eq!(user.additional_gids, [1234, 2000]);
    let out = run_to_completion(dir.path(), &runtime, &input(&rootfs, &id, user, PROBE), &id);

    assert!(out.contains("ids=1234:1234:1234 2000"), "{out}");
    assert!(out.contains("CapBnd:\t00000000a80425fb"), "{out}");
    // A non-root process keeps the bounding set but nothing effective, as in Docker.
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
}

/// An exec'd process without a terminal, with no-new-privileges.
fn exec_process(args: &[&str], user: &User) -> berth_runtime::oci_spec::runtime::Process {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    build_exec_process(
        &args,
        &["PATH=/bin".into()],
        "/",
        user,
        false,
        false,
        &[],
        &[],
        true,
    )
    .unwrap()
}

#[test]
fn init_exec_ps_kill_on_a_live_container() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let runtime = runtime(&dir.path().join("state"));
    let id = unique_id("live");
    let mut spec_input = input(&rootfs, &id, resolve_user(&rootfs, "").unwrap(), "sleep 60");
    // Debian's tini package ships both builds; a busybox-only rootfs needs the
    // static one.
    spec_input.init_binary = Some(ensure_installed(&["/usr/bin/tini-static"], "tini"));
    let bundle = dir.path().join("bundle");
    write_bundle(&bundle, &build_spec(&spec_input).unwrap()).unwrap();
    let _cleanup = Cleanup {
        runtime: &runtime,
        id: id.clone(),
    };
    runtime.create(&id, &bundle, ProcessIo::null()).unwrap();
    runtime.start(&id).unwrap();
    assert_eq!(runtime.state(&id).unwrap().unwrap().status, Status::Running);

    let process = exec_process(&["id", "-u"], &resolve_user(&rootfs, "tester").unwrap());
    let (out_r, out_w) = rustix::pipe::pipe().unwrap();
    let mut out_r = fs::File::from(out_r);
    let mut exec = runtime
        .exec(
            &id,
            &process,
            ProcessIo::Fds {
                stdin: None,
                stdout: Some(out_w),
                stderr: None,
            },
            false,
        )
        .unwrap();
    let mut output = String::new();
    std::io::Read::read_to_string(&mut out_r, &mut output).unwrap();
    assert_eq!(exec.process.wait().unwrap(), 0);
    assert_eq!(output.trim(), "1234");
    // The exec's files in the state root are gone with it.
    drop(exec);
    let leftovers: Vec<_> = fs::read_dir(dir.path().join("state"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".exec-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A command that does not exist: the runtime's failure, typed.
    let missing = exec_process(&["/no/such/binary"], &resolve_user(&rootfs, "").unwrap());
    let mut exec = runtime
        .exec(&id, &missing, ProcessIo::null(), false)
        .unwrap();
    let err = exec.process.wait().unwrap_err();
    assert!(matches!(err, RuntimeError::CommandNotFound { .. }), "{err}");

    // A hung process, polled and then killed: the process itself dies, not
    // only the runtime that waits for it.
    let hung = exec_process(&["sleep", "1000"], &resolve_user(&rootfs, "").unwrap());
    let mut exec = runtime.exec(&id, &hung, ProcessIo::null(), false).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(exec.process.try_wait().unwrap(), None);
    exec.process.kill();
    assert_eq!(exec.process.wait().unwrap(), 128 + 9);
    let sleeping = |pids: Vec<i32>| {
        pids.iter().any(|p| {
            fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with("sleep\01000"))
        })
    };
    // SIGKILL is delivered asynchronously: the process may still be listed
    // for a moment after the runtime that waited for it has been reaped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while sleeping(runtime.ps(&id).unwrap()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the hung process survived"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // tini as pid 1 and its child, sleep.
    assert_eq!(runtime.ps(&id).unwrap().len(), 2);

    runtime.pause(&id).unwrap();
    assert_eq!(runtime.state(&id).unwrap().unwrap().status, Status::Paused);
    runtime.resume(&id).unwrap();
    assert_eq!(runtime.state(&id).unwrap().unwrap().status, Status::Running);

    runtime
        .kill(&id, berth_runtime::parse_signal("KILL").unwrap(), false)
        .unwrap();
    wait_until_stopped(&runtime, &id);
    runtime.delete(&id, false).unwrap();
    // Deleting again is not an error: it is already gone.
    runtime.delete(&id, false).unwrap();
}

#[test]
fn runtime_failures_carry_runcs_message() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let runtime = runtime(&dir.path().join("state"));
    let id = unique_id("fail");
    let mut spec_input = input(&rootfs, &id, resolve_user(&rootfs, "").unwrap(), "");
    spec_input.args = vec!["/no/such/binary".into()];
    let bundle = dir.path().join("bundle");
    write_bundle(&bundle, &build_spec(&spec_input).unwrap()).unwrap();
    let _cleanup = Cleanup {
        runtime: &runtime,
        id: id.clone(),
    };
    let err = runtime
        .create(&id, &bundle, ProcessIo::null())
        .and_then(|_| runtime.start(&id))
        .unwrap_err();
    match &err {
        RuntimeError::CommandNotFound {
            runtime, message, ..
        } => {
            assert_eq!(runtime, "runc");
            assert!(message.contains("/no/such/binary"), "{message}");
            assert!(!message.starts_with("runc create failed"), "{message}");
            assert!(err.to_string().starts_with("runc create failed: "), "{err}");
            assert_eq!(message.trim(), message);
        }
        other => panic!("unexpected error {other}"),
    }

    let err = runtime
        .kill("berth-test-never-created", 9, false)
        .unwrap_err();
    assert!(err.to_string().starts_with("runc kill failed: "), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(matches!(err, RuntimeError::NotFound { .. }), "{err}");
}

#[test]
fn privileged_container_gets_all_caps_and_no_masks() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let runtime = runtime(&dir.path().join("state"));
    let id = unique_id("priv");
    let mut spec_input = input(
        &rootfs,
        &id,
        resolve_user(&rootfs, "").unwrap(),
        "grep '^CapBnd:' /proc/self/status; [ -f /proc/keys ] && echo keys=regular; \
         [ -c /dev/null ] && echo null=chardev; grep ' /sys ' /proc/self/mounts",
    );
    spec_input.privileged = true;
    let out = run_to_completion(dir.path(), &runtime, &spec_input, &id);

    let status = fs::read_to_string("/proc/self/status").unwrap();
    let host_effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap()
        .trim()
        .to_string();
    assert!(out.contains(&format!("CapBnd:\t{host_effective}")), "{out}");
    assert!(out.contains("keys=regular"), "{out}");
    assert!(out.contains("null=chardev"), "{out}");
    assert!(out.contains("sysfs /sys sysfs rw,"), "{out}");
}

#[test]
fn limits_mounts_and_read_only_rootfs_reach_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let runtime = runtime(&dir.path().join("state"));
    let id = unique_id("opts");
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::write(shared.join("hello"), "from host\n").unwrap();
    let mut spec_input = input(
        &rootfs,
        &id,
        resolve_user(&rootfs, "").unwrap(),
        "echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); \
         echo pids=$(cat /sys/fs/cgroup/pids/pids.max); \
         echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); \
         echo nofile=$(ulimit -n); \
         echo oom=$(cat /proc/self/oom_score_adj); \
         grep NoNewPrivs /proc/self/status; \
         { echo x > /rootfile; } 2>&1; \
         echo x > /scratch/file && echo tmpfs=writable; \
         cat /data/hello; { echo x > /data/new; } 2>&1; \
         grep ' /dev/shm ' /proc/self/mounts",
    );
    spec_input.read_only_rootfs = true;
    spec_input.memory_bytes = Some(64 << 20);
    spec_input.pids_limit = Some(50);
    spec_input.nano_cpus = Some(500_000_000);
    spec_input.oom_score_adj = Some(100);
    spec_input.no_new_privileges = true;
    spec_input.shm_size_bytes = 8 << 20;
    spec_input.ulimits = vec![berth_runtime::Ulimit {
        name: "nofile".into(),
        soft: 100,
        hard: 200,
    }];
    spec_input.mounts = vec![
        berth_runtime::ExtraMount::Tmpfs {
            destination: "/scratch".into(),
            options: vec!["size=1m".into()],
        },
        berth_runtime::ExtraMount::Bind(berth_runtime::BindMount {
            source: shared.clone(),
            destination: "/data".into(),
            read_only: true,
            recursive: true,
            read_only_non_recursive: false,
            propagation: Some("rprivate".into()),
        }),
    ];
    let out = run_to_completion(dir.path(), &runtime, &spec_input, &id);

    for expected in [
        "mem=67108864",
        "pids=50",
        "quota=50000",
        "nofile=100",
        "oom=100",
        "NoNewPrivs:\t1",
        "tmpfs=writable",
        "from host",
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "{expected} missing in:\n{out}"
        );
    }
    assert!(
        out.contains("can't create /rootfile: Read-only file system"),
        "{out}"
    );
    assert!(
        out.contains("can't create /data/new: Read-only file system"),
        "{out}"
    );
    assert!(out.contains("size=8192k"), "{out}");
    assert!(!shared.join("new").exists());
}

/// CVE-2019-5736 under crun: until `start`, the container's init is crun
/// itself, and what the container reaches as its `/proc/1/exe` is the
/// sealed copy berth runs crun from (not crun's own copy: berth's is named
/// `berth-crun`), so crun skipped its re-exec. The exploit's steps — a
/// handle on that exe kept past the exec, then reopened for writing — end
/// in a refused write.
#[test]
fn crun_runs_from_a_sealed_copy_no_container_can_write() {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileExt, OpenOptionsExt};

    ensure_installed(&["/usr/bin/crun", "/usr/local/bin/crun"], "crun");
    let dir = tempfile::tempdir().unwrap();
    let rootfs = busybox_rootfs(dir.path());
    let runtime = RuncCli::new("crun", &dir.path().join("state")).unwrap();
    let id = unique_id("sealed");
    let spec_input = input(&rootfs, &id, resolve_user(&rootfs, "").unwrap(), "true");
    let bundle = dir.path().join("bundle");
    write_bundle(&bundle, &build_spec(&spec_input).unwrap()).unwrap();
    let _cleanup = Cleanup {
        runtime: &runtime,
        id: id.clone(),
    };
    let created = runtime.create(&id, &bundle, ProcessIo::null()).unwrap();
    let exe = format!("/proc/{}/exe", created.pid);
    let target = fs::read_link(&exe).unwrap();
    assert!(
        target.to_string_lossy().starts_with("/memfd:berth-crun"),
        "the created container's init runs {}",
        target.display()
    );
    let handle = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(&exe)
        .unwrap();
    let through = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let readable = fs::File::open(&through).unwrap();
    // SAFETY: fcntl on a descriptor this test owns.
    let seals = unsafe { libc::fcntl(readable.as_raw_fd(), libc::F_GET_SEALS) };
    assert_eq!(
        seals,
        libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE
    );

    runtime.start(&id).unwrap();
    wait_until_stopped(&runtime, &id);
    runtime.delete(&id, false).unwrap();
    // No process runs the copy any more (no ETXTBSY): only the seals stand.
    let writable = fs::OpenOptions::new().write(true).open(&through).unwrap();
    // The byte already there: nothing would change even if it went through.
    let err = writable.write_at(b"\x7f", 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    assert!(writable.set_len(0).is_err());
    assert!(writable.set_len(1 << 30).is_err());
}
