//! Fuzz target `frame_lines`: a body through the lines framing, whole and streamed in random chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_fetchers_fuzz::frame("lines", data);
});
