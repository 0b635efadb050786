#!/usr/bin/env bash
# Checks the package as a user gets it: the packed tarball passes publint and attw (ESM-only, by
# design: Node >= 20 loads ESM from require() only behind a flag, so CommonJS users import() it),
# installs into an empty folder where `npx mcp-lifeline demo` runs, the root entry loads nothing but
# eventsource-parser (scripts/check-root-entry.ts), a serve feature whose optional package is not
# installed says which one and how to bring it, and every code block of README.md and docs/
# compiles there (and the marked ones run): scripts/check-doc-blocks.ts.
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
  echo "installed for the library: $(npm ls --all --parseable 2>/dev/null | tail -n +2 | wc -l) packages, $(du -sb node_modules | cut -f1) bytes in node_modules"
  npx --no-install mcp-lifeline demo --duration 3
  # What the root entry reaches loads no Node built-in and no package but eventsource-parser.
  node "$repo/build/scripts/check-root-entry.js" --package node_modules/mcp-lifeline
  # @redis/client is an optional peer dependency, not installed here: `serve --store redis://` and
  # createRedisStore say so, naming the package and the npx line that brings it (exit 2, no crash).
  set +e
  said="$(npx --no-install mcp-lifeline serve http://127.0.0.1:9/mcp --store redis://127.0.0.1:9 --port 0 2>&1)"
  code=$?
  set -e
  if [ "$code" -ne 2 ] || ! grep -q 'needs the package @redis/client, which is not installed' <<<"$said" ||
    ! grep -q 'npx -p mcp-lifeline -p @redis/client' <<<"$said"; then
    echo "serve --store redis:// without @redis/client: expected exit 2 naming the package, got $code: $said" >&2
    exit 1
  fi
  node --input-type=module -e "
    const { createRedisStore } = await import('mcp-lifeline/gateway');
    const error = await createRedisStore({ url: 'redis://127.0.0.1:9', idleTtlMs: 1000 }).then(() => undefined, (e) => e);
    if (error?.code !== 'MISSING_PACKAGE' || error.packageName !== '@redis/client') { console.error(error); process.exit(1); }"
  # Installed beside it (as npx -p mcp-lifeline -p @redis/client does), the peer is found and used.
  npm install --no-audit --no-fund "@redis/client@$(node -p "require('$repo/package.json').peerDependencies['@redis/client']")" >/dev/null
  echo "installed for serve --store redis://: $(npm ls --all --parseable 2>/dev/null | tail -n +2 | wc -l) packages, $(du -sb node_modules | cut -f1) bytes in node_modules"
  node --input-type=module -e "
    const { createRedisStore } = await import('mcp-lifeline/gateway');
    const store = await createRedisStore({ url: 'redis://127.0.0.1:9', idleTtlMs: 1000, commandTimeoutMs: 200 });
    await store.close();"
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
