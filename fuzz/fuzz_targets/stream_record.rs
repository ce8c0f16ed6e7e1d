#![no_main]
//! Fuzz target `stream_record`: see `impressio::fuzzing::stream_record`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::stream_record(data));
