//! A CRI client (the crate's own) against a real `berth cri`: pods and
//! containers through their lifecycle, ExecSync, CRI-format logs, port
//! mappings, mounts, security contexts, idempotence, refusals, images, and
//! pods surviving a restart of the server.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;

use berth_cri::api::{self, ContainerState, PodSandboxState};
use common::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_runs_containers_that_share_its_namespaces() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    // A port the test holds until the pod takes it.
    let held = TcpListener::bind("0.0.0.0:0").unwrap();
    let host_port = held.local_addr().unwrap().port();
    let mut pod_config = pod_config("web", logs.path());
    pod_config.dns_config = Some(api::DnsConfig {
        servers: vec!["10.9.8.7".into()],
        searches: vec!["example.test".into()],
        options: vec!["ndots:3".into()],
    });
    pod_config.port_mappings = vec![api::PortMapping {
        protocol: api::Protocol::Tcp as i32,
        container_port: 8080,
        host_port: host_port as i32,
        host_ip: String::new(),
    }];
    drop(held);
    let pod = run_pod(&mut c, pod_config.clone()).await;

    let listed = pods(&mut c).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, pod);
    assert_eq!(listed[0].state, PodSandboxState::SandboxReady as i32);
    assert_eq!(listed[0].labels["app"], "web");
    assert_eq!(listed[0].annotations["note"], "kept");
    let status = c
        .runtime
        .pod_sandbox_status(api::PodSandboxStatusRequest {
            pod_sandbox_id: pod.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    let ip = status.network.unwrap().ip;
    assert!(ip.starts_with(&server.isolation.subnet_prefix()), "{ip}");
    assert_eq!(status.metadata.unwrap().name, "web");

    // A server on the pod's port 8080, and a second container beside it.
    let script = "echo hello; echo oops >&2; \
                  while true; do echo pong | nc -l -p 8080; done";
    let web = create(
        &mut c,
        &pod,
        &pod_config,
        container_config("server", script),
    )
    .await
    .unwrap();
    assert_eq!(
        container_status(&mut c, &web).await.unwrap().state,
        ContainerState::ContainerCreated as i32
    );
    start(&mut c, &web).await;
    let side = create(
        &mut c,
        &pod,
        &pod_config,
        // It ignores SIGTERM (in the pod's PID namespace it is no init, the
        // kernel would not ignore it for it), so stop needs SIGKILL.
        container_config("side", "trap '' TERM; exec sleep 1000"),
    )
    .await
    .unwrap();
    start(&mut c, &side).await;
    let s = container_status(&mut c, &web).await.unwrap();
    assert_eq!(s.state, ContainerState::ContainerRunning as i32);
    assert!(s.started_at > 0);

    // The pod's hostname, DNS configuration and network for both.
    assert_eq!(exec_out(&mut c, &web, &["hostname"]).await, "web-host");
    assert_eq!(exec_out(&mut c, &side, &["hostname"]).await, "web-host");
    let resolv = exec_out(&mut c, &side, &["cat", "/etc/resolv.conf"]).await;
    assert!(resolv.contains("nameserver 10.9.8.7"), "{resolv}");
    assert!(resolv.contains("search example.test"), "{resolv}");
    assert!(resolv.contains("ndots:3"), "{resolv}");
    // The side container reaches the server on the pod's loopback.
    let mut reply = String::new();
    for _ in 0..100 {
        reply = exec(&mut c, &side, &["sh", "-c", "echo x | nc 127.0.0.1 8080"])
            .await
            .stdout
            .iter()
            .map(|&b| b as char)
            .collect();
        if reply.trim() == "pong" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(reply.trim(), "pong");
    // And the host reaches it on the mapped port.
    assert_eq!(tcp_read(host_address(), host_port).trim(), "pong");

    // ExecSync: exit codes and both streams.
    let r = exec(
        &mut c,
        &web,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
    )
    .await;
    assert_eq!(
        (r.exit_code, r.stdout.as_slice(), r.stderr.as_slice()),
        (3, &b"out\n"[..], &b"err\n"[..])
    );

    // The log in the CRI format at the pod's log directory.
    let log = logs.path().join("server/0.log");
    eventually("the log", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() >= 2)
    });
    let text = std::fs::read_to_string(&log).unwrap();
    // The first two: `nc -l` then logs what the clients above sent it.
    let mut lines: Vec<&str> = text
        .lines()
        .take(2)
        .map(|l| l.split_once(' ').expect("a timestamp").1)
        .collect();
    lines.sort();
    assert_eq!(lines, ["stderr F oops", "stdout F hello"], "{text}");
    let stamp = text.split(' ').next().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok() && stamp.ends_with('Z'),
        "{stamp}"
    );
    assert_eq!(
        container_status(&mut c, &web).await.unwrap().log_path,
        log.display().to_string()
    );
    // ReopenContainerLog after kubelet's rotation: new lines in a new file.
    std::fs::rename(&log, logs.path().join("server/0.log.1")).unwrap();
    c.runtime
        .reopen_container_log(api::ReopenContainerLogRequest {
            container_id: web.clone(),
        })
        .await
        .unwrap();

    // Listing by pod, state and label.
    let listed = c
        .runtime
        .list_containers(api::ListContainersRequest {
            filter: Some(api::ContainerFilter {
                pod_sandbox_id: pod.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|x| x.pod_sandbox_id == pod));

    // Stop: the container exits (SIGKILL after the timeout), with its code.
    c.runtime
        .stop_container(api::StopContainerRequest {
            container_id: side.clone(),
            timeout: 1,
        })
        .await
        .unwrap();
    let s = container_status(&mut c, &side).await.unwrap();
    assert_eq!(s.state, ContainerState::ContainerExited as i32);
    assert_eq!(s.exit_code, 137);
    assert!(s.finished_at >= s.started_at);

    // Idempotence: stop and remove twice, pods too; then NotFound.
    for _ in 0..2 {
        c.runtime
            .stop_container(api::StopContainerRequest {
                container_id: side.clone(),
                timeout: 0,
            })
            .await
            .unwrap();
        c.runtime
            .remove_container(api::RemoveContainerRequest {
                container_id: side.clone(),
            })
            .await
            .unwrap();
    }
    assert_eq!(
        container_status(&mut c, &side).await.unwrap_err().code(),
        Code::NotFound
    );
    for _ in 0..2 {
        c.runtime
            .stop_pod_sandbox(api::StopPodSandboxRequest {
                pod_sandbox_id: pod.clone(),
            })
            .await
            .unwrap();
    }
    assert_eq!(
        pods(&mut c).await[0].state,
        PodSandboxState::SandboxNotready as i32
    );
    assert_eq!(
        container_status(&mut c, &web).await.unwrap().state,
        ContainerState::ContainerExited as i32
    );
    for _ in 0..2 {
        c.runtime
            .remove_pod_sandbox(api::RemovePodSandboxRequest {
                pod_sandbox_id: pod.clone(),
            })
            .await
            .unwrap();
    }
    assert!(pods(&mut c).await.is_empty());
    // The pod's containers went with it, and nothing is left in berth.
    assert_eq!(server.berth_ok(&["ps", "-aq"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounts_and_security_contexts_take_effect() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("f"), "from the host\n").unwrap();
    let mut pod_config = pod_config("sec", logs.path());
    pod_config.linux = Some(api::LinuxPodSandboxConfig {
        sysctls: HashMap::from([("net.ipv4.ip_unprivileged_port_start".into(), "99".into())]),
        security_context: Some(api::LinuxSandboxSecurityContext {
            namespace_options: Some(api::NamespaceOption {
                pid: api::NamespaceMode::Pod as i32,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let pod = run_pod(&mut c, pod_config.clone()).await;
    let mut config = container_config("app", "exec sleep 1000");
    config.mounts = vec![
        api::Mount {
            container_path: "/ro".into(),
            host_path: data.path().display().to_string(),
            readonly: true,
            ..Default::default()
        },
        api::Mount {
            container_path: "/rw".into(),
            host_path: data.path().display().to_string(),
            ..Default::default()
        },
    ];
    config.linux = Some(api::LinuxContainerConfig {
        security_context: Some(api::LinuxContainerSecurityContext {
            run_as_user: Some(api::Int64Value { value: 1234 }),
            run_as_group: Some(api::Int64Value { value: 2345 }),
            supplemental_groups: vec![3456],
            no_new_privs: true,
            capabilities: Some(api::Capability {
                drop_capabilities: vec!["ALL".into()],
                add_capabilities: vec!["NET_RAW".into()],
                ..Default::default()
            }),
            namespace_options: Some(api::NamespaceOption {
                pid: api::NamespaceMode::Pod as i32,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = create(&mut c, &pod, &pod_config, config).await.unwrap();
    start(&mut c, &id).await;

    assert_eq!(
        exec_out(&mut c, &id, &["cat", "/ro/f"]).await,
        "from the host"
    );
    let r = exec(&mut c, &id, &["touch", "/ro/x"]).await;
    assert_ne!(r.exit_code, 0, "a read-only mount was written");
    assert_eq!(exec_out(&mut c, &id, &["id", "-u"]).await, "1234");
    assert_eq!(exec_out(&mut c, &id, &["id", "-g"]).await, "2345");
    let groups = exec_out(&mut c, &id, &["id", "-G"]).await;
    assert!(groups.split_whitespace().any(|g| g == "3456"), "{groups}");
    let status = exec_out(&mut c, &id, &["cat", "/proc/self/status"]).await;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(field("NoNewPrivs:"), "1");
    // Only CAP_NET_RAW (bit 13) is bounding.
    assert_eq!(field("CapBnd:"), "0000000000002000");
    // The pod's sysctl is in the shared network namespace.
    assert_eq!(
        exec_out(
            &mut c,
            &id,
            &["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]
        )
        .await,
        "99"
    );
    // A shared PID namespace: the infra's sleep is visible, as pid 1.
    let ps = exec_out(&mut c, &id, &["cat", "/proc/1/cmdline"]).await;
    assert!(
        ps.starts_with("sleep") && ps.contains("2147483647"),
        "{ps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_berth_cannot_do_is_refused_and_creates_nothing() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let mut cgroup = pod_config("cg", logs.path());
    cgroup.linux = Some(api::LinuxPodSandboxConfig {
        cgroup_parent: "/kubepods/pod1".into(),
        ..Default::default()
    });
    let e = c
        .runtime
        .run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(cgroup),
            runtime_handler: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e:?}");
    assert!(e.message().contains("cgroup parent"), "{}", e.message());
    assert!(pods(&mut c).await.is_empty());

    let pod_config = pod_config("ok", logs.path());
    let pod = run_pod(&mut c, pod_config.clone()).await;
    let mut ambient = container_config("a", "true");
    ambient.linux = Some(api::LinuxContainerConfig {
        security_context: Some(api::LinuxContainerSecurityContext {
            capabilities: Some(api::Capability {
                add_ambient_capabilities: vec!["NET_RAW".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let e = create(&mut c, &pod, &pod_config, ambient)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e:?}");
    // A container in a pod that does not exist.
    let e = create(&mut c, "0000", &pod_config, container_config("x", "true"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let listed = c
        .runtime
        .list_containers(api::ListContainersRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert!(listed.is_empty(), "{listed:?}");
    // The engine's refusals keep their kind: an image that is not here.
    let mut missing = container_config("i", "true");
    missing.image = Some(api::ImageSpec {
        image: "berth.test/missing:1".into(),
        ..Default::default()
    });
    let e = create(&mut c, &pod, &pod_config, missing)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_survive_a_restart_of_berth_cri() {
    let mut server = Server::start();
    let logs = tempfile::tempdir().unwrap();
    let pod_config = pod_config("keep", logs.path());
    let (pod, id) = {
        let mut c = server.client().await;
        let pod = run_pod(&mut c, pod_config.clone()).await;
        let id = create(
            &mut c,
            &pod,
            &pod_config,
            container_config("c", "exec sleep 1000"),
        )
        .await
        .unwrap();
        start(&mut c, &id).await;
        (pod, id)
    };
    assert!(server.terminate(), "berth cri did not stop cleanly");
    server.spawn();
    let mut c = server.client().await;
    let listed = pods(&mut c).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, pod);
    assert_eq!(listed[0].state, PodSandboxState::SandboxReady as i32);
    assert_eq!(listed[0].metadata.as_ref().unwrap().uid, "uid-keep");
    let s = container_status(&mut c, &id).await.unwrap();
    assert_eq!(s.state, ContainerState::ContainerRunning as i32);
    assert_eq!(s.metadata.unwrap().name, "c");
    assert_eq!(exec_out(&mut c, &id, &["hostname"]).await, "keep-host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_listed_inspected_and_removed() {
    let server = Server::start();
    let mut c = server.client().await;
    let v = c
        .runtime
        .version(api::VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (v.runtime_name.as_str(), v.runtime_api_version.as_str()),
        ("berth", "v1")
    );
    let images = c
        .images
        .list_images(api::ListImagesRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .images;
    let busybox = images
        .iter()
        .find(|i| i.repo_tags.iter().any(|t| t.contains("busybox:latest")))
        .expect("busybox listed");
    assert!(busybox.size > 0);
    let spec = |name: &str| {
        Some(api::ImageSpec {
            image: name.into(),
            ..Default::default()
        })
    };
    let status = c
        .images
        .image_status(api::ImageStatusRequest {
            image: spec("busybox:latest"),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.image.unwrap().id, busybox.id);
    let missing = c
        .images
        .image_status(api::ImageStatusRequest {
            image: spec("berth.test/none:1"),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(missing.image.is_none());
    // Removal by reference; again (missing) succeeds.
    // (An image of its own: the CRI removes an image with all its tags.)
    server.import("LABEL gone=1", "berth.test/gone:1");
    for _ in 0..2 {
        c.images
            .remove_image(api::RemoveImageRequest {
                image: spec("berth.test/gone:1"),
            })
            .await
            .unwrap();
    }
    assert!(!server.berth_ok(&["images"]).contains("berth.test/gone"));
    let fs = c
        .images
        .image_fs_info(api::ImageFsInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(fs.image_filesystems[0].used_bytes.unwrap().value > 0);
}
