import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createOAuthSession, createOAuthStore, withOAuthSession } from '../src/auth/index.js';
import { withSessionRecovery } from '../src/index.js';
import { connectClient } from './helpers/clients.js';
import { oauthSandbox } from './helpers/oauth.js';
import { startOAuthTestServers } from './fixtures/oauth-resource-server.js';

it('smoke', async (t) => {
  const sandbox = await oauthSandbox(t);
  const servers = await startOAuthTestServers();
  t.after(() => servers.close());
  const session = createOAuthSession({
    serverUrl: servers.url,
    store: createOAuthStore(sandbox.configDir),
    env: { ...process.env, ...sandbox.env() },
    onEvent: (e) => console.error('event', e),
    onPrompt: (p) => console.error('prompt', p),
  });
  const fetchWith = withSessionRecovery()(withOAuthSession(session)(fetch));
  const client = await connectClient('v1', servers.url, fetchWith);
  t.after(() => client.close());
  const result = await client.callTool('increment');
  console.error(result, servers.counters, servers.authorizationServer.counters, await sandbox.browserRuns());
  assert.equal(servers.counters.executions, 1);
});
