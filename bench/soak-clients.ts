// The soak's callers: SDK clients with the middleware in this process, and SDK hosts talking to
// the stdio bridge in child processes. Every call's outcome is recorded with its time span.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type LifelineEvent, withSessionRecovery } from '../src/index.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
// Bounded so that a lost answer would show up as a failure, never as a hang.
const CALL_TIMEOUT_MS = 20_000;

export interface Outcome {
  readonly key: string;
  readonly phase: 'middleware' | 'bridge';
  readonly ok: boolean;
  readonly error: string | undefined;
  readonly start: number;
  readonly end: number;
}

type Call = (key: string) => Promise<unknown>;
/** Starts the chaos; returns the function that stops it. */
export type StartChaos = () => () => Promise<void>;

export async function runMiddlewarePhase(
  url: string,
  calls: number,
  concurrency: number,
  startChaos: StartChaos,
  onEvent: (event: LifelineEvent) => void,
): Promise<Outcome[]> {
  const v1 = async () => {
    const client = new ClientV1({ name: 'soak-v1', version: '1' });
    await client.connect(new TransportV1(new URL(url), { fetch: withSessionRecovery({ onEvent })(fetch) }));
    const call: Call = (key) => client.callTool({ name: 'increment', arguments: { key } }, undefined, { timeout: CALL_TIMEOUT_MS });
    return { call, close: () => client.close() };
  };
  const v2 = async () => {
    const client = new ClientV2({ name: 'soak-v2', version: '1' });
    await client.connect(new TransportV2(new URL(url), { fetch: withSessionRecovery({ onEvent })(fetch) }));
    const call: Call = (key) => client.callTool({ name: 'increment', arguments: { key } }, { timeout: CALL_TIMEOUT_MS });
    return { call, close: () => client.close() };
  };
  const clients = await Promise.all([v1(), v2(), v1(), v2()]);
  const stopChaos = startChaos();
  try {
    return await runCalls('middleware', calls, concurrency, (worker) => (clients[worker % clients.length] as { call: Call }).call);
  } finally {
    await stopChaos();
    await Promise.all(clients.map((client) => client.close()));
  }
}

export async function runBridgePhase(
  url: string,
  calls: number,
  concurrency: number,
  startChaos: StartChaos,
): Promise<{ outcomes: Outcome[]; exitCodes: (number | null)[]; stderr: string[] }> {
  const hosts = await Promise.all(
    [0, 1].map(async () => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, url, '--timeout', '5', '--log-level', 'warn'],
        stderr: 'pipe',
      });
      let stderr = '';
      transport.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const client = new ClientV1({ name: 'soak-host', version: '1' });
      await client.connect(transport);
      const child = (transport as unknown as { _process: ChildProcess })._process;
      const exited = once(child, 'exit').then(([code]) => code as number | null);
      const call: Call = (key) => client.callTool({ name: 'increment', arguments: { key } }, undefined, { timeout: CALL_TIMEOUT_MS });
      return { call, client, exited, stderr: () => stderr };
    }),
  );
  const stopChaos = startChaos();
  let outcomes: Outcome[];
  try {
    outcomes = await runCalls('bridge', calls, concurrency, (worker) => (hosts[worker % hosts.length] as { call: Call }).call);
  } finally {
    await stopChaos();
    // EOF on the bridge's stdin: it must end its upstream session and exit 0 by itself.
    await Promise.all(hosts.map((host) => host.client.close()));
  }
  return { outcomes, exitCodes: await Promise.all(hosts.map((host) => host.exited)), stderr: hosts.map((host) => host.stderr()) };
}

async function runCalls(
  phase: Outcome['phase'],
  calls: number,
  concurrency: number,
  callerFor: (worker: number) => Call,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async (index: number) => {
    const call = callerFor(index);
    while (next < calls) {
      const key = `${phase}-${next++}`;
      const start = Date.now();
      try {
        await call(key);
        outcomes.push({ key, phase, ok: true, error: undefined, start, end: Date.now() });
      } catch (error) {
        outcomes.push({ key, phase, ok: false, error: describe(error), start, end: Date.now() });
        // A real client does not hammer a server that just failed it.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
  return outcomes;
}

/** The message with its cause chain: fetch says only "fetch failed" and puts the reason in `cause`. */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      parts.push(typeof code === 'string' ? `${current.message} [${code}]` : current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(' ← ');
}
