//! `search`: the registry's v1 search API, as dockerd queries it. A term
//! with a registry host (`host:5000/name`, `localhost/name`, `a.b/name`)
//! searches that host's `/v1/search`; any other term searches Docker Hub's
//! index. Credentials, when given, are sent as Basic auth.

use serde::Deserialize;

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, RegistrySettings};
use crate::error::from_reqwest;
use crate::{runtime, RegistryError};

/// One repository a registry found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SearchResult {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<SearchResult>,
}

/// The registry host a search term names, if any, and the query.
pub fn split_term(term: &str) -> (Option<&str>, &str) {
    match term.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => {
            (Some(host), rest)
        }
        _ => (None, term),
    }
}

/// The registry host whose credentials a search for `term` uses.
pub fn search_host(term: &str) -> String {
    split_term(term).0.unwrap_or("docker.io").to_string()
}

/// Searches for `term`, at most `limit` results (the registry's default
/// when 0).
pub fn search(
    settings: &RegistrySettings,
    term: &str,
    limit: u32,
    credentials: Option<&Credentials>,
) -> Result<Vec<SearchResult>, RegistryError> {
    let (host, query) = split_term(term);
    let rt = runtime()?;
    rt.block_on(async {
        let (endpoint, index) = match host {
            Some(host) => {
                let endpoint = Endpoint::open(settings, host).await?;
                let index = format!("{}://{}/v1/", endpoint.scheme, endpoint.host);
                (endpoint, index)
            }
            // dockerd: Docker Hub's search lives on its index host.
            None => {
                let endpoint = Endpoint::open(settings, "docker.io").await?;
                (endpoint, "https://index.docker.io/v1/".to_string())
            }
        };
        let http = endpoint.http_client()?;
        let mut request = http.get(format!("{index}search")).query(&[("q", query)]);
        if limit > 0 {
            request = request.query(&[("n", limit)]);
        }
        if let Some(c) = credentials {
            request = request.basic_auth(&c.username, Some(&c.password));
        }
        let response = request.send().await.map_err(|e| from_reqwest(&e))?;
        let status = response.status();
        if !status.is_success() {
            // dockerd's words for a registry without the v1 search API.
            return Err(RegistryError::Registry(format!(
                "Unexpected status code {}",
                status.as_u16()
            )));
        }
        let body = response.bytes().await.map_err(|e| from_reqwest(&e))?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
            RegistryError::Registry(format!("invalid search answer from {index}: {e}"))
        })?;
        Ok(answer.results)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_name_a_registry_as_docker_reads_them() {
        assert_eq!(split_term("busybox"), (None, "busybox"));
        assert_eq!(split_term("library/busybox"), (None, "library/busybox"));
        assert_eq!(
            split_term("127.0.0.1:5000/app"),
            (Some("127.0.0.1:5000"), "app")
        );
        assert_eq!(split_term("localhost/app"), (Some("localhost"), "app"));
        assert_eq!(
            split_term("registry.example.com/a/b"),
            (Some("registry.example.com"), "a/b")
        );
    }
}
