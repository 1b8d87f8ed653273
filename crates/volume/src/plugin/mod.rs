//! Docker's volume plugins (the legacy, unmanaged kind: a process listening
//! on a socket that [`discovery`] finds), spoken to as dockerd does: each use
//! starts with `/Plugin.Activate` (so a plugin restarted since is activated
//! again), then `VolumeDriver.*` calls, each a JSON `POST` with a deadline
//! ([`client`]). A plugin's refusal is its `Err` field.
//!
//! [`PluginDriver`] is the [`crate::VolumeDriver`] of a plugin; berth keeps
//! its own row and a small directory for each plugin volume (the driver's
//! name and the record of its mounts), the data is the plugin's.

mod client;
pub mod discovery;
mod driver;

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

pub use client::{Addr, MEDIA_TYPE};
pub use discovery::{Found, PLUGIN_DIRS_ENV};
pub use driver::{
    describe, describe_with, foreign_volume, foreign_volumes, PluginDriver, DRIVER_FILE,
};

use crate::driver::Options;
use crate::VolumeError;
use client::CallError;

/// Plugin `driver`'s `VolumeDriver.Path` of volume `name`: where it is
/// mounted (`None` if the plugin cannot answer or gives no path).
pub fn path(driver: &str, name: &str) -> Option<std::path::PathBuf> {
    let path = Plugin::activate(driver).ok()?.path(name).ok()?;
    (!path.is_empty()).then(|| path.into())
}

/// The environment variable that sets the deadline of each plugin call, in
/// seconds (default 30, dockerd's).
pub const PLUGIN_TIMEOUT_ENV: &str = "BERTH_PLUGIN_TIMEOUT";

/// What a plugin must implement to be a volume driver.
pub const VOLUME_DRIVER: &str = "VolumeDriver";

fn timeout() -> Duration {
    std::env::var(PLUGIN_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or(Duration::from_secs(30), Duration::from_secs_f64)
}

/// An activated plugin.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub name: String,
    pub addr: Addr,
    /// What `/Plugin.Activate` said it implements.
    pub implements: Vec<String>,
    timeout: Duration,
}

/// A volume as a plugin describes it (`VolumeDriver.Get` / `List`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PluginVolume {
    pub name: String,
    #[serde(default)]
    pub mountpoint: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub status: Option<serde_json::Map<String, Value>>,
}

impl Plugin {
    /// Finds and activates the volume plugin `name`; a plugin that is not
    /// there, does not answer or is no volume driver is an error naming it.
    pub fn activate(name: &str) -> Result<Plugin, VolumeError> {
        let found =
            discovery::find(name)?.ok_or_else(|| VolumeError::NoSuchDriver(name.to_string()))?;
        Self::activate_found(found)
    }

    /// Activates a plugin [`discovery`] found, as a volume driver.
    pub fn activate_found(found: Found) -> Result<Plugin, VolumeError> {
        let plugin = Self::handshake(found)?;
        if !plugin.implements.iter().any(|i| i == VOLUME_DRIVER) {
            return Err(VolumeError::NotVolumeDriver(plugin.name));
        }
        Ok(plugin)
    }

    /// `/Plugin.Activate`: what the plugin implements.
    fn handshake(found: Found) -> Result<Plugin, VolumeError> {
        let mut plugin = Plugin {
            name: found.name,
            addr: found.addr,
            implements: Vec::new(),
            timeout: timeout(),
        };
        let answer = plugin.call("Plugin.Activate", &Value::Null)?;
        plugin.implements = answer
            .get("Implements")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(plugin)
    }

    /// One call; the plugin's failures become [`VolumeError::Plugin`].
    pub fn call(&self, method: &str, body: &Value) -> Result<Value, VolumeError> {
        client::call(&self.addr, method, body, self.timeout).map_err(|e| {
            let (reason, unavailable) = match e {
                CallError::Unreachable(why) => (
                    format!("plugin {} is not reachable: {why}", self.name),
                    true,
                ),
                CallError::Timeout(after) => (
                    format!(
                        "plugin {} did not answer within {}s",
                        self.name,
                        after.as_secs_f64()
                    ),
                    true,
                ),
                CallError::Refused { err, .. } => (err, false),
                CallError::BadAnswer(why) => {
                    (format!("plugin {} answered badly: {why}", self.name), false)
                }
            };
            VolumeError::Plugin {
                method: method.to_string(),
                reason,
                unavailable,
            }
        })
    }

    pub fn create(&self, name: &str, options: &Options) -> Result<(), VolumeError> {
        self.call(
            "VolumeDriver.Create",
            &json!({"Name": name, "Opts": options}),
        )
        .map(drop)
    }

    pub fn remove(&self, name: &str) -> Result<(), VolumeError> {
        self.call("VolumeDriver.Remove", &json!({"Name": name}))
            .map(drop)
    }

    /// Mounts `name` for the mount `id`; where the plugin mounted it.
    pub fn mount(&self, name: &str, id: &str) -> Result<String, VolumeError> {
        let answer = self.call("VolumeDriver.Mount", &json!({"Name": name, "ID": id}))?;
        Ok(mountpoint(&answer))
    }

    pub fn unmount(&self, name: &str, id: &str) -> Result<(), VolumeError> {
        self.call("VolumeDriver.Unmount", &json!({"Name": name, "ID": id}))
            .map(drop)
    }

    pub fn path(&self, name: &str) -> Result<String, VolumeError> {
        let answer = self.call("VolumeDriver.Path", &json!({"Name": name}))?;
        Ok(mountpoint(&answer))
    }

    pub fn get(&self, name: &str) -> Result<PluginVolume, VolumeError> {
        let answer = self.call("VolumeDriver.Get", &json!({"Name": name}))?;
        self.decode("VolumeDriver.Get", answer.get("Volume").cloned())
    }

    pub fn list(&self) -> Result<Vec<PluginVolume>, VolumeError> {
        let answer = self.call("VolumeDriver.List", &json!({}))?;
        let volumes = answer.get("Volumes").cloned().filter(|v| !v.is_null());
        Ok(self
            .decode::<Option<Vec<PluginVolume>>>("VolumeDriver.List", volumes)?
            .unwrap_or_default())
    }

    /// The plugin's scope; `local` when it does not say (Docker's default,
    /// also for plugins without `VolumeDriver.Capabilities`).
    pub fn scope(&self) -> crate::Scope {
        let answer = self.call("VolumeDriver.Capabilities", &json!({}));
        match answer
            .ok()
            .as_ref()
            .and_then(|a| a.pointer("/Capabilities/Scope"))
            .and_then(Value::as_str)
        {
            Some("global") => crate::Scope::Global,
            _ => crate::Scope::Local,
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        value: Option<Value>,
    ) -> Result<T, VolumeError> {
        serde_json::from_value(value.unwrap_or(Value::Null)).map_err(|e| VolumeError::Plugin {
            method: method.to_string(),
            reason: format!("plugin {} answered badly: {e}", self.name),
            unavailable: false,
        })
    }
}

fn mountpoint(answer: &Value) -> String {
    answer
        .get("Mountpoint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Every plugin the directories name, with what it implements (whatever
/// that is), or why it could not be activated (`plugin ls`, `GET /plugins`).
pub fn discovered() -> Vec<(Found, Result<Plugin, VolumeError>)> {
    discovery::scan()
        .into_iter()
        .map(|found| {
            let activated = Plugin::handshake(found.clone());
            (found, activated)
        })
        .collect()
}
