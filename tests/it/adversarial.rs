//! Hostile input: broken YAML, alias bombs, deep nesting, oversized and non-UTF-8 files,
//! include cycles, symlinks out of the root. Each gives a diagnostic or a clean scan of the
//! rest, never a panic or a hang.

use crate::support::{hits, scan_files, write_tree};
use depriv::config::Config;
use depriv::finding::DiagLevel;

#[test]
fn alias_bomb_costs_nothing() {
    let mut s = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, c) in "bcdefghi".chars().enumerate() {
        let prev = (b'a' + i as u8) as char;
        s.push_str(&format!(
            "{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    s.push_str("job:\n  <<: {x: *i}\n  services: [docker:dind]\n  script: *i\n");
    let r = scan_files(&[(".gitlab-ci.yml", s.as_str())]);
    assert_eq!(hits(&r), vec!["privileged-dind@.gitlab-ci.yml:12"]);
}

#[test]
fn alias_bomb_in_chart_values_costs_nothing() {
    // Every level references the one below nine times; a JSON 6902 operation and an embedded
    // values string sit at the bottom. Each node is read once, at its anchor.
    let mut s = String::from(
        "a: &a\n  - op: add\n    path: /spec/securityContext/privileged\n    value: true\n  - values: |\n      x:\n        securityContext:\n          privileged: true\n",
    );
    for (i, c) in "bcdefghi".chars().enumerate() {
        let prev = (b'a' + i as u8) as char;
        s.push_str(&format!(
            "{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    s.push_str("securityContext:\n  seccompProfile:\n    type: Unconfined\nall: *i\n");
    let start = std::time::Instant::now();
    let r = scan_files(&[("values.yaml", s.as_str())]);
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
    assert_eq!(
        hits(&r),
        vec![
            "privileged-container@values.yaml:4",
            "privileged-container@values.yaml:8",
            "seccomp-unconfined@values.yaml:19"
        ]
    );
}

#[test]
fn deep_nesting_is_a_diagnostic() {
    let flow = format!("x: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let block = format!("x:\n{}a\n", "- ".repeat(10_000));
    let map: String = (0..3_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    for text in [flow, block, map] {
        let r = scan_files(&[
            (".gitlab-ci.yml", text.as_str()),
            (
                "docker-compose.yml",
                "services:\n  a:\n    privileged: true\n",
            ),
        ]);
        assert_eq!(hits(&r), vec!["privileged-container@docker-compose.yml:3"]);
        assert!(
            r.diagnostics
                .iter()
                .any(|d| d.path == ".gitlab-ci.yml" && d.level == DiagLevel::Error),
            "{:?}",
            r.diagnostics
        );
    }
}

#[test]
fn broken_files_of_every_format_give_positions() {
    let r = scan_files(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  a: {runs-on: x\n",
        ),
        (
            "config.toml",
            "[[runners]]\nname = \"x\"\n[runners.docker]\nprivileged = true\nvolumes = [\"/var/run/docker.sock:/x\" // hi\n",
        ),
        ("daemon.json", "{\"hosts\": [\"tcp://0.0.0.0:2375\",]\n"),
        (
            "Jenkinsfile",
            "pipeline { agent { docker { image 'docker:dind'\n args '--privileged' } }\n stages { stage('a') { steps { sh 'unterminated\n",
        ),
        ("build.sh", "docker run --privileged \"unterminated\n"),
    ]);
    for p in [
        ".github/workflows/ci.yml",
        "config.toml",
        "daemon.json",
        "Jenkinsfile",
        "build.sh",
    ] {
        let d = r
            .diagnostics
            .iter()
            .find(|d| d.path == p)
            .unwrap_or_else(|| panic!("no diagnostic for {p}: {:?}", r.diagnostics));
        assert!(d.line > 0, "{p}: {d:?}");
    }
    // The tolerant TOML reading still finds the runner's privileged flag.
    assert!(
        hits(&r).contains(&"privileged-runner@config.toml:4".to_string()),
        "{:?}",
        hits(&r)
    );
}

#[test]
fn oversized_non_utf8_and_symlinks_on_disk() {
    let dir = tempfile::tempdir().expect("tmp");
    let big = vec![b'#'; 20 * 1024 * 1024];
    write_tree(
        dir.path(),
        &[
            ("big/.gitlab-ci.yml", &big),
            (
                "bin/docker-compose.yml",
                b"services:\n  a:\n    image: \xff\xfe\n",
            ),
            (
                "ok/docker-compose.yml",
                b"services:\n  a:\n    privileged: true\n",
            ),
        ],
    );
    let outside = tempfile::tempdir().expect("tmp");
    write_tree(
        outside.path(),
        &[(
            "docker-compose.yml",
            b"services:\n  a:\n    privileged: true\n",
        )],
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).expect("symlink");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("docker-compose.yml"),
        dir.path().join("compose.yml"),
    )
    .expect("symlink");
    let r = depriv::scan::scan_dir(dir.path(), ".", &Config::default());
    assert_eq!(
        hits(&r),
        vec!["privileged-container@ok/docker-compose.yml:3"]
    );
    let big_d = r
        .diagnostics
        .iter()
        .find(|d| d.path == "big/.gitlab-ci.yml")
        .expect("big file diagnostic");
    assert!(big_d.message.contains("larger than 10 MiB"));
    let utf = r
        .diagnostics
        .iter()
        .find(|d| d.path == "bin/docker-compose.yml")
        .expect("utf8 diagnostic");
    assert!(utf.message.contains("UTF-8"));
    assert_eq!((utf.line, utf.column), (3, 12));
}

#[test]
fn gitignore_is_honoured() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(
        dir.path(),
        &[
            (".gitignore", b"build/\n"),
            (
                "build/docker-compose.yml",
                b"services:\n  a:\n    privileged: true\n",
            ),
            ("docker-compose.yml", b"services:\n  a:\n    image: x\n"),
        ],
    );
    let r = depriv::scan::scan_dir(dir.path(), ".", &Config::default());
    assert!(hits(&r).is_empty());
    assert_eq!(r.files_scanned, 1);
}

#[test]
fn random_prefixes_never_panic() {
    let samples = [
        ".gitlab-ci.yml",
        "docker-compose.yml",
        ".github/workflows/ci.yml",
        "Jenkinsfile",
        "config.toml",
        "daemon.json",
        "build.sh",
        "pod.yaml",
    ];
    let text = "a:\n  services:\n    - name: docker:dind\n      command: ['--tls=false']\n  script:\n    - |\n      docker run --privileged \\\n        -v /var/run/docker.sock:/s img\n  variables: {DOCKER_TLS_CERTDIR: ''}\n";
    for cut in 0..text.len() {
        if !text.is_char_boundary(cut) {
            continue;
        }
        for p in samples {
            let _ = scan_files(&[(p, &text[..cut])]);
        }
    }
}

#[test]
fn helm_template_lines_that_do_not_parse_are_skipped_with_a_note() {
    let r = scan_files(&[(
        "chart/templates/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {{ include \"l\" . }}\n    app: x\nspec:\n  containers:\n  - name: dind\n    image: docker:29-dind\n    securityContext:\n      privileged: true\n",
    )]);
    assert_eq!(
        hits(&r),
        vec!["privileged-dind@chart/templates/pod.yaml:11"]
    );
    assert_eq!(r.diagnostics.len(), 1, "{:?}", r.diagnostics);
    let d = &r.diagnostics[0];
    assert_eq!(d.level, DiagLevel::Note);
    assert_eq!(d.line, 5);
    assert!(d.message.contains("template: 1 line(s)"), "{}", d.message);
    assert!(!r.has_errors());
}

#[test]
fn helm_templates_are_read_with_their_actions_left_out() {
    let r = scan_files(&[
        (
            "chart/templates/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      {{- range .Values.containers }}\n      - name: {{ .name }}\n        securityContext:\n          privileged: true\n      {{- end }}\n",
        ),
        (
            "chart/templates/pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{{ .Release.Name }}\"\nspec:\n  containers:\n  - name: dind\n    image: docker:29-dind\n    securityContext:\n      privileged: true\n",
        ),
    ]);
    // The `range` template is read with its actions left out: its privileged flag is found.
    assert_eq!(
        hits(&r),
        vec![
            "privileged-container@chart/templates/deploy.yaml:10",
            "privileged-dind@chart/templates/pod.yaml:10"
        ]
    );
    // Read as a whole with its actions left out: nothing to say about it.
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert!(!r.has_errors());
}
