//! Events: what happened, as the store's event log recorded it
//! (`berth_store::events`), replayed from a point in time and followed live,
//! filtered as dockerd filters them. Any process's actions are seen: the
//! CLI's, the monitors', `berth serve`'s.

use std::time::{Duration, Instant};

pub use berth_store::events::{Event, EventType};

use crate::container::list::LabelMatch;
use crate::{Engine, Result};

/// How often a follower looks for new events.
const POLL: Duration = Duration::from_millis(50);

/// Docker's event filters: keys ANDed, values of one key ORed (`label`
/// values all required).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    types: Vec<String>,
    actions: Vec<String>,
    containers: Vec<String>,
    images: Vec<String>,
    volumes: Vec<String>,
    networks: Vec<String>,
    labels: Vec<LabelMatch>,
    /// Keys for objects berth has none of (plugins, services, nodes,
    /// secrets, configs): such a filter matches nothing.
    absent: bool,
}

impl EventFilter {
    /// Parses `key=value` filters. dockerd accepts any key without
    /// complaint; so does berth, and an unknown key matches nothing.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> EventFilter {
        let mut f = EventFilter::default();
        for (key, value) in pairs {
            let value = value.to_string();
            match key {
                "type" => f.types.push(value),
                "event" => f.actions.push(value),
                "container" => f.containers.push(value),
                "image" => f.images.push(value),
                "volume" => f.volumes.push(value),
                "network" => f.networks.push(value),
                "label" => f.labels.push(LabelMatch::parse(&value)),
                // Everything berth does is local and on this daemon.
                "scope" if value == "local" => {}
                "daemon" => {}
                _ => f.absent = true,
            }
        }
        f
    }

    /// moby's `events.Filter.Include`.
    pub fn matches(&self, e: &Event) -> bool {
        if self.absent {
            return false;
        }
        let name = e.attributes.get("name").map(String::as_str).unwrap_or("");
        // Docker's FuzzyMatch: the value, or a prefix of it.
        let fuzzy = |values: &[String], kind: EventType| {
            values.is_empty()
                || (e.kind == kind
                    && values
                        .iter()
                        .any(|v| e.actor.starts_with(v.as_str()) || name.starts_with(v.as_str())))
        };
        // An action such as "exec_start: sh -c x" matches "exec_start", and
        // "health_status: healthy" both itself and "health_status".
        let action = e.action.split(':').next().unwrap_or("");
        let image_name = if e.kind == EventType::Image {
            name
        } else {
            e.attributes.get("image").map(String::as_str).unwrap_or("")
        };
        let strip_tag = |s: &str| -> String {
            match s.rsplit_once(':') {
                Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
                _ => s.to_string(),
            }
        };
        (self.types.is_empty() || self.types.iter().any(|t| t == e.kind.as_str()))
            && (self.actions.is_empty()
                || self.actions.iter().any(|a| a == action || *a == e.action))
            && fuzzy(&self.containers, EventType::Container)
            && fuzzy(&self.volumes, EventType::Volume)
            && fuzzy(&self.networks, EventType::Network)
            && (self.images.is_empty()
                || self.images.iter().any(|i| {
                    i == &e.actor
                        || i == image_name
                        || *i == strip_tag(&e.actor)
                        || *i == strip_tag(image_name)
                }))
            && self.labels.iter().all(|l| l.matches(&e.attributes))
    }
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct EventsRequest {
    /// Replay events from this time (nanoseconds since the epoch); `None`:
    /// only what happens from now on.
    pub since: Option<i64>,
    /// Stop at this time; `None`: follow until the reader stops reading.
    pub until: Option<i64>,
    pub filter: EventFilter,
}

/// A stream of events: the recorded ones first, then the new ones as they
/// are recorded.
pub struct EventStream {
    engine: Engine,
    after: i64,
    since: Option<i64>,
    until: Option<i64>,
    filter: EventFilter,
    pending: std::collections::VecDeque<Event>,
}

impl EventStream {
    /// The next matching event, waiting up to `patience` for one
    /// ([`Next::Idle`] then: a caller that must notice its client going
    /// away calls again in between); [`Next::End`] once `until` has passed.
    pub fn next_within(&mut self, patience: Duration) -> Result<Next> {
        let deadline = Instant::now() + patience;
        loop {
            while let Some(e) = self.pending.pop_front() {
                if self.until.is_some_and(|u| e.time_nano > u) {
                    return Ok(Next::End);
                }
                if self.since.is_some_and(|s| e.time_nano < s) || !self.filter.matches(&e) {
                    continue;
                }
                return Ok(Next::Event(e));
            }
            let batch = berth_store::events::after(self.engine.store.db(), self.after, 256)?;
            if let Some(last) = batch.last() {
                self.after = last.seq;
                self.pending.extend(batch);
                continue;
            }
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
            if self.until.is_some_and(|u| now > u) {
                return Ok(Next::End);
            }
            if Instant::now() >= deadline {
                return Ok(Next::Idle);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// What [`EventStream::next_within`] found.
#[derive(Debug)]
pub enum Next {
    Event(Event),
    /// Nothing yet: call again.
    Idle,
    /// `until` has passed.
    End,
}

impl Engine {
    /// `events`: replays recorded events from `since` (if given) and
    /// follows new ones until `until` (if given). The stream owns this
    /// engine.
    pub fn events(self, req: EventsRequest) -> Result<EventStream> {
        let after = if req.since.is_some() {
            0
        } else {
            berth_store::events::last_seq(self.store.db())?
        };
        Ok(EventStream {
            engine: self,
            after,
            since: req.since,
            until: req.until,
            filter: req.filter,
            pending: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn event(kind: EventType, action: &str, actor: &str, attrs: &[(&str, &str)]) -> Event {
        Event {
            seq: 1,
            time_nano: 0,
            kind,
            action: action.into(),
            actor: actor.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn filters_follow_mobys() {
        let start = event(
            EventType::Container,
            "start",
            "abcdef",
            &[("name", "web"), ("image", "busybox:latest"), ("x", "y")],
        );
        let exec = event(
            EventType::Container,
            "exec_start: sh -c true",
            "abcdef",
            &[("name", "web")],
        );
        let tag = event(
            EventType::Image,
            "tag",
            "sha256:1234",
            &[("name", "busybox:latest")],
        );
        let f = |pairs: &[(&str, &str)]| EventFilter::parse(pairs.iter().copied());
        assert!(f(&[]).matches(&start));
        assert!(f(&[("container", "web")]).matches(&start));
        assert!(f(&[("container", "abc")]).matches(&start));
        assert!(!f(&[("container", "web")]).matches(&tag));
        assert!(f(&[("event", "exec_start")]).matches(&exec));
        assert!(f(&[("event", "start"), ("event", "die")]).matches(&start));
        assert!(!f(&[("event", "start"), ("type", "image")]).matches(&start));
        assert!(f(&[("image", "busybox")]).matches(&start));
        assert!(f(&[("image", "busybox")]).matches(&tag));
        assert!(f(&[("label", "x=y")]).matches(&start));
        assert!(!f(&[("label", "x=y"), ("label", "z")]).matches(&start));
        assert!(!f(&[("plugin", "p")]).matches(&start));
    }
}
