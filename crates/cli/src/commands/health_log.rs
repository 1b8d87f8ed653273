//! `create`/`run`'s healthcheck and logging flags, as the docker CLI has
//! them; what they mean is the engine's (`HealthOptions`, `LogConfig`).

use anyhow::{anyhow, Result};
use berth_engine::model::{HealthConfig, HealthOptions, LogConfig};
use clap::Args;

/// A Go duration flag (`1s`, `1m30s`), in nanoseconds.
fn duration(text: &str) -> Result<i64> {
    berth_engine::units::parse_go_duration(text)
        .ok_or_else(|| anyhow!("time: invalid duration {text:?}"))
}

#[derive(Args, Debug, Clone)]
pub struct HealthLogFlags {
    /// Command to run to check health
    #[arg(long = "health-cmd")]
    health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long = "health-interval", value_parser = duration, default_value = "0s")]
    health_interval: i64,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long = "health-timeout", value_parser = duration, default_value = "0s")]
    health_timeout: i64,
    /// Consecutive failures needed to report unhealthy
    #[arg(
        long = "health-retries",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    health_retries: i64,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-period", value_parser = duration, default_value = "0s")]
    health_start_period: i64,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-interval", value_parser = duration, default_value = "0s")]
    health_start_interval: i64,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    no_healthcheck: bool,
    /// Logging driver for the container
    #[arg(long = "log-driver")]
    log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt")]
    log_opt: Vec<String>,
}

impl HealthLogFlags {
    pub fn healthcheck(&self) -> Result<Option<HealthConfig>> {
        Ok(HealthOptions {
            cmd: self.health_cmd.clone(),
            interval: self.health_interval,
            timeout: self.health_timeout,
            start_period: self.health_start_period,
            start_interval: self.health_start_interval,
            retries: self.health_retries,
            disable: self.no_healthcheck,
        }
        .config()?)
    }

    pub fn log_config(&self) -> Result<LogConfig> {
        Ok(LogConfig::from_cli(
            self.log_driver.as_deref(),
            &self.log_opt,
        )?)
    }
}
