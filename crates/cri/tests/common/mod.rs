//! Test harness: a private berth root with `busybox:latest` and a pause
//! image, a real `berth cri` on a unix socket in it, and a CRI client (the
//! crate's own generated one) over that socket. The berth binary is
//! $BERTH_BIN or the workspace's target/debug/berth. Each root has its own
//! run directory and default bridge (the CLI harness' `isolation.rs`).
#![allow(dead_code)]

#[path = "../../../cli/tests/common/isolation.rs"]
pub mod isolation;

mod calls;
// Not every test binary calls each helper.
#[allow(unused_imports)]
pub use calls::*;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_cri::api;
use berth_cri::api::image_service_client::ImageServiceClient;
use berth_cri::api::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

pub const PAUSE: &str = "berth.test/pause:1";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn berth_bin() -> PathBuf {
    let bin = std::env::var_os("BERTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/berth"));
    assert!(bin.exists(), "{} not found (set BERTH_BIN)", bin.display());
    bin
}

fn test_dir() -> PathBuf {
    let dir = std::env::var_os("BERTH_TEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/berth-tests"));
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

/// The starter image tar (scripts/make-busybox-image.sh), made once per
/// test binary.
fn image_tar() -> &'static Path {
    static TAR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TAR.get_or_init(|| {
        let out = test_dir().join(format!("cri-busybox-{}.tar", std::process::id()));
        let status = Command::new("bash")
            .arg(workspace().join("scripts/make-busybox-image.sh"))
            .args(["--no-import", "--out"])
            .arg(&out)
            .status()
            .expect("make-busybox-image.sh");
        assert!(status.success(), "make-busybox-image.sh failed");
        out
    })
}

pub struct Server {
    pub root: tempfile::TempDir,
    pub socket: PathBuf,
    child: Option<Child>,
    pub isolation: isolation::Isolation,
    /// Flags of `berth cri` beyond the socket and pause image.
    args: Vec<String>,
}

impl Server {
    /// A new root with busybox:latest and the pause image (busybox
    /// sleeping), served by `berth cri` on `<root>/cri.sock`.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// As [`Server::start`], with `args` for `berth cri` (its log is
    /// [`Server::log`]).
    pub fn start_with(args: &[&str]) -> Server {
        let isolation = isolation::Isolation::acquire();
        let root = tempfile::Builder::new()
            .prefix("berth-cri-")
            .tempdir_in(test_dir())
            .expect("temp root");
        let socket = root.path().join("cri.sock");
        let mut server = Server {
            root,
            socket,
            child: None,
            isolation,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        server.import("CMD [\"sh\"]", "busybox:latest");
        server.import("ENTRYPOINT [\"sleep\", \"2147483647\"]", PAUSE);
        server.spawn();
        server
    }

    /// Imports the busybox tar as `name` with a Dockerfile `change`.
    pub fn import(&self, change: &str, name: &str) {
        let tar = image_tar().to_str().unwrap().to_string();
        self.berth_ok(&["import", "-c", change, &tar, name]);
    }

    /// Starts (or restarts) `berth cri` and waits for its socket.
    pub fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let child = Command::new(berth_bin())
            .arg("--root")
            .arg(self.root.path())
            .arg("cri")
            .arg("--listen")
            .arg(format!("unix://{}", self.socket.display()))
            .args(["--pause-image", PAUSE])
            .args(&self.args)
            .envs(self.isolation.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.log_path()).expect("cri.log"))
            .spawn()
            .expect("spawn berth cri");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(Instant::now() < deadline, "berth cri did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Where `berth cri`'s stderr (its log) goes.
    pub fn log_path(&self) -> PathBuf {
        self.root.path().join("cri.log")
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

    pub fn berth(&self, args: &[&str]) -> Output {
        Command::new(berth_bin())
            .arg("--root")
            .arg(self.root.path())
            .envs(self.isolation.env())
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

    /// A CRI client on the socket.
    pub async fn client(&self) -> Client {
        let path = self.socket.clone();
        let channel = tonic::transport::Endpoint::try_from("http://localhost")
            .unwrap()
            .connect_with_connector(tower::service_fn(move |_| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                }
            }))
            .await
            .expect("connect to berth cri");
        Client {
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
        let ids =
            String::from_utf8_lossy(&self.berth(&["ps", "-aq", "--no-trunc"]).stdout).to_string();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-fv"];
            args.extend(ids);
            let _ = self.berth(&args);
        }
    }
}

pub struct Client {
    pub runtime: RuntimeServiceClient<Channel>,
    pub images: ImageServiceClient<Channel>,
}

/// A pod's config: `name` in namespace `test`, logs under `log_dir`.
pub fn pod_config(name: &str, log_dir: &Path) -> api::PodSandboxConfig {
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "test".into(),
            attempt: 0,
        }),
        hostname: format!("{name}-host"),
        log_directory: log_dir.display().to_string(),
        labels: HashMap::from([("app".to_string(), name.to_string())]),
        annotations: HashMap::from([("note".to_string(), "kept".to_string())]),
        ..Default::default()
    }
}

/// A container config running `sh -c script` in busybox.
pub fn container_config(name: &str, script: &str) -> api::ContainerConfig {
    api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(api::ImageSpec {
            image: "busybox:latest".into(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into(), script.into()],
        log_path: format!("{name}/0.log"),
        ..Default::default()
    }
}

/// One of the host's own non-loopback IPv4 addresses.
pub fn host_address() -> Ipv4Addr {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|cidr| cidr.split('/').next()?.parse().ok())
        .next()
        .expect("a global IPv4 address on the host")
}

/// What a TCP server at ip:port sends after a line; retries while it starts.
pub fn tcp_read(ip: Ipv4Addr, port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"hi\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            if text.is_empty() {
                return Err(std::io::Error::other("nothing read"));
            }
            Ok(text)
        })();
        match attempt {
            Ok(t) => return t,
            Err(e) if Instant::now() > deadline => panic!("{ip}:{port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Waits until `f` holds (10 s at most).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
