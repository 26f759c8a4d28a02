#!/usr/bin/env bash
# The main job on the embedded default (SQLite): record builds from the
# example data, then ask the ledger the questions a security team asks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p buildledger-cli
bl=target/debug/buildledger
export BUILDLEDGER_DB=target/demo/ledger.db
rm -rf target/demo && mkdir -p target/demo
step() { printf '\n\033[1m$ buildledger %s\033[0m\n' "$*"; "$bl" "$@"; }

step record --file examples/records/payments-api.json --file examples/records/ledger-worker.json
step record --digest sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e \
  --ref registry.example/shop/checkout:3.1.0 --repo https://github.com/example/checkout \
  --commit 7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b --tag v3.1.0 \
  --builder-id https://ci.example/builders/github-actions --toolchain go@1.21.5 \
  --component pkg:golang/golang.org/x/net@v0.17.0 --component pkg:golang/stdlib@1.21.5 \
  --api examples/openapi/checkout.yaml
# A second, conflicting claim for the payments image (another commit).
step record --digest sha256:6f1b1c3b0c2e9e8a4b1f0a3d5e7c9b2a4d6f8e0c1a3b5d7f9e1c3a5b7d9f1e3a \
  --repo https://github.com/example/payments --commit 0000000d2b1e4f5a6b7c8d9e0f1a2b3c4d5e6f70 --toolchain go@1.13.4
step query --toolchain go@1.13.4
step query --toolchain 'go@<1.20'
step query --package 'pkg:golang/golang.org/x/net@<0.7.0'
step query --api-stability beta
step show sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
step conflicts
step table
step table --format csv
step info

# Vulnerabilities: import real advisories (Go vulndb, RustSec); findings are
# computed per component, so every image sharing one is answered at once.
step feed import examples/advisories
step vulns sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
step affected CVE-2023-39325
step changes --since 1h

# Chain of trust: a builder key signs provenance; only a key pinned to that
# builder makes the record count as verified.
keys=target/demo/keys && mkdir -p "$keys"
step keygen --out "$keys/ci-builder"
printf '{"builders": {"https://ci.example/builders/github-actions": [{"path": "ci-builder.pub"}]}}\n' > "$keys/trusted-builders.json"
step attest --key "$keys/ci-builder.key" --out target/demo/checkout.intoto.json \
  --digest sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e \
  --repo https://github.com/example/checkout --commit 7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b --tag v3.1.0 \
  --builder-id https://ci.example/builders/github-actions --toolchain go@1.21.5 \
  --component pkg:golang/golang.org/x/net@v0.17.0
step record --attestation target/demo/checkout.intoto.json --policy "$keys/trusted-builders.json"
step query --repo https://github.com/example/checkout --trusted-only
step audit verify
