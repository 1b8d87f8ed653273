//! `info`: counts of what the engine holds and facts about the machine.

use std::path::PathBuf;

use berth_container::model::{self, Status};
use berth_container::LogConfig;

use crate::container::lifecycle;
use crate::system::host;
use crate::{Engine, Result};

/// `info`'s facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    pub containers: usize,
    pub containers_running: usize,
    pub containers_paused: usize,
    pub containers_stopped: usize,
    pub images: usize,
    pub volumes: usize,
    pub volume_drivers: Vec<&'static str>,
    pub root: PathBuf,
    pub default_runtime: String,
    pub kernel_version: String,
    pub operating_system: String,
    /// Rust's name for the architecture (`x86_64`), as Docker's `info` shows
    /// the kernel's.
    pub architecture: &'static str,
    pub ncpu: usize,
    pub mem_total: u64,
    pub hostname: String,
    pub cgroup_version: &'static str,
    /// dockerd's `SecurityOptions` (`name=seccomp,profile=builtin`...).
    pub security_options: Vec<String>,
    /// The default logging driver (`daemon.json`'s `log-driver`) and the
    /// drivers there are.
    pub logging_driver: String,
    pub log_drivers: Vec<&'static str>,
    /// `WARNING: ...` lines, as dockerd's `Warnings`.
    pub warnings: Vec<String>,
}

impl Engine {
    pub fn system_info(&mut self) -> Result<SystemInfo> {
        let runtime = self.config.default_runtime.clone();
        let security = crate::security::host_security(&runtime);
        let mut containers = model::list(&self.store)?;
        for c in containers.iter_mut() {
            lifecycle::reconcile(&mut self.store, &self.config.run_dir, c)?;
        }
        let count = |s: Status| containers.iter().filter(|c| c.state.status == s).count();
        let (running, paused) = (count(Status::Running), count(Status::Paused));
        Ok(SystemInfo {
            containers: containers.len(),
            containers_running: running,
            containers_paused: paused,
            containers_stopped: containers.len() - running - paused,
            images: berth_image::list(&self.store)?.len(),
            volumes: berth_volume::list(&self.store)?.len(),
            volume_drivers: berth_volume::DRIVERS.to_vec(),
            root: self.config.root.clone(),
            default_runtime: runtime,
            kernel_version: host::kernel_version(),
            operating_system: host::operating_system(),
            architecture: std::env::consts::ARCH,
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total: host::memory_total(),
            hostname: host::hostname(),
            cgroup_version: host::cgroup_version(),
            security_options: security.options,
            // An unreadable daemon.json fails creates, with its reason.
            logging_driver: LogConfig::from_daemon_json(&berth_registry::daemon_config_path())
                .map_or_else(|_| LogConfig::json_file().driver, |c| c.driver),
            log_drivers: berth_container::logs::config::LOG_DRIVERS.to_vec(),
            warnings: security.warnings,
        })
    }
}
