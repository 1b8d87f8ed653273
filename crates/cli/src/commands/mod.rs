//! One module per command group; each exposes clap argument types and a
//! `dispatch` (or one function per command) that returns the exit status.

pub mod build;
pub mod check;
pub mod container;
pub mod cri;
pub mod events;
pub mod health_log;
pub mod image;
pub mod network;
pub mod plugin;
pub mod registry;
pub mod resources;
pub mod search;
pub mod security_opt;
pub mod serve;
pub mod server_log;
pub mod system;
pub mod update;
pub mod volume;
pub mod volume_data;
pub mod volume_seed;

/// `--filter name=value` flags as pairs, with the docker CLI's message for
/// one without `=`.
pub fn filter_pairs(filters: &[String]) -> anyhow::Result<Vec<(&str, &str)>> {
    filters
        .iter()
        .map(|f| {
            f.split_once('=')
                .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))
        })
        .collect()
}
