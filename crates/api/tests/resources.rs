//! Resources, namespace modes and `update` through the Engine API, driven
//! by the real docker CLIs against `berth serve` and read back from the
//! kernel: the container's cgroup files and what its process sees.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{docker_clients, Server};

fn docker(bin: &Path, server: &Server, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .env("DOCKER_HOST", server.docker_host())
        .env("DOCKER_CONFIG", "/nonexistent-docker-config")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .output()
        .expect("spawn docker");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(bin: &Path, server: &Server, args: &[&str]) -> String {
    let (code, stdout, stderr) = docker(bin, server, args);
    assert_eq!(code, 0, "{} {args:?}: {stdout}{stderr}", bin.display());
    stdout
}

/// A cgroup v1 file of container `id`, or its cgroup v2 counterpart.
fn cgroup_file(id: &str, controller: &str, v1: &str, v2: &str) -> String {
    let v1_path = format!("/sys/fs/cgroup/{controller}/berth/{id}/{v1}");
    let path = if Path::new(&v1_path).exists() {
        v1_path
    } else {
        format!("/sys/fs/cgroup/berth/{id}/{v2}")
    };
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn docker_update_and_host_settings_reach_the_kernel() {
    let server = Server::start();
    for bin in docker_clients() {
        let bin = bin.as_path();
        let id = ok(
            bin,
            &server,
            &[
                "run",
                "-d",
                "-m",
                "64m",
                "--cpuset-cpus",
                "0",
                "--group-add",
                "4321",
                "--pid",
                "host",
                "busybox",
                "sleep",
                "600",
            ],
        );
        assert_eq!(
            cgroup_file(&id, "cpuset", "cpuset.cpus", "cpuset.cpus"),
            "0"
        );
        let groups = ok(bin, &server, &["exec", &id, "id", "-G"]);
        assert_eq!(groups, "0 4321");
        let pid_ns = ok(
            bin,
            &server,
            &["exec", &id, "readlink", "/proc/self/ns/pid"],
        );
        assert_eq!(
            pid_ns,
            std::fs::read_link("/proc/self/ns/pid")
                .unwrap()
                .display()
                .to_string()
        );

        ok(
            bin,
            &server,
            &[
                "update",
                "-m",
                "32m",
                "--pids-limit",
                "30",
                "--restart",
                "always",
                &id,
            ],
        );
        assert_eq!(
            cgroup_file(&id, "memory", "memory.limit_in_bytes", "memory.max"),
            (32 << 20).to_string()
        );
        assert_eq!(cgroup_file(&id, "pids", "pids.max", "pids.max"), "30");
        assert_eq!(
            ok(
                bin,
                &server,
                &[
                    "inspect",
                    "-f",
                    "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}",
                    &id
                ]
            ),
            format!("{} always", 32 << 20)
        );
        // Docker's conflict, as dockerd answers it (409, the container named).
        let (code, _, stderr) = docker(
            bin,
            &server,
            &["update", "--cpu-quota", "20000", "--cpus", "1", &id],
        );
        assert_ne!(code, 0);
        assert!(
            stderr.contains("Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
            "{stderr}"
        );
        ok(bin, &server, &["rm", "-f", &id]);

        let (code, _, stderr) = docker(
            bin,
            &server,
            &["create", "--isolation", "hyperv", "busybox"],
        );
        assert_ne!(code, 0);
        assert!(stderr.contains("linux only supports 'default'"), "{stderr}");
    }
}
