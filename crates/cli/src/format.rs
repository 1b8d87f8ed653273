//! Output formatting shared by every command: Docker's `--format` Go templates
//! (via `gtmpl`), `table` directives with Docker's column alignment, and `json`.
//!
//! Docker quirks reproduced here:
//! * a literal `\t` / `\n` typed in a format string means tab / newline (the docker
//!   CLI replaces them before parsing);
//! * `--format table ...` prints a header row made from each field's column name,
//!   then the rows, aligned like Go's tabwriter(minwidth 10, padding 3);
//! * `--format json` prints each object as one line of JSON;
//! * template functions `json`, `join`, `lower`, `upper`, `title`, `split`,
//!   `truncate`, `pad`, `println` as in docker/cli's `templates` package.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{anyhow, Context as _, Result};
use gtmpl::{Context, FuncError, Template, Value};

/// Converts JSON into a template value. Objects become `Map`s so that `.Field`,
/// `index`, and `range` all work as they do over Go structs and maps.
pub fn to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

fn from_value(value: &Value) -> serde_json::Value {
    match value {
        Value::NoValue | Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                serde_json::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                serde_json::Value::from(u)
            } else {
                serde_json::Value::from(n.as_f64().unwrap_or_default())
            }
        }
        Value::Array(a) => serde_json::Value::Array(a.iter().map(from_value).collect()),
        Value::Object(m) | Value::Map(m) => {
            // Sorted keys, as Go's encoding/json prints maps.
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), from_value(&m[k])))
                    .collect(),
            )
        }
    }
}

fn arg_str(args: &[Value], i: usize) -> Result<String, FuncError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Ok(v.to_string()),
        None => Err(FuncError::AtLeastXArgs("function".into(), i + 1)),
    }
}

fn func_json(args: &[Value]) -> Result<Value, FuncError> {
    let v = args
        .first()
        .map(from_value)
        .unwrap_or(serde_json::Value::Null);
    Ok(Value::String(v.to_string()))
}
fn func_join(args: &[Value]) -> Result<Value, FuncError> {
    let sep = arg_str(args, 1)?;
    let items = match args.first() {
        Some(Value::Array(a)) => a.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        Some(v) => vec![v.to_string()],
        None => vec![],
    };
    Ok(Value::String(items.join(&sep)))
}
fn func_lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(arg_str(args, 0)?.to_lowercase()))
}
fn func_upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(arg_str(args, 0)?.to_uppercase()))
}
fn func_title(args: &[Value]) -> Result<Value, FuncError> {
    let s = arg_str(args, 0)?;
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    Ok(Value::String(out))
}
fn func_split(args: &[Value]) -> Result<Value, FuncError> {
    let s = arg_str(args, 0)?;
    let sep = arg_str(args, 1)?;
    Ok(Value::Array(
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect(),
    ))
}
fn func_truncate(args: &[Value]) -> Result<Value, FuncError> {
    let s = arg_str(args, 0)?;
    let n: usize = arg_str(args, 1)?.parse().unwrap_or(usize::MAX);
    Ok(Value::String(s.chars().take(n).collect()))
}
fn func_pad(args: &[Value]) -> Result<Value, FuncError> {
    let s = arg_str(args, 0)?;
    let left: usize = arg_str(args, 1)?.parse().unwrap_or(0);
    let right: usize = arg_str(args, 2)?.parse().unwrap_or(0);
    Ok(Value::String(format!(
        "{}{}{}",
        " ".repeat(left),
        s,
        " ".repeat(right)
    )))
}

/// A parsed `--format` string.
pub struct Format {
    template: Template,
    table: bool,
    json: bool,
}

impl Format {
    pub fn parse(format: &str) -> Result<Format> {
        let unescaped = format.replace("\\t", "\t").replace("\\n", "\n");
        let (table, body) = match unescaped.strip_prefix("table") {
            Some(rest) => (true, rest.trim_start().to_string()),
            None => (false, unescaped),
        };
        let json = body.trim() == "json";
        let mut template = Template::default();
        template.add_funcs(&[
            ("json", func_json as gtmpl::Func),
            ("join", func_join),
            ("lower", func_lower),
            ("upper", func_upper),
            ("title", func_title),
            ("split", func_split),
            ("truncate", func_truncate),
            ("pad", func_pad),
        ]);
        if !json {
            template
                .parse(body.as_str())
                .map_err(|e| anyhow!("template parsing error: {e}"))?;
        }
        Ok(Format {
            template,
            table,
            json,
        })
    }

    /// Renders one object.
    pub fn render(&self, value: &serde_json::Value) -> Result<String> {
        if self.json {
            return Ok(value.to_string());
        }
        self.template
            .render(&Context::from(to_value(value)))
            .map_err(|e| anyhow!("template: {e}"))
    }

    /// Prints every row (one line each); with `table`, a header first (rendered
    /// from `headers`, field name -> column title) and Docker's alignment.
    pub fn print_rows(
        &self,
        headers: &serde_json::Value,
        rows: &[serde_json::Value],
    ) -> Result<()> {
        let mut lines = Vec::with_capacity(rows.len() + 1);
        if self.table && !self.json {
            lines.push(self.render(headers)?);
        }
        for row in rows {
            lines.push(self.render(row)?);
        }
        if self.table {
            print_aligned(&lines)
        } else {
            let mut out = std::io::stdout().lock();
            for line in lines {
                writeln!(out, "{line}").context("writing to stdout")?;
            }
            Ok(())
        }
    }
}

/// Prints `inspect` results as the docker CLI does: each object through the
/// `--format` template, or all of them as one indented JSON array.
pub fn print_inspect(format: Option<&Format>, found: Vec<serde_json::Value>) -> Result<()> {
    match format {
        Some(f) => {
            for v in &found {
                println!("{}", f.render(v)?);
            }
        }
        None => println!("{}", to_docker_json(&serde_json::Value::Array(found))?),
    }
    Ok(())
}

/// JSON as the docker CLI prints `inspect` output: indented with 4 spaces,
/// and without escaping `<`, `>` and `&`.
pub fn to_docker_json(value: &serde_json::Value) -> Result<String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(value, &mut ser).context("encoding JSON")?;
    String::from_utf8(out).context("encoding JSON")
}

/// Prints tab-separated lines aligned as docker's tables are
/// (Go tabwriter: minwidth 10, tabwidth 1, padding 3, padchar ' ').
pub fn print_aligned(lines: &[String]) -> Result<()> {
    let stdout = std::io::stdout().lock();
    // Go counts the padding inside minwidth; the tabwriter crate adds it on top.
    let mut tw = tabwriter::TabWriter::new(stdout).minwidth(7).padding(3);
    for line in lines {
        writeln!(tw, "{line}").context("writing to stdout")?;
    }
    tw.flush().context("writing to stdout")
}

/// go-units `HumanSizeWithPrecision(size, precision)`: decimal units and Go's
/// `%.{precision}g` ("1.986MB" at 4, "1.99MB" at 3; "1e+03kB" when rounding
/// reaches 1000, as Go prints it).
pub fn human_size_with_precision(bytes: u64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    let integer_digits = if size < 10.0 {
        1
    } else if size < 100.0 {
        2
    } else {
        3
    };
    let decimals = precision.saturating_sub(integer_digits);
    let mut s = format!("{size:.decimals$}");
    let rounded: f64 = s.parse().unwrap_or(size);
    if rounded >= 10f64.powi(precision as i32) {
        // Only reachable with precision 3: sizes stay below 1000 of a unit.
        s = "1e+03".to_string();
    } else if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[unit])
}

/// The docker CLI's listing columns (`images` SIZE, `ps -s`): 3 significant digits.
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 3)
}

/// go-units `HumanSize` (4 significant digits), used by totals such as
/// "Total reclaimed space" and `system df`.
pub fn human_size_precise(bytes: u64) -> String {
    human_size_with_precision(bytes, 4)
}

/// Docker's `units.HumanDuration` as used in "Up 3 minutes" / "2 hours ago".
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let minutes = s / 60;
    let hours = minutes / 60;
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

/// Seconds elapsed since an RFC 3339 timestamp (0 if unparsable).
pub fn seconds_since(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_nested_range_and_json() {
        let v = json!({"State": {"Status": "running"}, "Mounts": [{"Name": "a"}, {"Name": "b"}]});
        let f = Format::parse("{{.State.Status}}").unwrap();
        assert_eq!(f.render(&v).unwrap(), "running");
        let f = Format::parse("{{range .Mounts}}{{.Name}}{{end}}").unwrap();
        assert_eq!(f.render(&v).unwrap(), "ab");
        let f = Format::parse("{{json .Mounts}}").unwrap();
        assert_eq!(f.render(&v).unwrap(), r#"[{"Name":"a"},{"Name":"b"}]"#);
        let f = Format::parse("{{join .L \",\"}} {{upper .S}}").unwrap();
        assert_eq!(
            f.render(&json!({"L": ["x", "y"], "S": "ab"})).unwrap(),
            "x,y AB"
        );
    }

    #[test]
    fn table_directive_and_escapes() {
        let f = Format::parse("table {{.ID}}\\t{{.Name}}").unwrap();
        assert!(f.table);
        assert_eq!(f.render(&json!({"ID": "1", "Name": "n"})).unwrap(), "1\tn");
    }

    #[test]
    fn human_size_matches_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(1_234_567_890), "1.23GB");
        assert_eq!(human_size(12_345), "12.3kB");
    }

    #[test]
    fn precise_sizes_match_go_units() {
        assert_eq!(human_size_precise(1234), "1.234kB");
        assert_eq!(human_size_precise(12_345), "12.35kB");
        assert_eq!(human_size_precise(4_261_000), "4.261MB");
        assert_eq!(human_size_precise(1000), "1kB");
    }

    #[test]
    fn human_duration_matches_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(5), "5 seconds");
        assert_eq!(human_duration(65), "About a minute");
        assert_eq!(human_duration(3 * 3600), "3 hours");
    }
}
