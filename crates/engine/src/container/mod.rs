//! Container operations.

pub mod create;
pub mod filter;
pub mod lifecycle;
pub mod ops;
