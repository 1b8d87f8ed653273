//! The CRI calls the tests make, with their errors turned into panics
//! where a test only needs the result.

use berth_cri::api;

use super::Client;

pub async fn exec(c: &mut Client, id: &str, cmd: &[&str]) -> api::ExecSyncResponse {
    c.runtime
        .exec_sync(api::ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: 10,
        })
        .await
        .expect("ExecSync")
        .into_inner()
}

pub async fn exec_out(c: &mut Client, id: &str, cmd: &[&str]) -> String {
    let r = exec(c, id, cmd).await;
    assert_eq!(
        r.exit_code,
        0,
        "{cmd:?}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    String::from_utf8_lossy(&r.stdout).trim().to_string()
}

pub async fn run_pod(c: &mut Client, config: api::PodSandboxConfig) -> String {
    c.runtime
        .run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: String::new(),
        })
        .await
        .expect("RunPodSandbox")
        .into_inner()
        .pod_sandbox_id
}

pub async fn create(
    c: &mut Client,
    pod: &str,
    pod_config: &api::PodSandboxConfig,
    config: api::ContainerConfig,
) -> Result<String, tonic::Status> {
    c.runtime
        .create_container(api::CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(config),
            sandbox_config: Some(pod_config.clone()),
        })
        .await
        .map(|r| r.into_inner().container_id)
}

pub async fn start(c: &mut Client, id: &str) {
    c.runtime
        .start_container(api::StartContainerRequest {
            container_id: id.into(),
        })
        .await
        .expect("StartContainer");
}

pub async fn container_status(
    c: &mut Client,
    id: &str,
) -> Result<api::ContainerStatus, tonic::Status> {
    c.runtime
        .container_status(api::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        })
        .await
        .map(|r| r.into_inner().status.expect("a status"))
}

pub async fn pods(c: &mut Client) -> Vec<api::PodSandbox> {
    c.runtime
        .list_pod_sandbox(api::ListPodSandboxRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .items
}
