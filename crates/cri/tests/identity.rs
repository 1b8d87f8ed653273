//! Who a pod's processes are, against a real `berth cri`: supplemental
//! groups merged with the image's `/etc/group` or not (Strict), the
//! identity ContainerStatus reports, and pod user namespaces (POD with its
//! mappings, NODE, and the mappings refused), each checked from inside the
//! container or from the kernel.

mod common;

use berth_cri::api;
use common::*;
use tonic::Code;

/// `busybox:latest` with a user 1000 who is a member of group 50000 in the
/// image's `/etc/group` (critest's test-image-predefined-group).
fn build_group_image(server: &Server) -> &'static str {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox:latest\n\
         RUN echo 'default-user:x:1000:1000::/home:/bin/sh' >> /etc/passwd && \
         echo 'default-user:x:1000:' >> /etc/group && \
         echo 'group-defined-in-image:x:50000:default-user' >> /etc/group\n\
         USER 1000\n",
    )
    .unwrap();
    server.berth_ok(&[
        "build",
        "-q",
        "-t",
        "berth.test/groups:1",
        ctx.path().to_str().unwrap(),
    ]);
    "berth.test/groups:1"
}

fn groups_config(
    name: &str,
    image: &str,
    policy: api::SupplementalGroupsPolicy,
) -> api::ContainerConfig {
    let mut config = container_config(name, "id -G; exec sleep 1000");
    config.image = Some(api::ImageSpec {
        image: image.into(),
        ..Default::default()
    });
    config.linux = Some(api::LinuxContainerConfig {
        security_context: Some(api::LinuxContainerSecurityContext {
            run_as_user: Some(api::Int64Value { value: 1000 }),
            supplemental_groups: vec![1234],
            supplemental_groups_policy: policy as i32,
            ..Default::default()
        }),
        ..Default::default()
    });
    config
}

/// ContainerStatus's user: (uid, gid, sorted supplemental groups).
async fn status_user(c: &mut Client, id: &str) -> Option<(i64, i64, Vec<i64>)> {
    let user = container_status(c, id).await.unwrap().user?;
    let linux = user.linux?;
    let mut groups = linux.supplemental_groups;
    groups.sort_unstable();
    Some((linux.uid, linux.gid, groups))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_groups_leave_out_the_images_memberships_and_status_tells_the_identity() {
    let server = Server::start();
    let image = build_group_image(&server);
    let mut c = server.client().await;
    let status = c
        .runtime
        .status(api::StatusRequest { verbose: false })
        .await
        .unwrap()
        .into_inner();
    assert!(status.features.unwrap().supplemental_groups_policy);
    let logs = tempfile::tempdir().unwrap();
    let pod_config = pod_config("groups", logs.path());
    let pod = run_pod(&mut c, pod_config.clone()).await;
    for (name, policy, expected) in [
        (
            "merge",
            api::SupplementalGroupsPolicy::Merge,
            vec![1000, 1234, 50000],
        ),
        (
            "strict",
            api::SupplementalGroupsPolicy::Strict,
            vec![1000, 1234],
        ),
    ] {
        let config = groups_config(name, image, policy);
        let id = create(&mut c, &pod, &pod_config, config)
            .await
            .expect("create");
        // Not running: no identity yet.
        assert_eq!(status_user(&mut c, &id).await, None);
        start(&mut c, &id).await;
        let line = expected
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        // The first process (its log) and an exec'd one.
        let log = logs.path().join(name).join("0.log");
        eventually("the first process's groups in its log", || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains(&format!(" stdout F {line}\n")))
        });
        assert_eq!(exec_out(&mut c, &id, &["id", "-G"]).await, line, "{name}");
        assert_eq!(exec_out(&mut c, &id, &["id", "-u"]).await, "1000");
        assert_eq!(
            status_user(&mut c, &id).await,
            Some((1000, 1000, expected.clone())),
            "{name}"
        );
    }
    // A policy that does not exist is refused.
    let mut bad = groups_config("bad", image, api::SupplementalGroupsPolicy::Merge);
    if let Some(sc) = bad.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.supplemental_groups_policy = 7;
    }
    let e = create(&mut c, &pod, &pod_config, bad).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
}

fn userns(mode: api::NamespaceMode, uids: &[(u32, u32, u32)]) -> api::NamespaceOption {
    let maps = uids
        .iter()
        .map(|&(container_id, host_id, length)| api::IdMapping {
            host_id,
            container_id,
            length,
        })
        .collect::<Vec<_>>();
    api::NamespaceOption {
        userns_options: Some(api::UserNamespace {
            mode: mode as i32,
            uids: maps.clone(),
            gids: maps,
        }),
        ..Default::default()
    }
}

fn with_namespaces(
    mut pod: api::PodSandboxConfig,
    ns: &api::NamespaceOption,
) -> api::PodSandboxConfig {
    pod.linux = Some(api::LinuxPodSandboxConfig {
        security_context: Some(api::LinuxSandboxSecurityContext {
            namespace_options: Some(ns.clone()),
            ..Default::default()
        }),
        ..Default::default()
    });
    pod
}

fn in_namespaces(
    mut config: api::ContainerConfig,
    ns: &api::NamespaceOption,
) -> api::ContainerConfig {
    config.linux = Some(api::LinuxContainerConfig {
        security_context: Some(api::LinuxContainerSecurityContext {
            namespace_options: Some(ns.clone()),
            ..Default::default()
        }),
        ..Default::default()
    });
    config
}

/// `/proc/PID/status`'s `Uid:` line of a container's first process, as the
/// host's kernel tells it.
fn host_uids(server: &Server, id: &str) -> String {
    let pid = server.berth_ok(&["inspect", "-f", "{{.State.Pid}}", id]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_user_namespace_maps_the_pods_ids_into_every_container() {
    let server = Server::start();
    let mut c = server.client().await;
    let status = c
        .runtime
        .status(api::StatusRequest { verbose: false })
        .await
        .unwrap()
        .into_inner();
    assert!(status.runtime_handlers[0].features.unwrap().user_namespaces);
    let logs = tempfile::tempdir().unwrap();
    const HOST: u32 = 1_200_000;
    let ns = userns(api::NamespaceMode::Pod, &[(0, HOST, 65536)]);
    let pod_config = with_namespaces(pod_config("userns", logs.path()), &ns);
    let pod = run_pod(&mut c, pod_config.clone()).await;
    let mut ids = Vec::new();
    for name in ["one", "two"] {
        let config = in_namespaces(container_config(name, "touch /made; exec sleep 1000"), &ns);
        let id = create(&mut c, &pod, &pod_config, config)
            .await
            .expect("create");
        start(&mut c, &id).await;
        ids.push(id);
    }
    for id in &ids {
        let map = exec_out(&mut c, id, &["cat", "/proc/self/uid_map"]).await;
        assert_eq!(words(&map), ["0", &HOST.to_string(), "65536"]);
        let map = exec_out(&mut c, id, &["cat", "/proc/self/gid_map"]).await;
        assert_eq!(words(&map), ["0", &HOST.to_string(), "65536"]);
        assert_eq!(exec_out(&mut c, id, &["id", "-u"]).await, "0");
        // The image's files are root's inside (its idmapped layers), and
        // what root made too.
        let owners = exec_out(&mut c, id, &["stat", "-c", "%u:%g", "/bin", "/made"]).await;
        assert_eq!(words(&owners), ["0:0", "0:0"]);
        // The kernel: the container's root is the pod's first host id.
        let host = HOST.to_string();
        assert_eq!(words(&host_uids(&server, id)), [&host, &host, &host, &host]);
    }
    // A container without namespace options joins its pod's mapping; one
    // asking for another is refused.
    let plain = create(
        &mut c,
        &pod,
        &pod_config,
        container_config("plain", "exec sleep 1000"),
    )
    .await
    .expect("create");
    start(&mut c, &plain).await;
    let map = exec_out(&mut c, &plain, &["cat", "/proc/self/uid_map"]).await;
    assert_eq!(words(&map), ["0", &HOST.to_string(), "65536"]);
    let other = userns(api::NamespaceMode::Pod, &[(0, HOST + 65536, 65536)]);
    let e = create(
        &mut c,
        &pod,
        &pod_config,
        in_namespaces(container_config("other", "true"), &other),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // Removing one container leaves the others theirs.
    c.runtime
        .remove_container(api::RemoveContainerRequest {
            container_id: ids[1].clone(),
        })
        .await
        .unwrap();
    assert_eq!(exec_out(&mut c, &ids[0], &["id", "-u"]).await, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_user_namespace_is_the_hosts_and_bad_mappings_are_refused() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let ns = userns(api::NamespaceMode::Node, &[]);
    let node_pod = with_namespaces(pod_config("node", logs.path()), &ns);
    let pod = run_pod(&mut c, node_pod.clone()).await;
    let config = in_namespaces(container_config("n", "exec sleep 1000"), &ns);
    let id = create(&mut c, &pod, &node_pod, config)
        .await
        .expect("create");
    start(&mut c, &id).await;
    let host = std::fs::read_to_string("/proc/self/uid_map").unwrap();
    let map = exec_out(&mut c, &id, &["cat", "/proc/self/uid_map"]).await;
    assert_eq!(words(&map), words(&host));

    let before = pods(&mut c).await.len();
    for (what, ns) in [
        (
            "two-mappings",
            userns(
                api::NamespaceMode::Pod,
                &[(0, 1000, 100000), (0, 2000, 100000)],
            ),
        ),
        (
            "unmapped-root",
            userns(api::NamespaceMode::Pod, &[(1, 1000, 100000)]),
        ),
        ("no-mapping", userns(api::NamespaceMode::Pod, &[])),
        ("container-mode", userns(api::NamespaceMode::Container, &[])),
        ("target-mode", userns(api::NamespaceMode::Target, &[])),
    ] {
        let e = c
            .runtime
            .run_pod_sandbox(api::RunPodSandboxRequest {
                config: Some(with_namespaces(pod_config(what, logs.path()), &ns)),
                runtime_handler: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {e:?}");
    }
    assert_eq!(pods(&mut c).await.len(), before, "a refused pod was made");
}
