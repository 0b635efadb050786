// A second, independent check: the official conformance suite's client auth scenarios
// (@modelcontextprotocol/conformance, which needs Node >= 22: it runs on the Node 22 binary from
// tools/node22, see scripts/node22.sh). Its own authorization and MCP servers drive mcp-lifeline's
// sign-in (test/fixtures/conformance-oauth-client.ts: withOAuthSession beneath
// withSessionRecovery in the v1 SDK client) through discovery variants, CIMD, scope selection,
// step-up and its retry limit, token endpoint authentication, pre-registration, the 2025-03-26
// fallbacks, a resource mismatch and client credentials.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { node22Missing as missing, NODE_22 } from './helpers/node22.js';
import { builtPath } from './helpers/processes.js';

const CONFORMANCE = builtPath('../../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url);
const CLIENT = builtPath('fixtures/conformance-oauth-client.js', import.meta.url);

/** Scenarios outside the default `auth` suite that a client like ours must pass too. */
const EXTRA_SCENARIOS = [
  'auth/2025-03-26-oauth-metadata-backcompat',
  'auth/2025-03-26-oauth-endpoint-fallback',
  'auth/resource-mismatch',
  'auth/offline-access-scope',
  'auth/offline-access-not-supported',
  'auth/client-credentials-basic',
];

/** Runs the conformance client runner with `selection`; resolves with `scenario → failed checks`. */
async function runConformance(selection: readonly string[]): Promise<Map<string, { passed: number; failed: number }>> {
  const output = await mkdtemp(join(tmpdir(), 'mcp-lifeline-conformance-'));
  try {
    const child = spawn(NODE_22, [CONFORMANCE, 'client', '--command', `"${process.execPath}" "${CLIENT}"`, ...selection, '-o', output], {
      cwd: output,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const collect = (chunk: Buffer) => {
      text += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    const results = new Map<string, { passed: number; failed: number }>();
    for (const match of text.matchAll(/^[✓✗] (auth\/[\w-]+): (\d+) passed, (\d+) failed$/gmu)) {
      results.set(match[1] as string, { passed: Number(match[2]), failed: Number(match[3]) });
    }
    // A single scenario prints a summary instead of the per-scenario line.
    const single = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(text);
    if (results.size === 0 && single !== null && selection[0] === '--scenario') {
      results.set(selection[1] as string, { passed: Number(single[1]), failed: Number(single[3]) });
    }
    assert.ok(results.size > 0, `the conformance runner reported no scenario:\n${text.slice(-3000)}`);
    return results;
  } finally {
    await rm(output, { recursive: true, force: true });
  }
}

describe('the official conformance suite: client auth scenarios', { skip: missing }, () => {
  it('every scenario of the auth suite passes, and the 2025-03-26, draft and client-credentials ones', async () => {
    const [suite = new Map(), ...extra] = await Promise.all([
      runConformance(['--suite', 'auth']),
      ...EXTRA_SCENARIOS.map((scenario) => runConformance(['--scenario', scenario])),
    ]);
    const all = new Map([...suite, ...extra.flatMap((results) => [...results])]);
    assert.ok(suite.size >= 14, `auth suite scenarios run: ${[...suite.keys()].join(', ')}`);
    const failing = [...all].filter(([, result]) => result.failed > 0 || result.passed === 0);
    assert.deepEqual(failing, [], 'scenarios with failed checks');
    assert.equal(all.size, suite.size + EXTRA_SCENARIOS.length);
  });
});
