//! Fuzz target `canon_network`: network (CIDR) canonicalization is total and idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::canon(&["network", "ipv4_network", "ipv6_network"], data);
});
