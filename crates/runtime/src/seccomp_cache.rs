//! A container's seccomp filter handed to crun already compiled.
//!
//! The OCI runtime turns the spec's `linux.seccomp` into a BPF program with
//! libseccomp at every create. For Docker's default profile on amd64 (three
//! ABIs, x86_64, x86 and x32: about 1,100 syscall entries) libseccomp 2.5
//! needs 11–20 ms for it, superlinear in the entries (one ABI 1.4 ms, two
//! 5.5 ms, three 10.9 ms at best on these machines; `bench/seccomp.sh`), and
//! that is most of what the filter adds to a start. runc has no way to take a
//! compiled program; crun has one: the annotation `run.oci.seccomp_bpf_data`
//! (the program in base64) replaces its compilation and goes straight to
//! `seccomp(SECCOMP_SET_MODE_FILTER)`.
//!
//! So, for crun, berth keeps the program crun compiled for a filter the first
//! time ([`Pending::store`] copies `STATE_ROOT/ID/seccomp.bpf` after
//! `create`) in `STATE_ROOT/.seccomp-cache/KEY` and gives it back to crun for
//! every later container with the same filter ([`prepare`]): what crun loads
//! is byte for byte what it compiled itself, and `crun exec` loads the same
//! copy. KEY is the SHA-256 of everything the program depends on: the filter
//! as written in the spec and crun's `run.oci.seccomp*` annotations; the crun
//! binary and the libseccomp it links (path, device, inode, size, mtime: an
//! upgrade makes a new key; a wrapper script named `crun` stands for the crun
//! it runs); the kernel (release and build). The state root is a tmpfs, so
//! the cache starts empty after a reboot; it keeps at most [`MAX_ENTRIES`].

use std::ffi::{CStr, OsStr};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::RuntimeError;

/// crun's annotation for a compiled filter.
const BPF_ANNOTATION: &str = "run.oci.seccomp_bpf_data";
/// The cache's directory in the runtime's state root (a dot name: runc and
/// crun list only the other entries there as containers).
const CACHE_DIR: &str = ".seccomp-cache";
/// Programs kept; storing one more drops the older half.
pub(crate) const MAX_ENTRIES: usize = 64;

/// A filter crun is about to compile: where its program goes once it has.
#[derive(Debug)]
pub(crate) struct Pending {
    entry: PathBuf,
}

/// Before `crun create` with the bundle `bundle`: when the cache holds the
/// program of its filter, writes it into the bundle's `config.json` as crun's
/// annotation and returns `None`; when it does not, returns where to keep
/// the program crun is about to compile. `None` too for a spec without a
/// filter, or whose program was given already.
pub(crate) fn prepare(
    crun: &Path,
    state_root: &Path,
    bundle: &Path,
) -> Result<Option<Pending>, RuntimeError> {
    let config_path = bundle.join("config.json");
    let text = std::fs::read(&config_path).map_err(|e| RuntimeError::io(&config_path, e))?;
    let mut config: Value = serde_json::from_slice(&text).map_err(|e| {
        RuntimeError::invalid(format!("{}: reading the spec: {e}", config_path.display()))
    })?;
    let Some(seccomp) = config.pointer("/linux/seccomp").filter(|s| !s.is_null()) else {
        return Ok(None);
    };
    let annotations = config.get("annotations").and_then(Value::as_object);
    if annotations.is_some_and(|a| a.contains_key(BPF_ANNOTATION)) {
        return Ok(None);
    }
    let entry = state_root
        .join(CACHE_DIR)
        .join(key(crun, seccomp, annotations));
    let Some(program) = read_program(&entry) else {
        return Ok(Some(Pending { entry }));
    };
    if !config["annotations"].is_object() {
        config["annotations"] = Value::Object(Default::default());
    }
    config["annotations"][BPF_ANNOTATION] = Value::String(base64(&program));
    let bytes = serde_json::to_vec(&config).map_err(|e| {
        RuntimeError::invalid(format!("{}: writing the spec: {e}", config_path.display()))
    })?;
    crate::spec::write_config(bundle, &bytes)?;
    Ok(None)
}

impl Pending {
    /// After a successful `crun create`: keeps the program crun compiled
    /// (`compiled`, its `seccomp.bpf`). A program that cannot be kept is
    /// compiled again next time, so failures here change nothing else.
    pub(crate) fn store(self, compiled: &Path) {
        let Some(program) = read_program(compiled) else {
            return;
        };
        let Some(dir) = self.entry.parent() else {
            return;
        };
        if std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .is_err_and(|e| e.kind() != std::io::ErrorKind::AlreadyExists)
        {
            return;
        }
        evict(dir);
        // Unique among this process's threads (`berth serve`) and processes.
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".tmp-{}-{serial}", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut file| file.write_all(&program));
        if written
            .and_then(|_| std::fs::rename(&temp, &self.entry))
            .is_err()
        {
            let _ = std::fs::remove_file(&temp);
        }
    }
}

/// A BPF program from a file: whole instructions (8 bytes each), or nothing.
fn read_program(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path)
        .ok()
        .filter(|p| !p.is_empty() && p.len() % 8 == 0)
}

/// Drops the older half of the programs once there are [`MAX_ENTRIES`].
fn evict(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut programs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| !e.file_name().as_bytes().starts_with(b"."))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if programs.len() < MAX_ENTRIES {
        return;
    }
    programs.sort();
    for (_, path) in programs.iter().take(programs.len() / 2) {
        let _ = std::fs::remove_file(path);
    }
}

/// The cache key of a filter (see the module's documentation).
fn key(
    crun: &Path,
    seccomp: &Value,
    annotations: Option<&serde_json::Map<String, Value>>,
) -> String {
    let mut hash = Sha256::new();
    let mut part = |label: &str, bytes: &[u8]| {
        hash.update(label.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    part("crun", identity(crun).as_bytes());
    let libseccomp = libseccomp_file().map(|f| identity(&f)).unwrap_or_default();
    part("libseccomp", libseccomp.as_bytes());
    for file in ["osrelease", "version"] {
        let kernel = std::fs::read(Path::new("/proc/sys/kernel").join(file)).unwrap_or_default();
        part(file, &kernel);
    }
    part("seccomp", seccomp.to_string().as_bytes());
    for (name, value) in annotations.into_iter().flatten() {
        if name.starts_with("run.oci.seccomp") {
            part(name, value.to_string().as_bytes());
        }
    }
    hex::encode(hash.finalize())
}

/// A file as it is now: an upgrade in place changes at least its inode or
/// mtime.
fn identity(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{}:{}:{}:{}:{}.{}",
            path.display(),
            m.dev(),
            m.ino(),
            m.len(),
            m.mtime(),
            m.mtime_nsec()
        ),
        Err(_) => path.display().to_string(),
    }
}

/// The libseccomp a dynamically linked crun loads, as the dynamic loader
/// finds it; `None` without one (a static crun carries its own, which its
/// binary's identity covers).
fn libseccomp_file() -> Option<PathBuf> {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FILE.get_or_init(|| {
        // SAFETY: NUL-terminated names; the library stays loaded (the handle
        // is never closed), so the name dladdr points to stays valid while it
        // is copied; dladdr only fills `info`.
        unsafe {
            let handle = libc::dlopen(
                c"libseccomp.so.2".as_ptr(),
                libc::RTLD_LAZY | libc::RTLD_LOCAL,
            );
            if handle.is_null() {
                return None;
            }
            let symbol = libc::dlsym(handle, c"seccomp_version".as_ptr());
            let mut info: libc::Dl_info = std::mem::zeroed();
            if symbol.is_null() || libc::dladdr(symbol, &mut info) == 0 || info.dli_fname.is_null()
            {
                return None;
            }
            let name = CStr::from_ptr(info.dli_fname).to_bytes();
            Some(PathBuf::from(OsStr::from_bytes(name)))
        }
    })
    .clone()
}

/// Standard base64 with padding, as crun decodes the annotation.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let group = byte(0) << 16 | byte(1) << 8 | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(group >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "seccomp_cache_tests.rs"]
mod tests;
