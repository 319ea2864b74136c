//! Any bytes given to the scan parser end in a value or a reason, never a panic; a parsed token
//! re-encodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(issuer::scan::Scanned::Code(code)) = issuer::scan::parse(&text) {
        assert_eq!(issuer::code::VoucherCode::parse_typed(&code.display()), Ok(code));
    }
});
