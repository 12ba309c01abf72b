//! Fuzz target `map_csv_row`: one CSV row through `normalize` with the urlhaus spec or a synthetic CSV spec.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iocflow_normalizer_fuzz::map_record("csv_row", data);
});
