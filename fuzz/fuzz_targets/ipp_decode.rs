//! Arbitrary bytes into the IPP decoder: it must never panic, and whatever it accepts must
//! encode and decode back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The codec's real source files, compiled here without the rest of printlab. They refer to
// each other as `super::…`, which at the crate root is this crate.
#[allow(dead_code)]
#[path = "../../src/ipp/codes.rs"]
mod codes;
#[allow(dead_code)]
#[path = "../../src/ipp/decode.rs"]
mod decode;
#[allow(dead_code)]
#[path = "../../src/ipp/encode.rs"]
mod encode;
#[allow(dead_code)]
#[path = "../../src/ipp/model.rs"]
mod model;

use decode::{Limits, decode};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok((message, used)) = decode(data, &limits) {
        assert!(used <= data.len());
        let bytes = message.to_bytes().expect("a decoded message re-encodes");
        let (again, again_used) = decode(&bytes, &limits).expect("a re-encoded message decodes");
        assert_eq!(again_used, bytes.len());
        assert_eq!(again, message);
    }
});
