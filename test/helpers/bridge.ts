import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { builtPath, stopChild } from './processes.js';

/** The compiled CLI entry, as `npm run build:test` emits it. */
export const CLI = builtPath('../../src/cli/main.js', import.meta.url);

/** An MCP host: the official SDK client, talking to `mcp-lifeline <url>` over stdio. */
export interface BridgedHost {
  readonly client: Client;
  readonly transport: StdioClientTransport;
  /** What the bridge wrote to stderr so far. */
  stderr(): string;
  /** Sampling requests the server sent the host. */
  readonly samplingRequests: unknown[];
}

export async function connectThroughBridge(url: string, flags: readonly string[] = []): Promise<BridgedHost> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, url, ...flags], stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: 'bridge-test-host', version: '1.0.0' }, { capabilities: { sampling: {} } });
  const samplingRequests: unknown[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    samplingRequests.push(request.params);
    return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled by the host' } };
  });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr, samplingRequests };
}

/** The CLI as a raw child process: lines in, lines out. */
export interface RawCli {
  readonly child: ChildProcess;
  /** Lines written to stdout so far. */
  stdoutLines(): string[];
  stderr(): string;
  send(line: string): void;
  /** Resolves with the first stdout line (parsed) that satisfies `match`. */
  waitForMessage(match: (message: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function spawnCli(args: readonly string[], env: Record<string, string> = {}): RawCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const lines = () => out.split('\n').filter((line) => line !== '');
  return {
    child,
    stdoutLines: lines,
    stderr: () => err,
    send: (line) => child.stdin.write(`${line}\n`),
    exited,
    stop: () => stopChild(child),
    async waitForMessage(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of lines()) {
          const message = JSON.parse(line) as Record<string, unknown>;
          if (match(message)) return message;
        }
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no matching message; stdout: ${out.slice(-1000)}; stderr: ${err.slice(-1000)}`);
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-host', version: '1' } },
});
