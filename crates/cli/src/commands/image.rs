//! PLACEHOLDER — owned by the image engineer; replaced with the real commands.
use clap::{Args, Subcommand};

use crate::Ctx;

#[derive(Subcommand)]
pub enum ImageCommand {
    Ls(ListArgs),
    Import(ImportArgs),
    Load(LoadArgs),
    Save(SaveArgs),
    Rm(RmArgs),
    Tag(TagArgs),
    History(HistoryArgs),
}
#[derive(Args)]
pub struct ListArgs {}
#[derive(Args)]
pub struct ImportArgs {}
#[derive(Args)]
pub struct LoadArgs {}
#[derive(Args)]
pub struct SaveArgs {}
#[derive(Args)]
pub struct RmArgs {}
#[derive(Args)]
pub struct TagArgs {}
#[derive(Args)]
pub struct HistoryArgs {}

pub fn dispatch(_ctx: &Ctx, _cmd: ImageCommand) -> anyhow::Result<i32> {
    anyhow::bail!("not built yet")
}
