//! Network operations, one file each: create, list, inspect, rm, prune,
//! connect, disconnect.

mod connect;
mod create;
pub(crate) mod default_bridge;
mod filter;
mod inspect;
mod list;
mod prune;
mod rm;

pub use berth_network::{
    CreateOptions as NetworkCreate, Endpoint, EndpointSettings, Network, PoolRequest,
};
pub use filter::{NetworkFilter, NetworkPruneFilter};
pub use inspect::{inspect_json, NetworkDetails};
