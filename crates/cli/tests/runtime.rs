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
