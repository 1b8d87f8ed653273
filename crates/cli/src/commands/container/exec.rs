//! `exec`: one more process in a running container, through an exec
//! instance of the engine (created, then started with this process's
//! stdio), as the docker CLI runs it through the API.

use anyhow::{bail, Result};
use berth_engine::container::exec_instances::ExecConfig;
use berth_engine::container::exec_start::ExecIo;
use clap::{ArgAction, Args};

use super::flags::resolve_env;
use super::run::print_output;
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
    // The CLI's stdin reaches the process through the OCI runtime, which
    // ends the process with the CLI: there is no detaching from it here
    // (the Engine API's exec, whose process the server holds, honours them).
    if args.detach_keys.is_some() && args.interactive && !args.detach {
        bail!(
            "--detach-keys: berth's CLI cannot detach from an interactive exec (its process \
             would end with the CLI); use `exec -d`, or detach through the Engine API (berth serve)"
        );
    }
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
        detach_keys: args.detach_keys.unwrap_or_default(),
    };
    let io = if args.detach {
        ExecIo::InheritDetached
    } else {
        ExecIo::Inherit
    };
    let mut engine = ctx.engine()?;
    let id = engine.exec_create(&args.args[0], config)?;
    let session = engine.exec_start(&id, io)?;
    drop(engine);
    Ok(print_output(session.split().0))
}
