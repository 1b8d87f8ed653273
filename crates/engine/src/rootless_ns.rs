//! The rootless namespace's holder: made once, joined by every command.
//!
//! Making it: the command forks a child that forks the holder and exits (so
//! the holder is never a child of a command that waits for its own
//! children). The holder unshares a user namespace and waits; the command
//! writes its id maps with `newuidmap`/`newgidmap` (which check them against
//! `/etc/subuid` and `/etc/subgid`) and lets it go on; the holder, now root
//! in its namespace, unshares a mount namespace, hides the cgroup2 mount of
//! a hybrid host there (so crun, which refuses such a host, uses the v1
//! controllers: the mount is covered by an empty read-only tmpfs, as a mount
//! inherited from the host cannot be detached in a user namespace), reports
//! and sleeps. Joining: `setns` into its user and then its mount namespace,
//! and back to the working directory (`setns` of a mount namespace moves
//! the caller to its root).

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use berth_error::ErrorKind;
use berth_store::FileLock;

use super::Range;
use crate::{Error, Result};

/// The holder's name in `ps` (`/proc/PID/comm`), which also tells a pid file
/// naming a reused pid from one naming the holder.
const HOLDER_COMM: &str = "berth-pause";

/// What making the namespace needs.
pub(super) struct Plan<'a> {
    pub run_dir: &'a Path,
    pub uid: u32,
    pub gid: u32,
    pub uids: Range,
    pub gids: Range,
    pub newuidmap: &'a Path,
    pub newgidmap: &'a Path,
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::refused(ErrorKind::Internal, format!("rootless berth: {what}: {e}"))
}

/// Joins the holder named in the run directory, or makes one and joins it.
pub(super) fn join_or_make(plan: &Plan<'_>) -> Result<()> {
    let lock_path = plan.run_dir.join("pause.lock");
    let _lock = FileLock::acquire(&lock_path)?;
    let pid_path = plan.run_dir.join("pause.pid");
    let pid = match std::fs::read_to_string(&pid_path)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
        .filter(|pid| is_holder(*pid, plan.uid))
    {
        Some(pid) => pid,
        None => {
            let pid = make_holder(plan)?;
            let staged = plan.run_dir.join("pause.pid.tmp");
            std::fs::write(&staged, pid.to_string())
                .and_then(|()| std::fs::rename(&staged, &pid_path))
                .map_err(|e| failed(&pid_path.display().to_string(), e))?;
            pid
        }
    };
    join(pid)
}

/// Whether `pid` is this user's holder.
fn is_holder(pid: i32, uid: u32) -> bool {
    let dir = format!("/proc/{pid}");
    std::fs::metadata(&dir).is_ok_and(|m| m.uid() == uid)
        && std::fs::read_to_string(format!("{dir}/comm")).is_ok_and(|c| c.trim() == HOLDER_COMM)
}

/// Enters the holder's user and mount namespaces, keeping the working
/// directory.
fn join(pid: i32) -> Result<()> {
    let cwd = std::env::current_dir().ok();
    let open = |ns: &str| {
        let path = format!("/proc/{pid}/ns/{ns}");
        File::open(&path).map_err(|e| failed(&path, e))
    };
    let user = open("user")?;
    let mnt = open("mnt")?;
    rustix::thread::move_into_link_name_space(
        rustix::fd::AsFd::as_fd(&user),
        Some(rustix::thread::LinkNameSpaceType::User),
    )
    .map_err(|e| failed("joining the user namespace", e))?;
    rustix::thread::move_into_link_name_space(
        rustix::fd::AsFd::as_fd(&mnt),
        Some(rustix::thread::LinkNameSpaceType::Mount),
    )
    .map_err(|e| failed("joining the mount namespace", e))?;
    if let Some(cwd) = cwd {
        // The namespace is a copy of the host's mount table: the same path.
        let _ = std::env::set_current_dir(cwd);
    }
    Ok(())
}

/// A pipe as two files (read end, write end), closed on exec.
fn pipe() -> Result<(File, File)> {
    let (r, w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| failed("pipe", e))?;
    Ok((File::from(r), File::from(w)))
}

/// Makes the holder and returns its pid (see the module's documentation).
fn make_holder(plan: &Plan<'_>) -> Result<i32> {
    let (mut from_holder, holder_writes) = pipe()?;
    let (holder_reads, mut to_holder) = pipe()?;
    // SAFETY: the process has one thread (`enter`'s contract), so the child
    // may run any code; it only makes system calls and exits.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(failed("fork", std::io::Error::last_os_error()));
    }
    if child == 0 {
        drop(from_holder);
        drop(to_holder);
        // SAFETY: as above; the intermediate child exits at once, so the
        // holder is reparented away from the command.
        let holder = unsafe { libc::fork() };
        if holder != 0 {
            // SAFETY: leaving the intermediate child without running the
            // parent's exit handlers.
            unsafe { libc::_exit(0) };
        }
        hold(holder_writes, holder_reads);
    }
    drop(holder_writes);
    drop(holder_reads);
    let mut status = 0;
    // SAFETY: waits for the intermediate child forked above.
    unsafe { libc::waitpid(child, &mut status, 0) };
    // `P` and the pid once it made its user namespace, else `E` and why.
    let mut frame = [0u8; 5];
    from_holder
        .read_exact(&mut frame[..1])
        .map_err(|e| failed("starting the namespace holder", e))?;
    if frame[0] != b'P' {
        let mut why = Vec::new();
        let _ = from_holder.read_to_end(&mut why);
        return Err(Error::refused(
            ErrorKind::Unavailable,
            format!(
                "rootless berth needs a user namespace, and the kernel refused one: {}",
                String::from_utf8_lossy(&why)
            ),
        ));
    }
    from_holder
        .read_exact(&mut frame[1..])
        .map_err(|e| failed("starting the namespace holder", e))?;
    let pid = i32::from_ne_bytes([frame[1], frame[2], frame[3], frame[4]]);
    let map = |helper: &Path, id: u32, range: Range| -> Result<()> {
        let out = Command::new(helper)
            .arg(pid.to_string())
            .args(["0", &id.to_string(), "1"])
            .args(["1", &range.start.to_string(), &range.count.to_string()])
            .output()
            .map_err(|e| failed(&helper.display().to_string(), e))?;
        if out.status.success() {
            return Ok(());
        }
        Err(Error::refused(
            ErrorKind::Unavailable,
            format!(
                "rootless berth: {} failed: {}",
                helper.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    };
    let mapped = map(plan.newuidmap, plan.uid, plan.uids)
        .and_then(|()| map(plan.newgidmap, plan.gid, plan.gids));
    if let Err(e) = mapped {
        // SAFETY: signals the holder forked above, which is still waiting.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        return Err(e);
    }
    to_holder
        .write_all(b"m")
        .map_err(|e| failed("starting the namespace holder", e))?;
    let mut report = Vec::new();
    let _ = from_holder.read_to_end(&mut report);
    match report.as_slice() {
        b"ok" => Ok(pid),
        other => Err(failed(
            "setting up the namespace",
            String::from_utf8_lossy(other),
        )),
    }
}

/// The holder itself: never returns.
fn hold(report: File, wait: File) -> ! {
    let fail = |what: &str| -> ! {
        let e = std::io::Error::last_os_error();
        let _ = write!(&report, "{what}: {e}");
        // SAFETY: ends the holder without the parent's exit handlers.
        unsafe { libc::_exit(1) }
    };
    // SAFETY: plain system calls in the single-threaded holder, on
    // NUL-terminated constants and descriptors it owns.
    unsafe {
        libc::setsid();
        libc::prctl(libc::PR_SET_NAME, c"berth-pause".as_ptr());
        if libc::unshare(libc::CLONE_NEWUSER) != 0 {
            let e = std::io::Error::last_os_error();
            let _ = write!(&report, "Eunshare(CLONE_NEWUSER): {e}");
            libc::_exit(1);
        }
    }
    let pid = std::process::id() as i32;
    let mut frame = vec![b'P'];
    frame.extend(pid.to_ne_bytes());
    if (&report).write_all(&frame).is_err() {
        // SAFETY: as above.
        unsafe { libc::_exit(1) }
    }
    let mut go = [0u8; 1];
    if (&wait).read_exact(&mut go).is_err() {
        // The command failed to map the ids and went away.
        // SAFETY: as above.
        unsafe { libc::_exit(1) }
    }
    // SAFETY: as above.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            fail("unshare of a mount namespace");
        }
        if berth_runtime::cgroup_hybrid()
            && libc::mount(
                c"none".as_ptr(),
                c"/sys/fs/cgroup/unified".as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                c"size=4k,mode=0555".as_ptr().cast(),
            ) != 0
        {
            fail("covering /sys/fs/cgroup/unified");
        }
    }
    let _ = (&report).write_all(b"ok");
    drop(report);
    drop(wait);
    // Nothing of the command that made it stays open (a caller waiting for
    // the command's output to end must not wait for the holder).
    // SAFETY: as above; the holder only sleeps from here on.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        loop {
            libc::pause();
        }
    }
}
