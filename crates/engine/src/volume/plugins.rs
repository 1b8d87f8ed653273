//! `plugin ls`: the legacy plugins found in the plugin directories.

use berth_volume::plugin;

use crate::Engine;

/// One plugin found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    /// `unix:///path` or `tcp://host:port`.
    pub addr: String,
    /// The file that names it (socket, `.spec` or `.json`).
    pub file: String,
    /// What `/Plugin.Activate` said it implements (empty if it failed).
    pub implements: Vec<String>,
    /// Why it could not be activated.
    pub error: Option<String>,
}

impl Engine {
    /// Every plugin the plugin directories name, activated now.
    pub fn plugin_list(&self) -> Vec<PluginInfo> {
        plugin::discovered()
            .into_iter()
            .map(|(found, activated)| {
                let (implements, error) = match activated {
                    Ok(p) => (p.implements, None),
                    Err(e) => (Vec::new(), Some(e.to_string())),
                };
                PluginInfo {
                    name: found.name,
                    addr: found.addr.to_string(),
                    file: found.file.display().to_string(),
                    implements,
                    error,
                }
            })
            .collect()
    }
}
