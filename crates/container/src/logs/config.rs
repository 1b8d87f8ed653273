//! A container's logging configuration: Docker's `HostConfig.LogConfig`
//! (`--log-driver`, `--log-opt`, the daemon's `log-driver`/`log-opts`),
//! checked completely at create with dockerd's words, and what it means for
//! the monitor's writer ([`LogSettings`]).
//!
//! Drivers:
//! * `json-file`: `ID-json.log`, Docker's format and rotation (`max-size`,
//!   `max-file`, `compress`), entries carrying `attrs` for `labels`,
//!   `labels-regex`, `env`, `env-regex` and `tag`;
//! * `local`: Docker's default-rotation driver (20 MB, 5 files, compressed).
//!   berth writes it in the json-file format (Docker's is protobuf frames),
//!   at `local-logs/container.log` as Docker places it;
//! * `none`: nothing is written and `logs` is refused.
//! * `cri` (berth's, for `berth cri`): the Kubernetes CRI log format
//!   (`2016-10-06T00:17:09.669794202Z stdout F text`, `P` for a partial
//!   line) at the absolute `path` its one option names (the container's
//!   `log_path` under its pod's log directory), which kubelet reads and
//!   rotates itself; `logs` refuses it as Docker refuses a driver it cannot
//!   read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Container, Paths};
use crate::ContainerError;

/// Docker's `LogConfig` as stored with the container and shown by inspect.
/// In a request, an empty driver means the daemon's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub driver: String,
    #[serde(rename = "Config", default)]
    pub options: BTreeMap<String, String>,
}

/// What a container's log driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogDriver {
    JsonFile,
    Local,
    None,
    /// The CRI log format at an absolute path (`berth cri`'s containers).
    Cri,
}

/// A container's logging, parsed: where the monitor writes and how it rotates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub driver: LogDriver,
    /// Rotate once a file reaches this many bytes (`None`: never).
    pub max_size: Option<u64>,
    /// How many files to keep, the live one included.
    pub max_file: u32,
    /// Gzip the rotated files.
    pub compress: bool,
    /// `labels`, `labels-regex`, `env`, `env-regex`: the container's labels
    /// and environment variables to add to each entry.
    labels: Vec<String>,
    labels_regex: Option<String>,
    env: Vec<String>,
    env_regex: Option<String>,
    /// `tag`'s template, "" for none.
    tag: String,
    /// The `cri` driver's file.
    cri_path: Option<PathBuf>,
}

/// The drivers that keep logs (`info`'s `Plugins.Log`, which as Docker's
/// does not list `none`).
pub const LOG_DRIVERS: &[&str] = &["json-file", "local"];

const JSON_FILE_OPTIONS: &[&str] = &[
    "max-file",
    "max-size",
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];
const LOCAL_OPTIONS: &[&str] = &["max-file", "max-size", "compress"];
const CRI_OPTIONS: &[&str] = &["path"];
/// Drivers dockerd has and berth does not.
const DOCKER_ONLY_DRIVERS: &[&str] = &[
    "syslog",
    "journald",
    "gelf",
    "fluentd",
    "awslogs",
    "splunk",
    "etwlogs",
    "gcplogs",
    "logentries",
];

fn invalid(message: String) -> ContainerError {
    ContainerError::InvalidArgument(message)
}

/// dockerd reports option values it cannot use when it starts the logger.
fn init_failed(message: impl std::fmt::Display) -> ContainerError {
    invalid(format!("failed to initialize logging driver: {message}"))
}

/// go-units `FromHumanSize`: decimal units (`100k` = 100000), an optional
/// `i` and `b`, case-insensitive.
pub fn parse_human_size(text: &str) -> Option<u64> {
    let bad = || None;
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty()
        || number.starts_with('.')
        || number.ends_with('.')
        || number.contains("..")
    {
        return bad();
    }
    let value: f64 = number.parse().ok()?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let mut rest = unit.as_str();
    let mut multiplier = 1f64;
    if let Some(c) = rest.chars().next() {
        if let Some(power) = "kmgtp".find(c) {
            multiplier = 1000f64.powi(power as i32 + 1);
            rest = &rest[1..];
        }
    }
    let rest = rest.strip_prefix('i').unwrap_or(rest);
    let rest = rest.strip_prefix('b').unwrap_or(rest);
    if !rest.is_empty() {
        return bad();
    }
    Some((value * multiplier) as u64)
}

fn go_atoi(value: &str) -> Result<i64, ContainerError> {
    value
        .parse()
        .map_err(|_| init_failed(format!("strconv.Atoi: parsing {value:?}: invalid syntax")))
}

fn go_parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn comma_list(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn compile(option: &str, pattern: &str) -> Result<regex::Regex, ContainerError> {
    regex::Regex::new(pattern)
        .map_err(|e| init_failed(format!("{option}: error parsing regexp: {e}")))
}

/// The fields a `tag` template may name (Docker's `logger.Info` methods).
const TAG_FIELDS: &[&str] = &[
    "ID",
    "FullID",
    "Name",
    "ImageID",
    "ImageFullID",
    "ImageName",
    "DaemonName",
];

/// Expands a `tag` template of `{{.Field}}` references; anything else in
/// braces is refused (berth does not run Go templates here).
fn expand_tag(template: &str, field: impl Fn(&str) -> String) -> Result<String, ContainerError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| init_failed(format!("tag {template:?}: unclosed action")))?;
        let name = after[..close].trim();
        match name.strip_prefix('.') {
            Some(f) if TAG_FIELDS.contains(&f) => out.push_str(&field(f)),
            _ => {
                return Err(init_failed(format!(
                    "tag {template:?}: berth expands only {}",
                    TAG_FIELDS
                        .iter()
                        .map(|f| format!("{{{{.{f}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

impl LogConfig {
    /// json-file without options: dockerd's default, and what records from
    /// before logging was configurable were written with.
    pub fn json_file() -> LogConfig {
        LogConfig {
            driver: "json-file".into(),
            options: BTreeMap::new(),
        }
    }

    /// `--log-driver` and `--log-opt KEY=VALUE` as the docker CLI reads them
    /// (a bare `KEY` has an empty value); no driver means the daemon's.
    pub fn from_cli(driver: Option<&str>, options: &[String]) -> Result<LogConfig, ContainerError> {
        let driver = driver.unwrap_or_default();
        if driver == "none" && !options.is_empty() {
            return Err(invalid(format!("invalid logging opts for driver {driver}")));
        }
        Ok(LogConfig {
            driver: driver.to_string(),
            options: options
                .iter()
                .map(|o| match o.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (o.clone(), String::new()),
                })
                .collect(),
        })
    }

    /// The configuration a container gets: the request's, with the daemon's
    /// driver when it names none and the daemon's options for the keys it
    /// does not set when the drivers are the same (dockerd's
    /// `mergeAndVerifyLogConfig`).
    pub fn merge(request: &LogConfig, daemon: &LogConfig) -> LogConfig {
        let mut merged = request.clone();
        if merged.driver.is_empty() {
            merged.driver = daemon.driver.clone();
        }
        if merged.driver == daemon.driver {
            for (k, v) in &daemon.options {
                merged.options.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        merged
    }

    /// The daemon's defaults from a `daemon.json` (`log-driver`,
    /// `log-opts`); json-file without options when the file or the keys
    /// are missing.
    pub fn from_daemon_json(path: &Path) -> Result<LogConfig, ContainerError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LogConfig::json_file()),
            Err(e) => return Err(ContainerError::io(path, e)),
        };
        #[derive(Deserialize)]
        struct Daemon {
            #[serde(rename = "log-driver", default)]
            driver: String,
            #[serde(rename = "log-opts", default)]
            options: BTreeMap<String, String>,
        }
        let daemon: Daemon =
            serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        let config = LogConfig {
            driver: if daemon.driver.is_empty() {
                "json-file".into()
            } else {
                daemon.driver
            },
            options: daemon.options,
        };
        config
            .settings()
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        Ok(config)
    }

    /// Parses and checks the configuration as dockerd does when it
    /// validates the options at create and starts the logger.
    pub fn settings(&self) -> Result<LogSettings, ContainerError> {
        let (driver, known) = match self.driver.as_str() {
            "json-file" => (LogDriver::JsonFile, JSON_FILE_OPTIONS),
            "local" => (LogDriver::Local, LOCAL_OPTIONS),
            "none" => (LogDriver::None, &[][..]),
            "cri" => (LogDriver::Cri, CRI_OPTIONS),
            d if DOCKER_ONLY_DRIVERS.contains(&d) => {
                return Err(invalid(format!(
                    "logging driver {d:?} is not supported by berth (json-file, local, none)"
                )))
            }
            d => {
                return Err(invalid(format!(
                    "error looking up logging plugin {d}: plugin \"{d}\" not found"
                )))
            }
        };
        let o = &self.options;
        if let Some(key) = o.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(match driver {
                LogDriver::JsonFile => format!("unknown log opt '{key}' for json-file log driver"),
                LogDriver::Local => format!("unknown log opt '{key}' for log driver local"),
                LogDriver::Cri => format!("unknown log opt '{key}' for the cri log driver (path)"),
                // dockerd ignores them: berth refuses what it would drop.
                LogDriver::None => {
                    format!("log opt '{key}' has no effect with the none log driver")
                }
            }));
        }
        let mut s = LogSettings {
            driver,
            max_size: None,
            max_file: 1,
            compress: false,
            labels: comma_list(o.get("labels")),
            labels_regex: o.get("labels-regex").filter(|v| !v.is_empty()).cloned(),
            env: comma_list(o.get("env")),
            env_regex: o.get("env-regex").filter(|v| !v.is_empty()).cloned(),
            tag: o.get("tag").cloned().unwrap_or_default(),
            cri_path: None,
        };
        match driver {
            LogDriver::None => {}
            LogDriver::Cri => {
                let path = o.get("path").map(PathBuf::from).unwrap_or_default();
                if !path.is_absolute() {
                    return Err(invalid(
                        "the cri log driver needs an absolute path option".into(),
                    ));
                }
                s.cri_path = Some(path);
            }
            LogDriver::JsonFile => {
                if let Some(size) = o.get("max-size") {
                    let n = parse_human_size(size)
                        .ok_or_else(|| init_failed(format!("invalid size: '{size}'")))?;
                    if n == 0 {
                        return Err(init_failed("max-size must be a positive number"));
                    }
                    s.max_size = Some(n);
                }
                if let Some(files) = o.get("max-file") {
                    let n = go_atoi(files)?;
                    if n < 1 {
                        return Err(init_failed("max-file cannot be less than 1"));
                    }
                    s.max_file = u32::try_from(n).unwrap_or(u32::MAX);
                }
                if let Some(compress) = o.get("compress") {
                    s.compress = go_parse_bool(compress).ok_or_else(|| {
                        init_failed(format!(
                            "strconv.ParseBool: parsing {compress:?}: invalid syntax"
                        ))
                    })?;
                    if s.compress && (s.max_file == 1 || s.max_size.is_none()) {
                        return Err(init_failed(
                            "compress cannot be true when max-file is less than 2 or max-size is not set",
                        ));
                    }
                }
                if let Some(re) = &s.labels_regex {
                    compile("labels-regex", re)?;
                }
                if let Some(re) = &s.env_regex {
                    compile("env-regex", re)?;
                }
                expand_tag(&s.tag, |_| String::new())?;
            }
            LogDriver::Local => {
                // Docker's local defaults: 20 MB, 5 files, compressed.
                s.max_size = Some(20 * 1024 * 1024);
                s.max_file = 5;
                s.compress = true;
                if let Some(size) = o.get("max-size") {
                    s.max_size = Some(parse_human_size(size).ok_or_else(|| {
                        init_failed(format!(
                            "invalid value for max-size: {size}: invalid size: '{size}'"
                        ))
                    })?)
                    .filter(|n| *n > 0);
                }
                if let Some(files) = o.get("max-file") {
                    let n: i64 = files.parse().map_err(|_| {
                        init_failed(format!(
                            "invalid value for max-file: {files}: strconv.Atoi: parsing {files:?}: invalid syntax"
                        ))
                    })?;
                    if n < 0 {
                        return Err(init_failed("max-file cannot be less than 0"));
                    }
                    s.max_file = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
                }
                if let Some(compress) = o.get("compress") {
                    s.compress = go_parse_bool(compress).ok_or_else(|| {
                        init_failed(format!(
                            "error reading compress log option: strconv.ParseBool: parsing {compress:?}: invalid syntax"
                        ))
                    })?;
                }
                if s.compress && s.max_file <= 1 {
                    return Err(init_failed(
                        "compression cannot be enabled when max file count is 1",
                    ));
                }
            }
        }
        Ok(s)
    }
}

impl LogSettings {
    /// Where the log is written; `None` for the none driver.
    pub fn path(&self, paths: &Paths) -> Option<PathBuf> {
        match self.driver {
            LogDriver::JsonFile => Some(paths.log.clone()),
            LogDriver::Local => Some(paths.dir.join("local-logs").join("container.log")),
            LogDriver::None => None,
            LogDriver::Cri => self.cri_path.clone(),
        }
    }

    /// The `attrs` each entry carries: the labels and environment variables
    /// the options name, and the expanded `tag` (dockerd's
    /// `ExtraAttributes` and `ParseLogTag`).
    pub fn attributes(&self, c: &Container) -> Result<BTreeMap<String, String>, ContainerError> {
        let mut attrs = BTreeMap::new();
        let labels = &c.spec.labels;
        for key in &self.labels {
            if let Some(v) = labels.get(key) {
                attrs.insert(key.clone(), v.clone());
            }
        }
        if let Some(re) = &self.labels_regex {
            let re = compile("labels-regex", re)?;
            for (k, v) in labels.iter().filter(|(k, _)| re.is_match(k)) {
                attrs.insert(k.clone(), v.clone());
            }
        }
        let env: BTreeMap<&str, &str> = c
            .spec
            .env
            .iter()
            .filter_map(|e| e.split_once('='))
            .collect();
        for key in &self.env {
            if let Some(v) = env.get(key.as_str()) {
                attrs.insert(key.clone(), v.to_string());
            }
        }
        if let Some(re) = &self.env_regex {
            let re = compile("env-regex", re)?;
            for (k, v) in env.iter().filter(|(k, _)| re.is_match(k)) {
                attrs.insert(k.to_string(), v.to_string());
            }
        }
        let image_id = c.image_id.trim_start_matches("sha256:");
        let tag = expand_tag(&self.tag, |field| match field {
            "ID" => c.id[..12.min(c.id.len())].to_string(),
            "FullID" => c.id.clone(),
            "Name" => c.name.clone(),
            "ImageID" => image_id[..12.min(image_id.len())].to_string(),
            "ImageFullID" => c.image_id.clone(),
            "ImageName" => c.image_ref.clone(),
            _ => "berth".to_string(),
        })?;
        if !tag.is_empty() {
            attrs.insert("tag".into(), tag);
        }
        Ok(attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(driver: &str, opts: &[(&str, &str)]) -> LogConfig {
        LogConfig {
            driver: driver.into(),
            options: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn error(driver: &str, opts: &[(&str, &str)]) -> String {
        config(driver, opts).settings().unwrap_err().to_string()
    }

    #[test]
    fn sizes_parse_as_go_units() {
        assert_eq!(parse_human_size("100k"), Some(100_000));
        assert_eq!(parse_human_size("1.5MB"), Some(1_500_000));
        assert_eq!(parse_human_size("10 kib"), Some(10_000));
        assert_eq!(parse_human_size("42"), Some(42));
        for bad in ["abc", "-1", "", "1x", "k", "1.", "1kbb"] {
            assert_eq!(parse_human_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn refusals_use_dockerds_words() {
        assert_eq!(
            error("foo", &[]),
            "error looking up logging plugin foo: plugin \"foo\" not found"
        );
        assert!(error("syslog", &[]).contains("not supported by berth"));
        assert_eq!(
            error("json-file", &[("foo", "1")]),
            "unknown log opt 'foo' for json-file log driver"
        );
        assert_eq!(
            error("local", &[("tag", "x")]),
            "unknown log opt 'tag' for log driver local"
        );
        assert_eq!(
            error("json-file", &[("max-file", "0"), ("max-size", "1k")]),
            "failed to initialize logging driver: max-file cannot be less than 1"
        );
        assert_eq!(
            error("json-file", &[("compress", "true")]),
            "failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set"
        );
        assert_eq!(
            error("json-file", &[("max-size", "-1")]),
            "failed to initialize logging driver: invalid size: '-1'"
        );
        assert_eq!(
            error("json-file", &[("max-file", "x")]),
            "failed to initialize logging driver: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            error("local", &[("max-file", "1")]),
            "failed to initialize logging driver: compression cannot be enabled when max file count is 1"
        );
        assert!(error("json-file", &[("tag", "{{.Nope}}")]).contains("berth expands only"));
        assert!(error("none", &[("max-size", "1k")]).contains("no effect"));
    }

    #[test]
    fn drivers_have_dockers_defaults() {
        let s = config("json-file", &[]).settings().unwrap();
        assert_eq!((s.max_size, s.max_file, s.compress), (None, 1, false));
        let s = config("local", &[]).settings().unwrap();
        assert_eq!(
            (s.max_size, s.max_file, s.compress),
            (Some(20 << 20), 5, true)
        );
        let s = config(
            "json-file",
            &[("max-size", "100k"), ("max-file", "3"), ("compress", "1")],
        )
        .settings()
        .unwrap();
        assert_eq!(
            (s.max_size, s.max_file, s.compress),
            (Some(100_000), 3, true)
        );
    }

    #[test]
    fn cli_options_read_as_the_docker_cli_reads_them() {
        let opts = ["max-size=1k".to_string(), "compress".to_string()];
        let c = LogConfig::from_cli(Some("json-file"), &opts).unwrap();
        assert_eq!(
            c,
            config("json-file", &[("max-size", "1k"), ("compress", "")])
        );
        assert_eq!(LogConfig::from_cli(None, &[]).unwrap(), config("", &[]));
        assert_eq!(
            LogConfig::from_cli(Some("none"), &opts)
                .unwrap_err()
                .to_string(),
            "invalid logging opts for driver none"
        );
    }

    #[test]
    fn the_daemons_defaults_fill_what_the_request_leaves() {
        let daemon = config("json-file", &[("max-size", "10m"), ("max-file", "2")]);
        let merged = LogConfig::merge(&config("", &[("max-file", "5")]), &daemon);
        assert_eq!(
            merged,
            config("json-file", &[("max-size", "10m"), ("max-file", "5")])
        );
        let other = LogConfig::merge(&config("none", &[]), &daemon);
        assert_eq!(other, config("none", &[]));
    }

    #[test]
    fn attributes_come_from_labels_env_and_tag() {
        let mut c = Container {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            image_id: "sha256:fedcba9876543210".into(),
            image_ref: "busybox".into(),
            created_at: String::new(),
            spec: Default::default(),
            state: crate::State::created(),
        };
        c.spec.labels = [("app", "x"), ("tier", "y")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.spec.env = vec!["FOO=bar".into(), "PATH=/bin".into()];
        let s = config(
            "json-file",
            &[
                ("labels", "app,missing"),
                ("env-regex", "^FO"),
                ("tag", "{{.Name}}/{{ .ID }}/{{.ImageID}}"),
            ],
        )
        .settings()
        .unwrap();
        let attrs = s.attributes(&c).unwrap();
        let expected: BTreeMap<String, String> = [
            ("FOO", "bar"),
            ("app", "x"),
            ("tag", "web/0123456789ab/fedcba987654"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(attrs, expected);
    }
}
