//! `berth plugin ls`: the legacy plugins in the plugin directories (Docker's
//! `plugin ls` lists only managed plugins, which berth does not have; its
//! legacy plugins are what berth uses as volume drivers).

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::format::Format;
use crate::Ctx;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// List the plugins found in the plugin directories
    #[command(alias = "list")]
    Ls(ListArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Only display plugin names
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
}

pub fn dispatch(ctx: &Ctx, cmd: PluginCommand) -> Result<i32> {
    match cmd {
        PluginCommand::Ls(a) => list(ctx, a),
    }
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let plugins = ctx.engine()?.plugin_list();
    if args.quiet {
        for p in &plugins {
            println!("{}", p.name);
        }
        return Ok(0);
    }
    let rows: Vec<Value> = plugins
        .iter()
        .map(|p| {
            let implements = match &p.error {
                Some(e) => format!("(not activated: {e})"),
                None => p.implements.join(","),
            };
            json!({"Name": p.name, "Implements": implements, "Address": p.addr, "File": p.file})
        })
        .collect();
    let format = Format::parse(
        args.format
            .as_deref()
            .unwrap_or("table {{.Name}}\t{{.Implements}}\t{{.Address}}"),
    )?;
    let headers =
        json!({"Name": "NAME", "Implements": "IMPLEMENTS", "Address": "ADDRESS", "File": "FILE"});
    format.print_rows(&headers, &rows)?;
    Ok(0)
}
