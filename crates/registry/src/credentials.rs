//! Registry credentials kept the way the docker CLI keeps them, so berth and
//! docker share logins: `$DOCKER_CONFIG/config.json` (default
//! `~/.docker/config.json`), `{"auths": {"HOST:PORT": {"auth": base64("user:pass")}}}`,
//! mode 0600. Docker Hub's key is `https://index.docker.io/v1/`.
//!
//! Lifecycle: `login` verifies the credentials with the registry and then
//! [`DockerConfig::set`]s them; `pull`/`push` [`DockerConfig::get`] them for the
//! reference's host; `logout` [`DockerConfig::remove`]s them. Every other key of
//! the file (credsStore, proxies, psFormat, ...) and of each entry is kept as
//! it was. The file is replaced atomically (write to a temporary file in the
//! same directory, then rename), so a crash never leaves it half-written.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::At;
use crate::RegistryError;

/// The key Docker uses for Docker Hub.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn default_config_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("config.json");
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".docker").join("config.json")
}

/// Docker's `credentials.ConvertToHostname` plus its Docker Hub aliases: the
/// key a server address is stored under (`https://h:5000/v2/` -> `h:5000`).
pub fn server_key(server: &str) -> String {
    let trimmed = server.trim();
    let host = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.to_string(),
        other => other.to_string(),
    }
}

/// The parsed config file.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl DockerConfig {
    /// Reads the file; a missing one is an empty config.
    pub fn load(path: &Path) -> Result<DockerConfig, RegistryError> {
        let doc = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(|b| b.is_ascii_whitespace()) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(RegistryError::config(path, "not a JSON object")),
                Err(e) => return Err(RegistryError::config(path, e.to_string())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(RegistryError::io(path, e)),
        };
        Ok(DockerConfig {
            path: path.to_path_buf(),
            doc,
        })
    }

    /// The docker CLI's `detachKeys` setting, if set.
    pub fn detach_keys(&self) -> Option<&str> {
        self.doc.get("detachKeys")?.as_str()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// The credentials stored for `server` (any spelling of it: Docker also
    /// matches keys written with a scheme or a path).
    pub fn get(&self, server: &str) -> Result<Option<Credentials>, RegistryError> {
        let wanted = server_key(server);
        let Some(auths) = self.auths() else {
            return Ok(None);
        };
        let entry = auths.get(&wanted).or_else(|| {
            auths
                .iter()
                .find(|(k, _)| server_key(k) == wanted)
                .map(|(_, v)| v)
        });
        let Some(entry) = entry else {
            return Ok(None);
        };
        if let Some(auth) = entry
            .get("auth")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|e| {
                    RegistryError::config(&self.path, format!("auths[{wanted}].auth: {e}"))
                })?;
            let text = String::from_utf8(decoded).map_err(|_| {
                RegistryError::config(&self.path, format!("auths[{wanted}].auth is not UTF-8"))
            })?;
            let (username, password) = text.split_once(':').ok_or_else(|| {
                RegistryError::config(
                    &self.path,
                    format!("auths[{wanted}].auth is not base64(user:password)"),
                )
            })?;
            return Ok(Some(Credentials {
                username: username.to_string(),
                password: password.to_string(),
            }));
        }
        // Older files keep the two fields apart.
        let field = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(match (field("username"), field("password")) {
            (Some(username), Some(password)) => Some(Credentials { username, password }),
            _ => None,
        })
    }

    /// Stores credentials for `server`, keeping other fields of its entry.
    pub fn set(&mut self, server: &str, credentials: &Credentials) {
        let key = server_key(server);
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(auths) = auths {
            let entry = auths
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(entry) = entry {
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", credentials.username, credentials.password));
                entry.insert("auth".into(), Value::String(encoded));
                entry.remove("username");
                entry.remove("password");
            }
        }
    }

    /// Forgets `server`'s credentials (under every spelling); false if there
    /// were none.
    pub fn remove(&mut self, server: &str) -> bool {
        let wanted = server_key(server);
        let Some(Value::Object(auths)) = self.doc.get_mut("auths") else {
            return false;
        };
        let keys: Vec<String> = auths
            .keys()
            .filter(|k| server_key(k) == wanted)
            .cloned()
            .collect();
        for k in &keys {
            auths.remove(k);
        }
        !keys.is_empty()
    }

    /// Writes the file atomically with mode 0600 (its directory 0700 if new),
    /// tab-indented as the docker CLI writes it.
    pub fn save(&self) -> Result<(), RegistryError> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.exists() {
            std::fs::create_dir_all(dir).at(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).at(dir)?;
        }
        let mut bytes = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut bytes, formatter);
        serde::Serialize::serialize(&self.doc, &mut ser)
            .map_err(|e| RegistryError::config(&self.path, e.to_string()))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".config.json.")
            .tempfile_in(dir)
            .at(dir)?;
        // tempfile creates 0600 already; set it anyway, it is the contract.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .at(tmp.path())?;
        tmp.write_all(&bytes).at(tmp.path())?;
        tmp.as_file().sync_all().at(tmp.path())?;
        // A symlinked config.json (dotfile managers) is updated where it points.
        let target = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        tmp.persist(&target)
            .map_err(|e| RegistryError::io(&target, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys_follow_docker() {
        assert_eq!(server_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(server_key("https://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(server_key("http://h"), "h");
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(server_key(DOCKER_HUB_KEY), DOCKER_HUB_KEY);
        assert_eq!(server_key(""), DOCKER_HUB_KEY);
    }

    #[test]
    fn set_get_remove_keep_other_keys_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"psFormat":"x","auths":{"https://other:1":{"auth":"dTpw","email":"e"}}}"#,
        )
        .unwrap();
        let mut cfg = DockerConfig::load(&path).unwrap();
        let creds = Credentials {
            username: "alice".into(),
            password: "p:w".into(),
        };
        cfg.set("h:5000", &creds);
        cfg.save().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["psFormat"], "x");
        assert_eq!(v["auths"]["h:5000"]["auth"], "YWxpY2U6cDp3");
        assert_eq!(v["auths"]["https://other:1"]["email"], "e");

        let cfg = DockerConfig::load(&path).unwrap();
        assert_eq!(cfg.get("https://h:5000").unwrap(), Some(creds));
        let other = cfg.get("other:1").unwrap().unwrap();
        assert_eq!(
            (other.username.as_str(), other.password.as_str()),
            ("u", "p")
        );
        assert_eq!(cfg.get("nope").unwrap(), None);

        let mut cfg = cfg;
        assert!(cfg.remove("h:5000"));
        assert!(!cfg.remove("h:5000"));
        cfg.save().unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(v["auths"].get("h:5000").is_none());
        assert_eq!(v["psFormat"], "x");
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{nope").unwrap();
        let err = DockerConfig::load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(DockerConfig::load(&dir.path().join("missing.json")).is_ok());
    }
}
