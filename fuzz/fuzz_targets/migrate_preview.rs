//! Migrate preview of a one-file repository: scan, plan (the second byte picks the strategy),
//! rewrite, verify and diff. Nothing may panic.
#![no_main]

use depriv_fuzz::{one_file, preview_one, strategy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&s, rest)) = data.split_first() else {
        return;
    };
    let Some((name, text)) = one_file(rest) else {
        return;
    };
    preview_one(name, text, strategy(s));
});
