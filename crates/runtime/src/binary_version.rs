//! What a runtime's (or init's) `--version` says: the one reading of it,
//! for `info`/`version` and for the runtime advisories.

use std::path::Path;
use std::process::Command;

/// `BINARY --version`, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinaryVersion {
    /// The first word of the first line ("runc", "crun", "tini").
    pub program: String,
    /// The third word of the first line ("1.1.5+ds1").
    pub version: String,
    /// The `commit: ` line, or what follows " - git." on the first line
    /// (tini); "" when there is none.
    pub commit: String,
}

/// Runs `binary --version` (a name is looked up in `$PATH`); `None` if it
/// cannot run.
pub fn binary_version(binary: &Path) -> Option<BinaryVersion> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    Some(parse(&String::from_utf8_lossy(&out.stdout)))
}

fn parse(text: &str) -> BinaryVersion {
    let first = text.lines().next().unwrap_or_default();
    let word = |n| {
        first
            .split_whitespace()
            .nth(n)
            .unwrap_or_default()
            .to_string()
    };
    let commit = text
        .lines()
        .find_map(|l| l.strip_prefix("commit: "))
        .or_else(|| first.split_once(" - git.").map(|(_, c)| c))
        .unwrap_or_default()
        .trim()
        .to_string();
    BinaryVersion {
        program: word(0),
        version: word(2),
        commit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_crun_and_tini_versions_are_read() {
        let runc = parse("runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n");
        assert_eq!(
            (
                runc.program.as_str(),
                runc.version.as_str(),
                runc.commit.as_str()
            ),
            ("runc", "1.1.5+ds1", "1.1.5+ds1-1+deb12u1")
        );
        let crun = parse("crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\n");
        assert_eq!(
            (crun.program.as_str(), crun.version.as_str()),
            ("crun", "1.8.1")
        );
        let tini = parse("tini version 0.19.0 - git.de40ad0\n");
        assert_eq!(
            (tini.version.as_str(), tini.commit.as_str()),
            ("0.19.0", "de40ad0")
        );
        assert_eq!(parse(""), BinaryVersion::default());
        assert_eq!(binary_version(Path::new("/nonexistent/runtime")), None);
    }
}
