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
