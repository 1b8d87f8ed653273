//! The filters of `network ls` and `network prune`, as dockerd applies them.

use crate::filters::{Filters, Labels, PruneLabels};
use crate::{Error, ErrorKind, Result};

/// `network ls --filter`: `driver`, `id`, `label`, `name`, `scope`, `type`,
/// `dangling`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFilter {
    pub drivers: Vec<String>,
    /// Equal to the ID or name, or a regular expression matching in it.
    pub ids: Vec<String>,
    pub names: Vec<String>,
    pub labels: Labels,
    pub scopes: Vec<String>,
    /// `type=builtin` (`Some(true)`) or `type=custom` (`Some(false)`); both
    /// given: either.
    pub builtin: Option<bool>,
    /// `true`: only user networks no running container is on; `false`:
    /// only the others.
    pub dangling: Option<bool>,
}

impl NetworkFilter {
    pub fn new(filters: &Filters) -> Result<NetworkFilter> {
        filters.accept(&["dangling", "driver", "id", "label", "name", "scope", "type"])?;
        let refused = |message: String| Error::refused(ErrorKind::InvalidArgument, message);
        let dangling = match filters.get("dangling") {
            [] => None,
            [one] => Some(match one.as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(refused(
                        "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" (or \"0\")".into(),
                    ))
                }
            }),
            _ => {
                return Err(refused(
                    "got more than one value for filter key \"dangling\"".into(),
                ))
            }
        };
        let mut types = (false, false);
        for t in filters.get("type") {
            match t.as_str() {
                "builtin" => types.0 = true,
                "custom" => types.1 = true,
                other => return Err(refused(format!("invalid filter: 'type'='{other}'"))),
            }
        }
        Ok(NetworkFilter {
            drivers: filters.get("driver").to_vec(),
            ids: filters.get("id").to_vec(),
            names: filters.get("name").to_vec(),
            labels: filters.labels("label"),
            scopes: filters.get("scope").to_vec(),
            builtin: match types {
                (true, false) => Some(true),
                (false, true) => Some(false),
                _ => None,
            },
            dangling,
        })
    }
}

/// `network prune --filter`: `label`, `label!`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPruneFilter {
    pub labels: PruneLabels,
}

impl NetworkPruneFilter {
    pub fn new(filters: &Filters) -> Result<NetworkPruneFilter> {
        filters.accept(&["label", "label!"])?;
        Ok(NetworkPruneFilter {
            labels: PruneLabels::of(filters),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_with_dockerds_words() {
        let f = |flags: &[&str]| NetworkFilter::new(&Filters::parse_flags(flags).unwrap());
        assert_eq!(
            f(&["type=foo"]).unwrap_err().to_string(),
            "invalid filter: 'type'='foo'"
        );
        assert!(f(&["dangling=maybe"])
            .unwrap_err()
            .to_string()
            .starts_with("invalid value for filter 'dangling'"));
        assert_eq!(
            f(&["dangling=1", "dangling=0"]).unwrap_err().to_string(),
            "got more than one value for filter key \"dangling\""
        );
        assert_eq!(f(&["type=builtin", "type=custom"]).unwrap().builtin, None);
        assert_eq!(f(&["type=custom"]).unwrap().builtin, Some(false));
        assert_eq!(
            f(&["bogus=1"]).unwrap_err().to_string(),
            "Invalid filter 'bogus'"
        );
    }
}
