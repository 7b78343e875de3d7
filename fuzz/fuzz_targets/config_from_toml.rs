//! Fuzzes `vigie_model::config::Config::from_toml`: it must never panic, and every error
//! points at a line of the text (or at none).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vigie_fuzz::config_from_toml(data);
});
