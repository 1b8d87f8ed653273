//! `network rm`.

use berth_network::Network;

use crate::{Engine, Result};

impl Engine {
    /// Removes a user network no container runs on; returns it.
    pub fn network_remove(&mut self, reference: &str) -> Result<Network> {
        Ok(berth_network::remove(&mut self.store, reference)?)
    }
}
