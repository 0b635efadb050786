#!/usr/bin/env bash
# Checks the package as a user gets it: the packed tarball passes publint and attw (ESM-only, by
# design: Node >= 20 loads ESM from require() only behind a flag, so CommonJS users import() it),
# installs into an empty folder where `npx mcp-lifeline demo` runs, and every code block of
# README.md and docs/ compiles there (and the marked ones run): scripts/check-doc-blocks.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
npm run build
npm run build:test >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="$work/$(npm pack --silent --pack-destination "$work")"
npx publint run "$tarball" --strict
npx attw "$tarball" --profile esm-only
mkdir "$work/consumer"
(
  cd "$work/consumer"
  npm init -y >/dev/null
  npm install --no-audit --no-fund "$tarball" >/dev/null
  npx --no-install mcp-lifeline demo --duration 3
  # The library entry loads without the CLI's dependencies being imported.
  node --input-type=module -e "import('mcp-lifeline').then((m) => { if (typeof m.withSessionRecovery !== 'function') process.exit(1); })"
  # The Node-only sign-in entry loads with its own dependencies (proper-lockfile).
  node --input-type=module -e "import('mcp-lifeline/oauth').then((m) => { if (typeof m.createOAuthSession !== 'function') process.exit(1); })"
  # What a user's project adds to use the snippets: the SDK clients the docs import, and Node's types.
  npm install --no-audit --no-fund \
    "@modelcontextprotocol/sdk@$(node -p "require('$repo/package.json').dependencies['@modelcontextprotocol/sdk']")" \
    "@modelcontextprotocol/client@$(node -p "require('$repo/package.json').devDependencies['@modelcontextprotocol/client']")" \
    "@types/node@$(node -p "require('$repo/package.json').devDependencies['@types/node']")" >/dev/null
)
# Every TypeScript/JavaScript block of README.md and docs/ type-checks against the tarball; marked ones run.
node build/scripts/check-doc-blocks.js --project "$work/consumer"
node build/scripts/check-doc-links.js
