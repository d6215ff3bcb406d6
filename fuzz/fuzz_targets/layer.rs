#![no_main]
//! The whole layer against a scripted server, under virtual time: the model-based harness of
//! `tests/model.rs`, fed by the fuzzer instead of proptest. Every input runs the case, then the
//! runs its checks derive from it (invariant 9 stops and resumes the case).

use libfuzzer_sys::fuzz_target;

// The harness's other entry points (the legacy decoder, strict readings, statistics) serve
// `tests/model.rs`.
#[allow(dead_code)]
#[path = "../../tests/model/mod.rs"]
mod model;

fuzz_target!(|data: &[u8]| {
    static HOOK: std::sync::Once = std::sync::Once::new();
    // libfuzzer-sys's hook aborts on any panic, before the harness can name the invariant
    // (or skip invariant 1 under MODEL_ONLY); libfuzzer-sys still aborts on what escapes run().
    HOOK.call_once(|| drop(std::panic::take_hook()));
    model::run(data);
});
