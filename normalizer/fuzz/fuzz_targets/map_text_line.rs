//! Fuzz target `map_text_line`: one text line through `normalize` with the openphish spec or a synthetic domain spec.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::map_record("text_line", data);
});
