//! `update`: changes containers' resources and restart policy.

use anyhow::{bail, Result};
use berth_engine::container::update::UpdateRequest;
use clap::Args;

use super::container::parse_restart;
use super::resources::{bytes, CgroupFlags};
use crate::Ctx;

#[derive(Args, Debug)]
pub struct UpdateArgs {
    #[command(flatten)]
    cgroup: CgroupFlags,
    /// Number of CPUs
    #[arg(long)]
    cpus: Option<f64>,
    /// Memory limit
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    restart: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// `update`: each container's name is printed when its update succeeded;
/// failures are reported one per line and the command exits 1, as Docker's.
pub fn update(ctx: &Ctx, args: UpdateArgs) -> Result<i32> {
    if args.cgroup.is_empty()
        && args.cpus.is_none()
        && args.memory.is_none()
        && args.pids_limit.is_none()
        && args.restart.is_none()
    {
        bail!("you must provide one or more flags when using this command");
    }
    let req = UpdateRequest {
        memory: bytes(&args.memory)?,
        nano_cpus: match args.cpus {
            Some(c) if c < 0.0 => bail!("invalid argument \"{c}\" for \"--cpus\" flag"),
            Some(c) => (c * 1e9).round() as i64,
            None => 0,
        },
        pids_limit: args.pids_limit,
        resources: args.cgroup.resources()?,
        restart_policy: args.restart.as_deref().map(parse_restart).transpose()?,
    };
    let mut engine = ctx.engine()?;
    let mut failed = false;
    for name in &args.containers {
        match engine.container_update(name, &req) {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("{w}");
                }
                println!("{name}");
            }
            Err(e) => {
                let e = anyhow::Error::from(e);
                eprintln!("{}{}", crate::exit::prefix(&e), crate::exit::one_line(&e));
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}
