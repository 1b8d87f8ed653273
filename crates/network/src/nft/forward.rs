//! A network's forwarding, accepted in iptables' `FORWARD` chain, where
//! Docker sets the policy to DROP: a packet any base chain of the hook
//! drops is dropped, so an accept in berth's own table would not let it
//! through. Two rules per bridge, tagged with a comment, inserted at the
//! top (before Docker's jumps, which only judge Docker's bridges):
//! * `-i BRIDGE -j ACCEPT`: the network's containers may send anywhere
//!   (an internal network: only to each other, `-o BRIDGE` as well);
//! * `-o BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT`:
//!   replies, and connections to published ports.
//!
//! They are set once per bridge and boot (`ensure_network`), not per
//! container: the container path runs no process. Without an `iptables`
//! binary there is no iptables filter to get past, and nothing is done.

use std::path::Path;
use std::process::Command;

use crate::{NetworkError, Result};

const IPTABLES_PATHS: [&str; 4] = [
    "/usr/sbin/iptables",
    "/sbin/iptables",
    "/usr/bin/iptables",
    "/bin/iptables",
];

fn iptables() -> Option<&'static Path> {
    IPTABLES_PATHS.iter().map(Path::new).find(|p| p.is_file())
}

fn rules(bridge: &str, internal: bool) -> Vec<Vec<String>> {
    let comment = format!("berth {bridge}");
    let tail = |r: Vec<&str>| {
        let mut r: Vec<String> = r.into_iter().map(str::to_string).collect();
        r.extend(["-m", "comment", "--comment", &comment, "-j", "ACCEPT"].map(str::to_string));
        r
    };
    let outgoing = if internal {
        vec!["-i", bridge, "-o", bridge]
    } else {
        vec!["-i", bridge]
    };
    vec![
        tail(outgoing),
        tail(vec![
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED,DNAT",
        ]),
    ]
}

fn run(binary: &Path, action: &str, rule: &[String]) -> Result<bool> {
    let out = Command::new(binary)
        .args(["-w", action, "FORWARD"])
        .args(rule)
        .output()
        .map_err(|e| NetworkError::io(binary, e))?;
    if out.status.success() {
        return Ok(true);
    }
    // iptables exits 1 for "no such rule" (a check or a delete).
    if out.status.code() == Some(1) && action != "-I" {
        return Ok(false);
    }
    Err(NetworkError::Conflict(format!(
        "iptables {action} FORWARD {}: {}",
        rule.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Sets the bridge's rules unless they are set.
pub(super) fn accept(bridge: &str, internal: bool) -> Result<()> {
    let Some(binary) = iptables() else {
        return Ok(());
    };
    for rule in rules(bridge, internal) {
        if !run(binary, "-C", &rule)? {
            run(binary, "-I", &rule)?;
        }
    }
    Ok(())
}

/// Removes the bridge's rules, both forms (whether the network was
/// internal is not asked: a rule that is not there is no error).
pub(super) fn remove(bridge: &str) -> Result<()> {
    let Some(binary) = iptables() else {
        return Ok(());
    };
    for internal in [false, true] {
        for rule in rules(bridge, internal) {
            while run(binary, "-D", &rule)? {}
        }
    }
    Ok(())
}
