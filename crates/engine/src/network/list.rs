//! `network ls`.

use crate::filters::name_match;
use crate::network::{NetworkDetails, NetworkFilter};
use crate::{Engine, Result};

impl Engine {
    /// The networks `filter` selects, by name, with their running endpoints.
    pub fn network_list(&self, filter: &NetworkFilter) -> Result<Vec<NetworkDetails>> {
        let mut out = Vec::new();
        for n in berth_network::list(self.store.db())? {
            let builtin = n.is_builtin();
            if (!filter.drivers.is_empty() && !filter.drivers.contains(&n.driver))
                || (!filter.names.is_empty() && !name_match(&filter.names, &n.name))
                || (!filter.ids.is_empty() && !name_match(&filter.ids, &n.id))
                || !filter.labels.matches(&n.labels)
                || (!filter.scopes.is_empty() && !filter.scopes.iter().any(|s| s == "local"))
                || filter.builtin.is_some_and(|b| b != builtin)
            {
                continue;
            }
            let details = self.network_details(n)?;
            // Docker: the predefined networks are never dangling.
            let used = builtin || !details.endpoints.is_empty();
            if filter.dangling.is_some_and(|dangling| dangling == used) {
                continue;
            }
            out.push(details);
        }
        Ok(out)
    }
}
