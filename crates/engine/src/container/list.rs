//! `ps` / `GET /containers/json`: containers, newest first, filtered as
//! dockerd filters them.
//!
//! Docker's rule for filters: different keys are ANDed; values of one key
//! are ORed — except `label`, whose values must all match (moby's
//! `MatchKVList`), which is how compose finds the containers of one service
//! of one project.

use berth_container::{Container, Status};
use berth_store::Store;
use regex::Regex;

use crate::container::details::{self, ContainerDetails, Detail};
use crate::{Engine, Error, ErrorKind, Result};

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Include stopped containers (`-a`); a `status` filter or a limit
    /// implies it, as in Docker.
    pub all: bool,
    /// At most this many, newest first (`-n`, `-l`).
    pub limit: Option<usize>,
    /// Compute each container's size (`-s`).
    pub size: bool,
    pub filter: ContainerFilter,
}

/// A label condition: the key present, or the key with this value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatch {
    pub key: String,
    pub value: Option<String>,
}

impl LabelMatch {
    pub fn parse(s: &str) -> LabelMatch {
        match s.split_once('=') {
            Some((k, v)) => LabelMatch {
                key: k.to_string(),
                value: Some(v.to_string()),
            },
            None => LabelMatch {
                key: s.to_string(),
                value: None,
            },
        }
    }

    pub fn matches(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        match (labels.get(&self.key), &self.value) {
            (Some(v), Some(want)) => v == want,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// Docker's container filters, parsed and checked.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    ids: Vec<Regex>,
    names: Vec<Regex>,
    labels: Vec<LabelMatch>,
    statuses: Vec<Status>,
    exited: Vec<i32>,
    ancestors: Vec<String>,
    volumes: Vec<String>,
    networks: Vec<String>,
    exposed: Vec<PortRange>,
    published: Vec<PortRange>,
    health: Vec<String>,
    before: Option<String>,
    since: Option<String>,
    is_task: Option<bool>,
}

/// `80`, `80/udp`, `8000-8010/tcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PortRange {
    first: u16,
    last: u16,
    /// `None`: any protocol (Docker's default is tcp when given alone).
    tcp: bool,
}

impl PortRange {
    fn parse(s: &str) -> Option<PortRange> {
        let (ports, proto) = s.split_once('/').unwrap_or((s, "tcp"));
        let (first, last) = ports.split_once('-').unwrap_or((ports, ports));
        let (first, last) = (first.parse().ok()?, last.parse().ok()?);
        (first <= last && matches!(proto, "tcp" | "udp")).then_some(PortRange {
            first,
            last,
            tcp: proto == "tcp",
        })
    }

    /// Matches a port key as `80/tcp`.
    fn contains(&self, key: &str) -> bool {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        port.parse::<u16>()
            .is_ok_and(|p| p >= self.first && p <= self.last && (proto == "tcp") == self.tcp)
    }
}

fn status_named(name: &str) -> Option<Status> {
    [
        Status::Created,
        Status::Running,
        Status::Paused,
        Status::Restarting,
        Status::Removing,
        Status::Exited,
        Status::Dead,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
}

fn invalid(message: String) -> Error {
    Error::refused(ErrorKind::InvalidArgument, message)
}

/// dockerd's `filters.Match`: the value itself, or a regular expression
/// (unanchored) over the field.
fn pattern(value: &str) -> Regex {
    Regex::new(value).unwrap_or_else(|_| {
        Regex::new(&regex::escape(value)).unwrap_or_else(|_| Regex::new("$^").unwrap())
    })
}

impl ContainerFilter {
    /// Parses `key=value` filters (the CLI's `-f`, the API's `filters` JSON
    /// flattened), with dockerd's refusals.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ContainerFilter> {
        let mut f = ContainerFilter::default();
        for (key, value) in pairs {
            match key {
                "id" => f.ids.push(pattern(value)),
                "name" => f.names.push(pattern(value)),
                "label" => f.labels.push(LabelMatch::parse(value)),
                "status" => f.statuses.push(
                    status_named(value)
                        .ok_or_else(|| invalid(format!("Invalid filter 'status={value}'")))?,
                ),
                "exited" => f.exited.push(value.parse().map_err(|_| {
                    invalid(format!("strconv.Atoi: parsing \"{value}\": invalid syntax"))
                })?),
                "ancestor" => f.ancestors.push(value.to_string()),
                "volume" => f.volumes.push(value.to_string()),
                "network" => f.networks.push(value.to_string()),
                "expose" | "publish" => {
                    let range = PortRange::parse(value)
                        .ok_or_else(|| invalid(format!("invalid filter '{key}={value}'")))?;
                    if key == "expose" {
                        f.exposed.push(range);
                    } else {
                        f.published.push(range);
                    }
                }
                "health" => {
                    if !matches!(value, "starting" | "healthy" | "unhealthy" | "none") {
                        return Err(invalid(format!(
                            "Unrecognised filter value for health: {value}"
                        )));
                    }
                    f.health.push(value.to_string());
                }
                "before" => f.before = Some(value.to_string()),
                "since" => f.since = Some(value.to_string()),
                "is-task" => {
                    f.is_task = Some(match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(invalid(format!("Invalid filter 'is-task=[{value}]'"))),
                    })
                }
                // Windows isolation modes: every Linux container is "default".
                "isolation" => {}
                _ => return Err(invalid(format!("Invalid filter '{key}'"))),
            }
        }
        Ok(f)
    }

    /// Whether a status filter is present (it makes the list include
    /// stopped containers).
    fn has_status(&self) -> bool {
        !self.statuses.is_empty()
    }

    fn matches(&self, store: &Store, d: &ContainerDetails) -> bool {
        let c = &d.container;
        let any =
            |list: &[Regex], text: &str| list.is_empty() || list.iter().any(|r| r.is_match(text));
        let slash_name = c.slash_name();
        any(&self.ids, &c.id)
            && (self.names.is_empty()
                || self
                    .names
                    .iter()
                    .any(|r| r.is_match(&slash_name) || r.is_match(&c.name)))
            && self.labels.iter().all(|l| l.matches(&c.spec.labels))
            && (self.statuses.is_empty() || self.statuses.contains(&c.state.status))
            && (self.exited.is_empty()
                || (c.state.status == Status::Exited && self.exited.contains(&c.state.exit_code)))
            && (self.ancestors.is_empty()
                || self.ancestors.iter().any(|a| is_ancestor(store, c, a)))
            && (self.volumes.is_empty()
                || self.volumes.iter().any(|v| {
                    c.spec.mounts.iter().any(|m| {
                        &m.name == v || &m.destination == v || m.source.to_str() == Some(v)
                    })
                }))
            && (self.networks.is_empty() || self.networks.iter().any(|n| on_network(d, n)))
            && (self.exposed.is_empty()
                || self
                    .exposed
                    .iter()
                    .any(|r| c.spec.exposed_ports.iter().any(|p| r.contains(p))))
            && (self.published.is_empty()
                || self.published.iter().any(|r| {
                    d.networking
                        .published
                        .iter()
                        .any(|p| r.contains(&p.port_key()))
                }))
            && (self.health.is_empty() || {
                let status = c
                    .state
                    .health
                    .as_ref()
                    .map_or("none", |h| h.status.as_str());
                self.health.iter().any(|h| h == status)
            })
            && self.is_task != Some(true)
    }
}

fn is_ancestor(store: &Store, c: &Container, reference: &str) -> bool {
    c.image_ref == reference
        || c.image_id == reference
        || c.image_id
            .trim_start_matches("sha256:")
            .starts_with(reference)
        || berth_image::resolve(store, reference).is_ok_and(|i| i.id == c.image_id)
}

fn on_network(d: &ContainerDetails, network: &str) -> bool {
    let n = &d.networking;
    d.container.spec.host.network_mode == network
        || n.endpoints
            .iter()
            .any(|e| e.network.name == network || e.network.id.starts_with(network))
        || n.attached
            .iter()
            .any(|a| a.name == network || (!a.id.is_empty() && a.id.starts_with(network)))
}

impl Engine {
    /// `ps`: containers, newest first.
    pub fn container_list(&mut self, req: &ListRequest) -> Result<Vec<ContainerDetails>> {
        let mut containers = berth_container::model::list(&self.store)?;
        for c in containers.iter_mut() {
            crate::container::lifecycle::reconcile(&mut self.store, &self.config.run_dir, c)?;
        }
        let created_of = |reference: &str| {
            containers
                .iter()
                .find(|c| c.id == reference || c.name == reference || c.id.starts_with(reference))
                .map(|c| c.created_at.clone())
                .ok_or_else(|| {
                    Error::from(berth_container::ContainerError::NotFound(
                        reference.to_string(),
                    ))
                })
        };
        let before = req.filter.before.as_deref().map(created_of).transpose()?;
        let since = req.filter.since.as_deref().map(created_of).transpose()?;
        let all = req.all || req.limit.is_some() || req.filter.has_status();
        let mut link_names = crate::container::unlink::link_names(&self.store, &containers);
        let mut out = Vec::new();
        for c in containers {
            if !all && !c.state.status.has_monitor() {
                continue;
            }
            if before.as_ref().is_some_and(|b| &c.created_at >= b)
                || since.as_ref().is_some_and(|s| &c.created_at <= s)
            {
                continue;
            }
            let names = link_names.remove(&c.id).unwrap_or_default();
            let mut d = details::gather(
                &self.store,
                &self.config.run_dir,
                c,
                Detail {
                    lower_dirs: false,
                    size: req.size,
                },
            )?;
            d.link_names = names;
            if req.filter.matches(&self.store, &d) {
                out.push(d);
            }
            if req.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_as_dockerd_checks_them() {
        let parse = |pairs: &[(&str, &str)]| ContainerFilter::parse(pairs.iter().copied());
        assert_eq!(
            parse(&[("status", "foo")]).unwrap_err().to_string(),
            "Invalid filter 'status=foo'"
        );
        assert_eq!(
            parse(&[("exited", "x")]).unwrap_err().to_string(),
            "strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse(&[("nosuch", "1")]).unwrap_err().to_string(),
            "Invalid filter 'nosuch'"
        );
        assert_eq!(
            parse(&[("health", "x")]).unwrap_err().to_string(),
            "Unrecognised filter value for health: x"
        );
        assert_eq!(
            parse(&[("is-task", "maybe")]).unwrap_err().to_string(),
            "Invalid filter 'is-task=[maybe]'"
        );
        assert!(parse(&[("status", "exited")]).unwrap().has_status());
        assert!(parse(&[("publish", "8000-8010/udp")]).is_ok());
    }

    #[test]
    fn port_ranges_match_port_keys() {
        let r = PortRange::parse("8000-8010").unwrap();
        assert!(r.contains("8005/tcp"));
        assert!(!r.contains("8005/udp"));
        assert!(!r.contains("7999/tcp"));
        assert!(PortRange::parse("53/udp").unwrap().contains("53/udp"));
        assert!(PortRange::parse("x").is_none());
    }

    #[test]
    fn labels_need_every_value() {
        let labels = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into_iter()
        .collect();
        assert!(LabelMatch::parse("a=1").matches(&labels));
        assert!(LabelMatch::parse("b").matches(&labels));
        assert!(!LabelMatch::parse("a=2").matches(&labels));
        assert!(!LabelMatch::parse("c").matches(&labels));
    }
}
