//! The two gRPC services: each call translates its request, runs on an
//! engine ([`Cri::run`]) and translates the result back.

use std::pin::Pin;

use tonic::{Request, Response, Status};

use crate::api::image_service_server::ImageService;
use crate::api::runtime_service_server::RuntimeService;
use crate::api::*;
use crate::error::unsupported;
use crate::{containers, exec, images, sandbox, stats, Cri, CRI_VERSION};

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl RuntimeService for Cri {
    async fn version(&self, _: Request<VersionRequest>) -> Reply<VersionResponse> {
        Ok(Response::new(VersionResponse {
            // The version of the kubelet runtime API (kubelet's "0.1.0").
            version: "0.1.0".into(),
            runtime_name: "berth".into(),
            runtime_version: env!("CARGO_PKG_VERSION").into(),
            runtime_api_version: CRI_VERSION.into(),
        }))
    }

    async fn run_pod_sandbox(
        &self,
        r: Request<RunPodSandboxRequest>,
    ) -> Reply<RunPodSandboxResponse> {
        let req = r.into_inner();
        let id = self
            .run(move |e, inner| sandbox::run(e, &inner.pause_image, req))
            .await?;
        Ok(Response::new(RunPodSandboxResponse { pod_sandbox_id: id }))
    }

    async fn stop_pod_sandbox(
        &self,
        r: Request<StopPodSandboxRequest>,
    ) -> Reply<StopPodSandboxResponse> {
        let id = r.into_inner().pod_sandbox_id;
        self.run(move |e, _| sandbox::stop(e, &id)).await?;
        Ok(Response::new(StopPodSandboxResponse {}))
    }

    async fn remove_pod_sandbox(
        &self,
        r: Request<RemovePodSandboxRequest>,
    ) -> Reply<RemovePodSandboxResponse> {
        let id = r.into_inner().pod_sandbox_id;
        self.run(move |e, _| sandbox::remove(e, &id)).await?;
        Ok(Response::new(RemovePodSandboxResponse {}))
    }

    async fn pod_sandbox_status(
        &self,
        r: Request<PodSandboxStatusRequest>,
    ) -> Reply<PodSandboxStatusResponse> {
        let id = r.into_inner().pod_sandbox_id;
        Ok(Response::new(
            self.run(move |e, _| sandbox::status(e, &id)).await?,
        ))
    }

    async fn list_pod_sandbox(
        &self,
        r: Request<ListPodSandboxRequest>,
    ) -> Reply<ListPodSandboxResponse> {
        let filter = r.into_inner().filter;
        let items = self
            .run(move |e, _| sandbox::list_sandboxes(e, filter))
            .await?;
        Ok(Response::new(ListPodSandboxResponse { items }))
    }

    async fn create_container(
        &self,
        r: Request<CreateContainerRequest>,
    ) -> Reply<CreateContainerResponse> {
        let req = r.into_inner();
        let container_id = self.run(move |e, _| containers::create(e, req)).await?;
        Ok(Response::new(CreateContainerResponse { container_id }))
    }

    async fn start_container(
        &self,
        r: Request<StartContainerRequest>,
    ) -> Reply<StartContainerResponse> {
        let id = r.into_inner().container_id;
        self.run(move |e, _| containers::start(e, &id)).await?;
        Ok(Response::new(StartContainerResponse {}))
    }

    async fn stop_container(
        &self,
        r: Request<StopContainerRequest>,
    ) -> Reply<StopContainerResponse> {
        let req = r.into_inner();
        self.run(move |e, _| containers::stop(e, &req.container_id, req.timeout))
            .await?;
        Ok(Response::new(StopContainerResponse {}))
    }

    async fn remove_container(
        &self,
        r: Request<RemoveContainerRequest>,
    ) -> Reply<RemoveContainerResponse> {
        let id = r.into_inner().container_id;
        self.run(move |e, _| containers::remove(e, &id)).await?;
        Ok(Response::new(RemoveContainerResponse {}))
    }

    async fn list_containers(
        &self,
        r: Request<ListContainersRequest>,
    ) -> Reply<ListContainersResponse> {
        let filter = r.into_inner().filter;
        let containers = self.run(move |e, _| containers::list(e, filter)).await?;
        Ok(Response::new(ListContainersResponse { containers }))
    }

    async fn container_status(
        &self,
        r: Request<ContainerStatusRequest>,
    ) -> Reply<ContainerStatusResponse> {
        let id = r.into_inner().container_id;
        Ok(Response::new(
            self.run(move |e, _| containers::status(e, &id)).await?,
        ))
    }

    async fn update_container_resources(
        &self,
        r: Request<UpdateContainerResourcesRequest>,
    ) -> Reply<UpdateContainerResourcesResponse> {
        let req = r.into_inner();
        self.run(move |e, _| containers::update(e, req)).await?;
        Ok(Response::new(UpdateContainerResourcesResponse {}))
    }

    async fn reopen_container_log(
        &self,
        r: Request<ReopenContainerLogRequest>,
    ) -> Reply<ReopenContainerLogResponse> {
        let id = r.into_inner().container_id;
        self.run(move |e, _| containers::reopen_log(e, &id)).await?;
        Ok(Response::new(ReopenContainerLogResponse {}))
    }

    async fn exec_sync(&self, r: Request<ExecSyncRequest>) -> Reply<ExecSyncResponse> {
        let req = r.into_inner();
        Ok(Response::new(
            self.run(move |e, _| exec::exec_sync(e, req)).await?,
        ))
    }

    async fn exec(&self, r: Request<ExecRequest>) -> Reply<ExecResponse> {
        let url = self.streaming()?.exec(r.get_ref())?;
        Ok(Response::new(ExecResponse { url }))
    }

    async fn attach(&self, r: Request<AttachRequest>) -> Reply<AttachResponse> {
        let url = self.streaming()?.attach(r.get_ref())?;
        Ok(Response::new(AttachResponse { url }))
    }

    async fn port_forward(&self, r: Request<PortForwardRequest>) -> Reply<PortForwardResponse> {
        let url = self.streaming()?.port_forward(r.get_ref())?;
        Ok(Response::new(PortForwardResponse { url }))
    }

    async fn container_stats(
        &self,
        r: Request<ContainerStatsRequest>,
    ) -> Reply<ContainerStatsResponse> {
        let id = r.into_inner().container_id;
        Ok(Response::new(
            self.run(move |e, _| stats::container(e, &id)).await?,
        ))
    }

    async fn list_container_stats(
        &self,
        r: Request<ListContainerStatsRequest>,
    ) -> Reply<ListContainerStatsResponse> {
        let filter = r.into_inner().filter;
        let stats = self
            .run(move |e, _| stats::list_containers(e, filter))
            .await?;
        Ok(Response::new(ListContainerStatsResponse { stats }))
    }

    async fn pod_sandbox_stats(
        &self,
        r: Request<PodSandboxStatsRequest>,
    ) -> Reply<PodSandboxStatsResponse> {
        let id = r.into_inner().pod_sandbox_id;
        Ok(Response::new(
            self.run(move |e, _| stats::pod(e, &id)).await?,
        ))
    }

    async fn list_pod_sandbox_stats(
        &self,
        r: Request<ListPodSandboxStatsRequest>,
    ) -> Reply<ListPodSandboxStatsResponse> {
        let filter = r.into_inner().filter;
        let stats = self.run(move |e, _| stats::list_pods(e, filter)).await?;
        Ok(Response::new(ListPodSandboxStatsResponse { stats }))
    }

    async fn update_runtime_config(
        &self,
        r: Request<UpdateRuntimeConfigRequest>,
    ) -> Reply<UpdateRuntimeConfigResponse> {
        let cidr = r
            .into_inner()
            .runtime_config
            .and_then(|c| c.network_config)
            .map(|n| n.pod_cidr)
            .unwrap_or_default();
        if !cidr.is_empty() {
            return Err(unsupported(format!(
                "a pod CIDR from kubelet ({cidr}): pods get addresses on berth's default bridge"
            )));
        }
        Ok(Response::new(UpdateRuntimeConfigResponse {}))
    }

    async fn status(&self, _: Request<StatusRequest>) -> Reply<StatusResponse> {
        let ready = |kind: &str| RuntimeCondition {
            r#type: kind.into(),
            status: true,
            reason: String::new(),
            message: String::new(),
        };
        Ok(Response::new(StatusResponse {
            status: Some(RuntimeStatus {
                conditions: vec![ready("RuntimeReady"), ready("NetworkReady")],
            }),
            // The default handler (the only one) mounts read-only binds
            // recursively read-only on request and runs pods in user
            // namespaces (idmapped rootfs and mounts, as `--userns=auto`).
            runtime_handlers: vec![crate::api::RuntimeHandler {
                name: String::new(),
                features: Some(crate::api::RuntimeHandlerFeatures {
                    recursive_read_only_mounts: true,
                    user_namespaces: true,
                }),
            }],
            // Strict supplemental groups, and ContainerStatus's user.
            features: Some(crate::api::RuntimeFeatures {
                supplemental_groups_policy: true,
            }),
            ..Default::default()
        }))
    }

    async fn checkpoint_container(
        &self,
        _: Request<CheckpointContainerRequest>,
    ) -> Reply<CheckpointContainerResponse> {
        Err(unsupported("CheckpointContainer"))
    }

    type GetContainerEventsStream =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<ContainerEventResponse, Status>> + Send>>;

    async fn get_container_events(
        &self,
        _: Request<GetEventsRequest>,
    ) -> Reply<Self::GetContainerEventsStream> {
        Err(unsupported(
            "GetContainerEvents (kubelet's evented PLEG; it polls without it)",
        ))
    }

    async fn list_metric_descriptors(
        &self,
        _: Request<ListMetricDescriptorsRequest>,
    ) -> Reply<ListMetricDescriptorsResponse> {
        Err(unsupported("ListMetricDescriptors"))
    }

    async fn list_pod_sandbox_metrics(
        &self,
        _: Request<ListPodSandboxMetricsRequest>,
    ) -> Reply<ListPodSandboxMetricsResponse> {
        Err(unsupported("ListPodSandboxMetrics"))
    }

    async fn runtime_config(
        &self,
        _: Request<RuntimeConfigRequest>,
    ) -> Reply<RuntimeConfigResponse> {
        // berth's containers' cgroups are made by the OCI runtime under its
        // default (cgroupfs) parent.
        Ok(Response::new(RuntimeConfigResponse {
            linux: Some(LinuxRuntimeConfiguration {
                cgroup_driver: CgroupDriver::Cgroupfs as i32,
            }),
        }))
    }
}

#[tonic::async_trait]
impl ImageService for Cri {
    async fn list_images(&self, r: Request<ListImagesRequest>) -> Reply<ListImagesResponse> {
        let filter = r.into_inner().filter;
        let images = self.run(move |e, _| images::list(e, filter)).await?;
        Ok(Response::new(ListImagesResponse { images }))
    }

    async fn image_status(&self, r: Request<ImageStatusRequest>) -> Reply<ImageStatusResponse> {
        let spec = r.into_inner().image;
        let image = self.run(move |e, _| images::status(e, spec)).await?;
        Ok(Response::new(ImageStatusResponse {
            image,
            info: Default::default(),
        }))
    }

    async fn pull_image(&self, r: Request<PullImageRequest>) -> Reply<PullImageResponse> {
        let req = r.into_inner();
        let name = req.image.map(|i| i.image).unwrap_or_default();
        if name.is_empty() {
            return Err(crate::error::invalid("PullImage needs an image"));
        }
        let image_ref = self
            .run(move |e, _| images::pull(e, &name, req.auth.as_ref()))
            .await?;
        Ok(Response::new(PullImageResponse { image_ref }))
    }

    async fn remove_image(&self, r: Request<RemoveImageRequest>) -> Reply<RemoveImageResponse> {
        let spec = r.into_inner().image;
        self.run(move |e, _| images::remove(e, spec)).await?;
        Ok(Response::new(RemoveImageResponse {}))
    }

    async fn image_fs_info(&self, _: Request<ImageFsInfoRequest>) -> Reply<ImageFsInfoResponse> {
        Ok(Response::new(self.run(|e, _| images::fs_info(e)).await?))
    }
}
