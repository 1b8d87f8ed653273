//! The one place where errors become exit codes and messages.
//!
//! Docker's convention: 125 when the engine itself fails (and for usage errors),
//! 126 when the container command cannot be invoked, 127 when it is not found,
//! otherwise the container's own exit status; plain management commands
//! (`rmi`, `volume rm`...) exit 1 on failure.

use berth_engine::{ErrorKind, HasKind};

/// Usage errors and engine failures of `run`/`create`.
pub const USAGE: i32 = 125;
/// A management command failed.
pub const FAILURE: i32 = 1;

/// Prints an engine failure of one item of a multi-item command (`volume rm
/// a b`, `network inspect a b`) the way the docker CLI relays dockerd's, and
/// returns the status the command exits with once every item is done.
pub fn relay(e: &berth_engine::Error) -> i32 {
    eprintln!("Error response from daemon: {e}");
    FAILURE
}

/// An error that must exit with a specific status (e.g. 126/127 from `run`).
#[derive(Debug)]
pub struct StatusError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}

/// Prints an error the way the docker CLI does (one line, `Error: ` prefix, the
/// causes joined with `: `) and returns the process exit status.
pub fn report(result: anyhow::Result<i32>, failure_code: i32) -> i32 {
    match result {
        Ok(code) => code,
        Err(err) => {
            if broken_pipe(&err) {
                die_if_output_closed();
            }
            let code = match err.downcast_ref::<StatusError>() {
                Some(s) => s.code,
                None => match kind_of(&err) {
                    Some(kind) => code_of(kind, failure_code),
                    None => failure_code,
                },
            };
            let message = one_line(&err);
            if !message.is_empty() {
                eprintln!("{}{message}", prefix(&err));
            }
            code
        }
    }
}

/// Whether a write in the error's chain failed with EPIPE.
fn broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Makes a write to a closed standard output or error end the command the
/// way it ends Docker's CLI (Go's rule for fds 1 and 2): silently, killed by
/// SIGPIPE, so `berth ps | head -1` prints no error and a shell sees 141.
/// SIGPIPE itself stays ignored (Rust's default) everywhere else, so a write
/// to a closed socket is an error to handle, and the monitor and the server,
/// which share this binary, never die of one. `println!` panics on such a
/// write: the hook catches that before anything is printed.
pub fn end_quietly_on_closed_output() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        die_if_output_closed();
        default(info)
    }));
}

/// Starts from an empty signal mask whatever the parent left blocked (a CI
/// harness may block SIGPIPE or SIGTERM): every process berth starts — the
/// monitor, pasta, the runtime — inherits the mask, and a blocked SIGTERM
/// would make `stop` and a container's teardown wait for their timeouts.
pub fn unblock_signals() {
    // SAFETY: an empty set of our own, given to pthread_sigmask.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

/// Dies of SIGPIPE if standard output or error is a pipe or socket whose
/// reader is gone (the kernel reports POLLERR on such a write end);
/// returns otherwise.
fn die_if_output_closed() {
    let mut fds = [1, 2].map(|fd| libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    });
    // SAFETY: poll reads and writes only the two pollfds given, with a zero timeout.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    if ready <= 0 || !fds.iter().any(|p| p.revents & libc::POLLERR != 0) {
        return;
    }
    // As Go's runtime dies of it: the default action restored, then raised
    // (unblocked since `unblock_signals`).
    // SAFETY: restoring the default action and raising a signal touch no memory.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(128 + libc::SIGPIPE);
}

/// The one mapping from an error's kind to an exit status: Docker's 127 and
/// 126 when a container's command cannot run, else the command's failure
/// status.
pub fn code_of(kind: ErrorKind, failure_code: i32) -> i32 {
    match kind {
        ErrorKind::CommandNotFound => 127,
        ErrorKind::CannotExecute => 126,
        _ => failure_code,
    }
}

/// The kind of the first error in the chain that knows its kind.
fn kind_of(err: &anyhow::Error) -> Option<ErrorKind> {
    err.chain()
        .find_map(|c| c.downcast_ref::<berth_engine::Error>().map(HasKind::kind))
}

/// Docker's CLI prints engine errors as "Error response from daemon: ..." and
/// its own (client-side) ones as "Error: ...". berth has no daemon, but
/// scripts match on these words, so an error raised by the engine gets the
/// daemon prefix.
pub fn prefix(err: &anyhow::Error) -> &'static str {
    if err.chain().any(|c| c.is::<berth_engine::Error>()) {
        "Error response from daemon: "
    } else {
        "Error: "
    }
}

/// The error and its causes joined with ": ", skipping a cause whose text the
/// message already carries (library errors often embed their source).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading /x: {0}")]
    struct Embeds(#[source] std::io::Error);

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::other("truncated");
        let err = anyhow::Error::new(Embeds(io)).context("loading image");
        assert_eq!(one_line(&err), "loading image: reading /x: truncated");
    }
}
