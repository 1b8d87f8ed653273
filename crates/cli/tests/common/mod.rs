//! Test harness: a private berth root per test, with its own run directory
//! and default bridge (`isolation.rs`), the real `berth` binary, and a
//! busybox image built from Debian's busybox-static.
#![allow(dead_code)]

pub mod crash;
pub mod isolation;
pub mod net;
pub mod no_userns;
pub mod registry;
pub mod serve;
pub mod storage;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub struct Berth {
    pub root: tempfile::TempDir,
    /// Its run directory, default bridge and daemon config.
    pub isolation: isolation::Isolation,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn bin() -> PathBuf {
    std::env::var_os("BERTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_berth")))
}

impl Berth {
    pub fn new() -> Berth {
        let isolation = isolation::Isolation::acquire();
        let root = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir_in(test_dir())
            .expect("temp root");
        Berth { root, isolation }
    }

    /// A root with `busybox:latest` imported.
    pub fn with_busybox() -> Berth {
        let b = Berth::new();
        b.ok(&[
            "import",
            "-c",
            "CMD [\"sh\"]",
            busybox_tar().to_str().unwrap(),
            "busybox:latest",
        ]);
        b
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.arg("--root").arg(self.root.path()).args(args);
        cmd.envs(self.env());
        cmd.stdin(Stdio::null());
        cmd
    }

    /// The environment its commands run with: its run directory, daemon
    /// config and plugin directory (for commands a test spawns itself).
    pub fn env(&self) -> [(&'static str, PathBuf); 3] {
        self.isolation.env()
    }

    /// Adds keys to its daemon config (the bridge keys stay unless named).
    pub fn daemon_config(&self, keys: serde_json::Value) {
        self.isolation.set_daemon_config(&keys);
    }

    /// Its default bridge's device.
    pub fn bridge(&self) -> String {
        self.isolation.bridge()
    }

    /// The first two octets of its default bridge's /16 ("10.130").
    pub fn subnet_prefix(&self) -> String {
        self.isolation.subnet_prefix()
    }

    /// Its run directory.
    pub fn run_dir(&self) -> PathBuf {
        self.isolation.run_dir()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("spawn berth");
        to_run(out)
    }

    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn berth");
        // berth may exit before reading all of it (e.g. on an error).
        let _ = child.stdin.take().unwrap().write_all(input);
        to_run(child.wait_with_output().unwrap())
    }

    /// Runs and asserts success; returns trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "berth {args:?} failed: {}{}", r.stdout, r.stderr);
        r.stdout.trim().to_string()
    }

    /// Runs and asserts failure; returns the result.
    pub fn fails(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_ne!(
            r.code, 0,
            "berth {args:?} unexpectedly succeeded: {}",
            r.stdout
        );
        r
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }
}

fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        // Never leave containers (and their mounts) behind.
        let ids = self.run(&["ps", "-aq", "--no-trunc"]).stdout;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-fv"];
            args.extend(ids);
            let _ = self.run(&args);
        }
        // Its user networks' host-wide lease directories; the default
        // bridge and the run directory go with `isolation`.
        let _ = self.run(&["network", "prune", "-f"]);
    }
}

/// Where test roots live: on a real filesystem (overlay upper dirs need xattrs).
fn test_dir() -> PathBuf {
    let dir = std::env::var_os("BERTH_TEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/berth-tests"));
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

/// A busybox rootfs tar: $BERTH_BUSYBOX_TAR, or built once per test binary.
pub fn busybox_tar() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        if let Some(p) = std::env::var_os("BERTH_BUSYBOX_TAR").map(PathBuf::from) {
            if p.exists() {
                return p;
            }
        }
        build_busybox_tar()
    })
}

fn build_busybox_tar() -> PathBuf {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "busybox-static is required: apt-get install busybox-static"
    );
    let dir = test_dir().join(format!("busybox-rootfs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "root", "proc", "sys", "dev",
        "var/www", "home",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy(busybox, dir.join("bin/busybox")).unwrap();
    let list = Command::new(busybox).arg("--list-full").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let target = dir.join(applet);
        if applet != "bin/busybox" && !target.exists() {
            let _ = std::os::unix::fs::symlink("/bin/busybox", target);
        }
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    std::fs::write(dir.join("etc/group"), "root:x:0:\nnobody:x:65534:\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let tar = test_dir().join(format!("busybox-{}.tar", std::process::id()));
    let status = Command::new("tar")
        .args(["--numeric-owner", "--owner=0", "--group=0", "-C"])
        .arg(&dir)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
    tar
}

/// Mounts under `root` still present in this mount namespace.
pub fn mounts_under(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = root.to_string_lossy().to_string();
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|mp| mp.starts_with(&prefix))
        .map(String::from)
        .collect()
}

/// `docker ARGS`' stdout, if a dockerd answers and the command succeeds.
pub fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a dockerd answers (the reference engine of the comparisons).
pub fn dockerd_answers() -> bool {
    docker(&["version", "--format", "{{.Server.Version}}"]).is_some()
}

/// Runs the listing `list` once per case, with `-f always` and the case's
/// `-f` filters, in berth (through `berth`) and, when `dockerd`, in dockerd.
/// Returns every case whose answer (sorted lines, `strip` taken out) is not
/// the expected one, or differs from dockerd's.
pub fn filter_failures(
    list: &[&str],
    always: &str,
    cases: &[(Vec<String>, &[&str])],
    strip: &str,
    dockerd: bool,
    berth: &dyn Fn(&[&str]) -> String,
) -> Vec<String> {
    let shown = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(|l| l.replace(strip, "")).collect();
        lines.sort();
        lines
    };
    let mut failures = Vec::new();
    for (filters, expected) in cases {
        let mut args = list.to_vec();
        args.extend(["-f", always]);
        for f in filters {
            args.extend(["-f", f]);
        }
        let ours = shown(&berth(&args));
        if ours != *expected {
            failures.push(format!(
                "berth {filters:?}: {ours:?}, expected {expected:?}"
            ));
        }
        if dockerd {
            let theirs = shown(&docker(&args).unwrap_or_default());
            if theirs != ours {
                failures.push(format!("{filters:?}: dockerd {theirs:?}, berth {ours:?}"));
            }
        }
    }
    failures
}

/// Filter cases from string literals.
pub fn cases<'a>(cases: &[(&[&str], &'a [&'a str])]) -> Vec<(Vec<String>, &'a [&'a str])> {
    cases
        .iter()
        .map(|(f, e)| (f.iter().map(|s| s.to_string()).collect(), *e))
        .collect()
}
