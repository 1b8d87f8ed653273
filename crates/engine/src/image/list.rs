//! `images`: the images, filtered as dockerd filters them.

use berth_image::{ImageSummary, Reference};

use crate::image::ImageFilter;
use crate::{Engine, Result};

impl Engine {
    /// The images `filter` selects, newest first. With `reference` filters,
    /// an image shows only the references that match (and is left out when
    /// none does), as dockerd lists them.
    pub fn image_list(&self, filter: &ImageFilter) -> Result<Vec<ImageSummary>> {
        let all = berth_image::list(&self.store)?;
        let created_of = |name: &String| -> Result<Option<Time>> {
            Ok(time(&berth_image::inspect(&self.store, name)?.created))
        };
        // Several values of one key: any of them (the latest `before`, the
        // earliest `since`).
        let before = filter
            .before
            .iter()
            .map(created_of)
            .collect::<Result<Vec<_>>>()?;
        let since = filter
            .since
            .iter()
            .map(created_of)
            .collect::<Result<Vec<_>>>()?;
        let before = before.into_iter().flatten().max();
        let since = since.into_iter().flatten().min();
        let mut out = Vec::new();
        for mut image in all {
            let created = time(&image.created);
            if before.is_some_and(|b| created.is_none_or(|c| c >= b))
                || since.is_some_and(|s| created.is_none_or(|c| c <= s))
                || !filter.labels.matches(&image.labels)
            {
                continue;
            }
            if !filter.references.is_empty() {
                image.repo_tags = matching(&filter.references, image.repo_tags)?;
                image.repo_digests = matching(&filter.references, image.repo_digests)?;
            }
            let untagged = image.repo_tags.is_empty() && image.repo_digests.is_empty();
            if untagged && (filter.dangling == Some(false) || !filter.references.is_empty()) {
                continue;
            }
            if filter.dangling == Some(true) && !image.repo_tags.is_empty() {
                continue;
            }
            out.push(image);
        }
        Ok(out)
    }
}

type Time = chrono::DateTime<chrono::FixedOffset>;

fn time(rfc3339: &str) -> Option<Time> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok()
}

/// The references of `refs` (familiar strings) that one of `patterns`
/// matches, as Docker's `FamiliarMatch`: against the whole reference, or
/// its repository name.
fn matching(patterns: &[String], refs: Vec<String>) -> Result<Vec<String>> {
    let mut kept = Vec::new();
    for r in refs {
        let name = Reference::parse(&r)
            .map(|p| p.familiar_name())
            .unwrap_or_default();
        let mut hit = false;
        for p in patterns {
            if berth_image::reference::path_match(p, &r)?
                || berth_image::reference::path_match(p, &name)?
            {
                hit = true;
                break;
            }
        }
        if hit {
            kept.push(r);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_the_whole_reference_or_the_repository() {
        let refs = || {
            vec![
                "busybox:latest".to_string(),
                "my/app:1.0".to_string(),
                "localhost:5000/x@sha256:".to_string() + &"a".repeat(64),
            ]
        };
        let m = |p: &str| matching(&[p.to_string()], refs()).unwrap();
        assert_eq!(m("busybox"), ["busybox:latest"]);
        assert_eq!(m("busy*"), ["busybox:latest"]);
        assert_eq!(m("my/*"), ["my/app:1.0"]);
        assert_eq!(m("my/*:1.0"), ["my/app:1.0"]);
        // As Go's path.Match: `*` does not cross a slash.
        assert!(m("*:1.0").is_empty());
        assert_eq!(m("localhost:5000/x").len(), 1);
        assert!(m("alpine").is_empty());
    }
}
