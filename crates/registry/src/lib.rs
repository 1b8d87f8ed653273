//! berth-registry: images to and from registries over the OCI distribution API
//! (`oci-client`), and the credentials for them.
//!
//! Terms and lifecycle:
//! * a **registry host** is a reference's domain; [`endpoint`] decides how it
//!   is reached (HTTPS verified with the system CAs plus `certs.d`, or — for
//!   insecure hosts — HTTPS unverified, falling back to plain HTTP);
//! * **credentials** ([`credentials`]) live in the docker CLI's config.json and
//!   are written (by the front end) only after [`login`] checked them with the
//!   registry, and offered as Basic auth (or exchanged for a bearer token) by
//!   [`pull`] and [`push`], which are given the credentials of the reference's
//!   [`registry_host`];
//! * [`pull`] resolves a reference to a manifest (choosing a platform from an
//!   index), downloads the missing layer blobs concurrently into the store's
//!   `tmp/`, verifies and moves each into the content store, then commits the
//!   image with `berth_image::pulled::store_pulled`; an interrupted pull keeps
//!   the verified blobs and nothing else, and the next pull reuses them;
//! * [`push`] uploads the layer blobs and config the registry lacks, then the
//!   manifest, and records the pushed digest as the image's repo digest;
//! * [`progress`] reports both as data, for the front ends to render;
//! * [`search`] asks a registry's v1 search API, as dockerd does.
//!
//! Every public function is synchronous: each runs its own single-threaded
//! tokio runtime, whose one thread drives all concurrent transfers.

pub mod credentials;
pub mod endpoint;
mod error;
mod login;
pub mod progress;
mod pull;
mod push;
mod search;

pub use credentials::{Credentials, DockerConfig};
pub use endpoint::{daemon_config_path, Mirror, RegistrySettings};
pub use error::RegistryError;
pub use login::login;
pub use progress::{Event, LayerStatus, Progress};
pub use pull::{pull, Platform, PullOptions, Pulled};
pub use push::{push, PushOptions, Pushed};
pub use search::{search, search_host, SearchResult};

use berth_image::Reference;

/// The registry host a reference names (`docker.io` for Docker Hub's), whose
/// credentials [`pull`] and [`push`] need.
pub fn registry_host(name: &str) -> Result<String, RegistryError> {
    Ok(split_name(&Reference::parse(name)?).0)
}

/// A single-threaded runtime for one command.
fn runtime() -> Result<tokio::runtime::Runtime, RegistryError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RegistryError::io("tokio runtime", e))
}

/// (domain, path) of a reference: `docker.io/library/busybox` ->
/// (`docker.io`, `library/busybox`).
fn split_name(reference: &Reference) -> (String, String) {
    let name = reference.name();
    match name.split_once('/') {
        Some((domain, path)) => (domain.to_string(), path.to_string()),
        None => ("docker.io".to_string(), name),
    }
}

/// The oci-client form of a reference, addressed at the endpoint's API host.
fn oci_reference(reference: &Reference, endpoint: &endpoint::Endpoint) -> oci_client::Reference {
    let (_, path) = split_name(reference);
    let registry = endpoint.api_host().to_string();
    match (reference.tag(), reference.digest()) {
        (_, Some(digest)) => oci_client::Reference::with_digest(registry, path, digest.to_string()),
        (Some(tag), None) => oci_client::Reference::with_tag(registry, path, tag.to_string()),
        (None, None) => oci_client::Reference::with_tag(
            registry,
            path,
            berth_image::reference::DEFAULT_TAG.to_string(),
        ),
    }
}
