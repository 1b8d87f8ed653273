//! Variable substitution and quote removal in instruction arguments, as
//! Docker's shell lexer (`frontend/dockerfile/shell`) does it.
//!
//! A *word* is processed left to right: `'...'` is literal, `"..."` is literal
//! except for `$` expansions and escaped `"`, `$` and the escape character;
//! outside quotes the escape character makes the next character literal.
//! `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`,
//! `${NAME+word}`, `${NAME:?message}` and `${NAME?message}` expand from the
//! build environment (ENV over ARG); an unset name expands to nothing.
//! [`process_words`] also splits the result into words on unquoted whitespace,
//! including whitespace that came out of an expansion (as `EXPOSE $PORTS` needs).

use std::iter::Peekable;
use std::str::Chars;

/// Looks a name up in `KEY=VALUE` entries: `Some` when set (maybe empty).
/// The last definition wins, as in an environment built by appending.
fn lookup(env: &[String], name: &str) -> Option<String> {
    env.iter()
        .rev()
        .find_map(|entry| match entry.split_once('=') {
            Some((k, v)) if k == name => Some(v.to_string()),
            None if entry == name => Some(String::new()),
            _ => None,
        })
}

/// Expands one word (quotes removed, no splitting).
pub fn process_word(word: &str, env: &[String], escape: char) -> Result<String, String> {
    let mut lexer = Lexer {
        chars: word.chars().peekable(),
        env,
        escape,
    };
    Ok(lexer.process_until(None)?.0)
}

/// Expands and splits into words (Docker's `ProcessWords`).
pub fn process_words(word: &str, env: &[String], escape: char) -> Result<Vec<String>, String> {
    let mut lexer = Lexer {
        chars: word.chars().peekable(),
        env,
        escape,
    };
    Ok(lexer.process_until(None)?.1.finish())
}

struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    env: &'a [String],
    escape: char,
}

/// Word splitting state: quoted text and escaped characters never split.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

impl Lexer<'_> {
    /// Processes up to `stop` (consumed) or the end; returns the text and its words.
    fn process_until(&mut self, stop: Option<char>) -> Result<(String, Words), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(&ch) = self.chars.peek() {
            if Some(ch) == stop {
                self.chars.next();
                return Ok((result, words));
            }
            match ch {
                '\'' => {
                    let s = self.single_quoted()?;
                    words.add_raw_string(&s);
                    result.push_str(&s);
                }
                '"' => {
                    let s = self.double_quoted()?;
                    words.add_raw_string(&s);
                    result.push_str(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    words.add_string(&s);
                    result.push_str(&s);
                }
                _ => {
                    self.chars.next();
                    if ch == self.escape {
                        match self.chars.next() {
                            Some(next) => {
                                words.add_raw_char(next);
                                result.push(next);
                            }
                            None => break,
                        }
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        match stop {
            Some(c) => Err(format!(
                "unexpected end of statement while looking for matching {c}"
            )),
            None => Ok((result, words)),
        }
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.chars.next();
        let mut s = String::new();
        loop {
            match self.chars.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        self.chars.next();
        let mut s = String::new();
        loop {
            let Some(&ch) = self.chars.peek() else {
                return Err(
                    "unexpected end of statement while looking for matching double-quote".into(),
                );
            };
            if ch == '"' {
                self.chars.next();
                return Ok(s);
            }
            if ch == '$' {
                s.push_str(&self.dollar()?);
                continue;
            }
            self.chars.next();
            if ch == self.escape {
                match self.chars.peek().copied() {
                    None => continue,
                    Some(next) if next == '"' || next == '$' || next == self.escape => {
                        self.chars.next();
                        s.push(next);
                        continue;
                    }
                    Some(_) => {}
                }
            }
            s.push(ch);
        }
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.chars.next();
        if self.chars.peek() != Some(&'{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(lookup(self.env, &name).unwrap_or_default());
        }
        self.chars.next();
        match self.chars.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            _ => {}
        }
        let name = self.name();
        let value = lookup(self.env, &name);
        match self.chars.next() {
            Some('}') => Ok(value.unwrap_or_default()),
            Some(c @ (':' | '-' | '+' | '?')) => {
                let colon = c == ':';
                let modifier = if colon { self.chars.next() } else { Some(c) };
                let (word, _) = self.process_until(Some('}')).map_err(|e| {
                    if self.chars.peek().is_none() {
                        "syntax error: missing '}'".to_string()
                    } else {
                        e
                    }
                })?;
                // With the colon, an empty value counts as unset.
                let present = match &value {
                    Some(v) => !colon || !v.is_empty(),
                    None => false,
                };
                match modifier {
                    Some('-') => Ok(if present {
                        value.unwrap_or_default()
                    } else {
                        word
                    }),
                    Some('+') => Ok(if present { word } else { String::new() }),
                    Some('?') => {
                        if present {
                            Ok(value.unwrap_or_default())
                        } else if !word.is_empty() {
                            Err(format!("{name}: {word}"))
                        } else if value.is_none() {
                            Err(format!("{name}: is not allowed to be unset"))
                        } else {
                            Err(format!("{name}: is not allowed to be empty"))
                        }
                    }
                    Some(other) => Err(format!("unsupported modifier ({other}) in substitution")),
                    None => Err("syntax error: missing '}'".into()),
                }
            }
            None => Err("syntax error: missing '}'".into()),
            Some(_) => Err("syntax error: bad substitution".into()),
        }
    }

    /// A name: letters, digits and `_`; a leading digit run is a positional name.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(&ch) = self.chars.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(&d) = self.chars.peek().filter(|c| c.is_ascii_digit()) {
                    name.push(d);
                    self.chars.next();
                }
                return name;
            }
            if !(ch.is_alphanumeric() || ch == '_') {
                break;
            }
            name.push(ch);
            self.chars.next();
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<String> {
        vec![
            "A=apple".into(),
            "EMPTY=".into(),
            "SP=a b".into(),
            "PORTS=80 443/udp".into(),
        ]
    }

    #[test]
    fn words_expand_like_dockers_lexer() {
        // (input, ProcessWord output) — cases from buildkit's envVarTest table.
        let cases: &[(&str, &str)] = &[
            ("hello", "hello"),
            ("he'll'o", "hello"),
            ("he\"ll\"o", "hello"),
            ("'$A'", "$A"),
            ("\"$A\"", "apple"),
            ("$A", "apple"),
            ("${A}", "apple"),
            ("x${A}y", "xappley"),
            ("\\$A", "$A"),
            ("\"\\$A\"", "$A"),
            ("\"a\\b\"", "a\\b"),
            ("\"\\\"\"", "\""),
            ("$", "$"),
            ("a$", "a$"),
            ("$UNSET", ""),
            ("${UNSET:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${UNSET-def}", "def"),
            ("${A:-def}", "apple"),
            ("${A:+alt}", "alt"),
            ("${UNSET:+alt}", ""),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET:-${A}}", "apple"),
            ("${UNSET:-'x y'}", "x y"),
            ("$A:b", "apple:b"),
            ("$1", ""),
            ("a\\ b", "a b"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                process_word(input, &env(), '\\').as_deref(),
                Ok(*expected),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_substitutions_are_errors() {
        for input in [
            "${", "${}", "${:x}", "${A", "'open", "\"open", "${A:%x}", "${A!}",
        ] {
            assert!(process_word(input, &env(), '\\').is_err(), "{input}");
        }
        assert_eq!(
            process_word("${UNSET:?need it}", &env(), '\\'),
            Err("UNSET: need it".into())
        );
        assert_eq!(
            process_word("${UNSET?}", &env(), '\\'),
            Err("UNSET: is not allowed to be unset".into())
        );
    }

    #[test]
    fn words_split_on_unquoted_whitespace_including_expansions() {
        assert_eq!(
            process_words("$PORTS 8080", &env(), '\\').unwrap(),
            vec!["80", "443/udp", "8080"]
        );
        assert_eq!(
            process_words("\"$SP\" c", &env(), '\\').unwrap(),
            vec!["a b", "c"]
        );
        assert_eq!(process_words("a\\ b", &env(), '\\').unwrap(), vec!["a b"]);
    }

    #[test]
    fn backtick_escape() {
        assert_eq!(process_word("a`$A", &env(), '`').unwrap(), "a$A");
        assert_eq!(process_word("C:\\dir", &env(), '`').unwrap(), "C:\\dir");
    }
}
