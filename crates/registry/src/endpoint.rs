//! Where and how to talk to a registry host, decided as dockerd decides it.
//!
//! Terms:
//! * a **host** is a reference's domain as typed, `HOST[:PORT]` (Docker Hub's
//!   `docker.io` is reached at `registry-1.docker.io`);
//! * a **secure** host is spoken to over HTTPS only, verifying its certificate
//!   against the system CA store plus every `*.crt` file in
//!   `CERTS_D/HOST[:PORT]/` (`CERTS_D` is `/etc/berth/certs.d`, like
//!   `/etc/docker/certs.d`, or `$BERTH_CERTS_D`);
//! * an **insecure** host is one listed in `insecure-registries` of the daemon
//!   config (`/etc/berth/daemon.json`, or `$BERTH_DAEMON_CONFIG`; entries are
//!   `HOST[:PORT]` or CIDRs, as in dockerd's daemon.json), or one whose address
//!   is in 127.0.0.0/8, which dockerd treats as insecure by default. As dockerd
//!   does, berth tries HTTPS first without verifying the certificate and falls
//!   back to plain HTTP when the host does not speak TLS;
//! * a **mirror** of a host serves the same repositories under the same paths
//!   (pull-through caches, or a loopback registry standing in for one that
//!   cannot be reached). Pulls try a host's mirrors in order, then the host
//!   itself; the image keeps the name it was pulled by. The daemon config's
//!   `registry-mirrors` (dockerd's key: `http(s)://HOST[:PORT]` URLs) mirror
//!   Docker Hub, as in dockerd; berth's own `registry-host-mirrors`
//!   (`{"registry.k8s.io": ["http://127.0.0.1:5000"], ...}`) mirror any host.
//!   A mirror given without a scheme is reached as any host is. Mirrors are
//!   spoken to anonymously (the host's credentials are the host's), and pushes
//!   never go to mirrors.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};

use crate::error::{from_reqwest, At};
use crate::RegistryError;

const DEFAULT_CERTS_D: &str = "/etc/berth/certs.d";
const DEFAULT_DAEMON_CONFIG: &str = "/etc/berth/daemon.json";
const USER_AGENT: &str = concat!("berth/", env!("CARGO_PKG_VERSION"));

/// The daemon config berth reads as dockerd reads its `daemon.json`
/// (`insecure-registries` here, `log-driver`/`log-opts` for containers):
/// `$BERTH_DAEMON_CONFIG`, else `/etc/berth/daemon.json`.
pub fn daemon_config_path() -> PathBuf {
    std::env::var_os("BERTH_DAEMON_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DAEMON_CONFIG))
}

/// How registries are reached on this machine.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// Root of the per-host CA directories.
    pub certs_dir: PathBuf,
    /// `insecure-registries`: hosts (`HOST[:PORT]`) and CIDRs.
    pub insecure: Vec<String>,
    /// Per registry host (`docker.io`, `registry.k8s.io`), its mirrors in order.
    pub mirrors: Vec<(String, Vec<Mirror>)>,
}

/// A registry that serves another host's repositories under the same paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `HOST[:PORT]`.
    pub host: String,
    /// `http` or `https` when the configuration said so; else decided as
    /// for any host (HTTPS, or a probe for an insecure one).
    pub scheme: Option<&'static str>,
}

impl Mirror {
    /// `http://HOST[:PORT]`, `https://HOST[:PORT]` (a trailing `/` allowed) or
    /// `HOST[:PORT]`.
    pub fn parse(text: &str) -> Option<Mirror> {
        let (scheme, rest) = match text.split_once("://") {
            Some(("http", rest)) => (Some("http"), rest),
            Some(("https", rest)) => (Some("https"), rest),
            Some(_) => return None,
            None => (None, text),
        };
        let host = rest.strip_suffix('/').unwrap_or(rest);
        let valid =
            !host.is_empty() && !host.starts_with(':') && !host.contains(['/', '?', '#', '@', ' ']);
        valid.then(|| Mirror {
            host: host.to_string(),
            scheme,
        })
    }

    /// The mirror as dockerd shows a configured one (`info`'s
    /// `RegistryConfig.Mirrors`): its URL with one trailing `/`, as
    /// dockerd's `ValidateMirror` normalizes it (HTTPS when no scheme was
    /// given, berth's `registry-host-mirrors` only).
    pub fn url(&self) -> String {
        format!("{}://{}/", self.scheme.unwrap_or("https"), self.host)
    }
}

impl RegistrySettings {
    /// The machine's settings: `$BERTH_CERTS_D` / `/etc/berth/certs.d` and
    /// `insecure-registries` from `$BERTH_DAEMON_CONFIG` / `/etc/berth/daemon.json`
    /// (a missing file means none).
    pub fn from_env() -> Result<RegistrySettings, RegistryError> {
        let certs_dir = std::env::var_os("BERTH_CERTS_D")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CERTS_D));
        let daemon = daemon_config_path();
        let doc = read_daemon(&daemon)?;
        Ok(RegistrySettings {
            certs_dir,
            insecure: read_insecure(&daemon, &doc)?,
            mirrors: read_mirrors(&daemon, &doc)?,
        })
    }

    /// The mirrors configured for registry host `host`, in order.
    pub fn mirrors_of(&self, host: &str) -> &[Mirror] {
        self.mirrors
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, m)| m.as_slice())
            .unwrap_or(&[])
    }

    /// dockerd's `isSecureIndex`, inverted.
    pub fn is_insecure(&self, host: &str) -> bool {
        if self.insecure.iter().any(|h| h == host) {
            return true;
        }
        let mut cidrs: Vec<(IpAddr, u8)> = vec![(IpAddr::from([127, 0, 0, 0]), 8)];
        cidrs.extend(self.insecure.iter().filter_map(|c| parse_cidr(c)));
        resolve(host)
            .iter()
            .any(|ip| cidrs.iter().any(|(net, bits)| in_cidr(*ip, *net, *bits)))
    }

    /// The PEM certificates of `CERTS_D/HOST/*.crt`, sorted by name.
    pub fn ca_certificates(&self, host: &str) -> Result<Vec<Vec<u8>>, RegistryError> {
        if host.contains('/') || host.starts_with('.') {
            return Ok(Vec::new());
        }
        let dir = self.certs_dir.join(host);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RegistryError::io(&dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "crt"))
            .collect();
        paths.sort();
        let mut certs = Vec::new();
        for path in paths {
            let pem = std::fs::read(&path).at(&path)?;
            // Checked here: oci-client would silently drop a client it cannot build.
            reqwest::Certificate::from_pem(&pem)
                .map_err(|e| RegistryError::config(&path, format!("not a PEM certificate: {e}")))?;
            certs.push(pem);
        }
        Ok(certs)
    }
}

/// The daemon config as JSON (`null` when there is none).
fn read_daemon(path: &Path) -> Result<serde_json::Value, RegistryError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::Value::Null),
        Err(e) => return Err(RegistryError::io(path, e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| RegistryError::config(path, e.to_string()))
}

/// A key holding a list of strings (absent or `null`: none).
fn string_list(
    path: &Path,
    key: &str,
    value: Option<&serde_json::Value>,
) -> Result<Vec<String>, RegistryError> {
    let bad = || RegistryError::config(path, format!("{key} must be a list of strings"));
    match value {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn read_insecure(path: &Path, doc: &serde_json::Value) -> Result<Vec<String>, RegistryError> {
    string_list(path, "insecure-registries", doc.get("insecure-registries"))
}

/// dockerd's `registry-mirrors` (Docker Hub's, URLs with a scheme) and
/// berth's `registry-host-mirrors` (any host's).
fn read_mirrors(
    path: &Path,
    doc: &serde_json::Value,
) -> Result<Vec<(String, Vec<Mirror>)>, RegistryError> {
    let parse = |key: &str, text: &str, scheme_required: bool| {
        Mirror::parse(text)
            .filter(|m| m.scheme.is_some() || !scheme_required)
            .ok_or_else(|| {
                RegistryError::config(
                    path,
                    format!("{key}: invalid mirror {text:?} (want http(s)://HOST[:PORT])"),
                )
            })
    };
    let mut mirrors: Vec<(String, Vec<Mirror>)> = Vec::new();
    let hub = string_list(path, "registry-mirrors", doc.get("registry-mirrors"))?;
    if !hub.is_empty() {
        let hub = hub
            .iter()
            .map(|m| parse("registry-mirrors", m, true))
            .collect::<Result<_, _>>()?;
        mirrors.push(("docker.io".to_string(), hub));
    }
    match doc.get("registry-host-mirrors") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(hosts)) => {
            for (host, list) in hosts {
                let key = format!("registry-host-mirrors.{host}");
                let list = string_list(path, &key, Some(list))?
                    .iter()
                    .map(|m| parse(&key, m, false))
                    .collect::<Result<Vec<_>, _>>()?;
                match mirrors.iter_mut().find(|(h, _)| h == host) {
                    Some((_, have)) => have.extend(list),
                    None => mirrors.push((host.clone(), list)),
                }
            }
        }
        Some(_) => {
            return Err(RegistryError::config(
                path,
                "registry-host-mirrors must map registry hosts to lists of mirrors",
            ))
        }
    }
    Ok(mirrors)
}

/// The host part of `HOST[:PORT]` (`[::1]:5000` -> `::1`).
fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn resolve(host: &str) -> Vec<IpAddr> {
    let name = host_only(host);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return vec![ip];
    }
    (name, 0)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// One registry host, ready to be spoken to.
pub(crate) struct Endpoint {
    pub host: String,
    /// `https` or `http`.
    pub scheme: &'static str,
    pub insecure: bool,
    pub ca_pems: Vec<Vec<u8>>,
}

impl Endpoint {
    /// Decides the scheme for `host` (probing an insecure host for TLS).
    pub async fn open(settings: &RegistrySettings, host: &str) -> Result<Endpoint, RegistryError> {
        Endpoint::open_with(settings, host, None).await
    }

    /// As [`Endpoint::open`], with the scheme a mirror's URL gave.
    pub async fn open_mirror(
        settings: &RegistrySettings,
        mirror: &Mirror,
    ) -> Result<Endpoint, RegistryError> {
        Endpoint::open_with(settings, &mirror.host, mirror.scheme).await
    }

    async fn open_with(
        settings: &RegistrySettings,
        host: &str,
        scheme: Option<&'static str>,
    ) -> Result<Endpoint, RegistryError> {
        let insecure = settings.is_insecure(host);
        let ca_pems = settings.ca_certificates(host)?;
        let mut endpoint = Endpoint {
            host: host.to_string(),
            scheme: scheme.unwrap_or("https"),
            insecure,
            ca_pems,
        };
        if insecure && scheme.is_none() {
            let probe = endpoint.http_client()?;
            let url = format!("https://{}/v2/", endpoint.api_host());
            if probe.get(&url).send().await.is_err() {
                endpoint.scheme = "http";
            }
        }
        Ok(endpoint)
    }

    /// The host the API lives at (Docker Hub's is not `docker.io`).
    pub fn api_host(&self) -> &str {
        if self.host == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.host
        }
    }

    pub fn base_url(&self) -> String {
        format!("{}://{}/v2/", self.scheme, self.api_host())
    }

    /// A plain HTTP client with this host's TLS settings (for `/v2/` pings
    /// and token requests, which oci-client does not expose).
    pub fn http_client(&self) -> Result<reqwest::Client, RegistryError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(std::time::Duration::from_secs(30))
            .danger_accept_invalid_certs(self.insecure);
        for pem in &self.ca_pems {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| RegistryError::InvalidArgument(e.to_string()))?;
            builder = builder.add_root_certificate(cert);
        }
        builder.build().map_err(|e| from_reqwest(&e))
    }

    /// An OCI distribution client for this host.
    pub fn oci_client(&self) -> Result<oci_client::Client, RegistryError> {
        let config = ClientConfig {
            protocol: match self.scheme {
                "http" => ClientProtocol::HttpsExcept(vec![self.api_host().to_string()]),
                _ => ClientProtocol::Https,
            },
            accept_invalid_certificates: self.insecure,
            extra_root_certificates: self
                .ca_pems
                .iter()
                .map(|pem| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: pem.clone(),
                })
                .collect(),
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            user_agent: USER_AGENT,
            ..Default::default()
        };
        oci_client::Client::try_from(config)
            .map_err(|e| RegistryError::Registry(format!("registry client for {}: {e}", self.host)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(insecure: &[&str]) -> RegistrySettings {
        RegistrySettings {
            certs_dir: PathBuf::from("/nonexistent"),
            insecure: insecure.iter().map(|s| s.to_string()).collect(),
            mirrors: Vec::new(),
        }
    }

    #[test]
    fn loopback_and_listed_hosts_are_insecure() {
        let s = settings(&["myreg:5000", "10.1.0.0/16"]);
        assert!(s.is_insecure("127.0.0.1:5000"));
        assert!(s.is_insecure("127.3.2.1"));
        assert!(s.is_insecure("localhost:5000"));
        assert!(s.is_insecure("myreg:5000"));
        assert!(s.is_insecure("10.1.2.3:443"));
        assert!(!s.is_insecure("10.2.0.1:443"));
        assert!(
            !s.is_insecure("[::1]:5000"),
            "dockerd's default is 127.0.0.0/8 only"
        );
        assert!(!s.is_insecure("myreg:5001"));
    }

    #[test]
    fn daemon_config_is_read_like_dockerd() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(
            &path,
            r#"{"insecure-registries":["a:1","192.168.0.0/24"],"x":1}"#,
        )
        .unwrap();
        let insecure = |p: &Path| read_insecure(p, &read_daemon(p)?);
        assert_eq!(insecure(&path).unwrap(), vec!["a:1", "192.168.0.0/24"]);
        std::fs::write(&path, r#"{"insecure-registries":"a"}"#).unwrap();
        assert!(insecure(&path).is_err());
        assert!(insecure(&dir.path().join("none.json")).unwrap().is_empty());
    }

    #[test]
    fn mirrors_are_read_per_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        let mirrors = |text: &str| {
            std::fs::write(&path, text).unwrap();
            read_mirrors(&path, &read_daemon(&path)?)
        };
        let got = mirrors(
            r#"{"registry-mirrors":["https://hub.example/"],
                "registry-host-mirrors":{"gcr.io":["http://127.0.0.1:5000","m:1"],
                                         "docker.io":["127.0.0.1:5001"]}}"#,
        )
        .unwrap();
        let m = |host: &str, scheme| Mirror {
            host: host.to_string(),
            scheme,
        };
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            (
                "docker.io".to_string(),
                vec![m("hub.example", Some("https")), m("127.0.0.1:5001", None)]
            )
        );
        assert_eq!(
            got[1],
            (
                "gcr.io".to_string(),
                vec![m("127.0.0.1:5000", Some("http")), m("m:1", None)]
            )
        );
        // dockerd wants a scheme in registry-mirrors; a path is no mirror.
        assert!(mirrors(r#"{"registry-mirrors":["hub.example"]}"#).is_err());
        assert!(mirrors(r#"{"registry-host-mirrors":{"a":["http://m/v2"]}}"#).is_err());
        assert!(mirrors(r#"{"registry-host-mirrors":{"a":["ftp://m"]}}"#).is_err());
        assert!(mirrors(r#"{"registry-host-mirrors":["m"]}"#).is_err());
        assert!(mirrors("{}").unwrap().is_empty());
    }

    #[test]
    fn bad_ca_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("h:1")).unwrap();
        std::fs::write(dir.path().join("h:1/ca.crt"), "garbage").unwrap();
        let s = RegistrySettings {
            certs_dir: dir.path().to_path_buf(),
            insecure: vec![],
            mirrors: Vec::new(),
        };
        let err = s.ca_certificates("h:1").unwrap_err().to_string();
        assert!(err.contains("ca.crt"), "{err}");
        assert!(s.ca_certificates("other:2").unwrap().is_empty());
    }
}
