#!/usr/bin/env bash
# Validate SARIF files with the SARIF Multitool: the SARIF 2.1.0 schema and spec rules (Sarif) and
# GitHub code scanning ingestion rules (Gh). Prints every error- and warning-level result as
# `FILE:LINE:COL: LEVEL RULE: message`; exits 1 if any error-level result (or, with --strict,
# any warning), 2 if the tool itself fails, else 0.
#
# Usage: scripts/validate-sarif.sh [--strict] FILE...
# The Multitool is found at $SARIF_MULTITOOL, else $DEPRIV_VALIDATORS/bin/Sarif.Multitool
# (default DEPRIV_VALIDATORS: <repo>/target/validators), as installed by install-validators.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="${DEPRIV_VALIDATORS:-$here/../target/validators}"
multitool="${SARIF_MULTITOOL:-$tools/bin/Sarif.Multitool}"

strict=0
files=()
for arg in "$@"; do
  case "$arg" in
    --strict) strict=1 ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) files+=("$arg") ;;
  esac
done
if [[ ${#files[@]} -eq 0 ]]; then
  echo "usage: validate-sarif.sh [--strict] FILE..." >&2
  exit 2
fi
if [[ ! -x "$multitool" ]]; then
  echo "error: Sarif.Multitool not found at $multitool (run scripts/install-validators.sh)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
n=0
for file in "${files[@]}"; do
  n=$((n + 1))
  if [[ ! -f "$file" ]]; then
    echo "error: no such file: $file" >&2
    status=2
    continue
  fi
  abs="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
  out="$work/$n.sarif"
  # --log must come before the file: it takes a list and would swallow it.
  if ! "$multitool" validate --log ForceOverwrite --rule-kind "Gh;Sarif" --level "Error;Warning" --max-file-size-in-kb 1048576 \
    --output "$out" "$abs" >"$work/$n.console" 2>&1 || [[ ! -s "$out" ]]; then
    echo "error: Sarif.Multitool failed on $file:" >&2
    cat "$work/$n.console" >&2
    status=2
    continue
  fi
  # The Multitool exits 0 even when it reports errors: read its own SARIF output.
  rc=0
  python3 - "$out" "$file" "$strict" <<'PY' || rc=$?
import json, sys

out, shown, strict = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
with open(out, encoding="utf-8-sig") as f:
    log = json.load(f)
errors = warnings = 0
for run in log.get("runs") or []:
    rules = {r.get("id"): r for r in (run.get("tool", {}).get("driver", {}).get("rules") or [])}
    for inv in run.get("invocations") or []:
        notes = (inv.get("toolExecutionNotifications") or []) + (inv.get("toolConfigurationNotifications") or [])
        for note in notes:
            if note.get("level", "warning") == "error":
                errors += 1
                print(f"{shown}: error (tool): {note.get('message', {}).get('text', '')}")
        if inv.get("executionSuccessful") is False and errors == 0:
            errors += 1
            print(f"{shown}: error (tool): validation did not complete")
    for res in run.get("results") or []:
        level = res.get("level", "warning")
        if level not in ("error", "warning"):
            continue
        rule_id = res.get("ruleId", "?")
        msg = res.get("message") or {}
        text = msg.get("text")
        if text is None:
            template = ((rules.get(rule_id) or {}).get("messageStrings") or {}).get(msg.get("id"), {}).get("text", "")
            text = template
            for i, arg in enumerate(msg.get("arguments") or []):
                text = text.replace("{%d}" % i, str(arg))
            text = text.replace("{{", "{").replace("}}", "}")
        line = col = 0
        for loc in res.get("locations") or []:
            region = (loc.get("physicalLocation") or {}).get("region") or {}
            line, col = region.get("startLine", 0), region.get("startColumn", 0)
            break
        print(f"{shown}:{line}:{col}: {level} {rule_id}: {text}")
        if level == "error":
            errors += 1
        else:
            warnings += 1
print(f"{shown}: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
sys.exit(1 if errors or (strict and warnings) else 0)
PY
  if [[ $rc -ne 0 && $status -eq 0 ]]; then status=$rc; fi
  if [[ $rc -gt 1 ]]; then status=2; fi
done
exit "$status"
