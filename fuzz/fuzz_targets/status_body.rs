#![no_main]
//! Status, provisioningState and error bodies: any bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tower_lro::fuzzing::status_body(data);
});
