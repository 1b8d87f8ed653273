//! A rootless berth's default network: pasta (Debian's `passt` package).
//!
//! An ordinary user can make no bridge, veth or NAT rule on the host. A
//! rootless container's namespace gets instead a tap interface that pasta
//! serves from the host's network namespace: the container's traffic leaves
//! through ordinary sockets of the user, and each published port (`-p`) is a
//! socket pasta binds on the host and forwards into the namespace. pasta
//! copies the host's addresses and routes into the namespace
//! (`--config-net`), and nothing else is forwarded (no automatic ports).
//!
//! # Lifecycle
//! [`start`] (from `sandbox::setup`, after the namespace exists) runs pasta,
//! which daemonizes once the interface is up, writing its pid to
//! `<run dir>/pasta/<container id>.pid`; [`stop`] (from `sandbox::teardown`,
//! idempotent) ends it. Bridge networks are refused in a rootless berth.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ports::PortBinding;
use crate::{NetworkError, Result, DEFAULT_NETWORK};

/// The program, from Debian's `passt` package.
const PASTA: &str = "pasta";

/// Whether this berth's containers get pasta instead of bridges: it runs
/// in a user namespace (rootless berth).
pub(crate) fn applies() -> bool {
    berth_mount::in_user_namespace()
}

/// Refuses any network but the default one: a rootless berth has no bridges.
pub(crate) fn check_network(name: &str) -> Result<()> {
    if name == DEFAULT_NETWORK {
        return Ok(());
    }
    Err(NetworkError::InvalidArgument(format!(
        "network {name}: rootless berth has no bridge networks (its containers use the \
         default network, through pasta, or --network none)"
    )))
}

fn pid_file(run_dir: &Path, container_id: &str) -> PathBuf {
    run_dir.join("pasta").join(format!("{container_id}.pid"))
}

/// pasta's `-t`/`-u` value for one binding: `[ADDR/]HOST:CONTAINER`.
fn forward_spec(b: &PortBinding) -> String {
    let address = if b.host_ip.is_empty() {
        String::new()
    } else {
        format!("{}/", b.host_ip)
    };
    format!("{address}{}:{}", b.host_port, b.container_port)
}

/// pasta's arguments for the namespace at `netns` with `ports` published.
fn arguments(netns: &Path, pid_file: &Path, ports: &[PortBinding]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--config-net".into(),
        "--quiet".into(),
        "--netns".into(),
        netns.display().to_string(),
        "--pid".into(),
        pid_file.display().to_string(),
    ];
    for (flag, protocol) in [("-t", "tcp"), ("-u", "udp")] {
        let specs: Vec<String> = ports
            .iter()
            .filter(|p| p.protocol == protocol)
            .map(forward_spec)
            .collect();
        args.push(flag.into());
        args.push(if specs.is_empty() {
            "none".into()
        } else {
            specs.join(",")
        });
    }
    // Nothing from the namespace to the host's own ports.
    args.extend(["-T", "none", "-U", "none"].map(String::from));
    args
}

/// Starts pasta for the namespace at `netns`, publishing `ports` (host
/// ports already chosen); returns once the interface is up.
pub(crate) fn start(
    run_dir: &Path,
    container_id: &str,
    netns: &Path,
    ports: &[PortBinding],
) -> Result<()> {
    let pid_file = pid_file(run_dir, container_id);
    let dir = pid_file.parent().unwrap_or(run_dir);
    std::fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
    let out = Command::new(PASTA)
        .args(arguments(netns, &pid_file, ports))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            NetworkError::Pasta(if e.kind() == std::io::ErrorKind::NotFound {
                "not found: rootless networking needs pasta (apt-get install passt), or use \
                 --network none"
                    .into()
            } else {
                e.to_string()
            })
        })?;
    if out.status.success() {
        return Ok(());
    }
    // Without a terminal pasta also says that it cannot reach syslog.
    let said: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("Failed to send") && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let mut message = said.join("; ");
    if message.contains("tun") {
        message.push_str(
            " (pasta needs /dev/net/tun usable by this user: mode 0666, as udev makes it)",
        );
    }
    Err(NetworkError::Pasta(message))
}

/// Ends the container's pasta, if it runs. Idempotent.
pub(crate) fn stop(run_dir: &Path, container_id: &str) {
    let pid_file = pid_file(run_dir, container_id);
    let Some(pid) = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
    else {
        return;
    };
    // pasta execs the build for the CPU (`passt.avx2`): any passt/pasta.
    let is_pasta = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.starts_with("pasta") || comm.starts_with("passt"));
    if is_pasta {
        end(pid);
    }
    let _ = std::fs::remove_file(&pid_file);
}

/// How long pasta has to leave after SIGTERM before it is killed.
const STOP_WAIT_MS: i32 = 2000;

/// Ends pasta and waits until it is gone, so the host ports it held are
/// free when the container's removal returns (as Docker's proxies are).
/// pasta daemonises (not our child): its exit is awaited on a pidfd.
fn end(pid: i32) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    // SAFETY: a signal to the pasta process this container started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    if fd < 0 {
        return;
    }
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd of ours; the descriptor is closed once, below.
    unsafe {
        if libc::poll(&mut poll, 1, STOP_WAIT_MS) == 0 {
            libc::syscall(libc::SYS_pidfd_send_signal, fd, libc::SIGKILL, 0, 0);
            libc::poll(&mut poll, 1, STOP_WAIT_MS);
        }
        libc::close(fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_only_published_ports() {
        let ports = [
            PortBinding {
                host_ip: String::new(),
                host_port: 8080,
                container_port: 80,
                protocol: "tcp".into(),
            },
            PortBinding {
                host_ip: "127.0.0.1".into(),
                host_port: 5353,
                container_port: 53,
                protocol: "udp".into(),
            },
        ];
        let args = arguments(Path::new("/n"), Path::new("/p"), &ports);
        let after = |flag: &str| {
            let i = args.iter().position(|a| a == flag).unwrap();
            args[i + 1].clone()
        };
        assert_eq!(after("-t"), "8080:80");
        assert_eq!(after("-u"), "127.0.0.1/5353:53");
        assert_eq!(after("-T"), "none");
        assert_eq!(after("-U"), "none");
        let none = arguments(Path::new("/n"), Path::new("/p"), &[]);
        assert_eq!(none.iter().filter(|a| *a == "none").count(), 4);
    }
}
