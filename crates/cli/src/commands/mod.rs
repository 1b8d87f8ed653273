//! One module per command group; each exposes clap argument types and a
//! `dispatch` (or one function per command) that returns the exit status.

pub mod build;
pub mod container;
pub mod events;
pub mod image;
pub mod network;
pub mod registry;
pub mod resources;
pub mod search;
pub mod security_opt;
pub mod serve;
pub mod system;
pub mod update;
pub mod volume;
