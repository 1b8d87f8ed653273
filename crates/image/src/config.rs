//! Image configuration documents in Docker's shape.
//!
//! An image's ID is the sha256 of its config JSON, so configs that arrive in an
//! archive are stored byte for byte and never re-serialized. Configs berth makes
//! itself (import, commit) are written from the structs below, whose field order
//! and `omitempty` rules are Docker's, so they look like the ones dockerd writes.
//! [`ContainerConfig`] is also how `inspect` presents `Config`/`ContainerConfig`:
//! parsing any config into it and printing it back yields Docker's exact shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Go's `struct{}` as a map value (`"ExposedPorts": {"80/tcp": {}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Docker's `container.Config` (the image's `config` / `container_config`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    pub image: String,
    pub volumes: Option<BTreeMap<String, Empty>>,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

impl ContainerConfig {
    /// The OCI view of this config (what the container crate runs with).
    pub fn to_oci(&self) -> oci_spec::image::Config {
        let mut c = oci_spec::image::Config::default();
        c.set_user(non_empty(&self.user));
        c.set_exposed_ports(
            self.exposed_ports
                .as_ref()
                .map(|m| m.keys().cloned().collect()),
        );
        c.set_env(self.env.clone());
        c.set_cmd(self.cmd.clone());
        c.set_entrypoint(self.entrypoint.clone());
        c.set_volumes(self.volumes.as_ref().map(|m| m.keys().cloned().collect()));
        c.set_working_dir(non_empty(&self.working_dir));
        c.set_labels(
            self.labels
                .as_ref()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        );
        c.set_stop_signal(non_empty(&self.stop_signal));
        c
    }

    /// Fills the fields the OCI config has; the others keep their values.
    pub fn merge_oci(&mut self, c: &oci_spec::image::Config) {
        self.user = c.user().clone().unwrap_or_default();
        self.exposed_ports = c
            .exposed_ports()
            .as_ref()
            .map(|v| v.iter().map(|p| (p.clone(), Empty {})).collect());
        self.env = c.env().clone();
        self.cmd = c.cmd().clone();
        self.entrypoint = c.entrypoint().clone();
        self.volumes = c
            .volumes()
            .as_ref()
            .map(|v| v.iter().map(|p| (p.clone(), Empty {})).collect());
        self.working_dir = c.working_dir().clone().unwrap_or_default();
        self.labels = c
            .labels()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        self.stop_signal = c.stop_signal().clone().unwrap_or_default();
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// One `history` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub empty_layer: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<String>,
}

/// The image config document as Docker writes it (keys in Go's sorted order,
/// as dockerd marshals it through a map).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfigDoc {
    pub architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
    pub config: Option<ContainerConfig>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container: String,
    pub container_config: ContainerConfig,
    pub created: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docker_version: String,
    pub history: Vec<HistoryEntry>,
    pub os: String,
    pub rootfs: RootFs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl ImageConfigDoc {
    /// Parses a stored config (any producer's); missing fields take Docker's zero values.
    pub fn parse(bytes: &[u8]) -> Result<ImageConfigDoc, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The canonical bytes whose digest becomes the image ID.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Parses config bytes into the OCI type the container crate consumes.
/// OCI configs may omit `history`; Docker's may carry `null`s: both are accepted.
pub fn parse_oci(bytes: &[u8]) -> Result<oci_spec::image::ImageConfiguration, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)?;
    if let Some(obj) = value.as_object_mut() {
        for key in ["history"] {
            if !matches!(obj.get(key), Some(v) if !v.is_null()) {
                obj.insert(key.into(), serde_json::Value::Array(vec![]));
            }
        }
        if obj.get("config").is_some_and(|v| v.is_null()) {
            obj.remove("config");
        }
        if let Some(config) = obj.get_mut("config").and_then(|c| c.as_object_mut()) {
            config.retain(|_, v| !v.is_null());
        }
    }
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_config_matches_dockers_bytes() {
        // What dockerd 20.10 wrote for `docker import -m "hello msg"` with a change.
        let docker = r#"{"architecture":"amd64","comment":"hello msg","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["A=b"],"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"created":"2026-11-22T15:58:46.803961828Z","docker_version":"20.10.24+dfsg1","history":[{"created":"2026-11-22T15:58:46.803961828Z","comment":"hello msg"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:22c6412a148ea84b0e323cb6db0e6f3be0a288a39b2c2e9adb60007d8f83b7c5"]}}"#;
        let doc = ImageConfigDoc::parse(docker.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(doc.to_bytes().unwrap()).unwrap(), docker);
        let oci = parse_oci(docker.as_bytes()).unwrap();
        let c = oci.config().clone().unwrap();
        assert_eq!(c.cmd().clone().unwrap(), vec!["sh"]);
        assert_eq!(c.exposed_ports().clone().unwrap(), vec!["80/tcp"]);
        assert_eq!(oci.rootfs().diff_ids().len(), 1);
    }

    #[test]
    fn oci_config_without_history_parses() {
        let oci =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let parsed = parse_oci(oci).unwrap();
        assert!(parsed.config().is_none());
        let doc = ImageConfigDoc::parse(oci).unwrap();
        assert!(doc.config.is_none());
    }
}
