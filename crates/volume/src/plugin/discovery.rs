//! Finding legacy (unmanaged) plugins by name, as dockerd does: a unix
//! socket `NAME.sock` (or `NAME/NAME.sock`), or a file naming the address,
//! `NAME.spec` (one URL, `unix:///path` or `tcp://host:port`) or `NAME.json`
//! (`{"Name": ..., "Addr": ...}`), in Docker's directories
//! (`/run/docker/plugins`, then `/etc/docker/plugins`, `/usr/lib/docker/plugins`)
//! and then berth's own (`/etc/berth/plugins`, `/run/berth/plugins`).
//! `BERTH_PLUGIN_DIRS` (colon-separated) replaces the whole list, so that tests
//! and private setups never look at (or write to) the host's directories.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::client::Addr;
use crate::VolumeError;

/// The environment variable that replaces the plugin directories.
pub const PLUGIN_DIRS_ENV: &str = "BERTH_PLUGIN_DIRS";

const DEFAULT_DIRS: &[&str] = &[
    "/run/docker/plugins",
    "/etc/docker/plugins",
    "/usr/lib/docker/plugins",
    "/etc/berth/plugins",
    "/run/berth/plugins",
];

const KINDS: &[&str] = &["sock", "spec", "json"];

/// A plugin found on disk: its name, where it listens and the file that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub addr: Addr,
    pub file: PathBuf,
}

/// The directories searched, in order.
pub fn dirs() -> Vec<PathBuf> {
    match std::env::var_os(PLUGIN_DIRS_ENV) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => DEFAULT_DIRS.iter().map(PathBuf::from).collect(),
    }
}

/// The plugin called `name`, if a directory has it.
pub fn find(name: &str) -> Result<Option<Found>, VolumeError> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Ok(None);
    }
    for dir in dirs() {
        if let Some(found) = find_in(&dir, name)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Every plugin the directories name (the first directory naming one wins),
/// by name; files that do not parse are skipped.
pub fn scan() -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    for dir in dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let file_name = e.file_name().to_string_lossy().into_owned();
                if e.path().is_dir() {
                    return Some(file_name);
                }
                let (stem, ext) = file_name.rsplit_once('.')?;
                KINDS.contains(&ext).then(|| stem.to_string())
            })
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            if found.iter().any(|f| f.name == name) {
                continue;
            }
            if let Ok(Some(f)) = find_in(&dir, &name) {
                found.push(f);
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn find_in(dir: &Path, name: &str) -> Result<Option<Found>, VolumeError> {
    for kind in KINDS {
        for file in [
            dir.join(format!("{name}.{kind}")),
            dir.join(name).join(format!("{name}.{kind}")),
        ] {
            if file.exists() {
                return read(name, kind, &file).map(Some);
            }
        }
    }
    Ok(None)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonSpec {
    #[serde(default)]
    addr: String,
    #[serde(default, rename = "TLSConfig")]
    tls_config: Option<serde_json::Value>,
}

fn read(name: &str, kind: &str, file: &Path) -> Result<Found, VolumeError> {
    let bad = |reason: String| VolumeError::PluginSpec {
        file: file.to_path_buf(),
        reason,
    };
    let addr = match kind {
        "sock" => Addr::Unix(file.to_path_buf()),
        "spec" => {
            let text = std::fs::read_to_string(file).map_err(|e| VolumeError::io(file, e))?;
            parse_url(text.trim()).map_err(bad)?
        }
        _ => {
            let text = std::fs::read_to_string(file).map_err(|e| VolumeError::io(file, e))?;
            let spec: JsonSpec = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            if spec.tls_config.as_ref().is_some_and(|t| !t.is_null()) {
                // Refused rather than spoken to in the clear.
                return Err(bad("TLSConfig is not supported by berth".into()));
            }
            parse_url(spec.addr.trim()).map_err(bad)?
        }
    };
    Ok(Found {
        name: name.to_string(),
        addr,
        file: file.to_path_buf(),
    })
}

/// `unix:///path` or `tcp://host:port` (Docker also reads `http://` as tcp).
fn parse_url(url: &str) -> Result<Addr, String> {
    if let Some(path) = url.strip_prefix("unix://") {
        if path.starts_with('/') {
            return Ok(Addr::Unix(PathBuf::from(path)));
        }
    } else if let Some(host) = url
        .strip_prefix("tcp://")
        .or_else(|| url.strip_prefix("http://"))
    {
        let host = host.trim_end_matches('/');
        if !host.is_empty() && !host.contains('/') {
            return Ok(Addr::Tcp(host.to_string()));
        }
    }
    Err(format!(
        "unsupported plugin address {url:?} (unix:///path or tcp://host:port)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("unix:///run/x.sock"),
            Ok(Addr::Unix("/run/x.sock".into()))
        );
        assert_eq!(
            parse_url("tcp://127.0.0.1:8080"),
            Ok(Addr::Tcp("127.0.0.1:8080".into()))
        );
        assert!(parse_url("unix://relative").is_err());
        assert!(parse_url("https://x").is_err());
    }
}
