//! `--change` instructions (`import -c`, `commit -c`): a subset of Dockerfile
//! instructions applied to an image config, with Docker's rules:
//! * allowed: CMD ENTRYPOINT ENV EXPOSE LABEL ONBUILD USER VOLUME WORKDIR
//!   (anything else: `from is not a valid change command`);
//! * CMD / ENTRYPOINT take a JSON array (exec form) or a string run by
//!   `/bin/sh -c` (shell form); ENTRYPOINT clears the CMD unless a CMD change
//!   came before it;
//! * ENV `K=V ...` (quotes allowed) or legacy `ENV K the rest`; LABEL likewise;
//! * EXPOSE `80`, `53/udp`, `1000-1002` (default protocol tcp);
//! * VOLUME JSON array or words; WORKDIR relative to the current one;
//! * `$VAR` / `${VAR}` in ENV, EXPOSE, LABEL, USER, VOLUME and WORKDIR expand
//!   from the config's environment as it stands at that instruction.

use std::collections::BTreeMap;

use crate::config::{ContainerConfig, Empty};
use crate::ImageError;

/// Applies `changes` to an OCI config (the container crate's view).
pub fn apply_changes(
    config: &mut oci_spec::image::Config,
    changes: &[String],
) -> Result<(), ImageError> {
    let mut docker = ContainerConfig::default();
    docker.merge_oci(config);
    apply_to_docker_config(&mut docker, changes)?;
    *config = docker.to_oci();
    Ok(())
}

/// Applies `changes` to a Docker-shaped config.
pub fn apply_to_docker_config(
    config: &mut ContainerConfig,
    changes: &[String],
) -> Result<(), ImageError> {
    let mut cmd_set = false;
    for change in changes {
        for line in change.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            apply_one(config, line, &mut cmd_set)?;
        }
    }
    Ok(())
}

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidArgument(msg.into())
}

fn apply_one(
    config: &mut ContainerConfig,
    line: &str,
    cmd_set: &mut bool,
) -> Result<(), ImageError> {
    let (keyword, rest) = match line.split_once(char::is_whitespace) {
        Some((k, r)) => (k, r.trim()),
        None => (line, ""),
    };
    let keyword = keyword.to_ascii_lowercase();
    let env = config.env.clone().unwrap_or_default();
    match keyword.as_str() {
        "cmd" => {
            config.cmd = Some(command_form(rest));
            *cmd_set = true;
        }
        "entrypoint" => {
            config.entrypoint = Some(command_form(rest));
            if !*cmd_set {
                config.cmd = None;
            }
        }
        "env" => {
            let pairs = name_values("ENV", rest, &env)?;
            let vars = config.env.get_or_insert_with(Vec::new);
            for (k, v) in pairs {
                let entry = format!("{k}={v}");
                match vars
                    .iter_mut()
                    .find(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) == k)
                {
                    Some(existing) => *existing = entry,
                    None => vars.push(entry),
                }
            }
        }
        "label" => {
            let pairs = name_values("LABEL", rest, &env)?;
            let labels = config.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in pairs {
                labels.insert(k, v);
            }
        }
        "expose" => {
            let words = words(rest, &env)?;
            if words.is_empty() {
                return Err(invalid("EXPOSE requires at least one argument"));
            }
            let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
            for word in words {
                for port in expand_port(&word)? {
                    ports.insert(port, Empty {});
                }
            }
        }
        "volume" => {
            let paths = match json_array(rest) {
                Some(v) => v,
                None => words(rest, &env)?,
            };
            if paths.is_empty() {
                return Err(invalid("VOLUME requires at least one argument"));
            }
            let volumes = config.volumes.get_or_insert_with(BTreeMap::new);
            for path in paths {
                if path.trim().is_empty() {
                    return Err(invalid("VOLUME specified can not be an empty string"));
                }
                volumes.insert(path, Empty {});
            }
        }
        "workdir" => {
            let dir = word(rest, &env)?;
            if dir.is_empty() {
                return Err(invalid("WORKDIR requires exactly one argument"));
            }
            config.working_dir = if dir.starts_with('/') {
                clean_path(&dir)
            } else {
                clean_path(&format!("/{}/{dir}", config.working_dir))
            };
        }
        "user" => {
            let user = word(rest, &env)?;
            if user.is_empty() {
                return Err(invalid("USER requires exactly one argument"));
            }
            config.user = user;
        }
        "onbuild" => {
            if rest.is_empty() {
                return Err(invalid("ONBUILD requires at least one argument"));
            }
            config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(rest.to_string());
        }
        other => return Err(invalid(format!("{other} is not a valid change command"))),
    }
    Ok(())
}

/// Exec form when the argument is a JSON array of strings, else shell form.
fn command_form(rest: &str) -> Vec<String> {
    match json_array(rest) {
        Some(v) => v,
        None if rest.is_empty() => Vec::new(),
        None => vec!["/bin/sh".into(), "-c".into(), rest.to_string()],
    }
}

fn json_array(rest: &str) -> Option<Vec<String>> {
    if !rest.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(rest).ok()
}

/// `K=V K2="v 2"` pairs, or the legacy `K value with spaces` form.
fn name_values(
    instruction: &str,
    rest: &str,
    env: &[String],
) -> Result<Vec<(String, String)>, ImageError> {
    if rest.is_empty() {
        return Err(invalid(format!(
            "{instruction} requires at least one argument"
        )));
    }
    let first = rest.split(char::is_whitespace).next().unwrap_or_default();
    if !first.contains('=') {
        // Legacy form: one name, the rest of the line is its value.
        let (name, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(format!("{instruction} names can not be blank")));
        }
        return Ok(vec![(name.to_string(), word(value, env)?)]);
    }
    let mut pairs = Vec::new();
    for w in words(rest, env)? {
        let (k, v) = w.split_once('=').ok_or_else(|| {
            invalid(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ))
        })?;
        if k.is_empty() {
            return Err(invalid(format!("{instruction} names can not be blank")));
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    Ok(pairs)
}

fn expand_port(word: &str) -> Result<Vec<String>, ImageError> {
    let (range, proto) = word.split_once('/').unwrap_or((word, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(invalid(format!("Invalid proto: {proto}")));
    }
    let bad = || invalid(format!("Invalid containerPort: {range}"));
    let (start, end) = match range.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = range.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if end < start {
        return Err(invalid(format!(
            "Invalid range specified for the Port: {range}"
        )));
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// Lexical path cleaning (Go's `filepath.Clean` for absolute paths).
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn lookup<'a>(env: &'a [String], name: &str) -> &'a str {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap_or("")
}

/// Splits on unquoted whitespace, removing quotes and backslash escapes and
/// expanding variables (Docker's `ProcessWords`).
fn words(input: &str, env: &[String]) -> Result<Vec<String>, ImageError> {
    lex(input, env, true)
}

/// The whole input as one word (Docker's `ProcessWord`).
fn word(input: &str, env: &[String]) -> Result<String, ImageError> {
    Ok(lex(input, env, false)?.concat())
}

fn lex(input: &str, env: &[String], split: bool) -> Result<Vec<String>, ImageError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() && split => {
                if in_word {
                    out.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => current.push(ch),
                        None => return Err(invalid(
                            "unexpected end of statement while looking for matching single-quote",
                        )),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$')) => current.push(ch),
                            Some(ch) => {
                                current.push('\\');
                                current.push(ch);
                            }
                            None => return Err(invalid("unexpected end of statement while looking for matching double-quote")),
                        },
                        Some('$') => expand(&mut chars, env, &mut current)?,
                        Some(ch) => current.push(ch),
                        None => return Err(invalid("unexpected end of statement while looking for matching double-quote")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    current.push(ch);
                }
            }
            '$' => {
                in_word = true;
                expand(&mut chars, env, &mut current)?;
            }
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word || !split {
        out.push(current);
    }
    Ok(out)
}

fn expand(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    env: &[String],
    out: &mut String,
) -> Result<(), ImageError> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    match chars.peek().copied() {
        Some('{') => {
            chars.next();
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some('}') => break,
                    Some(c) => name.push(c),
                    None => return Err(invalid("missing '}' in variable substitution")),
                }
            }
            // ${VAR:-default} and ${VAR:+alt}, as Docker's shell lexer supports.
            if let Some((var, default)) = name.split_once(":-") {
                let v = lookup(env, var);
                out.push_str(if v.is_empty() { default } else { v });
            } else if let Some((var, alt)) = name.split_once(":+") {
                if !lookup(env, var).is_empty() {
                    out.push_str(alt);
                }
            } else {
                out.push_str(lookup(env, &name));
            }
        }
        Some(c) if is_name(c) => {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if !is_name(c) {
                    break;
                }
                name.push(c);
                chars.next();
            }
            out.push_str(lookup(env, &name));
        }
        _ => out.push('$'),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<ContainerConfig, ImageError> {
        let mut c = ContainerConfig::default();
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        apply_to_docker_config(&mut c, &changes)?;
        Ok(c)
    }

    #[test]
    fn matches_dockers_import_result() {
        // Same changes as run against dockerd 20.10; expected values are its output.
        let c = apply(&[
            "ENV A 1 2",
            r#"ENV B="x y" C=z"#,
            "CMD echo hi",
            r#"ENTRYPOINT ["/bin/sh"]"#,
            "EXPOSE 80 53/udp 1000-1001",
            "VOLUME /data /x",
            "WORKDIR app",
            "WORKDIR sub",
            r#"LABEL a=b "c d"=e"#,
            "USER nobody",
            "ONBUILD RUN x",
        ])
        .unwrap();
        assert_eq!(c.user, "nobody");
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["1000/tcp", "1001/tcp", "53/udp", "80/tcp"]);
        assert_eq!(c.env.unwrap(), ["A=1 2", "B=x y", "C=z"]);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh"]);
        assert_eq!(c.cmd.unwrap(), ["/bin/sh", "-c", "echo hi"]);
        let vols: Vec<_> = c.volumes.unwrap().into_keys().collect();
        assert_eq!(vols, ["/data", "/x"]);
        assert_eq!(c.working_dir, "/app/sub");
        let labels = c.labels.unwrap();
        assert_eq!(labels["a"], "b");
        assert_eq!(labels["c d"], "e");
        assert_eq!(c.on_build.unwrap(), ["RUN x"]);
    }

    #[test]
    fn variables_and_forms() {
        let c = apply(&[
            r#"VOLUME ["/v"]"#,
            "ENV P=$A",
            "ENV A=1",
            "LABEL x=$A y=${A}2 z='$A'",
        ])
        .unwrap();
        assert_eq!(c.env.unwrap(), ["P=", "A=1"]);
        assert_eq!(c.volumes.unwrap().into_keys().collect::<Vec<_>>(), ["/v"]);
        let labels = c.labels.unwrap();
        assert_eq!(
            (
                labels["x"].as_str(),
                labels["y"].as_str(),
                labels["z"].as_str()
            ),
            ("1", "12", "$A")
        );
        // ENTRYPOINT without an earlier CMD clears the CMD.
        let mut c = ContainerConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        apply_to_docker_config(&mut c, &["ENTRYPOINT x".to_string()]).unwrap();
        assert_eq!(c.cmd, None);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh", "-c", "x"]);
        let c = apply(&[r#"CMD ["a"]"#, "ENTRYPOINT x", "ENV A=1", "ENV A=2"]).unwrap();
        assert_eq!(c.cmd.unwrap(), ["a"]);
        assert_eq!(c.env.unwrap(), ["A=2"]);
    }

    #[test]
    fn errors_use_dockers_words() {
        let err = |c: &str| apply(&[c]).unwrap_err().to_string();
        assert_eq!(err("FROM x"), "from is not a valid change command");
        assert_eq!(err("FOO bar"), "foo is not a valid change command");
        assert_eq!(err("ENV"), "ENV requires at least one argument");
        assert_eq!(err("EXPOSE abc"), "Invalid containerPort: abc");
    }

    #[test]
    fn oci_round_trip() {
        let mut c = oci_spec::image::Config::default();
        c.set_cmd(Some(vec!["sh".into()]));
        apply_changes(&mut c, &["ENV A=1".into(), "EXPOSE 80".into()]).unwrap();
        assert_eq!(c.cmd().clone().unwrap(), ["sh"]);
        assert_eq!(c.env().clone().unwrap(), ["A=1"]);
        assert_eq!(c.exposed_ports().clone().unwrap(), ["80/tcp"]);
    }
}
