//! A mount as Docker's Engine API describes it (`HostConfig.Mounts[]`, Go's
//! `mount.Mount`): what `--mount` means and what the API sends, kept as given
//! so that `inspect` shows it back as dockerd does. [`crate::spec::validate_mount`]
//! turns it into the [`crate::spec::MountSpec`] that is applied.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountRequest {
    /// "volume", "bind", "tmpfs" or "image".
    #[serde(rename = "Type")]
    pub kind: String,
    /// A volume's name, a bind's host path, an image reference, nothing for tmpfs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_options: Option<ImageOptions>,
}

/// Options of an image mount (Docker 28, `image-subpath=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageOptions {
    /// A path inside the image to mount instead of its root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub non_recursive: bool,
    /// Docker's `ReadOnlyNonRecursive` (API 1.44): a read-only bind whose
    /// submounts stay writable (the CRI's read-only mount that is not
    /// `recursive_read_only`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only_non_recursive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeOptions {
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_copy: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
    /// A path inside the volume to mount instead of its root (Docker 26,
    /// `volume-subpath=`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DriverConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TmpfsOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl MountRequest {
    /// The bind options, created empty if absent.
    pub fn bind_options(&mut self) -> &mut BindOptions {
        self.bind_options.get_or_insert_with(Default::default)
    }

    pub fn volume_options(&mut self) -> &mut VolumeOptions {
        self.volume_options.get_or_insert_with(Default::default)
    }

    pub fn tmpfs_options(&mut self) -> &mut TmpfsOptions {
        self.tmpfs_options.get_or_insert_with(Default::default)
    }

    pub fn image_options(&mut self) -> &mut ImageOptions {
        self.image_options.get_or_insert_with(Default::default)
    }
}

impl VolumeOptions {
    pub fn driver_config(&mut self) -> &mut DriverConfig {
        self.driver_config.get_or_insert_with(Default::default)
    }
}
