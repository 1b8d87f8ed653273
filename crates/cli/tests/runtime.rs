//! The OCI runtime is the container's: the one it was created with runs every
//! later operation, whatever `--runtime` the command handling it was given.

mod common;

use std::path::{Path, PathBuf};

use common::Berth;

/// An executable script that logs each call's arguments to `<name>.log`
/// and runs runc with them.
fn runc_wrapper(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let runc = ["/usr/sbin/runc", "/usr/bin/runc", "/sbin/runc"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("runc installed");
    let script = dir.join(name);
    let log = dir.join(format!("{name}.log"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\nexec {} \"$@\"\n",
            log.display(),
            runc.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

#[test]
fn a_container_is_handled_by_the_runtime_it_was_created_with() {
    let b = Berth::with_busybox();
    let (mine, mine_log) = runc_wrapper(b.path(), "runtime-a");
    let (other, other_log) = runc_wrapper(b.path(), "runtime-b");
    let (mine, other) = (mine.to_str().unwrap(), other.to_str().unwrap());
    let id = b.ok(&["--runtime", mine, "run", "-d", "busybox", "sleep", "60"]);
    let with_other = |args: &[&str]| {
        let mut all = vec!["--runtime", other];
        all.extend_from_slice(args);
        b.ok(&all)
    };
    assert_eq!(
        with_other(&["inspect", "-f", "{{.HostConfig.Runtime}}", &id]),
        mine
    );
    with_other(&["pause", &id]);
    with_other(&["unpause", &id]);
    assert_eq!(with_other(&["exec", &id, "echo", "in"]), "in");
    assert!(with_other(&["top", &id]).contains("sleep 60"));
    with_other(&["kill", "-s", "USR1", &id]);
    with_other(&["stop", "-t", "1", &id]);
    with_other(&["rm", &id]);

    assert!(
        !other_log.exists(),
        "the other runtime was called: {}",
        std::fs::read_to_string(&other_log).unwrap_or_default()
    );
    let calls = std::fs::read_to_string(&mine_log).unwrap();
    for action in [
        "create", "start", "pause", "resume", "exec", "ps", "kill", "delete",
    ] {
        assert!(
            calls
                .lines()
                .any(|l| l.split_whitespace().any(|w| w == action)),
            "{action} not run by the container's runtime:\n{calls}"
        );
    }

    // Without `--runtime`, containers are crun's where it is installed, else
    // runc's (the engine's default).
    let default = if ["/usr/bin/crun", "/usr/local/bin/crun", "/usr/sbin/crun"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        "crun"
    } else {
        "runc"
    };
    let id = b.ok(&["create", "busybox", "true"]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", &id]),
        default
    );
}

/// Docker's exit statuses when the container's process cannot start, under
/// each runtime: 127 only when the runtime's message names the command
/// (dockerd's rule), 126 when it cannot be executed, 125 for the runtime's
/// other failures (a mount it cannot make, a destination the image
/// symlinked to a missing path).
#[test]
fn start_failures_exit_127_126_or_125_under_each_runtime() {
    let b = Berth::with_busybox();
    // /up climbs out of the root to a path that does not exist.
    let id = b.ok(&[
        "create",
        "busybox",
        "ln",
        "-s",
        "../../../../../nowhere/up",
        "/up",
    ]);
    b.ok(&["start", "-a", &id]);
    b.ok(&["commit", &id, "symlinked:up"]);
    let runtimes = ["runc", "crun"].into_iter().filter(|r| {
        ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
            .iter()
            .any(|d| Path::new(d).join(r).is_file())
    });
    for runtime in runtimes {
        let run = |args: &[&str]| {
            let mut all = vec!["--runtime", runtime, "run", "--rm"];
            all.extend_from_slice(args);
            b.run(&all)
        };
        let r = run(&["busybox", "nosuchcmd"]);
        assert_eq!(r.code, 127, "{runtime}: {}", r.stderr);
        let r = run(&["busybox", "/etc/passwd"]);
        assert_eq!(r.code, 126, "{runtime}: {}", r.stderr);
        let r = run(&["-v", "/etc/hostname:/bin", "busybox", "true"]);
        assert_eq!(r.code, 125, "{runtime}: {}", r.stderr);
        // runc creates the missing destination in the root; crun refuses it.
        let r = run(&["-v", "v:/up", "symlinked:up", "true"]);
        assert!(
            r.code == 0 || r.code == 125,
            "{runtime}: {} {}",
            r.code,
            r.stderr
        );
        assert!(
            !b.path().join("nowhere").exists() && !Path::new("/nowhere").exists(),
            "{runtime}"
        );
    }
}

/// `SigBlk` and `SigIgn` of a process's `/proc/PID/status`.
fn signal_masks(status: &str) -> Vec<String> {
    status
        .lines()
        .filter(|l| l.starts_with("SigBlk:") || l.starts_with("SigIgn:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Runs berth from a parent that ignores and blocks signals (SIGINT and
/// SIGQUIT, as a shell's background job; glibc's reserved 32 and 33, which
/// only the raw system call reaches; a real-time one), as a CI harness or a
/// `nohup` may.
fn from_a_signal_ignoring_parent(b: &Berth, args: &[&str]) -> common::Run {
    use std::os::unix::process::CommandExt;
    let mut cmd = b.command(args);
    // SAFETY: raw system calls on constants only, in the forked child.
    unsafe {
        cmd.pre_exec(|| {
            let ignore = [1u64, 0, 0, 0]; // the kernel's sigaction, SIG_IGN
            for signal in [
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGHUP,
                libc::SIGUSR1,
                32,
                33,
                40,
            ] {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    signal,
                    ignore.as_ptr(),
                    std::ptr::null_mut::<u64>(),
                    8usize,
                );
            }
            let blocked: u64 = [libc::SIGUSR2, libc::SIGTERM, 32, 33, 50]
                .iter()
                .fold(0, |m, s| m | 1 << (s - 1));
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &blocked as *const u64,
                std::ptr::null_mut::<u64>(),
                8usize,
            );
            Ok(())
        });
    }
    let out = cmd.output().expect("spawn berth");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A container's init and its exec'd processes start with every signal at
/// its default action and none blocked (as Docker's do), whatever the
/// process that ran berth ignored or blocked.
#[test]
fn container_processes_start_with_default_signal_dispositions() {
    let b = Berth::with_busybox();
    let clean = ["SigBlk: 0000000000000000", "SigIgn: 0000000000000000"];
    let grep = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/1/status"];
    let mut run = vec!["run", "--rm", "busybox"];
    run.extend(grep);
    let r = from_a_signal_ignoring_parent(&b, &run);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(signal_masks(&r.stdout), clean, "run's init");

    let r = from_a_signal_ignoring_parent(
        &b,
        &["run", "-d", "--name", "sigs", "busybox", "sleep", "60"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut exec = vec!["exec", "sigs"];
    exec.extend(grep);
    assert_eq!(signal_masks(&b.ok(&exec)), clean, "run -d's init");
    let own = [
        "exec",
        "sigs",
        "grep",
        "-E",
        "^Sig(Blk|Ign)",
        "/proc/self/status",
    ];
    let r = from_a_signal_ignoring_parent(&b, &own);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(signal_masks(&r.stdout), clean, "an exec'd process");
    let r = from_a_signal_ignoring_parent(&b, &["exec", "-d", "sigs", "sleep", "30"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let detached = b.ok(&[
        "exec",
        "sigs",
        "sh",
        "-c",
        "for p in /proc/[0-9]*; do grep -q '^Name:.sleep' $p/status && [ ${p#/proc/} != 1 ] && grep -E '^Sig(Blk|Ign)' $p/status; done; true",
    ]);
    assert_eq!(signal_masks(&detached), clean, "a detached exec");
    b.ok(&["rm", "-f", "sigs"]);
}
