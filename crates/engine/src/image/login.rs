//! `login`: checking credentials with a registry.

use berth_registry::{Credentials, RegistrySettings};

use crate::{Engine, Result};

impl Engine {
    /// Checks `credentials` with `server` (as dockerd's `/auth` does) and
    /// returns the key they are kept under. Keeping them is the front end's
    /// business (the CLI's config.json), as it is the docker CLI's. Needs no
    /// state root, so no engine is opened for it.
    pub fn registry_login(server: &str, credentials: &Credentials) -> Result<String> {
        let settings = RegistrySettings::from_env()?;
        Ok(berth_registry::login(&settings, server, credentials)?)
    }
}
