//! Fuzz target `map_json_value`: one JSON value through `normalize` with the feodotracker spec or a synthetic JSON spec.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::map_record("json_value", data);
});
