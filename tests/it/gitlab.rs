//! GitLab CI resolution: includes (all forms, globs, cycles), extends (single, list,
//! multi-level), anchors and merge keys, `!reference`, `default:`, global keys, variables.

use crate::support::{hits, scan_files};

#[test]
fn finding_inherited_through_extends_and_include_points_at_the_definition() {
    let r = scan_files(&[
        (
            ".gitlab-ci.yml",
            "include:\n  - local: ci/templates.yml\nbuild:\n  extends: .docker\n  script: docker build -t a .\ntest:\n  extends: [.base, .docker]\n  script: docker run --rm a\n",
        ),
        (
            "ci/templates.yml",
            ".base:\n  image: alpine\n.docker:\n  image: docker:29-cli\n  services:\n    - name: docker:29-dind\n      alias: docker\n  variables:\n    DOCKER_TLS_CERTDIR: \"\"\n",
        ),
    ]);
    assert_eq!(
        hits(&r),
        vec![
            "privileged-dind@ci/templates.yml:6",
            "dind-tls-disabled@ci/templates.yml:9"
        ]
    );
    let f = &r.findings[0];
    assert_eq!(f.pipeline.as_deref(), Some("build"));
    assert_eq!(f.pipelines, vec![".docker", "build", "test"]);
    // build only builds; test runs containers: the union is what the definition serves.
    assert!(f.docker_usage.contains(&depriv::model::DockerUse::Run));
}

#[test]
fn include_forms_and_globs() {
    let r = scan_files(&[
        (
            ".gitlab-ci.yml",
            "include:\n  - 'ci/a.yml'\n  - local: /ci/jobs/*.yml\n  - project: group/x\n    file: y.yml\n  - remote: https://example.com/x.yml\n  - template: Security/SAST.gitlab-ci.yml\n",
        ),
        ("ci/a.yml", "a:\n  services: [docker:dind]\n  script: x\n"),
        (
            "ci/jobs/b.yml",
            "b:\n  services: [docker:dind]\n  script: x\n",
        ),
        (
            "ci/jobs/deeper/c.yml",
            "c:\n  services: [docker:dind]\n  script: x\n",
        ),
        (
            "ci/d.yml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n",
        ),
    ]);
    assert_eq!(
        hits(&r),
        vec![
            "privileged-dind@ci/a.yml:2",
            "privileged-dind@ci/jobs/b.yml:2"
        ]
    );
    let notes: Vec<&str> = r.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|m| m.contains("project include `group/x` is not followed")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|m| m.contains("remote include")));
    assert!(notes.iter().any(|m| m.contains("template include")));
}

#[test]
fn include_cycle_is_reported_and_terminates() {
    let r = scan_files(&[
        (
            ".gitlab-ci.yml",
            "include: ci/a.gitlab-ci.yml\njob:\n  services: [docker:dind]\n  script: x\n",
        ),
        ("ci/a.gitlab-ci.yml", "include: ci/b.gitlab-ci.yml\n"),
        (
            "ci/b.gitlab-ci.yml",
            "include:\n  - local: .gitlab-ci.yml\n",
        ),
    ]);
    assert_eq!(hits(&r), vec!["privileged-dind@.gitlab-ci.yml:3"]);
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.message.contains("include cycle")),
        "{:?}",
        r.diagnostics
    );
}

#[test]
fn anchors_merge_keys_and_reference() {
    let r = scan_files(&[(
        ".gitlab-ci.yml",
        ".dind: &dind\n  services:\n    - docker:24-dind\n.setup:\n  script:\n    - export DOCKER_HOST=tcp://docker:2375\nbuild:\n  <<: *dind\n  script:\n    - !reference [.setup, script]\n    - docker build .\n",
    )]);
    assert_eq!(
        hits(&r),
        vec![
            "privileged-dind@.gitlab-ci.yml:3",
            "plaintext-docker-daemon@.gitlab-ci.yml:6"
        ]
    );
    assert!(
        r.findings
            .iter()
            .all(|f| f.pipeline.as_deref() == Some("build"))
    );
}

#[test]
fn default_global_and_inherit() {
    let r = scan_files(&[(
        ".gitlab-ci.yml",
        "variables:\n  DOCKER_HOST: tcp://docker:2375\ndefault:\n  services: [docker:dind]\nlint:\n  inherit:\n    default: false\n    variables: false\n  script: make lint\nbuild:\n  script: docker build .\n",
    )]);
    assert_eq!(
        hits(&r),
        vec![
            "plaintext-docker-daemon@.gitlab-ci.yml:2",
            "privileged-dind@.gitlab-ci.yml:4"
        ]
    );
    for f in &r.findings {
        assert_eq!(f.pipeline.as_deref(), Some("build"));
    }
}

#[test]
fn inherit_lists_take_only_the_named_default_keys_and_variables() {
    // `inherit: default: [image]` keeps the default image and drops the default dind service;
    // `inherit: variables: [A]` drops DOCKER_HOST. Scan and rewrite read it with one resolver.
    let r = scan_files(&[(
        ".gitlab-ci.yml",
        "variables:\n  A: '1'\n  DOCKER_HOST: tcp://docker:2375\ndefault:\n  image: docker:29\n  services: [docker:dind]\nlint:\n  inherit:\n    default: [image]\n    variables: [A]\n  script: docker version\nbuild:\n  script: docker build .\n",
    )]);
    assert_eq!(
        hits(&r),
        vec![
            "plaintext-docker-daemon@.gitlab-ci.yml:3",
            "privileged-dind@.gitlab-ci.yml:6"
        ]
    );
    for f in &r.findings {
        assert_eq!(f.pipeline.as_deref(), Some("build"), "{f:?}");
        assert!(!f.pipelines.iter().any(|p| p == "lint"), "{f:?}");
    }
    let lint = depriv::scan::resolve_gitlab(
        &[(
            ".gitlab-ci.yml".to_string(),
            "default:\n  image: docker:29\n  services: [docker:dind]\nlint:\n  inherit:\n    default: [image]\n  script: x\n".to_string(),
        )]
        .into_iter()
        .collect(),
    )
    .into_iter()
    .find(|j| j.job.name == "lint")
    .expect("lint resolves");
    let images: Vec<&str> = lint
        .job
        .containers
        .iter()
        .filter_map(|c| c.image.as_ref().map(|i| i.v.as_str()))
        .collect();
    assert_eq!(images, ["docker:29"]);
}

#[test]
fn extends_cycle_and_unknown_parent_are_diagnostics() {
    let r = scan_files(&[(
        ".gitlab-ci.yml",
        "a:\n  extends: b\n  script: x\nb:\n  extends: a\n  script: y\nc:\n  extends: .missing\n  script: z\n",
    )]);
    let msgs: Vec<&str> = r.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(msgs.iter().any(|m| m.contains("cycle")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("no such job")), "{msgs:?}");
}

#[test]
fn variables_in_service_images_are_expanded() {
    let r = scan_files(&[(
        ".gitlab-ci.yml",
        "variables:\n  DIND: 29.6.2-dind\nservices:\n  - \"docker:${DIND}\"\nx:\n  script: docker info\n",
    )]);
    assert_eq!(hits(&r), vec!["privileged-dind@.gitlab-ci.yml:4"]);
}

#[test]
fn crlf_and_bom_give_editor_positions() {
    let r = scan_files(&[(
        ".gitlab-ci.yml",
        "\u{feff}build:\r\n  services:\r\n    - docker:dind\r\n  script: x\r\n",
    )]);
    assert_eq!(hits(&r), vec!["privileged-dind@.gitlab-ci.yml:3"]);
    assert_eq!(r.findings[0].column, 7);
    assert_eq!(r.findings[0].end_column, 18);
}

#[test]
fn job_image_dind_and_service_command_tls_false() {
    let r = scan_files(&[(
        "ci/x.gitlab-ci.yml",
        "t:\n  image: docker:dind\n  services:\n    - name: docker:dind\n      command: [\"--tls=false\"]\n  script: docker ps\n",
    )]);
    assert_eq!(
        hits(&r),
        vec![
            "privileged-dind@ci/x.gitlab-ci.yml:2",
            "privileged-dind@ci/x.gitlab-ci.yml:4",
            "dind-tls-disabled@ci/x.gitlab-ci.yml:5"
        ]
    );
}
