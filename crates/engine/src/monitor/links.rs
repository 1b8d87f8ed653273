//! Legacy links (`--link NAME:ALIAS` on the default bridge), as Docker 20.10
//! sets them up at start: the linked container must run and be on the
//! default bridge; the linking one gets an /etc/hosts line for it
//! (`IP ALIAS HOSTNAME NAME`) and Docker's link environment variables
//! (`ALIAS_PORT_80_TCP_ADDR=...`, `ALIAS_NAME`, `ALIAS_ENV_...`).

use berth_container::model::{self, Container};
use berth_container::{ContainerError, Result};
use berth_network::{Mode, DEFAULT_NETWORK};
use berth_store::Store;

use crate::container::create_network::linked_container;

/// One link, resolved at start.
pub(super) struct Link {
    /// The alias the linking container knows it by.
    pub alias: String,
    /// `/PARENT/ALIAS`, Docker's link name.
    pub link_name: String,
    pub child_name: String,
    pub child_hostname: String,
    pub child_ip: String,
    pub child_env: Vec<String>,
    pub child_ports: Vec<String>,
}

/// The container's links, when it runs on the default bridge (none
/// otherwise, as in Docker).
pub(super) fn resolve(store: &Store, c: &Container, on_bridge: bool) -> Result<Vec<Link>> {
    if !on_bridge {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for link in &c.spec.host.links {
        let (name, alias) = berth_network::parse_link(link)?;
        let child = linked_container(store, &name)?;
        let link_name = format!("/{}/{alias}", c.name);
        if child.state.status != model::Status::Running {
            return Err(ContainerError::Conflict(format!(
                "Cannot link to a non running container: /{} AS {link_name}",
                child.name
            )));
        }
        let bridge = berth_network::endpoints_of_container(store.db(), &child.id)?
            .into_iter()
            .find(|e| e.network.name == DEFAULT_NETWORK)
            .filter(|_| matches!(Mode::parse(&child.spec.host.network_mode), Mode::Network(_)));
        let Some(endpoint) = bridge else {
            return Err(ContainerError::Conflict(format!(
                "Cannot link to /{}, as it does not belong to the default network",
                child.name
            )));
        };
        out.push(Link {
            alias,
            link_name,
            child_name: child.name.clone(),
            child_hostname: child.spec.hostname.clone(),
            child_ip: endpoint.ipv4.to_string(),
            child_env: child.spec.env.clone(),
            child_ports: child.spec.exposed_ports.clone(),
        });
    }
    Ok(out)
}

impl Link {
    /// The /etc/hosts line: the alias, the child's hostname and (when the
    /// alias is not it) its name.
    pub(super) fn hosts_line(&self) -> String {
        let mut names = format!("{} {}", self.alias, self.child_hostname);
        if self.alias != self.child_name {
            names.push(' ');
            names.push_str(&self.child_name);
        }
        format!("{}\t{names}\n", self.child_ip)
    }

    /// Docker 20.10's link environment variables (daemon/links/links.go).
    pub(super) fn env(&self) -> Vec<String> {
        let alias = self.alias.to_ascii_uppercase().replace('-', "_");
        let ip = &self.child_ip;
        let mut ports: Vec<(u16, String)> = self
            .child_ports
            .iter()
            .filter_map(|p| {
                let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                Some((port.parse().ok()?, proto.to_ascii_lowercase()))
            })
            .collect();
        // By number; for the same number tcp first.
        ports.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| (a.1 != "tcp").cmp(&(b.1 != "tcp")))
        });
        let mut env = Vec::new();
        if let Some((port, proto)) = ports.first() {
            env.push(format!("{alias}_PORT={proto}://{ip}:{port}"));
        }
        let mut i = 0;
        while i < ports.len() {
            let j = next_contiguous(&ports, i);
            if j > i + 1 {
                let (p, proto) = &ports[i];
                let (q, q_proto) = &ports[j];
                let key = format!("{alias}_PORT_{p}_{}", proto.to_ascii_uppercase());
                env.push(format!("{key}_START={proto}://{ip}:{p}"));
                env.push(format!("{key}_ADDR={ip}"));
                env.push(format!("{key}_PROTO={proto}"));
                env.push(format!("{key}_PORT_START={p}"));
                let end_key = format!("{alias}_PORT_{p}_{}", q_proto.to_ascii_uppercase());
                env.push(format!("{end_key}_END={q_proto}://{ip}:{q}"));
                env.push(format!("{end_key}_PORT_END={q}"));
                i = j + 1;
            } else {
                i += 1;
            }
        }
        for (port, proto) in &ports {
            let key = format!("{alias}_PORT_{port}_{}", proto.to_ascii_uppercase());
            env.push(format!("{key}={proto}://{ip}:{port}"));
            env.push(format!("{key}_ADDR={ip}"));
            env.push(format!("{key}_PORT={port}"));
            env.push(format!("{key}_PROTO={proto}"));
        }
        env.push(format!("{alias}_NAME={}", self.link_name));
        for entry in &self.child_env {
            let Some((name, value)) = entry.split_once('=') else {
                continue;
            };
            // Docker leaves out what builds add and is no use to the linker.
            if name != "HOME" && name != "PATH" {
                env.push(format!("{alias}_ENV_{name}={value}"));
            }
        }
        env
    }
}

/// Docker's `nextContiguous`: the index of the last port of the run of
/// consecutive numbers starting at `index`.
fn next_contiguous(ports: &[(u16, String)], index: usize) -> usize {
    let mut value = ports[index].0;
    for (i, (port, _)) in ports.iter().enumerate().skip(index + 1) {
        if *port > value + 1 {
            return i - 1;
        }
        value = value.saturating_add(1);
    }
    ports.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(ports: &[&str]) -> Link {
        Link {
            alias: "db".into(),
            link_name: "/down/db".into(),
            child_name: "up".into(),
            child_hostname: "c08bfeffb5c7".into(),
            child_ip: "172.17.0.2".into(),
            child_env: vec!["PATH=/bin".into(), "FOO=bar".into()],
            child_ports: ports.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn env_and_hosts_match_docker_20_10() {
        // Seen on dockerd 20.10 for `--expose 80 --expose 81 --expose 53/udp -e FOO=bar`.
        let l = link(&["80/tcp", "81/tcp", "53/udp"]);
        let mut env = l.env();
        env.sort();
        assert_eq!(
            env,
            [
                "DB_ENV_FOO=bar",
                "DB_NAME=/down/db",
                "DB_PORT=udp://172.17.0.2:53",
                "DB_PORT_53_UDP=udp://172.17.0.2:53",
                "DB_PORT_53_UDP_ADDR=172.17.0.2",
                "DB_PORT_53_UDP_PORT=53",
                "DB_PORT_53_UDP_PROTO=udp",
                "DB_PORT_80_TCP=tcp://172.17.0.2:80",
                "DB_PORT_80_TCP_ADDR=172.17.0.2",
                "DB_PORT_80_TCP_PORT=80",
                "DB_PORT_80_TCP_PROTO=tcp",
                "DB_PORT_81_TCP=tcp://172.17.0.2:81",
                "DB_PORT_81_TCP_ADDR=172.17.0.2",
                "DB_PORT_81_TCP_PORT=81",
                "DB_PORT_81_TCP_PROTO=tcp",
            ]
        );
        assert_eq!(l.hosts_line(), "172.17.0.2\tdb c08bfeffb5c7 up\n");
        let ranged = link(&["8000/tcp", "8001/tcp", "8002/tcp"]).env();
        assert!(ranged.contains(&"DB_PORT_8000_TCP_START=tcp://172.17.0.2:8000".to_string()));
        assert!(ranged.contains(&"DB_PORT_8000_TCP_END=tcp://172.17.0.2:8002".to_string()));
    }
}
