//! Defaults dockerd applies, seen from inside the container and in what
//! `inspect` records: the default PATH (the process's, not the record's),
//! the cgroup namespace mode, and the attach flags of a run.

mod common;

use common::{busybox_tar, Berth};

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A busybox imported without `ENV`: the image sets no PATH.
fn without_env() -> Berth {
    let b = Berth::new();
    let tar = busybox_tar().to_string_lossy().into_owned();
    b.ok(&["import", "-c", "CMD [\"sh\"]", &tar, "noenv:1"]);
    b
}

#[test]
fn the_process_gets_the_default_path_the_record_does_not() {
    let b = without_env();
    let id = b.ok(&["create", "-e", "A=b", "-e", "GONE", "noenv:1", "env"]);
    assert_eq!(
        b.ok(&["inspect", "--format", "{{json .Config.Env}}", &id]),
        r#"["A=b","GONE"]"#
    );
    let out = b.run(&["start", "-a", &id]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], DEFAULT_PATH, "{}", out.stdout);
    assert!(lines.contains(&"A=b"), "{}", out.stdout);
    // A bare KEY unsets it, as in Docker.
    assert!(!out.stdout.contains("GONE"), "{}", out.stdout);
    let id = b.ok(&["run", "-d", "noenv:1", "sleep", "1000"]);
    assert_eq!(
        b.ok(&["inspect", "--format", "{{json .Config.Env}}", &id]),
        "null"
    );
    // An exec's process too; the image's or the user's PATH wins.
    let env = b.ok(&["exec", &id, "env"]);
    assert!(env.lines().any(|l| l == DEFAULT_PATH), "{env}");
    let env = b.ok(&["exec", "-e", "PATH=/bin:/usr/bin", &id, "env"]);
    assert!(env.lines().any(|l| l == "PATH=/bin:/usr/bin"), "{env}");
    assert!(!env.contains(DEFAULT_PATH), "{env}");
    b.ok(&["rm", "-f", &id]);
}

#[test]
fn attach_flags_record_what_the_run_attached() {
    let b = without_env();
    let flags = "{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}}";
    let id = b.ok(&["run", "-d", "noenv:1", "true"]);
    assert_eq!(
        b.ok(&["inspect", "--format", flags, &id]),
        "false false false"
    );
    b.ok(&["run", "--name", "att", "noenv:1", "true"]);
    assert_eq!(
        b.ok(&["inspect", "--format", flags, "att"]),
        "false true true"
    );
    let id = b.ok(&["create", "-i", "noenv:1"]);
    assert_eq!(b.ok(&["inspect", "--format", flags, &id]), "true true true");
}

fn cgroup_v2_only() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "))
}

#[test]
fn cgroup_namespace_is_dockers_default_and_honours_cgroupns() {
    let b = without_env();
    let host_ns = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    let host_ns = host_ns.to_string_lossy();
    let inside = |args: &[&str]| {
        let mut all = vec!["run", "--rm"];
        all.extend(args);
        all.extend([
            "noenv:1",
            "sh",
            "-c",
            "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup",
        ]);
        b.ok(&all)
    };
    // dockerd's default: the host's on cgroup v1 or hybrid, private on v2.
    let default_mode = if cgroup_v2_only() { "private" } else { "host" };
    let id = b.ok(&["create", "noenv:1"]);
    assert_eq!(
        b.ok(&["inspect", "--format", "{{.HostConfig.CgroupnsMode}}", &id]),
        default_mode
    );
    let shared = inside(&["--cgroupns", "host"]);
    assert_eq!(shared.lines().next(), Some(&*host_ns), "{shared}");
    // The host's namespace shows the container's cgroup by its host path.
    assert!(shared.contains("/berth/"), "{shared}");
    let own = inside(&["--cgroupns", "private"]);
    assert_ne!(own.lines().next(), Some(&*host_ns), "{own}");
    assert!(
        own.lines().skip(1).all(|l| l.ends_with(":/")),
        "a private namespace is rooted at the container's cgroup: {own}"
    );
    let refused = b.fails(&["create", "--name", "bad", "--cgroupns", "shared", "noenv:1"]);
    assert!(
        refused
            .stderr
            .contains("invalid cgroup namespace mode: shared"),
        "{}",
        refused.stderr
    );
    assert!(b.fails(&["inspect", "bad"]).code != 0);
}
