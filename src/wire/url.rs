//! Resolving header URLs, the origin rule, and the headers copied onto polls.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Uri;
use std::sync::{Arc, LazyLock};

use url::Url;

use crate::error::ConfigError;

/// A URL the layer may request: parsed for origin checks, and as the `Uri` to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Shared, so that the clones made while polling cost no allocation.
    pub(crate) url: Arc<Url>,
    pub(crate) uri: Uri,
}

impl Target {
    /// The original request's URI, when it is absolute http(s).
    pub(crate) fn from_request(uri: &Uri) -> Option<Target> {
        let mut target = Target::unparsed(uri)?;
        target.parse().then_some(target)
    }

    /// The original request's URI, checked only for an http(s) scheme and an authority: most
    /// responses never need its parsed form, so [`Target::parse`] waits until one does.
    pub(crate) fn unparsed(uri: &Uri) -> Option<Target> {
        let scheme = uri.scheme_str()?;
        uri.authority()?;
        let http = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
        http.then(|| Target {
            url: UNPARSED.clone(),
            uri: uri.clone(),
        })
    }

    /// Parses the URI into its `url` form; false when it is not usable http(s).
    pub(crate) fn parse(&mut self) -> bool {
        match Url::parse(&self.uri.to_string()) {
            Ok(url) if is_http(&url) => {
                self.url = Arc::new(url);
                true
            }
            _ => false,
        }
    }

    /// Resolves a header (or body) value against `base` (RFC 3986). `None` when it is empty,
    /// not text, unparseable, or not http(s) with a host.
    pub(crate) fn resolve(base: &Url, raw: &str) -> Option<Target> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let url = base.join(raw).ok()?;
        if !is_http(&url) {
            return None;
        }
        // Absolute values are sent exactly as the server wrote them.
        let uri = match raw.parse::<Uri>() {
            Ok(uri) if uri.scheme().is_some() && uri.authority().is_some() => uri,
            _ => url.as_str().parse::<Uri>().ok()?,
        };
        Some(Target {
            url: Arc::new(url),
            uri,
        })
    }

    pub(crate) fn resolve_header(base: &Url, value: &HeaderValue) -> Option<Target> {
        Target::resolve(base, value.to_str().ok()?)
    }

    /// Adds `api-version` from `from` when this URL has none.
    pub(crate) fn with_api_version_of(self, from: &Url) -> Target {
        let has = |u: &Url| u.query_pairs().any(|(k, _)| k == "api-version");
        if has(&self.url) {
            return self;
        }
        let Some((_, version)) = from.query_pairs().find(|(k, _)| k == "api-version") else {
            return self;
        };
        let mut url = (*self.url).clone();
        url.query_pairs_mut().append_pair("api-version", &version);
        match url.as_str().parse::<Uri>() {
            Ok(uri) => Target {
                url: Arc::new(url),
                uri,
            },
            Err(_) => self,
        }
    }

    /// The path compared case-insensitively, as ARM resource paths are.
    pub(crate) fn same_path(&self, other: &Target) -> bool {
        let trim = |p: &str| p.trim_end_matches('/').to_owned();
        trim(self.url.path()).eq_ignore_ascii_case(&trim(other.url.path()))
    }
}

/// Stands in for the original URL until it is parsed: on no real origin (`.invalid`, RFC 2606).
static UNPARSED: LazyLock<Arc<Url>> = LazyLock::new(|| {
    // A literal that parses: not server input, so this cannot fail at run time.
    #[allow(clippy::expect_used)]
    Arc::new(Url::parse("http://unparsed.invalid/").expect("a valid literal URL"))
});

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
}

/// Scheme, host and effective port: the unit of trust for credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    pub(crate) fn of(url: &Url) -> Origin {
        Origin {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
            port: url.port_or_known_default(),
        }
    }

    /// Compares without building another `Origin` (this runs on every poll).
    fn matches(&self, url: &Url) -> bool {
        url.scheme().eq_ignore_ascii_case(&self.scheme)
            && url
                .host_str()
                .unwrap_or_default()
                .eq_ignore_ascii_case(&self.host)
            && url.port_or_known_default() == self.port
    }
}

/// An origin admitted beside the original one, and whether credentials may go there.
///
/// ```
/// use tower_lro::AllowedOrigin;
/// let ops = AllowedOrigin::parse("https://ops.example.net").unwrap();
/// let trusted = AllowedOrigin::parse("https://ops.example.net:8443").unwrap().with_credentials();
/// assert!(AllowedOrigin::parse("ftp://ops.example.net").is_err());
/// # let _ = (ops, trusted);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin {
    origin: Origin,
    credentials: bool,
}

impl AllowedOrigin {
    /// Parses `scheme://host[:port]` (a path, if any, is ignored). Only http and https.
    ///
    /// ```
    /// assert!(tower_lro::AllowedOrigin::parse("not a url").is_err());
    /// ```
    pub fn parse(origin: &str) -> Result<Self, ConfigError> {
        let url =
            Url::parse(origin).map_err(|_| ConfigError::new("an allowed origin is not a URL"))?;
        if !is_http(&url) {
            return Err(ConfigError::new(
                "an allowed origin must be http(s) with a host",
            ));
        }
        Ok(AllowedOrigin {
            origin: Origin::of(&url),
            credentials: false,
        })
    }

    /// Lets credential headers go to this origin too (they are stripped by default).
    ///
    /// ```
    /// let o = tower_lro::AllowedOrigin::parse("https://a.example").unwrap().with_credentials();
    /// # let _ = o;
    /// ```
    pub fn with_credentials(mut self) -> Self {
        self.credentials = true;
        self
    }
}

/// What the origin rule says about a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    SameOrigin,
    Allowed { credentials: bool },
    Refused,
}

pub(crate) fn admit(orig: &Origin, allowed: &[AllowedOrigin], target: &Url) -> Admission {
    if orig.matches(target) {
        return Admission::SameOrigin;
    }
    match allowed.iter().find(|a| a.origin.matches(target)) {
        Some(a) => Admission::Allowed {
            credentials: a.credentials,
        },
        None => Admission::Refused,
    }
}

/// Headers that carry credentials: never sent to another origin unless allowed.
pub(crate) const CREDENTIALS: [&str; 6] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "api-key",
    "ocp-apim-subscription-key",
    "x-ms-authorization-auxiliary",
];

const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::EXPECT,
];

/// The original request's headers as they go onto a GET poll: without `Host`, body,
/// conditional and hop-by-hop headers.
pub(crate) fn poll_headers(original: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<String> = original
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(original.keys_len());
    for (name, value) in original {
        let n = name.as_str();
        let dropped = name == header::HOST
            || HOP_BY_HOP.contains(name)
            || n.starts_with("content-")
            || n.starts_with("if-")
            || n == "keep-alive"
            || n == "proxy-connection"
            || named_by_connection.iter().any(|c| c == n);
        if !dropped {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

pub(crate) fn strip_credentials(headers: &mut HeaderMap) {
    for name in CREDENTIALS {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://management.azure.com/subscriptions/s/rg/x?api-version=2020-01-01")
            .unwrap()
    }

    #[test]
    fn resolves_relative_and_keeps_absolute_verbatim() {
        let t = Target::resolve(&base(), "/ops/1?a=%3a").unwrap();
        assert_eq!(t.uri, "https://management.azure.com/ops/1?a=%3a");
        let t = Target::resolve(&base(), "ops/2").unwrap();
        assert_eq!(t.uri.path(), "/subscriptions/s/rg/ops/2");
        let raw = "https://management.azure.com:443/ops/3?x=%3A";
        assert_eq!(Target::resolve(&base(), raw).unwrap().uri.to_string(), raw);
        let long = format!("https://management.azure.com/{}", "a".repeat(4096));
        assert!(Target::resolve(&base(), &long).is_some());
    }

    #[test]
    fn refuses_unusable_values() {
        for bad in [
            "",
            "   ",
            "ftp://x/y",
            "mailto:a@b",
            "http://",
            "https://[::1",
            "data:text/plain,hi",
        ] {
            assert!(Target::resolve(&base(), bad).is_none(), "{bad:?}");
        }
        let absurd = format!("https://management.azure.com/{}", "a".repeat(70_000));
        assert!(Target::resolve(&base(), &absurd).is_none());
    }

    #[test]
    fn origin_fills_default_ports_and_ignores_host_case() {
        let orig = Origin::of(&base());
        let with_port = Url::parse("https://MANAGEMENT.azure.com:443/x").unwrap();
        assert_eq!(admit(&orig, &[], &with_port), Admission::SameOrigin);
        let downgrade = Url::parse("http://management.azure.com/x").unwrap();
        assert_eq!(admit(&orig, &[], &downgrade), Admission::Refused);
        let other_port = Url::parse("https://management.azure.com:8443/x").unwrap();
        assert_eq!(admit(&orig, &[], &other_port), Admission::Refused);
        let allowed = [AllowedOrigin::parse("https://ops.example").unwrap()];
        let ops = Url::parse("https://ops.example/x").unwrap();
        assert_eq!(
            admit(&orig, &allowed, &ops),
            Admission::Allowed { credentials: false }
        );
    }

    #[test]
    fn poll_headers_drop_body_conditional_and_hop_headers() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("host", "h"),
            ("content-type", "application/json"),
            ("content-length", "5"),
            ("transfer-encoding", "chunked"),
            ("if-match", "*"),
            ("if-none-match", "*"),
            ("expect", "100-continue"),
            ("connection", "x-private"),
            ("x-private", "1"),
            ("keep-alive", "5"),
            ("authorization", "Bearer t"),
            ("x-ms-client-request-id", "id"),
            ("accept", "application/json"),
        ] {
            h.append(k, HeaderValue::from_static(v));
        }
        let out = poll_headers(&h);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["authorization", "x-ms-client-request-id", "accept"]);
    }

    #[test]
    fn api_version_is_added_only_when_missing() {
        let t = Target::resolve(&base(), "/ops/1")
            .unwrap()
            .with_api_version_of(&base());
        assert_eq!(t.uri.query(), Some("api-version=2020-01-01"));
        let t = Target::resolve(&base(), "/ops/1?api-version=x")
            .unwrap()
            .with_api_version_of(&base());
        assert_eq!(t.uri.query(), Some("api-version=x"));
    }

    #[test]
    fn same_path_ignores_case_and_query() {
        let a = Target::resolve(&base(), "/Subscriptions/S/rg/X?kv-operation=1").unwrap();
        let b = Target::from_request(
            &"https://management.azure.com/subscriptions/s/rg/x?api-version=1"
                .parse()
                .unwrap(),
        )
        .unwrap();
        assert!(a.same_path(&b));
    }

    proptest::proptest! {
        #[test]
        fn any_text_resolves_or_is_refused(text in "\\PC{0,80}") {
            if let Some(t) = Target::resolve(&base(), &text) {
                proptest::prop_assert!(matches!(t.url.scheme(), "http" | "https"));
                proptest::prop_assert!(t.uri.authority().is_some());
            }
        }
    }
}
