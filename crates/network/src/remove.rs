//! `network rm` and `network prune`: the row goes with the network's bridge
//! and rules (see `bridges`).

use berth_store::Store;

use crate::networks::{find, Network};
use crate::{bridges, events, NetworkError, Result};

/// `network rm`: refused for built-in networks and while containers run on it.
pub fn remove(store: &mut Store, reference: &str) -> Result<Network> {
    store.write(|tx| {
        let n = find(tx, reference)?;
        if n.is_builtin() {
            return Err(NetworkError::Conflict(format!(
                "{} is a pre-defined network and cannot be removed",
                n.name
            )));
        }
        let active: i64 = tx.query_row(
            "SELECT count(*) FROM endpoints WHERE network_id = ?1",
            [&n.id],
            |r| r.get(0),
        )?;
        if active > 0 {
            return Err(NetworkError::Conflict(format!(
                "error while removing network: network {} id {} has active endpoints",
                n.name, n.id
            )));
        }
        // The bridge and its rules go first: on failure the row stays.
        bridges::release(&n)?;
        tx.execute("DELETE FROM networks WHERE id = ?1", [&n.id])?;
        events::network(tx, "destroy", n.about(), None)?;
        berth_store::crash::point("network-rm", "before-commit");
        Ok(n)
    })
}

/// `network prune`: removes the user networks no container refers to (by its
/// network mode or a `network connect`) and none runs on, of those `select`
/// accepts. Returns their names.
pub fn prune(store: &mut Store, select: &dyn Fn(&Network) -> bool) -> Result<Vec<String>> {
    store.write(|tx| {
        let mut stmt = tx.prepare(
            "SELECT n.id FROM networks n \
             WHERE n.name NOT IN ('bridge', 'host', 'none') \
             AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.network_id = n.id) \
             AND NOT EXISTS (SELECT 1 FROM container_networks c WHERE c.network_id = n.id AND c.connected) \
             AND NOT EXISTS (SELECT 1 FROM containers c \
                 WHERE json_extract(c.config, '$.Host.NetworkMode') IN (n.name, n.id)) \
             ORDER BY n.name",
        )?;
        let unused: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut pruned = Vec::new();
        for id in &unused {
            let n = find(tx, id)?;
            if !select(&n) {
                continue;
            }
            bridges::release(&n)?;
            tx.execute("DELETE FROM networks WHERE id = ?1", [id])?;
            events::network(tx, "destroy", n.about(), None)?;
            pruned.push(n.name);
        }
        Ok(pruned)
    })
}
