#!/usr/bin/env bash
# Clean: smoke-test a running acme-shop container.
set -euo pipefail
image="${1:-acme/shop:dev}"
docker run -d --rm --name shop-smoke -p 8000:8000 "$image"
trap 'docker stop shop-smoke >/dev/null' EXIT
sleep 2
curl -fsS http://localhost:8000/products
