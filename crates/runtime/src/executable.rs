//! Whether a process's command can be found and run in a running
//! container, looked up as the runtime's own lookup does (`PATH` of the
//! process for a bare name, else the path from its working directory), in
//! the container's root (`/proc/PID/root`, `openat2` with
//! `RESOLVE_IN_ROOT`).
//!
//! An exec checks it before calling the runtime: crun reports a command it
//! cannot find or run on the process's own stderr (its terminal) as well
//! as in its log, so a user saw the failure twice. Anything this check
//! cannot tell (an unreadable root, a command it finds) is left to the
//! runtime.

use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::RuntimeError;

/// What the check found for a command.
enum Found {
    /// A regular file with an execute bit.
    Runnable,
    /// Something that cannot be run (a directory, a file without any
    /// execute bit).
    NotRunnable,
    Missing,
    /// Could not tell (permissions, a loop...): the runtime decides.
    Unknown,
}

fn look(root: &rustix::fd::OwnedFd, path: &str) -> Found {
    let fd = loop {
        match rustix::fs::openat2(
            root,
            path,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Found::Missing,
            Err(_) => return Found::Unknown,
            Ok(fd) => break fd,
        }
    };
    let Ok(stat) = rustix::fs::fstat(&fd) else {
        return Found::Unknown;
    };
    let executable = stat.st_mode & 0o111 != 0;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile if executable => Found::Runnable,
        FileType::RegularFile | FileType::Directory => Found::NotRunnable,
        _ => Found::Unknown,
    }
}

/// Fails with runc's words (which Docker shows) when `command` (a
/// process's `args[0]`) is certainly missing or not runnable in the
/// container whose root is `root`, for a process with `env` and `cwd`:
/// [`RuntimeError::CommandNotFound`] or [`RuntimeError::CannotExecute`].
pub fn check_command_in_root(
    runtime: &str,
    root: &Path,
    command: &str,
    env: &[String],
    cwd: &str,
) -> Result<(), RuntimeError> {
    let Ok(root_fd) = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Ok(());
    };
    let failed = |not_found: bool, why: String| {
        let message = format!("exec: \"{command}\": {why}");
        let (runtime, action) = (runtime.to_string(), "exec");
        Err(if not_found {
            RuntimeError::CommandNotFound {
                runtime,
                action,
                message,
            }
        } else {
            RuntimeError::CannotExecute {
                runtime,
                action,
                message,
            }
        })
    };
    if command.contains('/') {
        let path = if command.starts_with('/') {
            command.to_string()
        } else {
            format!("{}/{command}", cwd.trim_end_matches('/'))
        };
        return match look(&root_fd, &path) {
            Found::Missing => failed(true, format!("stat {command}: no such file or directory")),
            Found::NotRunnable => failed(false, "permission denied".into()),
            Found::Runnable | Found::Unknown => Ok(()),
        };
    }
    // Without a PATH the runtime has its own default: leave it to it.
    let Some(path) = env.iter().rev().find_map(|e| e.strip_prefix("PATH=")) else {
        return Ok(());
    };
    if command.is_empty() {
        return Ok(());
    }
    for dir in path.split(':') {
        let dir = if dir.is_empty() { cwd } else { dir };
        if !dir.starts_with('/') {
            return Ok(());
        }
        match look(
            &root_fd,
            &format!("{}/{command}", dir.trim_end_matches('/')),
        ) {
            Found::Runnable | Found::Unknown => return Ok(()),
            Found::Missing | Found::NotRunnable => {}
        }
    }
    failed(true, "executable file not found in $PATH".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::write(bin.join("data"), "").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("/bin/tool", bin.join("link")).unwrap();
        dir
    }

    fn check(root: &Path, command: &str) -> Result<(), RuntimeError> {
        check_command_in_root("crun", root, command, &["PATH=/sbin:/bin".into()], "/")
    }

    #[test]
    fn runnable_commands_pass() {
        let r = root();
        for ok in ["tool", "/bin/tool", "link", "bin/tool", "/bin/link"] {
            assert!(check(r.path(), ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn missing_and_unrunnable_commands_fail_in_runcs_words() {
        let r = root();
        let text = |c: &str| check(r.path(), c).unwrap_err().to_string();
        assert_eq!(
            text("nope"),
            "crun exec failed: exec: \"nope\": executable file not found in $PATH"
        );
        assert!(matches!(
            check(r.path(), "data"),
            Err(RuntimeError::CommandNotFound { .. })
        ));
        assert_eq!(
            text("/nope"),
            "crun exec failed: exec: \"/nope\": stat /nope: no such file or directory"
        );
        assert_eq!(
            text("/bin/data"),
            "crun exec failed: exec: \"/bin/data\": permission denied"
        );
        assert!(matches!(
            check(r.path(), "/bin"),
            Err(RuntimeError::CannotExecute { .. })
        ));
    }

    #[test]
    fn an_unreadable_root_is_left_to_the_runtime() {
        assert!(check(Path::new("/nonexistent-root"), "nope").is_ok());
    }
}
