#![recursion_limit = "512"]
//! berth-docker: Docker's wire model, shared by berth's two Docker front ends.
//!
//! The `berth` CLI and `berth serve` both speak Docker's language; the
//! documents they show (a container's `inspect`, ...) are built here once,
//! from the engine's typed results, so that the CLI prints exactly what the
//! Engine API serves (and what the docker CLI would print from it). Docker's
//! quirks in these documents are kept deliberately and marked
//! `Docker quirk:`. A CRI front end does not use this crate.

pub mod build;
pub mod detach_keys;
pub mod events;
pub mod info;
pub mod inspect;
pub mod names;
