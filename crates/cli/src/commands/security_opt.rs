//! `--security-opt` as Docker's CLI sends it (its `parseSecurityOpts`): every
//! option needs a value except `no-new-privileges`, and `seccomp=FILE` is
//! replaced by `seccomp=` and the file's JSON, compacted — the engine (like
//! dockerd) never reads the client's files, it stores the profile's text,
//! and `inspect` shows it in `HostConfig.SecurityOpt`. A later change of the
//! file changes nothing for the container.

use anyhow::{bail, Context as _, Result};

/// The options to send to the engine.
pub fn client_side(options: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(options.len());
    for opt in options {
        let (key, value) = match opt.split_once('=') {
            Some(kv) => Some(kv),
            None if opt == "no-new-privileges" => None,
            None => opt.split_once(':'),
        }
        .unwrap_or((opt.as_str(), ""));
        if value.is_empty() && key != "no-new-privileges" {
            bail!("invalid --security-opt: {opt:?}");
        }
        if key != "seccomp" || matches!(value, "builtin" | "unconfined") {
            out.push(opt.clone());
            continue;
        }
        let path = value;
        let text = std::fs::read(path)
            .with_context(|| format!("opening seccomp profile ({path}) failed"))?;
        let json = compact(&text)
            .with_context(|| format!("compacting json for seccomp profile ({path}) failed"))?;
        out.push(format!("seccomp={json}"));
    }
    Ok(out)
}

/// Go's `json.Compact`: the same JSON (checked), insignificant whitespace
/// removed, member order and number spelling kept.
fn compact(text: &[u8]) -> Result<String> {
    serde_json::from_slice::<serde::de::IgnoredAny>(text)?;
    let text = std::str::from_utf8(text)?;
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn profile_files_are_sent_as_compact_json() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.json");
        std::fs::write(
            &file,
            "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"x\": \"a b\\\" c\", \"n\": 1.50\n}\n",
        )
        .unwrap();
        let given = format!("seccomp={}", file.display());
        let sent = client_side(&opts(&[
            "no-new-privileges",
            &given,
            "seccomp:unconfined",
            "apparmor=unconfined",
        ]))
        .unwrap();
        assert_eq!(
            sent,
            [
                "no-new-privileges",
                r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","x":"a b\" c","n":1.50}"#,
                "seccomp:unconfined",
                "apparmor=unconfined",
            ]
        );
        // The old ':' form is read too, and sent in the '=' form.
        let sent = client_side(&opts(&[&format!("seccomp:{}", file.display())])).unwrap();
        assert!(sent[0].starts_with("seccomp={"), "{sent:?}");
    }

    #[test]
    fn bad_options_and_files_get_dockers_errors() {
        let err = |list: &[&str]| format!("{:#}", client_side(&opts(list)).unwrap_err());
        assert_eq!(err(&["label"]), "invalid --security-opt: \"label\"");
        assert_eq!(err(&["apparmor="]), "invalid --security-opt: \"apparmor=\"");
        assert!(err(&["seccomp=/nonexistent.json"])
            .starts_with("opening seccomp profile (/nonexistent.json) failed"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.json");
        std::fs::write(&file, "{not json").unwrap();
        assert!(err(&[&format!("seccomp={}", file.display())])
            .starts_with("compacting json for seccomp profile"));
    }
}
