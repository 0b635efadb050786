// The bridge (`mcp-lifeline <url>`, the built CLI) against a real authorization server and a
// protected SDK MCP server, with an SDK host over stdio and a script as the user's browser.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createOAuthStore } from '../src/auth/oauth-store.js';
import { startOAuthTestServers } from './fixtures/oauth-resource-server.js';
import { CLI } from './helpers/bridge.js';
import { type OAuthSandbox, oauthSandbox } from './helpers/oauth.js';

interface Host {
  readonly client: Client;
  stderr(): string;
}

async function startHost(t: TestContext, url: string, env: Record<string, string>, flags: readonly string[] = []): Promise<Host> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, url, ...flags],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: 'oauth-test-host', version: '1.0.0' });
  t.after(() => client.close());
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

async function increment(host: Host, tool = 'increment'): Promise<string> {
  const result = (await host.client.callTool({ name: tool, arguments: {} })) as { content: { text: string }[] };
  return result.content[0]?.text ?? '';
}

describe('bridge with OAuth', () => {
  it('first sign-in: the host sees one slow answer, the tool runs once, tokens are stored 0600 under the config dir', async (t) => {
    const sandbox: OAuthSandbox = await oauthSandbox(t);
    const servers = await startOAuthTestServers();
    t.after(() => servers.close());
    const host = await startHost(t, servers.url, sandbox.env());
    assert.equal(await increment(host), '1');
    assert.equal(servers.counters.executions, 1);
    assert.equal(servers.counters.initializations, 1);
    const runs = await sandbox.browserRuns();
    assert.equal(runs.length, 1, 'one browser window');
    assert.equal(runs[0]?.outcome, 'callback');
    assert.equal(servers.authorizationServer.counters.authorizations, 1);
    assert.equal(servers.authorizationServer.counters.registrations, 1);
    const file = createOAuthStore(`${sandbox.configDir}/oauth/v1`).fileOf(servers.url);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.doesNotMatch(host.stderr(), /Bearer|access_token|refresh_token/);
  });
});
