//! `network connect` and `network disconnect`.

use berth_container::model::{Container, Paths};
use berth_network::{Member, NetworkError};

use crate::container::lifecycle;
use crate::{Engine, Result};

/// What `network connect` asks for besides the network and the container.
#[derive(Debug, Clone, Default)]
pub struct NetworkConnect {
    /// `--alias`: names the container has on that network.
    pub aliases: Vec<String>,
    /// `--ip`; "" for any free address.
    pub ipv4: String,
}

impl Engine {
    /// Connects a container (running or not) to a network; a running one
    /// gets its interface right away, and resolves names through the
    /// network's resolver from then on.
    pub fn network_connect(
        &mut self,
        network: &str,
        container: &str,
        request: &NetworkConnect,
    ) -> Result<()> {
        let c = self.network_member(container)?;
        berth_network::connect(
            &mut self.store,
            network,
            &member(&c),
            &request.aliases,
            &request.ipv4,
        )?;
        self.use_network_dns(&c.id)
    }

    /// Disconnects a container from a network (a running one loses its
    /// interface on it right away).
    pub fn network_disconnect(&mut self, network: &str, container: &str) -> Result<()> {
        let c = self.network_member(container)?;
        Ok(berth_network::disconnect(
            &mut self.store,
            network,
            &member(&c),
        )?)
    }

    fn network_member(&mut self, container: &str) -> Result<Container> {
        Ok(lifecycle::lookup(&mut self.store, container)?)
    }

    /// Once a running container is on a network with name resolution, its
    /// resolv.conf points at that network's resolver (as Docker switches to
    /// its embedded DNS); aardvark-dns forwards other names to the host's
    /// servers.
    fn use_network_dns(&self, id: &str) -> Result<()> {
        let nameservers: Vec<std::net::Ipv4Addr> =
            berth_network::endpoints_of_container(self.store.db(), id)?
                .iter()
                .filter(|e| e.network.dns)
                .filter_map(|e| e.gateway())
                .collect();
        if nameservers.is_empty() {
            return Ok(());
        }
        let path = Paths::of(&self.store, id).resolv_conf;
        let io = |e: std::io::Error| NetworkError::io(&path, e);
        let base = std::fs::read_to_string(&path).map_err(io)?;
        // Rewritten in place: the container sees the file through a bind mount.
        std::fs::write(&path, berth_network::resolv_conf(&base, &nameservers)).map_err(io)?;
        Ok(())
    }
}

/// The container as `network connect`/`disconnect` see it.
fn member(c: &Container) -> Member<'_> {
    let host = &c.spec.host;
    Member {
        container_id: &c.id,
        container_name: &c.name,
        network_mode: &host.network_mode,
        aliases: &host.network_aliases,
        ipv4: &host.ipv4_address,
        dns_servers: &host.dns,
    }
}
