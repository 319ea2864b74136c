//! Any text given as an export manifest ends in a checked manifest or a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = passerelle::continuity::parse_manifest(&String::from_utf8_lossy(data));
});
