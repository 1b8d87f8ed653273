//! Threads of a monitor that take no signal. The monitor takes SIGCHLD from
//! a signalfd, which sees only signals no thread takes: a thread with
//! SIGCHLD unblocked would swallow the container's exit.

use std::thread::JoinHandle;

/// Spawns `work` on a thread named `name` with every signal blocked. The
/// thread inherits the caller's mask, so the caller's is all blocked for
/// the spawn (no moment when the new thread could take one) and restored.
pub(crate) fn spawn<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    // SAFETY: sigsets of our own; this thread's mask is restored below.
    let before = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut before);
        before
    };
    let spawned = std::thread::Builder::new().name(name.into()).spawn(work);
    // SAFETY: the mask saved above, for this thread.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut()) };
    spawned
}
