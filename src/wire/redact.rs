//! URLs as they may be shown: in errors, `Debug` output and tracing. Query values and userinfo
//! can hold SAS signatures, tokens or passwords; only `api-version` is kept.

use http::Uri;

/// A URL as it may be shown (errors, `Debug`, tracing): query values other than
/// `api-version` and any userinfo are replaced by `REDACTED`, since they can hold SAS
/// signatures, tokens or passwords.
pub(crate) struct Redacted<'a>(pub(crate) &'a Uri);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uri = self.0;
        if let Some(scheme) = uri.scheme_str() {
            write!(f, "{scheme}://")?;
        }
        if let Some(authority) = uri.authority() {
            match authority.as_str().rsplit_once('@') {
                Some((_, host)) => write!(f, "REDACTED@{host}")?,
                None => f.write_str(authority.as_str())?,
            }
        }
        f.write_str(uri.path())?;
        match uri.query() {
            Some(query) => write_query(f, query),
            None => Ok(()),
        }
    }
}

fn write_query(f: &mut std::fmt::Formatter<'_>, query: &str) -> std::fmt::Result {
    for (i, pair) in query.split('&').enumerate() {
        f.write_str(if i == 0 { "?" } else { "&" })?;
        match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("api-version") => f.write_str(pair)?,
            Some((key, _)) => write!(f, "{key}=REDACTED")?,
            None if pair.is_empty() => {}
            None => f.write_str("REDACTED")?,
        }
    }
    Ok(())
}

/// [`Redacted`] as a string.
pub(crate) fn redact(uri: &Uri) -> String {
    Redacted(uri).to_string()
}

/// [`Redacted`] as a URI. When the redacted text is no valid URI (a redacted form longer
/// than `http` takes), a placeholder of the origin alone: never the raw value.
pub(crate) fn redacted_uri(uri: &Uri) -> Uri {
    if let Ok(shown) = redact(uri).parse() {
        return shown;
    }
    let host = uri.host().unwrap_or_default();
    let origin = match (uri.scheme_str(), uri.port_u16()) {
        (Some(scheme), Some(port)) => format!("{scheme}://{host}:{port}/REDACTED"),
        (Some(scheme), None) => format!("{scheme}://{host}/REDACTED"),
        _ => String::new(),
    };
    origin
        .parse()
        .unwrap_or_else(|_| Uri::from_static("/REDACTED"))
}

/// A header value that is no usable URL, as it may be shown: everything after `?` or `@`
/// (query values, userinfo) is redacted the same way.
pub(crate) fn redact_raw(raw: &str) -> String {
    struct Raw<'a>(&'a str);
    impl std::fmt::Display for Raw<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let (before, query) = match self.0.split_once('?') {
                Some((before, query)) => (before, Some(query)),
                None => (self.0, None),
            };
            match before.rsplit_once('@') {
                Some((_, host)) => write!(f, "REDACTED@{host}")?,
                None => f.write_str(before)?,
            }
            match query {
                Some(query) => write_query(f, query),
                None => Ok(()),
            }
        }
    }
    Raw(raw).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn a_redacted_form_too_long_for_a_uri_is_a_placeholder_never_the_raw_value() {
        // Each one-byte value grows to eight: the redacted text passes `http`'s length limit.
        let pairs: Vec<String> = (0..6_000).map(|i| format!("k{i}=s")).collect();
        let raw = format!("https://user:pw@h.example:8443/p?{}", pairs.join("&"));
        let u = uri(&raw);
        assert!(
            redact(&u).parse::<Uri>().is_err(),
            "the case needs a long form"
        );
        assert_eq!(
            redacted_uri(&u).to_string(),
            "https://h.example:8443/REDACTED"
        );
        assert_eq!(
            redacted_uri(&uri("https://h/p?sig=s")).to_string(),
            "https://h/p?sig=REDACTED"
        );
    }

    #[test]
    fn redacts_query_values_but_api_version_and_userinfo() {
        let u = uri("https://a.blob.core.windows.net/c/b?sig=secret&API-Version=2024-01-01&flag");
        assert_eq!(
            redact(&u),
            "https://a.blob.core.windows.net/c/b?sig=REDACTED&API-Version=2024-01-01&REDACTED"
        );
        assert_eq!(redact(&uri("https://h/p")), "https://h/p");
        assert_eq!(
            redact(&uri("https://user:pass@h:8443/p?")),
            "https://REDACTED@h:8443/p?"
        );
    }
}
