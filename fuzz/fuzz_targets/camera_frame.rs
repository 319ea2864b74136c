//! Any bytes sent as a camera frame end in a QR code's text or a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = redeemer::camera::read_qr(data);
});
