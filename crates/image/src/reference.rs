//! Image references, normalized the way Docker's distribution/reference does it.
//!
//! Terms:
//! * **normalized** form: `docker.io/library/busybox:latest`, what the store keys
//!   `image_refs` by (a digest reference is `docker.io/library/busybox@sha256:...`);
//! * **familiar** form: `busybox:latest`, what every command prints;
//! * a reference has a *name* (domain + path) and a tag and/or a digest; a name
//!   alone means tag `latest` ([`Reference::with_default_tag`]).
//!
//! The grammar is distribution/reference's (`regexp.go`), and so are the error
//! messages, because scripts match on them.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

use crate::ImageError;

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
pub const DEFAULT_TAG: &str = "latest";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

fn reference_regexp() -> Result<&'static Regex, ImageError> {
    static RE: OnceLock<Result<Regex, regex::Error>> = OnceLock::new();
    let compiled = RE.get_or_init(|| {
        let alphanumeric = "[a-z0-9]+";
        let separator = "(?:[._]|__|[-]+)";
        let path_component = format!("{alphanumeric}(?:{separator}{alphanumeric})*");
        let domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        let domain_name = format!(r"{domain_component}(?:\.{domain_component})*");
        let host = format!(r"(?:{domain_name}|\[(?:[a-fA-F0-9:]+)\])");
        let domain = format!("{host}(?::[0-9]+)?");
        let name = format!("(?:{domain}/)?{path_component}(?:/{path_component})*");
        // Go's `\w` is ASCII-only; Rust's would be Unicode (and a large automaton).
        let tag = r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}";
        let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
        let full = format!("^({name})(?::({tag}))?(?:@({digest}))?$");
        Regex::new(&full)
    });
    compiled
        .as_ref()
        .map_err(|e| ImageError::InvalidReference(format!("reference grammar: {e}")))
}

/// True for a bare 64-hex string, which Docker reads as an image ID, never a name.
pub fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A parsed, normalized reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Docker's `ParseNormalizedNamed`: accepts familiar forms (`busybox`,
    /// `user/app:1`, `localhost:5000/x@sha256:...`) and fills in the default domain
    /// and `library/`. Does not add a default tag.
    pub fn parse(s: &str) -> Result<Reference, ImageError> {
        if is_full_hex_id(s) {
            return Err(ImageError::InvalidReference(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = remainder.split(':').next().unwrap_or_default();
        if remote_name.to_lowercase() != remote_name {
            return Err(ImageError::InvalidReference(format!(
                "invalid reference format: repository name ({remote_name}) must be lowercase"
            )));
        }
        let full = format!("{domain}/{remainder}");
        let invalid = |msg: &str| ImageError::InvalidReference(msg.to_string());
        if s.is_empty() {
            return Err(invalid("invalid reference format"));
        }
        let caps = reference_regexp()?
            .captures(&full)
            .ok_or_else(|| invalid("invalid reference format"))?;
        let name = caps.get(1).map(|m| m.as_str()).unwrap_or_default();
        if name.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(invalid(
                "invalid reference format: repository name must not be more than 255 characters",
            ));
        }
        let digest = caps.get(3).map(|m| m.as_str().to_string());
        if let Some(d) = &digest {
            validate_digest(d)?;
        }
        let (domain, path) = name.split_once('/').unwrap_or((DEFAULT_DOMAIN, name));
        Ok(Reference {
            domain: domain.to_string(),
            path: path.to_string(),
            tag: caps.get(2).map(|m| m.as_str().to_string()),
            digest,
        })
    }

    /// Docker's `TagNameOnly`: a bare name means `:latest`.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// `busybox` (Docker's `FamiliarName`).
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// The key under which the store records this reference: the tag form when
    /// there is a tag, else the digest form. (A reference carrying both is looked
    /// up by its digest, as Docker does.)
    pub fn store_key(&self) -> String {
        match (&self.tag, &self.digest) {
            (_, Some(d)) => format!("{}@{d}", self.name()),
            (Some(t), None) => format!("{}:{t}", self.name()),
            (None, None) => format!("{}:{DEFAULT_TAG}", self.name()),
        }
    }

    /// `busybox:latest` / `busybox@sha256:...` (Docker's `FamiliarString`).
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

impl fmt::Display for Reference {
    /// The fully normalized form, e.g. `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Go's `path.Match`, which Docker's `reference=PATTERN` filter uses: `*` and
/// `?` never match `/`.
pub fn path_match(pattern: &str, text: &str) -> Result<bool, ImageError> {
    let p = glob::Pattern::new(pattern).map_err(|e| {
        ImageError::InvalidArgument(format!("invalid reference filter {pattern:?}: {e}"))
    })?;
    Ok(p.matches_with(
        text,
        glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        },
    ))
}

/// Familiar form of a normalized reference as stored in `image_refs`.
pub fn familiar(stored: &str) -> String {
    Reference::parse(stored)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| stored.to_string())
}

/// Docker's `splitDockerDomain`: the first component is a domain only if it
/// looks like one (has a `.` or `:`, or is `localhost`).
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

fn validate_digest(digest: &str) -> Result<(), ImageError> {
    let invalid = |m: &str| ImageError::InvalidReference(m.to_string());
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| invalid("invalid checksum digest format"))?;
    let expected_len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(invalid("unsupported digest algorithm")),
    };
    if hex.len() != expected_len {
        return Err(invalid("invalid checksum digest length"));
    }
    if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid("invalid checksum digest format"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        let cases = [
            ("busybox", "docker.io/library/busybox", "busybox"),
            (
                "busybox:1.36",
                "docker.io/library/busybox:1.36",
                "busybox:1.36",
            ),
            ("user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
            (
                "docker.io/library/busybox:latest",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            (
                "index.docker.io/busybox",
                "docker.io/library/busybox",
                "busybox",
            ),
            ("localhost:5000/x", "localhost:5000/x", "localhost:5000/x"),
            ("localhost/x:t", "localhost/x:t", "localhost/x:t"),
            (
                "example.com/a/b/c:t",
                "example.com/a/b/c:t",
                "example.com/a/b/c:t",
            ),
            ("library/a/b", "docker.io/library/a/b", "library/a/b"),
            (
                "test.com:5000",
                "docker.io/library/test.com:5000",
                "test.com:5000",
            ),
        ];
        for (input, normalized, familiar) in cases {
            let r = Reference::parse(input).unwrap();
            assert_eq!(r.to_string(), normalized, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
        }
        let r = Reference::parse("busybox").unwrap().with_default_tag();
        assert_eq!(r.store_key(), "docker.io/library/busybox:latest");
        assert_eq!(r.familiar(), "busybox:latest");
        let d = format!("busybox@sha256:{}", "a".repeat(64));
        let r = Reference::parse(&d).unwrap().with_default_tag();
        assert_eq!(r.tag(), None);
        assert_eq!(r.store_key(), format!("docker.io/library/{d}"));
        assert_eq!(r.familiar(), d);
    }

    #[test]
    fn rejects_like_docker() {
        let err = |s: &str| Reference::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("Busy"),
            "invalid reference format: repository name (library/Busy) must be lowercase"
        );
        assert_eq!(err("a b"), "invalid reference format");
        assert_eq!(err(""), "invalid reference format");
        assert_eq!(err("busybox:"), "invalid reference format");
        assert_eq!(err("-x"), "invalid reference format");
        assert_eq!(err("x@sha256:abc"), "invalid reference format");
        assert_eq!(
            err(&format!("x@sha256:{}", "a".repeat(63))),
            "invalid checksum digest length"
        );
        assert_eq!(
            err(&format!("x@sha256:{}", "a".repeat(65))),
            "invalid checksum digest length"
        );
        assert_eq!(
            err(&"a".repeat(64)),
            format!(
                "invalid repository name ({}), cannot specify 64-byte hexadecimal strings",
                "a".repeat(64)
            )
        );
        assert!(err(&format!("{}:t", "a".repeat(256))).contains("255 characters"));
    }
}
