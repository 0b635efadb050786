// The clients the bench drives: the official v1 SDK client, over HTTP (with or without the
// middleware) or over stdio to a bridge process.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type LifelineEvent, withSessionRecovery } from '../src/index.js';

export const LIFELINE_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MCP_REMOTE = fileURLToPath(new URL('../../node_modules/mcp-remote/dist/proxy.js', import.meta.url));

export interface BenchClient {
  readonly client: Client;
  /** The bridge process, for bridged clients. */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/**
 * Plain fetch with an abort signal of its own per request. The SDK transport passes one long-lived
 * signal to every request; Node 20's fetch leaves a listener on it per request until the request is
 * collected, so a long run slows down (and warns: MaxListenersExceededWarning). This is the best a
 * direct client can do without the middleware: the stricter baseline.
 */
export const perRequestSignal: typeof fetch = (input, init) =>
  fetch(input, init?.signal ? { ...init, signal: AbortSignal.any([init.signal]) } : init);

export async function httpClient(
  url: string,
  options: { lifeline: boolean; onEvent?: (event: LifelineEvent) => void; checkSuccessfulAnswers?: boolean; fetch?: typeof fetch },
): Promise<BenchClient> {
  const { lifeline, fetch: base = fetch, ...middlewareOptions } = options;
  const fetchFn = lifeline ? withSessionRecovery(middlewareOptions)(base) : base;
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: fetchFn }));
  return { client, pid: undefined, close: () => client.close() };
}

/**
 * The SDK client as an MCP host, over stdio to `mcp-lifeline <url>` or `mcp-remote <url>`;
 * `nodeFlags` go before the script (`--cpu-prof`), `wrapper` runs node (`valgrind …`).
 */
export async function bridgedClient(
  url: string,
  bridge: 'lifeline' | 'mcp-remote',
  options: { nodeFlags?: readonly string[]; wrapper?: readonly string[] } = {},
): Promise<BenchClient> {
  const configDir = mkdtempSync(join(tmpdir(), 'bench-mcp-remote-'));
  const script =
    bridge === 'lifeline' ? [LIFELINE_CLI, url, '--log-level', 'error'] : [MCP_REMOTE, url, '--transport', 'http-only', '--silent'];
  const [command, ...args] = [...(options.wrapper ?? []), process.execPath, ...(options.nodeFlags ?? []), ...script];
  const transport = new StdioClientTransport({
    command: command as string,
    args,
    env: { ...(process.env as Record<string, string>), MCP_REMOTE_CONFIG_DIR: configDir },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench-host', version: '1' });
  await client.connect(transport);
  const pid = (transport as unknown as { _process?: ChildProcess })._process?.pid;
  return {
    client,
    pid,
    async close() {
      await client.close();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}

export function increment(client: Client): () => Promise<unknown> {
  return () => client.callTool({ name: 'increment', arguments: {} });
}
