//! The image events Docker reports, appended in the transaction of the
//! change (see `berth_store::events`): `tag`, `untag`, `delete`, `import`,
//! `load`, `pull`, and the container's `commit`.

use std::collections::BTreeMap;

use berth_store::events::{append, EventType, NewEvent};
use berth_store::rusqlite::Connection;

/// Appends an image event about `actor` with Docker's `name` attribute.
pub(crate) fn image(
    tx: &Connection,
    action: &str,
    actor: &str,
    name: &str,
) -> berth_store::rusqlite::Result<()> {
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_string(), name.to_string());
    append(
        tx,
        &NewEvent {
            kind: EventType::Image,
            action,
            actor,
            attributes,
        },
    )
}

/// Docker's container `commit` event: the container, and the image made.
pub(crate) fn commit(
    tx: &Connection,
    container: &str,
    image: &str,
) -> berth_store::rusqlite::Result<()> {
    let mut attributes = BTreeMap::new();
    attributes.insert("imageID".to_string(), image.to_string());
    append(
        tx,
        &NewEvent {
            kind: EventType::Container,
            action: "commit",
            actor: container,
            attributes,
        },
    )
}
