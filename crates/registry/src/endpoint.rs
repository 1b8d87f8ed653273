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
//!   back to plain HTTP when the host does not speak TLS.

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
        Ok(RegistrySettings {
            certs_dir,
            insecure: read_insecure(&daemon)?,
        })
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

fn read_insecure(path: &Path) -> Result<Vec<String>, RegistryError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RegistryError::io(path, e)),
    };
    let doc: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::config(path, e.to_string()))?;
    match doc.get("insecure-registries") {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    RegistryError::config(path, "insecure-registries must be a list of strings")
                })
            })
            .collect(),
        Some(_) => Err(RegistryError::config(
            path,
            "insecure-registries must be a list of strings",
        )),
    }
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
        let insecure = settings.is_insecure(host);
        let ca_pems = settings.ca_certificates(host)?;
        let mut endpoint = Endpoint {
            host: host.to_string(),
            scheme: "https",
            insecure,
            ca_pems,
        };
        if insecure {
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
        assert_eq!(read_insecure(&path).unwrap(), vec!["a:1", "192.168.0.0/24"]);
        std::fs::write(&path, r#"{"insecure-registries":"a"}"#).unwrap();
        assert!(read_insecure(&path).is_err());
        assert!(read_insecure(&dir.path().join("none.json"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn bad_ca_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("h:1")).unwrap();
        std::fs::write(dir.path().join("h:1/ca.crt"), "garbage").unwrap();
        let s = RegistrySettings {
            certs_dir: dir.path().to_path_buf(),
            insecure: vec![],
        };
        let err = s.ca_certificates("h:1").unwrap_err().to_string();
        assert!(err.contains("ca.crt"), "{err}");
        assert!(s.ca_certificates("other:2").unwrap().is_empty());
    }
}
