//! Model-based fuzzing of the whole layer through tower (harness in `tests/model/`; the
//! cargo-fuzz target `layer` runs the same harness).
//!
//! `MODEL_CASES=N` sets the number of cases, `MODEL_INPUT=<hex>` replays one input, and
//! `MODEL_ONLY=3,5b` checks only the listed invariants (forged-token cases: `f3`..., or `7` for
//! all of them).

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

/// Replays `MODEL_INPUT` (hex), e.g. a fuzzer's finding.
#[test]
fn replay_input() {
    let Ok(text) = std::env::var("MODEL_INPUT") else {
        return;
    };
    let bytes: Vec<u8> = (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    model::run(&bytes);
}

/// Minimal inputs that broke an invariant before the code that keeps it (invariant, hex input):
/// regression tests of the fuzzer's findings.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    // PUT 202 + same-origin AAO, then 429 with a 23-digit Retry-After, max_interval
    // Duration::MAX: `total_wait += delay` overflows.
    (
        "1",
        "0000000400000000000000000002000000000000000000002d010504",
    ),
    // max_duration 2 s, PUT 202 + AAO, then the first poll never answers: hangs for good.
    (
        "3",
        "0001000000000000000000000002000003000000000000000000000000be",
    ),
    // PUT 202 whose AAO is https://evil.example: CrossOriginPollingUrl keeps no status,
    // headers or body.
    ("5b", "00000000000000000000000000010000000065"),
    // Forged token with original_uri https://management.azure.com:8443/ops/10 and url /ops/1:
    // resume polls https://management.azure.com:8443/ops/1.
    ("7", "000000000000000000000000e0001f03"),
    // Found by the fuzzer: a forged token whose original URI `http::Uri` takes (non-ASCII
    // bytes) resumes to its final GET of that URI; the error's token names it again, and
    // resuming that token refused it as malformed.
    (
        "5",
        "ffff100000000000720000fcffffc900020072c900020072727261020072c900020072ff5372726169",
    ),
    // Forged token with polls 4294967295: `polls += 1` overflows.
    (
        "7",
        "000000000000000000000000e0000000000000040100000300000000000000000101",
    ),
];

/// Each finding, replayed.
#[test]
fn known_failures_hold_now() {
    let failing: Vec<_> = KNOWN_FAILURES
        .iter()
        .filter(|(_, input)| {
            let bytes: Vec<u8> = (0..input.len() / 2)
                .map(|i| u8::from_str_radix(&input[2 * i..2 * i + 2], 16).expect("hex"))
                .collect();
            std::panic::catch_unwind(|| model::run(&bytes)).is_err()
        })
        .collect();
    assert!(failing.is_empty(), "still failing: {failing:?}");
}
