#!/usr/bin/env bash
# Seed the cargo-fuzz corpora (fuzz/corpus/<target>/) from the rule fixtures and the demo.
# Corpora are not committed; this script recreates them. Idempotent.
#
# Input formats (see fuzz/src/lib.rs): yaml_tree, groovy, shell and docker_cmd take the file
# text; scan_file takes one byte choosing the file name, then the text; migrate_preview takes
# one byte choosing the strategy, one byte choosing the file name, then the text.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Must match depriv_fuzz::NAMES.
names=(".gitlab-ci.yml" ".github/workflows/ci.yml" "action.yml" "Jenkinsfile" "docker-compose.yml"
  "k8s/pod.yaml" "config.toml" "daemon.json" "build.sh" "Makefile" ".circleci/config.yml"
  "azure-pipelines.yml" ".gitlab/ci/build.yml")

# The NAMES index for a fixture path.
name_index() {
  local p=$1
  case "$p" in
    *.gitlab-ci.yml) echo 0 ;;
    */.github/workflows/*) echo 1 ;;
    */action.yml | */action.yaml) echo 2 ;;
    *Jenkinsfile* | *.groovy) echo 3 ;;
    *compose*.yml | *compose*.yaml) echo 4 ;;
    *.circleci/*) echo 10 ;;
    *azure-pipelines*) echo 11 ;;
    */.gitlab/*) echo 12 ;;
    *.yaml | *.yml) echo 5 ;;
    *.toml) echo 6 ;;
    *.json) echo 7 ;;
    *Makefile) echo 9 ;;
    *.sh) echo 8 ;;
    *) echo "" ;;
  esac
}

for t in yaml_tree groovy shell docker_cmd scan_file migrate_preview; do
  mkdir -p "fuzz/corpus/$t"
done

n=0
while IFS= read -r -d '' f; do
  idx=$(name_index "$f")
  [[ -n "$idx" ]] || continue
  [[ $(stat -c %s "$f") -le 65536 ]] || continue
  id=$(sha1sum "$f" | cut -c1-16)
  case "$idx" in
    3) cp "$f" "fuzz/corpus/groovy/$id" ;;
    8 | 9)
      cp "$f" "fuzz/corpus/shell/$id"
      cp "$f" "fuzz/corpus/docker_cmd/$id"
      ;;
    6 | 7) ;;
    *) cp "$f" "fuzz/corpus/yaml_tree/$id" ;;
  esac
  { printf "\\$(printf '%03o' "$idx")"; cat "$f"; } >"fuzz/corpus/scan_file/$id"
  { printf '\000'; printf "\\$(printf '%03o' "$idx")"; cat "$f"; } >"fuzz/corpus/migrate_preview/$id"
  n=$((n + 1))
done < <(find tests/fixtures assets/demo -type f -print0 | sort -z)

# Non-ASCII text where derived offsets land (the first crash these targets were written for).
repro='services:\n  - docker:dind\n    - echo "З\n'
printf "$repro" >fuzz/corpus/yaml_tree/non-ascii-end
{ printf '\000\000'; printf "$repro"; } >fuzz/corpus/migrate_preview/non-ascii-end
{ printf '\000'; printf "$repro"; } >fuzz/corpus/scan_file/non-ascii-end

# Shell steps inside CI files are docker_cmd input too.
cp fuzz/corpus/shell/* fuzz/corpus/docker_cmd/ 2>/dev/null || true
echo "seeded ${n} files into fuzz/corpus/ ($(printf '%s ' "${names[@]}" | wc -w) file names)"
