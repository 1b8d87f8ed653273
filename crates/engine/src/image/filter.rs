//! The filters of `images` and `image prune`, as dockerd applies them.

use crate::filters::{Filters, Labels, PruneLabels};
use crate::Result;

/// `images --filter`: `dangling`, `label`, `before`, `since`, `reference`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilter {
    /// `true`: only images without a tag; `false`: only images with a tag
    /// or a digest.
    pub dangling: Option<bool>,
    pub labels: Labels,
    /// Images created before (`before`) or after (`since`) one of these.
    pub before: Vec<String>,
    pub since: Vec<String>,
    /// Go `path.Match` patterns, against `repo:tag` or `repo`; only the
    /// references that match are listed.
    pub references: Vec<String>,
}

impl ImageFilter {
    pub fn new(filters: &Filters) -> Result<ImageFilter> {
        filters.accept(&["dangling", "label", "before", "since", "reference"])?;
        Ok(ImageFilter {
            // dockerd takes only these two words here.
            dangling: filters.boolean("dangling", (&["true"], &["false"]))?,
            labels: filters.labels("label"),
            before: filters.get("before").to_vec(),
            since: filters.get("since").to_vec(),
            references: filters.get("reference").to_vec(),
        })
    }
}

/// `image prune --filter`: `dangling` (`false`: every unused image, the
/// CLI's `-a`), `label`, `label!`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePruneFilter {
    /// Every unused image, not only dangling ones.
    pub all: bool,
    pub labels: PruneLabels,
}

impl ImagePruneFilter {
    pub fn new(filters: &Filters) -> Result<ImagePruneFilter> {
        filters.accept(&["dangling", "label", "label!"])?;
        let values = filters.get("dangling");
        let has = |words: &[&str]| values.iter().any(|v| words.contains(&v.as_str()));
        // dockerd: `false` wins over `true`; anything else is refused.
        let all = if has(&["false", "0"]) {
            true
        } else if values.is_empty() || has(&["true", "1"]) {
            false
        } else {
            return Err(filters.invalid_value("dangling"));
        };
        Ok(ImagePruneFilter {
            all,
            labels: PruneLabels::of(filters),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_are_checked_as_dockerd_does() {
        let f = |flags: &[&str]| Filters::parse_flags(flags).unwrap();
        assert_eq!(
            ImageFilter::new(&f(&["bogus=1"])).unwrap_err().to_string(),
            "Invalid filter 'bogus'"
        );
        assert_eq!(
            ImageFilter::new(&f(&["dangling=1"]))
                .unwrap_err()
                .to_string(),
            "Invalid filter 'dangling=[1]'"
        );
        let filter = ImageFilter::new(&f(&["reference=busy*", "label=a", "before=x"])).unwrap();
        assert_eq!(filter.references, ["busy*"]);
        assert_eq!(filter.before, ["x"]);
        assert!(
            ImagePruneFilter::new(&f(&["dangling=true", "dangling=0"]))
                .unwrap()
                .all
        );
        assert!(!ImagePruneFilter::new(&f(&[])).unwrap().all);
        assert_eq!(
            ImagePruneFilter::new(&f(&["until=1h"]))
                .unwrap_err()
                .to_string(),
            "Invalid filter 'until'"
        );
    }
}
