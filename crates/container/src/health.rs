//! Healthchecks as Docker defines them: the configuration (the image's
//! `HEALTHCHECK` merged with the request's, checked at create) and the state
//! a container's checks build up (status, failing streak, the last results).
//!
//! The monitor runs the checks on its timer (berth-engine's
//! `monitor::health`); [`crate::state::record_health`] is what writes their
//! results, with the rules of [`Health::record`] (dockerd's
//! `handleProbeResult`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ContainerError;

/// dockerd's defaults for the zero values of [`HealthConfig`].
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: i64 = 3;
/// How many results `State.Health.Log` keeps.
pub const MAX_LOG_ENTRIES: usize = 5;
/// How much of a check's output a result keeps (then "..." as Docker).
pub const MAX_OUTPUT: usize = 4096;

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Docker's `HealthConfig` (`Config.Healthcheck`): durations in nanoseconds,
/// zero meaning "the default" (or, in a request, "the image's").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `[]` (inherit), `["NONE"]`, `["CMD", arg...]` or `["CMD-SHELL", command]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn duration_or(ns: i64, default: Duration) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        default
    }
}

impl HealthConfig {
    /// dockerd's merge of a request's healthcheck with the image's: no
    /// request keeps the image's; each zero field of the request takes the
    /// image's value.
    pub fn merge(
        request: Option<HealthConfig>,
        image: Option<HealthConfig>,
    ) -> Option<HealthConfig> {
        let Some(mut c) = request else {
            return image;
        };
        if let Some(image) = image {
            if c.test.is_empty() {
                c.test = image.test;
            }
            for (mine, theirs) in [
                (&mut c.interval, image.interval),
                (&mut c.timeout, image.timeout),
                (&mut c.start_period, image.start_period),
                (&mut c.start_interval, image.start_interval),
                (&mut c.retries, image.retries),
            ] {
                if *mine == 0 {
                    *mine = theirs;
                }
            }
        }
        Some(c)
    }

    /// dockerd's checks (`validateHealthCheck`, with its words), plus a
    /// refusal of test types dockerd would only warn about and never run.
    pub fn validate(&self) -> Result<(), ContainerError> {
        let invalid = |m: String| Err(ContainerError::InvalidArgument(m));
        for (name, ns) in [
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
        ] {
            if ns != 0 && ns < 1_000_000 {
                return invalid(format!("{name} in Healthcheck cannot be less than 1ms"));
            }
        }
        if self.retries < 0 {
            return invalid("Retries in Healthcheck cannot be negative".into());
        }
        match self.test.first().map(String::as_str) {
            None | Some("NONE") => Ok(()),
            Some("CMD" | "CMD-SHELL") if self.test.len() < 2 || self.test[1].is_empty() => {
                invalid(format!("Healthcheck {} needs a command", self.test[0]))
            }
            Some("CMD" | "CMD-SHELL") => Ok(()),
            Some(other) => invalid(format!(
                "unknown Healthcheck type '{other}' (expected 'CMD', 'CMD-SHELL' or 'NONE')"
            )),
        }
    }

    /// The command a check runs: `CMD` as given, `CMD-SHELL` through `shell`
    /// (the image's `SHELL`, else `/bin/sh -c`); `None` when no check runs.
    pub fn command(&self, shell: &[String]) -> Option<Vec<String>> {
        let (kind, rest) = self.test.split_first()?;
        match kind.as_str() {
            "CMD" => Some(rest.to_vec()),
            "CMD-SHELL" if shell.is_empty() => Some(
                ["/bin/sh", "-c"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain(rest.iter().cloned())
                    .collect(),
            ),
            "CMD-SHELL" => Some(shell.iter().chain(rest).cloned().collect()),
            _ => None,
        }
    }

    /// Whether checks run at all.
    pub fn is_active(&self) -> bool {
        matches!(
            self.test.first().map(String::as_str),
            Some("CMD" | "CMD-SHELL")
        )
    }

    pub fn interval(&self) -> Duration {
        duration_or(self.interval, DEFAULT_INTERVAL)
    }

    pub fn timeout(&self) -> Duration {
        duration_or(self.timeout, DEFAULT_TIMEOUT)
    }

    pub fn start_period(&self) -> Duration {
        duration_or(self.start_period, Duration::ZERO)
    }

    pub fn start_interval(&self) -> Duration {
        duration_or(self.start_interval, DEFAULT_START_INTERVAL)
    }

    pub fn retries(&self) -> i64 {
        if self.retries > 0 {
            self.retries
        } else {
            DEFAULT_RETRIES
        }
    }

    /// dockerd's wait before the next check: the start interval while the
    /// container is in its start period and still `starting`, else the
    /// interval.
    pub fn next_delay(&self, since_start: Duration, status: HealthStatus) -> Duration {
        if since_start < self.start_period() && status == HealthStatus::Starting {
            self.start_interval()
        } else {
            self.interval()
        }
    }
}

/// The `--health-*` and `--no-healthcheck` options of `create`/`run`
/// (durations in nanoseconds, as given: they may be negative).
#[derive(Debug, Clone, Default)]
pub struct HealthOptions {
    pub cmd: Option<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub start_interval: i64,
    pub retries: i64,
    pub disable: bool,
}

impl HealthOptions {
    /// The request's `Config.Healthcheck` as the docker CLI builds it
    /// (with its words): none when no option is given, so that the image's
    /// applies; `["NONE"]` for `--no-healthcheck`; `--health-cmd` run by
    /// the shell.
    pub fn config(&self) -> Result<Option<HealthConfig>, ContainerError> {
        let invalid = |m: &str| Err(ContainerError::InvalidArgument(m.to_string()));
        let durations = [
            ("--health-interval", self.interval),
            ("--health-timeout", self.timeout),
            ("--health-start-period", self.start_period),
            ("--health-start-interval", self.start_interval),
        ];
        let any = self.cmd.as_deref().is_some_and(|c| !c.is_empty())
            || self.retries != 0
            || durations.iter().any(|(_, ns)| *ns != 0);
        if self.disable {
            if any {
                return invalid("--no-healthcheck conflicts with --health-* options");
            }
            return Ok(Some(HealthConfig {
                test: vec!["NONE".into()],
                ..Default::default()
            }));
        }
        if !any {
            return Ok(None);
        }
        for (flag, ns) in durations {
            if ns < 0 {
                return invalid(&format!("{flag} cannot be negative"));
            }
        }
        if self.retries < 0 {
            return invalid("--health-retries cannot be negative");
        }
        Ok(Some(HealthConfig {
            test: match self.cmd.as_deref() {
                Some(cmd) if !cmd.is_empty() => vec!["CMD-SHELL".into(), cmd.into()],
                _ => Vec::new(),
            },
            interval: self.interval,
            timeout: self.timeout,
            start_period: self.start_period,
            start_interval: self.start_interval,
            retries: self.retries,
        }))
    }
}

/// Go's `time.ParseDuration` (`1s`, `-1.5h`, `2m30s`, `0`), in
/// nanoseconds; `None` for anything else.
pub fn parse_go_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|n| *n > 0)?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(if negative {
        -(total as i64)
    } else {
        total as i64
    })
}

/// `State.Health.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One check's result (`State.Health.Log[]`); times are RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    /// The check's exit status; -1 when it timed out or could not run.
    pub exit_code: i64,
    pub output: String,
}

/// `State.Health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: i64,
    pub log: Vec<HealthResult>,
}

impl Health {
    /// The state a (re)start begins with: `starting`, no failures, the
    /// results of earlier runs kept (as dockerd's `initHealthMonitor`).
    pub fn starting(previous: Option<Health>) -> Health {
        Health {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: previous.map(|h| h.log).unwrap_or_default(),
        }
    }

    /// Applies a result as dockerd's `handleProbeResult`: success makes the
    /// container healthy; a failure counts towards `retries` unless the
    /// container is still starting within its start period. Returns whether
    /// the status changed.
    pub fn record(&mut self, result: HealthResult, retries: i64, in_start_period: bool) -> bool {
        let before = self.status;
        let succeeded = result.exit_code == 0;
        if self.log.len() >= MAX_LOG_ENTRIES {
            self.log.drain(..=self.log.len() - MAX_LOG_ENTRIES);
        }
        self.log.push(result);
        if succeeded {
            self.failing_streak = 0;
            self.status = HealthStatus::Healthy;
        } else if !(self.status == HealthStatus::Starting && in_start_period) {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = HealthStatus::Unhealthy;
            }
        }
        self.status != before
    }
}

/// A check's output as a result keeps it: the first [`MAX_OUTPUT`] bytes,
/// then "..." if there was more (dockerd's `limitedBuffer`).
#[derive(Debug, Default)]
pub struct LimitedOutput {
    bytes: Vec<u8>,
    truncated: bool,
}

impl LimitedOutput {
    pub fn push(&mut self, data: &[u8]) {
        let keep = (MAX_OUTPUT - self.bytes.len()).min(data.len());
        self.bytes.extend_from_slice(&data[..keep]);
        self.truncated |= keep < data.len();
    }

    pub fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.truncated {
            s.push_str("...");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(test: &[&str]) -> HealthConfig {
        HealthConfig {
            test: test.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn result(code: i64) -> HealthResult {
        HealthResult {
            start: "s".into(),
            end: "e".into(),
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn requests_merge_with_the_image_as_dockerd_merges_them() {
        let image = HealthConfig {
            interval: 5,
            retries: 2,
            ..cfg(&["CMD-SHELL", "true"])
        };
        assert_eq!(
            HealthConfig::merge(None, Some(image.clone())),
            Some(image.clone())
        );
        let request = HealthConfig {
            interval: 7,
            ..Default::default()
        };
        let merged = HealthConfig::merge(Some(request), Some(image.clone())).unwrap();
        assert_eq!(
            (merged.test.clone(), merged.interval, merged.retries),
            (image.test, 7, 2)
        );
        let none = HealthConfig::merge(Some(cfg(&["NONE"])), Some(merged)).unwrap();
        assert!(!none.is_active());
    }

    #[test]
    fn configs_are_checked_with_dockerds_words() {
        let e = |c: HealthConfig| c.validate().unwrap_err().to_string();
        assert_eq!(
            e(HealthConfig {
                interval: 10,
                ..cfg(&["CMD", "true"])
            }),
            "Interval in Healthcheck cannot be less than 1ms"
        );
        assert_eq!(
            e(HealthConfig {
                retries: -1,
                ..cfg(&["CMD", "true"])
            }),
            "Retries in Healthcheck cannot be negative"
        );
        assert!(e(cfg(&["CMD-SHELL"])).contains("needs a command"));
        assert!(e(cfg(&["HTTP", "x"])).contains("unknown Healthcheck type 'HTTP'"));
        assert!(cfg(&["NONE"]).validate().is_ok());
    }

    #[test]
    fn commands_use_the_images_shell() {
        assert_eq!(
            cfg(&["CMD-SHELL", "exit 1"]).command(&[]).unwrap(),
            ["/bin/sh", "-c", "exit 1"]
        );
        let shell = vec!["/bin/bash".to_string(), "-ec".to_string()];
        assert_eq!(
            cfg(&["CMD-SHELL", "x"]).command(&shell).unwrap(),
            ["/bin/bash", "-ec", "x"]
        );
        assert_eq!(cfg(&["CMD", "a", "b"]).command(&shell).unwrap(), ["a", "b"]);
        assert!(cfg(&["NONE"]).command(&[]).is_none());
    }

    #[test]
    fn results_move_the_status_as_dockerd() {
        let mut h = Health::starting(None);
        // Failures within the start period do not count while starting.
        assert!(!h.record(result(1), 2, true));
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        assert!(!h.record(result(1), 2, false));
        assert!(h.record(result(1), 2, false));
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Unhealthy, 2));
        // The streak keeps counting past the retries.
        h.record(result(-1), 2, false);
        assert_eq!(h.failing_streak, 3);
        assert!(h.record(result(0), 2, false));
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
        // Once healthy, the start period no longer protects.
        h.record(result(1), 1, true);
        assert_eq!(h.status, HealthStatus::Unhealthy);
        for _ in 0..10 {
            h.record(result(0), 1, false);
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
        let restarted = Health::starting(Some(h));
        assert_eq!(
            (
                restarted.status,
                restarted.failing_streak,
                restarted.log.len()
            ),
            (HealthStatus::Starting, 0, MAX_LOG_ENTRIES)
        );
    }

    #[test]
    fn the_start_interval_applies_while_starting_in_the_start_period() {
        let c = HealthConfig {
            interval: 10_000_000_000,
            start_period: 60_000_000_000,
            start_interval: 1_000_000_000,
            ..cfg(&["CMD", "true"])
        };
        let s = Duration::from_secs;
        assert_eq!(c.next_delay(s(1), HealthStatus::Starting), s(1));
        assert_eq!(c.next_delay(s(1), HealthStatus::Healthy), s(10));
        assert_eq!(c.next_delay(s(61), HealthStatus::Starting), s(10));
        assert_eq!(
            cfg(&["CMD", "x"]).next_delay(s(0), HealthStatus::Starting),
            s(30)
        );
    }

    #[test]
    fn cli_options_become_a_healthcheck_as_the_docker_cli_builds_it() {
        assert_eq!(HealthOptions::default().config().unwrap(), None);
        let o = HealthOptions {
            cmd: Some("curl -f localhost".into()),
            interval: 1_000_000_000,
            retries: 2,
            ..Default::default()
        };
        let c = o.config().unwrap().unwrap();
        assert_eq!(c.test, ["CMD-SHELL", "curl -f localhost"]);
        assert_eq!((c.interval, c.retries), (1_000_000_000, 2));
        // Options without a command keep the image's test.
        let o = HealthOptions {
            timeout: 5,
            ..Default::default()
        };
        assert!(o.config().unwrap().unwrap().test.is_empty());
        let off = HealthOptions {
            disable: true,
            ..Default::default()
        };
        assert_eq!(off.config().unwrap().unwrap().test, ["NONE"]);
        let e = |o: HealthOptions| o.config().unwrap_err().to_string();
        assert_eq!(
            e(HealthOptions { retries: 1, ..off }),
            "--no-healthcheck conflicts with --health-* options"
        );
        assert_eq!(
            e(HealthOptions {
                interval: -1,
                ..Default::default()
            }),
            "--health-interval cannot be negative"
        );
    }

    #[test]
    fn durations_parse_as_go_parses_them() {
        assert_eq!(parse_go_duration("1s"), Some(1_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_go_duration("-2s"), Some(-2_000_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        for bad in ["", "1", "s", "1x", "-"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn output_is_cut_at_4k_as_dockerd_cuts_it() {
        let mut out = LimitedOutput::default();
        out.push(&[b'a'; 3000]);
        out.push(&[b'b'; 2000]);
        let text = out.text();
        assert_eq!(text.len(), MAX_OUTPUT + 3);
        assert!(text.ends_with("bb..."));
    }
}
