//! `create`, `run`, `start` and `attach`: containers started, and this
//! terminal attached to them through the engine's sessions.

use std::io::{Read, Write};

use anyhow::{anyhow, bail, Result};
use berth_engine::container::attach::{AttachOutput, Attachment, Output};
use berth_engine::model::Status;
use berth_engine::Engine;
use clap::Args;

use super::flags::{request, CreateArgs, RunArgs};
use super::for_each;
use crate::Ctx;

/// Container errors carry their own exit status (126/127).
pub fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let req = request(&args.flags)?;
    let c = ctx.engine()?.container_create(req)?;
    println!("{}", c.id);
    Ok(0)
}

pub fn run(ctx: &Ctx, args: RunArgs) -> Result<i32> {
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
    Ok(attach_session(
        ctx,
        &c.id,
        attachment,
        args.flags.interactive,
        args.flags.tty,
    ))
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
/// its exit code. With a tty, the terminal is raw and its size is the
/// container's.
fn attach_session(ctx: &Ctx, id: &str, attachment: Attachment, stdin: bool, tty: bool) -> i32 {
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
    if stdin && input.attach_stdin().is_ok() {
        std::thread::spawn(move || {
            let mut buf = [0u8; 32 * 1024];
            let mut from = std::io::stdin().lock();
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = input.close_stdin();
                        break;
                    }
                    Ok(n) => {
                        if input.stdin(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
    let code = print_output(output);
    drop(raw);
    code
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
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn start(ctx: &Ctx, args: StartArgs) -> Result<i32> {
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
        return Ok(attach_session(
            ctx,
            &c.id,
            attachment,
            args.interactive,
            c.spec.tty,
        ));
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
    container: String,
}

pub fn attach(ctx: &Ctx, args: AttachArgs) -> Result<i32> {
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
    Ok(attach_session(
        ctx,
        &c.id,
        attachment,
        !args.no_stdin && c.spec.open_stdin,
        c.spec.tty,
    ))
}
