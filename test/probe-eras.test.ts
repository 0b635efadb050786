// `probe` reports the protocol eras and transports a server speaks: real servers of each era.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startModernServer } from './fixtures/modern-server.js';
import { startSdkSessionServer } from './fixtures/sdk-session-server.js';
import { startSseServer } from './fixtures/sse-server.js';
import { probe } from './helpers/probe.js';

describe('probe: eras and transports', () => {
  it('a 2026-07-28-only server: stateless, exit 0 (the 2025 initialize refused with -32022 is evidence, not a failure)', async (t) => {
    const server = await startModernServer({ legacy: 'reject' });
    t.after(() => server.close());
    const { code, json, stdout } = await probe(server.url, ['--json']);
    assert.equal(code, 0, stdout);
    assert.equal(json?.['verdict'].kind, 'stateless');
    assert.equal(json?.['server'].name, 'modern-fixture');
    assert.equal(json?.['server'].protocolVersion, '2026-07-28');
    assert.deepEqual(json?.['eras'].modern, { speaks: true, versions: ['2026-07-28'], detail: 'server/discover offered 2026-07-28' });
    assert.equal(json?.['eras'].streamableHttp.speaks, false);
    assert.match(json?.['eras'].streamableHttp.detail, /-32022/);
    assert.equal(json?.['eras'].auto, '2026-07-28 (stateless)');
    assert.equal(server.count('server/discover'), 1);
  });

  it('a dual-era server: both eras, 2026-07-28 preferred', async (t) => {
    const server = await startModernServer();
    t.after(() => server.close());
    const { code, stdout } = await probe(server.url);
    assert.equal(code, 0);
    assert.match(
      stdout,
      /Protocol eras and transports\n\s+2026-07-28 stateless\s+yes\n.*\n\s+2025 Streamable HTTP\s+yes\n\s+initialize negotiated 2025-11-25, no session/,
    );
    assert.match(stdout, /mcp-lifeline <url>\s+speaks 2026-07-28 \(stateless\)/);
  });

  it('a 2025 session server: 2025 only', async (t) => {
    const server = await startSdkSessionServer();
    t.after(() => server.close());
    const { json } = await probe(server.url, ['--json']);
    assert.equal(json?.['eras'].modern.speaks, false);
    assert.match(json?.['eras'].modern.detail, /server\/discover answered HTTP 400/);
    assert.equal(json?.['eras'].streamableHttp.speaks, true);
    assert.equal(json?.['eras'].httpSse.speaks, null);
    assert.equal(json?.['verdict'].kind, 'recognised-non-404');
  });

  it('a 2024-11-05 HTTP+SSE server: how it answers a lost session, over its own transport', async (t) => {
    const server = await startSseServer();
    t.after(() => server.close());
    const { code, json, stdout } = await probe(server.url, ['--json']);
    assert.equal(code, 0, stdout);
    assert.equal(json?.['eras'].httpSse.speaks, true);
    assert.equal(json?.['eras'].streamableHttp.speaks, false);
    assert.equal(json?.['eras'].auto, '2024-11-05 HTTP+SSE (sessions, recovered when lost)');
    assert.equal(json?.['server'].name, 'sse-fixture');
    assert.deepEqual(
      json?.['checks'].map((check: { name: string; status: number; lost: boolean }) => [check.name, check.status, check.lost]),
      [
        ['unknown-session', 404, true],
        ['no-session', 404, false],
        ['terminated-session', 404, true],
      ],
    );
    assert.equal(json?.['verdict'].kind, 'spec-404');
    assert.doesNotMatch(stdout, new RegExp(`${json?.['server'].sessionId.replace('…', '')}[0-9a-f]{8}`), 'no session id in full');
  });
});
