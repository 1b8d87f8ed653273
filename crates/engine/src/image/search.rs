//! `search`: a registry's v1 search, with dockerd's limit and filters.

use berth_registry::{RegistrySettings, SearchResult};

use crate::image::CredentialSource;
use crate::{Engine, Error, ErrorKind, Result};

/// dockerd's default and largest number of results.
const DEFAULT_LIMIT: u32 = 25;
const MAX_LIMIT: u32 = 100;

/// `--filter` of a search, as dockerd applies them to the registry's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilters {
    pub is_official: Option<bool>,
    pub is_automated: Option<bool>,
    /// At least this many stars.
    pub stars: Option<u64>,
}

impl SearchFilters {
    /// From `key=value` pairs (`--filter`, the API's `filters`), with
    /// dockerd's errors.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SearchFilters> {
        let invalid = |text: String| Error::Refused {
            kind: ErrorKind::InvalidArgument,
            message: format!("invalid filter '{text}'"),
        };
        let mut filters = SearchFilters::default();
        for (key, value) in pairs {
            let bad = || invalid(format!("{key}={value}"));
            match key {
                "is-official" => filters.is_official = Some(value.parse().map_err(|_| bad())?),
                "is-automated" => filters.is_automated = Some(value.parse().map_err(|_| bad())?),
                "stars" => filters.stars = Some(value.parse().map_err(|_| bad())?),
                _ => return Err(invalid(key.to_string())),
            }
        }
        Ok(filters)
    }
}

impl Engine {
    /// Searches the registry `term` names (Docker Hub's index when it names
    /// none). Needs no state root, so no engine is opened for it.
    pub fn image_search(
        term: &str,
        limit: u32,
        filters: &SearchFilters,
        credentials: &dyn CredentialSource,
    ) -> Result<Vec<SearchResult>> {
        let limit = match limit {
            0 => DEFAULT_LIMIT,
            n if n > MAX_LIMIT => {
                return Err(Error::Refused {
                    kind: ErrorKind::InvalidArgument,
                    message: format!("limit {n} is outside the range of [1, {MAX_LIMIT}]"),
                })
            }
            n => n,
        };
        let settings = RegistrySettings::from_env()?;
        let host = berth_registry::search_host(term);
        let auth = credentials.credentials(&host)?;
        let found = berth_registry::search(&settings, term, limit, auth.as_ref())?;
        Ok(found
            .into_iter()
            .filter(|r| filters.is_official.is_none_or(|o| r.is_official == o))
            .filter(|r| filters.is_automated.is_none_or(|a| r.is_automated == a))
            .filter(|r| filters.stars.is_none_or(|s| r.star_count >= s))
            .collect())
    }
}
