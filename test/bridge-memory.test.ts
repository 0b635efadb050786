// Issue 21, the bridge's memory: a bridge that talks to one server for hours keeps nothing per call
// beyond the call. Against a plain way out (no proxy, Node's CAs) its HTTP client is Node's own,
// whose parser is compiled in: undici's is WebAssembly, and once enough answers went through it
// V8's optimizing compile of it takes about 30 MB for a moment (a bridge's peak RSS with it). Its
// SSE answers are read from the HTTP client chunk by chunk: on Node 20 every web stream outlives
// V8's young generation, two per answer grew the heap under load.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { startSseServer } from './fixtures/sse-server.js';
import { CLI, connectThroughBridge } from './helpers/bridge.js';
import { builtPath } from './helpers/processes.js';

const PROBE = pathToFileURL(builtPath('./fixtures/memory-probe.js', import.meta.url)).href;
const MODULE_PROBE = pathToFileURL(builtPath('./fixtures/module-probe.js', import.meta.url)).href;
const CALLS = 600;

interface Probed {
  readonly readableStreams: number;
  readonly peakMallocedMiB: number;
}

/** An SDK host through `mcp-lifeline <url> ...flags` with `env` added to its environment: `calls` tool calls; what it wrote to stderr. */
async function callThroughBridge(
  url: string,
  options: { flags?: readonly string[]; env: Record<string, string>; calls: number },
): Promise<string> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, url, '--log-level', 'error', ...(options.flags ?? [])],
    env: { ...(process.env as Record<string, string>), ...options.env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  const client = new Client({ name: 'bridge-memory-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    for (let i = 0; i < options.calls; i++) await client.callTool({ name: 'increment', arguments: {} });
  } finally {
    await client.close();
  }
  await exited;
  return stderr;
}

/** `calls` tool calls through a bridge that carries the memory probe; what the probe saw. */
async function callThroughProbedBridge(url: string, calls: number): Promise<Probed> {
  const stderr = await callThroughBridge(url, { env: { NODE_OPTIONS: `--import=${PROBE}` }, calls });
  const deadline = Date.now() + 10_000;
  while (!stderr.includes('memory-probe:') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const line = /memory-probe: (.*)/.exec(stderr)?.[1];
  assert.ok(line !== undefined, `the bridge said nothing of its memory; stderr: ${stderr.slice(-1000)}`);
  return JSON.parse(line) as Probed;
}

describe('a bridge under load keeps nothing per call (issue 21)', () => {
  it(`JSON answers: ${CALLS} calls, and V8 never compiles an HTTP parser with its optimizing tier (compiler memory stays small)`, async (t) => {
    const server = await startDialectServer({ jsonResponse: true });
    t.after(() => server.close());
    const probed = await callThroughProbedBridge(server.url, CALLS);
    assert.equal(server.counters.executions, CALLS, 'every call ran once');
    assert.ok(probed.peakMallocedMiB < 12, `V8's compiler and parser memory peaked at ${probed.peakMallocedMiB.toFixed(1)} MiB`);
  });

  it(`SSE answers: ${CALLS} calls build no web stream per answer`, async (t) => {
    const server = await startDialectServer({ jsonResponse: false });
    t.after(() => server.close());
    const probed = await callThroughProbedBridge(server.url, CALLS);
    assert.equal(server.counters.executions, CALLS, 'every call ran once');
    // The server's own stream (GET), opened once a session and again after a break, may be one.
    assert.ok(probed.readableStreams < 10, `${probed.readableStreams} web streams for ${CALLS} answers`);
  });
});

describe('big answers through a bridge, read from its HTTP client as they arrived (issue 21)', () => {
  for (const format of ['JSON', 'SSE'] as const) {
    it(`${format}: a 3 MiB answer reaches the host whole`, async (t) => {
      const server = await startDialectServer({ jsonResponse: format === 'JSON' });
      t.after(() => server.close());
      const host = await connectThroughBridge(server.url, ['--log-level', 'error']);
      t.after(() => host.client.close());
      const bytes = 3 * 1024 * 1024;
      const result = (await host.client.callTool({ name: 'payload', arguments: { bytes } })) as { content: { text: string }[] };
      const text = result.content[0]?.text ?? '';
      assert.equal(text.length, bytes);
      assert.ok(/^x+$/.test(text), 'every byte as sent');
    });
  }
});

describe('a bridge loads what its server needs, when it needs it (issue 21)', () => {
  // The project's modules a bridge to a 2025-era server never needs: the other eras' and serve's.
  const ELSEWHERE = ['upstream/legacy-sse.js', 'upstream/stateless.js', 'cli/serve-args.js', 'cli/serve-config.js', 'cli/help.js'];

  /** The project's modules a bridge to `url` loaded by the time it answered one call. */
  async function modulesLoaded(url: string): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-modules-'));
    const file = join(dir, 'modules');
    try {
      await callThroughBridge(url, { env: { NODE_OPTIONS: `--import=${MODULE_PROBE}`, MODULE_PROBE_FILE: file }, calls: 1 });
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.includes('/build/src/'))
        .map((line) => line.slice(line.indexOf('/build/src/') + '/build/src/'.length));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("to a 2025-era server: the 2024 and 2026 eras' code, serve's parser and the usage texts are never loaded", async (t) => {
    const server = await startDialectServer();
    t.after(() => server.close());
    const loaded = await modulesLoaded(server.url);
    assert.ok(loaded.includes('upstream/streamable-http.js'), `the probe saw the bridge's modules: ${loaded.join(' ')}`);
    assert.deepEqual(
      ELSEWHERE.filter((name) => loaded.includes(name)),
      [],
    );
  });

  it('to a 2024-era HTTP+SSE server: its code is loaded when the server is met', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const loaded = await modulesLoaded(server.url);
    assert.ok(loaded.includes('upstream/legacy-sse.js'), loaded.join(' '));
  });
});
