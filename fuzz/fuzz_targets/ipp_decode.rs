//! Arbitrary bytes into the IPP decoder: it must never panic, and whatever it accepts must
//! encode and decode back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use printlab_ipp::{Limits, decode};

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
