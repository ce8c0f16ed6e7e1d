#![no_main]
//! Fuzz target `track_payload`: see `impressio::fuzzing::track_payload`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::track_payload(data));
