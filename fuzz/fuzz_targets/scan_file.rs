//! The whole scan of a one-file repository (the first byte picks the file name, so every
//! surface is reached): no panic, and every diagnostic and finding points inside the file.
#![no_main]

use depriv_fuzz::{one_file, scan_one};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((name, text)) = one_file(data) else {
        return;
    };
    let r = scan_one(name, text);
    let lines = text.split('\n').count();
    for d in &r.diagnostics {
        assert!(d.line <= lines.max(1), "{d:?}");
    }
    for f in &r.findings {
        assert!(f.line >= 1 && f.line <= lines.max(1), "{f:?}");
    }
});
