//! A container's network mode and the namespace its runtime is told to use.

use std::path::{Path, PathBuf};

use crate::{netns, DEFAULT_NETWORK};

/// A container's network mode (HostConfig.NetworkMode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Host,
    None,
    /// `container:NAME`: share another container's namespace.
    Container(String),
    /// `bridge` or a user network, by name or ID.
    Network(String),
}

impl Mode {
    pub fn parse(mode: &str) -> Mode {
        match mode {
            "host" => Mode::Host,
            "none" => Mode::None,
            "" | "default" => Mode::Network(DEFAULT_NETWORK.into()),
            other => match other.strip_prefix("container:") {
                Some(name) => Mode::Container(name.to_string()),
                None => Mode::Network(other.to_string()),
            },
        }
    }
}

/// The namespace a container's runtime is told to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    Host,
    Path(PathBuf),
}

impl Namespace {
    /// The namespace of a running container, if it has one of its own.
    pub fn of_container(run_dir: &Path, container_id: &str) -> Option<Namespace> {
        netns::exists(run_dir, container_id)
            .then(|| Namespace::Path(netns::path(run_dir, container_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_docker_names_them() {
        assert_eq!(Mode::parse(""), Mode::Network("bridge".into()));
        assert_eq!(Mode::parse("default"), Mode::Network("bridge".into()));
        assert_eq!(Mode::parse("host"), Mode::Host);
        assert_eq!(Mode::parse("none"), Mode::None);
        assert_eq!(Mode::parse("container:web"), Mode::Container("web".into()));
        assert_eq!(Mode::parse("mynet"), Mode::Network("mynet".into()));
    }
}
