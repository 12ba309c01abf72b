//! Fuzz target `canon_hash`: hash canonicalization is total and idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::canon(&["hash", "md5", "sha1", "sha256", "sha512"], data);
});
