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

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

use anyhow::{anyhow, Context as _, Result};
use gtmpl::{Context, FuncError, Template, Value};

thread_local! {
    /// The key order of the objects `to_value` converted, by their sorted key
    /// set. Template values are hash maps, but `{{json .X}}` must print a
    /// Docker struct in its field order (Docker's `json` encodes the struct),
    /// so `from_value` restores the order an object with the same keys had.
    /// Maps (labels, options) come from sorted maps: their order is Go's.
    static KEY_ORDER: RefCell<HashMap<Vec<String>, Vec<String>>> = RefCell::new(HashMap::new());
}

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
        serde_json::Value::Object(o) => {
            if o.len() > 1 {
                let ordered: Vec<String> = o.keys().cloned().collect();
                let mut sorted = ordered.clone();
                sorted.sort();
                KEY_ORDER.with(|k| k.borrow_mut().insert(sorted, ordered));
            }
            Value::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), to_value(v)))
                    .collect::<HashMap<_, _>>(),
            )
        }
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
            // Sorted keys, as Go's encoding/json prints maps, unless the
            // object was a struct with its own order (see KEY_ORDER).
            let mut keys: Vec<String> = m.keys().cloned().collect();
            keys.sort();
            if let Some(ordered) = KEY_ORDER.with(|k| k.borrow().get(&keys).cloned()) {
                keys = ordered;
            }
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| {
                        let v = from_value(&m[&k]);
                        (k, v)
                    })
                    .collect(),
            )
        }
    }
}

/// Docker quirk (Go's `fmt`, which prints what a template action yields):
/// a map prints as `map[k:v ...]` with sorted keys, a slice as `[a b]`, a
/// struct as `{v1 v2}` in field order; gtmpl would print Rust's debug form.
/// An object whose keys are all Go field names (capitalised identifiers) is
/// taken for a struct.
fn go_format(value: &Value) -> String {
    match value {
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(m) | Value::Map(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let is_struct = !keys.is_empty()
                && keys.iter().all(|k| {
                    k.starts_with(|c: char| c.is_ascii_uppercase())
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if is_struct {
                let sorted: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                let order = KEY_ORDER
                    .with(|o| o.borrow().get(&sorted).cloned())
                    .unwrap_or(sorted);
                let fields: Vec<String> = order.iter().map(|k| go_format(&m[k])).collect();
                format!("{{{}}}", fields.join(" "))
            } else {
                let pairs: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{k}:{}", go_format(&m[*k])))
                    .collect();
                format!("map[{}]", pairs.join(" "))
            }
        }
        other => other.to_string(),
    }
}

fn func_goprint(args: &[Value]) -> Result<Value, FuncError> {
    Ok(match args.first() {
        Some(v @ (Value::Array(_) | Value::Object(_) | Value::Map(_))) => {
            Value::String(go_format(v))
        }
        Some(v) => v.clone(),
        None => Value::NoValue,
    })
}

/// The template with every action that prints a value passed through
/// `goprint` (`{{.X}}` -> `{{goprint (.X)}}`); control actions, variable
/// assignments and comments are left as they are.
fn go_printed(template: &str) -> String {
    const CONTROL: [&str; 10] = [
        "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
    ];
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let action = &rest[open + 2..];
        // The closing braces, skipping quoted strings.
        let (mut quote, mut close) = (None, None);
        let bytes = action.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match (quote, bytes[i]) {
                (Some(q), b'\\') if q == b'"' => i += 1,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, c @ (b'"' | b'`' | b'\'')) => quote = Some(c),
                (None, b'}') if bytes.get(i + 1) == Some(&b'}') => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(close) = close else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &action[..close];
        let (left, body) = match inner.strip_prefix("- ") {
            Some(b) => ("- ", b),
            None => ("", inner),
        };
        let (body, right) = match body.strip_suffix(" -") {
            Some(b) => (b, " -"),
            None => (body, ""),
        };
        let trimmed = body.trim();
        let first = trimmed.split_whitespace().next().unwrap_or("");
        let plain = !trimmed.is_empty()
            && !trimmed.starts_with("/*")
            && !CONTROL.contains(&first)
            && !trimmed.contains(":=")
            && !trimmed.split_whitespace().any(|w| w == "=");
        if plain {
            out.push_str(&format!("{{{{{left}goprint ({trimmed}){right}}}}}"));
        } else {
            out.push_str(&format!("{{{{{inner}}}}}"));
        }
        rest = &action[close + 2..];
    }
    out.push_str(rest);
    out
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
            ("goprint", func_goprint),
        ]);
        if !json {
            template
                .parse(go_printed(&body).as_str())
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
        KEY_ORDER.with(|k| k.borrow_mut().clear());
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

/// `inspect` of several objects as the docker CLI does it: every document
/// found is printed (one template line each, or one JSON array), every
/// failure relayed on stderr, and the status is 1 if any failed.
pub fn inspect_each<T>(
    format: Option<&str>,
    names: &[String],
    mut lookup: impl FnMut(&str) -> berth_engine::Result<T>,
    document: impl Fn(&T) -> serde_json::Value,
) -> Result<i32> {
    let format = format.map(Format::parse).transpose()?;
    let mut found = Vec::new();
    let mut status = 0;
    for name in names {
        match lookup(name) {
            Ok(object) => found.push(document(&object)),
            Err(e) => status = crate::exit::relay(&e),
        }
    }
    print_inspect(format.as_ref(), found)?;
    Ok(status)
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

pub use berth_engine::units::{human_duration, human_size, human_size_precise, seconds_since};

/// "3 hours ago".
pub fn ago(rfc3339: &str) -> String {
    format!("{} ago", human_duration(seconds_since(rfc3339)))
}

/// The 12 hex digits Docker shows of an ID (`sha256:` dropped).
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Docker's `stringutils.Ellipsis`: at most `max` characters, the last one
/// `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// `a=b,c=` as Docker's listings show labels.
pub fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits a familiar `repo:tag` (`sep` ':') or `repo@digest` (`sep` '@') into
/// the repository and the rest ("" when there is none); a tag separator is the
/// last ':' after the last '/' (a registry port is not a tag).
pub fn split_familiar(reference: &str, sep: char) -> (String, String) {
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(sep) {
        Some(i) => (
            reference[..slash + i].to_string(),
            reference[slash + i + 1..].to_string(),
        ),
        None => (reference.to_string(), String::new()),
    }
}

/// clap's parser of `--filter KEY=VALUE` flags: a flag without `=` is a
/// usage error, as the docker CLI's.
pub fn filter_flag(value: &str) -> Result<String, String> {
    berth_engine::filters::Filters::parse_flags(&[value])
        .map(|_| value.to_string())
        .map_err(|e| e.to_string())
}

/// Docker's `[y/N]` prompt after `warning`; anything but y/yes (or end of
/// input) declines.
pub fn confirm(warning: &str) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    write!(out, "{warning}\nAre you sure you want to continue? [y/N] ")
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
    drop(out);
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("reading the answer from stdin")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
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
    fn maps_slices_and_structs_print_as_go_prints_them() {
        let f = Format::parse(
            "{{.Labels}} {{.Cmd}} {{.Log}} {{- \" x\" -}} {{if .Cmd}}{{range .Cmd}}<{{.}}>{{end}}{{end}} \
             {{$l := .Labels}}{{index $l \"b\"}} {{/* c */}}{{json .Cmd}} {{.Labels.a | upper}} {{.None}}",
        )
        .unwrap();
        let v = serde_json::json!({
            "Labels": {"b": "2", "a": "1"},
            "Cmd": ["sh", "-c", "x y"],
            "Log": {"Type": "json-file", "Config": {}},
        });
        assert_eq!(
            f.render(&v).unwrap(),
            "map[a:1 b:2] [sh -c x y] {json-file map[]} x<sh><-c><x y> 2 [\"sh\",\"-c\",\"x y\"] 1 <no value>"
        );
        assert_eq!(go_printed("{{ \"}}\" }}"), "{{goprint (\"}}\")}}");
    }

    #[test]
    fn table_directive_and_escapes() {
        let f = Format::parse("table {{.ID}}\\t{{.Name}}").unwrap();
        assert!(f.table);
        assert_eq!(f.render(&json!({"ID": "1", "Name": "n"})).unwrap(), "1\tn");
    }

    #[test]
    fn ids_references_and_ellipses() {
        assert_eq!(
            short_id(&format!("sha256:{}", "ab".repeat(32))),
            "abababababab"
        );
        assert_eq!(
            split_familiar("busybox:latest", ':'),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            split_familiar("localhost:5000/x:1", ':'),
            ("localhost:5000/x".into(), "1".into())
        );
        assert_eq!(
            split_familiar("localhost:5000/x", ':'),
            ("localhost:5000/x".into(), String::new())
        );
        assert_eq!(ellipsis(&"x".repeat(50), 45).chars().count(), 45);
        assert_eq!(ellipsis("short", 45), "short");
    }
}
