//! What berth records of the CRI's objects: a pod sandbox is its infra
//! container, a CRI container a berth container that joins it. The CRI's
//! metadata, labels and annotations travel in the containers' labels, so
//! the store holds them (a restarted `berth cri` finds every pod again) and
//! `berth inspect` shows them.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// `sandbox` or `container`.
pub const KIND: &str = "io.berth.cri.kind";
/// A container's pod: its infra container's ID.
pub const SANDBOX: &str = "io.berth.cri.sandbox";
/// The JSON of a [`PodRecord`] or a [`ContainerRecord`].
pub const RECORD: &str = "io.berth.cri.record";

pub const KIND_SANDBOX: &str = "sandbox";
pub const KIND_CONTAINER: &str = "container";

/// A pod sandbox as RunPodSandbox asked for it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PodRecord {
    pub name: String,
    pub uid: String,
    pub namespace: String,
    pub attempt: u32,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub log_directory: String,
    pub runtime_handler: String,
    /// The pod's containers share its infra's PID namespace.
    pub shared_pid: bool,
    /// The network, IPC and PID namespace modes (`NamespaceMode` values).
    pub network_mode: i32,
    pub ipc_mode: i32,
    pub pid_mode: i32,
}

/// A CRI container as CreateContainer asked for it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub name: String,
    pub attempt: u32,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The image as the request named it.
    pub image: String,
    /// Absolute (the pod's log directory joined with the request's path);
    /// empty for none.
    pub log_path: String,
}

pub fn sorted(map: &HashMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub fn unsorted(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The record a container's labels carry, if it is the CRI's.
pub fn record<T: for<'de> Deserialize<'de>>(labels: &BTreeMap<String, String>) -> Option<T> {
    serde_json::from_str(labels.get(RECORD)?).ok()
}

/// The labels that mark a container as the CRI's.
pub fn labels<T: Serialize>(kind: &str, record: &T) -> BTreeMap<String, String> {
    BTreeMap::from([
        (KIND.to_string(), kind.to_string()),
        (
            RECORD.to_string(),
            serde_json::to_string(record).unwrap_or_default(),
        ),
    ])
}

/// Whether every `selector` pair is among `labels` (the CRI's
/// `label_selector`: AND of exact matches).
pub fn selected(selector: &HashMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}
