#![no_main]

libfuzzer_sys::fuzz_target!(init: conclave_fuzz::one_thread(), |data: &[u8]| conclave_fuzz::mls_join::run(data));
