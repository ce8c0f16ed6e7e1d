#![no_main]
//! Fuzz target `cloudfront_event`: see `impressio::fuzzing::cloudfront_event`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::cloudfront_event(data));
