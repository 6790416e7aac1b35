#!/usr/bin/env bash
# Benchmark `depriv scan` against ripgrep on a synthetic monorepo (scripts/gen-monorepo.py).
#
# Usage: scripts/bench-scan.sh [N] [--scale] [--runs R] [--no-depriv]
#   N            about how many files in the tree (default 100000)
#   --scale      also run at 10 x N (about 5.5 GB of files at N=100000: slow to generate)
#   --runs R     timed runs per tool after one warm-up run (default 5)
#   --no-depriv  time only ripgrep (skips `cargo build --release`)
# DEPRIV_BIN=path times that binary instead of building target/release/depriv.
# Trees are cached in $DEPRIV_BENCH_CACHE (default ${TMPDIR:-/tmp}/depriv-bench), one per N,
# and regenerated when gen-monorepo.py changes. Progress goes to stderr; a markdown table of
# median / min / max wall time, peak RSS (/usr/bin/time -f %M) and the depriv/rg ratio to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

n=100000
scale=0
runs=5
with_depriv=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=1 ;;
    --runs)
      runs="${2:?--runs needs a number}"
      shift
      ;;
    --no-depriv) with_depriv=0 ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *[!0-9]* | '')
      echo "error: unexpected argument '$1' (see --help)" >&2
      exit 2
      ;;
    *) n="$1" ;;
  esac
  shift
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: --runs must be a positive number" >&2
  exit 2
fi

log() { printf 'bench: %s\n' "$*" >&2; }

# ---- tools ---------------------------------------------------------------------------------
apt_updated=0
ensure() { # ensure COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then sudo=(sudo -n); fi
  if [[ $apt_updated == 0 ]]; then
    "${sudo[@]}" apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
ensure rg ripgrep
ensure /usr/bin/time time
ensure git git

depriv=""
if [[ $with_depriv == 1 && -n "${DEPRIV_BIN:-}" ]]; then
  depriv="$DEPRIV_BIN"
elif [[ $with_depriv == 1 ]]; then
  log "cargo build --release"
  (cd "$repo" && cargo build --release >&2)
  depriv="${CARGO_TARGET_DIR:-$repo/target}/release/depriv"
  if [[ ! -x "$depriv" ]]; then
    echo "error: $depriv was not built" >&2
    exit 1
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ---- tree cache ----------------------------------------------------------------------------
cache="${DEPRIV_BENCH_CACHE:-${TMPDIR:-/tmp}/depriv-bench}"
gen_hash="$(sha256sum "$here/gen-monorepo.py" | cut -c1-16)"
tree_for() { # tree_for N -> prints the directory, generating it if needed
  local size="$1" dir="$cache/mono-$1"
  if [[ ! -f "$dir.ok" || "$(cat "$dir.ok")" != "$gen_hash" ]]; then
    log "generating $size files into $dir"
    rm -rf "$dir" "$dir.tmp" "$dir.ok"
    mkdir -p "$cache"
    python3 "$here/gen-monorepo.py" "$dir.tmp" --files "$size" >"$work/gen.json"
    mv "$dir.tmp" "$dir"
    printf '%s' "$gen_hash" >"$dir.ok"
  else
    log "reusing $dir"
  fi
  printf '%s\n' "$dir"
}

# ---- measurement ---------------------------------------------------------------------------
# measure LABEL OK_CODES CMD... : one warm-up run, then $runs timed runs.
# Sets: med min max (seconds), rss (MiB, the largest of the timed runs).
measure() {
  local label="$1" ok="$2"
  shift 2
  local i rc t0 t1 times=() peak=0 kb
  for ((i = 0; i <= runs; i++)); do
    t0=$(date +%s%N)
    rc=0
    /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>"$work/err" || rc=$?
    t1=$(date +%s%N)
    if [[ " $ok " != *" $rc "* ]]; then
      log "$label exited $rc:"
      cat "$work/err" >&2
      exit 1
    fi
    if [[ $i -eq 0 ]]; then continue; fi # warm-up
    times+=("$(((t1 - t0) / 1000000))")
    kb="$(tail -n1 "$work/rss")"
    if [[ "$kb" =~ ^[0-9]+$ ]] && ((kb > peak)); then peak=$kb; fi
    log "  $label run $i: $(((t1 - t0) / 1000000)) ms, ${kb} KiB"
  done
  read -r med min max < <(printf '%s\n' "${times[@]}" | sort -n | awk '
    { v[NR] = $1 }
    END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.3f %.3f %.3f\n", m / 1000, v[1] / 1000, v[NR] / 1000
    }')
  rss="$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')"
}

rows=()
ratios=()
bench_one() { # bench_one N
  local size="$1" dir files bytes note_d="" note_r
  dir="$(tree_for "$size")"
  read -r files bytes < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["files"], s["bytes"])' "$dir/.git/depriv-bench.json")
  local mb
  mb="$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }')"

  local d_med=""
  if [[ -n "$depriv" ]]; then
    # One untimed run to a file, to check what was found and that ignored trees were skipped.
    local rc=0
    "$depriv" scan "$dir" --format json --fail-on never -o "$work/scan.json" 2>"$work/err" || rc=$?
    if [[ $rc -ne 0 ]]; then
      log "depriv scan exited $rc:"
      cat "$work/err" >&2
      exit 1
    fi
    note_d="$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
f = r.get("findings", [])
bad = [x for x in f if "node_modules/" in x.get("path", "") or "target/" in x.get("path", "")]
files = len({x.get("path") for x in f})
msg = "%d findings in %d files, %s files scanned" % (len(f), files, r.get("files_scanned", "?"))
if bad:
    msg += "; %d IN IGNORED TREES" % len(bad)
print(msg)' "$work/scan.json")"
    log "depriv scan ($size files): $note_d"
    measure "depriv" "0" "$depriv" scan "$dir" --format json --fail-on never -o /dev/null
    d_med=$med
    rows+=("| $files | $mb | depriv scan | $med | $min | $max | $rss | $note_d |")
  fi

  note_r="$({ rg -l -e privileged -e docker.sock -e dind "$dir" || true; } | wc -l | tr -d ' ') files matched"
  measure "rg" "0 1" rg -l -e privileged -e docker.sock -e dind "$dir"
  rows+=("| $files | $mb | rg -l | $med | $min | $max | $rss | $note_r |")
  if [[ -n "$d_med" ]]; then
    ratios+=("$files files: depriv/rg = $(awk -v a="$d_med" -v b="$med" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')x")
  fi
}

bench_one "$n"
if [[ $scale == 1 ]]; then bench_one "$((n * 10))"; fi

echo "### depriv scan vs ripgrep ($(nproc) CPUs, $runs timed runs after a warm-up, warm page cache)"
echo
echo "| files | MiB | tool | median s | min s | max s | peak RSS MiB | result |"
echo "|---:|---:|---|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
if [[ ${#ratios[@]} -gt 0 ]]; then
  echo
  printf -- '- %s\n' "${ratios[@]}"
fi
echo
echo "depriv: \`scan DIR --format json --fail-on never -o /dev/null\`; rg: \`rg -l -e privileged -e docker.sock -e dind DIR\` (rg $(rg --version 2>/dev/null | head -n1 | cut -d' ' -f2))."
