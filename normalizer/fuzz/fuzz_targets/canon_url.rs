//! Fuzz target `canon_url`: URL canonicalization is total and idempotent, and its shortcut for
//! URLs already in canonical form agrees with the parser on every input.
#![no_main]

use iocflow_normalizer::canonical::url::{canonical_url, canonical_url_parsed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::canon(&["url"], data);
    let value = String::from_utf8_lossy(data);
    for keep in [true, false] {
        assert_eq!(
            canonical_url(&value, keep),
            canonical_url_parsed(&value, keep),
            "{value:?}"
        );
    }
});
