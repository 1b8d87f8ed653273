//! A loopback `docker-registry` for tests (Debian's package), started on a
//! port it picks itself, with its storage in a temp dir; optionally HTTPS and
//! htpasswd. Shared by the CLI's and the API's registry tests.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(found, "{tool} is required: apt-get install {package}");
}

#[derive(Default)]
pub struct RegistryOptions {
    pub ipv6: bool,
    /// (certificate, key)
    pub tls: Option<(PathBuf, PathBuf)>,
    pub htpasswd: Option<PathBuf>,
}

/// A docker-registry process, killed on drop.
pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT` or `[::1]:PORT`.
    pub host: String,
}

impl Registry {
    pub fn start(opts: RegistryOptions) -> Registry {
        require("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().unwrap();
        // The registry picks a free port itself (no window in which another
        // process could take one chosen here) and logs it.
        let bind = if opts.ipv6 { "[::1]:0" } else { "127.0.0.1:0" };
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: \"{bind}\"\n",
            dir.path().join("data").display()
        );
        if let Some((cert, key)) = &opts.tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some(htpasswd) = &opts.htpasswd {
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry {
            child,
            dir,
            host: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        registry.host = loop {
            // `msg="listening on 127.0.0.1:PORT"` or `[::1]:PORT`.
            let log = registry.log();
            let found = log.lines().find_map(|l| {
                let at = l.find("listening on ")? + "listening on ".len();
                let rest = &l[at..];
                Some(rest.split(['"', ',', ' ']).next()?.to_string())
            });
            if let Some(host) = found {
                break host;
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen: {log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let addr: std::net::SocketAddr = registry.host.parse().expect("registry address");
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer: {}",
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Successful GETs of one blob, from the access log.
    pub fn blob_gets(&self, digest: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| {
                l.contains(&format!("\"GET /v2/")) && l.contains(&format!("/blobs/{digest} "))
            })
            .filter(|l| l.contains("\" 200 "))
            .count()
    }

    /// The stored data file of a blob.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
