//! `version`: what this engine is and runs on.

use crate::system::host;
use crate::Engine;

/// The Docker Engine API version berth's API speaks (Docker 26.1's).
pub const API_VERSION: &str = "1.45";
/// The oldest API version it accepts, as dockerd's.
pub const MIN_API_VERSION: &str = "1.24";

/// `version`'s facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// berth's own version.
    pub version: &'static str,
    pub api_version: &'static str,
    pub min_api_version: &'static str,
    /// `linux/<Go arch>`.
    pub os: &'static str,
    pub arch: &'static str,
    pub kernel_version: String,
    /// The default OCI runtime and its version ("" when it cannot run).
    pub runtime: String,
    pub runtime_version: String,
}

impl Engine {
    pub fn system_version(&self) -> VersionInfo {
        let runtime = self.config.default_runtime.clone();
        VersionInfo {
            version: env!("CARGO_PKG_VERSION"),
            api_version: API_VERSION,
            min_api_version: MIN_API_VERSION,
            os: "linux",
            arch: host::go_arch(),
            kernel_version: host::kernel_version(),
            runtime_version: runtime_version(&runtime),
            runtime,
        }
    }
}

/// `RUNTIME --version`'s version number ("1.1.5+ds1"), or "" if it cannot run.
fn runtime_version(runtime: &str) -> String {
    berth_runtime::runtime_binary(runtime)
        .map(|binary| host::version_and_commit(&binary).0)
        .unwrap_or_default()
}
