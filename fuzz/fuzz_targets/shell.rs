//! The shell reader: commands, words and Makefile recipes; every span lies inside the text.
#![no_main]

use depriv::source::shell;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    for c in shell::commands(src) {
        assert!(c.span.start <= c.span.end && c.span.end <= src.len());
        for w in c.words.iter().chain(&c.assignments) {
            assert!(w.span.start <= w.span.end && w.span.end <= src.len());
        }
    }
    for w in shell::split_words(src) {
        assert!(w.span.end <= src.len());
    }
    for r in shell::makefile_recipes(src) {
        assert!(r.end <= src.len());
        let _ = shell::commands_in(src, r);
    }
    for r in shell::makefile_variable_values(src) {
        assert!(r.end <= src.len());
    }
});
