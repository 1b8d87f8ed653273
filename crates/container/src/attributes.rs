//! What a container's events carry about it.

use std::collections::BTreeMap;

use crate::model::Container;

impl Container {
    /// Docker's `Actor.Attributes` of a container event: its labels, the
    /// image as the user named it, and its name.
    pub fn event_attributes(&self) -> BTreeMap<String, String> {
        let mut attrs = self.spec.labels.clone();
        attrs.insert("image".into(), self.image_ref.clone());
        attrs.insert("name".into(), self.name.clone());
        attrs
    }
}
