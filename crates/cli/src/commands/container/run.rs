//! `create`, `run`, `start` and `attach`: containers started, and this
//! terminal attached to them through the engine's sessions.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use berth_docker::detach_keys::DetachKeys;
use berth_engine::container::attach::{AttachInput, AttachOutput, Attachment, Output};
use berth_engine::model::Status;
use berth_engine::Engine;
use clap::Args;

use super::flags::{request, CreateArgs, RunArgs};
use super::for_each;
use crate::commands::registry::docker_config;
use crate::Ctx;

/// Container errors carry their own exit status (126/127).
pub fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let req = request(&args.flags)?;
    let c = ctx.engine()?.container_create(req)?;
    println!("{}", c.id);
    Ok(0)
}

pub fn run(ctx: &Ctx, args: RunArgs) -> Result<i32> {
    let (_, keys) = detach_keys(args.detach_keys)?;
    let mut req = request(&args.flags)?;
    if args.detach {
        // The docker CLI records a detached run as attaching nothing.
        req.attach_stdin = false;
        req.attach_stdout = false;
        req.attach_stderr = false;
        req.stdin_once = false;
    }
    let mut engine = ctx.engine()?;
    let c = engine.container_create(req)?;
    let started = engine.container_start(&c.id, !args.detach)?;
    drop(engine);
    if args.detach {
        println!("{}", c.id);
        return Ok(0);
    }
    let Some(attachment) = started.attachment else {
        return Ok(started.container.state.exit_code);
    };
    if !args.flags.tty {
        proxy_signals(ctx, &c.id);
    }
    // As the docker CLI: detaching from `run` is a success, said nothing of.
    let session = attach_session(
        ctx,
        &c.id,
        attachment,
        args.flags.interactive,
        args.flags.tty,
        keys,
    );
    Ok(session.unwrap_or(0))
}

/// The detach keys as the docker CLI takes them: the flag, else the config
/// file's `detachKeys`, else Docker's default; checked before anything is
/// done. The text (for an exec's record) and the parsed keys.
pub(super) fn detach_keys(flag: Option<String>) -> Result<(String, DetachKeys)> {
    let text = match flag {
        Some(keys) => keys,
        None => docker_config()
            .ok()
            .and_then(|c| c.detach_keys().map(String::from))
            .unwrap_or_default(),
    };
    let keys = DetachKeys::parse(&text).map_err(|e| anyhow!(e))?;
    Ok((text, keys))
}

/// Relays this process's stdin to a session's input from a thread: its end
/// closes the process's stdin; the detach keys end the session (the process
/// runs on). The flag is set when the user detached.
pub(super) fn relay_stdin(mut input: AttachInput, mut keys: DetachKeys) -> Arc<AtomicBool> {
    let detached = Arc::new(AtomicBool::new(false));
    let flag = detached.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 32 * 1024];
        let mut from = std::io::stdin().lock();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = input.close_stdin();
                    return;
                }
                Ok(n) => n,
            };
            let (data, detach) = keys.filter(&buf[..n]);
            if !data.is_empty() && input.stdin(&data).is_err() {
                return;
            }
            if detach {
                flag.store(true, Ordering::SeqCst);
                input.detach();
                return;
            }
        }
    });
    detached
}

/// Docker's `--sig-proxy` (on for attached runs without a tty): SIGINT,
/// SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received by the CLI are sent to
/// the container instead of ending the CLI. Must run before any other thread
/// is spawned, so every thread inherits the blocked mask.
fn proxy_signals(ctx: &Ctx, id: &str) {
    let config = ctx.config();
    let id = id.to_string();
    // SAFETY: sigset manipulation on a local, then blocking those signals for
    // this thread (and the threads it spawns later).
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || loop {
        let mut sig = 0;
        // SAFETY: sigwait on the set blocked above.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        if let Ok(mut engine) = Engine::open(config.clone()) {
            let _ = engine.container_kill(&id, Some(&sig.to_string()));
        }
    });
}

/// Relays this terminal to a container's session until it exits; returns
/// its exit code, or `None` if the user typed the detach `keys` (the
/// container runs on). With a tty, the terminal is raw and its size is the
/// container's; without one, the keys reach the container (as Docker).
fn attach_session(
    ctx: &Ctx,
    id: &str,
    attachment: Attachment,
    stdin: bool,
    tty: bool,
    keys: DetachKeys,
) -> Option<i32> {
    let raw = if tty {
        crate::term::RawMode::enable()
    } else {
        None
    };
    if let (true, Some((rows, cols))) = (tty, crate::term::size()) {
        // As the docker CLI: a resize through the engine (its `resize` event).
        let _ = ctx
            .engine()
            .and_then(|mut engine| Ok(engine.container_resize(id, rows, cols)?));
    }
    let (output, mut input) = attachment.split();
    let keys = if tty { keys } else { DetachKeys::none() };
    let detached = if stdin && input.attach_stdin().is_ok() {
        Some(relay_stdin(input, keys))
    } else {
        None
    };
    let code = print_output(output);
    drop(raw);
    match detached {
        Some(flag) if flag.load(Ordering::SeqCst) => None,
        _ => Some(code),
    }
}

/// Writes a session's output to this process's stdout and stderr; the
/// exit code it ends with (0 if it ends without one).
pub(super) fn print_output(output: AttachOutput) -> i32 {
    let mut code = 0;
    for piece in output {
        match piece {
            Output::Stdout(data) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&data).and_then(|()| out.flush());
            }
            Output::Stderr(data) => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(&data).and_then(|()| err.flush());
            }
            Output::Exit(exit) => code = exit,
        }
    }
    code
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    detach_keys: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn start(ctx: &Ctx, args: StartArgs) -> Result<i32> {
    let (_, keys) = detach_keys(args.detach_keys)?;
    let mut engine = ctx.engine()?;
    if args.attach || args.interactive {
        let [name] = args.containers.as_slice() else {
            bail!("you cannot start and attach multiple containers at once");
        };
        let started = engine.container_start(name, true)?;
        drop(engine);
        let c = &started.container;
        let Some(attachment) = started.attachment else {
            return Ok(c.state.exit_code);
        };
        if !c.spec.tty {
            proxy_signals(ctx, &c.id);
        }
        // As the docker CLI: detaching from `start -a` is a success.
        let session = attach_session(ctx, &c.id, attachment, args.interactive, c.spec.tty, keys);
        return Ok(session.unwrap_or(0));
    }
    for_each(&args.containers, |name| {
        engine.container_start(name, false)?;
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    no_stdin: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    detach_keys: Option<String>,
    container: String,
}

pub fn attach(ctx: &Ctx, args: AttachArgs) -> Result<i32> {
    let (_, keys) = detach_keys(args.detach_keys)?;
    let stopped = || anyhow!("You cannot attach to a stopped container, start it first");
    let mut engine = ctx.engine()?;
    let c = engine.container_lookup(&args.container)?;
    if c.state.status != Status::Running {
        return Err(stopped());
    }
    let pending = engine.container_attach(&c.id)?;
    drop(engine);
    if !pending.is_running() {
        return Err(stopped());
    }
    let attachment = pending.wait().ok_or_else(stopped)?;
    let session = attach_session(
        ctx,
        &c.id,
        attachment,
        !args.no_stdin && c.spec.open_stdin,
        c.spec.tty,
        keys,
    );
    // As the docker CLI: detaching from `attach` ends it with this message
    // and status 1.
    Ok(session.unwrap_or_else(|| {
        eprintln!("read escape sequence");
        1
    }))
}
