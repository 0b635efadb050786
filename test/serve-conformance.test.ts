// Transparency: the official conformance suite's server scenarios (@modelcontextprotocol/conformance,
// which needs Node >= 22: it runs on the Node 22 binary from tools/node22) run
// against an upstream directly and through `mcp-lifeline serve`. The same scenarios must pass, the
// upstream must handle the same requests (nothing dropped, nothing doubled), and the gateway must
// pass the DNS-rebinding scenario itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startConformanceServer } from './fixtures/conformance-server.js';
import { gatewayFor } from './helpers/gateway.js';
import { node22Missing as missing, NODE_22 } from './helpers/node22.js';

const CONFORMANCE = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url));

interface ScenarioResult {
  readonly passed: number;
  readonly failed: number;
}

/** Runs every active server scenario against `url`; resolves with each scenario's result. */
async function runConformance(url: string): Promise<Map<string, ScenarioResult>> {
  const output = mkdtempSync(join(tmpdir(), 'conformance-'));
  try {
    const child = spawn(NODE_22, [CONFORMANCE, 'server', '--url', url, '-o', output], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    const results = new Map<string, ScenarioResult>();
    for (const match of text.matchAll(/^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed$/gmu)) {
      results.set(match[1] as string, { passed: Number(match[2]), failed: Number(match[3]) });
    }
    assert.ok(results.size > 0, `the conformance runner reported no scenario:\n${text.slice(-2000)}`);
    return results;
  } finally {
    rmSync(output, { recursive: true, force: true });
  }
}

const passing = (results: Map<string, ScenarioResult>) =>
  [...results].filter(([, result]) => result.failed === 0 && result.passed > 0).map(([name]) => name);

describe('serve: transparency under the official conformance suite', { skip: missing }, () => {
  it('the same server scenarios pass directly and through the gateway; the upstream handles the same requests', async (t) => {
    const direct = await startConformanceServer();
    t.after(() => direct.close());
    const behind = await startConformanceServer();
    t.after(() => behind.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'conformance', url: new URL(behind.url) }] });

    const [straight, through] = await Promise.all([runConformance(direct.url), runConformance(gateway.url)]);
    assert.ok(straight.size >= 30, `scenarios run: ${straight.size}`);
    assert.deepEqual(passing(through), passing(straight));
    assert.deepEqual(
      [...through.keys()].filter((name) => !passing(through).includes(name)),
      [...straight.keys()].filter((name) => !passing(straight).includes(name)),
    );
    // The DNS-rebinding scenario: the gateway refuses a foreign Host/Origin and serves its own.
    assert.deepEqual(through.get('dns-rebinding-protection'), { passed: 2, failed: 0 });
    // Same requests handled upstream, by method and tool: nothing lost, nothing doubled.
    assert.deepEqual(Object.fromEntries([...behind.handled].sort()), Object.fromEntries([...direct.handled].sort()));
  });
});
