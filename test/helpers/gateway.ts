import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Gateway, startGateway } from '../../src/gateway/gateway.js';
import type { GatewayOptions } from '../../src/gateway/gateway-options.js';
import { CLI } from './bridge.js';
import { type Child, startNode } from './processes.js';

/** A gateway in the test's own process, on a free port, shut down when the test ends. */
export async function gatewayFor(t: TestContext, options: GatewayOptions): Promise<Gateway & { url: string }> {
  const gateway = await startGateway({ port: 0, ...options });
  t.after(() => gateway.shutdown('test over'));
  const first = Object.values(gateway.endpoints)[0]?.at(-1) ?? '/mcp';
  return Object.assign(gateway, { url: `${gateway.origin}${first}` });
}

/** `mcp-lifeline serve …` as a child process. */
export interface ServeProcess extends Child {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
}

/** Starts the built CLI's `serve` on a free port (unless `args` names one); resolves once it listens. */
export async function startServe(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { fdLimit?: number } = {},
): Promise<ServeProcess> {
  const port = args.includes('--port') ? [] : ['--port', '0'];
  const child = await startNode([CLI, 'serve', ...args, ...port], { env, ready: /listening address=(\S+)/, ...options });
  return { ...child, origin: child.match[1] as string };
}

/** A file in a fresh temporary folder, for keys, tokens and config files. */
export function tempFile(name: string, content: string): string {
  const path = join(tmpdir(), `mcp-lifeline-${randomBytes(6).toString('hex')}-${name}`);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** A fresh base64 session key, as `openssl rand -base64 32` prints one. */
export function newKey(): string {
  return randomBytes(32).toString('base64');
}
