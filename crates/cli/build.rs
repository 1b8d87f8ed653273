//! Links `berth` as a position-dependent executable. Every running container
//! has a monitor (this binary re-executed); as a PIE, each monitor would
//! relocate the binary's read-only data at start and keep private dirty copies
//! of those pages (~0.6 MiB each). Without PIE the linker resolves them once,
//! and the pages stay clean and shared between all monitors.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
