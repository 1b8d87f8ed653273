//! A connection to a port on a running container's loopback, made inside
//! its network namespace (the CRI's PortForward of a pod).

use std::net::TcpStream;

use berth_container::model::{self, Status};
use berth_container::ContainerError;
use berth_network::{Mode, Namespace};

use super::reconcile::lookup;
use crate::Engine;

impl Engine {
    /// Connects to 127.0.0.1:`port` in the network namespace of the
    /// running container `reference` (following `container:` modes; the
    /// host's for `--network host`).
    pub fn container_connect_port(
        &mut self,
        reference: &str,
        port: u16,
    ) -> crate::Result<TcpStream> {
        let mut c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        for _ in 0..8 {
            if !matches!(c.state.status, Status::Running | Status::Paused) {
                return Err(
                    ContainerError::Conflict(format!("container {} is not running", c.id)).into(),
                );
            }
            let namespace = match Mode::parse(&c.spec.host.network_mode) {
                Mode::Host => Namespace::Host,
                Mode::Container(next) => {
                    c = model::find(&self.store, &next)?;
                    continue;
                }
                _ => Namespace::of_container(&self.config.run_dir, &c.id).ok_or_else(|| {
                    ContainerError::Conflict(format!("container {} has no network namespace", c.id))
                })?,
            };
            return namespace.connect_loopback(port).map_err(|e| {
                ContainerError::Conflict(format!(
                    "cannot connect to port {port} of container {}: {e}",
                    c.id
                ))
                .into()
            });
        }
        Err(ContainerError::Conflict(format!(
            "container {reference}: too many shared network namespaces"
        ))
        .into())
    }
}
