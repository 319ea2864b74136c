//! Any bytes given as a file of mediation places end in valid rows and errors by line, or in the
//! refusal of the whole file — never a panic; every error names a line of the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(checked) = redeemer::import::check_csv(data) {
        let lines = data.iter().filter(|b| **b == b'\n').count() as u64 + 2;
        assert!(checked.errors.iter().all(|e| e.line >= 2 && e.line <= lines));
    }
});
