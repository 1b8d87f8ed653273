//! `network connect` and `network disconnect`.

use berth_container::model::{Container, Paths};
use berth_error::{ErrorKind, HasKind};
use berth_network::{EndpointSettings, Member, NetworkError};

use crate::container::lifecycle;
use crate::{Engine, Result};

impl Engine {
    /// Connects a container (running or not) to a network with what its
    /// endpoint there is asked to have (`--alias`, `--ip`, `--ip6`,
    /// `--link-local-ip`, `--link`, a MAC address, driver options); a
    /// running one gets its interface right away, and resolves names (its
    /// links' aliases included) through its own resolver from then on.
    pub fn network_connect(
        &mut self,
        network: &str,
        container: &str,
        settings: &EndpointSettings,
    ) -> Result<()> {
        let c = self.network_member(container)?;
        berth_network::connect(
            &mut self.store,
            &self.config.run_dir,
            network,
            &member(&c),
            settings,
        )?;
        self.use_network_dns(&c.id)
    }

    /// Disconnects a container from a network (a running one loses its
    /// interface on it right away). `force` (`-f`): the attachment goes
    /// even when removing the interface failed.
    pub fn network_disconnect(
        &mut self,
        network: &str,
        container: &str,
        force: bool,
    ) -> Result<()> {
        let c = self.network_member(container)?;
        Ok(berth_network::disconnect(
            &mut self.store,
            &self.config.run_dir,
            network,
            &member(&c),
            force,
        )?)
    }

    /// Undoes the `network connect`s killed before their interface was
    /// plugged (`berth_network::undo_connect`). Best effort: one that
    /// cannot be undone now keeps its flag for the next command.
    pub(crate) fn undo_killed_connects(&mut self) {
        for kind in self
            .store
            .unfinished_with_prefix(berth_network::CONNECT_MARK)
        {
            let undone = match kind.split_once('.') {
                Some((container, network)) => self.undo_killed_connect(container, network),
                None => Ok(()),
            };
            if undone.is_ok() {
                self.store
                    .finished(&format!("{}{kind}", berth_network::CONNECT_MARK));
            }
        }
    }

    fn undo_killed_connect(&mut self, container: &str, network: &str) -> Result<()> {
        let c = match self.network_member(container) {
            Ok(c) => c,
            // Removed since, and its endpoints and leases with it.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let run_dir = &self.config.run_dir;
        Ok(berth_network::undo_connect(
            &mut self.store,
            run_dir,
            network,
            &member(&c),
        )?)
    }

    fn network_member(&mut self, container: &str) -> Result<Container> {
        Ok(lifecycle::lookup(
            &mut self.store,
            &self.config.run_dir,
            container,
        )?)
    }

    /// Once a running container is on a network with name resolution, its
    /// resolv.conf names its own resolver (as Docker switches to its
    /// embedded DNS), which answers its links and its networks' names and
    /// forwards other names to the host's servers.
    fn use_network_dns(&self, id: &str) -> Result<()> {
        let endpoints = berth_network::endpoints_of_container(self.store.db(), id)?;
        let nameservers = berth_network::dns_nameservers(&endpoints);
        if nameservers.is_empty() {
            return Ok(());
        }
        // Its monitor starts its resolver unless it runs already (only
        // containers on such a network have one).
        let paths = Paths::of(&self.store, id);
        let socket = &paths.attach_socket;
        match crate::monitor::client::start_resolver(socket) {
            Ok(None) => {}
            Ok(Some(failure)) => return Err(NetworkError::Resolver(failure).into()),
            Err(e) => return Err(NetworkError::io(socket, e).into()),
        }
        let path = paths.resolv_conf;
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
        endpoint: &host.endpoint,
        dns_servers: &host.dns,
    }
}
