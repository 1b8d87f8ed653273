//! A CRI client against a real `berth cri`: the stats calls (read from the
//! containers' cgroups), ReopenContainerLog, and pulls through a registry
//! mirror (a loopback docker-registry standing in for a host that does not
//! exist).

mod common;
#[path = "../../cli/tests/common/registry.rs"]
#[allow(dead_code)] // the CLI tests' registry helper; this file uses part of it
mod registry;

use std::time::Duration;

use berth_cri::api;
use common::*;
use tonic::Code;

async fn run_pod(c: &mut Client, config: &api::PodSandboxConfig) -> String {
    c.runtime
        .run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .expect("RunPodSandbox")
        .into_inner()
        .pod_sandbox_id
}

async fn run_container(
    c: &mut Client,
    pod: &str,
    pod_config: &api::PodSandboxConfig,
    config: api::ContainerConfig,
) -> String {
    let id = c
        .runtime
        .create_container(api::CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(config),
            sandbox_config: Some(pod_config.clone()),
        })
        .await
        .expect("CreateContainer")
        .into_inner()
        .container_id;
    c.runtime
        .start_container(api::StartContainerRequest {
            container_id: id.clone(),
        })
        .await
        .expect("StartContainer");
    id
}

async fn container_stats(c: &mut Client, id: &str) -> api::ContainerStats {
    c.runtime
        .container_stats(api::ContainerStatsRequest {
            container_id: id.into(),
        })
        .await
        .expect("ContainerStats")
        .into_inner()
        .stats
        .expect("stats")
}

async fn list_stats(c: &mut Client, filter: api::ContainerStatsFilter) -> Vec<String> {
    c.runtime
        .list_container_stats(api::ListContainerStatsRequest {
            filter: Some(filter),
        })
        .await
        .expect("ListContainerStats")
        .into_inner()
        .stats
        .into_iter()
        .map(|s| s.attributes.expect("attributes").id)
        .collect()
}

fn value(v: &Option<api::UInt64Value>) -> u64 {
    v.as_ref().expect("a value").value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_come_from_the_containers_cgroups() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let pod_config = pod_config("stats", logs.path());
    let pod = run_pod(&mut c, &pod_config).await;
    // Busy: a shell spinning, holding 8 MiB of memory in a variable.
    let mut busy = container_config(
        "busy",
        "x=$(head -c 8388608 /dev/zero | tr '\\0' a); while :; do :; done",
    );
    busy.labels.insert("role".into(), "busy".into());
    let busy = run_container(&mut c, &pod, &pod_config, busy).await;
    let idle = run_container(
        &mut c,
        &pod,
        &pod_config,
        container_config("idle", "sleep 1000"),
    )
    .await;

    let first = container_stats(&mut c, &busy).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let s = container_stats(&mut c, &busy).await;
    let attributes = s.attributes.clone().unwrap();
    assert_eq!(attributes.id, busy);
    assert_eq!(attributes.metadata.unwrap().name, "busy");
    assert_eq!(attributes.labels["role"], "busy");
    let cpu = s.cpu.clone().unwrap();
    assert!(cpu.timestamp > 0);
    let cpu0 = value(&first.cpu.unwrap().usage_core_nano_seconds);
    let cpu1 = value(&cpu.usage_core_nano_seconds);
    assert!(cpu1 > cpu0, "a spinning shell uses CPU: {cpu0} then {cpu1}");
    let memory = s.memory.clone().unwrap();
    assert!(memory.timestamp > 0);
    assert!(
        value(&memory.working_set_bytes) > 8 << 20,
        "8 MiB held: {memory:?}"
    );

    // Listing: by ID, by pod, by label (and a selector that matches none).
    let all = list_stats(&mut c, Default::default()).await;
    assert!(all.contains(&busy) && all.contains(&idle), "{all:?}");
    let by_label = list_stats(
        &mut c,
        api::ContainerStatsFilter {
            label_selector: [("role".to_string(), "busy".to_string())].into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_label, vec![busy.clone()]);
    let none = list_stats(
        &mut c,
        api::ContainerStatsFilter {
            label_selector: [("role".to_string(), "other".to_string())].into(),
            ..Default::default()
        },
    )
    .await;
    assert!(none.is_empty());
    let by_id = list_stats(
        &mut c,
        api::ContainerStatsFilter {
            id: idle.clone(),
            pod_sandbox_id: pod.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_id, vec![idle.clone()]);

    // The pod: its containers', its processes (pause, the spinning shell,
    // the sleep), its network.
    let p = c
        .runtime
        .pod_sandbox_stats(api::PodSandboxStatsRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .expect("PodSandboxStats")
        .into_inner()
        .stats
        .unwrap();
    assert_eq!(p.attributes.unwrap().id, pod);
    let linux = p.linux.unwrap();
    let mut members: Vec<String> = linux
        .containers
        .iter()
        .map(|s| s.attributes.clone().unwrap().id)
        .collect();
    members.sort();
    let mut want = vec![busy.clone(), idle.clone()];
    want.sort();
    assert_eq!(members, want);
    assert!(value(&linux.process.unwrap().process_count) >= 3);
    assert!(value(&linux.cpu.unwrap().usage_core_nano_seconds) >= cpu1);
    assert!(value(&linux.memory.unwrap().working_set_bytes) > 8 << 20);
    assert!(linux.network.unwrap().default_interface.is_some());
    let listed = c
        .runtime
        .list_pod_sandbox_stats(api::ListPodSandboxStatsRequest {
            filter: Some(api::PodSandboxStatsFilter {
                label_selector: [("app".to_string(), "stats".to_string())].into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .stats;
    assert_eq!(listed.len(), 1);

    let missing = c
        .runtime
        .container_stats(api::ContainerStatsRequest {
            container_id: "0123456789ab".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_log_is_started_anew_at_reopen() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let pod_config = pod_config("reopen", logs.path());
    let pod = run_pod(&mut c, &pod_config).await;
    let ticker = run_container(
        &mut c,
        &pod,
        &pod_config,
        container_config("ticker", "while :; do echo tick; sleep 0.2; done"),
    )
    .await;
    let log = logs.path().join("ticker/0.log");
    let rotated = logs.path().join("ticker/0.log.1");
    // kubelet reads the log as soon as StartContainer returns.
    assert!(log.exists(), "the log at {} once started", log.display());
    eventually("the first lines", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains(" stdout F tick\n"))
    });
    std::fs::rename(&log, &rotated).unwrap();
    c.runtime
        .reopen_container_log(api::ReopenContainerLogRequest {
            container_id: ticker.clone(),
        })
        .await
        .expect("ReopenContainerLog");
    // kubelet (and critest) look for the new file as soon as the call returns.
    assert!(log.exists(), "a new log at {}", log.display());
    eventually("lines in the new file", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains(" stdout F tick\n"))
    });
    let old = std::fs::read_to_string(&rotated).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(std::fs::read_to_string(&rotated).unwrap(), old);

    // Only a running container's log is reopened.
    c.runtime
        .stop_container(api::StopContainerRequest {
            container_id: ticker.clone(),
            timeout: 0,
        })
        .await
        .unwrap();
    let stopped = c
        .runtime
        .reopen_container_log(api::ReopenContainerLogRequest {
            container_id: ticker,
        })
        .await
        .unwrap_err();
    assert_eq!(stopped.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_go_through_the_registry_mirrors() {
    let server = Server::start();
    let mut c = server.client().await;
    let reg = registry::Registry::start(Default::default());
    for pushed in ["mirrored/app:1", "library/hubimage:2"] {
        let target = format!("{}/{pushed}", reg.host);
        server.berth_ok(&["tag", "busybox:latest", &target]);
        server.berth_ok(&["push", &target]);
        server.berth_ok(&["rmi", &target]);
    }
    let pull = |c: &mut Client, name: &str| {
        let mut images = c.images.clone();
        let name = name.to_string();
        async move {
            images
                .pull_image(api::PullImageRequest {
                    image: Some(api::ImageSpec {
                        image: name,
                        ..Default::default()
                    }),
                    auth: None,
                    sandbox_config: None,
                })
                .await
        }
    };
    // No mirror: the host does not exist.
    let unmirrored = pull(&mut c, "registry.berth.test/mirrored/app:1").await;
    assert!(unmirrored.is_err());
    // berth's registry-host-mirrors (any host), and dockerd's
    // registry-mirrors (Docker Hub's), read at each pull.
    server.isolation.set_daemon_config(&serde_json::json!({
        "registry-host-mirrors": {"registry.berth.test": ["http://127.0.0.1:1", format!("http://{}", reg.host)]},
        "registry-mirrors": [format!("http://{}", reg.host)],
    }));
    for (name, tag) in [
        (
            "registry.berth.test/mirrored/app:1",
            "registry.berth.test/mirrored/app:1",
        ),
        // berth's CRI reports Docker Hub names in Docker's familiar form.
        ("hubimage:2", "hubimage:2"),
    ] {
        let image_ref = pull(&mut c, name)
            .await
            .unwrap_or_else(|e| panic!("pull {name}: {e}"))
            .into_inner()
            .image_ref;
        let status = c
            .images
            .image_status(api::ImageStatusRequest {
                image: Some(api::ImageSpec {
                    image: name.into(),
                    ..Default::default()
                }),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .image
            .expect("the pulled image");
        assert_eq!(status.id, image_ref);
        assert!(
            status.repo_tags.iter().any(|t| t == tag),
            "{name} keeps its name: {:?}",
            status.repo_tags
        );
    }
    // What the mirror lacks is asked of the host itself (which is not there).
    assert!(pull(&mut c, "registry.berth.test/mirrored/absent:1")
        .await
        .is_err());
    // A mirror without a scheme in dockerd's key is refused, naming the file.
    server.isolation.set_daemon_config(&serde_json::json!({
        "registry-mirrors": [reg.host.clone()],
    }));
    let bad = pull(&mut c, "hubimage:2").await.unwrap_err();
    assert!(bad.message().contains("registry-mirrors"), "{bad:?}");
}
