//! `login`: checks credentials the way dockerd does, before a front end
//! saves them: `GET /v2/` anonymously; a `Basic` challenge is
//! answered with the credentials, a `Bearer` challenge by asking the token
//! realm for a token with them (and using it on `/v2/`). Only credentials a
//! registry accepts are to be written to config.json.

use base64::Engine;

use crate::credentials::{server_key, Credentials, DOCKER_HUB_KEY};
use crate::endpoint::{Endpoint, RegistrySettings};
use crate::error::{from_reqwest, token_error_detail};
use crate::{runtime, RegistryError};

/// The host to contact for a credentials key.
fn host_of(key: &str) -> &str {
    if key == DOCKER_HUB_KEY {
        "docker.io"
    } else {
        key
    }
}

/// Verifies `credentials` with `server`; returns the key they are to be
/// stored under (the front end keeps them: dockerd does not either).
pub fn login(
    settings: &RegistrySettings,
    server: &str,
    credentials: &Credentials,
) -> Result<String, RegistryError> {
    let key = server_key(server);
    let rt = runtime()?;
    rt.block_on(async {
        let endpoint = Endpoint::open(settings, host_of(&key)).await?;
        verify(&endpoint, credentials).await
    })?;
    Ok(key)
}

async fn verify(endpoint: &Endpoint, credentials: &Credentials) -> Result<(), RegistryError> {
    let http = endpoint.http_client()?;
    let url = endpoint.base_url();
    let response = http.get(&url).send().await.map_err(|e| from_reqwest(&e))?;
    if response.status().is_success() {
        // No authentication at all: dockerd reports success too.
        return Ok(());
    }
    if response.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err(RegistryError::Registry(format!(
            "login attempt to {url} failed with status: {}",
            status_text(response.status())
        )));
    }
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (scheme, params) = challenge
        .split_once(' ')
        .unwrap_or((challenge.as_str(), ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        let realm = param(params, "realm").ok_or_else(|| {
            RegistryError::Registry(format!("{url}: bearer challenge without a realm"))
        })?;
        let mut query = vec![
            ("account", credentials.username.clone()),
            ("client_id", "berth".to_string()),
        ];
        if let Some(service) = param(params, "service") {
            query.push(("service", service));
        }
        let token_response = http
            .get(&realm)
            .query(&query)
            .basic_auth(&credentials.username, Some(&credentials.password))
            .send()
            .await
            .map_err(|e| from_reqwest(&e))?;
        let status = token_response.status();
        let body = token_response.text().await.map_err(|e| from_reqwest(&e))?;
        if !status.is_success() {
            return Err(RegistryError::Unauthorized(format!(
                "Get \"{realm}\": unauthorized: {}",
                token_error_detail(&body)
            )));
        }
        let token: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| RegistryError::Registry(format!("token from {realm}: {e}")))?;
        let token = token
            .get("token")
            .or_else(|| token.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| RegistryError::Registry(format!("token from {realm}: no token")))?
            .to_string();
        let check = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| from_reqwest(&e))?;
        return match check.status() {
            s if s.is_success() => Ok(()),
            s => Err(RegistryError::Unauthorized(format!(
                "login attempt to {url} failed with status: {}",
                status_text(s)
            ))),
        };
    }
    // Basic (or an unknown scheme, which dockerd also answers with Basic).
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", credentials.username, credentials.password));
    let check = http
        .get(&url)
        .header(reqwest::header::AUTHORIZATION, format!("Basic {encoded}"))
        .send()
        .await
        .map_err(|e| from_reqwest(&e))?;
    match check.status() {
        s if s.is_success() => Ok(()),
        s if s == reqwest::StatusCode::UNAUTHORIZED => Err(RegistryError::Unauthorized(format!(
            "login attempt to {url} failed with status: {}",
            status_text(s)
        ))),
        s => Err(RegistryError::Registry(format!(
            "login attempt to {url} failed with status: {}",
            status_text(s)
        ))),
    }
}

fn status_text(status: reqwest::StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_string()
}

/// One `key="value"` (or `key=value`) of a challenge's parameters.
fn param(params: &str, key: &str) -> Option<String> {
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let name = name.trim().trim_start_matches(',').trim();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.eq_ignore_ascii_case(key) {
            return Some(value.to_string());
        }
        rest = remainder.trim_start().trim_start_matches(',').trim_start();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parameters() {
        let p = r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull,push""#;
        assert_eq!(
            param(p, "realm").as_deref(),
            Some("https://auth.docker.io/token")
        );
        assert_eq!(param(p, "service").as_deref(), Some("registry.docker.io"));
        assert_eq!(param(p, "scope").as_deref(), Some("repository:a:pull,push"));
        assert_eq!(param("realm=x, service=y", "service").as_deref(), Some("y"));
        assert_eq!(param(p, "nope"), None);
    }
}
