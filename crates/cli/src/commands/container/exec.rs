//! `exec`: one more process in a running container, through an exec
//! instance of the engine (created, then started with this process's
//! stdio), as the docker CLI runs it through the API.

use std::sync::atomic::Ordering;

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

/// Resizes the exec's terminal whenever this one changes size (SIGWINCH),
/// as the runtime's own relay does.
fn follow_window_size(ctx: &Ctx, id: &str) {
    // SAFETY: a local signal set; SIGWINCH blocked in this thread (and the
    // threads it starts), so that the waiting thread alone takes it.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let config = ctx.config();
    let id = id.to_string();
    std::thread::spawn(move || loop {
        let mut sig = 0;
        // SAFETY: sigwait on the set blocked above.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        if let (Some((rows, cols)), Ok(mut engine)) =
            (crate::term::size(), Engine::open(config.clone()))
        {
            let _ = engine.exec_resize(&id, rows, cols);
        }
    });
}
