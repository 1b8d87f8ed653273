//! `network prune`.

use crate::network::NetworkPruneFilter;
use crate::{Engine, Result};

impl Engine {
    /// Removes the user networks no container refers to and `filter`
    /// selects; returns their names.
    pub fn network_prune(&mut self, filter: &NetworkPruneFilter) -> Result<Vec<String>> {
        Ok(berth_network::prune(&mut self.store, &|n| {
            filter.labels.matches(&n.labels)
        })?)
    }
}
