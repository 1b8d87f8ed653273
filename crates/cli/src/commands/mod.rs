//! One module per command group; each exposes clap argument types and a
//! `dispatch` (or one function per command) that returns the exit status.

pub mod container;
pub mod image;
pub mod volume;
