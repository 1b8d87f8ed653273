//! `.dockerignore`, with the semantics of moby's `patternmatcher`:
//!
//! * one pattern per line; `#` lines are comments; blank lines are skipped;
//! * a leading `!` makes an exception (re-includes what earlier lines excluded);
//! * patterns are cleaned like Go's `filepath.Clean` and a leading `/` dropped,
//!   so they are always relative to the context root;
//! * `*` and `?` never match `/`, `**` matches any number of directories,
//!   `[...]` is a character class and `\` escapes;
//! * a pattern matching a directory also matches everything below it;
//! * the last matching pattern decides.

use regex::Regex;

use crate::BuildError;

#[derive(Debug)]
struct Pattern {
    regex: Regex,
    exclusion: bool,
}

/// The compiled `.dockerignore` of a context.
#[derive(Debug, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    /// Parses `.dockerignore` text.
    pub fn parse(text: &str) -> Result<Ignore, BuildError> {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exclusion, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let mut cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned = cleaned[1..].to_string();
            }
            if exclusion && cleaned == "." {
                return Err(BuildError::InvalidArgument(format!(
                    "illegal exclusion pattern: {line:?}"
                )));
            }
            let regex = Regex::new(&to_regex(&cleaned)).map_err(|e| {
                BuildError::InvalidArgument(format!(".dockerignore pattern {line:?}: {e}"))
            })?;
            patterns.push(Pattern { regex, exclusion });
        }
        Ok(Ignore { patterns })
    }

    /// Whether the context-relative `path` ("a/b/c", no leading slash) is
    /// excluded (`MatchesOrParentMatches`).
    pub fn excludes(&self, path: &str) -> bool {
        let parents: Vec<&str> = path.split('/').collect();
        let mut matched = false;
        for pattern in &self.patterns {
            // An inclusion cannot change an already-excluded path and vice versa.
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.regex.is_match(path);
            if !hit && parents.len() > 1 {
                for i in 1..parents.len() {
                    if pattern.regex.is_match(&parents[..i].join("/")) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// Whether any exception exists (then an excluded directory must still be
    /// walked, since something below it may be re-included).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }
}

pub(crate) use berth_archive::clean_path as clean;

/// patternmatcher's pattern-to-regex translation.
fn to_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '*' => {
                if chars.peek() == Some(&'*') {
                    chars.next();
                    // `**/` is treated as `**`.
                    if chars.peek() == Some(&'/') {
                        chars.next();
                    }
                    if chars.peek().is_none() {
                        out.push_str(".*");
                    } else {
                        out.push_str("(.*/)?");
                    }
                } else {
                    out.push_str("[^/]*");
                }
            }
            '?' => out.push_str("[^/]"),
            '\\' => match chars.next() {
                Some(next) => out.push_str(&regex::escape(&next.to_string())),
                None => out.push_str("\\\\"),
            },
            // patternmatcher escapes exactly these; everything else (classes
            // with ranges and `^` negation included) passes through.
            c if ".+()|{}$".contains(c) => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_semantics_table() {
        // (patterns, path, excluded?)
        let cases: &[(&str, &str, bool)] = &[
            ("*.md", "README.md", true),
            ("*.md", "docs/README.md", false),
            ("**/*.md", "docs/README.md", true),
            ("**/*.md", "README.md", true),
            ("docs", "docs/a/b.txt", true),
            ("/docs", "docs/x", true),
            ("./docs/", "docs/x", true),
            ("docs/*", "docs", false),
            ("*.md\n!README.md", "README.md", false),
            ("*.md\n!README.md", "OTHER.md", true),
            ("!README.md\n*.md", "README.md", true),
            ("secret\n!secret/keep", "secret/keep", false),
            ("secret\n!secret/keep", "secret/drop", true),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("[a-c].txt", "b.txt", true),
            ("[a-c].txt", "d.txt", false),
            ("# comment\n\n  x  ", "x", true),
            ("node_modules/**", "node_modules/a/b", true),
            ("**", "anything/at/all", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("a/../b", "b", true),
            ("file.txt", "file_txt", false),
        ];
        for (patterns, path, excluded) in cases {
            let ignore = Ignore::parse(patterns).unwrap();
            assert_eq!(ignore.excludes(path), *excluded, "{patterns:?} vs {path}");
        }
    }

    #[test]
    fn bare_exclamation_is_refused() {
        assert!(Ignore::parse("!").is_err());
    }

    #[test]
    fn clean_is_gos() {
        for (input, expected) in [
            ("a/./b/../c", "a/c"),
            ("/../a", "/a"),
            ("../a", "../a"),
            ("", "."),
            ("a/", "a"),
            ("//a//b", "/a/b"),
        ] {
            assert_eq!(clean(input), expected, "{input}");
        }
    }
}
