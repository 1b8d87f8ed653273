//! What Docker's classic builder prints when a build has succeeded.

use berth_engine::image::BuildOutcome;

/// The closing lines of a successful build, without newlines: the image id
/// alone when quiet, else `Successfully built SHORT` and one
/// `Successfully tagged NAME` per tag.
///
/// Docker quirk: dockerd's classic builder streams these lines itself (the
/// Engine API's `/build`), and the 20.10 CLI prints them unchanged; `-q`
/// prints the full `sha256:` id instead.
pub fn closing_lines(outcome: &BuildOutcome, quiet: bool) -> Vec<String> {
    if quiet {
        return vec![outcome.id.clone()];
    }
    let short: String = outcome
        .id
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect();
    let mut lines = vec![format!("Successfully built {short}")];
    lines.extend(
        outcome
            .tags
            .iter()
            .map(|tag| format!("Successfully tagged {tag}")),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_id_then_one_line_per_tag() {
        let outcome = BuildOutcome {
            id: "sha256:0123456789abcdef0123".into(),
            tags: vec!["a:latest".into(), "b:1".into()],
        };
        assert_eq!(
            closing_lines(&outcome, false),
            [
                "Successfully built 0123456789ab",
                "Successfully tagged a:latest",
                "Successfully tagged b:1"
            ]
        );
        assert_eq!(
            closing_lines(&outcome, true),
            ["sha256:0123456789abcdef0123"]
        );
    }
}
