//! Resolving header URLs, the origin rule, and the headers copied onto polls.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Uri;
use url::Url;

use crate::config_error::ConfigError;

/// A URL the layer may request. Absolute values are kept exactly as the server wrote them and
/// checked on their `http::Uri` form, which is what the inner service will connect to; the
/// `url` crate (RFC 3986 resolution) is only needed for relative values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) uri: Uri,
}

impl Target {
    /// The original request's URI, when it is absolute http(s) with a host.
    pub(crate) fn from_request(uri: &Uri) -> Option<Target> {
        is_http(uri).then(|| Target { uri: uri.clone() })
    }

    /// As [`Target::from_request`], keeping `uri` without a clone (a clone of a freshly
    /// parsed `Uri` moves its bytes into a shared block).
    fn from_parsed(uri: Uri) -> Option<Target> {
        is_http(&uri).then_some(Target { uri })
    }

    /// An origin-form request's URI (a path and query, no scheme or authority) made absolute
    /// with `scheme` and the authority its `Host` header names.
    pub(crate) fn from_origin_form(
        uri: &Uri,
        host: &HeaderValue,
        scheme: &http::uri::Scheme,
    ) -> Option<Target> {
        if uri.scheme().is_some() || uri.authority().is_some() {
            return None;
        }
        let authority = http::uri::Authority::try_from(host.as_bytes()).ok()?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let uri = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority)
            .path_and_query(path)
            .build()
            .ok()?;
        Target::from_parsed(uri)
    }

    /// Resolves a header (or body) value against `base` (RFC 3986). `None` when it is empty,
    /// unparseable, or not http(s) with a host.
    pub(crate) fn resolve(base: &Uri, raw: &str) -> Option<Target> {
        let raw = raw.trim();
        if raw.is_empty() || !is_uri_reference(raw) {
            return None;
        }
        if has_scheme(raw) {
            // An absolute URI, whole or malformed: never joined to the base. The `url` crate
            // (WHATWG) would read `https:host/p` as a path under an https base, `http:host/p`
            // as `http://host/p` and `https:///p` as `https://p/`: guesses, not the server's URL.
            let uri: Uri = raw.parse().ok()?;
            return Target::from_parsed(uri);
        }
        let joined = Url::parse(&base.to_string()).ok()?.join(raw).ok()?;
        Target::from_parsed(joined.as_str().parse().ok()?)
    }

    pub(crate) fn resolve_header(base: &Uri, value: &HeaderValue) -> Option<Target> {
        Target::resolve(base, value.to_str().ok()?)
    }

    /// The first usable value of header `name`: a repeated header's unusable values are skipped.
    pub(crate) fn first_in(
        base: &Uri,
        headers: &HeaderMap,
        name: impl header::AsHeaderName,
    ) -> Option<Target> {
        headers
            .get_all(name)
            .iter()
            .find_map(|v| Target::resolve_header(base, v))
    }

    /// Adds `api-version` from `from` when this URL has none.
    pub(crate) fn with_api_version_of(self, from: &Uri) -> Target {
        let version_in = |uri: &Uri| {
            url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .find(|(k, _)| k == "api-version")
                .map(|(_, v)| v.into_owned())
        };
        if version_in(&self.uri).is_some() {
            return self;
        }
        let Some(version) = version_in(from) else {
            return self;
        };
        let pair = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("api-version", &version)
            .finish();
        let text = self.uri.to_string();
        let joiner = match self.uri.query() {
            None => "?",
            Some("") => "",
            Some(_) => "&",
        };
        match format!("{text}{joiner}{pair}").parse() {
            Ok(uri) => Target { uri },
            Err(_) => self,
        }
    }

    /// The path compared case-insensitively, as ARM resource paths are.
    pub(crate) fn same_path(&self, other: &Target) -> bool {
        let trim = |p: &str| p.trim_end_matches('/').to_owned();
        trim(self.uri.path()).eq_ignore_ascii_case(&trim(other.uri.path()))
    }
}

/// Whether every character may stand in an RFC 3986 URI reference and every `%` starts an
/// escape. A value that fails is malformed: it is never repaired or percent-encoded, since a
/// guessed URL may not be the one the server meant.
fn is_uri_reference(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => {
            let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
            hex(i.saturating_add(1)) && hex(i.saturating_add(2))
        }
        b if b.is_ascii_alphanumeric() => true,
        b'-' | b'.' | b'_' | b'~' => true,
        b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' => true,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
        _ => false,
    })
}

/// Whether the value starts with an RFC 3986 scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" /
/// "." ) ":"`). A relative reference never does: a colon in its first segment needs a `./`
/// before it.
fn has_scheme(raw: &str) -> bool {
    let Some((scheme, _)) = raw.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn is_http(uri: &Uri) -> bool {
    let http = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    http && uri
        .authority()
        .is_some_and(|a| authority_is_usable(a.as_str()))
}

/// A non-empty host, and a port that is either absent, empty, or one `http` can read. `http`
/// takes any digits as a port and then reports none: such a port would otherwise count as the
/// default one in the origin rule. One pass over the text, with `http`'s own rules: the host
/// ends at the first `:` after the userinfo (or at `]` for an IP literal), the port is what
/// follows the last `:`.
fn authority_is_usable(authority: &str) -> bool {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port
            .find(']')
            .map_or(host_port, |end| &host_port[..=end])
    } else {
        host_port.split_once(':').map_or(host_port, |(h, _)| h)
    };
    if host.is_empty() {
        return false;
    }
    // Past an IP literal's brackets, a `:` can only start the port.
    let tail = host_port.rsplit_once(']').map_or(host_port, |(_, t)| t);
    match tail.rsplit_once(':') {
        Some((_, "")) | None => true,
        // The authority's last `:`, so `http`'s port text: digits it cannot read are refused.
        Some((_, port)) => {
            port.parse::<u16>().is_ok() || !port.ends_with(|c: char| c.is_ascii_digit())
        }
    }
}

/// The port a URI connects to: its own, else its scheme's default.
fn effective_port(scheme: &str, port: Option<u16>) -> Option<u16> {
    // Compared in place, any case: this runs on every poll.
    port.or(if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        None
    })
}

/// Scheme, host and effective port: the unit of trust for credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    /// Lower case; with `wildcard`, the suffix every matching host ends in after a dot.
    host: String,
    port: Option<u16>,
    /// `*.host`: any host below `host` on a label boundary (not `host` itself).
    wildcard: bool,
}

impl Origin {
    /// The origin of an absolute http(s) URI.
    pub(crate) fn of(uri: &Uri) -> Option<Origin> {
        if !is_http(uri) {
            return None;
        }
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        Some(Origin {
            port: effective_port(&scheme, uri.port_u16()),
            host: uri.host()?.to_ascii_lowercase(),
            scheme,
            wildcard: false,
        })
    }

    pub(crate) fn matches(&self, uri: &Uri) -> bool {
        if !self.wildcard {
            return same_origin(uri, &self.scheme, &self.host, self.port);
        }
        let own = uri.scheme_str().unwrap_or_default();
        let below = super::host::is_below(uri.host().unwrap_or_default(), &self.host);
        below
            && own.eq_ignore_ascii_case(&self.scheme)
            && effective_port(own, uri.port_u16()) == self.port
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let star = if self.wildcard { "*." } else { "" };
        write!(f, "{}://{star}{}", self.scheme, self.host)?;
        match self.port {
            Some(port) if effective_port(&self.scheme, None) != Some(port) => write!(f, ":{port}"),
            _ => Ok(()),
        }
    }
}

/// Scheme, host (any case) and effective port compared in place: this runs on every poll.
fn same_origin(uri: &Uri, scheme: &str, host: &str, port: Option<u16>) -> bool {
    let own = uri.scheme_str().unwrap_or_default();
    own.eq_ignore_ascii_case(scheme)
        && uri.host().unwrap_or_default().eq_ignore_ascii_case(host)
        && effective_port(own, uri.port_u16()) == port
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
    /// A host of the form `*.example.net` admits every host below `example.net` on a label
    /// boundary (`a.example.net`, `a.b.example.net`; not `example.net` itself, nor
    /// `badexample.net`), as Azure Storage and Graph monitors live on per-account hosts. The
    /// suffix must have at least two labels; a `*` anywhere else is refused, since it would
    /// match nothing.
    ///
    /// ```
    /// use tower_lro::AllowedOrigin;
    /// assert!(AllowedOrigin::parse("not a url").is_err());
    /// assert!(AllowedOrigin::parse("https://*.blob.core.windows.net").is_ok());
    /// assert!(AllowedOrigin::parse("https://*.net").is_err());
    /// assert!(AllowedOrigin::parse("https://a*.example.net").is_err());
    /// ```
    pub fn parse(origin: &str) -> Result<Self, ConfigError> {
        let (text, wildcard) = match origin.trim().split_once("://*.") {
            Some((scheme, rest)) => (format!("{scheme}://{rest}"), true),
            None => (origin.trim().to_owned(), false),
        };
        let url =
            Url::parse(&text).map_err(|_| ConfigError::new("an allowed origin is not a URL"))?;
        let host = url.host_str().unwrap_or_default();
        if !matches!(url.scheme(), "http" | "https") || host.is_empty() {
            return Err(ConfigError::new(
                "an allowed origin must be http(s) with a host",
            ));
        }
        if host.contains('*') {
            return Err(ConfigError::new(
                "an allowed origin may use `*` only as a whole first label (`*.example.net`)",
            ));
        }
        let is_name = matches!(url.host(), Some(url::Host::Domain(_)));
        if wildcard && (!is_name || !host.contains('.') || host.split('.').any(str::is_empty)) {
            return Err(ConfigError::new(
                "a wildcard allowed origin needs a domain of at least two labels after `*.`",
            ));
        }
        Ok(AllowedOrigin {
            origin: Origin {
                scheme: url.scheme().to_owned(),
                host: host.to_ascii_lowercase(),
                port: url.port_or_known_default(),
                wildcard,
            },
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

impl AllowedOrigin {
    /// Whether a request to `uri` goes to this origin; an origin-form `uri` (a path alone)
    /// is taken with `host` (its `Host` header) and this origin's scheme.
    pub(crate) fn covers(&self, uri: &Uri, host: Option<&http::HeaderValue>) -> bool {
        if uri.authority().is_some() {
            return self.origin.matches(uri);
        }
        let Some(host) = host.and_then(|h| h.to_str().ok()) else {
            return false;
        };
        format!("{}://{host}/", self.origin.scheme)
            .parse::<Uri>()
            .is_ok_and(|uri| uri.host().is_some() && self.origin.matches(&uri))
    }
}

/// What the origin rule says about a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    SameOrigin,
    Allowed { credentials: bool },
    Refused,
}

pub(crate) fn admit(orig: &Uri, allowed: &[AllowedOrigin], target: &Uri) -> Admission {
    // Hot path, every poll of a monitor on the original host: the same scheme and authority
    // (both compared ignoring case) are the same origin, without parsing either authority.
    if orig.scheme() == target.scheme()
        && orig
            .authority()
            .is_some_and(|own| Some(own) == target.authority())
    {
        return Admission::SameOrigin;
    }
    let scheme = orig.scheme_str().unwrap_or_default();
    let port = effective_port(scheme, orig.port_u16());
    if same_origin(target, scheme, orig.host().unwrap_or_default(), port) {
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
pub(crate) const CREDENTIALS: [&str; 7] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "api-key",
    "ocp-apim-subscription-key",
    "x-ms-authorization-auxiliary",
    "x-goog-api-key",
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
mod tests;
