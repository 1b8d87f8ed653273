//! Test harness: a private berth root with `busybox:latest`, and a real
//! `berth serve` on a unix socket in it. The berth binary is $BERTH_BIN or the
//! workspace's target/debug/berth (`cargo build -p berth` first): the server
//! spawns container monitors from its own executable, so it cannot run inside
//! the test process. Each server's root has its own run directory and
//! default bridge, as the CLI tests' roots (the CLI harness' `isolation.rs`).
#![allow(dead_code)]

#[path = "../../../cli/tests/common/isolation.rs"]
pub mod isolation;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn berth_bin() -> PathBuf {
    let bin = std::env::var_os("BERTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/berth"));
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p berth` first (or set BERTH_BIN)",
        bin.display()
    );
    bin
}

fn test_dir() -> PathBuf {
    let dir = std::env::var_os("BERTH_TEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/berth-tests"));
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

/// The starter image tar (scripts/make-busybox-image.sh), built once per test
/// binary; `alpine` adds the `postgres` user docker-py's tests look for.
pub fn image_tar(with_user: bool) -> &'static Path {
    static PLAIN: OnceLock<PathBuf> = OnceLock::new();
    static USER: OnceLock<PathBuf> = OnceLock::new();
    let cell = if with_user { &USER } else { &PLAIN };
    cell.get_or_init(|| {
        let out = test_dir().join(format!(
            "api-busybox-{}{}.tar",
            std::process::id(),
            if with_user { "-user" } else { "" }
        ));
        let mut cmd = Command::new("bash");
        cmd.arg(workspace().join("scripts/make-busybox-image.sh"))
            .args(["--no-import", "--out"])
            .arg(&out);
        if with_user {
            cmd.args(["--with-user", "postgres"]);
        }
        let status = cmd.status().expect("make-busybox-image.sh");
        assert!(status.success(), "make-busybox-image.sh failed");
        out
    })
}

pub struct Server {
    pub root: tempfile::TempDir,
    pub socket: PathBuf,
    child: Option<Child>,
    /// Its run directory, default bridge and daemon config.
    pub isolation: isolation::Isolation,
}

impl Server {
    /// A new root with busybox:latest, served on `<root>/api.sock`.
    pub fn start() -> Server {
        let isolation = isolation::Isolation::acquire();
        let root = tempfile::Builder::new()
            .prefix("berth-api-")
            .tempdir_in(test_dir())
            .expect("temp root");
        let socket = root.path().join("api.sock");
        let mut server = Server {
            root,
            socket,
            child: None,
            isolation,
        };
        server.berth_ok(&[
            "import",
            "-c",
            "CMD [\"sh\"]",
            image_tar(false).to_str().unwrap(),
            "busybox:latest",
        ]);
        server.spawn();
        server
    }

    /// Starts (or restarts) `berth serve` and waits for its socket.
    pub fn spawn(&mut self) {
        self.spawn_with(&[], Stdio::null());
    }

    /// Restarts `berth serve` with more flags (`--log-level debug`) and its
    /// log (stderr) going to `log`.
    pub fn respawn_logging(&mut self, flags: &[&str], log: &Path) {
        assert!(self.terminate(), "berth serve did not stop cleanly");
        let file = std::fs::File::create(log).expect("log file");
        self.spawn_with(flags, Stdio::from(file));
    }

    fn spawn_with(&mut self, flags: &[&str], stderr: Stdio) {
        let child = Command::new(berth_bin())
            .arg("--root")
            .arg(self.root.path())
            .arg("serve")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(flags)
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn berth serve");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(Instant::now() < deadline, "berth serve did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The environment its berth commands run with: its run directory,
    /// daemon config and plugin directory.
    pub fn env(&self) -> [(&'static str, PathBuf); 3] {
        self.isolation.env()
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        Command::new(berth_bin())
            .arg("--root")
            .arg(self.root.path())
            .envs(self.env())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run berth")
    }

    pub fn berth_ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn socket_mode(&self) -> u32 {
        std::fs::metadata(&self.socket)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
        // Never leave containers (and their mounts) behind.
        let ids =
            String::from_utf8_lossy(&self.berth(&["ps", "-aq", "--no-trunc"]).stdout).to_string();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-fv"];
            args.extend(ids);
            let _ = self.berth(&args);
        }
        let _ = self.berth(&["network", "prune", "-f"]);
    }
}

/// The docker CLIs on this machine: Debian's 20.10 and a current one.
pub fn docker_clients() -> Vec<PathBuf> {
    ["/usr/bin/docker", "/usr/local/bin/docker"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect()
}

/// (status, body) of a request with a JSON body on a unix socket, through curl.
pub fn json_request(
    socket: &Path,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method])
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(body.to_string())
        .arg("--unix-socket")
        .arg(socket)
        .arg(format!("http://d/v1.41{path}"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// dockerd's socket, when a dockerd answers on it.
pub fn dockerd_socket() -> Option<&'static Path> {
    let socket = Path::new("/var/run/docker.sock");
    let ping = Command::new("curl")
        .args([
            "-s",
            "--unix-socket",
            "/var/run/docker.sock",
            "http://d/_ping",
        ])
        .output()
        .ok()?;
    (ping.stdout == b"OK").then_some(socket)
}
