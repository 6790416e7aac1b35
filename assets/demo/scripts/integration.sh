#!/usr/bin/env bash
# Integration tests for acme-shop, run by the GitLab `integration-test` job.
# Starts a nested Docker daemon for the testcontainers suite, then runs the suite in a
# container that needs FUSE (hence SYS_ADMIN and no seccomp profile).
set -euo pipefail

docker run -d --name nested-docker --privileged \
  -e DOCKER_TLS_CERTDIR=/certs -v nested-certs:/certs \
  docker:29-dind

cleanup() { docker rm -f nested-docker >/dev/null 2>&1 || true; }
trap cleanup EXIT

docker run --rm \
  --cap-add SYS_ADMIN \
  --security-opt seccomp=unconfined \
  --device /dev/fuse \
  --volumes-from nested-docker \
  -e DOCKER_HOST=tcp://nested-docker:2376 -e DOCKER_CERT_PATH=/certs/client -e DOCKER_TLS_VERIFY=1 \
  --link nested-docker \
  -v "$PWD":/src -w /src \
  python:3.13-slim python -m unittest discover -s src -t .
