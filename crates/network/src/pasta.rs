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
//! Where no `pasta` is on `PATH`, slirp4netns serves the namespace instead
//! (`slirp.rs`).

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

/// Whether `program` is an executable file in a directory of `PATH`.
pub(crate) fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The error for a helper program's failure, from what it said on stderr.
pub(crate) fn failed(program: &'static str, stderr: &[u8]) -> NetworkError {
    // Without a terminal pasta also says that it cannot reach syslog.
    let said: Vec<String> = String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with("Failed to send") && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let mut message = said.join("; ");
    if message.contains("tun") {
        message.push_str(&format!(
            " ({program} needs /dev/net/tun usable by this user: mode 0666, as udev makes it)"
        ));
    }
    NetworkError::UserNet { program, message }
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
        .map_err(|e| NetworkError::UserNet {
            program: PASTA,
            message: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(failed(PASTA, &out.stderr))
}

/// Ends the container's pasta, if it runs. Idempotent.
pub(crate) fn stop(run_dir: &Path, container_id: &str) {
    // pasta execs the build for the CPU (`passt.avx2`): any passt/pasta.
    stop_helper(&pid_file(run_dir, container_id), &["pasta", "passt"]);
}

/// Ends the helper whose pid `pid_file` holds if its command name starts
/// with one of `names` (a pid reused since is left alone), and removes
/// the file. Idempotent.
pub(crate) fn stop_helper(pid_file: &Path, names: &[&str]) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
    else {
        return;
    };
    let ours = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| names.iter().any(|n| comm.starts_with(n)));
    if ours {
        end(pid);
    }
    let _ = std::fs::remove_file(pid_file);
}

/// How long a helper has to leave after SIGTERM before it is killed.
const STOP_WAIT_MS: i32 = 2000;

/// Ends the helper (pasta, slirp4netns) and waits until it is gone, so the
/// host ports it held are free when the container's removal returns (as
/// Docker's proxies are). It is not our child: its exit is awaited on a pidfd.
fn end(pid: i32) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    // SAFETY: a signal to the helper this container started.
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
