#![no_main]
//! Retry hints: any bytes in any of the three headers, one value or several.

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for (i, part) in data.split(|b| *b == b'\n').enumerate() {
        let Ok(value) = HeaderValue::from_bytes(part) else { continue };
        let name = ["retry-after", "retry-after-ms", "x-ms-retry-after-ms"][i % 3];
        headers.append(name, value);
    }
    if let Some(delay) = tower_lro::fuzzing::retry_after(&headers) {
        assert!(!delay.is_zero(), "a zero hint must count as none");
    }
});
