//! What keeps concurrently running tests apart on one host: each berth root
//! a test makes gets a **slot** of its own, and with it its own run
//! directory (network namespaces, netavark's and the runtime's state), its
//! own default bridge device and its own /16 (through the daemon config's
//! `bridge` and `bip`).
//!
//! Slots are numbered files under /run/berth-tests, each `flock`ed by the
//! test that holds it for as long as it holds it. The kernel drops the lock
//! when its holder exits, however it exits, so a slot is never held by a
//! dead test and no pid bookkeeping is needed; whatever a dead holder left
//! (its bridge, namespaces, leases) is cleaned by the next holder before
//! use, and by every holder when it lets go. Short paths (/run/berth-tests/N)
//! keep the sockets a runtime puts under its state directory far from the
//! 108-byte limit of unix socket paths.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How many roots may exist at once on the host: slot N has the bridge
/// `berth-tN` and the subnet 10.(128+N).0.0/16 (10.128–10.199), clear of
/// berth's default (10.87), its user networks' pool (10.90–10.127), the
/// /24s network tests pick in 10.200–10.229, and dockerd's pools.
const SLOTS: u32 = 72;
const DIR: &str = "/run/berth-tests";

pub struct Isolation {
    slot: u32,
    dir: PathBuf,
    /// Holds the slot's flock; closing it frees the slot.
    _lock: File,
}

impl Isolation {
    /// Takes a free slot (waiting for one if all are held) and cleans what
    /// an earlier holder may have left in it.
    pub fn acquire() -> Isolation {
        std::fs::create_dir_all(DIR).expect("slot directory");
        let start = std::process::id() % SLOTS;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            for i in 0..SLOTS {
                let slot = (start + i) % SLOTS;
                let file = File::create(Path::new(DIR).join(format!("{slot}.lock")))
                    .expect("slot lock file");
                // SAFETY: flock on an fd `file` owns.
                let taken =
                    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
                if taken {
                    let isolation = Isolation {
                        slot,
                        dir: Path::new(DIR).join(slot.to_string()),
                        _lock: file,
                    };
                    isolation.clean();
                    std::fs::create_dir_all(isolation.run_dir()).expect("run dir");
                    isolation.set_daemon_config(&serde_json::json!({
                        "bridge": isolation.bridge(),
                        "bip": format!("{}/16", isolation.gateway()),
                    }));
                    return isolation;
                }
            }
            assert!(Instant::now() < deadline, "no free test slot in {DIR}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The root's run directory (`BERTH_RUN_DIR`).
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// The root's daemon config (`BERTH_DAEMON_CONFIG`).
    pub fn daemon_json(&self) -> PathBuf {
        self.dir.join("daemon.json")
    }

    /// The default bridge's device.
    pub fn bridge(&self) -> String {
        format!("berth-t{}", self.slot)
    }

    /// The first two octets of the default bridge's /16 ("10.130").
    pub fn subnet_prefix(&self) -> String {
        format!("10.{}", 128 + self.slot)
    }

    /// The default bridge's address.
    pub fn gateway(&self) -> String {
        format!("{}.0.1", self.subnet_prefix())
    }

    /// The root's plugin directory (`BERTH_PLUGIN_DIRS`): empty unless a
    /// test puts a plugin there, so that no test discovers the plugins
    /// another test serves from the host's /run/docker/plugins.
    pub fn plugin_dir(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    /// The environment every berth command of the root runs with.
    pub fn env(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("BERTH_RUN_DIR", self.run_dir()),
            ("BERTH_DAEMON_CONFIG", self.daemon_json()),
            ("BERTH_PLUGIN_DIRS", self.plugin_dir()),
        ]
    }

    /// Adds `keys` to the root's daemon config (the bridge keys stay unless
    /// `keys` names them).
    pub fn set_daemon_config(&self, keys: &serde_json::Value) {
        let path = self.daemon_json();
        let mut config: serde_json::Map<String, serde_json::Value> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        for (k, v) in keys.as_object().expect("an object of daemon.json keys") {
            config.insert(k.clone(), v.clone());
        }
        std::fs::create_dir_all(&self.dir).expect("slot dir");
        std::fs::write(&path, serde_json::Value::Object(config).to_string()).expect("daemon.json");
    }

    /// Removes the slot's bridge, namespaces, leases and state.
    fn clean(&self) {
        let bridge = self.bridge();
        let device = Path::new("/sys/class/net").join(&bridge);
        // Its ports first: berth's keeper (a veth) outlives a deleted bridge.
        for port in std::fs::read_dir(device.join("brif"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = Command::new("ip")
                .args(["link", "del"])
                .arg(port.file_name())
                .status();
        }
        if device.exists() {
            let _ = Command::new("ip").args(["link", "del", &bridge]).status();
        }
        if let Ok(entries) = std::fs::read_dir(self.run_dir().join("netns")) {
            for e in entries.flatten() {
                let path = std::ffi::CString::new(e.path().as_os_str().as_encoded_bytes())
                    .expect("netns path");
                // SAFETY: umount2 on a NUL-terminated path.
                unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(Path::new("/run/berth/leases").join(&bridge));
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        self.clean();
    }
}
