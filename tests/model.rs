//! Model-based fuzzing of the whole layer through tower (harness in `tests/model/`; the
//! cargo-fuzz target `layer` runs the same harness).
//!
//! `MODEL_CASES=N` sets the number of cases, `MODEL_INPUT=<hex>` replays one input
//! (`MODEL_INPUT=v1:<hex>` with the legacy decoder), and `MODEL_ONLY=3,5b` checks only the
//! listed invariants (forged-token cases: `f3`..., or `7` for all of them).

#[path = "model/mod.rs"]
mod model;

use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn whole_layer_keeps_its_invariants(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        model::run(&bytes);
    }
}

/// Runs an input given as hex: `v1:<hex>` with the legacy decoder (the palettes the finding
/// was made with), plain hex with today's.
fn run_hex(input: &str) {
    let (legacy, text) = match input.strip_prefix("v1:") {
        Some(text) => (true, text),
        None => (false, input),
    };
    let bytes: Vec<u8> = (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    if legacy {
        model::run_legacy(&bytes);
    } else {
        model::run(&bytes);
    }
}

/// Replays `MODEL_INPUT` (hex), e.g. a fuzzer's finding.
#[test]
fn replay_input() {
    let Ok(text) = std::env::var("MODEL_INPUT") else {
        return;
    };
    run_hex(text.trim());
}

/// Minimal inputs that broke an invariant before the code that keeps it (invariant, hex input):
/// regression tests of the fuzzer's findings. `v1:` inputs were found with the first decoder
/// and replay with it (`Case::decode_legacy`), so that they stay the cases they were.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    // PUT 202 + same-origin AAO, then 429 with a 23-digit Retry-After, max_interval
    // Duration::MAX: `total_wait += delay` overflows.
    (
        "1",
        "v1:0000000400000000000000000002000000000000000000002d010504",
    ),
    // max_duration 2 s, PUT 202 + AAO, then the first poll never answers: hangs for good.
    (
        "3",
        "v1:0001000000000000000000000002000003000000000000000000000000be",
    ),
    // PUT 202 whose AAO is https://evil.example: CrossOriginPollingUrl keeps no status,
    // headers or body.
    ("5b", "v1:00000000000000000000000000010000000065"),
    // Forged token with original_uri https://management.azure.com:8443/ops/10 and url /ops/1:
    // resume polls https://management.azure.com:8443/ops/1.
    ("7", "v1:000000000000000000000000e0001f03"),
    // Found by the fuzzer: a forged token whose original URI `http::Uri` takes (non-ASCII
    // bytes) resumes to its final GET of that URI; the error's token names it again, and
    // resuming that token refused it as malformed.
    (
        "5",
        "v1:ffff100000000000720000fcffffc900020072c900020072727261020072c900020072ff5372726169",
    ),
    // Forged token with polls 4294967295: `polls += 1` overflows.
    (
        "7",
        "v1:000000000000000000000000e0000000000000040100000300000000000000000101",
    ),
];

/// Inputs that break the strict reading of an invariant against `src/` as it is: findings
/// reported, not fixed here (strict reading, hex input, minimized). The default readings leave
/// them out, so that the fuzzer goes on; `MODEL_STRICT=A MODEL_INPUT=<hex> cargo test --test
/// model replay_input` replays one.
const OPEN_FINDINGS: &[(&str, &str)] = &[
    // A (invariant 9): resuming caps the token's wait at `max_interval`, which caps only hints
    // in a live run. PUT 202 + Location, max_interval 1 s, a 202 without a hint, then 200: the
    // uninterrupted run waits 1 s then 2 s (the schedule's step); resumed from the report
    // before the second poll (wait_ms 2000), it waits 1 s.
    ("A", "000000e2000000000000550000000000020000000d"),
    // B (invariant 9): a token does not carry the transient answers in a row. OData (PUT with
    // respond-async, 202 + Location), max_transient_retries 1, a 429 then a 408: PollFailed;
    // resumed from the report after the 429, the run takes the 408 as its first transient
    // answer, polls again and resolves Ok.
    (
        "B",
        "0000200000000000c0201d0000000000636c000000008b0000000000004a",
    ),
    // C (invariant 12): a PUT's 202 with Azure-AsyncOperation and Content-Type
    // text/event-stream is polled (and its final GET's 200 returned, with LroInfo, 1 s later),
    // where behaviour §5 says such a first response "reaches the caller at once".
    ("12", "00000000000000000000000000000000013b0000470000000049"),
    // D (invariant 10): PUT 202 whose Azure-AsyncOperation and Location are both
    // https://user:SEKRET3a@ops.example.net/ops/14 (allowed without credentials), its body
    // Succeeded (row 2, no poll), final_state_via Location: the final GET goes to that URL
    // without credentials, and the progress report before it shows it raw as monitor_url()
    // (the monitor was never polled, so it is not marked as credential-free).
    (
        "D",
        "00000000000000c70000002000000000195b0000044d0000546edc000000000038",
    ),
];

/// The open findings still fail their strict reading, and only it (when one passes, `src/`
/// keeps it now: move its reading to the default). Ignored: they are `src/`'s to fix.
#[test]
#[ignore]
fn open_findings_still_fail() {
    let hex = |input: &str| -> Vec<u8> {
        (0..input.len() / 2)
            .map(|i| u8::from_str_radix(&input[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    };
    let passing: Vec<_> = OPEN_FINDINGS
        .iter()
        .filter(|(which, input)| {
            std::panic::catch_unwind(|| model::run_strict(which, &hex(input))).is_ok()
        })
        .collect();
    assert!(passing.is_empty(), "passing now: {passing:?}");
    let failing: Vec<_> = OPEN_FINDINGS
        .iter()
        .filter(|(_, input)| std::panic::catch_unwind(|| model::run(&hex(input))).is_err())
        .collect();
    assert!(
        failing.is_empty(),
        "failing the default readings: {failing:?}"
    );
}

/// Each finding, replayed.
#[test]
fn known_failures_hold_now() {
    let failing: Vec<_> = KNOWN_FAILURES
        .iter()
        .filter(|(_, input)| std::panic::catch_unwind(|| run_hex(input)).is_err())
        .collect();
    assert!(failing.is_empty(), "still failing: {failing:?}");
}

/// With `MODEL_STATS` set, runs `MODEL_CASES` pseudo-random inputs and prints how often each
/// check found something to check (to tune the decoder's palettes). With `MODEL_SEEDS=<dir>`
/// too, writes there the first input that gave each count, as fuzzing seeds.
#[test]
fn stats() {
    if std::env::var_os("MODEL_STATS").is_none() {
        return;
    }
    let seeds = std::env::var_os("MODEL_SEEDS").map(std::path::PathBuf::from);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for n in 0..cases() {
        let len = (n % 400) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let before = model::stats();
        model::run(&bytes);
        if let Some(dir) = &seeds {
            for (what, _) in model::stats() {
                if !before.iter().any(|(w, _)| *w == what) {
                    let name: String = what
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                        .collect();
                    std::fs::write(dir.join(name), &bytes).expect("a seed written");
                }
            }
        }
    }
    let stats = model::stats();
    for (what, n) in stats {
        eprintln!("{n:>8}  {what}");
    }
}
