//! A container's names as Docker lists them.

/// `Names` in `GET /containers/json`. Docker quirk: besides `/NAME`, a
/// container linked by others (legacy `--link`) is listed under each
/// `/PARENT/ALIAS`, all sorted as dockerd's name registry iterates them.
pub fn list_names(slash_name: &str, link_names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = std::iter::once(slash_name.to_string())
        .chain(link_names.iter().cloned())
        .collect();
    names.sort();
    names
}

/// `{{.Names}}` in `docker ps`. Docker quirk (the docker CLI's formatter):
/// only the container's own name (the one without a `/` once the leading
/// one is stripped), unless `--no-trunc`: then every name, comma-joined.
pub fn ps_names(names: &[String], no_trunc: bool) -> String {
    let stripped: Vec<&str> = names.iter().map(|n| n.trim_start_matches('/')).collect();
    if !no_trunc {
        if let Some(own) = stripped.iter().find(|n| !n.contains('/')) {
            return own.to_string();
        }
    }
    stripped.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_sorted_and_shown_untruncated_only() {
        let names = list_names("/db", &["/web/x".into(), "/app/y".into()]);
        assert_eq!(names, ["/app/y", "/db", "/web/x"]);
        assert_eq!(ps_names(&names, false), "db");
        assert_eq!(ps_names(&names, true), "app/y,db,web/x");
        assert_eq!(ps_names(&["/db".to_string()], false), "db");
    }
}
