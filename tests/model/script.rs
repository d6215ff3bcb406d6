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
struct Reader<'a> {
    bytes: &'a [u8],
    /// The dialects the case turns on (`GOOGLE`...): their documents are likelier.
    hints: Vec<u8>,
    /// Decode as the first version of the decoder did (the palettes' first entries only, no
    /// new choices): the findings kept in `tests/model.rs` replay the cases they were found as.
    legacy: bool,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((first, rest)) => {
                self.bytes = rest;
                *first
            }
            None => 0,
        }
    }

    fn pick<T: Clone>(&mut self, palette: &[T]) -> T {
        palette[usize::from(self.byte()) % palette.len()].clone()
    }

    /// A pick from `palette`, of its first `legacy` entries in legacy decoding.
    fn pick_new<T: Clone>(&mut self, palette: &[T], legacy: usize) -> T {
        let len = if self.legacy { legacy } else { palette.len() };
        palette[usize::from(self.byte()) % len].clone()
    }

    /// A byte for a choice the legacy decoder did not make (then 0, and nothing consumed).
    fn new_byte(&mut self) -> u8 {
        if self.legacy {
            0
        } else {
            self.byte()
        }
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
    /// The scripted host read as Microsoft Fabric's (its 202 + `x-ms-operation-id` rules).
    pub fabric: bool,
    /// Fabric polls its `Location` on its cluster hosts (`fabric_follow_location`).
    pub fabric_follow: bool,
    /// Compute operations poll with `POST …/operations/{name}/wait` (`google_compute_wait`).
    pub compute_wait: bool,
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
    /// Whether `token` must parse (`Some(true)`), must be refused as text (`Some(false)`), or
    /// may go either way.
    pub token_parses: Option<bool>,
    /// One answer per request, in order; `fallback` answers the rest.
    pub script: Vec<Answer>,
    pub fallback: Answer,
    /// Where the resume-equivalence check stops the run (an index among its stop points).
    pub stop: u8,
    /// Stop with `max_polls` (the error's token) rather than take a progress report's token.
    pub stop_by_polls: bool,
    /// Per-request options (`LroOptions`): `final_state_via` and `inline_result`, which a
    /// resume token must carry (behaviour §7).
    pub options: Option<(Option<FinalStateVia>, bool)>,
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

    /// The value of the first header `name` the reply carries (the one `HeaderMap::get`
    /// returns).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.0.as_slice())
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

/// The palettes plant secrets (`SEKRET` and a tag: in URLs' queries and userinfo, in a first
/// body), beside the original request's own (`sig=SECRET` in its URL, its credential headers):
/// no shown text may hold one (behaviour, "Secrets in URLs"; §5 on error text).
pub fn secrets_in(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for marker in ["SEKRET", "SECRET"] {
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            let word = &rest[at..];
            let len = word
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(word.len());
            found.push(&word[..len]);
            rest = &word[len..];
        }
    }
    found
}

impl Case {
    /// Total: any bytes decode to some case.
    pub fn decode(bytes: &[u8]) -> Case {
        Case::decode_with(Reader {
            bytes,
            hints: Vec::new(),
            legacy: false,
        })
    }

    /// As the first version of the decoder read `bytes`: for the findings kept as regression
    /// inputs (`v1:` in `tests/model.rs`), whose meaning must not drift with the palettes.
    pub fn decode_legacy(bytes: &[u8]) -> Case {
        Case::decode_with(Reader {
            bytes,
            hints: Vec::new(),
            legacy: true,
        })
    }

    fn decode_with(mut reader: Reader<'_>) -> Case {
        let r = &mut reader;
        let config = Config {
            // Zero (refused by `build()`) rarer than in the legacy palettes.
            max_polls: r.pick_new(
                &[
                    None,
                    Some(0),
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(5),
                    Some(10),
                    None,
                    None,
                    Some(4),
                    None,
                ],
                7,
            ),
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
            inspection_cap: r.pick_new(
                &[
                    None,
                    Some(16),
                    Some(64),
                    Some(0),
                    None,
                    None,
                    Some(64),
                    None,
                ],
                4,
            ),
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
            fabric: false,
            fabric_follow: false,
            compute_wait: false,
        };
        let flags = r.byte();
        let more = r.new_byte();
        let config = Config {
            strict: flags & 1 != 0,
            add_api_version: flags & 2 != 0,
            any_404_after_delete: flags & 4 != 0,
            // In the new decoder each of these dialects claims a case in four, so that Azure's
            // own Location monitors (which they would claim) stay frequent.
            google: flags & 16 != 0,
            graph: flags & 32 != 0 && (r.legacy || more & 16 != 0),
            respond_async: flags & 64 != 0 && (r.legacy || more & 32 != 0),
            fabric: more & 1 != 0 && more & 64 != 0,
            compute_wait: more & 2 != 0,
            fabric_follow: more & 4 != 0,
            ..config
        };
        let stop_by_polls = more & 8 != 0;
        for (on, hint) in [
            (true, AZURE),
            (config.google, GOOGLE),
            (config.graph, GRAPH),
            (config.fabric, FABRIC),
            (config.respond_async, ODATA),
        ] {
            if on && !r.legacy {
                r.hints.push(hint);
            }
        }
        let stop = r.new_byte();
        let options = match r.new_byte() {
            b if b >= 64 || r.legacy => None,
            b => Some((
                [
                    None,
                    Some(FinalStateVia::Location),
                    Some(FinalStateVia::OriginalUri),
                    Some(FinalStateVia::AzureAsyncOperation),
                    Some(FinalStateVia::OperationLocation),
                ][usize::from(b >> 1) % 5],
                b & 1 != 0,
            )),
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
        let (token, token_parses) = match r.byte().checked_sub(224) {
            None => (None, None),
            Some(_) if r.legacy => {
                let (text, parses) = forged_token_v1(r);
                (Some(text), Some(parses))
            }
            Some(_) => {
                let (text, parses) = forged_token(r);
                (Some(text), parses)
            }
        };
        let script = (0..r.byte() % 12).map(|i| answer(r, i == 0)).collect();
        Case {
            config,
            method,
            extra_credential,
            drop_after,
            token,
            token_parses,
            script,
            fallback,
            stop,
            stop_by_polls,
            options,
        }
    }
}

const GOOGLE: u8 = 0;
const GRAPH: u8 = 1;
const FABRIC: u8 = 2;
const ODATA: u8 = 3;
const AZURE: u8 = 4;

/// Graph's monitors: drive monitors on other hosts (with `tempauth=`), a Teams
/// version-relative one, one on Graph's own host, and an http drive monitor (refused).
const GRAPH_MONITORS: &[&str] = &[
    "https://contoso.sharepoint.com/_api/v2.1/drives/d/items/i/monitor?tempauth=SEKRET2d",
    "https://api.onedrive.com/monitor/m3?tempauth=SEKRET2o",
    "https://drive.example.org/monitor/m2?tempauth=SEKRET2x",
    "/teams('t1')/operations('o1')",
    "/v1/operations/g1",
    "http://contoso.sharepoint.com/monitor?tempauth=SEKRET2h",
];

/// A first answer in the shape of a dialect the case turns on (its recognition rule, dialects
/// §1.1), three times in four; `None` for the generic first answer.
fn dialect_start(r: &mut Reader<'_>) -> Option<Answer> {
    if r.hints.is_empty() {
        return None;
    }
    let choice = r.byte();
    if choice % 4 == 3 {
        return None;
    }
    let hint = r.hints[usize::from(choice / 4) % r.hints.len()];
    let mut headers: Vec<(&'static str, Blob)> = Vec::new();
    let (status, body) = match hint {
        GOOGLE => (
            200,
            r.pick(&[
                r#"{"name":"operations/op1","done":false,"metadata":{"@type":"m.T"}}"#,
                r#"{"name":"operations/op1"}"#,
                r#"{"kind":"compute#operation","name":"op1","status":"RUNNING","selfLink":"https://www.googleapis.com/v1/operations/op1"}"#,
                r#"{"name":"operations/op1","done":true,"response":{"@type":"r.T","x":1}}"#,
            ]),
        ),
        GRAPH => {
            let location = match r.byte() % 8 {
                n @ 0..=5 => GRAPH_MONITORS[usize::from(n)].as_bytes().to_vec(),
                _ => r.url(),
            };
            headers.push(("location", Blob(location)));
            (202, r.pick(&["", r#"{"newPassword":"SEKRET4"}"#, "{}"]))
        }
        FABRIC => {
            headers.push((
                "x-ms-operation-id",
                Blob(r.pick(&OPERATION_IDS[..4]).as_bytes().to_vec()),
            ));
            if r.byte() % 2 == 0 {
                let location = match r.byte() % 2 {
                    0 => url_from(28, false),
                    _ => r.url(),
                };
                headers.push(("location", Blob(location)));
            }
            (202, "")
        }
        ODATA => {
            headers.push(("location", Blob(r.url())));
            (202, "")
        }
        // Azure's monitors: a Location (whose redirect completes the operation), or a
        // status monitor.
        _ => {
            let name = r.pick(&["location", "location", "azure-asyncoperation", "operation-location"]);
            headers.push((name, Blob(r.url())));
            (202, "")
        }
    };
    if r.byte() % 2 == 0 {
        headers.push(("retry-after", Blob(r.pick(HINTS).as_bytes().to_vec())));
    }
    Some(Answer::Respond(Reply {
        status,
        headers,
        body: Blob(body.as_bytes().to_vec()),
        chunk: 0,
        end: End::Complete,
    }))
}

/// One answer; the `first` one is likelier to start an operation.
fn answer(r: &mut Reader<'_>, first: bool) -> Answer {
    if first {
        if let Some(answer) = dialect_start(r) {
            return answer;
        }
    }
    match r.byte() % 16 {
        13 => return Answer::Fail,
        14 => return Answer::Hang,
        _ => {}
    }
    let status = match r.byte() {
        s if first && s % 8 < 6 => [202, 202, 202, 201, 200, 201][usize::from(s % 8)],
        any @ 240.. => 100 + (u16::from(any) * 31 + u16::from(r.byte())) % 500,
        // Weighted towards the statuses that start or continue an operation.
        s => {
            let len = if r.legacy { 16 } else { STATUSES.len() };
            STATUSES[usize::from(s) % len]
        }
    };
    let mut headers: Vec<(&'static str, Blob)> = (0..r.byte() % 5 + u8::from(first))
        .map(|_| {
            let name = r.pick_new(
                &[
                    "azure-asyncoperation",
                    "operation-location",
                    "location",
                    "azure-asyncoperation",
                    "location",
                    "retry-after",
                    "retry-after-ms",
                    "x-ms-retry-after-ms",
                    // Fabric's operation id, a first response's type (an event stream that
                    // must reach the caller at once), OData's result status.
                    "x-ms-operation-id",
                    "content-type",
                    "asyncresult",
                    "location",
                ],
                8,
            );
            let value = match name {
                "x-ms-operation-id" => r.pick(OPERATION_IDS).as_bytes().to_vec(),
                "content-type" => r.pick(CONTENT_TYPES).as_bytes().to_vec(),
                "asyncresult" => r
                    .pick(&["200", "201", "204", "400", "500", " 202 ", "abc"])
                    .as_bytes()
                    .to_vec(),
                name if name.contains("retry") => r.pick(HINTS).as_bytes().to_vec(),
                _ => r.url(),
            };
            (name, Blob(value))
        })
        .collect();
    // A redirect mostly names its target (behaviour, "Redirects from a status endpoint").
    let redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
    if redirect && !r.legacy && !headers.iter().any(|(n, _)| *n == "location") && r.byte() % 4 != 0
    {
        let target = r.url();
        headers.push(("location", Blob(target)));
    }
    // One first response in eight is an event stream (behaviour §5: never held).
    if first && r.new_byte() % 8 == 1 {
        headers.push(("content-type", Blob(b"text/event-stream".to_vec())));
    }
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

/// Fabric's operation ids: UUIDs (either case), and values that are none.
const OPERATION_IDS: &[&str] = &[
    "0b3c5d2e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
    "0B3C5D2E-1F2A-4B3C-8D4E-5F6A7B8C9D0E",
    " 0b3c5d2e-1f2a-4b3c-8d4e-5f6a7b8c9d0f ",
    "not-a-uuid",
    "0b3c5d2e-1f2a-4b3c-8d4e-5f6a7b8c9d0",
    "../../x?sig=SEKRET1i",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "text/event-stream",
    "application/http",
    "text/plain",
    "application/problem+json; charset=utf-8",
    "TEXT/EVENT-STREAM; charset=utf-8",
];

/// Weighted towards the statuses that start or continue an operation (the legacy decoder's
/// first 16), then the redirects that complete a Location monitor's operation.
const STATUSES: [u16; 21] = [
    202, 202, 202, 200, 200, 201, 201, 204, 303, 400, 404, 408, 409, 429, 500, 503, 301, 302, 307,
    308, 303,
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

/// How many entries the hostile URL palette had in the legacy decoder, and has now.
const URLS_LEGACY: u8 = 22;
const URLS: u8 = 35;

/// The usable URLs: same origin absolute, relative, with :443, the resource itself, the
/// allow-listed host (the legacy decoder's six); then URLs holding secrets (a SAS `sig=` on
/// the original and the allow-listed origin, userinfo, Graph's drive monitors with `tempauth=`),
/// Compute's `…/wait`, a Teams version-relative monitor, a Fabric cluster host.
const USABLE: [u8; 17] = [
    0, 1, 2, 4, 21, 7, 22, 23, 24, 25, 26, 27, 28, 29, 31, 33, 34,
];

impl Reader<'_> {
    /// Monitor and result URLs: half of them usable, the other half drawn from a hostile
    /// palette.
    fn url(&mut self) -> Vec<u8> {
        let i = self.byte();
        if i % 2 == 0 {
            let usable = if self.legacy { &USABLE[..6] } else { &USABLE };
            return url_from(usable[usize::from(i / 2) % usable.len()], self.legacy);
        }
        url_from(i / 2, self.legacy)
    }
}

fn url_from(i: u8, legacy: bool) -> Vec<u8> {
    let text = match i % if legacy { URLS_LEGACY } else { URLS } {
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
        21 => "https://management.azure.com/v1/subscriptions/s/providers/P/things/t1",
        22 => "https://management.azure.com/ops/12?sig=SEKRET1s&api-version=2024-01-01",
        23 => "https://ops.example.net/ops/13?sig=SEKRET1a",
        24 => "https://user:SEKRET3a@ops.example.net/ops/14",
        // Graph's drive monitors (dialects, Microsoft Graph): admitted without credentials.
        25 => "https://contoso.sharepoint.com/_api/v2.1/drives/d/items/i/monitor?tempauth=SEKRET2d",
        26 => "https://management.azure.com/v1/operations/op1/wait",
        27 => "/teams('t1')/operations('o1')",
        28 => "https://wabi-west-us-redirect.analysis.windows.net/v1/operations/0b3c5d2e-1f2a-4b3c-8d4e-5f6a7b8c9d0e?sig=SEKRET1f",
        29 => "https://drive.example.org/monitor/m2?tempauth=SEKRET2x",
        30 => "http://contoso.sharepoint.com/monitor?tempauth=SEKRET2h",
        31 => "https://user:SEKRET3s@management.azure.com/ops/15",
        32 => "https://contoso.sharepoint.com.evil.example/m?tempauth=SEKRET2e",
        33 => "/ops/16?tempauth=SEKRET2r&sig=SEKRET1r",
        _ => "https://api.onedrive.com/monitor/m3?tempauth=SEKRET2o",
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
    // Graph's and Fabric's own words.
    r#""deleteFailed""#,
    r#""Undefined""#,
    r#""NotStarted""#,
    r#""Cancelled""#,
];
const WORDS_LEGACY: usize = 14;

fn body(r: &mut Reader<'_>) -> Vec<u8> {
    // Status documents are the likeliest.
    let kind = match r.byte() % if r.legacy { 16 } else { 24 } {
        // The documents of a dialect the case turns on.
        21.. if !r.hints.is_empty() => {
            let at = usize::from(r.byte()) % r.hints.len();
            let hint = r.hints[at];
            return dialect_document(r, hint);
        }
        13..=15 | 21.. => 1,
        kind => kind,
    };
    let word = r.pick_new(WORDS, WORDS_LEGACY);
    let text = match kind {
        0 => String::new(),
        1 => format!(r#"{{"status":{word}}}"#),
        2 => format!(r#"{{"properties":{{"provisioningState":{word}}}}}"#),
        3 => {
            let location = r.pick_new(
                &[
                    r#""https://management.azure.com/things/r1""#,
                    r#""https://evil.example/r""#,
                    r#""/things/r2""#,
                    "7",
                    r#""https://ops.example.net/r""#,
                    r#""http://management.azure.com/r""#,
                    r#""https://ops.example.net/r?sig=SEKRET1b""#,
                    r#""/things/r3?sig=SEKRET1c&api-version=1""#,
                    r#""https://contoso.sharepoint.com/r?tempauth=SEKRET2b""#,
                ],
                6,
            );
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
            let ps = r.pick_new(WORDS, WORDS_LEGACY);
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
        12 => r#"{"code":"Conflict","message":"top-level"}"#.into(),
        // A first response that may be the result, holding a secret (Graph's resetPassword).
        16 => r#"{"newPassword":"SEKRET4"}"#.into(),
        // Fabric's states and result errors.
        17 => r
            .pick(&[
                r#"{"status":"Succeeded","percentComplete":100}"#,
                r#"{"status":"Running","percentComplete":40}"#,
                r#"{"status":"Undefined"}"#,
                r#"{"status":"Failed","error":{"errorCode":"E1","message":"failed"}}"#,
                r#"{"errorCode":"OperationHasNoResult","message":"none"}"#,
                r#"{"errorCode":"ItemNotFound","message":"gone"}"#,
            ])
            .into(),
        // Graph's monitor documents.
        18 => r
            .pick(&[
                r#"{"status":"completed","resourceLocation":"https://management.azure.com/v1/items/i2"}"#,
                r#"{"status":"completed","resourceId":"i2"}"#,
                r#"{"status":"failed","error":{"code":"nameAlreadyExists","message":"taken"}}"#,
                r#"{"status":"inProgress","percentageComplete":5}"#,
                r#"{"status":"succeeded","targetResourceLocation":"/teams('t2')"}"#,
                r#"{"status":"deleteFailed","statusDetail":"locked"}"#,
            ])
            .into(),
        // OData's embedded responses (`application/http`).
        19 => r
            .pick(&[
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{\"id\":1}",
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{\"error\":{\"code\":\"bad\",\"message\":\"no\"}}",
                "HTTP/1.1 200 OK\r\n\r\n",
                "HTTP/2 200\r\n\r\n",
            ])
            .into(),
        // A result larger than any monitor body cap the cases set (but the default).
        _ => format!(r#"{{"status":"Succeeded","value":"{}"}}"#, "v".repeat(4096)),
    };
    text.into_bytes()
}

/// A poll answer's body in a dialect's shape.
fn dialect_document(r: &mut Reader<'_>, hint: u8) -> Vec<u8> {
    let text = match hint {
        GOOGLE => r.pick(&[
            r#"{"name":"operations/op1","done":false}"#,
            r#"{"name":"operations/op1","done":true,"response":{"@type":"r.T","x":1}}"#,
            r#"{"name":"operations/op1","done":true,"error":{"code":7,"message":"denied"}}"#,
            r#"{"name":"operations/op1","done":true}"#,
            r#"{"kind":"compute#operation","name":"op1","status":"RUNNING","selfLink":"https://www.googleapis.com/v1/operations/op1"}"#,
            r#"{"kind":"compute#operation","name":"op1","status":"DONE","selfLink":"https://www.googleapis.com/v1/operations/op1","targetLink":"https://www.googleapis.com/v1/projects/p/instances/i"}"#,
        ]),
        GRAPH => r.pick(&[
            r#"{"status":"inProgress","percentageComplete":5}"#,
            r#"{"status":"completed","resourceLocation":"https://management.azure.com/v1/items/i2"}"#,
            r#"{"status":"completed","resourceLocation":"https://contoso.sharepoint.com/r?tempauth=SEKRET2b"}"#,
            r#"{"status":"completed"}"#,
            r#"{"status":"failed","error":{"code":"nameAlreadyExists","message":"taken"}}"#,
        ]),
        FABRIC => r.pick(&[
            r#"{"status":"Running","percentComplete":40}"#,
            r#"{"status":"Succeeded","percentComplete":100}"#,
            r#"{"status":"Failed","error":{"errorCode":"E1","message":"failed"}}"#,
            r#"{"errorCode":"OperationHasNoResult","message":"none"}"#,
            r#"{"id":"item1","displayName":"created"}"#,
        ]),
        AZURE => r.pick(&[
            r#"{"status":"InProgress"}"#,
            // A TypeSpec action's result (`inline_result`).
            r#"{"status":"Succeeded","result":{"value":[1,2]}}"#,
            r#"{"status":"Succeeded","resourceLocation":"/things/r3?sig=SEKRET1c&api-version=1"}"#,
            r#"{"properties":{"provisioningState":"Succeeded"}}"#,
            "",
        ]),
        _ => r.pick(&[
            "",
            r#"{"id":1,"result":"created"}"#,
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{\"id\":1}",
        ]),
    };
    text.as_bytes().to_vec()
}

/// A resume token's JSON text with hostile URLs and counts mixed in, as the legacy decoder
/// wrote it (format version 1 fields), and whether it parses.
fn forged_token_v1(r: &mut Reader<'_>) -> (String, bool) {
    let method = r.pick(&["PUT", "POST", "DELETE", "PATCH", "GET", "BREW"]);
    // Half the time the genuine original URL, so that forged tokens get past the first checks.
    let any_url = |r: &mut Reader<'_>| match r.byte() {
        b if b % 2 == 0 => ORIGINAL.to_owned(),
        b => String::from_utf8_lossy(&url_from(b / 2, true)).into_owned(),
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
    let (version, parses) = r.pick(&[
        (r#""version":1,"#, true),
        (r#""version":2,"#, true),
        (r#""version":0,"#, false),
        ("", false),
    ]);
    let text = format!(
        r#"{{{version}"method":"{method}","original_uri":{},"monitor":"{monitor}","url":{},"location":{location},"final_get":{final_get},"polls":{polls}}}"#,
        json_string(&original_uri),
        json_string(&url),
    );
    (text, parses)
}

/// A resume token of format version 2 with every field drawn (behaviour §7: a token is data
/// from outside): hostile URLs, any dialect and monitor, mismatched dialect state, POST polls,
/// waits and schedule steps of any size, kept responses; and whether it parses (`None`: either
/// way is right). One token in six is spoiled in one way the format refuses.
fn forged_token(r: &mut Reader<'_>) -> (String, Option<bool>) {
    let mut members: Vec<String> = Vec::new();
    let mut state: Vec<String> = Vec::new();
    // Which way the token is spoiled, if it is.
    let spoil = match r.byte() {
        s if s < 43 => Some(s % 7),
        _ => None,
    };
    let method = r.pick(&["PUT", "POST", "DELETE", "PATCH", "GET", "BREW", "PUT"]);
    members.push(format!(r#""method":"{method}""#));
    // Often the genuine original URL, so that forged tokens get past the first checks.
    let any_url = |r: &mut Reader<'_>| match r.byte() {
        b if b % 4 != 1 => ORIGINAL.to_owned(),
        b => String::from_utf8_lossy(&url_from(b / 4, false)).into_owned(),
    };
    // Dialect and monitor: mostly a pair that belongs together, else any pair.
    const PAIRS: &[(Option<&str>, &str)] = &[
        (Some("azure"), "azure-async-operation"),
        (None, "operation-location"),
        (Some("azure"), "location"),
        (Some("azure"), "provisioning-state"),
        (Some("google-aip-151"), "google-operation"),
        (Some("google-discovery"), "google-discovery-operation"),
        (Some("graph"), "graph-monitor"),
        (Some("fabric"), "fabric-operation"),
        (Some("odata"), "o-data-monitor"),
        (Some("custom"), "custom"),
    ];
    let pair = r.byte();
    let (dialect, mut monitor) = PAIRS[usize::from(pair % 10)];
    if pair >= 200 {
        monitor = PAIRS[usize::from(r.byte() % 10)].1;
    }
    // The URL to request next: the original, a usable or any URL, or one the token's dialect
    // polls (a Fabric cluster host, a Graph drive monitor, Compute's `…/wait`).
    let next_url = |r: &mut Reader<'_>| match r.byte() % 5 {
        0 => ORIGINAL.to_owned(),
        1 => String::from_utf8_lossy(&r.url()).into_owned(),
        2 => {
            let own: &[u8] = match dialect {
                Some("fabric") => &[28, 28, 0],
                Some("graph") => &[25, 29, 34, 27, 30],
                Some("google-discovery") => &[26],
                _ => &[0, 1, 22],
            };
            let at = usize::from(r.byte()) % own.len();
            String::from_utf8_lossy(&url_from(own[at], false)).into_owned()
        }
        _ => String::from_utf8_lossy(&url_from(r.byte(), false)).into_owned(),
    };
    let original_uri = any_url(r);
    members.push(format!(r#""original_uri":{}"#, json_string(&original_uri)));
    let url = next_url(r);
    members.push(format!(r#""url":{}"#, json_string(&url)));
    let location = match r.byte() % 3 {
        0 => "null".to_owned(),
        _ => json_string(&next_url(r)),
    };
    members.push(format!(r#""location":{location}"#));
    if spoil == Some(0) {
        monitor = "odata";
    }
    members.push(format!(r#""monitor":"{monitor}""#));
    match (dialect, spoil) {
        (_, Some(1)) => members.push(r#""dialect":"klingon""#.into()),
        (Some(dialect), _) => members.push(format!(r#""dialect":"{dialect}""#)),
        (None, _) => {}
    }
    members.push(format!(r#""final_get":{}"#, r.byte() % 2 == 1));
    members.push(format!(
        r#""polls":{}"#,
        r.pick(&[0u32, 1, 7, u32::MAX - 1, u32::MAX])
    ));
    let flags = r.byte();
    // Mostly only the state the token's dialect has (behaviour §7: else it is refused), else
    // any dialect's state at all.
    let consistent = flags < 160;
    let variant = if consistent {
        match dialect {
            Some("google-aip-151" | "google-discovery") => "google",
            Some(d @ ("graph" | "fabric" | "odata" | "custom")) => d,
            _ => "",
        }
    } else {
        r.pick(&["google", "graph", "fabric", "odata", "custom", ""])
    };
    if flags & 1 != 0 && flags & 8 != 0 {
        members.push(r#""origin_form":true"#.into());
    }
    let name = r.pick(&[
        "operations/op1",
        "0b3c5d2e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
        "op1",
        "operations/../x",
    ]);
    let fields = r.byte();
    let more = r.byte();
    // The machine's state: each member drawn or left out.
    if fields & 1 != 0 {
        let wait = r.pick(&[0u64, 1, 999, 1000, 30_000, 3_600_000, u64::MAX]);
        state.push(format!(r#""wait_ms":{wait}"#));
    }
    if fields & 2 != 0 {
        let step = r.pick(&[0u32, 1, 5, 40, u32::MAX]);
        state.push(format!(r#""schedule_step":{step}"#));
    }
    if more & 16 != 0 {
        let row = r.pick(&[0u32, 1, 3, u32::MAX]);
        state.push(format!(r#""transient_in_row":{row}"#));
    }
    if fields & 4 != 0 {
        state.push(r#""location_unusable":true"#.into());
    }
    // The dialect's own state, in its own shape (`"dialect_state": {"graph": {...}}`).
    let kept = match spoil {
        Some(2) => r.pick(&[
            r#"{"headers":[["x-a",[255,0]]],"body":[255,254,0]}"#,
            r#"{"headers":[["bad name","x"]],"body":""}"#,
        ]),
        _ => r.pick(&[
            r#"{"headers":[["content-type","application/json"],["x-ms-request-id","r1"]],"body":"{\"newPassword\":\"SEKRET4\"}"}"#,
            r#"{"headers":[],"body":"{\"status\":\"Succeeded\"}"}"#,
            r#"{"headers":[],"body":[123,125]}"#,
        ]),
    };
    let mut own: Vec<String> = Vec::new();
    match variant {
        "google" => {
            if flags & 4 != 0 {
                own.push(format!(r#""name":"{name}""#));
            }
            if flags & 2 != 0 {
                own.push(r#""poll_post":true"#.into());
            }
            if fields & 16 != 0 {
                own.push(r#""metadata_type":"m.T","response_type":"r.T""#.into());
            }
            if fields & 32 != 0 {
                own.push(r#""result_missing":true"#.into());
            }
            if fields & 64 != 0 {
                let link = r.pick(&[
                    "https://www.googleapis.com/v1/projects/p/zones/z/instances/i",
                    "https://evil.example/v1/x?sig=SEKRET1t",
                ]);
                own.push(format!(r#""target_link":"{link}""#));
            }
        }
        "graph" if fields & 8 != 0 || spoil == Some(2) => own.push(format!(r#""first":{kept}"#)),
        "fabric" => {
            own.push(format!(r#""id":"{name}""#));
            if fields & 8 != 0 || spoil == Some(2) {
                own.push(format!(r#""succeeded":{kept}"#));
            }
        }
        "odata" => own.push(format!(r#""dataverse":{}"#, fields & 128 != 0)),
        "custom" => {
            let custom = r.pick(&["actions", "nope"]);
            own.push(format!(r#""name":"{custom}","state":"{{}}""#));
        }
        _ => {}
    }
    let spoiled_kept = spoil == Some(2) && !matches!(variant, "graph" | "fabric");
    if spoiled_kept {
        // Keep the spoiled `kept` where the format reads it: a Graph first response.
        state.push(format!(r#""dialect_state":{{"graph":{{"first":{kept}}}}}"#));
    } else if !own.is_empty() || (variant == "graph" && more & 128 != 0) {
        state.push(format!(
            r#""dialect_state":{{"{variant}":{{{}}}}}"#,
            own.join(",")
        ));
    }
    if more & 1 != 0 || spoil == Some(3) {
        let via = match spoil {
            Some(3) => "sideways",
            _ => r.pick(&[
                "location",
                "original-uri",
                "azure-async-operation",
                "operation-location",
            ]),
        };
        state.push(format!(r#""final_state_via":"{via}""#));
    }
    if more & 2 != 0 {
        state.push(r#""inline_result":true"#.into());
    }
    if more & 4 != 0 {
        let word = r.pick(&["Running", "Succeeded", "completed", ""]);
        state.push(format!(r#""status":"{word}""#));
    }
    if spoil == Some(4) {
        // Not a member of the format's state.
        state.push(r#""surprise":1"#.into());
    }
    // A member whose value is its default (a zero count) is no state.
    let holds_state = state.iter().any(|m| !m.ends_with(":0"));
    let version = match spoil {
        Some(5) => r.pick(&[Some(0), Some(3), None]),
        // A version 1 token holds no state.
        Some(6) if holds_state => Some(1),
        Some(6) => None,
        _ if !holds_state && more & 64 != 0 => Some(1),
        _ => Some(2),
    };
    if let Some(version) = version {
        members.insert(0, format!(r#""version":{version}"#));
    }
    if !state.is_empty() || more & 32 != 0 {
        members.push(format!(r#""state":{{{}}}"#, state.join(",")));
    }
    let parses = Some(spoil.is_none());
    (format!("{{{}}}", members.join(",")), parses)
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
