//! `push`: images to a registry, with progress as data.

use berth_registry::{Progress, PushOptions, Pushed};

use crate::image::pull::registry_access;
use crate::image::CredentialSource;
use crate::{Engine, Result};

impl Engine {
    /// Pushes `request.name` (one tag, or with `all_tags` every local tag of
    /// the repository), reporting to `progress`.
    pub fn image_push(
        &mut self,
        request: &PushOptions,
        credentials: &dyn CredentialSource,
        progress: &dyn Progress,
    ) -> Result<Vec<Pushed>> {
        let (settings, auth) = registry_access(&request.name, credentials)?;
        Ok(berth_registry::push(
            &mut self.store,
            &settings,
            auth.as_ref(),
            request,
            progress,
        )?)
    }
}
