//! What a container's events carry about it.

use std::collections::BTreeMap;

use crate::model::Container;

impl Container {
    /// Docker's `Actor.Attributes` of a container event: its labels, the
    /// image as the user named it, and its name.
    pub fn event_attributes(&self) -> BTreeMap<String, String> {
        event_attributes(&self.spec.labels, &self.image_ref, &self.name)
    }
}

/// [`Container::event_attributes`] from a container's labels, image
/// reference and name.
pub(crate) fn event_attributes(
    labels: &BTreeMap<String, String>,
    image_ref: &str,
    name: &str,
) -> BTreeMap<String, String> {
    let mut attrs = labels.clone();
    attrs.insert("image".into(), image_ref.to_string());
    attrs.insert("name".into(), name.to_string());
    attrs
}
