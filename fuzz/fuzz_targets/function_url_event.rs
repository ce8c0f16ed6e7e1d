#![no_main]
//! Fuzz target `function_url_event`: see `impressio::fuzzing::function_url_event`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::function_url_event(data));
