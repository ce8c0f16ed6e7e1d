#![no_main]
//! Fuzz target `domainprint`: see `impressio::fuzzing::domainprint`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::domainprint(data));
