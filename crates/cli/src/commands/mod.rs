//! One module per command group; each exposes clap argument types and a
//! `dispatch` that returns the process exit status.

pub mod image;
pub mod volume;
