// Hosts over stdio: the v1 SDK client (speaking 2025-06-18 or 2025-11-25) through the built CLI
// (`mcp-lifeline <url>`, --protocol auto by default) to servers of every era and transport. The
// servers' own counters prove that every call ran once; the host sees 2025 messages only.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type JSONRPCMessage,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startModernServer } from './fixtures/modern-server.js';
import { startSdkSessionServer } from './fixtures/sdk-session-server.js';
import { startSseServer } from './fixtures/sse-server.js';
import { CLI } from './helpers/bridge.js';
import { eventually } from './helpers/eventually.js';

interface Host {
  readonly client: Client;
  stderr(): string;
  /** Notifications the host received, by method. */
  readonly notifications: string[];
  /** Elicitation requests the host answered. */
  readonly elicitations: unknown[];
}

/** The v1 SDK client as a host of the given revision, connected to `mcp-lifeline <url> [flags]`. */
async function host(
  t: TestContext,
  url: string,
  options: { protocolVersion: '2025-06-18' | '2025-11-25'; flags?: string[] },
): Promise<Host> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, url, ...(options.flags ?? [])], stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // The v1 client asks for its latest revision; a 2025-06-18 host is the same client asking for that one.
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage) => {
    const request = message as { method?: string; params?: Record<string, unknown> };
    if (request.method === 'initialize') request.params = { ...request.params, protocolVersion: options.protocolVersion };
    return send(message);
  };
  const client = new Client({ name: 'era-test-host', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
  const notifications: string[] = [];
  const elicitations: unknown[] = [];
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    elicitations.push(request.params);
    return { action: 'accept', content: { ok: true } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    model: 'host-model',
    role: 'assistant',
    content: { type: 'text', text: 'sampled' },
  }));
  client.setNotificationHandler(ToolListChangedNotificationSchema, (notification) => {
    notifications.push(notification.method);
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    notifications.push(`${notification.method} ${notification.params.uri}`);
  });
  await client.connect(transport);
  t.after(() => client.close());
  return { client, stderr: () => stderr, notifications, elicitations };
}

const textOf = (result: unknown) => ((result as { content?: { text?: string }[] }).content?.[0]?.text ?? '') as string;

describe('2025 hosts over stdio ↔ 2026-07-28 servers', () => {
  it('2025-06-18 host ↔ 2026-only server: tools, x-mcp-header, elicitation, list changes, subscriptions, cancellation', async (t) => {
    const server = await startModernServer({ legacy: 'reject' });
    t.after(() => server.close());
    const { client, stderr, notifications, elicitations } = await host(t, server.url, { protocolVersion: '2025-06-18' });
    assert.deepEqual(client.getServerVersion(), { name: 'modern-fixture', version: '2.0.0' });
    assert.match(stderr(), /info\s+speaking 2026-07-28 \(stateless\)/);

    const { tools } = await client.listTools();
    assert.ok(tools.some((tool) => tool.name === 'regional'));
    assert.equal(textOf(await client.callTool({ name: 'regional', arguments: { region: 'eu-west-1', key: 'h1' } })), 'ran in eu-west-1');
    assert.equal(textOf(await client.callTool({ name: 'confirm', arguments: { key: 'h1' } })), 'confirmed (state round-1)');
    assert.equal(elicitations.length, 1);
    await client.ping();
    await client.setLoggingLevel('error');

    await eventually(() => server.openListenStreams() === 1);
    server.toolsChanged();
    await eventually(() => notifications.includes('notifications/tools/list_changed'));
    await client.subscribeResource({ uri: 'config://app' });
    server.resourceUpdated('config://app');
    await eventually(() => notifications.includes('notifications/resources/updated config://app'));

    const cancel = new AbortController();
    const slow = client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: cancel.signal });
    await eventually(() => server.counters.runs.get('slow-start:') === 1);
    cancel.abort('the user changed their mind');
    await assert.rejects(slow);
    await eventually(() => server.counters.cancelled === 1);

    assert.equal(server.counters.runs.get('regional:h1'), 1);
    assert.equal(server.counters.runs.get('confirm:h1'), 1);
    assert.equal(server.count('server/discover'), 1);
    assert.equal(server.count('ping') + server.count('logging/setLevel') + server.count('notifications/cancelled'), 0);
  });

  it('2025-11-25 host ↔ dual-era server: 2026-07-28 preferred, one discover', async (t) => {
    const server = await startModernServer();
    t.after(() => server.close());
    const { client, stderr } = await host(t, server.url, { protocolVersion: '2025-11-25' });
    assert.equal(textOf(await client.callTool({ name: 'increment', arguments: { key: 'd' } })), '1');
    assert.match(stderr(), /speaking 2026-07-28/);
    assert.equal(server.count('initialize'), 0);
    assert.equal(server.count('server/discover'), 1);
    assert.equal(server.counters.runs.get('increment:d'), 1);
  });

  it('2025-11-25 host ↔ 2025 session server: Streamable HTTP, decided on evidence', async (t) => {
    const server = await startSdkSessionServer();
    t.after(() => server.close());
    const { client, stderr } = await host(t, server.url, { protocolVersion: '2025-11-25' });
    assert.equal(textOf(await client.callTool({ name: 'increment', arguments: {} })), '1');
    assert.match(stderr(), /speaking 2025 Streamable HTTP \(sessions\)/);
    assert.equal(server.counters.executions, 1);
  });
});

describe('2025 hosts over stdio ↔ 2024-11-05 HTTP+SSE servers', () => {
  for (const protocolVersion of ['2025-06-18', '2025-11-25'] as const) {
    it(`${protocolVersion} host: a server restarted mid-session, every call answered once`, async (t) => {
      const server = await startSseServer();
      t.after(() => server.close());
      const { client, stderr, notifications } = await host(t, server.url, { protocolVersion });
      await client.subscribeResource({ uri: 'config://app' });
      assert.equal(textOf(await client.callTool({ name: 'increment', arguments: { key: 'before' } })), '1');
      await server.restart({ downMs: 100 });
      assert.equal(textOf(await client.callTool({ name: 'increment', arguments: { key: 'after' } })), '2');
      await eventually(() => /new session on/.test(stderr()));
      await server.updateResource();
      await eventually(() => notifications.includes('notifications/resources/updated config://app'));
      assert.deepEqual(Object.fromEntries(server.counters.executionsByKey), { before: 1, after: 1 });
      assert.equal(server.counters.initializations, 2);
      assert.deepEqual(server.counters.subscribes, ['config://app', 'config://app']);
    });
  }

  it('--transport sse: no probe, straight to the stream', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const { client } = await host(t, server.url, { protocolVersion: '2025-06-18', flags: ['--transport', 'sse'] });
    assert.equal(textOf(await client.callTool({ name: 'increment', arguments: {} })), '1');
    assert.equal(server.counters.unmatched, 0);
  });
});
