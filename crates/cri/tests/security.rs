//! Security contexts and mounts the way critest checks them, against a real
//! `berth cri`: masked and read-only path lists, seccomp (no profile is
//! unconfined, a privileged container ignores its profile), ExecSync's
//! timeout killing the process, and read-only binds with and without
//! recursion.

mod common;

use berth_cri::api::{self, security_profile::ProfileType};
use common::*;
use tonic::Code;

/// A running container of `config` in a new pod of `pod_config`.
async fn running(
    c: &mut Client,
    pod_config: &api::PodSandboxConfig,
    config: api::ContainerConfig,
) -> String {
    // A pod of its own for each container (named after it).
    let mut pod_config = pod_config.clone();
    let name = config
        .metadata
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    if let Some(m) = pod_config.metadata.as_mut() {
        m.name = format!("{}-{name}", m.name);
        m.uid = format!("{}-{name}", m.uid);
    }
    let pod = run_pod(c, pod_config.clone()).await;
    let id = create(c, &pod, &pod_config, config).await.expect("create");
    start(c, &id).await;
    id
}

fn with_context(
    mut config: api::ContainerConfig,
    sc: api::LinuxContainerSecurityContext,
) -> api::ContainerConfig {
    config.linux = Some(api::LinuxContainerConfig {
        security_context: Some(sc),
        ..Default::default()
    });
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_and_read_only_path_lists_replace_berths() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let pod_config = pod_config("paths", logs.path());
    let config = with_context(
        container_config("own", "exec sleep 1000"),
        api::LinuxContainerSecurityContext {
            masked_paths: vec!["/proc/cpuinfo".into(), "/home".into()],
            readonly_paths: vec!["/tmp".into()],
            ..Default::default()
        },
    );
    let id = running(&mut c, &pod_config, config).await;
    // Masked: an empty file, an empty directory.
    assert_eq!(exec_out(&mut c, &id, &["cat", "/proc/cpuinfo"]).await, "");
    let r = exec(&mut c, &id, &["touch", "/home/x"]).await;
    assert_ne!(r.exit_code, 0, "a masked directory is written");
    let r = exec(&mut c, &id, &["touch", "/tmp/x"]).await;
    assert_ne!(r.exit_code, 0);
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("Read-only file system"),
        "{:?}",
        String::from_utf8_lossy(&r.stderr)
    );
    // The lists replace berth's: /proc/timer_list (masked by default) is
    // readable and /proc/sys (read-only by default) is not remounted.
    assert_ne!(
        exec_out(&mut c, &id, &["head", "-1", "/proc/timer_list"]).await,
        ""
    );
    let mounts = exec_out(&mut c, &id, &["cat", "/proc/self/mountinfo"]).await;
    assert!(
        !mounts
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/proc/sys")),
        "{mounts}"
    );

    // Without lists, berth's (Docker's) apply.
    let id = running(
        &mut c,
        &pod_config,
        container_config("default", "exec sleep 1000"),
    )
    .await;
    assert_eq!(
        exec_out(&mut c, &id, &["cat", "/proc/timer_list"]).await,
        ""
    );
    assert_ne!(exec_out(&mut c, &id, &["cat", "/proc/cpuinfo"]).await, "");
    assert_eq!(exec(&mut c, &id, &["touch", "/tmp/x"]).await.exit_code, 0);
}

/// The `Seccomp:` mode of the container's own process (0 none, 2 filter).
async fn seccomp_mode(c: &mut Client, id: &str) -> String {
    let status = exec_out(c, id, &["cat", "/proc/self/status"]).await;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .expect("a Seccomp line")
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_seccomp_profile_is_unconfined_and_privileged_ignores_its_profile() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let pod_config = pod_config("seccomp", logs.path());
    // No profile at all: unconfined, as containerd and CRI-O run it.
    let id = running(
        &mut c,
        &pod_config,
        container_config("nil", "exec sleep 1000"),
    )
    .await;
    assert_eq!(seccomp_mode(&mut c, &id).await, "0");
    // RuntimeDefault: berth's (Docker's) filter.
    let default = with_context(
        container_config("default", "exec sleep 1000"),
        api::LinuxContainerSecurityContext {
            seccomp: Some(api::SecurityProfile {
                profile_type: ProfileType::RuntimeDefault as i32,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let id = running(&mut c, &pod_config, default).await;
    assert_eq!(seccomp_mode(&mut c, &id).await, "2");

    // A profile that blocks sethostname: it does for an unprivileged
    // container with SYS_ADMIN, not for a privileged one.
    let profile = logs.path().join("block-hostname.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sethostname"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let blocking = |name: &str, privileged: bool| {
        with_context(
            container_config(name, "exec sleep 1000"),
            api::LinuxContainerSecurityContext {
                privileged,
                capabilities: Some(api::Capability {
                    add_capabilities: vec!["SYS_ADMIN".into()],
                    ..Default::default()
                }),
                seccomp: Some(api::SecurityProfile {
                    profile_type: ProfileType::Localhost as i32,
                    localhost_ref: profile.display().to_string(),
                }),
                ..Default::default()
            },
        )
    };
    let id = running(&mut c, &pod_config, blocking("blocked", false)).await;
    let r = exec(&mut c, &id, &["hostname", "renamed"]).await;
    assert_ne!(r.exit_code, 0, "sethostname went through the profile");
    let mut privileged_pod = pod_config.clone();
    privileged_pod.linux = Some(api::LinuxPodSandboxConfig {
        security_context: Some(api::LinuxSandboxSecurityContext {
            privileged: true,
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = running(&mut c, &privileged_pod, blocking("privileged", true)).await;
    exec_out(&mut c, &id, &["hostname", "renamed"]).await;
    assert_eq!(exec_out(&mut c, &id, &["hostname"]).await, "renamed");
    assert_eq!(seccomp_mode(&mut c, &id).await, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_sync_past_its_timeout_fails_and_its_process_is_gone() {
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let id = running(
        &mut c,
        &pod_config("timeout", logs.path()),
        container_config("app", "exec sleep 1000"),
    )
    .await;
    let e = c
        .runtime
        .exec_sync(api::ExecSyncRequest {
            container_id: id.clone(),
            cmd: vec!["sleep".into(), "4321".into()],
            timeout: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    // Gone, not a zombie either (a zombie keeps its name): the container's
    // one sleep is its own.
    let ps = exec_out(
        &mut c,
        &id,
        &[
            "sh",
            "-c",
            "for d in /proc/[0-9]*; do echo $(cat $d/comm) $(tr '\\0' ' ' <$d/cmdline); done",
        ],
    )
    .await;
    assert!(ps.lines().any(|l| l == "sleep sleep 1000"), "{ps}");
    assert!(!ps.lines().any(|l| l.contains("4321")), "{ps}");
    // Within its timeout, the command's output and status.
    let r = c
        .runtime
        .exec_sync(api::ExecSyncRequest {
            container_id: id.clone(),
            cmd: vec!["sh".into(), "-c".into(), "echo done; exit 3".into()],
            timeout: 5,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.stdout.as_slice(), r.exit_code), (&b"done\n"[..], 3));
}

/// A tmpfs mounted on the host under a directory, unmounted when dropped.
struct Submount(std::path::PathBuf);

impl Drop for Submount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mounts_leave_submounts_writable_unless_recursive() {
    let server = Server::start();
    let mut c = server.client().await;
    let status = c
        .runtime
        .status(api::StatusRequest { verbose: false })
        .await
        .unwrap()
        .into_inner();
    assert!(
        status
            .runtime_handlers
            .iter()
            .any(|h| h.name.is_empty() && h.features.is_some_and(|f| f.recursive_read_only_mounts)),
        "{status:?}"
    );
    let logs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let sub = data.path().join("tmpfs");
    std::fs::create_dir(&sub).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&sub)
        .status()
        .unwrap();
    assert!(ok.success());
    let _sub = Submount(sub);
    let pod_config = pod_config("ro", logs.path());
    let pod = run_pod(&mut c, pod_config.clone()).await;
    let mount = |path: &str, recursive: bool| api::Mount {
        container_path: path.into(),
        host_path: data.path().display().to_string(),
        readonly: true,
        recursive_read_only: recursive,
        ..Default::default()
    };
    let mut config = container_config("app", "exec sleep 1000");
    config.mounts = vec![mount("/ro", false), mount("/rro", true)];
    let id = create(&mut c, &pod, &pod_config, config).await.unwrap();
    start(&mut c, &id).await;
    let touch = |path: &'static str| ["touch", path];
    assert_ne!(exec(&mut c, &id, &touch("/ro/f")).await.exit_code, 0);
    assert_eq!(exec(&mut c, &id, &touch("/ro/tmpfs/f")).await.exit_code, 0);
    assert_ne!(exec(&mut c, &id, &touch("/rro/f")).await.exit_code, 0);
    let r = exec(&mut c, &id, &touch("/rro/tmpfs/g")).await;
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("Read-only file system"),
        "{r:?}"
    );
    assert!(data.path().join("tmpfs/f").exists());

    // Recursive read-only needs readonly and private propagation.
    for m in [
        api::Mount {
            readonly: false,
            ..mount("/x", true)
        },
        api::Mount {
            propagation: api::MountPropagation::PropagationHostToContainer as i32,
            ..mount("/x", true)
        },
    ] {
        let mut config = container_config("bad", "true");
        config.mounts = vec![m];
        let e = create(&mut c, &pod, &pod_config, config).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    }
}
