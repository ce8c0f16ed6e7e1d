#![no_main]
//! Fuzz target `collector_token`: see `impressio::fuzzing::collector_token`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::collector_token(data));
