//! Host names as every dialect and the origin rule compare them: one place for "below a domain
//! on a label boundary", so no copy can drift.

use std::sync::Arc;

/// `host` is strictly below `domain` on a label boundary (`a.example.net` is below
/// `example.net`; `example.net` and `badexample.net` are not), any case, trailing dots ignored.
pub(crate) fn is_below(host: &str, domain: &str) -> bool {
    let (host, domain) = (host.trim_end_matches('.'), domain.trim_end_matches('.'));
    host.len()
        .checked_sub(domain.len())
        .and_then(|at| at.checked_sub(1))
        .filter(|&dot| dot > 0 && host.as_bytes().get(dot) == Some(&b'.'))
        .and_then(|dot| host.get(dot.saturating_add(1)..))
        .is_some_and(|suffix| !domain.is_empty() && suffix.eq_ignore_ascii_case(domain))
}

/// `host` is `domain` or below it.
pub(crate) fn is_or_below(host: &str, domain: &str) -> bool {
    host.trim_end_matches('.')
        .eq_ignore_ascii_case(domain.trim_end_matches('.'))
        || is_below(host, domain)
}

/// `host` matches `pattern`: `*.domain` (below it) or a host name (the same, any case).
pub(crate) fn matches(host: &str, pattern: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => is_below(host, domain),
        None => host
            .trim_end_matches('.')
            .eq_ignore_ascii_case(pattern.trim_end_matches('.')),
    }
}

/// Host names as the dialects keep them: trimmed, lower case, without a trailing dot.
pub(crate) fn list<'a>(hosts: impl IntoIterator<Item = &'a str>) -> Arc<[Box<str>]> {
    hosts
        .into_iter()
        .map(|h| {
            h.trim()
                .trim_end_matches('.')
                .to_ascii_lowercase()
                .into_boxed_str()
        })
        .filter(|h| !h.is_empty())
        .collect::<Vec<_>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_a_domain_means_on_a_label_boundary() {
        for (host, domain, below) in [
            ("a.example.net", "example.net", true),
            ("A.B.Example.NET", "example.net", true),
            ("a.example.net.", "example.net", true),
            ("example.net", "example.net", false),
            ("badexample.net", "example.net", false),
            (".example.net", "example.net", false),
            ("a.example.net", "", false),
            ("", "example.net", false),
            ("net", "example.net", false),
        ] {
            assert_eq!(is_below(host, domain), below, "{host} {domain}");
        }
        assert!(is_or_below("example.net", "EXAMPLE.net."));
        assert!(is_or_below("x.example.net", "example.net"));
        assert!(!is_or_below("xexample.net", "example.net"));
    }

    #[test]
    fn patterns_are_a_host_or_everything_below_a_domain() {
        assert!(matches("api.onedrive.com", "api.onedrive.com"));
        assert!(!matches("x.api.onedrive.com", "api.onedrive.com"));
        assert!(matches("contoso.sharepoint.com", "*.sharepoint.com"));
        assert!(!matches("sharepoint.com", "*.sharepoint.com"));
        assert!(!matches("evilsharepoint.com", "*.sharepoint.com"));
        assert_eq!(&*list([" A.Example.NET. ", ""])[0], "a.example.net");
    }
}
