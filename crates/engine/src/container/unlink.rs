//! Legacy links by their names: `/PARENT/ALIAS` names the container linked
//! as ALIAS by PARENT (`--link NAME:ALIAS` on the default bridge), as in
//! Docker's name registry. `rm --link PARENT/ALIAS` removes the link.

use std::collections::HashMap;
use std::path::Path;

use berth_container::model::{self, Container, Paths};
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::create_network::linked_container;
use super::reconcile::lookup;
use crate::Engine;

/// A link name resolved: the parent (the linking container) and the
/// position of the link in its `HostConfig.Links`.
struct LinkRef {
    parent: Container,
    index: usize,
    child: String,
    alias: String,
}

/// Finds the link `/PARENT/ALIAS`. Docker answers "No such container" with
/// the whole name when the parent or its link does not exist.
fn find(store: &mut Store, run_dir: &Path, name: &str) -> Result<LinkRef> {
    let trimmed = name.trim_start_matches('/');
    let not_found = || ContainerError::NotFound(trimmed.to_string());
    let (parent, alias) = trimmed.rsplit_once('/').ok_or_else(not_found)?;
    let parent = match lookup(store, run_dir, parent.trim_end_matches('/')) {
        Err(ContainerError::NotFound(_)) => return Err(not_found()),
        other => other?,
    };
    let mut found = None;
    for (index, link) in parent.spec.host.links.iter().enumerate() {
        let (child, link_alias) = berth_network::parse_link(link)?;
        if link_alias == alias {
            found = Some((index, child));
            break;
        }
    }
    let (index, child) = found.ok_or_else(not_found)?;
    Ok(LinkRef {
        parent,
        index,
        child,
        alias: alias.to_string(),
    })
}

impl Engine {
    /// The container a link name (`PARENT/ALIAS`) stands for: Docker
    /// resolves such a name to the linked container, so that
    /// `DELETE /containers/PARENT/ALIAS` without `link` removes it.
    pub fn container_linked(&mut self, name: &str) -> crate::Result<String> {
        let link = find(&mut self.store, &self.config.run_dir, name)?;
        Ok(model::find(&mut self.store, &link.child)?.id)
    }

    /// `rm --link PARENT/ALIAS`, as Docker's `rmLink`: PARENT forgets the
    /// link (`HostConfig.Links`, so its next start has neither the hosts
    /// line nor the variables), and a running PARENT's /etc/hosts loses the
    /// line right away; the linked container is left alone. A plain
    /// container name is its "default link name", which cannot go.
    pub fn container_remove_link(&mut self, name: &str) -> crate::Result<()> {
        let trimmed = name.trim_start_matches('/');
        if !trimmed.contains('/') {
            lookup(&mut self.store, &self.config.run_dir, trimmed)?;
            return Err(ContainerError::Conflict(
                "Conflict, cannot remove the default link name of the container".into(),
            )
            .into());
        }
        let LinkRef {
            mut parent,
            index,
            child,
            alias,
        } = find(&mut self.store, &self.config.run_dir, name)?;
        parent.spec.host.links.remove(index);
        model::save_spec_quietly(&mut self.store, &parent)?;
        if parent.state.status.has_monitor() {
            let hosts = Paths::of(&self.store, &parent.id).hosts;
            drop_hosts_line(&hosts, &alias, &child)?;
        }
        Ok(())
    }
}

/// The link names of every linked container among `containers`, by its id:
/// `/PARENT/ALIAS` for each legacy link of a PARENT (running or not) that
/// resolves to it (through a `container:` network mode, as Docker
/// registers it).
pub(crate) fn link_names(store: &Store, containers: &[Container]) -> HashMap<String, Vec<String>> {
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    for parent in containers {
        for link in &parent.spec.host.links {
            let Ok((child, alias)) = berth_network::parse_link(link) else {
                continue;
            };
            if let Ok(child) = linked_container(store, &child) {
                names
                    .entry(child.id)
                    .or_default()
                    .push(format!("/{}/{alias}", parent.name));
            }
        }
    }
    names
}

/// Removes the link's line (`IP ALIAS HOSTNAME NAME`) from a running
/// container's hosts file, rewritten in place (the container sees it
/// through a bind mount).
fn drop_hosts_line(path: &Path, alias: &str, child: &str) -> Result<()> {
    let io = |e| ContainerError::io(path, e);
    let hosts = std::fs::read_to_string(path).map_err(io)?;
    let kept: String = hosts
        .lines()
        .filter(|line| {
            let names: Vec<&str> = line.split_whitespace().skip(1).collect();
            !(names.first() == Some(&alias) && names.contains(&child))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    if kept != hosts {
        std::fs::write(path, kept).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_link_line_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        let before =
            "127.0.0.1\tlocalhost\n10.87.0.2\tdb 3f2a up\n10.87.0.9\tdb other\n10.87.0.3\t5e1c\n";
        std::fs::write(&path, before).unwrap();
        drop_hosts_line(&path, "db", "up").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "127.0.0.1\tlocalhost\n10.87.0.9\tdb other\n10.87.0.3\t5e1c\n"
        );
    }
}
