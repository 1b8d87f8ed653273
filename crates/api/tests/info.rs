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

/// `registry-mirrors` of the daemon config are Docker Hub's mirrors in
/// `info`, normalized as dockerd's `ValidateMirror` does (one trailing
/// `/`), in `RegistryConfig.Mirrors` and the `docker.io` index; the CLI's
/// document and text show them as the docker CLI does.
#[test]
fn info_shows_the_configured_registry_mirrors() {
    let server = Server::start();
    let none = get_info(&server.socket);
    assert_eq!(none["RegistryConfig"]["Mirrors"], serde_json::json!([]));
    assert!(!server.berth_ok(&["info"]).contains("Registry Mirrors:"));

    let configured = ["https://mirror.example.com", "http://127.0.0.1:5999/"];
    server
        .isolation
        .set_daemon_config(&serde_json::json!({ "registry-mirrors": configured }));
    let shown = serde_json::json!(["https://mirror.example.com/", "http://127.0.0.1:5999/"]);
    let api = get_info(&server.socket);
    assert_eq!(
        api["RegistryConfig"]["Mirrors"], shown,
        "{}",
        api["RegistryConfig"]
    );
    assert_eq!(
        api["RegistryConfig"]["IndexConfigs"]["docker.io"]["Mirrors"],
        shown
    );
    let cli: Value = serde_json::from_str(&server.berth_ok(&[
        "info",
        "--format",
        "{{json .RegistryConfig.Mirrors}}",
    ]))
    .expect("json");
    assert_eq!(cli, shown);
    let text = server.berth_ok(&["info"]);
    let block = " Registry Mirrors:\n  https://mirror.example.com/\n  http://127.0.0.1:5999/\n";
    assert!(text.contains(block), "{text}");
    // The docker CLI prints the server's mirrors in the same block.
    if let Some(docker) = common::docker_clients()
        .into_iter()
        .find(|p| p.starts_with("/usr/local"))
    {
        let through_docker = Command::new(docker)
            .args(["-H", &server.docker_host(), "info"])
            .output()
            .expect("docker info");
        let through_docker = String::from_utf8_lossy(&through_docker.stdout).into_owned();
        assert!(through_docker.contains(block), "{through_docker}");
    }
}
