//! Fuzz target `frame_csv`: a body through the csv framing, whole and streamed in random chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_fetchers_fuzz::frame("csv", data);
});
