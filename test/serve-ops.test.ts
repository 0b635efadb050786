// Issue 16, item 11: `/metrics` and `/readyz` name upstreams and count requests; a DNS-rebinding
// page (a foreign Host, a foreign Origin) must not read them. They follow the same Host and Origin
// rules as `/mcp`; scrapers elsewhere use a listener of their own (`metricsPort`).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { startHostileServer } from './fixtures/hostile-server.js';
import { gatewayFor } from './helpers/gateway.js';

/** A GET with the Host and Origin headers a browser on a rebound name would send (fetch cannot set Host). */
function get(origin: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve: /metrics and /readyz under the Host and Origin rules', () => {
  it('a rebinding-style Host or a foreign Origin is refused on every path; the gateway’s own names are served', async (t) => {
    const upstream = await startHostileServer();
    t.after(() => upstream.close());
    const gateway = await gatewayFor(t, { upstreams: [{ name: 'secret-upstream-name', url: new URL(upstream.url) }], metricsPort: 0 });
    const port = new URL(gateway.origin).port;
    for (const path of ['/metrics', '/readyz', '/healthz']) {
      const rebound = await get(gateway.origin, path, { host: `attacker.example.com:${port}` });
      assert.equal(rebound.status, 403, `${path} with a rebound Host`);
      assert.match(rebound.body, /Host header not allowed \(DNS-rebinding protection; see --allowed-host\)/);
      assert.doesNotMatch(rebound.body, /secret-upstream-name/);
      const foreign = await get(gateway.origin, path, { host: `localhost:${port}`, origin: 'http://attacker.example.com' });
      assert.equal(foreign.status, 403, `${path} from a foreign Origin`);
      assert.equal((await get(gateway.origin, path, { host: `localhost:${port}` })).status, 200, `${path} as localhost`);
    }
    assert.match((await get(gateway.origin, '/metrics', { host: `127.0.0.1:${port}` })).body, /mcp_lifeline_requests_total/);
    const unknown = await get(gateway.origin, '/nope', { host: `attacker.example.com:${port}` });
    assert.equal(unknown.status, 403, 'an unknown path does not list the upstreams to a foreign Host either');

    // The metrics listener: the operations paths only, under its own address's rules.
    const metricsOrigin = gateway.metricsOrigin as string;
    assert.ok(metricsOrigin !== undefined && metricsOrigin !== gateway.origin);
    const metricsPort = new URL(metricsOrigin).port;
    assert.match(
      (await get(metricsOrigin, '/metrics', { host: `localhost:${metricsPort}` })).body,
      /mcp_lifeline_refused_total\{reason="host"\}/,
    );
    assert.equal((await get(metricsOrigin, '/readyz', { host: `localhost:${metricsPort}` })).status, 200);
    assert.equal((await get(metricsOrigin, '/mcp', { host: `localhost:${metricsPort}` })).status, 404, 'no MCP endpoint there');
    assert.equal((await get(metricsOrigin, '/metrics', { host: `attacker.example.com:${metricsPort}` })).status, 403);
  });
});
