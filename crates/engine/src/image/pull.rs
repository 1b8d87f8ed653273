//! `pull`: images from a registry, with progress as data.

use berth_registry::{Credentials, DockerConfig, Progress, PullOptions, Pulled, RegistrySettings};

use crate::{Engine, Result};

/// Where pull and push find the credentials of a registry host. The CLI's
/// source is the docker CLI's config.json ([`DockerConfig`]); the API's is
/// the request's `X-Registry-Auth`.
pub trait CredentialSource {
    /// The credentials for `host` (`docker.io`, `localhost:5000`), if any.
    fn credentials(&self, host: &str) -> Result<Option<Credentials>>;
}

impl CredentialSource for DockerConfig {
    fn credentials(&self, host: &str) -> Result<Option<Credentials>> {
        Ok(self.get(host)?)
    }
}

impl Engine {
    /// Pulls `request.name` (one tag, a digest, or with `all_tags` every tag
    /// of the repository), reporting to `progress`.
    pub fn image_pull(
        &mut self,
        request: &PullOptions,
        credentials: &dyn CredentialSource,
        progress: &dyn Progress,
    ) -> Result<Vec<Pulled>> {
        let (settings, auth) = registry_access(&request.name, credentials)?;
        Ok(berth_registry::pull(
            &mut self.store,
            &settings,
            auth.as_ref(),
            request,
            progress,
        )?)
    }
}

/// This machine's registry settings, and the credentials for the registry
/// that `name` lives on.
pub(crate) fn registry_access(
    name: &str,
    credentials: &dyn CredentialSource,
) -> Result<(RegistrySettings, Option<Credentials>)> {
    let settings = RegistrySettings::from_env()?;
    let auth = credentials.credentials(&berth_registry::registry_host(name)?)?;
    Ok((settings, auth))
}
