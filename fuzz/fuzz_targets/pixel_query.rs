#![no_main]
//! Fuzz target `pixel_query`: see `impressio::fuzzing::pixel_query`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::pixel_query(data));
