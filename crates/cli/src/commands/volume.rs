//! PLACEHOLDER — owned by the volume engineer; replaced with the real commands.
use clap::Subcommand;

use crate::Ctx;

#[derive(Subcommand)]
pub enum VolumeCommand {
    Ls,
}

pub fn dispatch(_ctx: &Ctx, _cmd: VolumeCommand) -> anyhow::Result<i32> {
    anyhow::bail!("not built yet")
}
