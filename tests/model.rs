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
    // Found by the model fuzzer's resume equivalence (2026-12-07), fixed since: resuming
    // capped the token's wait at `max_interval`, which caps only hints in a live run.
    ("9", "000000e2000000000000550000000000020000000d"),
    // A token did not carry the transient answers in a row: a run resumed among them got a
    // fresh `max_transient_retries` (OData, a 429 then a 408).
    (
        "9",
        "0000200000000000c0201d0000000000636c000000008b0000000000004a",
    ),
    // A PUT's 202 with Azure-AsyncOperation typed text/event-stream was polled, not handed over
    // at once (behaviour §5).
    ("12", "00000000000000000000000000000000013b0000470000000049"),
    // A monitor on an origin allowed without credentials, never polled (the first response
    // already Succeeded), was shown raw by `monitor_url()`.
    (
        "10",
        "00000000000000c70000002000000000195b0000044d0000546edc000000000038",
    ),
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
