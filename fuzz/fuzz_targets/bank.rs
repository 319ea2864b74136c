//! Bank details typed by people (IBAN, BIC): any text ends in a value or a reason; an accepted
//! IBAN prints in a form that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(iban) = text.parse::<redeemer::bank::Iban>() {
        assert_eq!(iban.as_str().parse::<redeemer::bank::Iban>().ok().as_ref(), Some(&iban));
    }
    let _ = text.parse::<redeemer::bank::Bic>();
});
