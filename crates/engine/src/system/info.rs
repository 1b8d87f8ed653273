//! `info`: counts of what the engine holds and facts about the machine.

use std::path::PathBuf;

use berth_container::model::{self, Status};
use berth_container::LogConfig;

use crate::container::lifecycle;
use crate::system::host::{self, RuntimeFacts};
use crate::{Engine, Result};

/// `info`'s facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    pub containers: usize,
    pub containers_running: usize,
    pub containers_paused: usize,
    pub containers_stopped: usize,
    pub images: usize,
    /// `local`, then the volume plugins found (dockerd's Plugins.Volume).
    pub volume_drivers: Vec<String>,
    pub root: PathBuf,
    /// This root's engine ID (made once, kept in `engine-id`).
    pub id: String,
    /// The filesystem the layers live on (dockerd's name) and whether it
    /// gives directory entries their type (overlayfs needs it).
    pub backing_filesystem: String,
    pub supports_d_type: bool,
    pub default_runtime: String,
    /// Every runtime installed that berth can run containers with.
    pub runtimes: Vec<RuntimeFacts>,
    /// The static tini `--init` mounts, and its version ("" when absent).
    pub init_binary: Option<PathBuf>,
    pub init_version: (String, String),
    pub cgroup_features: berth_runtime::CgroupFeatures,
    pub ipv4_forwarding: bool,
    pub bridge_nf_iptables: bool,
    pub bridge_nf_ip6tables: bool,
    pub kernel_version: String,
    pub operating_system: String,
    /// `VERSION_ID` of os-release ("12").
    pub os_version: String,
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
    /// `insecure-registries` of the daemon config, after dockerd's default
    /// (`127.0.0.0/8`).
    pub insecure_registries: Vec<String>,
    /// Docker Hub's mirrors (`registry-mirrors` of the daemon config), as
    /// dockerd shows them (`Mirror::url`).
    pub registry_mirrors: Vec<String>,
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
        let cgroup_features = berth_runtime::cgroup_features();
        let cgroup_version = host::cgroup_version();
        let ipv4_forwarding = host::sysctl_on("/proc/sys/net/ipv4/ip_forward");
        let bridge_nf_iptables = host::sysctl_on("/proc/sys/net/bridge/bridge-nf-call-iptables");
        let bridge_nf_ip6tables = host::sysctl_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
        // dockerd's warnings, then berth's own about confinement.
        let mut warnings = cgroup_features.warnings(cgroup_version == "2");
        if !ipv4_forwarding {
            warnings.push("WARNING: IPv4 forwarding is disabled".into());
        }
        if !bridge_nf_iptables {
            warnings.push("WARNING: bridge-nf-call-iptables is disabled".into());
        }
        if !bridge_nf_ip6tables {
            warnings.push("WARNING: bridge-nf-call-ip6tables is disabled".into());
        }
        warnings.extend(security.warnings);
        let init_binary = crate::monitor::init_binary();
        let layers = self.store.layers_dir();
        let (running, paused) = (count(Status::Running), count(Status::Paused));
        // An unreadable daemon.json fails pulls, with its reason.
        let registry = berth_registry::RegistrySettings::from_env().ok();
        Ok(SystemInfo {
            containers: containers.len(),
            containers_running: running,
            containers_paused: paused,
            containers_stopped: containers.len() - running - paused,
            images: berth_image::list(&self.store)?.len(),
            volume_drivers: volume_drivers(),
            root: self.config.root.clone(),
            id: host::engine_id(&self.config.root),
            backing_filesystem: host::backing_filesystem(&layers),
            supports_d_type: host::supports_d_type(&layers),
            runtimes: host::runtimes(&runtime),
            default_runtime: runtime,
            init_version: init_binary
                .as_deref()
                .map(host::version_and_commit)
                .unwrap_or_default(),
            init_binary,
            cgroup_features,
            ipv4_forwarding,
            bridge_nf_iptables,
            bridge_nf_ip6tables,
            kernel_version: host::kernel_version(),
            operating_system: host::operating_system(),
            os_version: host::os_version(),
            architecture: std::env::consts::ARCH,
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total: host::memory_total(),
            hostname: host::hostname(),
            cgroup_version,
            security_options: security.options,
            // An unreadable daemon.json fails creates, with its reason.
            logging_driver: LogConfig::from_daemon_json(&berth_registry::daemon_config_path())
                .map_or_else(|_| LogConfig::json_file().driver, |c| c.driver),
            log_drivers: berth_container::logs::config::LOG_DRIVERS.to_vec(),
            insecure_registries: std::iter::once("127.0.0.0/8".to_string())
                .chain(
                    registry
                        .as_ref()
                        .map(|r| r.insecure.clone())
                        .unwrap_or_default(),
                )
                .collect(),
            registry_mirrors: registry
                .as_ref()
                .map(|r| r.mirrors_of("docker.io").iter().map(|m| m.url()).collect())
                .unwrap_or_default(),
            warnings,
        })
    }
}

/// The built-in volume drivers, then every discovered plugin that says it
/// implements `VolumeDriver`.
fn volume_drivers() -> Vec<String> {
    let plugins =
        berth_volume::plugin::discovered()
            .into_iter()
            .filter_map(|(found, activated)| {
                let implements = activated.ok()?.implements;
                implements
                    .iter()
                    .any(|i| i == berth_volume::plugin::VOLUME_DRIVER)
                    .then_some(found.name)
            });
    berth_volume::DRIVERS
        .iter()
        .map(|d| d.to_string())
        .chain(plugins)
        .collect()
}
