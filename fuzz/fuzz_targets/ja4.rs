#![no_main]
//! Fuzz target `ja4`: see `impressio::fuzzing::ja4_fingerprint`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::ja4_fingerprint(data));
