//! `docker` command parsing (scripts, Makefiles, `docker run` arguments) never panics and
//! reports spans inside the text.
#![no_main]

use depriv::source::docker_cmd;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let a = docker_cmd::analyze_script(src);
    let _ = format!("{a:?}");
    let _ = docker_cmd::analyze_makefile(src);
    for f in docker_cmd::analyze_run_args(src, Some("docker:dind")) {
        assert!(f.span.end <= src.len());
    }
    let _ = docker_cmd::is_daemon_image(src);
});
