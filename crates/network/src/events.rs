//! The network events Docker reports (`create`, `destroy`, `connect`,
//! `disconnect`), appended in the transaction of the change.

use std::collections::BTreeMap;

use berth_store::events::{append, EventType, NewEvent};
use berth_store::rusqlite::Connection;

/// The network an event is about.
pub(crate) struct About<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub driver: &'a str,
}

/// Appends `action` about network `n`; `container` for connect/disconnect.
pub(crate) fn network(
    tx: &Connection,
    action: &str,
    n: About<'_>,
    container: Option<&str>,
) -> berth_store::rusqlite::Result<()> {
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_string(), n.name.to_string());
    attributes.insert("type".to_string(), n.driver.to_string());
    if let Some(c) = container {
        attributes.insert("container".to_string(), c.to_string());
    }
    append(
        tx,
        &NewEvent {
            kind: EventType::Network,
            action,
            actor: n.id,
            attributes,
        },
    )
}
