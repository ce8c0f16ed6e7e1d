#![no_main]
//! Fuzz target `viewer_headers`: see `impressio::fuzzing::viewer_headers`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::viewer_headers(data));
