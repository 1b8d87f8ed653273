//! `stop`, `restart`, `kill`, `pause`, `unpause`, `wait`, `rm` and `rename`.

use anyhow::Result;
use berth_engine::container::rm::RemoveRequest;
use berth_engine::container::stop::StopRequest;
use berth_engine::container::wait::WaitCondition;
use clap::Args;

use super::for_each;
use crate::Ctx;

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "time", alias = "timeout")]
    time: Option<i64>,
    /// Signal to send to the container
    #[arg(short = 's', long)]
    signal: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

impl StopArgs {
    fn request(&self) -> StopRequest {
        StopRequest {
            timeout: self.time,
            signal: self.signal.clone(),
        }
    }
}

pub fn stop(ctx: &Ctx, args: StopArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let req = args.request();
    for_each(&args.containers, |name| {
        engine.container_stop(name, &req)?;
        println!("{name}");
        Ok(())
    })
}

pub fn restart(ctx: &Ctx, args: StopArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let req = args.request();
    for_each(&args.containers, |name| {
        engine.container_restart(name, &req)?;
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, default_value = "KILL")]
    signal: String,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn kill(ctx: &Ctx, args: KillArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    for_each(&args.containers, |name| {
        engine.container_kill(name, Some(&args.signal))?;
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct NamesArgs {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn pause(ctx: &Ctx, args: NamesArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    for_each(&args.containers, |name| {
        engine.container_pause(name)?;
        println!("{name}");
        Ok(())
    })
}

pub fn unpause(ctx: &Ctx, args: NamesArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    for_each(&args.containers, |name| {
        engine.container_unpause(name)?;
        println!("{name}");
        Ok(())
    })
}

pub fn wait(ctx: &Ctx, args: NamesArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    for_each(&args.containers, |name| {
        let code = engine
            .container_wait(name, WaitCondition::NotRunning)?
            .wait()?;
        println!("{code}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    volumes: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    link: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn rm(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let req = RemoveRequest {
        force: args.force,
        volumes: args.volumes,
    };
    for_each(&args.containers, |name| {
        if args.link {
            engine.container_remove_link(name)?;
        } else {
            engine.container_remove(name, req)?;
        }
        println!("{name}");
        Ok(())
    })
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    container: String,
    new_name: String,
}

pub fn rename(ctx: &Ctx, args: RenameArgs) -> Result<i32> {
    ctx.engine()?
        .container_rename(&args.container, &args.new_name)?;
    Ok(0)
}
