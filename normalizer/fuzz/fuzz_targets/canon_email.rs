//! Fuzz target `canon_email`: e-mail canonicalization is total and idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::canon(&["email"], data);
});
