//! The signal state every process berth starts begins with: each signal at
//! its default action and none blocked, whatever berth inherited (a shell
//! running it in the background ignores SIGINT and SIGQUIT, `nohup` SIGHUP,
//! a CI harness may block SIGTERM). An ignored signal and the mask survive
//! `execve`, so without this the monitor, the OCI runtime and through them
//! the container's init and every exec'd process would inherit them (Docker's
//! containers start from containerd's shim with every signal at SIG_DFL).
//!
//! Raw `rt_sigaction`/`rt_sigprocmask` system calls: glibc's wrappers refuse
//! its reserved real-time signals 32 and 33 (and would hide them from the
//! mask), which a parent that is not a glibc program can have ignored.

use std::io;

/// The highest signal number (Linux's `_NSIG - 1`).
const LAST_SIGNAL: libc::c_int = 64;
/// The kernel's sigset size for `rt_sig*` (64 signals).
const SIGSET_BYTES: usize = 8;

/// Sets every signal's action to SIG_DFL and empties the mask, for a
/// `pre_exec` hook: async-signal-safe (system calls only, no allocation).
pub fn default_signals_in_child() -> io::Result<()> {
    // The kernel's `struct sigaction` all zero: handler SIG_DFL, no flags,
    // no restorer, empty mask (4 words covers every architecture's layout).
    let action = [0u64; 4];
    for signal in 1..=LAST_SIGNAL {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads a zeroed kernel sigaction of ours and
        // writes nothing (no old action asked for).
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                action.as_ptr(),
                std::ptr::null_mut::<u64>(),
                SIGSET_BYTES,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let empty: u64 = 0;
    // SAFETY: rt_sigprocmask reads our empty set and writes nothing.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            SIGSET_BYTES,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    /// A child whose parent ignored signals 33 and SIGINT and blocked 32
    /// and SIGTERM starts with nothing ignored or blocked.
    #[test]
    fn a_child_starts_with_default_actions_and_an_empty_mask() {
        let mut cmd = std::process::Command::new("grep");
        cmd.args(["-E", "^Sig(Ign|Blk)", "/proc/self/status"]);
        // SAFETY: raw system calls only, in the forked child.
        unsafe {
            cmd.pre_exec(|| {
                let ignore = [1u64, 0, 0, 0]; // SIG_IGN
                for signal in [libc::SIGINT, 33] {
                    libc::syscall(
                        libc::SYS_rt_sigaction,
                        signal,
                        ignore.as_ptr(),
                        std::ptr::null_mut::<u64>(),
                        SIGSET_BYTES,
                    );
                }
                let blocked: u64 = (1 << (32 - 1)) | (1 << (libc::SIGTERM - 1));
                libc::syscall(
                    libc::SYS_rt_sigprocmask,
                    libc::SIG_SETMASK,
                    &blocked as *const u64,
                    std::ptr::null_mut::<u64>(),
                    SIGSET_BYTES,
                );
                Ok(())
            });
            cmd.pre_exec(default_signals_in_child);
        }
        let out = cmd.output().expect("grep");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
        );
    }
}
