//! `info` answers as dockerd's on the same machine, field by field: the
//! machine's facts equal, every field dockerd sends present, `berth info`
//! the same document as `GET /info`, and its text laid out as `docker info`.

mod common;

use std::process::Command;

use common::{dockerd_socket, Server};
use serde_json::Value;

fn get_info(socket: &std::path::Path) -> Value {
    let out = Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(socket)
        .arg("http://d/v1.41/info")
        .output()
        .expect("curl");
    serde_json::from_slice(&out.stdout).expect("/info is JSON")
}

/// The filesystem type under `path`, as `stat -f` names it.
fn fs_type(path: &std::path::Path) -> String {
    let out = Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(path)
        .output()
        .expect("stat");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Fields that depend on the machine, not on the engine: equal to dockerd's.
const MACHINE_FACTS: &[&str] = &[
    "KernelVersion",
    "OperatingSystem",
    "OSVersion",
    "OSType",
    "Architecture",
    "NCPU",
    "MemTotal",
    "Name",
    "CgroupDriver",
    "CgroupVersion",
    "MemoryLimit",
    "SwapLimit",
    "KernelMemory",
    "KernelMemoryTCP",
    "CpuCfsPeriod",
    "CpuCfsQuota",
    "CPUShares",
    "CPUSet",
    "PidsLimit",
    "OomKillDisable",
    "IPv4Forwarding",
    "BridgeNfIptables",
    "BridgeNfIp6tables",
    "IndexServerAddress",
    "Driver",
];

/// What an unconfigured dockerd answers: berth's defaults are the same.
const DEFAULTS: &[&str] = &[
    "LoggingDriver",
    "Debug",
    "Isolation",
    "GenericResources",
    "Swarm",
    "ExperimentalBuild",
    "Labels",
];

#[test]
fn info_matches_dockerd_field_by_field() {
    let Some(dockerd) = dockerd_socket() else {
        eprintln!("skipped: no dockerd answers");
        return;
    };
    let server = Server::start();
    let berth = get_info(&server.socket);
    let docker = get_info(dockerd);
    for key in MACHINE_FACTS.iter().chain(DEFAULTS) {
        assert_eq!(berth[key], docker[key], "{key}");
    }
    for key in docker.as_object().unwrap().keys() {
        assert!(
            berth.get(key).is_some(),
            "dockerd sends {key}, berth does not"
        );
    }
    // The storage driver's facts, when both roots are on one filesystem.
    let docker_root = docker["DockerRootDir"].as_str().unwrap();
    if fs_type(server.root.path()) == fs_type(std::path::Path::new(docker_root)) {
        // Backing filesystem, d_type, native overlay diff, userxattr.
        for row in 0..4 {
            assert_eq!(
                berth["DriverStatus"][row], docker["DriverStatus"][row],
                "DriverStatus row {row}"
            );
        }
    }
    // runc's commit, as dockerd reads it, when berth has runc too.
    if berth["Runtimes"].get("runc").is_some() {
        assert_eq!(berth["RuncCommit"], docker["RuncCommit"]);
    }
    // The same confinement, by name (the profile is `builtin` as dockerd
    // 23 and later name it; 20.10 says `default`).
    let names = |info: &Value| -> Vec<String> {
        info["SecurityOptions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str()?.split(',').next().map(String::from))
            .collect()
    };
    assert_eq!(names(&berth), names(&docker));
    // dockerd's warnings are berth's too (berth adds its own).
    for warning in docker["Warnings"].as_array().into_iter().flatten() {
        assert!(
            berth["Warnings"].as_array().unwrap().contains(warning),
            "{warning} missing from {}",
            berth["Warnings"]
        );
    }
    // A real ID, kept across requests.
    let id = berth["ID"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(get_info(&server.socket)["ID"], berth["ID"]);
    assert_eq!(
        berth["Runtimes"][berth["DefaultRuntime"].as_str().unwrap()]["path"]
            .as_str()
            .map(|p| p.starts_with('/')),
        Some(true),
        "{}",
        berth["Runtimes"]
    );
}

#[test]
fn the_cli_shows_the_servers_document_and_dockers_layout() {
    let server = Server::start();
    let api = get_info(&server.socket);
    let cli: Value = serde_json::from_str(&server.berth_ok(&["info", "--format", "{{json .}}"]))
        .expect("berth info --format json");
    // What only the answering process knows may differ.
    let answering = [
        "SystemTime",
        "NFd",
        "NGoroutines",
        "ServerVersion",
        "NEventsListener",
        "Debug",
    ];
    for (key, value) in api.as_object().unwrap() {
        if !answering.contains(&key.as_str()) {
            assert_eq!(&cli[key], value, "{key}");
        }
    }
    // The current docker CLI (28.x; 20.10's adds "Registry" and "Labels").
    let Some(docker) = common::docker_clients()
        .into_iter()
        .find(|p| p.starts_with("/usr/local"))
    else {
        return;
    };
    // The same labels in the same order as `docker info` prints them for
    // berth's server, and as `berth info` prints them.
    let labels = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| *l != "Server:")
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .filter(|k| !k.trim().is_empty())
            .collect()
    };
    let through_docker = Command::new(docker)
        .args(["-H", &server.docker_host(), "info"])
        .output()
        .expect("docker info");
    let through_docker = String::from_utf8_lossy(&through_docker.stdout).into_owned();
    let own = server.berth_ok(&["info"]);
    assert_eq!(
        labels(&own),
        labels(&through_docker),
        "{own}\n---\n{through_docker}"
    );
}
