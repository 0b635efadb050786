// An SDK host starting the bridge on a server that signs users in, and a user who takes their
// time: for test/oauth-host-sign-in.test.ts and test/oauth-sign-in-prompts.test.ts.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createOAuthStore } from '../../src/auth/oauth-store.js';
import { CLI } from './bridge.js';
import type { OAuthSandbox } from './oauth.js';

/** The bridge's bound in these tests: short, so that they stay fast (the default is checked in oauth-host-sign-in.test.ts). */
export const WAIT_S = 2;

export interface Connection {
  readonly client: Client | undefined;
  readonly error: Error | undefined;
  /** From connect() to its outcome: the host's initialize, answered. */
  readonly ms: number;
  readonly bridgePid: number | undefined;
  stderr(): string;
}

/**
 * An SDK host with its defaults (60 s per request) connecting through `mcp-lifeline <url> flags…`;
 * `stderr()` reads the bridge's log while the connection is under way.
 */
export function startConnecting(
  t: TestContext,
  url: string,
  env: Record<string, string>,
  flags: readonly string[],
): { stderr(): string; outcome: Promise<Connection> } {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, url, '--oauth-request-wait', String(WAIT_S), ...flags],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const stderr = () => log;
  const client = new Client({ name: 'sdk-host', version: '1.0.0' });
  t.after(() => client.close());
  const started = performance.now();
  const outcome = client.connect(transport).then(
    () => ({ client, error: undefined, ms: performance.now() - started, bridgePid: transport.pid ?? undefined, stderr }),
    (error: unknown) => ({
      client: undefined,
      error: error as Error,
      ms: performance.now() - started,
      bridgePid: transport.pid ?? undefined,
      stderr,
    }),
  );
  return { stderr, outcome };
}

export function connect(t: TestContext, url: string, env: Record<string, string>, flags: readonly string[]): Promise<Connection> {
  return startConnecting(t, url, env, flags).outcome;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process holding the sign-in lease for `url`, as its owner file names it. */
export async function leaseOwnerPid(sandbox: OAuthSandbox, url: string): Promise<number | undefined> {
  const file = createOAuthStore(join(sandbox.configDir, 'oauth', 'v1')).fileOf(url);
  const text = await readFile(`${file}.owner`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { pid: number }).pid;
}

/**
 * A user who has not acted yet: the browser script waits for a file. The test's `go()` is the user
 * finishing; after the test, the user acts anyway and any background sign-in is stopped.
 */
export async function slowUser(
  t: TestContext,
  sandbox: OAuthSandbox,
  url: string,
): Promise<{ env: Record<string, string>; go(): Promise<void> }> {
  const file = join(sandbox.dir, 'user-acts');
  // (After the test, the sandbox may be gone already: then so is the browser's reason to wait.)
  const go = () => writeFile(file, 'go').catch(() => {});
  t.after(async () => {
    await go();
    const pid = await leaseOwnerPid(sandbox, url);
    if (pid !== undefined && pid !== process.pid && alive(pid)) process.kill(pid);
  });
  return { env: sandbox.env({ OAUTH_BROWSER_WAIT_FILE: file }), go };
}

export async function signedIn(sandbox: OAuthSandbox, url: string): Promise<boolean> {
  const found = await createOAuthStore(join(sandbox.configDir, 'oauth', 'v1')).read(url);
  return Object.values(found?.record.grants ?? {}).some((grant) => grant.tokens !== undefined);
}
