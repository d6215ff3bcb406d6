use super::*;

fn base() -> Uri {
    "https://management.azure.com/subscriptions/s/rg/x?api-version=2020-01-01"
        .parse()
        .unwrap()
}

fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

#[test]
fn resolves_relative_and_keeps_absolute_verbatim() {
    let t = Target::resolve(&base(), "/ops/1?a=%3a").unwrap();
    let t2 = Target::resolve(&base(), "//management.azure.com/ops/9").unwrap();
    assert_eq!(t2.uri, "https://management.azure.com/ops/9");
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
fn malformed_values_are_never_repaired() {
    for bad in [
        "/ops/1 2",
        "https://management.azure.com/ops/a b",
        "/ops/%zz",
        "/ops/%4",
        "/ops/\u{7f}",
        "/ops/é",
        "/ops/<1>",
        "https://management.azure.com:99999/ops",
        "//management.azure.com:x/ops",
    ] {
        assert!(Target::resolve(&base(), bad).is_none(), "{bad:?}");
    }
    assert!(Target::resolve(&base(), "/ops/%2F?a=b&c=d;e").is_some());
}

/// Behaviour page, "Header values": a scheme without an authority is malformed, in every
/// monitor header, and never resolved as a relative path.
#[test]
fn a_scheme_without_an_authority_is_malformed() {
    let graph: Uri = "https://graph.microsoft.com/v1.0/me/drive/items/X/copy"
        .parse()
        .unwrap();
    let good = "https://contoso.sharepoint.com/_api/v2.0/monitor/1";
    for bad in [
        "https:contoso.sharepoint.com/m/1",
        "HTTPS:contoso.sharepoint.com/m/1",
        "http:contoso.sharepoint.com/m/1",
        "https:/m/1",
        "https:///m/1",
        "https:",
        "https:?x=1",
        "https:#f",
    ] {
        assert!(Target::resolve(&graph, bad).is_none(), "{bad}");
        for name in ["location", "azure-asyncoperation", "operation-location"] {
            let mut headers = HeaderMap::new();
            headers.append(name, HeaderValue::from_static(bad));
            assert!(
                Target::first_in(&graph, &headers, name).is_none(),
                "{name}: {bad}"
            );
            // Skipped for a later usable value, never resolved in its place.
            headers.append(name, HeaderValue::from_static(good));
            let first = Target::first_in(&graph, &headers, name).map(|t| t.uri);
            assert_eq!(first, Some(Uri::from_static(good)), "{name}: {bad}");
        }
    }
    // A colon later in a relative path, or after `./`, is no scheme.
    let t = Target::resolve(&graph, "./m:1").unwrap();
    assert_eq!(
        t.uri,
        "https://graph.microsoft.com/v1.0/me/drive/items/X/m:1"
    );
    let t = Target::resolve(&graph, "/v1.0/ops/a:b").unwrap();
    assert_eq!(t.uri, "https://graph.microsoft.com/v1.0/ops/a:b");
}

#[test]
fn wildcard_origins_match_below_a_label_boundary() {
    let orig = base();
    let any = AllowedOrigin::parse("https://*.blob.core.windows.net").unwrap();
    let allowed = [any];
    for (target, admitted) in [
        ("https://acct.blob.core.windows.net/x", true),
        ("https://A.B.blob.core.WINDOWS.net:443/x", true),
        ("https://blob.core.windows.net/x", false),
        ("https://evilblob.core.windows.net/x", false),
        ("https://acct.blob.core.windows.net.evil.example/x", false),
        ("http://acct.blob.core.windows.net/x", false),
        ("https://acct.blob.core.windows.net:8443/x", false),
    ] {
        let got = admit(&orig, &allowed, &uri(target));
        assert_eq!(got != Admission::Refused, admitted, "{target}");
    }
    for bad in [
        "https://*.net",
        "https://a*.example.net",
        "https://*.*.example.net",
        "https://*.127.0.0.1",
    ] {
        assert!(AllowedOrigin::parse(bad).is_err(), "{bad}");
    }
}

/// The check as it was written on `http`'s own accessors (two parses per call).
fn usable_by_http_accessors(uri: &Uri) -> bool {
    let port_ok = match uri.authority() {
        None => true,
        Some(authority) if uri.port().is_some() => {
            let _ = authority;
            true
        }
        Some(authority) if !authority.as_str().ends_with(|c: char| c.is_ascii_digit()) => true,
        Some(authority) => {
            let a = authority.as_str();
            let host_port = a.rsplit_once('@').map_or(a, |(_, h)| h);
            let tail = host_port.rsplit_once(']').map_or(host_port, |(_, t)| t);
            matches!(tail.rsplit_once(':'), Some((_, "")) | None)
        }
    };
    port_ok && uri.host().is_some_and(|h| !h.is_empty())
}

proptest::proptest! {
    #[test]
    fn one_pass_authority_check_agrees_with_http(auth in "[a1:@\\[\\].%9_-]{0,14}") {
        if let Ok(uri) = format!("https://{auth}/x").parse::<Uri>() {
            let by_http = uri.authority().is_some() && usable_by_http_accessors(&uri);
            proptest::prop_assert_eq!(is_http(&uri), by_http, "{}", auth);
        }
    }
}

#[test]
fn the_same_authority_text_is_same_origin_only_with_the_same_scheme() {
    let orig = uri("https://user@Ops.Example:8443/start");
    for (target, want) in [
        (
            "https://user@ops.example:8443/status/1",
            Admission::SameOrigin,
        ),
        (
            "HTTPS://USER@OPS.EXAMPLE:8443/status/1",
            Admission::SameOrigin,
        ),
        ("https://ops.example:8443/status/1", Admission::SameOrigin),
        ("http://user@ops.example:8443/status/1", Admission::Refused),
        ("https://user@ops.example:8444/status/1", Admission::Refused),
        (
            "https://user@ops.example.evil:8443/status/1",
            Admission::Refused,
        ),
    ] {
        assert_eq!(admit(&orig, &[], &uri(target)), want, "{target}");
    }
}

#[test]
fn origin_fills_default_ports_and_ignores_host_case() {
    let orig = base();
    let with_port = uri("https://MANAGEMENT.azure.com:443/x");
    assert_eq!(admit(&orig, &[], &with_port), Admission::SameOrigin);
    let downgrade = uri("http://management.azure.com/x");
    assert_eq!(admit(&orig, &[], &downgrade), Admission::Refused);
    let other_port = uri("https://management.azure.com:8443/x");
    assert_eq!(admit(&orig, &[], &other_port), Admission::Refused);
    let allowed = [AllowedOrigin::parse("https://ops.example").unwrap()];
    let ops = uri("https://ops.example/x");
    assert_eq!(
        admit(&orig, &allowed, &ops),
        Admission::Allowed { credentials: false }
    );
}

#[test]
fn every_credential_header_is_stripped() {
    let mut h = HeaderMap::new();
    for name in CREDENTIALS {
        h.insert(name, HeaderValue::from_static("secret"));
    }
    h.insert("x-goog-api-key", HeaderValue::from_static("AIza"));
    h.insert("x-ms-client-request-id", HeaderValue::from_static("id"));
    strip_credentials(&mut h);
    let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
    assert_eq!(left, ["x-ms-client-request-id"]);
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
            proptest::prop_assert!(matches!(t.uri.scheme_str(), Some("http" | "https")));
            proptest::prop_assert!(t.uri.authority().is_some());
        }
    }
}
