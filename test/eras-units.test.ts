// Pure pieces of the era support, checked against the 2026-07-28 spec's own examples and tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEraArgs } from '../src/cli/era-args.js';
import { UsageError } from '../src/cli/usage-error.js';
import { classifyDiscoverAnswer, type DiscoverEvidence } from '../src/upstream/classify-discover-answer.js';
import { encodeHeaderValue } from '../src/upstream/header-value.js';
import { paramHeaders, scanHeaderDeclarations } from '../src/upstream/mcp-param-headers.js';
import { modernErrorForHost } from '../src/upstream/modern-errors.js';
import { toLegacyResult } from '../src/upstream/modern-result.js';

describe('Mcp-Param value encoding (transports §Value Encoding, the spec’s table)', () => {
  const table: [string, string][] = [
    ['us-west1', 'us-west1'],
    ['Hello, 世界', '=?base64?SGVsbG8sIOS4lueVjA==?='],
    [' padded ', '=?base64?IHBhZGRlZCA=?='],
    ['line1\nline2', '=?base64?bGluZTEKbGluZTI=?='],
    ['=?base64?literal?=', '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?='],
  ];
  for (const [value, encoded] of table) {
    it(JSON.stringify(value), () => assert.equal(encodeHeaderValue(value), encoded));
  }
});

describe('x-mcp-header declarations (transports §Schema Extension)', () => {
  it('the spec’s execute_sql example, and nested properties', () => {
    const scan = scanHeaderDeclarations({
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        query: { type: 'string' },
        options: {
          type: 'object',
          properties: { dryRun: { type: 'boolean', 'x-mcp-header': 'Dry-Run' }, limit: { type: 'integer', 'x-mcp-header': 'Limit' } },
        },
      },
    });
    assert.ok(scan.valid);
    assert.deepEqual(paramHeaders(scan.declarations, { region: 'us-west1', query: 'SELECT 1', options: { dryRun: false, limit: 42 } }), {
      'mcp-param-region': 'us-west1',
      'mcp-param-dry-run': 'false',
      'mcp-param-limit': '42',
    });
    assert.deepEqual(paramHeaders(scan.declarations, { region: null, query: 'x' }), {}, 'null and absent values: no header');
  });

  for (const [name, schema, reason] of [
    [
      'under items',
      { type: 'object', properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } } },
      /not reachable/,
    ],
    ['under anyOf', { type: 'object', anyOf: [{ properties: { a: { type: 'string', 'x-mcp-header': 'A' } } }] }, /not reachable/],
    ['on a number', { type: 'object', properties: { n: { type: 'number', 'x-mcp-header': 'N' } } }, /type "number"/],
    ['not a token', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Has Space' } } }, /not an HTTP token/],
    [
      'repeated, case-insensitively',
      { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Key' }, b: { type: 'string', 'x-mcp-header': 'KEY' } } },
      /repeats/,
    ],
  ] as const) {
    it(`invalid: ${name}`, () => {
      const scan = scanHeaderDeclarations(schema);
      assert.equal(scan.valid, false);
      if (!scan.valid) assert.match(scan.reason, reason);
    });
  }
});

describe('classifying the server/discover probe', () => {
  const rpc = (status: number, error?: Record<string, unknown>, result?: unknown): DiscoverEvidence => ({
    kind: 'json-rpc',
    status,
    error,
    result,
  });
  const other = (status: number, body = ''): DiscoverEvidence => ({ kind: 'other', status, contentType: 'text/plain', body });
  const cases: [string, DiscoverEvidence, string][] = [
    ['a DiscoverResult', rpc(200, undefined, { supportedVersions: ['2026-07-28'], capabilities: {} }), 'modern'],
    [
      'a DiscoverResult of other revisions only: initialize decides',
      rpc(200, undefined, { supportedVersions: ['2027-01-01'], capabilities: {} }),
      'legacy',
    ],
    ['a 2025 session server: 400 -32000', rpc(400, { code: -32000, message: 'Bad Request: No valid session ID provided' }), 'legacy'],
    ['Python: 400 text', other(400, 'Bad Request: Missing session ID'), 'legacy'],
    ['a stateless 2025 server: 200 -32601', rpc(200, { code: -32601, message: 'Method not found' }), 'legacy'],
    ['-32022 naming 2025 revisions', rpc(400, { code: -32022, message: 'x', data: { supported: ['2025-06-18'] } }), 'legacy'],
    [
      '-32022 naming only other modern revisions: initialize decides',
      rpc(400, { code: -32022, message: 'x', data: { supported: ['2027-01-01'] } }),
      'legacy',
    ],
    ['404 HTML: no endpoint for POST', other(404, 'Cannot POST /sse'), 'no-streamable-http'],
    ['405', other(405), 'no-streamable-http'],
    ['401 without a challenge (a server that wants a session first): initialize decides', other(401, 'unknown session'), 'legacy'],
    ['401 with a challenge: initialize decides (and signs in)', { ...other(401), challenge: 'Bearer realm="x"' }, 'legacy'],
    ['403 JSON-RPC: initialize decides', rpc(403, { code: -32001, message: 'forbidden' }), 'legacy'],
    ['500: initialize decides', other(500), 'legacy'],
    ['502 JSON-RPC: initialize decides', rpc(502, { code: -32603, message: 'bad gateway' }), 'legacy'],
    ['429: initialize decides', other(429, 'slow down'), 'legacy'],
    ['200 HTML page: the 2025 handshake names what it is', other(200, 'Welcome'), 'legacy'],
    ['200 result that is not a DiscoverResult', rpc(200, undefined, { tools: [] }), 'legacy'],
  ];
  for (const [name, evidence, kind] of cases) {
    it(`${name} → ${kind}`, () => assert.equal(classifyDiscoverAnswer(evidence).kind, kind));
  }

  it('only a DiscoverResult offering 2026-07-28 is modern; an answer that proves nothing is marked as a fallback', () => {
    const verdict = classifyDiscoverAnswer(other(401, 'unknown session'));
    assert.equal(verdict.kind === 'legacy' && verdict.fallback, true);
    assert.match(verdict.kind === 'legacy' ? verdict.evidence : '', /HTTP 401 "unknown session", which does not show a 2026-07-28 server/);
    const evidence = classifyDiscoverAnswer(rpc(400, { code: -32000, message: 'Bad Request: No valid session ID provided' }));
    assert.equal(evidence.kind === 'legacy' && evidence.fallback, undefined, 'a 2025 endpoint’s own answer is evidence, not a fallback');
  });
});

describe('modern answers for a 2025 host', () => {
  it('400 -32020 from createMcpHandler reaches the host as a clear JSON-RPC error with its data', () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 5,
      error: {
        code: -32020,
        message: 'Bad Request: the body carries region="eu" but the Mcp-Param-Region header is absent',
        data: { mismatch: { header: 'Mcp-Param-Region' } },
      },
    });
    const error = modernErrorForHost(400, body, { method: 'tools/call', where: 'http://127.0.0.1:1/mcp' });
    assert.equal(error.code, -32020);
    assert.match(
      error.message,
      /refused tools\/call: its HTTP headers did not match the request \(-32020 HeaderMismatch\) "Bad Request: .*Mcp-Param-Region/,
    );
    assert.deepEqual(error.data, { mismatch: { header: 'Mcp-Param-Region' } });
  });

  it('400 -32022 names the revisions the server speaks', () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2027-01-01'] } },
    });
    assert.match(modernErrorForHost(400, body, { method: 'tools/list', where: 'x' }).message, /\(-32022\); it supports 2027-01-01/);
  });

  it('results lose resultType, cache hints and the per-result server identity, and keep the rest', () => {
    assert.deepEqual(
      toLegacyResult({
        resultType: 'complete',
        ttlMs: 0,
        cacheScope: 'private',
        tools: [],
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 's' }, 'com.example/trace': 1 },
      }),
      { tools: [], _meta: { 'com.example/trace': 1 } },
    );
  });
});

describe('--protocol and --transport', () => {
  it('default to auto', () => assert.deepEqual(parseEraArgs({}), { protocol: 'auto', transport: 'auto' }));
  it('take the documented values', () =>
    assert.deepEqual(parseEraArgs({ protocol: '2025', transport: 'sse' }), { protocol: '2025', transport: 'sse' }));
  it('refuse unknown values, naming the flag', () => {
    assert.throws(
      () => parseEraArgs({ protocol: '2024' }),
      (error: unknown) => error instanceof UsageError && /--protocol must be one of auto, 2025, 2026, got "2024"/.test(error.message),
    );
    assert.throws(() => parseEraArgs({ transport: 'ws' }), /--transport must be one of auto, http, sse/);
  });
  it('refuse 2026 over SSE', () => assert.throws(() => parseEraArgs({ protocol: '2026', transport: 'sse' }), /no HTTP\+SSE transport/));
});
