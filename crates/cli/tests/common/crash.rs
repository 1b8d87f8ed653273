//! The crash-point harness shared by the crash tests: run a command with a
//! crash point armed, and what must hold afterwards.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;

use super::{mounts_under, Berth};

pub const CRASH_AT: &str = "BERTH_CRASH_AT";
pub const SIGKILL: i32 = 9;

/// Runs `args` with the crash point `at` armed.
pub fn crashed(b: &Berth, at: &str, args: &[&str]) -> std::process::ExitStatus {
    b.command(args)
        .env(CRASH_AT, at)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn berth")
}

/// The command itself was killed at its crash point.
pub fn killed_at(b: &Berth, at: &str, args: &[&str]) {
    let status = crashed(b, at, args);
    assert_eq!(
        status.signal(),
        Some(SIGKILL),
        "{at}: {args:?} was not killed there"
    );
}

/// `system check` finds nothing.
pub fn assert_clean(b: &Berth, at: &str) {
    let r = b.run(&["system", "check"]);
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, ""),
        "{at}: system check found: {}{}",
        r.stdout,
        r.stderr
    );
}

/// Nothing of container `id` is left on the host, nor any mount under the root.
pub fn assert_gone_from_host(b: &Berth, id: &str, at: &str) {
    assert_eq!(
        mounts_under(b.path()),
        Vec::<String>::new(),
        "{at}: mounts left"
    );
    let run = b.run_dir();
    let netns = run.join("netns").join(id);
    assert!(!netns.exists(), "{at}: netns left");
    assert!(
        super::net::rules_lack(&format!("c:{id}")),
        "{at}: nftables rules left"
    );
    assert!(
        !run.join("runtime").join(id).exists(),
        "{at}: runtime state left"
    );
    // Leases are host-wide and name their owner's namespace.
    let leases = Path::new("/run/berth/leases");
    for bridge in std::fs::read_dir(leases).into_iter().flatten().flatten() {
        for lease in std::fs::read_dir(bridge.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let owner = std::fs::read_to_string(lease.path()).unwrap_or_default();
            assert_ne!(
                Path::new(&owner),
                netns,
                "{at}: lease {} left",
                lease.path().display()
            );
        }
    }
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = hierarchy.path().join("berth").join(id);
        assert!(!dir.exists(), "{at}: cgroup {} left", dir.display());
    }
    assert!(!Path::new("/sys/fs/cgroup/berth").join(id).exists());
}
