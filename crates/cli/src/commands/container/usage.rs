//! `top` and `stats`: what runs in a container and what it uses, from the
//! engine's results the API serves too.

use std::time::Duration;

use anyhow::Result;
use berth_engine::container::list::ListRequest;
use berth_engine::model::Status;
use clap::Args;
use serde_json::json;

use crate::format::{self, Format};
use crate::Ctx;

#[derive(Args, Debug)]
pub struct TopArgs {
    container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub fn top(ctx: &Ctx, args: TopArgs) -> Result<i32> {
    let top = ctx
        .engine()?
        .container_top(&args.container, &args.ps_args)?;
    let mut lines = vec![top.titles.join("\t")];
    lines.extend(top.processes.iter().map(|r| r.join("\t")));
    format::print_aligned(&lines)?;
    Ok(0)
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    no_stream: bool,
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    containers: Vec<String>,
}

pub fn stats(ctx: &Ctx, args: StatsArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let names: Vec<String> = if args.containers.is_empty() {
        let all = ListRequest {
            all: true,
            ..Default::default()
        };
        engine
            .container_list(&all)?
            .into_iter()
            .map(|d| d.container)
            .filter(|c| args.all || c.state.status == Status::Running)
            .map(|c| c.id)
            .collect()
    } else {
        args.containers.clone()
    };
    loop {
        let mut rows = Vec::new();
        for name in &names {
            let sample = engine.container_stats(name, Duration::from_millis(500))?;
            let (c, s) = (&sample.container, &sample.usage);
            let mem_pct = if s.memory_limit > 0 {
                s.memory_usage as f64 / s.memory_limit as f64 * 100.0
            } else {
                0.0
            };
            rows.push(json!({
                "Container": name,
                "ID": if args.no_trunc { c.id.clone() } else { c.short_id().to_string() },
                "Name": c.name,
                "CPUPerc": format!("{:.2}%", s.cpu_percent),
                "MemUsage": format!("{} / {}", binary_size(s.memory_usage), binary_size(s.memory_limit)),
                "MemPerc": format!("{mem_pct:.2}%"),
                "NetIO": format!("{} / {}", format::human_size(s.net_rx), format::human_size(s.net_tx)),
                "BlockIO": format!("{} / {}", format::human_size(s.block_read), format::human_size(s.block_write)),
                "PIDs": s.pids.to_string(),
            }));
        }
        let format = Format::parse(args.format.as_deref().unwrap_or(
            "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
        ))?;
        let headers = json!({
            "Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
            "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
            "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
        });
        format.print_rows(&headers, &rows)?;
        if args.no_stream {
            return Ok(0);
        }
    }
}

/// Docker's BytesSize (binary units: "1.5MiB").
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    let s = format!("{size:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{}", UNITS[unit])
}
