//! The byte decoder: every byte string is a [`Case`], each byte a choice from a palette.
//! Running out of bytes reads zeros, so the first entry of each palette is its default.

use std::fmt;
use std::time::Duration;

use http::Method;
use tower_lro::FinalStateVia;

/// The original request's URL: its origin is the one every poll must stay on.
// The `/v1` segment gives Google's AIP-151 rules a version prefix to poll under.
pub const ORIGINAL: &str = "https://management.azure.com/v1/subscriptions/s/providers/P/things/t1?api-version=2024-01-01&sig=SECRET";
/// The origin a case may allow-list.
pub const ALLOWED: &str = "https://ops.example.net";

/// Hands out the input's bytes one choice at a time; zeros once they run out.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((first, rest)) => {
                self.0 = rest;
                *first
            }
            None => 0,
        }
    }

    fn pick<T: Clone>(&mut self, palette: &[T]) -> T {
        palette[usize::from(self.byte()) % palette.len()].clone()
    }
}

/// Bytes printed as a short escaped excerpt, so a case prints readably whatever it holds.
#[derive(Clone, PartialEq)]
pub struct Blob(pub Vec<u8>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.0[..self.0.len().min(72)];
        write!(f, "\"{}\"", shown.escape_ascii())?;
        if shown.len() < self.0.len() {
            write!(f, "...({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    None,
    Plain,
    WithCredentials,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub max_polls: Option<u32>,
    pub max_duration: Option<Duration>,
    pub max_transient_retries: u32,
    pub max_interval: Duration,
    pub monitor_body_cap: Option<usize>,
    pub inspection_cap: Option<usize>,
    pub strict: bool,
    pub add_api_version: bool,
    pub any_404_after_delete: bool,
    pub final_state_via: Option<FinalStateVia>,
    pub allow: Allow,
    /// Google's two dialects on, with the scripted host in their scope.
    pub google: bool,
    /// The scripted host read as Microsoft Graph's (its 202 + Location rules).
    pub graph: bool,
    /// The original request asks `Prefer: respond-async` (OData's rules).
    pub respond_async: bool,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub config: Config,
    pub method: Method,
    /// A credential header sent beside `authorization`.
    pub extra_credential: Option<&'static str>,
    /// Drop the future once it has been polled this many times.
    pub drop_after: Option<u32>,
    /// A forged resume token (JSON text) resumed instead of making the original call.
    pub token: Option<String>,
    /// One answer per request, in order; `fallback` answers the rest.
    pub script: Vec<Answer>,
    pub fallback: Answer,
}

#[derive(Debug, Clone)]
pub enum Answer {
    Respond(Reply),
    /// The inner service fails.
    Fail,
    /// The response never arrives.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, Blob)>,
    pub body: Blob,
    /// Frame size (0: one frame).
    pub chunk: usize,
    pub end: End,
}

/// How a body ends: whole, with an error, or stalled forever after some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Complete,
    ErrorAt(usize),
    StallAt(usize),
}

impl Reply {
    /// The bytes the server sends before the body ends, errors or stalls.
    pub fn delivered(&self) -> &[u8] {
        match self.end {
            End::Complete => &self.body.0,
            End::ErrorAt(cut) | End::StallAt(cut) => &self.body.0[..cut],
        }
    }
}

impl Answer {
    pub fn succeeded() -> Answer {
        Answer::Respond(Reply {
            status: 200,
            headers: Vec::new(),
            body: Blob(br#"{"status":"Succeeded"}"#.to_vec()),
            chunk: 0,
            end: End::Complete,
        })
    }

    fn not_found() -> Answer {
        Answer::Respond(Reply {
            status: 404,
            headers: Vec::new(),
            body: Blob(Vec::new()),
            chunk: 0,
            end: End::Complete,
        })
    }
}

const SECOND: Duration = Duration::from_secs(1);

impl Case {
    /// Total: any bytes decode to some case.
    pub fn decode(bytes: &[u8]) -> Case {
        let r = &mut Reader(bytes);
        let config = Config {
            max_polls: r.pick(&[None, Some(0), Some(1), Some(2), Some(3), Some(5), Some(10)]),
            max_duration: r.pick(&[
                None,
                Some(2 * SECOND),
                Some(5 * SECOND),
                Some(30 * SECOND),
                Some(120 * SECOND),
            ]),
            max_transient_retries: r.pick(&[3, 0, 1, 2, 4]),
            max_interval: r.pick(&[
                600 * SECOND,
                SECOND,
                60 * SECOND,
                3600 * SECOND,
                Duration::MAX,
            ]),
            monitor_body_cap: r.pick(&[None, Some(16), Some(64), Some(1)]),
            inspection_cap: r.pick(&[None, Some(16), Some(64), Some(0)]),
            final_state_via: r.pick(&[
                None,
                Some(FinalStateVia::Location),
                Some(FinalStateVia::OriginalUri),
                Some(FinalStateVia::AzureAsyncOperation),
                Some(FinalStateVia::OperationLocation),
            ]),
            allow: r.pick(&[Allow::None, Allow::Plain, Allow::WithCredentials]),
            strict: false,
            add_api_version: false,
            any_404_after_delete: false,
            google: false,
            graph: false,
            respond_async: false,
        };
        let flags = r.byte();
        let config = Config {
            strict: flags & 1 != 0,
            add_api_version: flags & 2 != 0,
            any_404_after_delete: flags & 4 != 0,
            google: flags & 16 != 0,
            graph: flags & 32 != 0,
            respond_async: flags & 64 != 0,
            ..config
        };
        let fallback = match flags & 8 {
            0 => Answer::succeeded(),
            _ => Answer::not_found(),
        };
        let method = r.pick(&[
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::GET,
        ]);
        let extra_credential = r.pick(&[
            None,
            Some("cookie"),
            Some("api-key"),
            Some("ocp-apim-subscription-key"),
            Some("x-ms-authorization-auxiliary"),
            Some("proxy-authorization"),
        ]);
        let drop_after = r.byte().checked_sub(192).map(|n| u32::from(n % 24));
        let token = r.byte().checked_sub(224).map(|_| forged_token(r));
        let script = (0..r.byte() % 12).map(|i| answer(r, i == 0)).collect();
        Case {
            config,
            method,
            extra_credential,
            drop_after,
            token,
            script,
            fallback,
        }
    }
}

/// One answer; the `first` one is likelier to start an operation.
fn answer(r: &mut Reader<'_>, first: bool) -> Answer {
    match r.byte() % 16 {
        13 => return Answer::Fail,
        14 => return Answer::Hang,
        _ => {}
    }
    let status = match r.byte() {
        s if first && s % 8 < 6 => [202, 202, 202, 201, 200, 201][usize::from(s % 8)],
        any @ 240.. => 100 + (u16::from(any) * 31 + u16::from(r.byte())) % 500,
        // Weighted towards the statuses that start or continue an operation.
        s => STATUSES[usize::from(s) % STATUSES.len()],
    };
    let headers = (0..r.byte() % 5 + u8::from(first))
        .map(|_| {
            let name = r.pick(&[
                "azure-asyncoperation",
                "operation-location",
                "location",
                "azure-asyncoperation",
                "location",
                "retry-after",
                "retry-after-ms",
                "x-ms-retry-after-ms",
            ]);
            let value = if name.contains("retry") {
                r.pick(HINTS).as_bytes().to_vec()
            } else {
                url(r.byte())
            };
            (name, Blob(value))
        })
        .collect();
    let body = body(r);
    let chunk = usize::from(r.byte());
    let end = match r.byte() % 16 {
        14 => End::ErrorAt(usize::from(r.byte()) * body.len() / 255),
        15 => End::StallAt(usize::from(r.byte()) * body.len() / 255),
        _ => End::Complete,
    };
    Answer::Respond(Reply {
        status,
        headers,
        body: Blob(body),
        chunk,
        end,
    })
}

/// Weighted towards the statuses that start or continue an operation.
const STATUSES: [u16; 16] = [
    202, 202, 202, 200, 200, 201, 201, 204, 303, 400, 404, 408, 409, 429, 500, 503,
];

const HINTS: &[&str] = &[
    "1",
    "0",
    "5",
    "-1",
    "99999999999999999999999",
    "18446744073709551615",
    "Wed, 21 Oct 2099 07:28:00 GMT",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "garbage",
    " 2 ",
    "600",
    "",
];

/// How many entries the hostile URL palette has.
const URLS: u8 = 22;

/// Monitor and result URLs: half of them usable, the other half drawn from a hostile palette.
fn url(i: u8) -> Vec<u8> {
    if i % 2 == 0 {
        // Same origin absolute, relative, with :443, the resource itself; the allow-listed host.
        return url_from([0, 1, 2, 4, 21, 7][usize::from(i / 2) % 6]);
    }
    url_from(i / 2)
}

fn url_from(i: u8) -> Vec<u8> {
    let text = match i % URLS {
        0 => "https://management.azure.com/ops/1?api-version=2024-01-01",
        1 => "/ops/1",
        2 => "ops/2",
        3 => "//management.azure.com/x",
        4 => "https://management.azure.com:443/ops/3",
        5 => "http://management.azure.com/ops/4",
        6 => "https://evil.example/ops/5",
        7 => "https://ops.example.net/ops/6",
        8 => "https://sub.ops.example.net/ops/7",
        9 => "https://management.azure.com@evil.example/x",
        10 => "https://management.azure.com/ops 8",
        11 => return format!("https://management.azure.com/{}", "a".repeat(5000)).into_bytes(),
        12 => return b"https://management.azure.com/\xff\xfe".to_vec(),
        13 => "",
        14 => "HTTPS://MANAGEMENT.AZURE.COM/ops/9",
        15 => "https://management.azure.com:8443/ops/10",
        16 => "http://ops.example.net/ops/11",
        17 => "//evil.example/x",
        18 => "https://management.azure.com./x",
        19 => "ftp://management.azure.com/x",
        20 => "https://[::1]/x",
        _ => "https://management.azure.com/v1/subscriptions/s/providers/P/things/t1",
    };
    text.as_bytes().to_vec()
}

/// Status words as JSON values (some not strings).
const WORDS: &[&str] = &[
    r#""Succeeded""#,
    r#""InProgress""#,
    r#""InProgress""#,
    r#""Running""#,
    r#""Failed""#,
    r#""Canceled""#,
    r#""Running""#,
    r#""inProgress""#,
    r#""completed""#,
    r#""Mystery""#,
    r#""""#,
    "42",
    "null",
    r#""succeeded""#,
];

fn body(r: &mut Reader<'_>) -> Vec<u8> {
    // Status documents are the likeliest.
    let kind = match r.byte() % 16 {
        13.. => 1,
        kind => kind,
    };
    let word = r.pick(WORDS);
    let text = match kind {
        0 => String::new(),
        1 => format!(r#"{{"status":{word}}}"#),
        2 => format!(r#"{{"properties":{{"provisioningState":{word}}}}}"#),
        3 => {
            let location = r.pick(&[
                r#""https://management.azure.com/things/r1""#,
                r#""https://evil.example/r""#,
                r#""/things/r2""#,
                "7",
                r#""https://ops.example.net/r""#,
                r#""http://management.azure.com/r""#,
            ]);
            format!(r#"{{"status":{word},"resourceLocation":{location}}}"#)
        }
        4 => r#"{"status":"Failed","error":{"code":"Conflict","message":"it broke"}}"#.into(),
        5 => "{}".into(),
        6 => "<html>not json</html>".into(),
        7 => format!(r#"{{"status":{}{}}}"#, "[".repeat(5000), "]".repeat(5000)),
        8 => {
            let pad = r.pick(&[100, 1_100_000]);
            format!(r#"{{"status":{word},"pad":"{}"}}"#, "x".repeat(pad))
        }
        9 => {
            let percent = r.pick(&["50", "-1", "1e308", r#""x""#]);
            format!(r#"{{"status":{word},"percentComplete":{percent}}}"#)
        }
        10 => {
            let ps = r.pick(WORDS);
            format!(r#"{{"status":{word},"properties":{{"provisioningState":{ps}}}}}"#)
        }
        11 => r
            .pick(&[
                "null",
                "[]",
                r#""Succeeded""#,
                "42",
                r#"{"status":"Succeeded""#,
                // Google's operations (read when the case turns the Google dialects on).
                r#"{"name":"operations/op1"}"#,
                r#"{"name":"operations/op1","done":false,"metadata":{"@type":"m.T"}}"#,
                r#"{"name":"operations/op1","done":true,"response":{"@type":"r.T","x":1}}"#,
                r#"{"name":"operations/op1","done":true,"error":{"code":1,"message":"CANCELLED"}}"#,
                r#"{"name":"operations/op2","done":true}"#,
                r#"{"kind":"compute#operation","name":"op1","status":"RUNNING","selfLink":"https://www.googleapis.com/v1/operations/op1"}"#,
                r#"{"kind":"compute#operation","name":"op1","status":"DONE","httpErrorStatusCode":403,"selfLink":"https://www.googleapis.com/v1/operations/op1"}"#,
                r#"{"kind":"compute#operation","name":"op1","status":2104194,"selfLink":"https://evil.example/v1/operations/op1"}"#,
                r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"3s"}]}}"#,
            ])
            .into(),
        _ => r#"{"code":"Conflict","message":"top-level"}"#.into(),
    };
    text.into_bytes()
}

/// A resume token's JSON text with hostile URLs and counts mixed in.
fn forged_token(r: &mut Reader<'_>) -> String {
    let method = r.pick(&["PUT", "POST", "DELETE", "PATCH", "GET", "BREW"]);
    // Half the time the genuine original URL, so that forged tokens get past the first checks.
    let any_url = |r: &mut Reader<'_>| match r.byte() {
        b if b % 2 == 0 => ORIGINAL.to_owned(),
        b => String::from_utf8_lossy(&url_from(b / 2)).into_owned(),
    };
    let original_uri = any_url(r);
    let url = any_url(r);
    let location = match r.byte() % 2 {
        0 => "null".to_owned(),
        _ => json_string(&any_url(r)),
    };
    let monitor = r.pick(&[
        "azure-async-operation",
        "operation-location",
        "location",
        "provisioning-state",
    ]);
    let final_get = r.byte() % 2 == 1;
    let polls = r.pick(&[0u32, 1, 7, u32::MAX - 1, u32::MAX]);
    // Mostly this build's format; sometimes another version, or none: refused when parsed.
    let version = r.pick(&[r#""version":1,"#, r#""version":2,"#, r#""version":0,"#, ""]);
    format!(
        r#"{{{version}"method":"{method}","original_uri":{},"monitor":"{monitor}","url":{},"location":{location},"final_get":{final_get},"polls":{polls}}}"#,
        json_string(&original_uri),
        json_string(&url),
    )
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
