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
    /// A TCP connection to `port` on the loopback of this namespace (the
    /// CRI's port forwarding), made from a thread that entered it: the
    /// socket stays in the namespace it was made in.
    pub fn connect_loopback(&self, port: u16) -> std::io::Result<std::net::TcpStream> {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match self {
            Namespace::Host => std::net::TcpStream::connect(address),
            Namespace::Path(path) => {
                crate::netlink::in_namespace(path, move || std::net::TcpStream::connect(address))
            }
        }
    }

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
