//! Fuzz target `canon_x509`: X.509 certificate hash canonicalization is total and idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::canon(&["x509", "x509_sha1", "x509_sha256"], data);
});
