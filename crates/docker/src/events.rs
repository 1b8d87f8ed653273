//! Events as Docker shows them: the Engine API's JSON message and the docker
//! CLI's line.

use berth_engine::events::{Event, EventType};
use serde_json::{json, Value};

/// The `/events` message. Docker quirk: container and image events keep the
/// pre-1.22 fields `status`, `id` and `from` (first, as dockerd writes them),
/// which the docker CLI still prints.
pub fn message(e: &Event) -> Value {
    let mut v = serde_json::Map::new();
    if matches!(e.kind, EventType::Container | EventType::Image) {
        v.insert("status".into(), json!(e.action));
        v.insert("id".into(), json!(e.actor));
        if let Some(image) = e.attributes.get("image") {
            v.insert("from".into(), json!(image));
        }
    }
    v.insert("Type".into(), json!(e.kind.as_str()));
    v.insert("Action".into(), json!(e.action));
    v.insert(
        "Actor".into(),
        json!({"ID": e.actor, "Attributes": e.attributes}),
    );
    v.insert("scope".into(), json!("local"));
    v.insert("time".into(), json!(e.time_nano.div_euclid(1_000_000_000)));
    v.insert("timeNano".into(), json!(e.time_nano));
    Value::Object(v)
}

/// The docker CLI's line: `TIME TYPE ACTION ID (k=v, ...)`.
pub fn line(e: &Event) -> String {
    let time = chrono_time(e.time_nano);
    let attrs = e
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if attrs.is_empty() {
        format!("{time} {} {} {}", e.kind.as_str(), e.action, e.actor)
    } else {
        format!(
            "{time} {} {} {} ({attrs})",
            e.kind.as_str(),
            e.action,
            e.actor
        )
    }
}

/// The docker CLI's `RFC3339NanoFixed` (nine digits, always), in UTC.
fn chrono_time(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}
