//! Fuzzes `vigie_model::decode`: it must never panic, every refusal carries a reason and a
//! detail, and what it accepts survives `Detection::to_json` and a second decode unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vigie_fuzz::decode_detection(data);
});
