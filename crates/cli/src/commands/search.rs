//! `search`: Docker Hub's (or a named registry's) v1 search, in the docker
//! CLI's columns.

use anyhow::Result;
use berth_engine::image::SearchFilters;
use berth_engine::Engine;
use clap::Args;
use serde_json::json;

use super::registry::docker_config;
use crate::format::Format;
use crate::Ctx;

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Filter output based on conditions provided (is-official, stars)
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long)]
    format: Option<String>,
    /// Max number of search results
    #[arg(long, default_value_t = 0)]
    limit: u32,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// TERM
    term: String,
}

/// The docker CLI's description column: one line, 45 characters at most.
fn description(text: &str, no_trunc: bool) -> String {
    let one_line = text.replace('\n', " ");
    if no_trunc || one_line.chars().count() <= 45 {
        one_line
    } else {
        one_line.chars().take(44).chain(['…']).collect()
    }
}

pub fn search(_ctx: &Ctx, args: SearchArgs) -> Result<i32> {
    let filters = SearchFilters::from_pairs(super::filter_pairs(&args.filter)?)?;
    let config = docker_config()?;
    let found = Engine::image_search(&args.term, args.limit, &filters, &config)?;
    let rows: Vec<_> = found
        .iter()
        .map(|r| {
            json!({
                "Name": r.name,
                "Description": description(&r.description, args.no_trunc),
                "StarCount": r.star_count.to_string(),
                "IsOfficial": if r.is_official { "[OK]" } else { "" },
                "IsAutomated": if r.is_automated { "[OK]" } else { "" },
            })
        })
        .collect();
    let format = Format::parse(
        args.format
            .as_deref()
            .unwrap_or("table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"),
    )?;
    let headers = json!({
        "Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS",
        "IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED",
    });
    format.print_rows(&headers, &rows)?;
    Ok(0)
}
