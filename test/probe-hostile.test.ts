// `mcp-lifeline probe` against hostile servers: it never prints a secret the server quotes back,
// never follows a redirect to another origin, and names what happened in words.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHostileServer } from './fixtures/hostile-server.js';
import { spawnCli } from './helpers/bridge.js';

const SECRET = 'sk-live-4f9a8b7c6d5e';

describe('probe: hostile servers', () => {
  it('a 401 that quotes the request headers: the error names the status, never the token (text and --json)', async (t) => {
    const server = await startHostileServer({
      initialize(res, request) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end(`denied: ${JSON.stringify(request.headers)}`);
        return true;
      },
    });
    t.after(() => server.close());
    for (const flags of [[], ['--json']]) {
      const cli = spawnCli(['probe', server.url, '--header', `Authorization: Bearer ${SECRET}`, ...flags]);
      assert.equal(await cli.exited, 2);
      const output = cli.stderr() + cli.stdoutLines().join('\n');
      assert.match(output, /refused the request: HTTP 401/);
      assert.ok(!output.includes(SECRET), 'the token is in the output');
      assert.ok(!output.includes(Buffer.from(SECRET).toString('base64')));
    }
    assert.equal(server.counters.requests[0]?.headers['authorization'], `Bearer ${SECRET}`);
  });

  it('a redirect to another origin is refused: the other origin sees nothing', async (t) => {
    const elsewhere = await startHostileServer();
    t.after(() => elsewhere.close());
    const server = await startHostileServer({
      initialize(res) {
        res.writeHead(307, { location: elsewhere.url }).end();
        return true;
      },
    });
    t.after(() => server.close());
    const cli = spawnCli(['probe', server.url, '--header', 'X-Api-Key: key-0123456789abcdef']);
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /redirected \(HTTP 307\) to another origin, http:\/\/127\.0\.0\.1:\d+\/mcp/);
    assert.equal(elsewhere.counters.requests.length, 0);
  });

  it('a server that never answers: "no answer within N ms", never "?" or a raw abort', async (t) => {
    const server = await startHostileServer({
      initialize: (res) => {
        res.flushHeaders();
        return true;
      },
    });
    t.after(() => server.close());
    const cli = spawnCli(['probe', server.url, '--timeout', '0.5']);
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /no answer within 500 ms/);
    assert.doesNotMatch(cli.stderr(), /\?|aborted/);
  });
});
