//! The default bridge as the daemon config sets it (`bridge`, `bip`): read
//! at every engine open and by every monitor before it wires a container,
//! since there is no daemon whose start would read it once.

use berth_network::{Applied, BridgeConfig, NetworkError};
use berth_store::Store;

/// Brings the root's default network in line with the daemon config
/// (`$BERTH_DAEMON_CONFIG` or /etc/berth/daemon.json). A config that cannot
/// be honoured is an error; containers running on the old bridge keep the
/// change pending ([`Applied::Pending`]).
pub(crate) fn apply(store: &mut Store) -> Result<Applied, NetworkError> {
    let config = BridgeConfig::from_daemon_json(&berth_registry::daemon_config_path())?;
    berth_network::apply_default_bridge(store, &config)
}
