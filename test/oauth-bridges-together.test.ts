// Several bridges and one sign-in (the real authorization server, oidc-provider, and a protected
// SDK MCP server; a script as the user's browser): bridges started at once share one sign-in and
// one refresh; a sign-in the user never finishes fails each of them once, and no retry opens
// another window. Split from oauth-bridge.test.ts so the runner overlaps the two files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { call, oauthSandbox, servers, startHost } from './helpers/oauth.js';

describe('bridges sharing one sign-in', () => {
  for (const count of [2, 3]) {
    it(`${count} bridges started at once: one sign-in, one browser window, all work`, async (t) => {
      const sandbox = await oauthSandbox(t);
      const server = await servers(t, { accessTokenTtl: 3 });
      // The user takes a moment: the other bridges are surely waiting by then.
      const env = sandbox.env({ OAUTH_BROWSER_DELAY_MS: '500' });
      const hosts = await Promise.all(Array.from({ length: count }, () => startHost(t, server.url, env)));
      for (const host of hosts) await call(host);
      assert.equal(server.counters.executions, count);
      assert.equal((await sandbox.browserRuns()).length, 1);
      assert.equal(server.authorizationServer.counters.authorizations, 1);
      assert.equal(server.authorizationServer.counters.registrations, 1);
      // All tokens expire together; the refresh token rotates, so a second refresh with it would
      // be reuse (and revoke the grant): exactly one refresh for all of them.
      await new Promise((resolve) => setTimeout(resolve, 3100));
      await Promise.all(hosts.map((host) => call(host)));
      assert.equal(server.authorizationServer.counters.tokens['refresh_token'], 1);
      assert.equal(server.authorizationServer.counters.refusedTokens['refresh_token'], undefined);
      assert.equal(server.counters.executions, 2 * count);
      assert.equal((await sandbox.browserRuns()).length, 1);
    });
  }

  it('the user never finishes signing in: one browser window for three bridges, each fails with a clear error, no retry opens another', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const env = sandbox.env({ OAUTH_BROWSER_ACTION: 'ignore' });
    const clis = [0, 1, 2].map(() => spawnCli([server.url, '--oauth-timeout', '2'], env));
    t.after(() => Promise.all(clis.map((cli) => cli.stop())));
    for (const cli of clis) cli.send(INITIALIZE);
    const answers = await Promise.all(clis.map((cli) => cli.waitForMessage((message) => message['id'] === 1, 20_000)));
    for (const answer of answers) assert.match(JSON.stringify(answer['error']), /sign-in not completed within 2 s/);
    // The host retries: answered at once from the failed attempt, with when a new window may open.
    clis[0]?.send(INITIALIZE.replace('"id":1', '"id":2'));
    const retry = await clis[0]?.waitForMessage((message) => message['id'] === 2);
    assert.match(JSON.stringify(retry?.['error']), /sign-in not completed.*A new sign-in opens from \d\d:\d\d:\d\d \(in [123]?\d s\)/);
    assert.equal((await sandbox.browserRuns()).length, 1);
  });
});
