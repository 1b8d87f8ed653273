//! rclone on loopback: `rclone serve webdav` as the network storage and
//! `rclone serve docker` as the volume plugin, for volume_plugins.rs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (SIGTERM, then waited for) on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn require_rclone() {
    crate::common::registry::require("rclone", "rclone");
    crate::common::registry::require("fusermount3", "fuse3");
    assert!(
        Path::new("/dev/fuse").exists(),
        "/dev/fuse is required (FUSE)"
    );
}

/// `rclone serve webdav DIR` on a loopback port it holds (retried if
/// another process took the port between its probe and rclone's bind).
pub fn webdav(dir: &Path) -> (Proc, u16) {
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Proc(
            Command::new("rclone")
                .args(["serve", "webdav"])
                .arg(dir)
                .args(["--addr", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.0.try_wait() {
                break;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (child, port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("rclone serve webdav did not start");
}

/// `rclone serve docker` as the plugin NAME of `host`.
pub struct RclonePlugin {
    pub proc: Option<Proc>,
    pub state: tempfile::TempDir,
    pub socket: PathBuf,
}

impl RclonePlugin {
    pub fn start(host: &crate::Host, name: &str) -> RclonePlugin {
        Self::start_in(host.plugins.path(), name)
    }

    /// Serves at `dir/NAME.sock`.
    pub fn start_in(dir: &Path, name: &str) -> RclonePlugin {
        let state = tempfile::tempdir().unwrap();
        let socket = dir.join(format!("{name}.sock"));
        let mut p = RclonePlugin {
            proc: None,
            state,
            socket,
        };
        p.spawn();
        p
    }

    pub fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let base = self.state.path().join("mnt");
        let cache = self.state.path().join("cache");
        let child = Command::new("rclone")
            .args(["serve", "docker", "--base-dir"])
            .arg(&base)
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--socket-addr")
            .arg(&self.socket)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.state.path().join("log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        self.proc = Some(Proc(child));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "rclone serve docker did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn stop(&mut self) {
        self.proc = None;
        // Whatever FUSE mount it left.
        for m in crate::common::mounts_under(self.state.path()).iter().rev() {
            let _ = Command::new("fusermount3").args(["-uz", m]).status();
        }
    }
}

impl Drop for RclonePlugin {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.socket);
    }
}
