//! Image operations.

pub mod build;
