//! `system check [--repair] [--quick]` (podman's command; Docker has none):
//! one line per finding, and with `--repair` whether it was fixed. Exit
//! status 0 when nothing was found or everything found was repaired, 1 when
//! something found is left (not asked to repair, or not repairable).

use anyhow::Result;
use berth_engine::system::CheckRequest;
use clap::Args;

use crate::Ctx;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Fix what is found (volume data is never deleted)
    #[arg(short = 'r', long)]
    repair: bool,
    /// Skip the checks that take long (full database check, blob digests)
    #[arg(short = 'q', long)]
    quick: bool,
}

pub fn run(ctx: &Ctx, args: CheckArgs) -> Result<i32> {
    let checked = ctx.engine()?.system_check(CheckRequest {
        repair: args.repair,
        quick: args.quick,
    })?;
    let mut left = false;
    for c in &checked {
        left |= !c.repaired;
        if !args.repair {
            println!("{}", c.finding);
        } else if c.repaired {
            println!("{} (repaired)", c.finding);
        } else {
            println!("{} (not repaired)", c.finding);
        }
    }
    Ok(i32::from(left))
}
