//! Test fixtures and vendored examples: files a repository keeps as data for its own tests
//! (`src/test/resources/…/Jenkinsfile`, `testdata/pod.yaml`, a Helm chart's `templates/tests/`)
//! or copies from elsewhere (`vendor/…/examples/`). They are scanned and reported, marked as
//! fixtures, but a migration leaves them alone unless asked (`--include-fixtures`,
//! `include-fixtures` in `.depriv.toml`): rewriting them would change what that project's
//! tests check, or diverge a vendored copy from its upstream.
//!
//! [`classify`] is the one place that decides; it reads the path only.

/// Directories whose contents are test data wherever they are.
const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "testdata",
    "test-data",
    "fixtures",
    "__fixtures__",
    "__tests__",
];

/// Directories that hold code copied from elsewhere.
const VENDOR_DIRS: &[&str] = &["vendor", "vendored", "third_party", "third-party"];

/// Directories of examples, which are fixtures when they belong to vendored code.
const EXAMPLE_DIRS: &[&str] = &["examples", "example"];

/// Why a file is a fixture, or `None` when it is not. `rel` is the path relative to the
/// repository root, `/`-separated.
///
/// - any file under a test directory (`test/`, `tests/`, `testdata/`, `src/test/`,
///   `fixtures/`, `__fixtures__/`, `__tests__/`), which includes a Helm chart's own
///   `templates/tests/`;
/// - a file under `examples/` of vendored code: `vendor/`, `third_party/`, or a chart's
///   `charts/<name>/` (a dependency `helm dependency update` unpacks).
pub fn classify(rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    // The last part is the file name: only directories count.
    let dirs = parts.split_last().map_or(&[][..], |(_, d)| d);
    let mut vendored: Option<String> = None;
    for (i, d) in dirs.iter().enumerate() {
        let lower = d.to_ascii_lowercase();
        let upto = || format!("{}/", dirs.get(..=i).unwrap_or_default().join("/"));
        if TEST_DIRS.contains(&lower.as_str()) {
            let what = if dirs.get(i + 1).is_some_and(|n| *n == "templates") || {
                i > 0 && dirs.get(i - 1).is_some_and(|p| *p == "templates")
            } {
                "a Helm chart's own tests"
            } else {
                "test data"
            };
            return Some(format!("{what} under `{}`", upto()));
        }
        if vendored.is_none() {
            if VENDOR_DIRS.contains(&lower.as_str()) {
                vendored = Some(upto());
            } else if lower == "charts" && dirs.get(i + 1).is_some() {
                vendored = Some(format!(
                    "{}{}/",
                    upto(),
                    dirs.get(i + 1).copied().unwrap_or_default()
                ));
            }
        } else if EXAMPLE_DIRS.contains(&lower.as_str()) {
            return Some(format!(
                "examples of vendored code under `{}`",
                vendored.unwrap_or_default()
            ));
        }
    }
    None
}

/// Whether a file is a fixture (see [`classify`]).
pub fn is_fixture(rel: &str) -> bool {
    classify(rel).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_directories_anywhere_are_fixtures() {
        for p in [
            "src/test/resources/org/example/plugin/Jenkinsfile",
            "test/docker-compose.yml",
            "tests/e2e/.gitlab-ci.yml",
            "pkg/runner/testdata/config.toml",
            "spec/fixtures/pod.yaml",
            "web/__fixtures__/compose.yml",
            "TESTS/Jenkinsfile",
        ] {
            assert!(is_fixture(p), "{p}");
        }
        assert_eq!(
            classify("src/test/resources/a/Jenkinsfile").as_deref(),
            Some("test data under `src/test/`")
        );
    }

    #[test]
    fn real_ci_files_are_not_fixtures() {
        for p in [
            ".gitlab-ci.yml",
            "Jenkinsfile",
            ".github/workflows/test.yml",
            "ci/tests.sh",
            "deploy/charts/app/values.yaml",
            "charts/app/templates/deployment.yaml",
            "examples/docker-compose.yml",
            "testing/compose.yml",
            "contest/Jenkinsfile",
            // A file named like a test directory is not one.
            "ci/test",
        ] {
            assert_eq!(classify(p), None, "{p}");
        }
    }

    #[test]
    fn helm_chart_tests_are_named_as_such() {
        assert_eq!(
            classify("charts/app/templates/tests/test-connection.yaml").as_deref(),
            Some("a Helm chart's own tests under `charts/app/templates/tests/`")
        );
    }

    #[test]
    fn examples_of_vendored_code_are_fixtures_own_examples_are_not() {
        assert_eq!(
            classify("vendor/github.com/acme/lib/examples/compose.yml").as_deref(),
            Some("examples of vendored code under `vendor/`")
        );
        assert_eq!(
            classify("third_party/tool/examples/pod.yaml").as_deref(),
            Some("examples of vendored code under `third_party/`")
        );
        assert_eq!(
            classify("charts/app/charts/redis/examples/values.yaml").as_deref(),
            Some("examples of vendored code under `charts/app/`")
        );
        assert_eq!(classify("vendor/lib/values.yaml"), None);
        assert_eq!(classify("examples/pod.yaml"), None);
    }
}
