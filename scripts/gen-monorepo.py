#!/usr/bin/env python3
"""Generate a synthetic monorepo for benchmarking `depriv scan` (python3 stdlib only).

Usage: scripts/gen-monorepo.py OUT_DIR [--files N] [--seed S]

About N files in all (default 100,000), deterministic for a given (N, seed):
  * ~4%  CI and container configs of every surface depriv reads: .gitlab-ci.yml and
         ci/*.gitlab-ci.yml, .github/workflows/*.yml and action.yml, Jenkinsfile,
         docker-compose*.yml, Kubernetes manifests (*.yaml with apiVersion/kind), GitLab Runner
         config.toml with [[runners]], daemon.json, *.sh, Makefile, .drone.yml. 0.5-8 KB each;
         about 30% carry an insecure pattern (privileged dind, docker.sock, :2375, ...), the rest
         are clean look-alikes.
  * ~76% ordinary files: .rs .go .py .ts .java .md .json (and some non-Kubernetes .yaml),
         1-30 KB, a few mentioning docker.
  * ~20% build output under target/ and node_modules/, listed in .gitignore, with insecure
         bait inside: a scanner that honours .gitignore must report nothing there.
The tree is `git init`-ed (not committed) so .gitignore applies as in a real checkout.
A summary goes to stdout and to OUT_DIR/.git/depriv-bench.json.
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys

GENERATOR_VERSION = 2

WORDS = (
    "account audit auth batch billing build cache catalog cart checkout client cluster config "
    "core cron data deploy device email event export feed gateway graph health identity image "
    "index ingest inventory invoice job ledger link log mail media metrics notify order payment "
    "pipeline policy pricing profile queue rate report router search session shard ship signal "
    "storage stream sync task tenant token trace upload user vault worker"
).split()
STAGES = ["build", "test", "lint", "package", "publish", "deploy", "release"]
BASE_IMAGES = [
    "golang:1.22",
    "rust:1.79",
    "python:3.12-slim",
    "node:20-alpine",
    "eclipse-temurin:21-jdk",
    "alpine:3.20",
    "debian:bookworm-slim",
    "ubuntu:24.04",
    "maven:3.9-eclipse-temurin-21",
]
DIND_IMAGES = ["docker:24.0.7-dind", "docker:dind", "docker:27-dind", "docker:26.1-dind"]
CLI_IMAGES = ["docker:24.0.7", "docker:27", "docker:26.1-cli", "docker:latest"]


def ident(rng, parts=2):
    return "_".join(rng.choice(WORDS) for _ in range(parts))


def kebab(rng, parts=2):
    return "-".join(rng.choice(WORDS) for _ in range(parts))


def camel(rng, parts=2):
    return "".join(rng.choice(WORDS).capitalize() for _ in range(parts))


_USED = set()
# GitLab merges jobs of the same name across included files: keep job names repo-unique.
_GITLAB_JOBS = set()


def uniq(name, sep="-", used=None):
    """`name`, made unique among the names used in the file being generated (or in `used`)."""
    used = _USED if used is None else used
    if name in used:
        i = 2
        while f"{name}{sep}{i}" in used:
            i += 1
        name = f"{name}{sep}{i}"
    used.add(name)
    return name


def generate(kind, rng, target, bad):
    _USED.clear()
    return GENERATORS[kind](rng, target, bad)


def lognormal_size(rng, median, lo, hi):
    return int(min(hi, max(lo, rng.lognormvariate(math.log(median), 0.8))))


def pad(text, units, target, rng, limit=400):
    """Append generated units until `text` reaches `target` bytes (bounded)."""
    out = [text]
    size = len(text)
    for _ in range(limit):
        if size >= target:
            break
        unit = units(rng)
        out.append(unit)
        size += len(unit)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# CI and container configs. Each returns (text, has_bait).


def gitlab_job(rng, bad=False):
    name = uniq(kebab(rng), used=_GITLAB_JOBS)
    stage = rng.choice(STAGES)
    lines = [f"\n{name}:\n", f"  stage: {stage}\n"]
    if bad:
        kind = rng.randrange(3)
        lines.append(f"  image: {rng.choice(CLI_IMAGES)}\n")
        lines.append("  services:\n")
        lines.append(f"    - {rng.choice(DIND_IMAGES)}\n")
        lines.append("  variables:\n")
        if kind == 0:
            lines.append("    DOCKER_HOST: tcp://docker:2375\n")
            lines.append('    DOCKER_TLS_CERTDIR: ""\n')
        elif kind == 1:
            lines.append("    DOCKER_HOST: tcp://docker:2376\n")
            lines.append('    DOCKER_TLS_CERTDIR: "/certs"\n')
        else:
            lines.append("    DOCKER_DRIVER: overlay2\n")
        lines.append("  script:\n")
        lines.append('    - docker login -u "$CI_REGISTRY_USER" -p "$CI_REGISTRY_PASSWORD" $CI_REGISTRY\n')
        lines.append(f"    - docker build -t $CI_REGISTRY_IMAGE/{name}:$CI_COMMIT_SHA .\n")
        lines.append(f"    - docker push $CI_REGISTRY_IMAGE/{name}:$CI_COMMIT_SHA\n")
    else:
        lines.append(f"  image: {rng.choice(BASE_IMAGES)}\n")
        if rng.random() < 0.3:
            lines.append("  needs: [" + kebab(rng) + "]\n")
        lines.append("  script:\n")
        for _ in range(rng.randint(1, 5)):
            lines.append(
                "    - "
                + rng.choice(
                    [
                        "make " + rng.choice(STAGES),
                        "cargo test --locked",
                        "go test ./...",
                        "npm ci && npm test",
                        "pytest -q",
                        "./scripts/" + kebab(rng) + ".sh",
                        "echo building " + ident(rng),
                    ]
                )
                + "\n"
            )
        if rng.random() < 0.4:
            lines.append("  artifacts:\n    paths:\n      - dist/\n    expire_in: 1 week\n")
    lines.append("  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n")
    if rng.random() < 0.5:
        lines.append("    - if: $CI_PIPELINE_SOURCE == 'merge_request_event'\n")
    return "".join(lines)


def gen_gitlab(rng, target, bad, includes=None):
    head = "# GitLab CI for " + kebab(rng) + "\n"
    head += "stages:\n" + "".join(f"  - {s}\n" for s in STAGES[: rng.randint(2, len(STAGES))])
    if includes:
        head += "\ninclude:\n" + "".join(f"  - local: '{p}'\n" for p in includes)
    head += "\nvariables:\n  GIT_DEPTH: \"20\"\n  FF_USE_FASTZIP: \"true\"\n"
    if rng.random() < 0.3:
        head += "\n.defaults: &defaults\n  retry: 1\n  interruptible: true\n"
    body = head + (gitlab_job(rng, bad=True) if bad else "")
    return pad(body, lambda r: gitlab_job(r), target, rng), bad


def gh_job(rng, bad=False):
    name = uniq(ident(rng), "_")
    lines = [f"  {name}:\n"]
    if bad:
        kind = rng.randrange(3)
        lines.append("    runs-on: [self-hosted, linux]\n")
        if kind == 0:
            lines.append("    services:\n      docker:\n")
            lines.append(f"        image: {rng.choice(DIND_IMAGES)}\n        options: --privileged\n")
        elif kind == 1:
            lines.append("    container:\n      image: " + rng.choice(CLI_IMAGES) + "\n")
            lines.append("      volumes:\n        - /var/run/docker.sock:/var/run/docker.sock\n")
        else:
            lines.append("    container:\n      image: " + rng.choice(BASE_IMAGES) + "\n")
            lines.append("      options: --privileged\n")
    else:
        lines.append("    runs-on: " + rng.choice(["ubuntu-latest", "ubuntu-22.04", "macos-latest"]) + "\n")
    lines.append("    timeout-minutes: " + str(rng.choice([10, 20, 30, 60])) + "\n")
    lines.append("    steps:\n      - uses: actions/checkout@v4\n")
    for _ in range(rng.randint(1, 4)):
        step = rng.choice(
            [
                "      - uses: actions/setup-go@v5\n        with:\n          go-version: '1.22'\n",
                "      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n          cache: npm\n",
                "      - name: Test\n        run: make test\n",
                "      - name: Build image\n        run: docker build -t ghcr.io/acme/" + kebab(rng) + ":${{ github.sha }} .\n",
                "      - uses: actions/cache@v4\n        with:\n          path: ~/.cache\n          key: ${{ runner.os }}-" + ident(rng) + "\n",
                "      - name: Lint\n        run: |\n          npm ci\n          npm run lint\n",
            ]
        )
        lines.append(step)
    return "".join(lines)


def gen_github(rng, target, bad):
    head = "name: " + kebab(rng) + "\n\non:\n  push:\n    branches: [main]\n  pull_request:\n\n"
    head += "permissions:\n  contents: read\n\njobs:\n"
    body = head + (gh_job(rng, bad=True) if bad else gh_job(rng))
    return pad(body, gh_job, target, rng), bad


def gen_action(rng, target, bad):
    text = "name: " + kebab(rng) + "\ndescription: Composite action\nruns:\n  using: composite\n  steps:\n"
    if bad:
        text += "    - shell: bash\n      run: docker run --rm --privileged " + rng.choice(DIND_IMAGES) + " dockerd --version\n"
    unit = lambda r: "    - shell: bash\n      run: echo " + ident(r, 3) + "\n"  # noqa: E731
    return pad(text, unit, target, rng), bad


def jenkins_stage(rng, bad=False):
    name = uniq(camel(rng))
    if bad:
        return (
            f"    stage('{name}') {{\n      agent {{\n        docker {{\n"
            f"          image '{rng.choice(CLI_IMAGES)}'\n"
            "          args '-v /var/run/docker.sock:/var/run/docker.sock -u root'\n"
            "        }\n      }\n      steps {\n"
            f"        sh 'docker build -t acme/{kebab(rng)} .'\n      }}\n    }}\n"
        )
    steps = "".join(f"        sh '{rng.choice(['make build', 'make test', './gradlew check', 'mvn -B verify'])}'\n" for _ in range(rng.randint(1, 3)))
    return f"    stage('{name}') {{\n      steps {{\n{steps}      }}\n    }}\n"


def gen_jenkins(rng, target, bad):
    head = "pipeline {\n  agent any\n  options {\n    timeout(time: 30, unit: 'MINUTES')\n  }\n  stages {\n"
    body = head + (jenkins_stage(rng, True) if bad else "")
    body = pad(body, jenkins_stage, max(0, target - 40), rng)
    return body + "  }\n  post {\n    always {\n      cleanWs()\n    }\n  }\n}\n", bad


def compose_service(rng, bad=False):
    name = uniq(kebab(rng))
    lines = [f"  {name}:\n"]
    if bad:
        kind = rng.randrange(4)
        if kind == 0:
            lines.append(f"    image: {rng.choice(DIND_IMAGES)}\n    privileged: true\n")
            lines.append("    environment:\n      DOCKER_TLS_CERTDIR: \"\"\n")
        elif kind == 1:
            lines.append(f"    image: {rng.choice(BASE_IMAGES)}\n")
            lines.append("    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n")
        elif kind == 2:
            lines.append(f"    image: {rng.choice(DIND_IMAGES)}\n    privileged: true\n")
            lines.append("    ports:\n      - \"2375:2375\"\n")
        else:
            lines.append(f"    image: {rng.choice(BASE_IMAGES)}\n    cap_add:\n      - SYS_ADMIN\n")
            lines.append("    security_opt:\n      - seccomp:unconfined\n")
        return "".join(lines)
    lines.append(f"    image: {rng.choice(BASE_IMAGES)}\n")
    if rng.random() < 0.5:
        lines.append(f"    ports:\n      - \"{rng.randint(3000, 9999)}:{rng.choice([80, 8080, 5432, 6379])}\"\n")
    lines.append("    environment:\n")
    for _ in range(rng.randint(1, 5)):
        lines.append(f"      {uniq(ident(rng).upper(), '_')}: \"{kebab(rng)}\"\n")
    if rng.random() < 0.4:
        lines.append(f"    volumes:\n      - ./{kebab(rng)}:/app/{ident(rng)}\n")
    if rng.random() < 0.3:
        lines.append("    depends_on:\n      - " + kebab(rng) + "\n")
    return "".join(lines)


def gen_compose(rng, target, bad):
    body = "services:\n" + (compose_service(rng, True) if bad else "")
    body = pad(body, compose_service, max(0, target - 60), rng)
    return body + "\nvolumes:\n  data: {}\n", bad


def k8s_doc(rng, bad=False):
    kind = rng.choice(["Deployment", "StatefulSet", "DaemonSet", "Job"])
    name = kebab(rng)
    api = "batch/v1" if kind == "Job" else "apps/v1"
    sec = "          securityContext:\n            runAsNonRoot: true\n            allowPrivilegeEscalation: false\n"
    extra_containers = ""
    volumes = ""
    if bad:
        choice = rng.randrange(3)
        if choice == 0:
            extra_containers = (
                f"        - name: dind\n          image: {rng.choice(DIND_IMAGES)}\n"
                "          securityContext:\n            privileged: true\n"
            )
        elif choice == 1:
            sec = "          volumeMounts:\n            - name: docker-sock\n              mountPath: /var/run/docker.sock\n"
            volumes = "      volumes:\n        - name: docker-sock\n          hostPath:\n            path: /var/run/docker.sock\n"
        else:
            sec = "          securityContext:\n            capabilities:\n              add: [\"SYS_ADMIN\"]\n"
    spec = (
        f"---\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\n"
        + "spec:\n"
        + ("  replicas: " + str(rng.randint(1, 6)) + "\n" if kind in ("Deployment", "StatefulSet") else "")
        + ("  selector:\n    matchLabels:\n      app: " + name + "\n" if kind != "Job" else "")
        + "  template:\n    metadata:\n      labels:\n        app: "
        + name
        + "\n    spec:\n"
        + ("      restartPolicy: Never\n" if kind == "Job" else "")
        + "      containers:\n"
        + f"        - name: {name}\n          image: registry.example.com/{name}:1.{rng.randint(0, 40)}.{rng.randint(0, 9)}\n"
        + f"          ports:\n            - containerPort: {rng.choice([80, 8080, 9090])}\n"
        + "          resources:\n            requests:\n              cpu: 100m\n              memory: 128Mi\n"
        + sec
        + extra_containers
        + volumes
    )
    return spec


def k8s_service(rng):
    name = kebab(rng)
    return (
        f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n"
        f"  ports:\n    - port: 80\n      targetPort: {rng.choice([8080, 9090])}\n"
    )


def gen_k8s(rng, target, bad):
    body = k8s_doc(rng, bad)
    unit = lambda r: k8s_service(r) if r.random() < 0.4 else k8s_doc(r)  # noqa: E731
    return pad(body, unit, target, rng), bad


def runner_block(rng, bad=False):
    name = uniq(kebab(rng))
    privileged = "true" if bad else "false"
    vols = '["/var/run/docker.sock:/var/run/docker.sock", "/cache"]' if bad and rng.random() < 0.5 else '["/cache"]'
    return (
        f'\n[[runners]]\n  name = "{name}"\n  url = "https://gitlab.example.com/"\n  token = "REDACTED"\n'
        '  executor = "docker"\n  [runners.cache]\n    MaxUploadedArchiveSize = 0\n'
        f'  [runners.docker]\n    tls_verify = false\n    image = "{rng.choice(BASE_IMAGES)}"\n'
        f"    privileged = {privileged}\n    disable_cache = false\n    volumes = {vols}\n    shm_size = 0\n"
    )


def gen_runner(rng, target, bad):
    body = f"concurrent = {rng.randint(1, 16)}\ncheck_interval = 0\n\n[session_server]\n  session_timeout = 1800\n"
    body += runner_block(rng, bad)
    return pad(body, runner_block, target, rng, limit=20), bad


def gen_plain_toml(rng, target, _bad):
    # A config.toml that is not a runner config (e.g. a tool's settings): must be left alone.
    body = f'[package]\nname = "{kebab(rng)}"\n\n[build]\njobs = {rng.randint(1, 8)}\n'
    unit = lambda r: f'\n[{uniq(ident(r), "_")}]\nenabled = {r.choice(["true", "false"])}\nlevel = "{r.choice(WORDS)}"\n'  # noqa: E731
    return pad(body, unit, target, rng, limit=60), False


def gen_daemon(rng, target, bad):
    conf = {
        "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "3"},
        "storage-driver": "overlay2",
        "live-restore": True,
    }
    if bad:
        conf["hosts"] = ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]
    else:
        conf["hosts"] = ["unix:///var/run/docker.sock"]
        if rng.random() < 0.5:
            conf["userns-remap"] = "default"
    conf["registry-mirrors"] = [f"https://{kebab(rng)}.mirror.example.com" for _ in range(rng.randint(1, 3))]
    text = json.dumps(conf, indent=2) + "\n"
    # daemon.json files are small in practice: stop at 512 bytes of labels.
    labels = []
    while len(text) < min(target, 1200) and len(labels) < 40:
        labels.append(f"{ident(rng)}={kebab(rng)}")
        conf["labels"] = labels
        text = json.dumps(conf, indent=2) + "\n"
    return text, bad


def sh_chunk(rng, bad=False):
    if bad:
        return rng.choice(
            [
                f"docker run -d --name dind --privileged {rng.choice(DIND_IMAGES)}\n",
                "docker run --rm -v /var/run/docker.sock:/var/run/docker.sock " + rng.choice(CLI_IMAGES) + " docker ps\n",
                "dockerd -H tcp://0.0.0.0:2375 -H unix:///var/run/docker.sock &\n",
                "export DOCKER_HOST=tcp://localhost:2375\n",
            ]
        )
    fn = ident(rng)
    return (
        f"\n{fn}() {{\n"
        + "".join(
            "  "
            + rng.choice(
                [
                    f'echo "==> {fn}"',
                    f"docker build -t acme/{kebab(rng)}:\"${{TAG:-dev}}\" .",
                    'cd "$(dirname "$0")/.."',
                    f"cargo build --release -p {kebab(rng)}",
                    f"go test ./{rng.choice(WORDS)}/...",
                    f'if [[ -z "${{{ident(rng).upper()}:-}}" ]]; then exit 1; fi',
                ]
            )
            + "\n"
            for _ in range(rng.randint(2, 6))
        )
        + "}\n"
    )


def gen_sh(rng, target, bad):
    body = "#!/usr/bin/env bash\nset -euo pipefail\n" + (sh_chunk(rng, True) if bad else "")
    return pad(body, sh_chunk, target, rng), bad


def make_rule(rng, bad=False):
    name = uniq(kebab(rng))
    if bad:
        return f"\n{name}:\n\tdocker run --rm --privileged -v /var/run/docker.sock:/var/run/docker.sock {rng.choice(CLI_IMAGES)} sh -c 'make build'\n"
    cmds = "".join(
        "\t" + rng.choice(["go build ./...", "cargo build", "npm run build", f"docker build -t acme/{name} .", "pytest", "$(MAKE) -C " + rng.choice(WORDS)]) + "\n"
        for _ in range(rng.randint(1, 4))
    )
    return f"\n.PHONY: {name}\n{name}: {kebab(rng)}\n{cmds}"


def gen_make(rng, target, bad):
    body = "SHELL := /bin/bash\nTAG ?= dev\n" + (make_rule(rng, True) if bad else "")
    return pad(body, make_rule, target, rng), bad


def drone_step(rng, bad=False):
    name = uniq(kebab(rng))
    if bad:
        return (
            f"- name: {name}\n  image: {rng.choice(DIND_IMAGES)}\n  privileged: true\n"
            "  volumes:\n  - name: dockersock\n    path: /var/run/docker.sock\n"
        )
    return f"- name: {name}\n  image: {rng.choice(BASE_IMAGES)}\n  commands:\n  - make {rng.choice(STAGES)}\n"


def gen_drone(rng, target, bad):
    body = "kind: pipeline\ntype: docker\nname: default\n\nsteps:\n" + (drone_step(rng, True) if bad else "")
    return pad(body, drone_step, target, rng), bad


# ---------------------------------------------------------------------------------------------
# Ordinary source files: random lines from per-language pools.


def line_pool(rng, lang, n=1500):
    pool = []
    for _ in range(n):
        a, b, c = ident(rng), ident(rng), camel(rng)
        if lang == "rs":
            pool.append(rng.choice([
                f"    let {a} = {b}.{rng.choice(WORDS)}()?;",
                f"pub fn {a}(&self, {b}: &{c}) -> Result<{c}, Error> {{",
                f"    // {a.replace('_', ' ')} before {b.replace('_', ' ')}",
                "}",
                f"    if {a}.is_empty() {{ return Ok(None); }}",
                f"#[derive(Debug, Clone)]\npub struct {c} {{ {a}: u64, {b}: String }}",
                f"    {a}.push({b}.clone());",
            ]))
        elif lang == "go":
            pool.append(rng.choice([
                f"\t{a} := {b}.{c}()",
                f"func ({a[0]} *{c}) {camel(rng)}(ctx context.Context) error {{",
                "\tif err != nil {\n\t\treturn err\n\t}",
                f"\t// {c} handles {a.replace('_', ' ')}",
                "}",
                f"type {c} struct {{\n\t{camel(rng)} string\n}}",
            ]))
        elif lang == "py":
            pool.append(rng.choice([
                f"    {a} = {b}.{rng.choice(WORDS)}()",
                f"def {a}({b}, *, {rng.choice(WORDS)}=None):",
                f"    # {a.replace('_', ' ')}",
                f"class {c}({camel(rng)}):",
                f"    return {{'{a}': {b}}}",
                f"        if not {a}:\n            raise ValueError('{b}')",
            ]))
        elif lang == "ts":
            pool.append(rng.choice([
                f"  const {a} = await {b}.{rng.choice(WORDS)}();",
                f"export function {a}({b}: {c}): Promise<void> {{",
                f"  // {a.replace('_', ' ')}",
                "}",
                f"import {{ {c} }} from './{kebab(rng)}';",
                f"export interface {c} {{ {a}: string; {b}?: number }}",
            ]))
        elif lang == "java":
            pool.append(rng.choice([
                f"        var {a} = {b}.get{c}();",
                f"    public {c} {a}({camel(rng)} {b}) {{",
                f"    // {a.replace('_', ' ')}",
                "    }",
                f"import com.acme.{rng.choice(WORDS)}.{c};",
                f"        if ({a} == null) throw new IllegalStateException(\"{b}\");",
            ]))
        elif lang == "md":
            pool.append(rng.choice([
                f"## {c}",
                f"The {a.replace('_', ' ')} service talks to {b.replace('_', ' ')} over gRPC.",
                f"- `{a}`: {b.replace('_', ' ')}",
                "",
                f"See [{c}](./{kebab(rng)}.md) for details.",
            ]))
    return pool


DOCKER_MENTIONS = {
    "rs": "// Integration tests start Postgres with `docker compose up -d` first.",
    "go": "\t// Requires docker: testcontainers starts the database.",
    "py": "    # docker run --rm -p 5432:5432 postgres:16  (see docs/dev.md)",
    "ts": "  // The preview runs in docker; see docker-compose.yml.",
    "java": "    // Testcontainers needs a docker daemon (DOCKER_HOST).",
    "md": "Run `docker compose up` to start the stack. Never mount /var/run/docker.sock or run --privileged in CI.",
}

HEADERS = {
    "rs": "//! {c} module.\n\nuse std::collections::HashMap;\n\n",
    "go": "package {w}\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n",
    "py": '"""{c} helpers."""\n\nimport os\nimport sys\n\n',
    "ts": "import {{ {c} }} from '../{w}';\n\n",
    "java": "package com.acme.{w};\n\nimport java.util.List;\n\n",
    "md": "# {c}\n\n",
}


def gen_source(rng, lang, pools, target):
    head = HEADERS[lang].format(c=camel(rng), w=rng.choice(WORDS))
    pool = pools[lang]
    # Lines average ~35 bytes; draw about enough, then trim to the target at a line end.
    k = max(1, target // 30)
    lines = rng.choices(pool, k=k)
    if rng.random() < 0.05:
        lines.insert(rng.randrange(len(lines) + 1), DOCKER_MENTIONS[lang])
    text = head + "\n".join(lines) + "\n"
    if len(text) > target:
        cut = text.rfind("\n", 0, target)
        if cut > len(head):
            text = text[: cut + 1]
    return text


def gen_app_yaml(rng, target):
    """A valid, non-Kubernetes YAML settings file."""
    _USED.clear()
    parts = [f"# settings for {rng.choice(WORDS)}\n"]
    size = len(parts[0])
    for _ in range(500):
        if size >= target:
            break
        keys = set()
        lines = [f"{uniq(ident(rng), '_')}:\n"]
        for _ in range(rng.randint(2, 8)):
            key = ident(rng)
            if key in keys:
                continue
            keys.add(key)
            value = rng.choice([str(rng.randint(0, 9999)), kebab(rng), "true", "false", f"[{kebab(rng)}, {kebab(rng)}]"])
            lines.append(f"  {key}: {value}\n")
        chunk = "".join(lines)
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts)


def gen_json(rng, target):
    data = {"name": kebab(rng), "version": f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.0", "items": []}
    text = json.dumps(data, indent=2)
    for _ in range(5000):
        if len(text) >= target:
            break
        data["items"].append({"id": rng.randint(1, 10**9), "key": ident(rng), "value": kebab(rng, 3), "enabled": rng.random() < 0.5})
        if len(data["items"]) % 16 == 0:
            text = json.dumps(data, indent=2)
    return json.dumps(data, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------


FIXED_NAMES = {"Jenkinsfile", "Makefile", "docker-compose.yml", "compose.yaml", "config.toml", "daemon.json", "action.yml", "package.json"}


class Tree:
    def __init__(self, root):
        self.root = root
        self.paths = {}
        self.dirs = set()
        self.count = 0
        self.bytes = 0

    def unique(self, rel):
        """`rel`, or a free variant of it that the same surface still recognises."""
        if rel not in self.paths:
            return rel
        head, _, name = rel.rpartition("/")
        # Suffix before the first dot: a.gitlab-ci.yml -> a-2.gitlab-ci.yml keeps the surface.
        stem, dot, ext = name.partition(".")
        fixed = not dot or not stem or name in FIXED_NAMES
        for i in range(2, 10**6):
            if fixed:  # e.g. Jenkinsfile, config.toml: keep the name, use another directory
                cand = f"{head}/v{i}/{name}" if head else f"v{i}/{name}"
            else:
                cand = f"{head}/{stem}-{i}{dot}{ext}" if head else f"{stem}-{i}{dot}{ext}"
            if cand not in self.paths:
                return cand
        raise RuntimeError("no unique name for " + rel)

    def write(self, rel, text, category):
        rel = self.unique(rel)
        self.paths[rel] = category
        full = os.path.join(self.root, rel)
        d = os.path.dirname(full)
        if d not in self.dirs:
            os.makedirs(d, exist_ok=True)
            self.dirs.add(d)
        data = text.encode("utf-8")
        with open(full, "wb") as f:
            f.write(data)
        self.count += 1
        self.bytes += len(data)
        return rel


CONFIG_KINDS = [
    # (kind, weight)
    ("gitlab", 18),
    ("github", 6),
    ("action", 2),
    ("jenkins", 8),
    ("compose", 12),
    ("k8s", 20),
    ("runner", 3),
    ("plain-toml", 2),
    ("daemon", 2),
    ("sh", 15),
    ("make", 9),
    ("drone", 3),
]
GENERATORS = {
    "gitlab": gen_gitlab,
    "github": gen_github,
    "action": gen_action,
    "jenkins": gen_jenkins,
    "compose": gen_compose,
    "k8s": gen_k8s,
    "runner": gen_runner,
    "plain-toml": gen_plain_toml,
    "daemon": gen_daemon,
    "sh": gen_sh,
    "make": gen_make,
    "drone": gen_drone,
}
LANG_EXT = {"rs": "rs", "go": "go", "py": "py", "ts": "ts", "java": "java"}
PKG_ROOT = {"rs": "crates", "go": "services", "py": "tools", "ts": "web", "java": "platform"}


def config_path(rng, kind, pkg):
    if kind == "gitlab":
        return rng.choice([f"ci/{kebab(rng)}.gitlab-ci.yml", f"{pkg}/.gitlab-ci.yml", f"{pkg}/ci/{kebab(rng)}.gitlab-ci.yml"])
    if kind == "github":
        return f".github/workflows/{kebab(rng)}.yml"
    if kind == "action":
        return f".github/actions/{kebab(rng)}/action.yml"
    if kind == "jenkins":
        return rng.choice([f"{pkg}/Jenkinsfile", f"jenkins/{kebab(rng)}.Jenkinsfile"])
    if kind == "compose":
        return rng.choice([f"{pkg}/docker-compose.yml", f"{pkg}/docker-compose.{rng.choice(['dev', 'test', 'ci'])}.yml", f"{pkg}/compose.yaml"])
    if kind == "k8s":
        return rng.choice([f"{pkg}/k8s/{kebab(rng)}.yaml", f"deploy/{kebab(rng)}/{rng.choice(['deployment', 'workload', 'manifest'])}.yaml"])
    if kind == "runner":
        return f"infra/runners/{kebab(rng)}/config.toml"
    if kind == "plain-toml":
        return f"{pkg}/config.toml"
    if kind == "daemon":
        return f"infra/hosts/{kebab(rng)}/daemon.json"
    if kind == "sh":
        return rng.choice([f"scripts/{kebab(rng)}.sh", f"{pkg}/scripts/{kebab(rng)}.sh"])
    if kind == "make":
        return f"{pkg}/Makefile"
    if kind == "drone":
        return f"{pkg}/.drone.yml"
    raise ValueError(kind)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--files", type=int, default=100_000, help="about how many files (default 100000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="write into a non-empty OUT_DIR")
    args = ap.parse_args(argv)
    n = max(50, args.files)
    out = os.path.abspath(args.out_dir)
    if os.path.isdir(out) and os.listdir(out) and not args.force:
        sys.exit(f"error: {out} is not empty (use --force)")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(args.seed)
    tree = Tree(out)

    n_ignored = round(n * 0.20)
    n_config = max(len(CONFIG_KINDS), round(n * 0.04))
    n_source = max(1, n - n_ignored - n_config - 3)  # 3: .gitignore, README.md, .gitlab-ci.yml

    # Packages, with a skewed size so a few are large.
    langs = list(LANG_EXT)
    n_pkgs = max(1, n_source // 200)
    pkgs = []
    for _ in range(n_pkgs):
        lang = rng.choice(langs)
        pkgs.append((f"{PKG_ROOT[lang]}/{kebab(rng)}", lang))
    pkg_weights = [rng.paretovariate(1.5) for _ in pkgs]

    tree.write(".gitignore", "/target/\ntarget/\nnode_modules/\ndist/\n*.log\n.env\n", "meta")
    tree.write("README.md", "# acme monorepo\n\nSynthetic benchmark tree.\n", "meta")

    # CI and container configs.
    kinds = [k for k, _ in CONFIG_KINDS]
    weights = [w for _, w in CONFIG_KINDS]
    stats = {"config": {}, "config_bait": 0}
    gitlab_children = []
    for _ in range(n_config):
        kind = rng.choices(kinds, weights)[0]
        pkg = rng.choices(pkgs, pkg_weights)[0][0]
        bad = kind != "plain-toml" and rng.random() < 0.3
        target = lognormal_size(rng, 1800, 512, 8192)
        text, bait = generate(kind, rng, target, bad)
        rel = tree.write(config_path(rng, kind, pkg), text, "config")
        if kind == "gitlab" and not rel.startswith("ci/"):
            gitlab_children.append(rel)
        stats["config"][kind] = stats["config"].get(kind, 0) + 1
        stats["config_bait"] += int(bait)
    includes = ["ci/*.gitlab-ci.yml"] + gitlab_children[:50]
    _USED.clear()
    text, _ = gen_gitlab(rng, 4000, False, includes)
    tree.write(".gitlab-ci.yml", text, "config")

    # Ordinary source files.
    pools = {lang: line_pool(rng, lang) for lang in ["rs", "go", "py", "ts", "java", "md"]}
    src_stats = {}
    for _ in range(n_source):
        pkg, lang = rng.choices(pkgs, pkg_weights)[0]
        r = rng.random()
        depth = rng.randint(0, 3)
        sub = "/".join(rng.choice(WORDS) for _ in range(depth))
        sub = f"/{sub}" if sub else ""
        target = lognormal_size(rng, 4500, 1024, 30 * 1024)
        if r < 0.72:
            ext = LANG_EXT[lang]
            rel = f"{pkg}/src{sub}/{ident(rng)}.{ext}"
            text = gen_source(rng, lang, pools, target)
        elif r < 0.84:
            ext = "md"
            rel = rng.choice([f"{pkg}/docs/{kebab(rng)}.md", f"docs{sub}/{kebab(rng)}.md"])
            text = gen_source(rng, "md", pools, target)
        elif r < 0.96:
            ext = "json"
            rel = f"{pkg}/testdata{sub}/{ident(rng)}.json"
            text = gen_json(rng, target)
        else:
            ext = "yaml"
            rel = f"{pkg}/config/{kebab(rng)}.yaml"
            text = gen_app_yaml(rng, min(target, 8192))
        src_stats[ext] = src_stats.get(ext, 0) + 1
        tree.write(rel, text, "source")

    # Ignored build output, with bait that must never be reported.
    ignored_bait = 0
    for i in range(n_ignored):
        pkg, lang = rng.choices(pkgs, pkg_weights)[0]
        where = rng.random()
        if lang == "ts" or where < 0.4:
            mod = kebab(rng)
            base = rng.choice([f"node_modules/{mod}", f"{pkg}/node_modules/{mod}", f"node_modules/@acme/{mod}"])
            pick = rng.random()
            if pick < 0.03:
                text, _ = generate("compose", rng, 1200, True)
                rel = f"{base}/docker-compose.yml"
                ignored_bait += 1
            elif pick < 0.05:
                text, _ = generate("github", rng, 1200, True)
                rel = f"{base}/.github/workflows/ci.yml"
                ignored_bait += 1
            elif pick < 0.07:
                text, _ = generate("sh", rng, 800, True)
                rel = f"{base}/scripts/{kebab(rng)}.sh"
                ignored_bait += 1
            elif pick < 0.2:
                text = json.dumps({"name": mod, "version": "1.0.0", "main": "index.js"}, indent=2) + "\n"
                rel = f"{base}/package.json"
            else:
                text = gen_source(rng, "ts", pools, lognormal_size(rng, 3000, 256, 30 * 1024))
                rel = f"{base}/{rng.choice(['lib', 'dist', 'src'])}/{ident(rng)}.js"
        else:
            base = rng.choice(["target", f"{pkg}/target"])
            pick = rng.random()
            if pick < 0.03:
                text, _ = generate("gitlab", rng, 1500, True)
                rel = f"{base}/package/{kebab(rng)}/.gitlab-ci.yml"
                ignored_bait += 1
            elif pick < 0.05:
                text, _ = generate("k8s", rng, 1500, True)
                rel = f"{base}/debug/build/{kebab(rng)}/out/{kebab(rng)}.yaml"
                ignored_bait += 1
            elif pick < 0.07:
                text, _ = generate("runner", rng, 900, True)
                rel = f"{base}/tmp/{kebab(rng)}/config.toml"
                ignored_bait += 1
            else:
                text = gen_source(rng, "rs", pools, lognormal_size(rng, 3000, 256, 30 * 1024))
                rel = f"{base}/debug/build/{kebab(rng)}-{rng.getrandbits(32):08x}/out/{ident(rng)}.rs"
        tree.write(rel, text, "ignored")

    subprocess.run(["git", "init", "-q", out], check=True)
    summary = {
        "generator_version": GENERATOR_VERSION,
        "seed": args.seed,
        "requested_files": args.files,
        "files": tree.count,
        "bytes": tree.bytes,
        "config_files": sum(stats["config"].values()) + 1,
        "config_by_kind": stats["config"],
        "config_files_with_bait": stats["config_bait"],
        "source_files": n_source,
        "source_by_ext": src_stats,
        "ignored_files": n_ignored,
        "ignored_files_with_bait": ignored_bait,
    }
    with open(os.path.join(out, ".git", "depriv-bench.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")
    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
