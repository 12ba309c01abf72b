//! Fuzz target `frame_json`: a body through the json framing, whole and streamed in random chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_fetchers_fuzz::frame("json", data);
});
