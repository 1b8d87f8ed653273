//! A rootless berth's network when pasta is missing: slirp4netns (Debian's
//! `slirp4netns` package), as podman falls back to it.
//!
//! slirp4netns makes a tap interface in the container's namespace
//! (`10.0.2.100/24`, gateway `10.0.2.2`) and carries its traffic through
//! ordinary sockets of the user. Its DNS forwarder at [`NAMESERVER`] asks
//! the host's resolvers, so the container's resolv.conf names it. The
//! host's loopback is out of reach from the namespace
//! (`--disable-host-loopback`, as pasta's `-T none`). Each published port
//! is an `add_hostfwd` request on slirp4netns's API socket: slirp4netns
//! binds the host port as the user and forwards it into the namespace.
//!
//! # Lifecycle
//! [`start`] spawns slirp4netns in a process group of its own, waits until
//! its API socket answers (it is made once the interface is up), asks for
//! each forward and writes its pid to `<run dir>/slirp4netns/<id>.pid`
//! (its API socket is `<short id>.sock` there);
//! a thread reaps it when it ends. [`stop`] (from `sandbox::teardown`,
//! idempotent) ends it by that pid file.

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::PortBinding;
use crate::{NetworkError, Result};

const SLIRP: &str = "slirp4netns";

/// slirp4netns's DNS forwarder, in its default `10.0.2.0/24`.
pub(crate) const NAMESERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);

/// close_range(2)'s flag: mark the descriptors close-on-exec.
const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// How long slirp4netns may take to bring the interface up.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join(SLIRP)
}

fn pid_file(run_dir: &Path, container_id: &str) -> PathBuf {
    dir(run_dir).join(format!("{container_id}.pid"))
}

/// The API socket, named by the short id: a socket's path must fit
/// `sun_path` (108 bytes), which a full id under a home directory's run
/// directory does not.
fn api_socket(run_dir: &Path, container_id: &str) -> PathBuf {
    let short = &container_id[..12.min(container_id.len())];
    dir(run_dir).join(format!("{short}.sock"))
}

fn unavailable(message: impl Into<String>) -> NetworkError {
    NetworkError::UserNet {
        program: SLIRP,
        message: message.into(),
    }
}

/// The API request publishing one binding (`host_addr` empty: every
/// address, as for any container).
fn hostfwd_request(b: &PortBinding) -> String {
    let host_addr = if b.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        b.host_ip.as_str()
    };
    serde_json::json!({
        "execute": "add_hostfwd",
        "arguments": {
            "proto": b.protocol,
            "host_addr": host_addr,
            "host_port": b.host_port,
            "guest_port": b.container_port,
        }
    })
    .to_string()
}

/// One request on the API socket and its answer.
fn ask(socket: &Path, request: &str) -> std::io::Result<serde_json::Value> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(READY_TIMEOUT))?;
    stream.write_all(request.as_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    serde_json::from_str(&answer)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Starts slirp4netns for the namespace at `netns`, publishing `ports`
/// (host ports already chosen); returns once the interface is up and the
/// ports are bound. On failure slirp4netns is ended again.
pub(crate) fn start(
    run_dir: &Path,
    container_id: &str,
    netns: &Path,
    ports: &[PortBinding],
) -> Result<()> {
    let dir = dir(run_dir);
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
    let socket = api_socket(run_dir, container_id);
    let _ = std::fs::remove_file(&socket);
    let log_path = dir.join(format!("{container_id}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| NetworkError::io(&log_path, e))?;
    let spawned = {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(SLIRP);
        // SAFETY: one async-signal-safe syscall between fork and exec.
        // Nothing this process holds stays open in slirp4netns (a caller
        // waiting for a container's output to end must not wait for it):
        // every descriptor past stdio closes at exec.
        unsafe {
            command.pre_exec(|| {
                libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC);
                Ok(())
            });
        }
        command
            .args(["--configure", "--mtu=65520", "--disable-host-loopback"])
            .arg("--netns-type=path")
            .arg(format!("--api-socket={}", socket.display()))
            .arg(netns)
            .arg("tap0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
    };
    let mut child = spawned.map_err(|e| {
        unavailable(if e.kind() == std::io::ErrorKind::NotFound {
            "not found: rootless networking needs pasta (apt-get install passt) or slirp4netns \
             (apt-get install slirp4netns), or use --network none"
                .into()
        } else {
            e.to_string()
        })
    })?;
    let pid_path = pid_file(run_dir, container_id);
    let _ = std::fs::write(&pid_path, format!("{}\n", child.id()));
    let ready = wait_ready(&mut child, &socket, &log_path).and_then(|()| {
        for b in ports {
            let answer = ask(&socket, &hostfwd_request(b))
                .map_err(|e| unavailable(format!("{}: {e}", socket.display())))?;
            if let Some(error) = answer.get("error") {
                return Err(unavailable(format!(
                    "publishing {}:{}: {}",
                    b.shown_host_ip(),
                    b.host_port,
                    error.get("desc").unwrap_or(error)
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = ready {
        stop(run_dir, container_id);
        let _ = child.wait();
        return Err(e);
    }
    let _ = std::fs::remove_file(&log_path);
    // Reaped when it ends, while this process lives (else by init).
    let _ = crate::quiet_thread::spawn(SLIRP, move || child.wait());
    Ok(())
}

/// Waits until slirp4netns's API socket answers, or it exits (its log
/// then says why).
fn wait_ready(child: &mut std::process::Child, socket: &Path, log: &Path) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if ask(socket, r#"{"execute": "list_hostfwd"}"#).is_ok() {
            return Ok(());
        }
        if let Ok(Some(_)) = child.try_wait() {
            let said = std::fs::read(log).unwrap_or_default();
            return Err(crate::pasta::failed(SLIRP, &said));
        }
        if Instant::now() > deadline {
            return Err(unavailable(format!(
                "the interface was not up after {}s",
                READY_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ends the container's slirp4netns, if it runs, and its API socket.
/// Idempotent.
pub(crate) fn stop(run_dir: &Path, container_id: &str) {
    crate::pasta::stop_helper(&pid_file(run_dir, container_id), &[SLIRP]);
    let _ = std::fs::remove_file(api_socket(run_dir, container_id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forward_names_every_address_unless_one_is_given() {
        let mut b = PortBinding {
            host_ip: String::new(),
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
        };
        let all: serde_json::Value = serde_json::from_str(&hostfwd_request(&b)).unwrap();
        assert_eq!(all["execute"], "add_hostfwd");
        assert_eq!(all["arguments"]["host_addr"], "0.0.0.0");
        assert_eq!(all["arguments"]["host_port"], 8080);
        assert_eq!(all["arguments"]["guest_port"], 80);
        b.host_ip = "127.0.0.1".into();
        b.protocol = "udp".into();
        let one: serde_json::Value = serde_json::from_str(&hostfwd_request(&b)).unwrap();
        assert_eq!(one["arguments"]["host_addr"], "127.0.0.1");
        assert_eq!(one["arguments"]["proto"], "udp");
    }
}
