//! `top`.

use berth_container::ContainerError;

use super::exec::require_running;
use super::reconcile::lookup;
use super::runtime::runtime_of;
use crate::{Engine, Result};

/// What `top` shows: `ps`'s columns and a row per process of the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

impl Engine {
    /// `top`: the container's processes as `ps -ef` (or the given ps
    /// options) shows them.
    pub fn container_top(&mut self, reference: &str, ps_args: &[String]) -> Result<Top> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        require_running(&c)?;
        let rt = runtime_of(&c, &self.config.run_dir)?;
        let pids = rt.ps(&c.id)?;
        let args: Vec<String> = if ps_args.is_empty() {
            vec!["-ef".into()]
        } else {
            ps_args.to_vec()
        };
        let output = std::process::Command::new("ps")
            .args(&args)
            .output()
            .map_err(|e| ContainerError::io("ps", e))?;
        if !output.status.success() {
            return Err(ContainerError::Ps(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            )
            .into());
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        let Some(pid_col) = header.iter().position(|h| h == "PID") else {
            return Err(ContainerError::InvalidArgument(
                "Couldn't find PID field in ps output".into(),
            )
            .into());
        };
        let columns = header.len();
        let mut rows = Vec::new();
        for line in lines {
            let mut fields: Vec<String> = line.split_whitespace().map(String::from).collect();
            if fields.len() > columns {
                let rest = fields.split_off(columns - 1).join(" ");
                fields.push(rest);
            }
            let is_ours = fields
                .get(pid_col)
                .and_then(|p| p.parse::<i32>().ok())
                .is_some_and(|p| pids.contains(&p));
            if is_ours {
                rows.push(fields);
            }
        }
        Ok(Top {
            titles: header,
            processes: rows,
        })
    }
}
