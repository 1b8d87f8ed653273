//! Docker's container list filters (`ps -f`, `GET /containers/json?filters=`),
//! shared by the CLI and the API. Values of one key are ORed by the caller,
//! different keys ANDed.

use berth_store::Store;

use berth_container::model::{Container, Status};

/// Filter keys berth understands (others are an error for the caller to report).
pub const KEYS: &[&str] = &[
    "status", "name", "id", "label", "ancestor", "volume", "exited", "network", "is-task",
];

/// Whether `c` passes the filter `key=value`.
pub fn matches(store: &Store, c: &Container, key: &str, value: &str) -> bool {
    match key {
        "status" => c.state.status.as_str() == value,
        "name" => c.name.contains(value.trim_start_matches('/')),
        "id" => c.id.starts_with(value),
        "label" => match value.split_once('=') {
            Some((k, v)) => c.spec.labels.get(k).is_some_and(|x| x == v),
            None => c.spec.labels.contains_key(value),
        },
        "ancestor" => {
            c.image_ref == value
                || c.image_id == value
                || c.image_id.trim_start_matches("sha256:").starts_with(value)
                || berth_image::resolve(store, value).is_ok_and(|i| i.id == c.image_id)
        }
        "volume" => {
            c.spec.mounts.iter().any(|m| {
                m.name == value || m.destination == value || m.source.to_str() == Some(value)
            })
        }
        "exited" => c.state.status == Status::Exited && value.parse() == Ok(c.state.exit_code),
        "network" => c.spec.host.network_mode == value,
        // Swarm tasks do not exist in berth.
        "is-task" => value == "false",
        _ => true,
    }
}
