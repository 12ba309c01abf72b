//! Fuzz target `codec_decode`: arbitrary bytes decoded as a raw record and as an indicator, with
//! and without a valid single-object header in front.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::decode(data);
});
