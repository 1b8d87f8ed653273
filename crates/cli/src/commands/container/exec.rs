//! `exec`: one more process in a running container, through an exec
//! instance of the engine (created, then started with this process's
//! stdio), as the docker CLI runs it through the API.

use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::Result;
use berth_docker::detach_keys::DetachKeys;
use berth_engine::container::attach::Attachment;
use berth_engine::container::exec_instances::ExecConfig;
use berth_engine::container::exec_start::ExecIo;
use berth_engine::Engine;
use clap::{ArgAction, Args};

use super::flags::resolve_env;
use super::run::{detach_keys, print_output, relay_stdin};
use crate::Ctx;

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    detach_keys: Option<String>,
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CONTAINER COMMAND [ARG...]")]
    args: Vec<String>,
}

pub fn exec(ctx: &Ctx, args: ExecArgs) -> Result<i32> {
    // As the docker CLI: the flag, else the config file's `detachKeys`;
    // checked when the exec is created, used where a terminal is attached.
    let (detach_keys, keys) = detach_keys(args.detach_keys)?;
    let mut env = Vec::new();
    resolve_env(&args.env, &mut env, true);
    let config = ExecConfig {
        cmd: args.args[1..].to_vec(),
        env,
        user: args.user.unwrap_or_default(),
        working_dir: args.workdir.unwrap_or_default(),
        tty: args.tty,
        privileged: args.privileged,
        attach_stdin: args.interactive,
        attach_stdout: !args.detach,
        attach_stderr: !args.detach,
        detach_keys,
        console_size: None,
        timeout: None,
    };
    let mut engine = ctx.engine()?;
    let id = engine.exec_create(&args.args[0], config)?;
    if args.interactive && args.tty && !args.detach {
        // The user may type the detach keys: the process's terminal is held
        // by the engine's holder, not by this process.
        let (rows, cols) = crate::term::size().unwrap_or((0, 0));
        let session = engine.exec_start_detachable(&id, rows, cols)?;
        drop(engine);
        return Ok(terminal_session(ctx, &id, session, keys));
    }
    let io = if args.detach {
        ExecIo::InheritDetached
    } else {
        ExecIo::Inherit
    };
    let session = engine.exec_start(&id, io)?;
    drop(engine);
    if args.tty && !args.detach {
        follow_window_size(ctx, &id);
    }
    Ok(print_output(session.split().0))
}

/// Relays this terminal (raw) to an exec's terminal until the process
/// exits, or until the user types the detach keys: then, as the docker
/// CLI, "read escape sequence" and status 1, the process running on.
fn terminal_session(ctx: &Ctx, id: &str, session: Attachment, keys: DetachKeys) -> i32 {
    follow_window_size(ctx, id);
    let raw = crate::term::RawMode::enable();
    let (output, input) = session.split();
    let detached = relay_stdin(input, keys);
    let code = print_output(output);
    drop(raw);
    if detached.load(Ordering::SeqCst) {
        eprintln!("read escape sequence");
        return 1;
    }
    code
}

/// The write end of the pipe [`on_window_change`] writes to (-1: none).
static WINDOW_CHANGES: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_window_change(_: libc::c_int) {
    let fd = WINDOW_CHANGES.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write is async-signal-safe; a full pipe drops the byte
        // (a resize is pending already).
        unsafe { libc::write(fd, b"w".as_ptr().cast(), 1) };
    }
}

/// Resizes the exec's terminal whenever this one changes size (SIGWINCH),
/// as the runtime's own relay does. The signal's handler wakes a thread
/// through a pipe: every thread may take the signal, and no signal mask
/// is left to the processes this one starts.
fn follow_window_size(ctx: &Ctx, id: &str) {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 into a local array; fcntl and sigaction on what it made,
    // with a handler that only writes to the pipe.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return;
        }
        libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK);
        WINDOW_CHANGES.store(fds[1], Ordering::Relaxed);
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_window_change as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGWINCH, &action, std::ptr::null_mut());
    }
    // SAFETY: the read end was just made, and is this thread's alone.
    let mut changes = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    let config = ctx.config();
    let id = id.to_string();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        while let Ok(1) = std::io::Read::read(&mut changes, &mut byte) {
            if let (Some((rows, cols)), Ok(mut engine)) =
                (crate::term::size(), Engine::open(config.clone()))
            {
                let _ = engine.exec_resize(&id, rows, cols);
            }
        }
    });
}
