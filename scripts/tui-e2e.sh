#!/usr/bin/env bash
# Drive `depriv` in a real terminal (tmux) on a fresh copy of the demo repository and save text
# captures of the overview and the target picker in assets/screenshots/ (used by the README).
# The automated end-to-end tests are in tests/it/tui.rs: `cargo test --test it tui`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v tmux >/dev/null 2>&1 || { echo "error: tmux is required" >&2; exit 2; }
cargo build --quiet
bin="$PWD/target/debug/depriv"
work="$(mktemp -d)"
sock="depriv-e2e-$$"
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# `depriv demo` without a terminal prints where the copy is (and exits 1: it has findings).
repo="$( (TMPDIR="$work" "$bin" demo || true) | sed -n 's/^Demo repository: //p')"
[[ -d "$repo/.git" ]] || { echo "error: depriv demo did not create a repository" >&2; exit 1; }
tmux -L "$sock" -f /dev/null new-session -d -s main -x 100 -y 30 -c "$repo" \
  "NO_COLOR=1 '$bin' .; sleep 600"

keys() { tmux -L "$sock" send-keys -t main "$@"; sleep 0.2; }
wait_for() {
  for _ in $(seq 300); do
    if tmux -L "$sock" capture-pane -p -t main | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  echo "error: timed out waiting for: $1" >&2
  tmux -L "$sock" capture-pane -p -t main >&2
  exit 1
}
capture() {
  tmux -L "$sock" capture-pane -p -t main | sed -e 's/[[:space:]]*$//' > "$1"
  echo "wrote $1"
}

mkdir -p assets/screenshots
wait_for "Showing: all active findings"
capture assets/screenshots/overview.txt
keys Enter
wait_for "Where do the runners run?"
keys Enter
wait_for "Target for"
keys Tab                          # the second pipeline: runs containers, so some targets cannot work
wait_for "Pipelines 2/"
capture assets/screenshots/targets.txt
keys q
