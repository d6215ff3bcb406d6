#![no_main]
//! Header URL resolution and the origin rule: a base URI and a header value.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (base, raw) = text.split_once('\n').unwrap_or(("https://management.azure.com/s/rg?api-version=1", &text));
    tower_lro::fuzzing::resolve(base, raw);
});
