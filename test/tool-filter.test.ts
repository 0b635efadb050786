// Tool filters (--ignore-tool, --allow-tool; serve's ignoreTools, allowTools) in every era the
// bridge and serve speak, against a server that lists its tools a page at a time and counts what
// runs: a hidden tool is missing from every page, a call of it is refused with an error naming the
// filter and never runs (the server's counter), list_changed still reaches the host.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { GatewayUpstream } from '../src/gateway/gateway-options.js';
import { createToolFilter, HIDDEN_TOOL_ERROR } from '../src/upstream/tool-filter.js';
import { startToolShelfServer, type ToolShelfServer } from './fixtures/tool-shelf-server.js';
import { CLI } from './helpers/bridge.js';
import { eventually } from './helpers/eventually.js';
import { gatewayFor, startServe } from './helpers/gateway.js';

interface Host {
  readonly client: Client;
  /** notifications/tools/list_changed received. */
  readonly listChanges: () => number;
  stderr(): string;
}

function watched(client: Client): () => number {
  let changes = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changes += 1;
  });
  return () => changes;
}

/** The v1 SDK client as a host, through `mcp-lifeline <url> [flags]`. */
async function bridged(t: TestContext, url: string, flags: readonly string[]): Promise<Host> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, url, ...flags], stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: 'filter-test-host', version: '1.0.0' });
  const listChanges = watched(client);
  await client.connect(transport);
  t.after(() => client.close());
  return { client, listChanges, stderr: () => stderr };
}

/** The v1 SDK client on a gateway endpoint. */
async function viaGateway(t: TestContext, url: string): Promise<Host> {
  const client = new Client({ name: 'filter-test-client', version: '1.0.0' });
  const listChanges = watched(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  t.after(() => client.close());
  return { client, listChanges, stderr: () => '' };
}

/** Every page of tools/list, as the host sees them. */
async function listAll(client: Client): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    pages += 1;
    names.push(...page.tools.map((tool) => tool.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return { names, pages };
}

async function refusal(client: Client, name: string): Promise<McpError> {
  const error = await client.callTool({ name, arguments: {} }).then(
    () => assert.fail(`the call of ${name} was answered`),
    (error: unknown) => error,
  );
  assert.ok(error instanceof McpError, String(error));
  return error;
}

/** The shared check: hidden tools gone from every page, refused without running; the rest works. */
async function checkIgnoreFilter(
  host: Host,
  server: ToolShelfServer,
  /** How the server announces a list change: during a call (on its stream), on a 2026 listen stream, or not at all (JSON answers). */
  options: { readonly filter: RegExp; readonly listChanged: 'during-call' | 'listen-stream' | false },
): Promise<void> {
  const { client } = host;
  const pagesBefore = server.counters.listPages;
  const { names, pages } = await listAll(client);
  // Every page went to the server and came back, the hidden tools taken out of each.
  assert.deepEqual(names, ['read_file', 'list_dir', 'announce']);
  assert.equal(pages, 3);
  assert.equal(server.counters.listPages - pagesBefore, 3);

  for (const hidden of ['delete_file', 'Delete_All', 'WRITE_FILE']) {
    const error = await refusal(client, hidden);
    assert.equal(error.code, HIDDEN_TOOL_ERROR);
    assert.match(error.message, new RegExp(`tool "${hidden}" is hidden by `));
    assert.match(error.message, options.filter);
  }
  assert.equal(server.totalRuns(), 0, 'no hidden tool ran');

  assert.deepEqual(await client.callTool({ name: 'read_file', arguments: {} }), { content: [{ type: 'text', text: 'ran read_file' }] });
  assert.equal(server.runs.get('read_file'), 1);
  if (options.listChanged === 'during-call') {
    await client.callTool({ name: 'announce', arguments: {} });
    await eventually(() => host.listChanges() === 1);
  }
  if (options.listChanged === 'listen-stream') {
    await eventually(() => {
      server.toolsChanged();
      return host.listChanges() >= 1;
    });
  }
}

const IGNORE_FLAGS = ['--ignore-tool', 'delete_*', '--ignore-tool', 'write_file'];

describe('tool filter patterns (as mcp-remote reads --ignore-tool)', () => {
  it('a pattern is the whole name, * any run of characters, letters in either case, everything else literal', () => {
    const filter = createToolFilter({ ignore: ['delete_*', 'exact', 'a.b', '*secret*', 'x+(y)'] });
    assert.ok(filter !== undefined);
    const hidden = (name: string) => filter.hides(name) !== undefined;
    for (const name of [
      'delete_',
      'delete_all',
      'DELETE_ALL',
      'Delete_Everything/now',
      'exact',
      'EXACT',
      'a.b',
      'secret',
      'my_SECRET_key',
      'x+(y)',
    ])
      assert.ok(hidden(name), name);
    for (const name of ['undelete_all', 'delete', 'exactly', 'an_exact', 'aXb', 'x+y', 'sec_ret']) assert.ok(!hidden(name), name);
    assert.equal(filter.hides('delete_all'), 'ignoreTools "delete_*"');
  });

  it('allow: only the tools that match, and ignore still wins', () => {
    const filter = createToolFilter({
      allow: ['read_*', 'list_*'],
      ignore: ['read_secrets'],
      labels: { ignore: '--ignore-tool', allow: '--allow-tool' },
    });
    assert.ok(filter !== undefined);
    assert.equal(filter.hides('read_file'), undefined);
    assert.equal(filter.hides('List_Dir'), undefined);
    assert.equal(filter.hides('read_secrets'), '--ignore-tool "read_secrets"');
    assert.equal(filter.hides('write_file'), '--allow-tool (it matches none of "read_*", "list_*")');
  });

  it('no pattern: no filter; an empty pattern is refused', () => {
    assert.equal(createToolFilter({}), undefined);
    assert.equal(createToolFilter({ ignore: [], allow: [] }), undefined);
    assert.throws(() => createToolFilter({ ignore: [' '] }), /ignoreTools: a pattern must be a tool name/);
  });

  it('answers: only results listing tools change; a call of a hidden tool without an id is kept back unanswered', () => {
    const filter = createToolFilter({ ignore: ['b'] });
    assert.ok(filter !== undefined);
    const list = { jsonrpc: '2.0' as const, id: 1, result: { tools: [{ name: 'a' }, { name: 'B' }], nextCursor: 'x' } };
    assert.deepEqual(filter.filterAnswer(list), { ...list, result: { tools: [{ name: 'a' }], nextCursor: 'x' } });
    const other = { jsonrpc: '2.0' as const, id: 2, result: { content: [{ type: 'text', text: 'tools' }] } };
    assert.equal(filter.filterAnswer(other), other);
    const notification = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
    assert.equal(filter.filterAnswer(notification), notification);
    const text = JSON.stringify([list, other]);
    assert.deepEqual(JSON.parse(filter.filterAnswerText(text)), [filter.filterAnswer(list), other]);
    assert.equal(filter.filterAnswerText('{"jsonrpc":"2.0","id":3,"result":{}}'), '{"jsonrpc":"2.0","id":3,"result":{}}');
    assert.deepEqual(filter.refusal({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'B' } }), { answer: undefined });
    assert.equal(filter.refusal({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'a' } }), undefined);
  });
});

describe('the bridge: --ignore-tool and --allow-tool in every era', () => {
  const eras = [
    { era: '2025 Streamable HTTP (SSE answers)', url: (s: ToolShelfServer) => s.url, flags: [], listChanged: 'during-call' as const },
    { era: '2025 Streamable HTTP (JSON answers)', url: (s: ToolShelfServer) => s.jsonUrl, flags: [], listChanged: false as const },
    {
      era: '2024-11-05 HTTP+SSE',
      url: (s: ToolShelfServer) => s.sseUrl,
      flags: ['--transport', 'sse'],
      listChanged: 'during-call' as const,
    },
    { era: '2026-07-28', url: (s: ToolShelfServer) => s.modernUrl, flags: ['--protocol', '2026'], listChanged: 'listen-stream' as const },
  ];
  for (const { era, url, flags, listChanged } of eras) {
    it(`${era}: hidden tools gone from every page, refused without running`, async (t) => {
      const server = await startToolShelfServer();
      t.after(() => server.close());
      const host = await bridged(t, url(server), [...flags, ...IGNORE_FLAGS]);
      await checkIgnoreFilter(host, server, { filter: /--ignore-tool "(delete_\*|write_file)"; the call was not sent/, listChanged });
      assert.match(host.stderr(), /refused a call of "delete_file": --ignore-tool "delete_\*"/);
    });
  }

  it('--allow-tool: only the tools that match are listed and called', async (t) => {
    const server = await startToolShelfServer();
    t.after(() => server.close());
    const { client } = await bridged(t, server.url, [
      '--allow-tool',
      'read_*',
      '--allow-tool',
      'LIST_*',
      '--allow-tool',
      'delete_*',
      ...IGNORE_FLAGS,
    ]);
    assert.deepEqual((await listAll(client)).names, ['read_file', 'list_dir']);
    const error = await refusal(client, 'announce');
    assert.match(error.message, /tool "announce" is hidden by --allow-tool \(it matches none of "read_\*", "LIST_\*", "delete_\*"\)/);
    assert.match((await refusal(client, 'delete_file')).message, /--ignore-tool "delete_\*"/);
    await client.callTool({ name: 'list_dir', arguments: {} });
    assert.deepEqual([...server.runs], [['list_dir', 1]]);
  });
});

describe('serve: ignoreTools and allowTools per upstream, in both routes', () => {
  const routes: {
    route: string;
    upstream: (s: ToolShelfServer) => Omit<GatewayUpstream, 'name'>;
    listChanged: 'during-call' | 'listen-stream' | false;
  }[] = [
    { route: 'pass-through, SSE answers', upstream: (s) => ({ url: new URL(s.url) }), listChanged: 'during-call' },
    { route: 'pass-through, JSON answers', upstream: (s) => ({ url: new URL(s.jsonUrl) }), listChanged: false },
    {
      route: 'message route, 2024-11-05 HTTP+SSE',
      upstream: (s) => ({ url: new URL(s.sseUrl), era: { protocol: 'auto', transport: 'sse' } }),
      listChanged: 'during-call',
    },
    {
      route: 'message route, 2026-07-28',
      upstream: (s) => ({ url: new URL(s.modernUrl), era: { protocol: '2026', transport: 'auto' } }),
      listChanged: 'listen-stream',
    },
  ];
  for (const { route, upstream, listChanged } of routes) {
    it(`${route}: hidden tools gone from every page, refused without running`, async (t) => {
      const server = await startToolShelfServer();
      t.after(() => server.close());
      const gateway = await gatewayFor(t, {
        upstreams: [{ name: 'shelf', ...upstream(server), ignoreTools: ['delete_*', 'write_file'] }],
      });
      const host = await viaGateway(t, gateway.url);
      await checkIgnoreFilter(host, server, { filter: /ignoreTools "(delete_\*|write_file)"; the call was not sent/, listChanged });
    });
  }

  it('pass-through: a 2025-03-26 batch that calls a hidden tool is kept back whole', async (t) => {
    const server = await startToolShelfServer();
    t.after(() => server.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'shelf', url: new URL(server.url), ignoreTools: ['delete_*'] }] });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const opened = await fetch(gateway.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    await opened.body?.cancel();
    const session = opened.headers.get('mcp-session-id') ?? assert.fail('no session id');
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', arguments: {} } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'delete_file', arguments: {} } },
    ];
    const answer = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-03-26' },
      body: JSON.stringify(batch),
    });
    assert.equal(answer.status, 200);
    const [first, second] = (await answer.json()) as { id: number; error: { code: number; message: string } }[];
    assert.equal(second?.error.code, HIDDEN_TOOL_ERROR);
    assert.match(second?.error.message ?? '', /tool "delete_file" is hidden by ignoreTools "delete_\*"/);
    assert.equal(first?.id, 1);
    assert.match(first?.error.message ?? '', /not sent: its batch also calls a hidden tool/);
    assert.equal(server.totalRuns(), 0);
  });

  it('the CLI: --ignore-tool and --allow-tool for the <url> upstreams', async (t) => {
    const server = await startToolShelfServer();
    t.after(() => server.close());
    const serve = await startServe([server.url, '--ignore-tool', 'delete_*', '--allow-tool', '*_*']);
    t.after(() => serve.stop());
    assert.match(serve.stderr(), /serving .*tools=.*hiding .*delete_\*.*showing only .*\*_\*/);
    const { client } = await viaGateway(t, `${serve.origin}/mcp`);
    assert.deepEqual((await listAll(client)).names, ['read_file', 'list_dir', 'write_file']);
    assert.match((await refusal(client, 'announce')).message, /hidden by allowTools \(it matches none of "\*_\*"\)/);
    assert.match((await refusal(client, 'Delete_All')).message, /hidden by ignoreTools "delete_\*"/);
    assert.equal(server.totalRuns(), 0);
  });
});
