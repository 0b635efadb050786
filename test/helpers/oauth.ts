import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createOAuthStore, type ServerRecord } from '../../src/auth/oauth-store.js';
import { type OAuthTestServers, startOAuthTestServers } from '../fixtures/oauth-resource-server.js';
import { CLI } from './bridge.js';
import { eventually } from './eventually.js';
import { builtPath } from './processes.js';

/** The compiled `$BROWSER` script that plays the user. */
export const BROWSER_SCRIPT = builtPath('../fixtures/oauth-browser.js', import.meta.url);

/** One run of the browser script, as it logged it. */
export interface BrowserRun {
  readonly pid: number;
  readonly opened: string;
  readonly outcome: 'callback' | 'done' | 'ignored' | 'stuck' | 'error' | 'too many steps';
  readonly status?: number;
  readonly page?: string;
  /** With OAUTH_BROWSER_FORGE=1: the statuses the forged callbacks got. */
  readonly forged?: readonly number[];
}

/** A private config directory and browser log for one test, removed after it. */
export interface OAuthSandbox {
  readonly dir: string;
  readonly configDir: string;
  /** Environment for a bridge or session: `$BROWSER` is the test browser, the config dir is private. */
  env(browser?: Record<string, string>): Record<string, string>;
  /** Every browser run so far. */
  browserRuns(): Promise<BrowserRun[]>;
}

export async function oauthSandbox(t: TestContext): Promise<OAuthSandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-lifeline-oauth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const configDir = join(dir, 'config');
  const log = join(dir, 'browser.log');
  return {
    dir,
    configDir,
    env: (browser = {}) => ({
      MCP_LIFELINE_CONFIG_DIR: configDir,
      BROWSER: `"${process.execPath}" "${BROWSER_SCRIPT}"`,
      OAUTH_BROWSER_LOG: log,
      ...browser,
    }),
    async browserRuns() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as BrowserRun);
    },
  };
}

/** An SDK host with the bridge as its stdio server. */
export interface Host {
  readonly client: Client;
  stderr(): string;
}

/** Starts `mcp-lifeline <url> flags…` under an SDK client; rejects (with the bridge's stderr) when it cannot connect. */
export async function startHost(t: TestContext, url: string, env: Record<string, string>, flags: readonly string[] = []): Promise<Host> {
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
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close();
    throw Object.assign(error as Error, { stderr });
  }
  return { client, stderr: () => stderr };
}

/** Calls a tool; resolves with its text. */
export async function call(host: Host, tool = 'increment'): Promise<string> {
  const result = (await host.client.callTool({ name: tool, arguments: {} })) as { content: { text: string }[]; isError?: boolean };
  assert.ok(!result.isError, JSON.stringify(result));
  return result.content[0]?.text ?? '';
}

/** The authorization and MCP servers, stopped after the test. */
export async function servers(t: TestContext, options: Parameters<typeof startOAuthTestServers>[0] = {}): Promise<OAuthTestServers> {
  const started = await startOAuthTestServers(options);
  t.after(() => started.close());
  return started;
}

/** What the store holds for `url`. */
export async function storedRecord(sandbox: OAuthSandbox, url: string): Promise<ServerRecord> {
  const found = await createOAuthStore(`${sandbox.configDir}/oauth/v1`).read(url);
  assert.ok(found, 'a stored sign-in');
  return found.record;
}

/** Runs the built CLI to its end: `mcp-lifeline args…`. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A sandbox, the servers, and a bridge host that has signed in and called `increment` once. */
export async function signedInHost(
  t: TestContext,
  options: Parameters<typeof startOAuthTestServers>[0] = {},
): Promise<{ sandbox: OAuthSandbox; server: OAuthTestServers; host: Host }> {
  const sandbox = await oauthSandbox(t);
  const server = await servers(t, options);
  const host = await startHost(t, server.url, sandbox.env());
  assert.equal(await call(host), '1');
  return { sandbox, server, host };
}

/**
 * `mcp-lifeline login <url> --device --no-browser` with `env`, the code entered by the test browser
 * (run with `browserEnv`, as a user's browser elsewhere is); resolves with the exit code, the CLI's
 * stderr and what the browser logged (to say why a sign-in failed).
 */
export async function loginWithDevice(
  t: TestContext,
  url: string,
  env: { cli: Record<string, string>; browser: Record<string, string> },
): Promise<{ code: number | null; stderr: string; browserLog: string }> {
  // The CLI's own bound (--oauth-timeout) ends a sign-in the browser never completed well inside
  // the test's; the test's bound only catches a CLI that ignores its own.
  const child = spawn(process.execPath, [CLI, 'login', url, '--device', '--no-browser', '--oauth-timeout', '90'], {
    env: { ...process.env, ...env.cli },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill());
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const prompt = /open (\S+) on any device and enter the code (\S+)/;
  // A CLI process's start, discovery and device authorization: seconds on a loaded 2-core machine.
  await eventually(() => prompt.test(stderr), 30_000, 'the device code on stderr');
  const [, page, code] = prompt.exec(stderr) ?? [];
  assert.ok(page && code);
  const complete = new URL(page);
  complete.searchParams.set('user_code', code);
  const log = env.browser['OAUTH_BROWSER_LOG'];
  const browser = spawn(process.execPath, [BROWSER_SCRIPT, complete.href], { env: { ...process.env, ...env.browser }, stdio: 'ignore' });
  await once(browser, 'exit');
  const bound = AbortSignal.timeout(120_000);
  const [exitCode] = await Promise.race([exited, once(bound, 'abort').then(() => [undefined] as const)]);
  const browserLog = log === undefined ? '(no browser log)' : await readFile(log, 'utf8').catch(() => '(no browser run logged)');
  if (exitCode === undefined) {
    child.kill('SIGKILL');
    assert.fail(`login --device did not end within 120 s.\nCLI stderr:\n${stderr}\nbrowser:\n${browserLog}`);
  }
  return { code: exitCode, stderr, browserLog };
}
