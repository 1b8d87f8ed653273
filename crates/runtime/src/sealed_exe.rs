//! crun run from a sealed in-memory copy of its binary, made once per
//! process, so that crun skips its own copy and re-exec.
//!
//! # Why
//! A container that could write to the runtime's binary through
//! `/proc/<runtime pid>/exe` would own the host's next runtime call
//! (CVE-2019-5736). crun guards against it by re-executing itself at every
//! call from a copy in a memfd sealed against every change (crun's
//! `src/libcrun/cloned_binary.c`, `ensure_cloned_binary`), unless
//! `/proc/self/exe` already is a memfd whose seals are exactly
//! `F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE` (its
//! `is_self_cloned`). That re-exec — a second exec, dynamic loading and
//! relocation of crun — is about half of each call's CPU time, and berth
//! calls crun three times per run (`create`, `start`, `delete`).
//!
//! # What berth does instead
//! berth makes that copy itself ([`sealed_copy`]): crun's binary copied into
//! a memfd (`MFD_CLOEXEC | MFD_ALLOW_SEALING`), sealed with those four seals,
//! and crun executed from it through `/proc/self/fd/N` with `argv[0]` kept.
//! crun then finds itself sealed and runs at once. The file a container
//! could reach through `/proc/<crun pid>/exe` is that memfd: no write,
//! truncation or growth reaches it, and the seals cannot be removed. The
//! copy is cached per process (a monitor calls crun several times in a
//! row) and made again when the binary on disk changes (a package
//! upgrade); [`release_sealed_copy`] drops it (a monitor whose container
//! runs holds no copy: ~0.5 MB of memory per container otherwise).
//! When no copy can be made, crun runs from its file and guards itself as
//! before. runc and youki are run from their files (runc's guard differs).

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// The seals crun's `is_self_cloned` wants to find, no more, no less.
pub(crate) const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// The memfd's name: `/proc/PID/exe` of a crun berth runs reads
/// `/memfd:berth-crun (deleted)`.
const NAME: &CStr = c"berth-crun";

/// A binary on disk as the cache knows it: a copy is made again when any
/// of these change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl FileKey {
    fn of(meta: &std::fs::Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }
}

/// A sealed memfd holding a copy of a runtime's binary.
#[derive(Debug)]
pub(crate) struct SealedExe {
    fd: OwnedFd,
    binary: PathBuf,
    key: FileKey,
}

impl SealedExe {
    /// Copies `binary` into a new memfd and seals it.
    fn make(binary: &Path) -> io::Result<SealedExe> {
        let mut source = File::open(binary)?;
        let meta = source.metadata()?;
        let fd = memfd()?;
        let mut copy = File::from(fd);
        let copied = io::copy(&mut source, &mut copy)?;
        if copied != meta.size() {
            return Err(io::Error::other(format!(
                "{}: copied {copied} of {} bytes",
                binary.display(),
                meta.size()
            )));
        }
        let fd = OwnedFd::from(copy);
        // SAFETY: fcntl on a descriptor we own, with integer arguments.
        let seals = unsafe {
            if libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) != 0 {
                return Err(io::Error::last_os_error());
            }
            libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS)
        };
        if seals != SEALS {
            // Anything else (an F_SEAL_EXEC from vm.memfd_noexec) and crun
            // would copy itself anyway, or could not run from it.
            return Err(io::Error::other(format!("memfd seals {seals:#x}")));
        }
        Ok(SealedExe {
            fd,
            binary: binary.to_path_buf(),
            key: FileKey::of(&meta),
        })
    }

    /// A command running the copy, `argv[0]` the binary's path. The copy
    /// must outlive the command's spawn.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(format!("/proc/self/fd/{}", self.fd.as_raw_fd()));
        command.arg0(&self.binary);
        command
    }
}

/// A new executable memfd that allows sealing, closed on exec (the exec
/// through `/proc/self/fd/N` opens it before the descriptors close).
fn memfd() -> io::Result<OwnedFd> {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a NUL-terminated name and flags.
    let mut fd = unsafe { libc::memfd_create(NAME.as_ptr(), flags | libc::MFD_EXEC) };
    if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // Kernels before 6.3 know no MFD_EXEC: their memfds are executable.
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(NAME.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor memfd_create just returned, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// This process's copy, shared by the commands being spawned from it (a
/// copy replaced meanwhile stays open until their spawns are done).
static CACHE: Mutex<Option<Arc<SealedExe>>> = Mutex::new(None);

/// The sealed copy of `binary` to run it from: the cached one while the
/// binary on disk is unchanged, else a new one. `None` when none can be
/// made (no memfd, sealing refused): the binary is run from its file.
pub(crate) fn sealed_copy(binary: &Path) -> Option<Arc<SealedExe>> {
    let key = FileKey::of(&std::fs::metadata(binary).ok()?);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(copy) = cache.as_ref() {
        if copy.binary == binary && copy.key == key {
            return Some(copy.clone());
        }
    }
    let copy = Arc::new(SealedExe::make(binary).ok()?);
    *cache = Some(copy.clone());
    Some(copy)
}

/// Drops this process's copy (if no spawn holds it): the next call makes
/// a new one.
pub fn release_sealed_copy() {
    CACHE.lock().unwrap_or_else(|e| e.into_inner()).take();
}

/// A runtime's command line being built, with the sealed copy it will run
/// (when it has one) held until the command is dropped.
pub(crate) struct RuntimeCommand {
    command: Command,
    _exe: Option<Arc<SealedExe>>,
}

impl RuntimeCommand {
    /// `binary`, run from its sealed copy when `sealed` and one can be made.
    /// The runtime, and so the container's processes, start with every
    /// signal at its default action and none blocked.
    pub(crate) fn new(binary: &Path, sealed: bool) -> RuntimeCommand {
        let exe = sealed.then(|| sealed_copy(binary)).flatten();
        let mut command = match &exe {
            Some(exe) => exe.command(),
            None => Command::new(binary),
        };
        // SAFETY: raw system calls only (see `child_signals`).
        unsafe { command.pre_exec(crate::child_signals::default_signals_in_child) };
        RuntimeCommand { command, _exe: exe }
    }
}

impl std::ops::Deref for RuntimeCommand {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.command
    }
}

impl std::ops::DerefMut for RuntimeCommand {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.command
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn true_binary() -> PathBuf {
        ["/bin/true", "/usr/bin/true"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("true installed")
    }

    #[test]
    fn the_copy_is_sealed_as_crun_wants_runs_and_refuses_writes() {
        let binary = true_binary();
        let exe = SealedExe::make(&binary).unwrap();
        // SAFETY: fcntl on a descriptor the copy owns.
        let seals = unsafe { libc::fcntl(exe.fd.as_raw_fd(), libc::F_GET_SEALS) };
        assert_eq!(seals, SEALS);
        assert_eq!(
            std::fs::read(format!("/proc/self/fd/{}", exe.fd.as_raw_fd())).unwrap(),
            std::fs::read(&binary).unwrap()
        );
        // Opened for writing as an exploit would, through /proc: the same
        // byte written back is refused all the same.
        let writable = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/fd/{}", exe.fd.as_raw_fd()))
            .unwrap();
        let err = writable.write_at(b"\x7f", 0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        assert!(writable.set_len(0).is_err());
        assert!(writable.set_len(1 << 30).is_err());
        // (The kernel would not exec a file open for writing.)
        drop(writable);
        let status = exe.command().status().unwrap();
        assert!(status.success(), "{status}");
    }

    #[test]
    fn the_copy_is_cached_until_the_binary_changes() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("true");
        std::fs::copy(true_binary(), &binary).unwrap();
        let first = sealed_copy(&binary).unwrap();
        assert!(Arc::ptr_eq(&first, &sealed_copy(&binary).unwrap()));
        // Replaced on disk: a new copy, the old one still open for its holder.
        let replacement = dir.path().join("true.new");
        std::fs::copy(true_binary(), &replacement).unwrap();
        std::fs::rename(&replacement, &binary).unwrap();
        let second = sealed_copy(&binary).unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert!(first.command().status().unwrap().success());
        release_sealed_copy();
        assert!(!Arc::ptr_eq(&second, &sealed_copy(&binary).unwrap()));
        release_sealed_copy();
    }
}
