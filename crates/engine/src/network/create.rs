//! `network create`.

use berth_network::{CreateOptions, Network};

use crate::{Engine, Result};

impl Engine {
    /// Creates a user network (bridge driver); nothing exists on the host
    /// until a container joins it.
    pub fn network_create(&mut self, request: CreateOptions) -> Result<Network> {
        Ok(berth_network::create(&mut self.store, request)?)
    }
}
