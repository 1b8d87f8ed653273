//! Seccomp and AppArmor as Docker applies them: the same probes run in a
//! berth container and in a dockerd container (when dockerd answers) must
//! read the same answers, for Docker's default profile, `seccomp=unconfined`,
//! `--privileged`, `--cap-add SYS_ADMIN` and a custom profile; `exec`
//! processes get the container's filter; `inspect` and `info` show what
//! dockerd shows.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{busybox_tar, docker, dockerd_answers, Berth};

/// dockerd's copy of the test image.
const DOCKER_IMAGE: &str = "berth-fixture/confinement";

/// A static probe calling the system calls Docker's profile denies,
/// printing `name=ok`, `name=EPERM` or `name=errnoN` for each.
const PROBE_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>

static void report(const char *name, long r) {
    if (r >= 0) printf("%s=ok\n", name);
    else if (errno == EPERM) printf("%s=EPERM\n", name);
    else printf("%s=errno%d\n", name, errno);
}

int main(void) {
    report("add_key", syscall(SYS_add_key, "user", "berth-probe", "x", 1, -2));
    report("keyctl", syscall(SYS_keyctl, 0, -3, 0));
    union bpf_attr map;
    memset(&map, 0, sizeof map);
    map.map_type = BPF_MAP_TYPE_ARRAY;
    map.key_size = 4;
    map.value_size = 4;
    map.max_entries = 1;
    report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &map, sizeof map));
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.type = PERF_TYPE_SOFTWARE;
    pe.size = sizeof pe;
    pe.config = PERF_COUNT_SW_CPU_CLOCK;
    pe.disabled = 1;
    pe.exclude_kernel = 1;
    pe.exclude_hv = 1;
    report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
    return 0;
}
"#;

/// Everything the issue names, one answer per line.
const SCRIPT: &str = "grep '^Seccomp:' /proc/self/status | tr -d '\\t '; /probe/probe; \
    for p in 'unshare -U -r true' 'unshare -m true' 'mount -t tmpfs x /tmp' \
             'unshare -U -r -m mount -t tmpfs x /tmp'; do \
      if $p 2>/dev/null; then echo \"$p: ok\"; else echo \"$p: denied\"; fi; done";

/// A directory holding the compiled probe: one per machine, rebuilt by each
/// test binary (into a temporary name, renamed over the last one).
fn probe_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("berth-syscall-probe");
        std::fs::create_dir_all(&dir).unwrap();
        let pid = std::process::id();
        let source = dir.join(format!("probe-{pid}.c"));
        let binary = dir.join(format!("probe-{pid}"));
        std::fs::write(&source, PROBE_C).unwrap();
        let status = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&binary)
            .arg(&source)
            .status()
            .expect("gcc (scripts/install-deps.sh installs it)");
        assert!(status.success(), "compiling the syscall probe failed");
        std::fs::remove_file(&source).unwrap();
        std::fs::rename(&binary, dir.join("probe")).unwrap();
        dir
    })
}

/// Whether dockerd answers, with the test image imported.
fn dockerd() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        dockerd_answers()
            && (docker(&["image", "inspect", DOCKER_IMAGE]).is_some()
                || docker(&[
                    "import",
                    "-c",
                    "CMD [\"sh\"]",
                    busybox_tar().to_str().unwrap(),
                    DOCKER_IMAGE,
                ])
                .is_some())
    })
}

fn probe_args<'a>(flags: &[&'a str], image: &'a str, mount: &'a str) -> Vec<&'a str> {
    let mut args = vec!["run", "--rm", "--network", "none", "-v", mount];
    args.extend(flags);
    args.extend([image, "sh", "-c", SCRIPT]);
    args
}

#[test]
fn the_same_probes_read_the_same_answers_as_in_docker() {
    let b = Berth::with_busybox();
    let mount = format!("{}:/probe:ro", probe_dir().display());
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &[],
            &[
                "Seccomp:2",
                "add_key=EPERM",
                "keyctl=EPERM",
                "bpf=EPERM",
                "perf_event_open=EPERM",
                "unshare -U -r true: denied",
                "unshare -m true: denied",
                "mount -t tmpfs x /tmp: denied",
                "unshare -U -r -m mount -t tmpfs x /tmp: denied",
            ],
        ),
        (
            &["--security-opt", "seccomp=unconfined"],
            &[
                "Seccomp:0",
                "add_key=ok",
                "keyctl=ok",
                "unshare -U -r -m mount -t tmpfs x /tmp: ok",
            ],
        ),
        (
            &["--privileged"],
            &[
                "Seccomp:0",
                "add_key=ok",
                "keyctl=ok",
                "mount -t tmpfs x /tmp: ok",
            ],
        ),
        (
            &["--cap-add", "SYS_ADMIN"],
            &[
                "Seccomp:2",
                "add_key=EPERM",
                "unshare -m true: ok",
                "mount -t tmpfs x /tmp: ok",
            ],
        ),
    ];
    for (flags, expected) in cases {
        let berth = b.ok(&probe_args(flags, "busybox", &mount));
        for line in expected {
            assert!(
                berth.lines().any(|l| l == *line),
                "{flags:?}: expected {line:?} in\n{berth}"
            );
        }
        if !dockerd() {
            continue;
        }
        let out = Command::new("docker")
            .args(probe_args(flags, DOCKER_IMAGE, &mount))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && stderr.contains("unable to apply caps") {
            // dockerd asks for every capability it knows for --privileged; a
            // host whose own bounding set lacks one (these CI machines have
            // no CAP_SYS_RESOURCE) cannot run it. berth grants what it has.
            eprintln!("dockerd cannot run {flags:?} on this host: {stderr}");
            continue;
        }
        assert!(out.status.success(), "docker run {flags:?}: {stderr}");
        let docker = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            berth, docker,
            "{flags:?}: berth and dockerd answer differently"
        );
    }
}

#[test]
fn exec_processes_get_the_containers_filter() {
    let b = Berth::with_busybox();
    let status = "grep '^Seccomp:' /proc/self/status | tr -d '\\t '";
    for (flags, expected) in [
        (&[][..], "Seccomp:2"),
        (&["--security-opt", "seccomp=unconfined"][..], "Seccomp:0"),
    ] {
        let mut args = vec!["run", "-d", "--network", "none"];
        args.extend(flags);
        args.extend(["busybox", "sleep", "300"]);
        let id = b.ok(&args);
        // Docker's exec --privileged keeps the container's filter too.
        for exec_flags in [&[][..], &["--privileged"][..]] {
            let mut exec = vec!["exec"];
            exec.extend(exec_flags);
            exec.extend([id.as_str(), "sh", "-c", status]);
            assert_eq!(b.ok(&exec), expected, "{flags:?} exec {exec_flags:?}");
        }
        if dockerd() {
            let mut args = vec!["run", "-d", "--network", "none"];
            args.extend(flags);
            args.extend([DOCKER_IMAGE, "sleep", "300"]);
            let did = docker(&args).unwrap().trim().to_string();
            // (dockerd 20.10 with runc 1.1.5 cannot exec --privileged at all:
            // "unable to apply caps".)
            let seen = docker(&["exec", &did, "sh", "-c", status]).map(|s| s.trim().to_string());
            docker(&["rm", "-f", &did]);
            assert_eq!(seen.as_deref(), Some(expected), "dockerd {flags:?}");
        }
        b.ok(&["rm", "-f", &id]);
    }
}

#[test]
fn a_custom_profile_is_read_at_create_and_shown_as_dockerd_shows_it() {
    let b = Berth::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(
        &profile,
        "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [\n    \
         {\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\"}\n  ]\n}\n",
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let id = b.ok(&[
        "create",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "mkdir /made && echo made",
    ]);
    // The file changes after create: the container keeps the profile it was created with.
    std::fs::write(&profile, "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}").unwrap();
    let run = b.run(&["start", "-a", &id]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("Operation not permitted"),
        "{}",
        run.stderr
    );
    let shown = b.ok(&["inspect", "-f", "{{json .HostConfig.SecurityOpt}}", &id]);
    assert_eq!(
        shown,
        r#"["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"]"#
    );

    // The profile now allows everything; options as dockerd keeps them.
    let inspect = |flags: &[&str]| {
        let mut args = vec!["create"];
        args.extend(flags);
        args.push("busybox");
        let id = b.ok(&args);
        b.ok(&["inspect", "-f", "{{json .HostConfig.SecurityOpt}}", &id])
    };
    let cases: [&[&str]; 4] = [
        &[],
        &["--security-opt", "seccomp=unconfined"],
        &[
            "--security-opt",
            "seccomp:unconfined",
            "--security-opt",
            "no-new-privileges",
        ],
        &["--security-opt", &opt],
    ];
    for flags in cases {
        let ours = inspect(flags);
        if dockerd() {
            let mut args = vec!["create"];
            args.extend(flags);
            args.push(DOCKER_IMAGE);
            let did = docker(&args).unwrap().trim().to_string();
            let theirs = docker(&["inspect", "-f", "{{json .HostConfig.SecurityOpt}}", &did])
                .map(|s| s.trim().to_string());
            docker(&["rm", "-f", &did]);
            assert_eq!(Some(ours), theirs, "{flags:?}");
        }
    }
    // dockerd's errors for what it cannot use.
    let bad = b.fails(&[
        "create",
        "--security-opt",
        "seccomp=/nonexistent.json",
        "busybox",
    ]);
    assert!(
        bad.stderr
            .contains("opening seccomp profile (/nonexistent.json) failed"),
        "{}",
        bad.stderr
    );
    let bad = b.fails(&["create", "--security-opt", "seccomp", "busybox"]);
    assert!(
        bad.stderr.contains("invalid --security-opt: \"seccomp\""),
        "{}",
        bad.stderr
    );
}

#[test]
fn info_lists_seccomp_and_apparmor_is_applied_or_refused() {
    let b = Berth::new();
    let options = b.ok(&["info", "--format", "{{json .SecurityOptions}}"]);
    assert!(
        options.contains("\"name=seccomp,profile=builtin\""),
        "{options}"
    );
    let apparmor = Path::new("/sys/module/apparmor/parameters/enabled").exists();
    assert_eq!(options.contains("name=apparmor"), apparmor, "{options}");
    let info = b.run(&["info"]);
    assert!(
        info.stdout
            .contains(" Security Options:\n  seccomp\n   Profile: builtin\n"),
        "{}",
        info.stdout
    );
    if !apparmor {
        assert!(
            info.stderr
                .contains("WARNING: AppArmor is not enabled on this host"),
            "{}",
            info.stderr
        );
        let b = Berth::with_busybox();
        let refused = b.fails(&[
            "create",
            "--security-opt",
            "apparmor=docker-default",
            "busybox",
        ]);
        assert!(
            refused
                .stderr
                .contains("AppArmor is not enabled on this host"),
            "{}",
            refused.stderr
        );
        b.ok(&[
            "run",
            "--rm",
            "--security-opt",
            "apparmor=unconfined",
            "busybox",
            "true",
        ]);
    }
}

/// Whether crun is installed (berth runs it on a hybrid cgroup host too: it
/// hides the cgroup2 mount crun refuses in a mount namespace of crun's own).
fn crun_installed() -> bool {
    ["/usr/bin/crun", "/usr/local/bin/crun", "/usr/sbin/crun"]
        .iter()
        .any(|p| Path::new(p).is_file())
}

#[test]
fn crun_gets_the_program_it_compiled_for_a_filter_back_and_it_confines_as_runcs() {
    let dir = tempfile::tempdir().unwrap();
    if !crun_installed() {
        eprintln!("skipped: crun is not installed");
        return;
    }
    let crun = "crun";
    let b = Berth::with_busybox();
    // A filter no earlier run compiled: Docker's profile and a name no kernel
    // has (runtimes skip names they cannot resolve, as for Docker's own).
    let default =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/profiles/seccomp-default.json");
    let mut profile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(default).unwrap()).unwrap();
    let nonce = format!(
        "berth_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .unwrap()
            .as_nanos()
    );
    profile["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"names": [nonce], "action": "SCMP_ACT_ALLOW"}));
    let profile_file = dir.path().join("profile.json");
    std::fs::write(&profile_file, profile.to_string()).unwrap();
    let opt = format!("seccomp={}", profile_file.display());

    let start = |runtime: &str, flags: &[&str]| {
        let mut args = vec!["--runtime", runtime, "run", "-d", "--network", "none"];
        args.extend(["--security-opt", &opt]);
        args.extend(flags);
        args.extend(["busybox", "sleep", "300"]);
        b.ok(&args)
    };
    // What crun loads: its state's `seccomp.bpf` (compiled, or copied from
    // the annotation), and whether berth handed it over.
    let program =
        |id: &str| std::fs::read(b.run_dir().join("runtime").join(id).join("seccomp.bpf")).unwrap();
    let handed_over = |id: &str| {
        let config = b.path().join("containers").join(id).join("config.json");
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(config).unwrap()).unwrap();
        config["annotations"]["run.oci.seccomp_bpf_data"].is_string()
    };
    let compiled = start(crun, &[]);
    let cached = start(crun, &[]);
    let other = start(crun, &["--cap-add", "SYS_ADMIN"]);
    assert!(
        !handed_over(&compiled),
        "the first container's filter is compiled by crun"
    );
    assert!(
        handed_over(&cached),
        "the second gets the program crun compiled"
    );
    assert_eq!(program(&compiled), program(&cached));
    // CAP_SYS_ADMIN opens more calls: another filter, compiled anew.
    assert!(!handed_over(&other));
    assert_ne!(program(&compiled), program(&other));

    // The program confines as runc's filter of the same profile does, in the
    // container's processes and its execs.
    let status = "grep '^Seccomp:' /proc/self/status | tr -d '\\t '";
    assert_eq!(b.ok(&["exec", &cached, "sh", "-c", status]), "Seccomp:2");
    let mount = format!("{}:/probe:ro", probe_dir().display());
    let probes = |runtime: &str| {
        let mut args = vec!["--runtime", runtime];
        args.extend(probe_args(&["--security-opt", &opt], "busybox", &mount));
        b.ok(&args)
    };
    let by_runc = probes("runc");
    assert!(by_runc.contains("unshare -m true: denied"), "{by_runc}");
    assert_eq!(probes(crun), by_runc);
    for id in [compiled, cached, other] {
        b.ok(&["rm", "-f", &id]);
    }
}
