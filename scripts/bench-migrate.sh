#!/usr/bin/env bash
# Benchmark `depriv migrate --dry-run` against `depriv scan` on the same input: the generated
# monorepo (scripts/gen-monorepo.py) at N and 10 x N files, and one .gitlab-ci.yml of J and
# 10 x J identical jobs. The bar: planning costs at most 2x the scan, and 10x the input costs
# at most 11x the time.
#
# Usage: scripts/bench-migrate.sh [N] [--jobs J] [--runs R]
#   N         files in the smaller monorepo (default 10000; the larger one has 10 x N)
#   --jobs J  jobs in the smaller single-file case (default 400; the larger one has 10 x J)
#   --runs R  timed runs per command after one warm-up run (default 3)
# DEPRIV_BIN=path times that binary instead of building target/release/depriv. Trees are cached
# in $DEPRIV_BENCH_CACHE (default ${TMPDIR:-/tmp}/depriv-bench). Prints a markdown table.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n=10000
jobs=400
runs=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jobs) jobs="${2:?--jobs needs a number}"; shift ;;
    --runs) runs="${2:?--runs needs a number}"; shift ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *[!0-9]* | '') echo "error: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
    *) n="$1" ;;
  esac
  shift
done

log() { printf 'bench: %s\n' "$*" >&2; }
depriv="${DEPRIV_BIN:-}"
if [[ -z "$depriv" ]]; then
  log "cargo build --release"
  (cd "$repo" && cargo build --release >&2)
  depriv="${CARGO_TARGET_DIR:-$repo/target}/release/depriv"
fi

cache="${DEPRIV_BENCH_CACHE:-${TMPDIR:-/tmp}/depriv-bench}"
mkdir -p "$cache"
tree_for() { # monorepo of N files, generated once
  local dir="$cache/mono-$1"
  if [[ ! -f "$dir.ok" ]]; then
    log "generating $1 files into $dir"
    rm -rf "$dir" "$dir.tmp"
    python3 "$here/gen-monorepo.py" "$dir.tmp" --files "$1" >/dev/null
    mv "$dir.tmp" "$dir"
    touch "$dir.ok"
  fi
  printf '%s\n' "$dir"
}
jobs_for() { # one .gitlab-ci.yml of J identical dind jobs
  local dir="$cache/jobs-$1"
  if [[ ! -f "$dir/.gitlab-ci.yml" ]]; then
    mkdir -p "$dir"
    python3 - "$1" "$dir/.gitlab-ci.yml" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    for i in range(n):
        f.write(f"job{i}:\n  image: docker:27-cli\n  services:\n    - docker:27-dind\n"
                f"  variables:\n    DOCKER_HOST: tcp://docker:2375\n    DOCKER_TLS_CERTDIR: \"\"\n"
                f"  script:\n    - docker run --rm alpine echo {i}\n\n")
PY
  fi
  printf '%s\n' "$dir"
}

# median seconds of CMD over $runs runs after a warm-up (exit codes 0-3 are results)
median() {
  local i t0 t1 times=()
  for ((i = 0; i <= runs; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || [[ $? -le 3 ]]
    t1=$(date +%s%N)
    [[ $i -eq 0 ]] || times+=("$(((t1 - t0) / 1000000))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f\n", m / 1000 }'
}

rows=()
declare -A scan_t dry_t
one() { # one LABEL DIR
  local s d
  s="$(median "$depriv" scan "$2" --format json --fail-on never -o /dev/null)"
  d="$(median "$depriv" migrate --dry-run --allow-no-vcs "$2")"
  scan_t[$1]=$s
  dry_t[$1]=$d
  rows+=("| $1 | $s | $d | $(awk -v a="$d" -v b="$s" 'BEGIN { printf "%.2f", a / b }')x |")
  log "$1: scan $s s, migrate --dry-run $d s"
}
one "monorepo $n files" "$(tree_for "$n")"
one "monorepo $((n * 10)) files" "$(tree_for "$((n * 10))")"
one "one file, $jobs jobs" "$(jobs_for "$jobs")"
one "one file, $((jobs * 10)) jobs" "$(jobs_for "$((jobs * 10))")"

echo "### migrate --dry-run vs scan ($(nproc) CPUs, median of $runs runs after a warm-up)"
echo
echo "| input | scan s | migrate --dry-run s | dry-run / scan |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
g() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
echo "- monorepo x10: dry-run grows $(g "${dry_t["monorepo $((n * 10)) files"]}" "${dry_t["monorepo $n files"]}")x"
echo "- one file x10 jobs: dry-run grows $(g "${dry_t["one file, $((jobs * 10)) jobs"]}" "${dry_t["one file, $jobs jobs"]}")x"
