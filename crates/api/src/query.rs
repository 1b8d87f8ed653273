//! Query strings and filters as the three kinds of clients send them.
//!
//! Docker quirk: booleans arrive as `1`/`0` (docker CLI), `True`/`False`
//! (docker-py) or `true`/`false` (bollard); filters arrive as
//! `{"label":{"k=v":true}}` (docker CLI), `{"label":["k=v"]}` (bollard,
//! docker-py). All are accepted.

use std::collections::BTreeMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::ApiVersion;

/// The request's query parameters, in order, repeated keys kept.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
    pub version: Option<ApiVersion>,
}

impl Query {
    pub fn parse(raw: &str) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?;
        Ok(Query {
            pairs,
            version: None,
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value of `key`.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(String::from)
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn bool(&self, key: &str) -> bool {
        self.get(key).is_some_and(parse_bool)
    }

    /// Like [`Query::bool`] but `default` when the key is absent.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.get(key).map(parse_bool).unwrap_or(default)
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .or_else(|_| v.parse::<f64>().map(|f| f as i64))
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
        }
    }

    pub fn filters(&self) -> Result<Filters, ApiError> {
        match self.get("filters") {
            None | Some("") => Ok(Filters::default()),
            Some(raw) => Filters::parse(raw),
        }
    }

    /// The effective API version of the request.
    pub fn api_version(&self) -> ApiVersion {
        self.version.unwrap_or_else(ApiVersion::current)
    }
}

pub fn parse_bool(v: &str) -> bool {
    !matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "none"
    )
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut q = Query::parse(parts.uri.query().unwrap_or(""))?;
        q.version = parts.extensions.get::<ApiVersion>().copied();
        Ok(q)
    }
}

/// `filters`: key -> values (values of one key are ORed, keys ANDed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters(pub BTreeMap<String, Vec<String>>);

impl Filters {
    pub fn parse(raw: &str) -> Result<Filters, ApiError> {
        let value: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(ApiError::bad_request("invalid filter: not an object"));
        };
        let mut out = BTreeMap::new();
        for (key, values) in map {
            let list: Vec<String> = match values {
                // docker CLI: {"label": {"a=b": true}}
                serde_json::Value::Object(m) => m
                    .into_iter()
                    .filter(|(_, on)| on.as_bool() != Some(false))
                    .map(|(k, _)| k)
                    .collect(),
                // bollard, docker-py: {"label": ["a=b"]}
                serde_json::Value::Array(a) => a.into_iter().map(value_text).collect(),
                other => vec![value_text(other)],
            };
            out.insert(key, list);
        }
        Ok(Filters(out))
    }

    /// Every `key=value` pair, as the engine's filters take them.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|(k, values)| values.iter().map(move |v| (k.as_str(), v.as_str())))
    }

    /// The same filters, as the engine's typed filters are built from them.
    pub fn to_engine(&self) -> berth_engine::filters::Filters {
        berth_engine::filters::Filters::from_map(self.0.clone())
    }
}

fn value_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_filter_dialects() {
        let cli = Filters::parse(r#"{"label":{"a=b":true},"status":{"exited":true}}"#).unwrap();
        let bollard = Filters::parse(r#"{"label":["a=b"],"status":["exited"]}"#).unwrap();
        assert_eq!(cli, bollard);
        assert_eq!(cli.0["label"], ["a=b"]);
        let py = Filters::parse(r#"{"dangling":[true]}"#).unwrap();
        assert_eq!(py.0["dangling"], ["true"]);
        assert!(Filters::parse("[1]").is_err());
    }

    #[test]
    fn booleans_from_every_client() {
        let q = Query::parse("a=1&b=True&c=true&d=0&e=False&f=false&g=").unwrap();
        assert!(q.bool("a") && q.bool("b") && q.bool("c"));
        assert!(!q.bool("d") && !q.bool("e") && !q.bool("f") && !q.bool("g"));
        assert!(!q.bool("missing"));
        assert!(q.bool_or("missing", true));
        let q = Query::parse("names=a&names=b%3Alatest").unwrap();
        assert_eq!(q.all("names"), ["a", "b:latest"]);
    }
}
