#![no_main]
//! Fuzz target `webhook_secret`: see `impressio::fuzzing::webhook_secret`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| impressio::fuzzing::webhook_secret(data));
