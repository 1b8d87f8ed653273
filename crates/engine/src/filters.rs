//! Docker's filters, as dockerd applies them.
//!
//! A [`Filters`] is what a front end received: keys, each with the values
//! given for it (the CLI's `-f key=value` flags, parsed by
//! [`Filters::parse_flags`]; the API's `filters` JSON, decoded by the API
//! into [`Filters::from_map`]). Each object kind turns it into its own typed
//! filter (`ImageFilter`, `VolumeFilter`, `NetworkFilter`, the prune
//! filters), refusing keys it does not know with dockerd's words.
//!
//! Semantics (dockerd's `filters.Args`): the keys given must all match (AND);
//! the values of one key match if any does (OR) — except `label` (and
//! `label!`), whose values must all match, as Docker's `MatchKVList`.

use std::collections::BTreeMap;

use crate::{Error, ErrorKind, Result};

/// Filter keys and their values, as a front end received them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Filters decoded elsewhere (the API's `filters` JSON).
    pub fn from_map(map: BTreeMap<String, Vec<String>>) -> Filters {
        Filters(map)
    }

    /// The docker CLI's `-f KEY=VALUE` flags: the key is lowercased and both
    /// sides trimmed, as its `FilterOpt` does.
    pub fn parse_flags<S: AsRef<str>>(flags: &[S]) -> Result<Filters> {
        let mut filters = Filters::default();
        for flag in flags {
            let flag = flag.as_ref();
            if flag.is_empty() {
                continue;
            }
            let (key, value) = flag.split_once('=').ok_or_else(|| {
                Error::refused(
                    ErrorKind::InvalidArgument,
                    "bad format of filter (expected name=value)",
                )
            })?;
            filters.add(&key.trim().to_lowercase(), value.trim());
        }
        Ok(filters)
    }

    pub fn add(&mut self, key: &str, value: &str) {
        self.0
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values given for `key`.
    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Refuses the first key outside `accepted`, as dockerd does.
    pub(crate) fn accept(&self, accepted: &[&str]) -> Result<()> {
        match self.0.keys().find(|k| !accepted.contains(&k.as_str())) {
            Some(key) => Err(invalid_filter(key)),
            None => Ok(()),
        }
    }

    /// dockerd's `invalidFilter{key, values}`: "Invalid filter 'key=[v1 v2]'".
    pub(crate) fn invalid_value(&self, key: &str) -> Error {
        Error::refused(
            ErrorKind::InvalidArgument,
            format!("Invalid filter '{key}=[{}]'", self.get(key).join(" ")),
        )
    }

    /// A boolean key (`dangling`): `None` when absent; `words` are the
    /// accepted spellings of true and of false.
    pub(crate) fn boolean(&self, key: &str, words: (&[&str], &[&str])) -> Result<Option<bool>> {
        if !self.contains(key) {
            return Ok(None);
        }
        let has = |accepted: &[&str]| self.get(key).iter().any(|v| accepted.contains(&v.as_str()));
        // Docker tests "true" first: `dangling=true&dangling=false` is true.
        if has(words.0) {
            Ok(Some(true))
        } else if has(words.1) {
            Ok(Some(false))
        } else {
            Err(self.invalid_value(key))
        }
    }

    /// Label expressions under `key` (`label` or `label!`).
    pub(crate) fn labels(&self, key: &str) -> Labels {
        Labels(self.get(key).to_vec())
    }
}

/// dockerd's refusal of a filter key it does not know.
pub(crate) fn invalid_filter(key: &str) -> Error {
    Error::refused(
        ErrorKind::InvalidArgument,
        format!("Invalid filter '{key}'"),
    )
}

/// `label` expressions (`KEY` or `KEY=VALUE`), all of which must match
/// (Docker's `MatchKVList`); none given matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Vec<String>);

impl Labels {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|expr| match expr.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(expr.as_str()),
        })
    }
}

/// dockerd's `Args.Match` for `name` and `id`: a value matches when it is
/// equal to the text or, as a regular expression, matches somewhere in it.
pub(crate) fn name_match(values: &[String], text: &str) -> bool {
    values.iter().any(|v| {
        v == text
            || regex::Regex::new(v)
                .map(|re| re.is_match(text))
                .unwrap_or(false)
    })
}

/// The `label`/`label!` filters of a prune (dockerd's `matchLabels`): every
/// `label` must match, and not every `label!` may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneLabels {
    pub with: Labels,
    pub without: Labels,
}

impl PruneLabels {
    pub(crate) fn of(filters: &Filters) -> PruneLabels {
        PruneLabels {
            with: filters.labels("label"),
            without: filters.labels("label!"),
        }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.with.matches(labels) && (self.without.is_empty() || !self.without.matches(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flags_parse_as_the_docker_cli_does() {
        let f = Filters::parse_flags(&[" Label = a=b ", "label=c", "name=x"]).unwrap();
        assert_eq!(f.get("label"), ["a=b", "c"]);
        assert_eq!(f.get("name"), ["x"]);
        let e = Filters::parse_flags(&["dangling"]).unwrap_err();
        assert_eq!(e.to_string(), "bad format of filter (expected name=value)");
        assert_eq!(
            f.accept(&["label"]).unwrap_err().to_string(),
            "Invalid filter 'name'"
        );
    }

    #[test]
    fn labels_all_match_and_prune_labels_negate_all() {
        let have = labels(&[("a", "1"), ("b", "2")]);
        let f = Filters::parse_flags(&["label=a", "label=b=2"]).unwrap();
        assert!(f.labels("label").matches(&have));
        let f = Filters::parse_flags(&["label=a", "label=c"]).unwrap();
        assert!(!f.labels("label").matches(&have));
        // label!: pruned unless every label! expression matches.
        let f = Filters::parse_flags(&["label!=a", "label!=c"]).unwrap();
        assert!(PruneLabels::of(&f).matches(&have));
        let f = Filters::parse_flags(&["label!=a", "label!=b=2"]).unwrap();
        assert!(!PruneLabels::of(&f).matches(&have));
    }

    #[test]
    fn names_match_exactly_or_as_regular_expressions() {
        let v = |s: &str| vec![s.to_string()];
        assert!(name_match(&v("we"), "aweb"));
        assert!(name_match(&v("^we"), "web"));
        assert!(!name_match(&v("^we"), "aweb"));
        assert!(!name_match(&v("[bad"), "web"));
        assert!(name_match(&v("[bad"), "[bad"));
    }

    #[test]
    fn booleans_refuse_other_words_with_dockers_message() {
        let f = Filters::parse_flags(&["dangling=maybe"]).unwrap();
        let words = (&["true"][..], &["false"][..]);
        assert_eq!(
            f.boolean("dangling", words).unwrap_err().to_string(),
            "Invalid filter 'dangling=[maybe]'"
        );
        let f = Filters::parse_flags(&["dangling=false", "dangling=true"]).unwrap();
        assert_eq!(f.boolean("dangling", words).unwrap(), Some(true));
        assert_eq!(Filters::default().boolean("dangling", words).unwrap(), None);
    }
}
