//! How Docker's classic builder words what it records: RUN's command line,
//! Go-quoted history, EXPOSE's port ranges and HEALTHCHECK's config.

use crate::dockerfile::{CommandLine, Health};

/// The argv of RUN/CMD/ENTRYPOINT.
pub(super) fn command_words(line: &CommandLine, shell: &[String]) -> Vec<String> {
    match line {
        CommandLine::Exec(words) => words.clone(),
        CommandLine::Shell(text) => shell.iter().cloned().chain([text.clone()]).collect(),
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(super) fn go_quote_list(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| serde_json::to_string(w).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// A `--label` value as a quoted word for the LABEL step the build appends.
pub(super) fn quote_word(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "\\$")
    )
}

/// `80`, `80/udp`, `8000-8002/tcp` into Docker's `port/proto` keys.
pub(super) fn expand_port(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let parse = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("invalid containerPort: {p}"))
    };
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if end < start {
        return Err(format!(
            "invalid range specified for container port: {ports}"
        ));
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// Docker's HealthConfig JSON (durations in nanoseconds, zero fields omitted).
pub(super) fn health_json(health: &Health) -> serde_json::Value {
    match health {
        Health::Disable => serde_json::json!({ "Test": ["NONE"] }),
        Health::Check {
            test,
            interval,
            timeout,
            start_period,
            retries,
        } => {
            let mut map = serde_json::Map::new();
            map.insert("Test".into(), serde_json::json!(test));
            for (name, value) in [
                ("Interval", interval),
                ("Timeout", timeout),
                ("StartPeriod", start_period),
            ] {
                if let Some(d) = value {
                    map.insert(name.into(), serde_json::json!(d.as_nanos() as u64));
                }
            }
            if let Some(r) = retries {
                map.insert("Retries".into(), serde_json::json!(r));
            }
            serde_json::Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_expand_like_docker() {
        assert_eq!(expand_port("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(expand_port("53/UDP").unwrap(), vec!["53/udp"]);
        assert_eq!(
            expand_port("8000-8002").unwrap(),
            vec!["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert!(expand_port("http").is_err());
        assert!(expand_port("80/icmp").is_err());
        assert!(expand_port("9-8").is_err());
    }

    #[test]
    fn health_config_is_dockers_shape() {
        let h = Health::Check {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: Some(std::time::Duration::from_secs(5)),
            timeout: None,
            start_period: None,
            retries: Some(3),
        };
        assert_eq!(
            health_json(&h).to_string(),
            r#"{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":3}"#
        );
        assert_eq!(
            health_json(&Health::Disable).to_string(),
            r#"{"Test":["NONE"]}"#
        );
    }

    #[test]
    fn go_quoting() {
        assert_eq!(
            go_quote_list(&["/bin/sh".into(), "-c".into(), "echo \"hi\"".into()]),
            r#"["/bin/sh" "-c" "echo \"hi\""]"#
        );
    }
}
