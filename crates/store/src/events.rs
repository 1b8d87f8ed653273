//! The event log: what happened to containers, images, volumes and networks,
//! in the order it happened, whichever process did it (a CLI command, a
//! monitor, `berth serve`).
//!
//! An event is appended inside the write transaction that makes the change it
//! reports, so the log and the state never disagree: a change that rolls back
//! leaves no event, and a committed one always has its event. The log keeps
//! the last [`KEEP`] events; readers follow it by sequence number
//! ([`after`]), which is how `berth events` and `GET /events` stream what
//! other processes do.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

/// How many events the log keeps (Docker's daemon keeps 256 in memory; a
/// persistent log can afford more, so `--since` reaches further back).
pub const KEEP: i64 = 10_000;

/// What an event is about (Docker's `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Container,
    Image,
    Volume,
    Network,
    Builder,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Container => "container",
            EventType::Image => "image",
            EventType::Volume => "volume",
            EventType::Network => "network",
            EventType::Builder => "builder",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        Some(match s {
            "container" => EventType::Container,
            "image" => EventType::Image,
            "volume" => EventType::Volume,
            "network" => EventType::Network,
            "builder" => EventType::Builder,
            _ => return None,
        })
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the log; strictly increasing.
    pub seq: i64,
    /// Nanoseconds since the Unix epoch.
    pub time_nano: i64,
    pub kind: EventType,
    /// Docker's action: `create`, `start`, `die`, `exec_create: sh -c x`, ...
    pub action: String,
    /// The object's ID (a volume's or network's name for volumes).
    pub actor: String,
    /// Docker's `Actor.Attributes`: name, image, labels, exitCode, ...
    pub attributes: BTreeMap<String, String>,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub kind: EventType,
    pub action: &'a str,
    pub actor: &'a str,
    pub attributes: BTreeMap<String, String>,
}

/// Appends an event; call it inside the transaction that makes the change.
pub fn append(tx: &Connection, event: &NewEvent) -> rusqlite::Result<()> {
    let time_nano = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let attributes = serde_json::to_string(&event.attributes).unwrap_or_else(|_| "{}".into());
    tx.execute(
        "INSERT INTO events (time_nano, type, action, actor, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![time_nano, event.kind.as_str(), event.action, event.actor, attributes],
    )?;
    let seq = tx.last_insert_rowid();
    // Bounded: now and then, drop what fell out of the window.
    if seq % 256 == 0 {
        tx.execute("DELETE FROM events WHERE seq <= ?1", [seq - KEEP])?;
    }
    Ok(())
}

/// Events after sequence number `after` (0 for the whole log), oldest first,
/// at most `limit`.
pub fn after(db: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<Event>> {
    let mut stmt = db.prepare_cached(
        "SELECT seq, time_nano, type, action, actor, attributes FROM events \
         WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        let kind: String = r.get(2)?;
        let attributes: String = r.get(5)?;
        Ok(Event {
            seq: r.get(0)?,
            time_nano: r.get(1)?,
            kind: EventType::parse(&kind).unwrap_or(EventType::Container),
            action: r.get(3)?,
            actor: r.get(4)?,
            attributes: serde_json::from_str(&attributes).unwrap_or_default(),
        })
    })?;
    rows.collect()
}

/// The sequence number of the newest event (0 when the log is empty): where a
/// reader that wants only what happens from now on starts.
pub fn last_seq(db: &Connection) -> rusqlite::Result<i64> {
    db.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_back_in_order_and_the_log_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::Store::open(dir.path()).unwrap();
        assert_eq!(last_seq(store.db()).unwrap(), 0);
        let attrs: BTreeMap<String, String> =
            [("name".to_string(), "web \"1\"".to_string())].into();
        store
            .write(|tx| {
                for action in ["create", "start"] {
                    append(
                        tx,
                        &NewEvent {
                            kind: EventType::Container,
                            action,
                            actor: "abc",
                            attributes: attrs.clone(),
                        },
                    )?;
                }
                Ok::<_, rusqlite::Error>(())
            })
            .unwrap();
        let all = after(store.db(), 0, 100).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].action, "create");
        assert_eq!(all[1].action, "start");
        assert_eq!(all[1].attributes, attrs);
        assert!(all[0].seq < all[1].seq);
        assert_eq!(after(store.db(), all[0].seq, 100).unwrap().len(), 1);
        // A rolled back change leaves no event.
        let _ = store.write(|tx| {
            append(
                tx,
                &NewEvent {
                    kind: EventType::Volume,
                    action: "create",
                    actor: "v",
                    attributes: BTreeMap::new(),
                },
            )?;
            Err::<(), _>(rusqlite::Error::QueryReturnedNoRows)
        });
        assert_eq!(after(store.db(), 0, 100).unwrap().len(), 2);
        // Past KEEP events, the oldest go.
        store
            .write(|tx| {
                for _ in 0..(KEEP + 300) {
                    append(
                        tx,
                        &NewEvent {
                            kind: EventType::Image,
                            action: "tag",
                            actor: "i",
                            attributes: BTreeMap::new(),
                        },
                    )?;
                }
                Ok::<_, rusqlite::Error>(())
            })
            .unwrap();
        let n: i64 = store
            .db()
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert!(n <= KEEP + 256, "{n} events kept");
        assert!(n >= KEEP);
    }
}
