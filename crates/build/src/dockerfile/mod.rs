//! The Dockerfile parser: Docker's line rules, then one typed [`Command`] per
//! instruction. Arguments stay unexpanded (variables are substituted by the
//! builder, step by step, with the environment of that moment).
//!
//! Line rules (moby's `frontend/dockerfile/parser`):
//! * parser directives (`# escape=\``, `# syntax=...`) are only recognised in
//!   the comment lines before anything else;
//! * a line whose first non-blank character is `#` is a comment, also inside a
//!   continued instruction; blank lines are skipped;
//! * the escape character (`\` or `` ` ``) followed only by blanks at the end of
//!   a line continues the instruction on the next line;
//! * the first word is the instruction (any case), then `--name[=value]` flags,
//!   then the arguments, in JSON (exec) form when they parse as a JSON array of
//!   strings and in shell form otherwise.
//!
//! Heredocs (`<<EOF`) are BuildKit syntax and not accepted by the classic
//! builder this crate follows.

use std::time::Duration;

use crate::BuildError;

/// A parsed Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub escape: char,
    pub instructions: Vec<Instruction>,
}

/// One instruction: where it is, how it was written, what it says.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// 1-based line of the instruction's first line.
    pub line: usize,
    /// The instruction as written, continuation lines joined (Docker's
    /// `Original`, shown in `Step N/M : ...`).
    pub original: String,
    pub command: Command,
}

/// RUN/CMD/ENTRYPOINT arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// JSON form: run as given.
    Exec(Vec<String>),
    /// Shell form: run through the stage's SHELL.
    Shell(String),
}

/// COPY and ADD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    /// Sources then destination (at least two words), unexpanded.
    pub paths: Vec<String>,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
}

/// HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// `HEALTHCHECK NONE`.
    Disable,
    Check {
        /// `["CMD", ...]` or `["CMD-SHELL", "..."]`.
        test: Vec<String>,
        interval: Option<Duration>,
        timeout: Option<Duration>,
        start_period: Option<Duration>,
        retries: Option<i64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    From {
        image: String,
        stage: Option<String>,
        platform: Option<String>,
    },
    Run(CommandLine),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    Copy(CopyArgs),
    Add(CopyArgs),
    /// Key/value pairs with quotes still in place.
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    /// `ARG NAME[=default]`.
    Arg(Vec<(String, Option<String>)>),
    Workdir(String),
    User(String),
    Volume(Vec<String>),
    Expose(Vec<String>),
    Shell(Vec<String>),
    StopSignal(String),
    Healthcheck(Health),
    /// The trigger instruction, as written after `ONBUILD` (validated).
    OnBuild(String),
    Maintainer(String),
}

impl Command {
    /// The instruction's name as Docker spells it in messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::From { .. } => "FROM",
            Command::Run(_) => "RUN",
            Command::Cmd(_) => "CMD",
            Command::Entrypoint(_) => "ENTRYPOINT",
            Command::Copy(_) => "COPY",
            Command::Add(_) => "ADD",
            Command::Env(_) => "ENV",
            Command::Label(_) => "LABEL",
            Command::Arg(_) => "ARG",
            Command::Workdir(_) => "WORKDIR",
            Command::User(_) => "USER",
            Command::Volume(_) => "VOLUME",
            Command::Expose(_) => "EXPOSE",
            Command::Shell(_) => "SHELL",
            Command::StopSignal(_) => "STOPSIGNAL",
            Command::Healthcheck(_) => "HEALTHCHECK",
            Command::OnBuild(_) => "ONBUILD",
            Command::Maintainer(_) => "MAINTAINER",
        }
    }
}

/// Parses a whole Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, BuildError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut escape = '\\';
    let mut index = 0;
    // Directives: leading comment lines of the form `# name=value`.
    let mut seen_directives = Vec::new();
    while index < lines.len() {
        let Some((name, value)) = directive(lines[index]) else {
            break;
        };
        if seen_directives.contains(&name) {
            return Err(syntax(
                index + 1,
                format!("only one {name} parser directive can be used"),
            ));
        }
        if name == "escape" {
            escape = match value.as_str() {
                "\\" => '\\',
                "`" => '`',
                other => {
                    return Err(syntax(
                        index + 1,
                        format!("invalid ESCAPE '{other}'. Must be ` or \\"),
                    ))
                }
            };
        }
        seen_directives.push(name);
        index += 1;
    }

    let mut instructions = Vec::new();
    while index < lines.len() {
        let first = lines[index].trim_start();
        index += 1;
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let start_line = index;
        let (mut line, mut complete) = trim_continuation(first, escape);
        while !complete && index < lines.len() {
            let next = lines[index];
            index += 1;
            if next.trim_start().starts_with('#') || next.trim().is_empty() {
                continue;
            }
            let (part, done) = trim_continuation(next, escape);
            line.push_str(&part);
            complete = done;
        }
        if line.trim().is_empty() {
            continue;
        }
        let command = parse_line(&line, escape).map_err(|m| syntax(start_line, m))?;
        instructions.push(Instruction {
            line: start_line,
            original: line.trim().to_string(),
            command,
        });
    }
    Ok(Dockerfile {
        escape,
        instructions,
    })
}

fn syntax(line: usize, message: impl Into<String>) -> BuildError {
    BuildError::Syntax {
        line,
        message: message.into(),
    }
}

/// `# name = value` before any instruction.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim();
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.trim().to_string()))
}

/// Removes a trailing escape character (plus trailing blanks); tells whether
/// the instruction ends on this line.
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let trimmed = line.trim_end_matches([' ', '\t', '\r']);
    match trimmed.strip_suffix(escape) {
        Some(rest) => (rest.to_string(), false),
        None => (line.trim_end_matches('\r').to_string(), true),
    }
}

/// One instruction line (continuations joined) into a command.
fn parse_line(line: &str, escape: char) -> Result<Command, String> {
    let line = line.trim();
    let (word, rest) = split_first_word(line);
    let keyword = word.to_ascii_lowercase();
    let (flags, rest) = extract_flags(rest);
    let allowed: &[&str] = match keyword.as_str() {
        "from" => &["platform"],
        "copy" => &["from", "chown", "chmod"],
        "add" => &["chown", "chmod"],
        "healthcheck" => &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
        _ => &[],
    };
    for (name, _) in &flags {
        if !allowed.contains(&name.as_str()) {
            return Err(format!("Unknown flag: {name}"));
        }
    }
    let flag = |name: &str| -> Option<String> {
        flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let need_args = |what: &str| -> Result<(), String> {
        if rest.trim().is_empty() {
            Err(format!("{what} requires at least one argument"))
        } else {
            Ok(())
        }
    };
    Ok(match keyword.as_str() {
        "from" => {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words.as_slice() {
                [image] => Command::From {
                    image: image.to_string(),
                    stage: None,
                    platform: flag("platform"),
                },
                [image, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                    let name = name.to_ascii_lowercase();
                    if !valid_stage_name(&name) {
                        return Err(format!("invalid name for build stage: {name:?}, name can't start with a number or contain symbols"));
                    }
                    Command::From {
                        image: image.to_string(),
                        stage: Some(name),
                        platform: flag("platform"),
                    }
                }
                [] => return Err("FROM requires either one or three arguments".into()),
                _ => return Err("FROM requires either one or three arguments".into()),
            }
        }
        "run" => {
            need_args("RUN")?;
            Command::Run(command_line(rest))
        }
        "cmd" => Command::Cmd(command_line(rest)),
        "entrypoint" => Command::Entrypoint(command_line(rest)),
        "copy" | "add" => {
            let paths = json_or_words(rest);
            if paths.len() < 2 {
                return Err(format!(
                    "{} requires at least two arguments, but only {} provided",
                    keyword.to_ascii_uppercase(),
                    paths.len()
                ));
            }
            let args = CopyArgs {
                paths,
                from: flag("from"),
                chown: flag("chown"),
                chmod: flag("chmod"),
            };
            if keyword == "copy" {
                Command::Copy(args)
            } else {
                Command::Add(args)
            }
        }
        "env" => {
            need_args("ENV")?;
            Command::Env(name_values(rest, escape, "ENV")?)
        }
        "label" => {
            need_args("LABEL")?;
            Command::Label(name_values(rest, escape, "LABEL")?)
        }
        "arg" => {
            let words = parse_words(rest, escape);
            if words.is_empty() {
                return Err("ARG requires exactly one argument".into());
            }
            let mut args = Vec::new();
            for w in words {
                match w.split_once('=') {
                    Some((k, v)) => args.push((k.to_string(), Some(v.to_string()))),
                    None => args.push((w, None)),
                }
            }
            for (name, _) in &args {
                if name.is_empty() {
                    return Err("ARG names can not be blank".into());
                }
            }
            Command::Arg(args)
        }
        "workdir" => {
            need_args("WORKDIR")?;
            Command::Workdir(rest.trim().to_string())
        }
        "user" => {
            need_args("USER")?;
            Command::User(rest.trim().to_string())
        }
        "volume" => {
            need_args("VOLUME")?;
            let volumes = json_or_words(rest);
            if volumes.iter().any(|v| v.trim().is_empty()) {
                return Err("VOLUME specified can not be an empty string".into());
            }
            Command::Volume(volumes)
        }
        "expose" => {
            need_args("EXPOSE")?;
            Command::Expose(rest.split_whitespace().map(String::from).collect())
        }
        "shell" => match parse_json_array(rest) {
            Some(words) if !words.is_empty() => Command::Shell(words),
            _ => return Err("SHELL requires the arguments to be in JSON form".into()),
        },
        "stopsignal" => {
            need_args("STOPSIGNAL")?;
            Command::StopSignal(rest.trim().to_string())
        }
        "maintainer" => {
            need_args("MAINTAINER")?;
            Command::Maintainer(rest.trim().to_string())
        }
        "healthcheck" => Command::Healthcheck(health(rest, &flag)?),
        "onbuild" => {
            need_args("ONBUILD")?;
            let (trigger, _) = split_first_word(rest.trim());
            match trigger.to_ascii_lowercase().as_str() {
                "onbuild" => {
                    return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into())
                }
                "from" | "maintainer" => {
                    return Err(format!(
                        "{} isn't allowed as an ONBUILD trigger",
                        trigger.to_ascii_uppercase()
                    ))
                }
                _ => {}
            }
            // The trigger must itself be a valid instruction.
            parse_line(rest, escape)?;
            Command::OnBuild(rest.trim().to_string())
        }
        _ => {
            return Err(format!(
                "unknown instruction: {}",
                word.to_ascii_uppercase()
            ))
        }
    })
}

fn valid_stage_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
}

fn split_first_word(line: &str) -> (&str, &str) {
    match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim_start()),
        None => (line, ""),
    }
}

/// Leading `--name[=value]` words (moby's `extractBuilderFlags`).
fn extract_flags(rest: &str) -> (Vec<(String, String)>, &str) {
    let mut flags = Vec::new();
    let mut rest = rest.trim_start();
    while let Some(body) = rest.strip_prefix("--") {
        let (word, after) = split_first_word(rest);
        if word == "--" {
            rest = after;
            break;
        }
        let body = &body[..word.len() - 2];
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (body.to_string(), "true".to_string()),
        };
        flags.push((name, value));
        rest = after;
    }
    (flags, rest)
}

/// A JSON array of strings, or None.
fn parse_json_array(rest: &str) -> Option<Vec<String>> {
    let rest = rest.trim();
    if !rest.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(rest).ok()
}

fn command_line(rest: &str) -> CommandLine {
    match parse_json_array(rest) {
        Some(words) => CommandLine::Exec(words),
        None => CommandLine::Shell(rest.trim().to_string()),
    }
}

/// JSON array, or the whitespace-separated words (COPY, ADD, VOLUME).
fn json_or_words(rest: &str) -> Vec<String> {
    parse_json_array(rest).unwrap_or_else(|| rest.split_whitespace().map(String::from).collect())
}

/// moby's `parseWords`: whitespace-separated words, quotes and escapes kept
/// (the lexer removes them later), whitespace inside quotes kept.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            } else if ch == escape && q != '\'' {
                match chars.next() {
                    Some(next) => {
                        word.push(ch);
                        word.push(next);
                        continue;
                    }
                    None => continue,
                }
            }
            word.push(ch);
            continue;
        }
        if !in_word {
            if ch.is_whitespace() {
                continue;
            }
            in_word = true;
        }
        if ch.is_whitespace() {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            blank_ok = false;
            in_word = false;
            continue;
        }
        if ch == '\'' || ch == '"' {
            quote = Some(ch);
            blank_ok = true;
        }
        if ch == escape {
            if let Some(next) = chars.next() {
                word.push(ch);
                word.push(next);
            }
            continue;
        }
        word.push(ch);
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// ENV/LABEL: `name=value ...`, or the legacy `name value` (one pair).
fn name_values(rest: &str, escape: char, what: &str) -> Result<Vec<(String, String)>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(format!("{what} requires at least one argument"));
    };
    if !first.contains('=') {
        let (name, value) = split_first_word(rest.trim());
        if value.is_empty() {
            return Err(format!("{what} must have two arguments"));
        }
        return Ok(vec![(name.to_string(), value.to_string())]);
    }
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err(format!("{what} names can not be blank")),
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            )),
        })
        .collect()
}

fn health(rest: &str, flag: &dyn Fn(&str) -> Option<String>) -> Result<Health, String> {
    let (kind, cmd) = split_first_word(rest.trim());
    match kind.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !cmd.is_empty() {
                return Err("HEALTHCHECK NONE takes no arguments".into());
            }
            Ok(Health::Disable)
        }
        "CMD" => {
            if cmd.trim().is_empty() {
                return Err("Missing command after HEALTHCHECK CMD".into());
            }
            let test = match command_line(cmd) {
                CommandLine::Exec(words) => {
                    std::iter::once("CMD".to_string()).chain(words).collect()
                }
                CommandLine::Shell(s) => vec!["CMD-SHELL".to_string(), s],
            };
            let duration = |name: &str| -> Result<Option<Duration>, String> {
                match flag(name) {
                    None => Ok(None),
                    Some(v) => {
                        let d = parse_go_duration(&v)
                            .ok_or_else(|| format!("time: invalid duration {v:?}"))?;
                        if d.is_zero() {
                            return Ok(None);
                        }
                        if d < Duration::from_millis(1) {
                            return Err(format!("Interval {name:?} cannot be less than 1ms"));
                        }
                        Ok(Some(d))
                    }
                }
            };
            let retries = match flag("retries") {
                None => None,
                Some(v) => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))?;
                    if n < 0 {
                        return Err(format!("--retries cannot be negative ({n})"));
                    }
                    (n > 0).then_some(n)
                }
            };
            Ok(Health::Check {
                test,
                interval: duration("interval")?,
                timeout: duration("timeout")?,
                start_period: duration("start-period")?,
                retries,
            })
        }
        other => Err(format!("Unknown type {other:?} in HEALTHCHECK (try CMD)")),
    }
}

/// Go's `time.ParseDuration` ("1h2m", "30s", "1.5s", "100ms").
pub(crate) fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * factor;
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests;
